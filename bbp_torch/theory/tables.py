"""The numbers that records and ``bbp-theory`` ask for, assembled from the other modules: one
run's predictions, alpha_BBP over widths, curves over alpha, a density curve."""

from __future__ import annotations

import math

import numpy as np

from bbp_torch.theory.arguments import check_args
from bbp_torch.theory.bulk import density, edge, edge_kind
from bbp_torch.theory.closed_forms import alpha_bbp_large_p, alpha_bbp_pole, critical_a
from bbp_torch.theory.transition import alpha_bbp, outlier, overlap, transition_type


def predictions(p, p_star, a, alpha) -> dict:
    """Theory numbers for one run, eigenvalues of H (finite p): lambda_edge, lambda_outlier
    (None below threshold), overlap, alpha_bbp, transition_type."""
    p, p_star, a, alpha = check_args(p, p_star, a, alpha)
    return {
        "lambda_edge": edge(p, p_star, a, alpha),
        "lambda_outlier": outlier(p, p_star, a, alpha),
        "overlap": overlap(p, p_star, a, alpha),
        "alpha_bbp": alpha_bbp(p, p_star, a),
        "transition_type": transition_type(p, p_star, a),
    }


def alpha_table(ps, p_star: float, a_values) -> list[dict]:
    """Rows {a, p, alpha_bbp, transition, alpha_pole, alpha_large_p} for every (a, p)."""
    return [{"a": a, "p": p, "alpha_bbp": alpha_bbp(p, p_star, a),
             "transition": transition_type(p, p_star, a),
             "alpha_pole": alpha_bbp_pole(p, p_star, a),
             "alpha_large_p": alpha_bbp_large_p(p, p_star, a)}
            for a in a_values for p in ps]


def threshold_summary(p: float, p_star: float, a: float) -> dict:
    """alpha_BBP of ``(p, p*, a)`` by every route: the root, its type, the pole formula, the
    large-p expansion, its p = inf limit, and the critical a (None for p = inf)."""
    return {
        "alpha_bbp": alpha_bbp(p, p_star, a),
        "transition_type": transition_type(p, p_star, a),
        "alpha_bbp_pole": alpha_bbp_pole(p, p_star, a),
        "alpha_bbp_large_p": alpha_bbp_large_p(p, p_star, a),
        "alpha_bbp_p_inf": alpha_bbp_large_p(math.inf, p_star, a),
        "critical_a": None if math.isinf(p) else critical_a(p, p_star),
    }


def theory_curves(p: float, p_star: float, a: float, alphas) -> list[dict]:
    """Edge, outlier, overlap (and kinds) at each alpha; eigenvalues of H and of pH (those of
    H None for p = inf)."""
    rows = []
    for alpha in alphas:
        e_r = edge(p, p_star, a, alpha, rescaled=True)
        o_r = outlier(p, p_star, a, alpha, rescaled=True)
        finite = not math.isinf(p)
        rows.append({
            "alpha": float(alpha),
            "lambda_edge": e_r / p if finite else None,
            "lambda_outlier": (o_r / p if finite else None) if o_r is not None else None,
            "overlap": overlap(p, p_star, a, alpha),
            "lambda_edge_rescaled": e_r,
            "lambda_outlier_rescaled": o_r,
            "edge_kind": edge_kind(p, p_star, a, alpha),
        })
    return rows


def density_curve(p: float, p_star: float, a: float, alpha: float, points: int = 400,
                  span: float = 12.0) -> tuple[np.ndarray, np.ndarray]:
    """(lambda, rho) from just below the edge over ``span`` (rescaled units), in H units
    (pH units for p = inf)."""
    rescaled = math.isinf(p)
    factor = 1.0 if rescaled else 1.0 / p
    e = edge(p, p_star, a, alpha, rescaled=True)
    lam = np.linspace(e - 0.05 * span, e + span, points) * factor
    return lam, density(p, p_star, a, alpha, lam, rescaled=rescaled)
