"""The teacher outlier and the BBP threshold: ``alpha_bbp``, ``transition_type``,
``threshold``, ``outlier``, ``overlap`` (conventions: the package docstring)."""

from __future__ import annotations

import math
from functools import lru_cache

from scipy.optimize import brentq

from bbp_torch.theory.arguments import check_args, unit
from bbp_torch.theory.branch import branch
from bbp_torch.theory.quadrature import G_POLE


@lru_cache(maxsize=1024)
def alpha_bbp_and_gedge(p: float, p_star: float, a: float) -> tuple[float, float]:
    """Root of D(alpha) = alpha_t(g_edge(alpha)) - alpha; returns (alpha_BBP, g_edge there).

    D > 0 below the threshold (the teacher root lies beyond the edge) and D < 0 above.
    """
    br = branch(p, p_star, a)

    def d(alpha):
        return float(br.alpha_teacher(br.edge_g(alpha))) - alpha

    lo, hi = 0.05 * p_star, p_star * (1 + a)
    while d(hi) > 0:
        hi *= 2
        if hi > 1e9:
            raise RuntimeError("alpha_BBP: no bracket found")
    while d(lo) < 0:
        lo /= 2
        if lo < 1e-12:
            raise RuntimeError("alpha_BBP: no bracket found")
    alpha = brentq(d, lo, hi, xtol=1e-14, rtol=1e-13)
    return alpha, br.edge_g(alpha)


def alpha_bbp(p, p_star, a) -> float:
    """BBP threshold at N = infinity: the smallest alpha with a teacher outlier below the bulk.

    Brent's method on alpha_t(g_edge(alpha)) = alpha, with g_edge(alpha) the edge of the
    physical branch (square-root point or the pole g = -1/2, rescaled units) and
    alpha_t(g) = 1/(g E[(y - 1) Phi_g]) the teacher equation solved for alpha. Accepts p = inf;
    in the discontinuous case it equals ``alpha_bbp_pole`` (checked in the tests).
    """
    p, p_star, a, _ = check_args(p, p_star, a)
    return alpha_bbp_and_gedge(p, p_star, a)[0]


def transition_type(p, p_star, a) -> str:
    """"continuous" when the edge at alpha_BBP is a square-root edge (g_edge > -p/2): the
    outlier leaves the bulk with zero overlap; else "discontinuous" (edge at the pole g = -p/2,
    a smooth edge, the overlap jumps). Accepts p = inf (always "discontinuous")."""
    p, p_star, a, _ = check_args(p, p_star, a)
    _, g_edge = alpha_bbp_and_gedge(p, p_star, a)
    return "continuous" if g_edge > G_POLE else "discontinuous"


def threshold(p, p_star, a) -> dict:
    """``{"alpha_bbp", "transition_type"}``, or ``{"alpha_bbp": None, "error": "<type>: <msg>"}``
    when the theory fails for ``(p, p*, a)``: the form in which records and figures ask for the
    threshold, so that a failure of the theory never loses a run or a figure."""
    try:
        return {"alpha_bbp": float(alpha_bbp(p, p_star, a)),
                "transition_type": transition_type(p, p_star, a)}
    except Exception as err:  # the theory does not cover this case: say so, keep the caller
        return {"alpha_bbp": None, "error": f"{type(err).__name__}: {err}"}


@lru_cache(maxsize=1024)
def teacher(p: float, p_star: float, a: float, alpha: float):
    """(lt*, m^2) of the teacher outlier, rescaled units; None for alpha <= alpha_BBP.

    Cached: ``outlier`` and ``overlap`` share one solve. Callers pass the floats of
    :func:`~bbp_torch.theory.arguments.check_args`.
    """
    if alpha <= alpha_bbp_and_gedge(p, p_star, a)[0]:
        return None
    br = branch(p, p_star, a)
    g = br.root_on_branch(br.alpha_t_grid, br.alpha_teacher, alpha, br.edge_g(alpha))
    if g is None:
        return None
    return float(br.lam(g, alpha)), br.overlap_sq(g, alpha, br.nodes.y, br.nodes.dphi(g))


def outlier(p, p_star, a, alpha, rescaled=False):
    """Teacher outlier lambda* < lambda_- (p p*-fold degenerate); None for alpha <= alpha_BBP.

    The root of 1/g = alpha E[(y - 1) Phi_g] on the physical branch (g_edge, 0), mapped through
    lt(g) = 1/g + alpha E[Phi_g]; divided by p unless ``rescaled`` (required for p = inf).
    """
    p, p_star, a, alpha = check_args(p, p_star, a, alpha)
    factor = unit(p, rescaled)
    res = teacher(p, p_star, a, alpha)
    return None if res is None else res[0] * factor


def overlap(p, p_star, a, alpha) -> float:
    """Frobenius overlap m in [0, 1] of a unit outlier eigenvector with the teacher subspace.

    m = sqrt(1/F'(lt*)), F(lt) = lt - alpha E[y Phi_g(lt)]; 0 for alpha <= alpha_BBP. At a
    continuous transition m -> 0 as alpha -> alpha_BBP+ (lt'(g) -> 0 makes F' blow up); at a
    discontinuous one it jumps to a finite value. Accepts p = inf.
    """
    p, p_star, a, alpha = check_args(p, p_star, a, alpha)
    res = teacher(p, p_star, a, alpha)
    return 0.0 if res is None else math.sqrt(res[1])
