"""Running the figure presets (``conf/experiment/``) and the other work behind the figures.

A preset's grid is read from its ``hydra.sweeper.params`` (command-line style overrides take
precedence, as in a Hydra multirun). Two runners produce the same records:

* ``cli``: ``python -m bbp_torch -m +experiment=<name>`` (``bbp``; ``bbp-train`` for a preset
  that sets the ``train`` group) in a subprocess: the very same sweep, with its resume, error
  records and progress lines, one BLAS thread per job, on the local launcher or handed to SLURM
  (``hydra/launcher=slurm``). Records go to ``<sweep dir>/<override_dirname>/record.json``.
* ``inprocess``: every grid point through the job runner (:func:`bbp_torch.jobs.run_job`) in a
  process pool. Much faster for many small runs (a Hydra job costs about half a second of
  composition on top of the run itself). Records go to ``<runs dir>/<name>/<key=value,...>/``,
  the folder is registered as a sweep (``sweeps.jsonl``, so ``bbp-collect`` counts it); the job
  runner skips finished records of the same config and leaves an error record for a failed run.

Either way the figures read the records back with :func:`bbp_torch.results.load_table`.
The worker functions (spectra, theory) live here so that a spawned pool can import them.
"""

from __future__ import annotations

import itertools
import math
import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from bbp_torch.config import CONFIG_DIR
from bbp_torch.sweeps import duration, job_dirname, register_sweep

PROJECT_ROOT = Path(CONFIG_DIR).parent  # a checkout's root (its scripts' outputs/)
# CPU seconds of one run on one core (n = pN, M samples), measured with process_time on a
# shared 2-core x86 machine, one thread (docs/figures.md, "Solver per point"):
RUN_OVERHEAD_S = {"cli": 0.6, "inprocess": 0.05}  # a Hydra job composes its config (~0.5 s)
DENSE_S_PER_DIM3 = 1.3e-10  # bottom pairs of H (LAPACK syevr subset): 1.0 s at n=2000
ALL_VECTORS_FACTOR = 1.8  # every eigenvector: 2.3-2.7 s against 1.5 s at n=2000 (p=1)
BUILD_S_PER_SAMPLE_DIM2 = 3e-11  # building H, ~ M n^2: 2.0 s of 11 at N=2000, p=2, M=6000
ITERATIVE_S_PER_SAMPLE_DIM = 2.5e-7  # block Lanczos, ~500 products of ~M n: 6 s at n=4000, M=6000
ITERATIVE_OVERHEAD_S = 0.3
# One descent step reads X twice (~M n), plus a cost per step and per coordinate: 0.23 / 0.87 /
# 1.9 / 3.8 ms a step at (N, M) = (250, 250) / (1000, 1000) / (1000, 4000) / (2000, 4000).
GD_S_PER_SAMPLE_DIM = {"float64": 1.2e-9, "float32": 3.5e-10}
GD_STEP_OVERHEAD_S = 1e-4
GD_STEP_S_PER_DIM = 3e-7
# A descent stopped by train.plateau_tol (3e-4 over time 20) stalled after time 250-700 at
# N = 1000-2000, p = 1, alpha = 2.25-3.25 (and recovering ones stop sooner): about this.
PLATEAU_TIME = 450.0
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
# Config keys that identify a run in a figure table.
RUN_KEYS = ("problem.N", "problem.p", "problem.p_star", "problem.a", "problem.alpha", "seed",
            "hessian.kind", "problem.activation")
KINDS = {"bbp": ("config", "bbp_torch"), "bbp-train": ("train", "bbp_torch.cli.train")}


# ----------------------------------------------------------------------------- preset grids


def preset_kind(name: str) -> str:
    """``bbp-train`` for a preset that sets the ``train`` group, else ``bbp`` (the rule of the
    commands' ``--help``)."""
    from omegaconf import OmegaConf

    preset = OmegaConf.load(Path(CONFIG_DIR) / "experiment" / f"{name}.yaml")
    return "bbp-train" if "train" in preset else "bbp"


