"""The figures' work besides their sweeps, as tasks for a process pool (one argument tuple
each, importable by a spawned worker): spectra of single draws and the theory's curves,
thresholds and estimator limits. A theory failure at one point loses that point, not the
figure."""

from __future__ import annotations

import math

import numpy as np


def spectrum_task(args: tuple) -> np.ndarray:
    """All eigenvalues of the dense Euclidean Hessian of one draw ``(N, p, p*, a, alpha, seed)``."""
    import torch

    from bbp_torch.model import make_problem
    from bbp_torch.operators.dense import dense_hessian

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
