"""The Hydra entry point ``bbp`` (also ``python -m bbp_torch``): one run of the core study.

Each run writes ``record.json`` and TensorBoard events into its Hydra output folder and prints a
short summary. A run whose folder already holds a finished record of the same config is skipped
(``force=true`` recomputes), so a killed sweep resumes with the same command. A configuration
mistake exits with status 2 and one paragraph naming the field; inside a multirun it becomes an
error record and the sweep goes on.
"""

from __future__ import annotations

import sys
import time
import traceback
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from bbp_torch.config import ConfigError, to_config, validate
from bbp_torch.results import RECORD_NAME, read_record, versions, write_record

CONFIG_DIR = str(Path(__file__).resolve().parent.parent / "conf")

if not OmegaConf.has_resolver("or_default"):
    OmegaConf.register_new_resolver("or_default", lambda value, default: value or default)


def fmt(x, digits: int = 5) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.{digits}g}"
    return str(x)


def summary(record: dict, run_dir: Path | None = None) -> str:
    """A short human-readable account of one run."""
    c, m = record["config"], record["metrics"]
    pr = c["problem"]
    th = m.get("theory") or {}
    lines = [
        f"bbp_torch  N={pr['N']} p={pr['p']} p*={pr['p_star']} a={pr['a']} alpha={pr['alpha']} "
        f"(M={m.get('M')})  seed={c['seed']}  hessian={c['hessian']['kind']}  "
        f"solver={m.get('solver_used')}  device={record['device']} {c['dtype']}",
        "  bottom eigenvalues : " + " ".join(f"{v:.5g}" for v in m["bottom_eigenvalues"]),
        f"  lambda_min         : {fmt(m['lambda_min']):>12}   theory outlier lambda* : "
        f"{fmt(th.get('lambda_outlier'))}",
        f"  bulk edge (est.)   : {fmt(m['lambda_edge']):>12}   theory edge lambda_-   : "
        f"{fmt(th.get('lambda_edge'))}",
        f"  gap edge - min     : {fmt(m['gap']):>12}",
        f"  overlap m (teacher): {fmt(m['overlap'], 4):>12}   theory m (N = inf)     : "
        f"{fmt(th.get('overlap'), 4)}",
        f"  overlap subspace   : {fmt(m['overlap_subspace'], 4):>12}   (bottom p*p_star vectors "
        "on the teacher subspace)",
        f"  overlap student    : {fmt(m['overlap_student'], 4):>12}   (bottom vector on the "
        "student's own directions)",
    ]
    if th:
        side = "above" if pr["alpha"] > (th.get("alpha_bbp") or float("inf")) else "below"
        lines.append(f"  theory: alpha_BBP = {fmt(th.get('alpha_bbp'), 4)} "
                     f"({th.get('transition_type')}); alpha = {pr['alpha']} is {side} it")
    res = m.get("residuals") or []
    if res:
        lines.append(f"  max residual |Hv - lambda v| : {max(res):.2e}")
    info = m.get("solver_info")
    if info:
        phases = ", ".join(f"{x['iterations']} on {x['compute_dtype']} products"
                           for x in info.get("phases", []))
        state = "converged" if info.get("converged") else "NOT converged"
        worst = max(info.get("relative_residuals") or [0.0])
        lines.append(f"  block Lanczos      : {m.get('iterations')} block steps ({phases}), "
                     f"{state}, max relative residual {worst:.1e} (tol {info.get('tol'):g})")
    lines.append("  time               : " + ", ".join(
        f"{k} {v:.2f}s" for k, v in record["timings"].items()))
    if run_dir is not None:
        lines.append(f"  record             : {run_dir / RECORD_NAME}")
        lines.append(f"  tensorboard        : tensorboard --logdir {run_dir}")
    return "\n".join(lines)


def launcher_name() -> str:
    try:
        return str(HydraConfig.get().launcher._target_)
    except (ValueError, AttributeError):
        return ""


def is_multirun() -> bool:
    try:
        return HydraConfig.get().mode == RunMode.MULTIRUN
    except ValueError:
        return False