def preset_grid(name: str, overrides: dict[str, str] | None = None,
                config_name: str | None = None) -> tuple[dict, dict]:
    """``(base, swept)`` of preset ``name``: the composed config (no ``hydra`` key) and the
    swept keys with their values, ``overrides`` (key -> override string) taking precedence.
    ``config_name``: ``config`` for ``bbp`` presets, ``train`` for ``bbp-train`` ones (default:
    from :func:`preset_kind`).
    """
    config_name = config_name or KINDS[preset_kind(name)][0]
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import OmegaConf

    from bbp_torch.config import register_configs

    register_configs()

    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
            cfg = compose(config_name=config_name, overrides=[f"+experiment={name}"],
                          return_hydra_config=True)
    finally:
        GlobalHydra.instance().clear()
    params = dict(OmegaConf.select(cfg, "hydra.sweeper.params") or {})
    params.update(overrides or {})
    lines = [f"{key}={value}" for key, value in params.items()]
    base = OmegaConf.to_container(cfg, resolve=False)
    base.pop("hydra")
    swept: dict[str, list] = {}
    for override in OverridesParser.create().parse_overrides(lines):
        key = override.get_key_element()
        if override.is_sweep_override():
            swept[key] = list(override.sweep_iterator())
        else:
            _set(base, key, override.value())
    return base, swept


def _set(cfg: dict, dotted: str, value) -> None:
    *parents, leaf = dotted.split(".")
    for part in parents:
        cfg = cfg.setdefault(part, {})
    cfg[leaf] = value


def _get(cfg: dict, dotted: str):
    for part in dotted.split("."):
        cfg = cfg[part]
    return cfg


def grid_points(base: dict, swept: dict) -> list[tuple[str, dict]]:
    """Every ``(folder name, config)`` of the grid; the folder name is Hydra's
    ``override_dirname`` of the point (``k=v,...``, sorted), as a sweep would name it."""
    import copy

    keys = sorted(swept)
    points = []
    for values in itertools.product(*(swept[k] for k in keys)):
        cfg = copy.deepcopy(base)
        for key, value in zip(keys, values, strict=True):
            _set(cfg, key, value)
        job = [f"{k}={v}" for k, v in zip(keys, values, strict=True)]
        points.append((job_dirname(job, ()), cfg))
    return points


def point_cost(cfg: dict, runner: str, kind: str = "bbp") -> tuple[str, float]:
    """``(solver, seconds)`` of one run: the solver that the config rules pick for it
    (:func:`bbp_torch.config.solver_for`: ``dense``, or ``iterative`` above
    ``solver.auto_max_dim`` with ``solver.name=auto``) and its rough single-core CPU seconds
    (the constants above); a ``bbp-train`` run has two solves (first and last step) and the
    descent. The preset's values are trusted here (no validation: it costs ~10 ms a point)."""
    from bbp_torch.config import solver_for
    from bbp_torch.model import n_samples

    pr, sv = cfg["problem"], cfg["solver"]
    n, M = pr["p"] * pr["N"], n_samples(pr["N"], pr["alpha"])
    solver = solver_for(sv["name"], n, sv["auto_max_dim"])
    if solver == "dense":
        factor = ALL_VECTORS_FACTOR if sv["all_vectors"] else 1.0
        solve = DENSE_S_PER_DIM3 * n**3 * factor + BUILD_S_PER_SAMPLE_DIM2 * M * n**2
    else:
        solve = ITERATIVE_OVERHEAD_S + ITERATIVE_S_PER_SAMPLE_DIM * M * n
    if kind != "bbp-train":
        return solver, RUN_OVERHEAD_S[runner] + solve
    tr = cfg["train"]
    step = GD_S_PER_SAMPLE_DIM[cfg["dtype"]] * M * n + GD_STEP_OVERHEAD_S + GD_STEP_S_PER_DIM * n
    steps = tr["steps"]  # every step: a run that recovers stops earlier
    if tr.get("plateau_tol"):  # a stalled descent stops after about PLATEAU_TIME
        steps = min(steps, PLATEAU_TIME / tr["lr"])
    solves = 2
    if tr.get("hessian_every"):  # warm-started tracked solves: about a tenth of a cold one
        solves += 0.1 * steps / tr["hessian_every"]
    return solver, RUN_OVERHEAD_S[runner] + solves * solve + steps * step


