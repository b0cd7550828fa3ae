"""Closed forms: the threshold at the pole (discontinuous case) and its criterion, the critical
a, the large-p expansion, and the Lagrange multiplier (conventions: the package docstring)."""

from __future__ import annotations

import math

from scipy.optimize import brentq
from scipy.special import hyperu

from bbp_torch.theory import quadrature
from bbp_torch.theory.arguments import check_args, unit
from bbp_torch.theory.quadrature import chi2_over_dof, nodes


def mean_inv_shifted(p: float, c: float) -> float:
    """E[1/(yh + c)], yh ~ chi2(p)/p, closed form: with r = p yh ~ Gamma(k = p/2, scale 2),
    E[1/(r + C)] = C^(k-1) 2^-k U(k, k, C/2), C = p c (Tricomi's U); p = inf gives 1/(1 + c)."""
    if math.isinf(p):
        return 1 / (1 + c)
    k, big_c = p / 2, p * c
    val = float(hyperu(k, k, big_c / 2))
    if not (math.isfinite(val) and val > 0):  # U under/overflows at very large p
        x, w = chi2_over_dof(p, quadrature.H_STEP / 4)
        return float(w @ (1 / (x + c)))
    return p * math.exp((k - 1) * math.log(big_c) - k * math.log(2)) * val


def alpha_bbp_pole(p, p_star, a) -> float:
    """Closed-form alpha_BBP for an edge at the pole g = -p/2 (the discontinuous case).

    At g = -1/2 (rescaled) the weights collapse to at/(1 + at/2) = 2(yh - y)/(yh + a) and
    bt/(1 + bt/2) = 2(3yh - y)/(3yh + a), linear in y; with E[y] = 1 and Var y = 2/p* the
    teacher equation -2 = alpha E[(y - 1) Phi_{-1/2}] gives

        alpha_pole = p* / (2 D),   D = (1/p) E[1/(3 yh + a)] + (1 - 1/p) E[1/(yh + a)],

    yh ~ chi2(p)/p (Tricomi U functions). p = inf: p*(a + 1)/2. It is the threshold exactly when
    ``transition_type`` is "discontinuous" (``pole_criterion``); in the continuous case the
    outlier reaches the square-root edge first and alpha_BBP > alpha_pole.
    """
    p, p_star, a, _ = check_args(p, p_star, a)
    return p_star / (2 * _pole_d(p, a))


def _pole_d(p: float, a: float) -> float:
    if math.isinf(p):
        return 1 / (1 + a)
    return mean_inv_shifted(p, a / 3) / (3 * p) + (1 - 1 / p) * mean_inv_shifted(p, a)


def pole_criterion(p, p_star, a) -> float:
    """alpha_pole * q(-1/2): the transition is discontinuous iff this is <= 1.

    q(-1/2) = E[(1/p)((3yh - 1)^2 + 2/p*)/(3yh + a)^2 + (1 - 1/p)((yh - 1)^2 + 2/p*)/(yh + a)^2]
    (exact in y). Since q(g) = g^2 E[Phi'_g] increases with |g| on (-1/2, 0) (checked in
    scripts/validate_theory.py), the edge at alpha_pole stays at the pole iff
    q(-1/2) <= 1/alpha_pole. p = inf: 1/(1 + a) < 1, always discontinuous.
    """
    p, p_star, a, _ = check_args(p, p_star, a)
    if math.isinf(p):
        q_pole = 2 / (p_star * (1 + a) ** 2)
    else:
        yh, w = chi2_over_dof(p)
        v = 2 / p_star
        f = (1 / p) * ((3 * yh - 1) ** 2 + v) / (3 * yh + a) ** 2
        f = f + (1 - 1 / p) * ((yh - 1) ** 2 + v) / (yh + a) ** 2
        q_pole = float(w @ f)
    return alpha_bbp_pole(p, p_star, a) * q_pole


def critical_a(p, p_star) -> float:
    """The a at which the transition changes type (pole_criterion = 1); continuous below it.

    None when it does not change over a in [1e-3, 1e3] (e.g. p = inf: always discontinuous).
    """
    p, p_star, _, _ = check_args(p, p_star, 1.0)

    def f(log_a):
        return pole_criterion(p, p_star, math.exp(log_a)) - 1

    lo, hi = math.log(1e-3), math.log(1e3)
    if f(lo) * f(hi) > 0:
        return None
    return math.exp(brentq(f, lo, hi, xtol=1e-12))


def large_p_coefficients(a) -> tuple[float, float]:
    """c1, c2 of alpha_pole / (p*(1+a)/2) = 1 + c1/p + c2/p^2 + O(p^-3) (independent of p*).

    From the moments of yh = chi2(p)/p (variance 2/p, third central moment 8/p^2, fourth
    12/p^2 + O(p^-3)): D = 1/b + d1/p + d2/p^2 with b = 1 + a,
        d1 = 1/(3 + a) - 1/b + 2/b^3,  d2 = 18/(3 + a)^3 - 2/b^3 - 8/b^4 + 12/b^5,
    and alpha/limit = 1/(b D):  c1 = -b d1 = -2 (1 - a)(2 + a) / ((1 + a)^2 (3 + a)),
    c2 = (b d1)^2 - b d2.  So for a < 1 alpha_BBP approaches p*(1+a)/2 from below.
    """
    a = check_args(1, 1, a)[2]
    b = 1 + a
    d1 = 1 / (3 + a) - 1 / b + 2 / b**3
    d2 = 18 / (3 + a) ** 3 - 2 / b**3 - 8 / b**4 + 12 / b**5
    return -b * d1, (b * d1) ** 2 - b * d2


def alpha_bbp_large_p(p, p_star, a, order: int = 2) -> float:
    """Large-p expansion p*(1+a)/2 [1 + c1/p + c2/p^2] of alpha_BBP (``large_p_coefficients``).

    Valid where the transition is discontinuous (all p above a small a-dependent value);
    ``order`` (0, 1 or 2) is the number of correction terms kept.
    """
    p, p_star, a, _ = check_args(p, p_star, a)
    limit = p_star * (1 + a) / 2
    if math.isinf(p):
        return limit
    c1, c2 = large_p_coefficients(a)
    return limit * (1 + (c1 / p if order >= 1 else 0) + (c2 / p**2 if order >= 2 else 0))


def lagrange_multiplier(p, p_star, a, alpha, rescaled=False) -> float:
    """N = infinity value of mu_k = w_k . grad_k L / N, the same for every unit k.

    mu = (1/N) sum_mu beta h_k^2 -> alpha E[beta yh] = (2 alpha/p) E[yh (yh - y)/(a + y)]
    (H units; rescaled: alpha E[yh at]). The Riemannian Hessian's spectrum is that of H shifted
    by -mu at N = infinity (its p radial directions are removed, an O(1/N) change).
    """
    p, p_star, a, alpha = check_args(p, p_star, a, alpha)
    factor = unit(p, rescaled)
    n = nodes(p, p_star, a)
    return alpha * float(n.mean(n.yh * n.at)) * factor
