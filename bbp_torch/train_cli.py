"""The Hydra entry point ``bbp-train`` (also ``python -m bbp_torch.train_cli``): one descent.

Config: ``conf/train.yaml`` = the core groups (problem, hessian, solver, logging) plus the
``train`` group (``conf/train/default.yaml``, fields of :class:`bbp_torch.training.TrainConfig`).
Each run writes ``record.json`` (metrics, the tracked series) and TensorBoard events (scalars per
tracked step, hparams) into its Hydra output folder and prints a short summary. As with ``bbp``:
a folder holding a finished record of the same config is skipped (``force=true`` recomputes), a
configuration mistake exits with status 2 naming the field, and inside a multirun a failure
becomes an error record while the sweep goes on.
"""

from __future__ import annotations

import time
from pathlib import Path

import hydra
import numpy as np
from omegaconf import DictConfig

from bbp_torch.cli import (
    CONFIG_DIR,
    already_done,
    config_error,
    fmt,
    hydra_task,
    is_multirun,
    run_failed,
)
from bbp_torch.config import ConfigError
from bbp_torch.results import RECORD_NAME, flatten, write_record

# Series plotted under train/ and hessian/ in TensorBoard.
TRAIN_SCALARS = ("train_loss", "gen_error", "gen_error_exact", "overlap", "norm")
HESSIAN_SCALARS = ("lambda_min", "eigvec_overlap", "eigvec_overlap_subspace", "lambda_edge")
# Record metrics shown as HParams metrics (when numeric).
HPARAM_METRICS = (
    "final_overlap", "final_gen_error", "success", "steps", "init.lambda_min", "init.overlap",
    "init.student_overlap", "init.warm_student_overlap", "theory.alpha_bbp",
)


def _number(x) -> float | None:
    if isinstance(x, bool):
        return float(x)
    if isinstance(x, (int, float)) and np.isfinite(x):
        return float(x)
    return None


def log_training(run_dir: str | Path, record: dict) -> None:
    """TensorBoard events of a training record: scalars per tracked step, then the hparams."""
    from torch.utils.tensorboard import SummaryWriter
    from torch.utils.tensorboard.summary import hparams

    from bbp_torch.tensorboard import hparam_values

    metrics = record["metrics"]
    series = metrics["series"]
    writer = SummaryWriter(log_dir=str(run_dir))
    try:
        for i, step in enumerate(series["step"]):
            for group, keys in (("train", TRAIN_SCALARS), ("hessian", HESSIAN_SCALARS)):
                for key in keys:
                    value = _number(series[key][i])
                    if value is not None:
                        writer.add_scalar(f"{group}/{key}", value, step)
        flat = flatten({k: v for k, v in metrics.items() if k != "series"})
        hp_metrics = {f"metrics/{k}": _number(flat.get(k)) for k in HPARAM_METRICS}
        hp_metrics = {k: v for k, v in hp_metrics.items() if v is not None}
        for name, value in hp_metrics.items():
            writer.add_scalar(name, value, 0)
        exp, ssi, sei = hparams(hparam_values(record["config"]), hp_metrics)
        for summary_proto in (exp, ssi, sei):
            writer.file_writer.add_summary(summary_proto)
    finally:
        writer.close()


def summary(record: dict, run_dir: Path | None = None) -> str:
    """A short human-readable account of one training run."""
    c, m = record["config"], record["metrics"]
    pr, t = c["problem"], c["train"]
    init, th = m["init"], m.get("theory") or {}
    lines = [
        f"bbp-train  N={pr['N']} p={pr['p']} p*={pr['p_star']} a={pr['a']} alpha={pr['alpha']} "
        f"(M={m['M']})  seed={c['seed']}  method={t['method']} lr={t['lr']} (eta={m['eta']:.4g}) "
        f"init={t['init']}  device={record['device']} {c['dtype']}",
        f"  Hessian at init    : lambda_min {fmt(init['lambda_min'])}, edge "
        f"{fmt(init['lambda_edge'])}, bottom-vector teacher overlap m {fmt(init['overlap'], 4)}"
        f"   theory alpha_BBP {fmt(th.get('alpha_bbp'), 4)} ({th.get('transition_type', '-')})",
        f"  student overlap q  : {fmt(init['student_overlap'], 3)} at random init"
        + (f", {fmt(init['warm_student_overlap'], 3)} after the spectral start"
           if "warm_student_overlap" in init else ""),
        f"  stopped            : {m['stop_reason']} after {m['steps']} steps "
        f"(time {t['lr'] * m['steps']:.4g})",
        f"  final              : gen_error {fmt(m['final_gen_error'], 3)}, overlap q "
        f"{fmt(m['final_overlap'], 4)}, train loss {fmt(m['final_train_loss'], 3)}, "
        f"lambda_min {fmt(m['final_lambda_min'], 3)} (bottom-vector m "
        f"{fmt(m['final_eigvec_overlap'], 3)})",
        f"  success            : {m['success']} (gen_error < train.gen_tol={t['gen_tol']})",
        "  time               : " + ", ".join(f"{k} {v:.2f}s" for k, v in
                                             record["timings"].items()),
    ]
    if run_dir is not None:
        lines.append(f"  record             : {run_dir / RECORD_NAME}")
        if c["logging"]["tensorboard"]:
            lines.append(f"  tensorboard        : tensorboard --logdir {run_dir}")
    return "\n".join(lines)


def run_train_app(cfg: DictConfig, run_dir: Path) -> int:
    """Run one training job into ``run_dir``; returns 0 (ok or skipped), 1 or 2 (user error)."""
    from bbp_torch.training import run_training, validate_train

    try:
        rc = validate_train(cfg)
    except ConfigError as err:
        return config_error("bbp-train", cfg, run_dir, err)
    if already_done("bbp-train", run_dir, rc.to_dict(), rc.core.force):
        return 0
    start = time.perf_counter()
    try:
        record = run_training(rc).record
    except Exception as err:
        return run_failed("bbp-train", cfg, run_dir, err)
    record["run_dir"] = str(run_dir)
    if rc.core.logging.tensorboard:
        t0 = time.perf_counter()
        log_training(run_dir, record)
        record["timings"]["tensorboard"] = time.perf_counter() - t0
    record["timings"]["total"] = time.perf_counter() - start
    write_record(run_dir, record)
    if rc.core.logging.progress or not is_multirun():
        print(summary(record, run_dir))
    return 0


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="train")
def _hydra_main(cfg: DictConfig) -> int:
    return hydra_task(cfg, app=run_train_app)


def main() -> None:
    """Console script ``bbp-train``."""
    _hydra_main()


if __name__ == "__main__":
    main()