def run_seconds(cfg: dict, runner: str, kind: str = "bbp") -> float:
    """Rough single-core CPU seconds of one run (:func:`point_cost`)."""
    return point_cost(cfg, runner, kind)[1]


def _run_key(cfg: dict) -> list:
    """The :data:`RUN_KEYS` values a grid point's record will hold: a descent's Hessian kind
    is its resolved ``train.track_hessian`` (:func:`bbp_torch.config.tracked_hessian_kind`)."""
    from bbp_torch.config import tracked_hessian_kind

    values = [_get(cfg, k) for k in RUN_KEYS]
    train = cfg.get("train")
    if train:
        values[RUN_KEYS.index("hessian.kind")] = tracked_hessian_kind(
            train.get("track_hessian", "auto"), train["method"], cfg["hessian"]["kind"])
    return values


def filter_to_grid(table, base: dict, swept: dict):
    """The ``ok`` rows of ``table`` that belong to the grid (a sweep folder may hold others)."""
    if not len(table):
        return table

    def key_of(values):
        return tuple(round(float(v), 9) if isinstance(v, (int, float)) else v for v in values)

    wanted = {key_of(_run_key(cfg)) for _, cfg in grid_points(base, swept)}
    columns = [f"config.{k}" for k in RUN_KEYS]
    ok = table[table["status"] == "ok"]
    if ok.empty or any(c not in ok.columns for c in columns):
        return ok.iloc[0:0]
    inside = [key_of(row) in wanted for row in ok[columns].itertuples(index=False)]
    return ok[inside]


# ----------------------------------------------------------------------------- executors


class InlineExecutor:
    """The ``map``/context interface of an executor, running everything in this process with
    one torch thread (restored on exit), like one job of the pool."""

    def map(self, func, items, chunksize: int = 1):
        return map(func, items)

    def __enter__(self):
        import torch

        self._threads = torch.get_num_threads()
        torch.set_num_threads(1)
        return self

    def __exit__(self, *exc):
        import torch

        torch.set_num_threads(self._threads)
        return False


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


def make_executor(jobs: int):
    """A pool of ``jobs`` spawned processes with one thread each (inline when jobs=1).

    Parallel jobs with several threads each oversubscribe the cores and slow the eigensolvers
    down by an order of magnitude (two processes of two BLAS threads each on two cores slowed
    eigensolvers 10-20x).
    """
    if jobs <= 1:
        return InlineExecutor()
    import multiprocessing

    for var in THREAD_VARS:  # read by OpenBLAS/MKL when a spawned worker loads them
        os.environ[var] = "1"
    return ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker)


# ----------------------------------------------------------------------------- runners


def run_point(args: tuple[dict, str, str]) -> str:
    """Run one grid point ``(config, run_dir, job kind)`` through the job runner.

    Returns the outcome's status: ``ok``, ``unconverged``, ``error`` (an error record is
    written), ``skipped`` (a finished record of it exists) or ``busy``.
    """
    from bbp_torch.jobs import job_kind, run_job

    cfg, run_dir, kind = args
    return run_job(job_kind(kind), cfg, run_dir, in_sweep=True, quiet=True).status


