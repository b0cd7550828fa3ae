"""The cost model behind ``bbp-figures --estimate`` and the order of the in-process runs: the
solver a grid point gets and its rough single-core CPU seconds (a job of several seeds: all of
them, batched where the job runner batches them), a preset's grid in total
(:func:`grid_cost`), and a figure's work besides its sweeps (:func:`side_seconds`)."""

from __future__ import annotations

# CPU seconds of one run on one core (n = pN, M samples), measured with process_time on a
# shared 2-core x86 machine, one thread (docs/figures.md, "Solver per point"):
RUN_OVERHEAD_S = {"cli": 0.6, "inprocess": 0.05}  # a Hydra job composes its config (~0.5 s)
DENSE_S_PER_DIM3 = 1.3e-10  # bottom pairs of H (LAPACK syevr subset): 1.0 s at n=2000
ALL_VECTORS_FACTOR = 1.8  # every eigenvector: 2.3-2.7 s against 1.5 s at n=2000 (p=1)
BUILD_S_PER_SAMPLE_DIM2 = 3e-11  # building H, ~ M n^2: 2.0 s of 11 at N=2000, p=2, M=6000
ITERATIVE_S_PER_SAMPLE_DIM = 2.5e-7  # block Lanczos, ~500 products of ~M n: 6 s at n=4000, M=6000
ITERATIVE_OVERHEAD_S = 0.3
# At large p the block (k = p p* + 4 pairs) makes the basis and its orthogonalisation cost
# ~ n k^2, and the near-degenerate multiplet asks for many restarts; in CPU seconds (one
# thread, alpha = 0.9, a = 0.7, tol 1e-6, a shared machine): p = 16, 32, 64 at N = 500: 2.4, 26,
# 116 s; p = 16, 32 at N = 1000: 5.4, 48 s (docs/figures.md). Since the float32 phase's stall
# rule and the one-thread projected eigh (docs/large_n.md), the paper mode's runs (tol 1e-3, one
# thread, idle machine, alpha 0.5-1.6) took per run p = 32 / 64: 1.2 / 6.1 s at N = 500 and
# 3.7 / 16.9 s at N = 1000 (the model: 1.4 / 8.0 and 4.1 / 16.4 s).
ITERATIVE_S_PER_DIM_BLOCK2 = 0.2e-6
# Fewer digits, fewer products: tol 1e-4 took 0.52 of the CPU time of tol 1e-6 (p = 32, N = 500;
# 3379 products against 7677). The iterative time scales as (digits - 2) / 4, at least 1/4.
ITERATIVE_REFERENCE_DIGITS = 6
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
    """``(solver, seconds)`` of one job: the solver that the config rules pick for it
    (:func:`bbp_torch.config.solver_for`: ``dense``, or ``iterative`` above
    ``solver.auto_max_dim`` with ``solver.name=auto``; ``dense_batched`` for a job of several
    seeds that the job runner solves together, :func:`batched_seeds`) and its rough single-core
    CPU seconds (the constants above), every seed of it; a ``bbp-train`` run has two solves
    (first and last step) and the descent. The preset's values are trusted here (no validation
    but of a job of several seeds: it costs ~10 ms a job)."""
    from bbp_torch.config import solver_for
    from bbp_torch.model import n_samples
    from bbp_torch.spectrum.tuning import default_k

    pr, sv = cfg["problem"], cfg["solver"]
    n, M = pr["p"] * pr["N"], n_samples(pr["N"], pr["alpha"])
    seeds = int(cfg.get("seeds", 1))
    # a job composes its config once; each further seed is a record more
    overhead = RUN_OVERHEAD_S[runner] + (seeds - 1) * RUN_OVERHEAD_S["inprocess"]
    solver = solver_for(sv["name"], n, sv["auto_max_dim"])
    if solver == "dense" and kind == "bbp" and batched_seeds(cfg) > 1:
        # one full batched eigh with every eigenvector per seed, and the batched build:
        # 0.011 / 0.044 / 0.25 CPU s a seed at pN = 250 / 500 / 1000 (p = 1, alpha = 1.2)
        solve = DENSE_S_PER_DIM3 * n**3 * ALL_VECTORS_FACTOR + BUILD_S_PER_SAMPLE_DIM2 * M * n**2
        return "dense_batched", overhead + seeds * solve
    if solver == "dense":
        factor = ALL_VECTORS_FACTOR if sv["all_vectors"] else 1.0
        solve = DENSE_S_PER_DIM3 * n**3 * factor + BUILD_S_PER_SAMPLE_DIM2 * M * n**2
    else:
        import math

        k = sv.get("k") or default_k(pr["p"], pr["p_star"], n)
        digits = -math.log10(sv["tol"]) if sv.get("tol") else ITERATIVE_REFERENCE_DIGITS
        refine = max(0.25, (digits - 2) / (ITERATIVE_REFERENCE_DIGITS - 2))
        solve = ITERATIVE_OVERHEAD_S + refine * (ITERATIVE_S_PER_SAMPLE_DIM * M * n
                                                 + ITERATIVE_S_PER_DIM_BLOCK2 * n * k**2)
    if kind != "bbp-train":
        return solver, overhead + seeds * solve
    tr = cfg["train"]
    step = GD_S_PER_SAMPLE_DIM[cfg["dtype"]] * M * n + GD_STEP_OVERHEAD_S + GD_STEP_S_PER_DIM * n
    steps = tr["steps"]  # every step: a run that recovers stops earlier
    if tr.get("plateau_tol"):  # a stalled descent stops after about PLATEAU_TIME
        steps = min(steps, PLATEAU_TIME / tr["lr"])
    solves = 2
    if tr.get("hessian_every"):  # warm-started tracked solves: about a tenth of a cold one
        solves += 0.1 * steps / tr["hessian_every"]
    return solver, overhead + seeds * (solves * solve + steps * step)


