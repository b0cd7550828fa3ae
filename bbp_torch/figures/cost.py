"""The cost model behind ``bbp-figures --estimate`` and the order of the in-process runs: the
solver a grid point gets and its rough single-core CPU seconds, and a figure's work besides its
sweeps (:func:`side_seconds`)."""

from __future__ import annotations

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
THEORY_CALL_S = 0.2  # one alpha_BBP solve at a new (p, p*, a): 0.15-0.26 CPU s measured
MINIMUM_CALLS = 15  # alpha_BBP solves of one bounded minimisation in log a
DEFAULT_THEORY_CALLS = 6  # a figure's thresholds and its estimators' N = infinity values


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


def side_seconds(module, settings: dict) -> float:
    """Rough CPU seconds of a figure's work besides its sweeps (theory solves, spectra): its
    module's ``side_seconds(settings)``, else :data:`DEFAULT_THEORY_CALLS` theory solves."""
    own = getattr(module, "side_seconds", None)
    return own(settings) if own else DEFAULT_THEORY_CALLS * THEORY_CALL_S


def minimum_calls(settings: dict) -> int:
    """Theory solves of one minimum of alpha_BBP in a (one without ``min_xatol``)."""
    return 1 if settings["min_xatol"] is None else MINIMUM_CALLS
