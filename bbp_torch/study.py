"""The two pipelines, as plain calls with a typed value between each step.

    run_study:    config -> Problem -> Hessian operator -> Spectrum -> Observables (+ theory)
                  -> record
    run_training: config -> Problem -> Hessian at init (-> warm start) -> descent -> record

Both validate once (:func:`bbp_torch.config.validate`; an already :class:`Resolved` config
passes through), compute with the resolved thread count, and return the record with
``status`` ``ok`` or ``unconverged`` (some eigenpair missed ``solver.tol``); a descent that
diverged is recorded ``error`` of kind ``numerical``, with its series. Writing records
and TensorBoard events is the job runner's work (:mod:`bbp_torch.jobs`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np
import torch

from bbp_torch import theory
from bbp_torch.activations import QUADRATIC
from bbp_torch.config import Resolved, TrainRunConfig, validate
from bbp_torch.errors import NumericalError
from bbp_torch.model import Problem, make_problem
from bbp_torch.observables import best_overlap, measure
from bbp_torch.operators.registry import hessian_operator
from bbp_torch.results import new_record
from bbp_torch.runtime import Timer, device_label, limit_threads
from bbp_torch.spectrum import Eigenpairs, bottom_eigenpairs
from bbp_torch.spectrum.slq import run_density
from bbp_torch.training import (
    UNSTABLE_FACTOR,
    Tracker,
    Trajectory,
    exact_gen_error,
    gram_overlap,
    natural_step_size,
    spectral_student,
    train,
)


@dataclass
class StudyResult:
    record: dict  # the JSON-able run record (config, metrics, timings, versions, device)
    spectrum: np.ndarray | None  # every eigenvalue, when the solver computed them
    theory_density: dict | None = None  # {"lambda", "rho"}: the N = infinity bulk density


@dataclass
class TrainResult:
    record: dict  # the JSON-able run record
    trajectory: Trajectory


def run_study(cfg) -> StudyResult:
    """One run of the core study for ``cfg`` (a :class:`Resolved`, Config, DictConfig or dict)."""
    r = validate(cfg)
    c, timer = r.config, Timer(r.device)
    with limit_threads(c.threads):
        with timer("problem"):
            problem, op = draw_operator(r)
        with timer("solve"):
            pairs = solve(op, r)
        return finish_study(r, problem, op, pairs, timer)


def finish_study(r: Resolved, problem: Problem, op, pairs: Eigenpairs, timer: Timer) -> StudyResult:
    """The rest of a run once its pairs are solved: observables, density, theory, the record
    (``timer`` holds the times so far). Shared by one seed and a batch of seeds
    (:mod:`bbp_torch.batched`)."""
    c = r.config
    with timer("observables"):
        metrics = spectrum_metrics(pairs, problem)
    if pairs.all_values is None and c.solver.slq_probes > 0:
        with timer("density"):
            metrics["density"] = slq_metrics(op, r)
    if c.theory:
        with timer("theory"):
            metrics.update(theory_metrics(r, theory_predictions))
    spectrum = None if pairs.all_values is None else pairs.all_values.double().cpu().numpy()
    curve = theory_density_curve(r, spectrum) if wants_density_curve(r, spectrum) else None
    status, warning = outcome([pairs])
    record = new_record(status, asdict(c), metrics, timer.timings, device_label(r.device), warning)
    return StudyResult(record=record, spectrum=spectrum, theory_density=curve)


def run_training(cfg) -> TrainResult:
    """One descent from the initialization for ``cfg`` (train app config or :class:`Resolved`)."""
    r = validate(cfg, TrainRunConfig)
    c, t, timer = r.config, r.config.train, Timer(r.device)
    with limit_threads(c.threads):
        with timer("problem"):
            problem = draw_problem(r)
            tracker = Tracker.with_fresh_data(
                problem, t.n_test, hessian_kind=c.hessian.kind, product=c.hessian.product,
                chunk_size=c.solver.chunk_size, seed=c.seed, method=t.method,
                solver=replace(c.solver, name=r.solver, full_spectrum=False))
        with timer("init"):
            pairs = tracker.eigenpairs(problem.W)  # the Hessian at the random initialization
            init, W0 = initialization(pairs, problem, t.init)
        with timer("train"):
            traj = train(problem, t.method, t.lr, t.steps, W0=W0, track_every=t.track_every,
                         hessian_every=t.hessian_every, loss_tol=t.loss_tol, gen_tol=t.gen_tol,
                         tracker=tracker, plateau_tol=t.plateau_tol,
                         plateau_window=t.plateau_window)
    metrics = training_metrics(r, problem, traj, init)
    status, warning = outcome([pairs], tracker.unconverged)
    record = new_record(status, asdict(c), metrics, timer.timings, device_label(r.device), warning)
    if traj.stop_reason == "diverged":  # no valid final numbers: a numerical failure, kept
        record.update(status="error", error_kind="numerical", error=(
            f"the descent diverged at step {traj.steps} (the training loss became non-finite, "
            f"exploded, or rose above {UNSTABLE_FACTOR:g} times its start: the step is "
            f"unstable); every final_* is null. Lower train.lr (now {t.lr:g})."))
    return TrainResult(record=record, trajectory=traj)


# ----------------------------------------------------------------------------- the steps


def draw_problem(r: Resolved) -> Problem:
    """Teacher, student and data of the run, on its device."""
    c = r.config
    pr = c.problem
    return make_problem(pr.N, pr.p, pr.p_star, pr.alpha, pr.a, seed=c.seed, device=r.device,
                        dtype=c.dtype, data_dtype=c.data_dtype, activation=pr.activation)


def draw_operator(r: Resolved):
    """The run's problem and its Hessian operator."""
    c = r.config
    problem = draw_problem(r)
    return problem, hessian_operator(problem, kind=c.hessian.kind, product=c.hessian.product,
                                     chunk_size=c.solver.chunk_size)