def finished_record(run_dir: Path, config: dict) -> dict | None:
    """The finished record in ``run_dir`` if it was made from the same config, else None."""
    path = run_dir / RECORD_NAME
    if not path.exists():
        return None
    try:
        old = read_record(path)
    except (OSError, ValueError):
        return None

    def comparable(cfg: dict) -> dict:
        cfg = dict(cfg)
        cfg.pop("force", None)
        cfg.pop("logging", None)
        return cfg

    if old.get("status") == "ok" and comparable(old.get("config", {})) == comparable(config):
        return old
    return None


def error_record(cfg: DictConfig, err: BaseException, kind: str) -> dict:
    """A record for a run that failed: the config as given, the message, and the traceback."""
    return {
        "status": "error",
        "error_kind": kind,
        "error": str(err),
        "traceback": "".join(traceback.format_exception(type(err), err, err.__traceback__)),
        "config": OmegaConf.to_container(cfg, resolve=True),
        "metrics": {},
        "timings": {},
        "versions": versions(),
        "device": None,
    }


def config_error(prog: str, cfg: DictConfig, run_dir: Path, err: ConfigError) -> int:
    """Report a user mistake in one paragraph; in a multirun leave an error record. Returns 2."""
    print(f"{prog}: configuration error. {err}", file=sys.stderr)
    if is_multirun():
        write_record(run_dir, error_record(cfg, err, "config"))
    return 2


def run_failed(prog: str, cfg: DictConfig, run_dir: Path, err: Exception) -> int:
    """A crash inside a multirun becomes an error record and the sweep goes on (returns 1);
    outside a multirun it propagates with its traceback."""
    if not is_multirun():
        raise err
    print(f"{prog}: run failed ({type(err).__name__}: {err}); error record written, sweep goes "
          "on.", file=sys.stderr)
    write_record(run_dir, error_record(cfg, err, "exception"))
    return 1


def already_done(prog: str, run_dir: Path, config: dict, force: bool) -> bool:
    """True (and says so) when ``run_dir`` holds a finished record of ``config``."""
    if force or finished_record(run_dir, config) is None:
        return False
    print(f"{prog}: {run_dir} already holds a finished record of this config; skipped "
          "(force=true recomputes).")
    return True


def run_app(cfg: DictConfig, run_dir: Path) -> int:
    """Run one job into ``run_dir``; returns an exit status (0 ok or skipped, 2 user error)."""
    from dataclasses import asdict

    from bbp_torch.study import run_study
    from bbp_torch.tensorboard import log_run

    try:
        c = validate(cfg)
    except ConfigError as err:
        return config_error("bbp", cfg, run_dir, err)
    if already_done("bbp", run_dir, asdict(c), c.force):
        return 0
    start = time.perf_counter()
    try:
        result = run_study(c)
    except ConfigError as err:
        return config_error("bbp", cfg, run_dir, err)
    except Exception as err:
        return run_failed("bbp", cfg, run_dir, err)
    record = result.record
    record["run_dir"] = str(run_dir)
    if c.logging.tensorboard:
        t0 = time.perf_counter()
        log_run(run_dir, record, result.spectrum, bins=c.logging.histogram_bins,
                figure=c.logging.figures, theory_density=result.theory_density)
        record["timings"]["tensorboard"] = time.perf_counter() - t0
    record["timings"]["total"] = time.perf_counter() - start
    write_record(run_dir, record)
    print(summary(record, run_dir))
    return 0


def set_threads_for_launcher(cfg: DictConfig) -> None:
    """Parallel local sweeps run one BLAS thread per job unless ``threads`` says otherwise.

    Several jobs each using all cores slow eigensolvers down by an order of magnitude.
    """
    if cfg.get("threads") is None and "joblib" in launcher_name():
        import torch

        torch.set_num_threads(1)


def hydra_task(cfg: DictConfig, app=None) -> int:
    """Body of a Hydra job: run it, then in a multirun print the sweep's progress."""
    app = app or run_app
    hc = HydraConfig.get()
    run_dir = Path(hc.runtime.output_dir)
    multirun = is_multirun()
    if multirun:
        set_threads_for_launcher(cfg)
    status = app(cfg, run_dir)
    if multirun:
        from bbp_torch.sweeps import progress_line

        print(progress_line(hc.sweep.dir), flush=True)
    elif status == 2:
        sys.exit(2)
    return status


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="config")
def _hydra_main(cfg: DictConfig) -> int:
    return hydra_task(cfg)


def main() -> None:
    """Console script ``bbp``."""
    _hydra_main()


__all__ = ["main", "run_app", "summary", "to_config"]