def run_inprocess(executor, name: str, base: dict, swept: dict, runs_root: Path,
                  kind: str = "bbp", overrides: list[str] | None = None) -> Path:
    """Run the grid ``(base, swept)`` in ``executor`` as ``kind`` jobs (``bbp`` or
    ``bbp-train``) into ``runs_root/name``; returns that folder, registered as a sweep
    (``sweeps.jsonl``) with ``overrides`` as its overrides (default ``+experiment=<name>``)."""
    folder = Path(runs_root) / name
    points = grid_points(base, swept)
    register_sweep(folder, [dirname for dirname, _ in points],
                   [f"+experiment={name}"] if overrides is None else overrides)
    # Longest runs first, so that the pool is not left waiting for one big run at the end.
    points.sort(key=lambda item: -run_seconds(item[1], "inprocess", kind))
    tasks = [(cfg, str(folder / dirname), kind) for dirname, cfg in points]
    start = time.time()
    counts = {"ok": 0, "skipped": 0, "error": 0, "unconverged": 0, "busy": 0}
    step = max(1, len(tasks) // 5)
    for i, status in enumerate(executor.map(run_point, tasks, chunksize=1), start=1):
        counts[status] += 1
        if i % step == 0 or i == len(tasks):
            elapsed = time.time() - start
            fresh = i - counts["skipped"]
            eta = (len(tasks) - i) * elapsed / fresh if fresh else 0.0
            print(f"[{name}] {i}/{len(tasks)} runs ({counts['skipped']} skipped, "
                  f"{counts['error']} failed, {counts['unconverged']} unconverged), elapsed "
                  f"{duration(elapsed)}, ETA {duration(eta)}", flush=True)
    return folder


def sweep_command(name: str, overrides: dict[str, str], sweep_dir: Path, jobs: int,
                  kind: str = "bbp", launcher: str = "local",
                  launcher_overrides: tuple[str, ...] = ()) -> list[str]:
    """The ``bbp -m +experiment=<name>`` (or ``bbp-train``) command line of the cli runner.

    ``launcher="local"``: ``jobs`` parallel jobs on this machine; ``"slurm"``: the sweep is
    handed to the SLURM launcher (one job per run; ``launcher_overrides`` such as
    ``hydra.launcher.partition=cpu`` follow it).
    """
    cmd = [sys.executable, "-m", KINDS[kind][1], "-m", f"+experiment={name}",
           f"hydra.sweep.dir={sweep_dir}"]
    if launcher == "slurm":
        cmd += ["hydra/launcher=slurm", *launcher_overrides]
    else:
        cmd += [f"hydra.launcher.n_jobs={jobs}", *launcher_overrides]
    return cmd + [f"{key}={value}" for key, value in (overrides or {}).items()]


def run_cli(name: str, overrides: dict[str, str], sweep_dir: Path, jobs: int,
            kind: str = "bbp", launcher: str = "local",
            launcher_overrides: tuple[str, ...] = ()) -> Path:
    """Run the preset as a Hydra multirun in a subprocess (one BLAS thread per job); returns
    when the sweep has finished (with SLURM: when its jobs have)."""
    env = dict(os.environ, **{var: "1" for var in THREAD_VARS})
    cmd = sweep_command(name, overrides, sweep_dir, jobs, kind, launcher, launcher_overrides)
    print("+ " + " ".join(cmd[1:]), flush=True)
    proc = subprocess.run(cmd, env=env)
    if proc.returncode != 0:
        print(f"warning: the sweep {name} exited with status {proc.returncode}; plotting the "
              "records that exist.", file=sys.stderr)
    return Path(sweep_dir)


# ----------------------------------------------------------------------------- worker tasks


def spectrum_task(args: tuple) -> np.ndarray:
    """All eigenvalues of the dense Euclidean Hessian of one draw ``(N, p, p*, a, alpha, seed)``."""
    import torch

    from bbp_torch.hessian import dense_hessian
    from bbp_torch.model import make_problem

    N, p, p_star, a, alpha, seed = args
    problem = make_problem(N, p, p_star, alpha, a, seed=seed, device="auto")
    return torch.linalg.eigvalsh(dense_hessian(problem)).double().cpu().numpy()


def density_task(args: tuple) -> np.ndarray:
    """Theory bulk density of H at ``lambdas`` for ``(p, p*, a, alpha, lambdas)``."""
    from bbp_torch import theory

    p, p_star, a, alpha, lambdas = args
    return theory.density(p, p_star, a, alpha, lambdas)


def threshold_task(args: tuple) -> tuple[float, str]:
    """``(alpha_BBP, transition type)`` for ``(p, p*, a)``; ``(nan, "error")`` if it fails.

    A theory failure at one grid point must not lose the figure.
    """
    from bbp_torch import theory

    p, p_star, a = args
    result = theory.threshold(p, p_star, a)
    if "error" in result:
        return math.nan, "error"
    return result["alpha_bbp"], result["transition_type"]


def estimator_limits_task(args: tuple) -> tuple[float, float]:
    """N = infinity values ``(crossing, alpha_0)`` of the estimators for ``(p, p*, a, level,
    window)``; NaNs if the theory fails."""
    from bbp_torch.estimators import theory_alpha0, theory_crossing

    p, p_star, a, level, window = args
    try:
        return theory_crossing(p, p_star, a, level), theory_alpha0(p, p_star, a, window)
    except Exception:
        return math.nan, math.nan


def overlap_curve_task(args: tuple) -> np.ndarray:
    """Theory overlap m(alpha) on ``alphas`` for ``(p, p*, a, alphas)``."""
    from bbp_torch import theory

    p, p_star, a, alphas = args
    return np.array([theory.overlap(p, p_star, a, x) for x in alphas])


def alpha_bbp_curve_task(args: tuple) -> list[tuple[float, str]]:
    """``[(alpha_BBP, type), ...]`` of :func:`threshold_task` along ``a_values`` for
    ``(p, p*, a_values)``: one task per curve, so that a worker reuses its theory caches."""
    p, p_star, a_values = args
    return [threshold_task((p, p_star, a)) for a in a_values]


def type_switch_task(args: tuple) -> dict:
    """``{"a_switch", "alpha_switch"}`` for ``(p, p*)``: the a where the transition changes type
    (:func:`bbp_torch.theory.critical_a`) and alpha_BBP there; Nones when it never does or the
    theory fails."""
    from bbp_torch import theory

    p, p_star = args
    try:
        a_switch = theory.critical_a(p, p_star)
        if a_switch is not None:
            return {"a_switch": float(a_switch),
                    "alpha_switch": float(theory.alpha_bbp(p, p_star, a_switch))}
    except Exception:  # a theory failure loses the marker, not the figure
        pass
    return {"a_switch": None, "alpha_switch": None}


def alpha_bbp_minimum_task(args: tuple) -> dict:
    """Where alpha_BBP(a) is smallest at fixed ``(p, p*)``, and where the type switches.

    ``args = (p, p*, lo, hi, xatol)``: bounded minimisation in ``log a`` over ``[lo, hi]`` (a
    bracket around the grid minimum) to ``xatol`` in ``log a``; ``xatol=None``: no
    minimisation, the middle of the bracket (the grid minimum) is taken. Returns ``{"a_min",
    "alpha_min"}`` (NaNs when the theory fails) and the keys of :func:`type_switch_task`.
    """
    from scipy.optimize import minimize_scalar

    from bbp_torch import theory

    p, p_star, lo, hi, xatol = args
    out = {"a_min": math.nan, "alpha_min": math.nan}
    try:
        if xatol is None:
            a_min = math.sqrt(lo * hi)
            out["a_min"], out["alpha_min"] = a_min, float(theory.alpha_bbp(p, p_star, a_min))
        else:
            res = minimize_scalar(lambda x: theory.alpha_bbp(p, p_star, math.exp(x)),
                                  bounds=(math.log(lo), math.log(hi)), method="bounded",
                                  options={"xatol": xatol})
            out["a_min"], out["alpha_min"] = float(math.exp(res.x)), float(res.fun)
    except Exception:  # a theory failure loses the marker, not the figure
        pass
    return {**out, **type_switch_task((p, p_star))}
