"""One run of the core study: config -> Problem -> Hessian -> Spectrum -> Observables -> record."""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import numpy as np
import torch

from bbp_torch.config import Config, validate
from bbp_torch.hessian import HessianOperator
from bbp_torch.model import make_problem, resolve_device
from bbp_torch.observables import measure
from bbp_torch.results import versions
from bbp_torch.spectrum import bottom_eigenpairs


@dataclass
class StudyResult:
    record: dict  # the JSON-able run record (config, metrics, timings, versions, device)
    spectrum: np.ndarray | None  # every eigenvalue, when the solver computed them
    theory_density: dict | None = None  # {"lambda", "rho"}: the N = infinity bulk density


@contextmanager
def _timer(timings: dict, name: str, device: torch.device):
    start = time.perf_counter()
    yield
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    timings[name] = time.perf_counter() - start


def theory_predictions(c: Config) -> dict | None:
    """The N = infinity predictions for this config (None when the theory does not apply)."""
    try:
        from bbp_torch import theory
    except ImportError:  # pragma: no cover - theory module absent
        return None
    pr = c.problem
    pred = theory.predictions(pr.p, pr.p_star, pr.a, pr.alpha)
    if c.hessian.kind == "spherical":
        # At N = infinity the multipliers are all equal: the spectrum only shifts by -mu.
        mu = theory.lagrange_multiplier(pr.p, pr.p_star, pr.a, pr.alpha)
        pred["lagrange_multiplier"] = mu
        for key in ("lambda_edge", "lambda_outlier"):
            if pred.get(key) is not None:
                pred[key] -= mu
    return pred


def theory_density_curve(c: Config, lo: float, hi: float, points: int = 200) -> dict:
    """The N = infinity bulk density on ``points`` values of lambda in ``[lo, hi]``, half of them
    in the bottom tenth (where the edge and the outliers are).

    For the spherical Hessian the Euclidean density is shifted by the multiplier ``-mu``.
    """
    from bbp_torch import theory

    pr = c.problem
    shift = 0.0
    if c.hessian.kind == "spherical":
        shift = theory.lagrange_multiplier(pr.p, pr.p_star, pr.a, pr.alpha)
    lam = np.union1d(np.linspace(lo, hi, points // 2),
                     np.linspace(lo, lo + 0.1 * (hi - lo), points - points // 2))
    rho = theory.density(pr.p, pr.p_star, pr.a, pr.alpha, lam + shift)
    return {"lambda": lam.tolist(), "rho": rho.tolist()}


# what the record keeps of the iterative solver's report (not its per-step history)
_SOLVER_INFO_KEYS = ("converged", "tol", "relative_residuals", "n_products", "restarts",
                     "block_size", "basis_size", "mixed_precision", "phases", "warning")


def run_study(cfg) -> StudyResult:
    """Run the pipeline for ``cfg`` (a :class:`Config`, DictConfig or dict); validate first."""
    c = validate(cfg)
    if c.threads:
        torch.set_num_threads(c.threads)
    device = resolve_device(c.device)
    timings: dict[str, float] = {}
    pr = c.problem
    with _timer(timings, "problem", device):
        problem = make_problem(pr.N, pr.p, pr.p_star, pr.alpha, pr.a, seed=c.seed, device=device,
                               dtype=c.dtype, data_dtype=c.data_dtype)
        op = HessianOperator(problem, kind=c.hessian.kind, chunk_size=c.solver.chunk_size)
    with _timer(timings, "solve", device):
        pairs = bottom_eigenpairs(op, c.solver.k, solver=c.solver.name,
                                  full_spectrum=c.solver.full_spectrum, tol=c.solver.tol,
                                  max_iter=c.solver.max_iter, auto_max_dim=c.solver.auto_max_dim,
                                  progress=c.logging.progress, seed=c.seed,
                                  block_size=c.solver.block_size, basis_size=c.solver.basis_size,
                                  mixed_precision=c.solver.mixed_precision)
    timings.update({f"solve_{k}": v for k, v in pairs.info.get("timings", {}).items()})
    with _timer(timings, "observables", device):
        metrics = measure(pairs.values, pairs.vectors, problem.W, problem.W_star)
        metrics["residuals"] = [float(r) for r in pairs.residuals]
        metrics["solver_used"] = pairs.solver
        metrics["iterations"] = pairs.iterations
        metrics["M"] = problem.M
        if pairs.solver == "iterative":
            metrics["solver_info"] = {key: pairs.info[key] for key in _SOLVER_INFO_KEYS
                                      if key in pairs.info}
            if "warning" in pairs.info:
                print(f"bbp: warning: {pairs.info['warning']}", file=sys.stderr)
    if pairs.all_values is None and c.solver.slq_probes > 0:
        from bbp_torch.density import run_density

        # no full spectrum: the SLQ density instead; with mixed precision on float32 products
        # (a histogram does not need float64 products, and it halves the time)
        density_op = op.with_compute_dtype(torch.float32) if c.solver.mixed_precision else op
        with _timer(timings, "density", device):
            metrics["density"] = run_density(density_op, c.solver.slq_probes,
                                             c.solver.slq_steps, seed=c.seed,
                                             bins=c.logging.histogram_bins)
            metrics["density"]["compute_dtype"] = str(density_op.compute_dtype).removeprefix(
                "torch.")
    if c.theory:
        with _timer(timings, "theory", device):
            try:
                metrics["theory"] = theory_predictions(c)
            except Exception as err:  # the measurement must not be lost to a theory failure
                metrics["theory"] = {"error": f"{type(err).__name__}: {err}"}
    spectrum = None if pairs.all_values is None else pairs.all_values.double().cpu().numpy()
    curve = None
    if c.theory and c.logging.tensorboard and c.logging.figures and spectrum is not None:
        with _timer(timings, "theory_density", device):
            try:
                curve = theory_density_curve(c, float(spectrum[0]), float(spectrum[-1]))
            except Exception:  # a figure without its theory curve is still a figure
                curve = None
    record = {
        "status": "ok",
        "config": asdict(c),
        "metrics": metrics,
        "timings": timings,
        "versions": versions(),
        "device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
    }
    return StudyResult(record=record, spectrum=spectrum, theory_density=curve)