def batched_seeds(cfg: dict) -> int:
    """How many seeds of the ``bbp`` job ``cfg`` the job runner solves at once on this machine
    (:func:`bbp_torch.batched.seeds_at_once`, the one rule; 1 for a one-seed job)."""
    seeds = int(cfg.get("seeds", 1))
    if seeds < 2:
        return 1
    from bbp_torch.batched import seeds_at_once
    from bbp_torch.config import Config, validate

    return seeds_at_once(validate(cfg, Config), seeds)


def grid_cost(points: list[tuple[str, dict]], runner: str,
              kind: str = "bbp") -> tuple[int, dict[str, int], float]:
    """``(runs, {solver: runs}, CPU seconds)`` of a grid's jobs (``points``: the
    ``(folder, config)`` of :func:`bbp_torch.figures.grids.grid_points`), each job's seeds
    counted as runs."""
    runs, solvers, seconds = 0, {}, 0.0
    for _, cfg in points:
        solver, cost = point_cost(cfg, runner, kind)
        count = int(cfg.get("seeds", 1))
        runs += count
        solvers[solver] = solvers.get(solver, 0) + count
        seconds += cost
    return runs, solvers, seconds


def run_seconds(cfg: dict, runner: str, kind: str = "bbp") -> float:
    """Rough single-core CPU seconds of one job (:func:`point_cost`)."""
    return point_cost(cfg, runner, kind)[1]


def side_seconds(module, settings: dict) -> float:
    """Rough CPU seconds of a figure's work besides its sweeps (theory solves, spectra): its
    module's ``side_seconds(settings)``, else :data:`DEFAULT_THEORY_CALLS` theory solves."""
    own = getattr(module, "side_seconds", None)
    return own(settings) if own else DEFAULT_THEORY_CALLS * THEORY_CALL_S


def minimum_calls(settings: dict) -> int:
    """Theory solves of one minimum of alpha_BBP in a (one without ``min_xatol``)."""
    return 1 if settings["min_xatol"] is None else MINIMUM_CALLS
