"""The student's own directions: the three student channels (trace, symmetric, antisymmetric),
their would-be outliers, and the channel resolvents below the bulk (conventions: the package
docstring)."""

from __future__ import annotations

import math

import numpy as np

from bbp_torch.theory.arguments import check_args, unit
from bbp_torch.theory.branch import Branch, branch
from bbp_torch.theory.quadrature import Nodes

STUDENT_CHANNELS = ("trace", "symmetric", "antisymmetric")
CHANNELS = ("bulk", "teacher") + STUDENT_CHANNELS


def channel_x(quad: Nodes, kind: str, g, deriv: bool = False):
    """Per-node X_g of a student channel (dX/dg if ``deriv``), rescaled units.

    On R^p (x) span(w_k) the Schur complement is alpha E[Psi (x) h h^T], Psi = A (I - uu^T) +
    B uu^T, A = at/(1 - g at), B = bt/(1 - g bt), h h^T = p yh uu^T. For a direction
    sum_kl M_kl e_k (x) w_l/sqrt(N) (|M|_F = 1) the form is E[(Mh)^T Psi (Mh)]; with
    E[u_i u_j u_k u_l] = (d_ij d_kl + d_ik d_jl + d_il d_jk)/(p(p+2)) it is diagonal in
        trace (M = I/sqrt(p)):          yh X, X = B
        symmetric traceless:            yh X, X = A + 2 (B - A)/(p + 2)
        antisymmetric (W -> O W):       yh X, X = A
    """
    power = 2 if deriv else 1
    a_, b_ = quad.fa(g, power), quad.fb(g, power)
    if kind == "trace":
        return b_
    if kind == "antisymmetric":
        return a_
    if kind == "symmetric":
        return a_ + 2 * (b_ - a_) / (quad.p + 2)
    raise ValueError(f"kind must be one of {STUDENT_CHANNELS}, got {kind!r}")


def student_channel_alpha(p, p_star, a, kind, g):
    """alpha_s(g) = 1/(g E[yh X_g - Phi_g]): the alpha at which channel ``kind`` would have its
    outlier at bulk parameter g (rescaled, in (-1/2, 0)); vectorized over g.

    The channel equation is lt = alpha E[yh X_g] <=> 1/g = alpha E[yh X_g - Phi_g]. A negative
    value means E[yh X_g - Phi_g] > 0: no root at that g for any alpha > 0. Finite p only.
    """
    p, p_star, a, _ = check_args(p, p_star, a)
    if math.isinf(p):
        raise ValueError("p must be finite: no student channel survives p = inf")
    quad = branch(p, p_star, a).nodes
    g = np.asarray(g, dtype=float)
    return 1 / (g * quad.mean(quad.yh * channel_x(quad, kind, g) - quad.phi(g)))


def student_outliers(p, p_star, a, alpha, rescaled=False) -> dict:
    """Outliers below the bulk along the student's own directions, per channel.

    {"trace", "symmetric", "antisymmetric"} -> None or {"lambda": eigenvalue, "overlap": m_s}
    (m_s^2 = 1/F_s', F_s = lt - alpha E[yh X_g(lt)]: the overlap with the student subspace).
    Degeneracies 1, p(p+1)/2 - 1, p(p-1)/2; p = 1 has only "trace", p = inf none. A channel has
    an outlier iff alpha_s(g) = alpha has a root on the physical branch (g_edge, 0). For every
    (p, p*, a) scanned (scripts/validate_theory.py) E[yh X_g - Phi_g] > 0 on (-1/2, 0): all None,
    no student-direction outlier at N = infinity. (None above the bulk either: the weights are
    unbounded above, so there is no real g branch right of the bulk.)
    """
    p, p_star, a, alpha = check_args(p, p_star, a, alpha)
    factor = unit(p, rescaled)
    out = {k: None for k in STUDENT_CHANNELS}
    if math.isinf(p):
        return out
    br: Branch = branch(p, p_star, a)
    g_edge = br.edge_g(alpha)
    for kind in ["trace"] if p == 1 else STUDENT_CHANNELS:

        def alpha_s(g, kind=kind):
            val = float(student_channel_alpha(p, p_star, a, kind, g))
            return val if val > 0 else math.inf

        grid = student_channel_alpha(p, p_star, a, kind, br.g_grid)
        grid = np.where(grid > 0, grid, np.inf)
        g = br.root_on_branch(grid, alpha_s, alpha, g_edge)
        if g is not None:
            m2 = br.overlap_sq(g, alpha, br.nodes.yh, channel_x(br.nodes, kind, g, deriv=True))
            out[kind] = {"lambda": float(br.lam(g, alpha)) * factor, "overlap": math.sqrt(m2)}
    return out


def channel_resolvent(p, p_star, a, alpha, z, channel="bulk", rescaled=False) -> float:
    """Mean of v^T (z - H)^-1 v over unit v in a channel, for real z below the bulk edge.

    From the Schur complement on the special directions, with g = g(z) real (rescaled units):
        "bulk" (a generic direction):                g
        "teacher" (R^p (x) span w*_l):               1/(z - alpha E[y Phi_g])
        "trace", "symmetric", "antisymmetric":       1/(z - alpha E[yh X_g])  (``channel_x``)
    A pole below the edge is an outlier of that channel. Measurable at finite N away from any
    eigenvalue, outlier or not: a direct test of the derivation. ``rescaled``: pH at z.
    """
    p, p_star, a, alpha = check_args(p, p_star, a, alpha)
    factor = unit(p, rescaled)
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {CHANNELS}, got {channel!r}")
    if channel in STUDENT_CHANNELS and (math.isinf(p) or (p == 1 and channel != "trace")):
        raise ValueError(f"channel {channel!r} does not exist for p = {p}")
    br = branch(p, p_star, a)
    quad = br.nodes
    lt = float(z) / factor
    g = br.real_g(alpha, lt)
    if channel == "bulk":
        val = g
    elif channel == "teacher":
        val = 1 / (lt - alpha * float(quad.mean(quad.y * quad.phi(g))))
    else:
        val = 1 / (lt - alpha * float(quad.mean(quad.yh * channel_x(quad, channel, g))))
    return val / factor