def solve(op, r: Resolved) -> Eigenpairs:
    """The bottom eigenpairs with the resolved solver; non-finite eigenvalues are an error."""
    c = r.config
    pr = c.problem
    return finite(bottom_eigenpairs(op, replace(c.solver, name=r.solver), seed=c.seed,
                                    progress=c.logging.progress, units=pr.p,
                                    outliers=pr.p * pr.p_star))


def finite(pairs: Eigenpairs) -> Eigenpairs:
    """``pairs``, unless an eigenvalue is not finite (a :class:`NumericalError`)."""
    if not bool(torch.isfinite(pairs.values).all()):
        raise NumericalError("the eigensolver returned non-finite eigenvalues")
    return pairs


# what the record keeps of the iterative solver's report (not its per-step history)
SOLVER_INFO_KEYS = ("converged", "tol", "relative_residuals", "n_products", "restarts",
                    "block_size", "basis_size", "mixed_precision", "phases", "warning")


def spectrum_metrics(pairs: Eigenpairs, problem: Problem) -> dict:
    """The observables of the bottom pairs, their residuals and how they were solved."""
    metrics = measure(pairs.values, pairs.vectors, problem.W, problem.W_star)
    if pairs.all_vectors is not None:
        metrics.update(best_overlap(pairs.all_vectors, problem.W_star, "all"))
    metrics["residuals"] = [float(x) for x in pairs.residuals]
    metrics["relative_residuals"] = pairs.relative_residuals
    metrics["tol"] = pairs.tol
    metrics["converged"] = pairs.converged
    metrics["solver_used"] = pairs.solver
    metrics["iterations"] = pairs.iterations
    metrics["M"] = problem.M
    if pairs.solver == "iterative":
        metrics["solver_info"] = {key: pairs.info[key] for key in SOLVER_INFO_KEYS
                                  if key in pairs.info}
    return metrics


def slq_metrics(op, r: Resolved) -> dict:
    """The SLQ density of a run without a full spectrum; with mixed precision on float32
    products (a histogram does not need float64 products, and it halves the time)."""
    c = r.config
    density_op = op.with_compute_dtype(torch.float32) if c.solver.mixed_precision else op
    density = run_density(density_op, c.solver.slq_probes, c.solver.slq_steps, seed=c.seed,
                          bins=c.logging.histogram_bins)
    density["compute_dtype"] = str(density_op.compute_dtype).removeprefix("torch.")
    return density


def outcome(solves: list[Eigenpairs], unconverged_steps: list[int] = ()) -> tuple[str, str | None]:
    """``("ok", None)`` when every solve met its tolerance, else ``("unconverged", why)``."""
    missed = [p for p in solves if not p.converged]
    if not missed and not unconverged_steps:
        return "ok", None
    parts = []
    for pairs in missed:
        worst = max(pairs.relative_residuals)
        parts.append(f"{pairs.solver} eigenpairs missed solver.tol={pairs.tol:g} (worst "
                     f"relative residual {worst:.2e})")
    if unconverged_steps:
        parts.append(f"the Hessian solves at training steps {list(unconverged_steps)[:10]} "
                     "missed solver.tol")
    return "unconverged", "; ".join(parts) + "; raise solver.max_iter or solver.tol."


# ----------------------------------------------------------------------------- theory

THEORY_NOTE = ("no N = infinity theory: it is derived for the quadratic activation alone "
               "(problem.activation={})")


def theory_metrics(r: Resolved, predict) -> dict:
    """``{"theory": predict(r)}``; for an activation other than the square, which the theory
    does not cover, ``{"theory": None, "theory_note": why}`` without calling it."""
    activation = r.config.problem.activation
    if activation != QUADRATIC:
        return {"theory": None, "theory_note": THEORY_NOTE.format(activation)}
    return {"theory": predict(r)}


def theory_predictions(r: Resolved) -> dict:
    """The N = infinity predictions for this run; a failure of the theory is recorded in
    ``error`` and never loses the measurement."""
    c = r.config
    pr = c.problem
    try:
        pred = theory.predictions(pr.p, pr.p_star, pr.a, pr.alpha)
        if c.hessian.kind == "spherical":
            # At N = infinity the multipliers are all equal: the spectrum only shifts by -mu.
            mu = theory.lagrange_multiplier(pr.p, pr.p_star, pr.a, pr.alpha)
            pred["lagrange_multiplier"] = mu
            for key in ("lambda_edge", "lambda_outlier"):
                if pred.get(key) is not None:
                    pred[key] -= mu
        return pred
    except Exception as err:  # the measurement must not be lost to a theory failure
        return {"error": f"{type(err).__name__}: {err}"}


def wants_density_curve(r: Resolved, spectrum: np.ndarray | None) -> bool:
    """The theory density is drawn over the spectrum figure when there is one."""
    lg = r.config.logging
    quadratic = r.config.problem.activation == QUADRATIC
    return r.config.theory and quadratic and lg.tensorboard and lg.figures and spectrum is not None


def theory_density_curve(r: Resolved, spectrum: np.ndarray, points: int = 200) -> dict | None:
    """The N = infinity bulk density over the spectrum's range, half of the ``points`` in its
    bottom tenth (where the edge and the outliers are); the spherical Hessian's density is the
    Euclidean one shifted by ``-mu``. None when the theory fails (the figure goes without)."""
    pr = r.config.problem
    lo, hi = float(spectrum[0]), float(spectrum[-1])
    try:
        shift = (theory.lagrange_multiplier(pr.p, pr.p_star, pr.a, pr.alpha)
                 if r.config.hessian.kind == "spherical" else 0.0)
        lam = np.union1d(np.linspace(lo, hi, points // 2),
                         np.linspace(lo, lo + 0.1 * (hi - lo), points - points // 2))
        rho = theory.density(pr.p, pr.p_star, pr.a, pr.alpha, lam + shift)
    except Exception:  # a figure without its theory curve is still a figure
        return None
    return {"lambda": lam.tolist(), "rho": rho.tolist()}


# ----------------------------------------------------------------------------- training


def initialization(pairs: Eigenpairs, problem: Problem, init: str) -> tuple[dict, torch.Tensor]:
    """Observables of the Hessian at the random initialization, and the starting student
    (the random one, or the spectral warm start built from those eigenvectors)."""
    info = measure(pairs.values, pairs.vectors, problem.W, problem.W_star)
    info["gen_error_exact"] = exact_gen_error(problem, problem.W)
    info["student_overlap"] = gram_overlap(problem.W, problem.W_star)
    W0 = problem.W
    if init == "spectral":
        W0 = spectral_student(pairs.vectors, problem.W, problem.p_star)
        info["warm_gen_error_exact"] = exact_gen_error(problem, W0)
        info["warm_student_overlap"] = gram_overlap(W0, problem.W_star)
    return info, W0


def training_metrics(r: Resolved, problem: Problem, traj: Trajectory, init: dict) -> dict:
    """``final_*`` (the last tracked point), ``max_gram_overlap`` and ``max_gram_overlap_step``
    (the largest Gram overlap ``q`` over the tracked steps, first and last included: the same
    overlap as ``final_gram_overlap``, which for p = p* = 1 is the paper's m^2), ``success``
    (final fresh-data ``gen_error < train.gen_tol`` and not diverged), ``steps``,
    ``stop_reason``, ``eta`` (the weight-space step), ``init`` (observables of the Hessian at
    the random initialization), ``theory`` (alpha_BBP at initialization, or None when
    ``theory=false``) and ``series`` (one entry per tracked step, ``None`` where the Hessian was
    not computed)."""
    c, final = r.config, traj.final
    pr = c.problem
    theory_part = theory_metrics(r, lambda r: theory.threshold(pr.p, pr.p_star, pr.a)) \
        if c.theory else {"theory": None}
    series = traj.series
    best = max(range(len(series["gram_overlap"])), key=lambda i: series["gram_overlap"][i])
    return {
        "final_gram_overlap": final["gram_overlap"],
        "final_gen_error": final["gen_error"],
        "final_gen_error_exact": final["gen_error_exact"],
        "final_train_loss": final["train_loss"],
        "final_lambda_min": final["lambda_min"],
        "final_eigvec_overlap": final["eigvec_overlap"],
        "max_gram_overlap": series["gram_overlap"][best],
        "max_gram_overlap_step": series["step"][best],
        "success": traj.stop_reason != "diverged" and final["gen_error"] < c.train.gen_tol,
        "steps": traj.steps,
        "stop_reason": traj.stop_reason,
        "plateau_step": traj.plateau_step,
        "M": problem.M,
        "eta": natural_step_size(problem, c.train.lr),
        "init": init,
        **theory_part,
        "series": traj.series,
    }
