"""N = infinity theory of the Hessian spectrum at initialization (numpy/scipy only).

Conventions (docs/model.md, sections 1, 2, 5; derivation in docs/theory.md)
-----------------------------------------------------------------------
``H`` is the ``pN x pN`` Hessian of the loss, ``H = (1/N) sum_mu C^mu (x) x x^T`` with
``C = beta I_p + gamma u u^T``. All computations use the *rescaled* units of ``pH``
(eigenvalue ``lt = p lambda``, Stieltjes transform ``g(z) = (1/pN) Tr (z - pH)^-1 ~ 1/z``), where
``p -> inf`` is a regular limit. Public functions return eigenvalues of ``H`` unless
``rescaled=True`` (required for ``p = inf``). With ``yh = |h|^2/p ~ chi2(p)/p`` (the student's
output) and ``y ~ chi2(p*)/p*`` (the label), independent at N = infinity, ``pC`` has eigenvalues

    at = p beta           = 2 (yh - y) / (a + y)     on the p - 1 directions orthogonal to u
    bt = p (beta + gamma) = 2 (3 yh - y) / (a + y)   along u = h/|h|

Both exceed -2, approached only as ``y -> inf`` (``beta > -2/p``: ``yhat >= 0``), so ``g = -1/2``
(``-p/2`` for H) is the pole of every integrand below. ``p = inf``: ``yh = 1``, only ``at`` is left.

Equations solved
----------------
    bulk      g = 1/(z - alpha E[Phi_g]),  Phi_g = (1/p) bt/(1 - g bt) + (1 - 1/p) at/(1 - g at)
    real axis lt(g) = 1/g + alpha E[Phi_g] on the physical branch g in (g_edge, 0), the branch
              continuous with g ~ 1/z at z -> -inf; there lt'(g) < 0 (g'(z) < 0 left of the
              spectrum) and 1 - g c > 0 for every weight c > -2.
    edge      the first zero of lt'(g) = -1/g^2 + alpha E[Phi'_g] below g = 0, i.e. of
              q(g) = g^2 E[Phi'_g] = 1/alpha (a square-root edge); if none, g_edge = -1/2 (a
              smooth edge set by the exponential tail of y). Which one depends on alpha; the
              transition is continuous iff the edge is a square-root one at alpha_BBP.
    teacher   1/g = alpha E[(y - 1) Phi_g]   <=>   alpha = alpha_t(g) = 1/(g E[(y - 1) Phi_g]);
              an outlier lt* = lt(g*) exists iff the root g* lies on (g_edge, 0); it is p p*-fold
              degenerate; its eigenvectors have squared teacher overlap m^2 = 1/F'(lt*),
              F(lt) = lt - alpha E[y Phi_g(lt)],  F' = 1 - alpha E[y Phi'_g] / lt'(g).
    alpha_BBP the root of alpha_t(g_edge(alpha)) = alpha.
    students  three channels, 1/g = alpha E[yh X_g - Phi_g] (``student_outliers``): no root on the
              physical branch anywhere we looked, i.e. no student-direction outlier.

Integrals
---------
Real g in [-1/2, 0): expectations over ``(r, y)`` are a tensor product of double-exponential
(exp-sinh) rules in ``r = p yh ~ chi2(p)`` and ``p* y ~ chi2(p*)``, built once per ``(p, p*)``
and cached: about 75 x 75 nodes, relative error ~1e-10, including p = 1 (x^-1/2 endpoint) and
small ``a`` (pole of 1/(a + y) just left of y = 0), where Gauss-Laguerre converges slowly.
Complex g (the bulk density): the integral over ``y`` is done in closed form (Stieltjes
transform of the Gamma law: erfcx / E1 and a recursion in p*/2), only ``yh`` by quadrature; a
fixed rule in ``y`` cannot resolve the integrand's pole when it comes close to the real axis
(near lambda = 0, in the tails). Nothing is Monte Carlo.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy.optimize import brentq
from scipy.special import erfcx, exp1, gammaln, hyperu

__all__ = [
    "CHANNELS",
    "STUDENT_CHANNELS",
    "alpha_bbp",
    "alpha_bbp_large_p",
    "alpha_bbp_pole",
    "channel_resolvent",
    "critical_a",
    "density",
    "edge",
    "edge_kind",
    "lagrange_multiplier",
    "large_p_coefficients",
    "outlier",
    "overlap",
    "pole_criterion",
    "predictions",
    "stieltjes",
    "student_channel_alpha",
    "student_outliers",
    "transition_type",
]

G_POLE = -0.5  # pole of the integrands in rescaled units (g = -p/2 for H)
H_STEP = 0.08  # double-exponential step: ~75 nodes per variable, ~1e-10 relative accuracy
ETA = 1e-10  # imaginary part given to real z in the complex plane (rescaled units)
MAX_EXACT_P_STAR = 12  # closed-form y-integral for integer p* up to this (else 2D quadrature)
_SERIES = 41  # terms of the large-|z| series of the Gamma Stieltjes transform
_GRID = 400  # grid on [-1/2, 0) that brackets the edge and the outlier roots

STUDENT_CHANNELS = ("trace", "symmetric", "antisymmetric")
CHANNELS = ("bulk", "teacher") + STUDENT_CHANNELS


# ----------------------------------------------------------------------------- arguments


def _number(name, value, kind):
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be {kind}, got {value!r}") from None


def _check(p, p_star, a, alpha=None):
    """Validate and convert to floats; a ValueError names the offending argument."""
    p = _number("p", p, "a number >= 1 or math.inf")
    if math.isnan(p) or p < 1:
        raise ValueError(f"p must be a number >= 1 or math.inf, got {p!r}")
    p_star = _number("p_star", p_star, "a finite number >= 1")
    if not (math.isfinite(p_star) and p_star >= 1):
        raise ValueError(f"p_star must be a finite number >= 1, got {p_star!r}")
    a = _number("a", a, "a finite number > 0")
    if not (math.isfinite(a) and a > 0):
        raise ValueError(f"a must be a finite number > 0, got {a!r}")
    if alpha is not None:
        alpha = _number("alpha", alpha, "a finite number > 0")
        if not (math.isfinite(alpha) and alpha > 0):
            raise ValueError(f"alpha must be a finite number > 0, got {alpha!r}")
    return p, p_star, a, alpha


def _unit(p, rescaled):
    """Factor from a rescaled eigenvalue (of pH) to the requested unit (H, or pH)."""
    if rescaled:
        return 1.0
    if math.isinf(p):
        raise ValueError("rescaled must be True for p = inf (the eigenvalues of H vanish as 1/p)")
    return 1.0 / p


# ----------------------------------------------------------------------------- quadrature


@lru_cache(maxsize=64)
def _gamma_rule(k: float, h: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights with sum_i w_i f(x_i) ~ E f(X), X ~ Gamma(shape k, scale 1).

    Double-exponential rule: x = k exp((pi/2) sinh t), trapezoid in t with step
    h / sqrt(max(k, 4)/4) (the log-width of the law shrinks like 1/sqrt(k)); nodes of negligible
    weight dropped, weights renormalised. It converges geometrically in 1/h even with the
    x^(k-1) endpoint singularity and with poles just left of x = 0.
    """
    step = h / math.sqrt(max(k, 4.0) / 4.0)
    t = np.arange(-6.0, 6.0 + step / 2, step)
    x = k * np.exp(0.5 * math.pi * np.sinh(t))
    dx = x * 0.5 * math.pi * np.cosh(t)
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        w = step * dx * np.exp((k - 1) * np.log(x) - x - gammaln(k))
    ok = np.isfinite(w) & (x > 0)
    ok &= w > 1e-18 * w[ok].max()
    return x[ok], w[ok] / w[ok].sum()


def _chi2_over_dof(dof: float, h: float = H_STEP) -> tuple[np.ndarray, np.ndarray]:
    """Rule for chi2(dof)/dof = Gamma(dof/2, scale 2/dof)."""
    x, w = _gamma_rule(dof / 2, h)
    return 2 * x / dof, w


class _Theory:
    """Quadrature nodes and the alpha-independent curves in g for one (p, p*, a)."""

    def __init__(self, p: float, p_star: float, a: float, h: float = H_STEP):
        self.p, self.p_star, self.a = p, p_star, a
        y1, wy = _chi2_over_dof(p_star, h)
        if math.isinf(p):
            self.yh1, self.wyh1 = np.ones(1), np.ones(1)
            self.wb = 0.0  # the u direction carries weight 1/p
        else:
            self.yh1, self.wyh1 = _chi2_over_dof(p, h)
            self.wb = 1.0 / p
        self.wa = 1.0 - self.wb
        n1, ny = len(self.yh1), len(y1)
        self.yh = np.repeat(self.yh1, ny)
        self.y = np.tile(y1, n1)
        self.w = np.repeat(self.wyh1, ny) * np.tile(wy, n1)
        self.at = 2 * (self.yh - self.y) / (a + self.y)
        self.bt = 2 * (3 * self.yh - self.y) / (a + self.y)
        # Gamma law of y for the closed-form y-integral in the complex plane
        self.k, self.theta = p_star / 2, 2 / p_star
        self.exact_y = float(p_star).is_integer() and p_star <= MAX_EXACT_P_STAR
        self.poch = np.cumprod(np.concatenate([[1.0], self.k + np.arange(_SERIES)]))
        # curves on a grid of g in [-1/2, 0), denser near 0
        s = (np.arange(1, _GRID + 1) / _GRID) ** 2
        self.g_grid = G_POLE * s[::-1]
        self.q_grid = self.q(self.g_grid)
        self.alpha_t_grid = self.alpha_teacher(self.g_grid)

    # --- integrands, last axis = quadrature node ---
    def _fa(self, g, power=1):
        g = np.asarray(g)[..., None]
        return (self.at / (1 - g * self.at)) ** power

    def _fb(self, g, power=1):
        g = np.asarray(g)[..., None]
        return (self.bt / (1 - g * self.bt)) ** power

    def phi(self, g):
        """Phi_g per node (vectorized over g)."""
        if self.wb == 0:
            return self._fa(g)
        return self.wb * self._fb(g) + self.wa * self._fa(g)

    def dphi(self, g):
        """d Phi_g / dg = (1/p) B^2 + (1 - 1/p) A^2 per node, A = at/(1 - g at), B likewise."""
        if self.wb == 0:
            return self._fa(g, 2)
        return self.wb * self._fb(g, 2) + self.wa * self._fa(g, 2)

    def mean(self, f):
        return f @ self.w

    # --- real axis ---
    def lam(self, g, alpha):
        """lt(g) = 1/g + alpha E[Phi_g]."""
        return 1 / np.asarray(g) + alpha * self.mean(self.phi(g))

    def dlam(self, g, alpha):
        return -1 / np.asarray(g) ** 2 + alpha * self.mean(self.dphi(g))

    def q(self, g):
        """q(g) = g^2 E[Phi'_g]; lt'(g) = 0 <=> q(g) = 1/alpha."""
        return np.asarray(g) ** 2 * self.mean(self.dphi(g))

    def alpha_teacher(self, g):
        """alpha_t(g) = 1/(g E[(y - 1) Phi_g]): the alpha whose teacher root is at g."""
        return 1 / (np.asarray(g) * self.mean((self.y - 1) * self.phi(g)))

    def edge_g(self, alpha):
        """g_edge: the root of q(g) = 1/alpha closest to 0 (first met from 0), else -1/2."""
        above = self.q_grid >= 1 / alpha
        if not above.any():
            return G_POLE
        j = np.nonzero(above)[0][-1]  # the grid ascends in g
        hi = self.g_grid[j + 1] if j + 1 < len(self.g_grid) else -1e-300  # q(0-) = 0
        return brentq(lambda g: self.q(g) - 1 / alpha, self.g_grid[j], hi,
                      xtol=1e-15, rtol=1e-13)

    def root_on_branch(self, grid_vals, func, alpha, g_edge):
        """Root of func(g) = alpha on (g_edge, 0) nearest the edge (lowest eigenvalue), or None.

        ``func`` is a channel's alpha(g) (+inf where the channel has no root), ``grid_vals`` its
        values on ``g_grid``; an outlier channel has func -> +inf as g -> 0-.
        """
        inside = self.g_grid > g_edge
        gs = np.concatenate([[g_edge], self.g_grid[inside], [-1e-12]])
        vals = np.concatenate([[func(g_edge)], grid_vals[inside], [func(-1e-12)]]) - alpha
        up = np.nonzero((vals[:-1] <= 0) & (vals[1:] > 0))[0]
        if len(up) == 0:
            return None
        lo, hi = gs[up[0]], gs[up[0] + 1]
        if vals[up[0]] == 0:
            return lo
        return brentq(lambda g: func(g) - alpha, lo, hi, xtol=1e-15, rtol=1e-13)

    def overlap_sq(self, g, alpha, weight, dx):
        """m^2 = 1/F'(lt), F = lt - alpha E[weight X_g(lt)], F' = 1 - alpha E[weight X'_g]/lt'(g).

        The squared norm of the projection of the outlier eigenvector on the channel's subspace
        (Schur complement: |v_S|^2/|v|^2 = 1/F'). lt'(g) < 0 on the branch, so 0 < m^2 < 1.
        """
        return float(1 / (1 - alpha * self.mean(weight * dx) / self.dlam(g, alpha)))

    # --- complex plane: y-integral in closed form ---
    def _gamma_stieltjes(self, z):
        """F(z) = E[1/(X + z)], X ~ Gamma(k, 1), k = p*/2, for z off the cut (-inf, 0].

        k = 1/2: sqrt(pi/z) erfcx(sqrt z); k = 1: e^z E1(z); then F_{k+1} = (1 - z F_k)/k.
        Principal branches: their cuts coincide with that of F.
        """
        if float(self.k).is_integer():
            f, kk = np.exp(z) * exp1(z), 1.0
        else:
            root = np.sqrt(z)
            f, kk = math.sqrt(math.pi) / root * erfcx(root), 0.5
        while kk < self.k - 1e-9:
            f = (1 - z * f) / kk
            kk += 1
        return f

    def _mean_over_y(self, g, u):
        """E_y[2(u - y)/(a + y - 2g(u - y))] at complex g, array u (u = yh: A; u = 3 yh: B).

        With c1 = 1 + 2g, s = (a - 2 g u)/c1, z = s/theta:  E = (2/c1) T, where
        T = E[(u - y)/(y + s)] = (u/theta + z) F(z) - 1, or for |z| > 60 the asymptotic series
        T = sum_n (-1)^n ((k)_n u/theta - (k)_{n+1}) / z^(n+1), which avoids the cancellation.
        """
        c1 = 1 + 2 * g
        c0 = self.a - 2 * g * u
        if abs(c1) < 1e-13:
            return 2 * (u - 1) / c0
        z = c0 / c1 / self.theta
        v = u / self.theta
        big = np.abs(z) > 60
        t = np.empty(z.shape, dtype=complex)
        if (~big).any():
            t[~big] = (v[~big] + z[~big]) * self._gamma_stieltjes(z[~big]) - 1
        if big.any():
            zb, vb = z[big], v[big]
            n = np.arange(_SERIES - 1)
            powers = np.cumprod(np.broadcast_to(-1 / zb[:, None], (len(zb), len(n))), axis=1)
            t[big] = (-(self.poch[n] * vb[:, None] - self.poch[n + 1]) * powers).sum(axis=1)
        return 2 / c1 * t

    def phi_mean_complex(self, g):
        """E[Phi_g] at one complex g: exact in y, quadrature in yh."""
        g = complex(g)
        val = self.wa * self._mean_over_y(g, self.yh1)
        if self.wb:
            val = val + self.wb * self._mean_over_y(g, 3 * self.yh1)
        return complex(val @ self.wyh1)


@lru_cache(maxsize=128)
def _theory(p: float, p_star: float, a: float) -> _Theory:
    return _Theory(p, p_star, a, H_STEP)


# ----------------------------------------------------------------------------- threshold


@lru_cache(maxsize=1024)
def _alpha_bbp_and_gedge(p: float, p_star: float, a: float) -> tuple[float, float]:
    """Root of D(alpha) = alpha_t(g_edge(alpha)) - alpha; returns (alpha_BBP, g_edge there).

    D > 0 below the threshold (the teacher root lies beyond the edge) and D < 0 above.
    """
    th = _theory(p, p_star, a)

    def d(alpha):
        return float(th.alpha_teacher(th.edge_g(alpha))) - alpha

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
    return alpha, th.edge_g(alpha)


def alpha_bbp(p, p_star, a) -> float:
    """BBP threshold at N = infinity: the smallest alpha with a teacher outlier below the bulk.

    Brent's method on alpha_t(g_edge(alpha)) = alpha, with g_edge(alpha) the edge of the
    physical branch (square-root point or the pole g = -1/2, rescaled units) and
    alpha_t(g) = 1/(g E[(y - 1) Phi_g]) the teacher equation solved for alpha. Accepts p = inf;
    in the discontinuous case it equals ``alpha_bbp_pole`` (checked in the tests).
    """
    p, p_star, a, _ = _check(p, p_star, a)
    return _alpha_bbp_and_gedge(p, p_star, a)[0]


def transition_type(p, p_star, a) -> str:
    """"continuous" when the edge at alpha_BBP is a square-root edge (g_edge > -p/2): the
    outlier leaves the bulk with zero overlap; else "discontinuous" (edge at the pole g = -p/2,
    a smooth edge, the overlap jumps). Accepts p = inf (always "discontinuous")."""
    p, p_star, a, _ = _check(p, p_star, a)
    _, g_edge = _alpha_bbp_and_gedge(p, p_star, a)
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


def _mean_inv_shifted(p: float, c: float) -> float:
    """E[1/(yh + c)], yh ~ chi2(p)/p, closed form: with r = p yh ~ Gamma(k = p/2, scale 2),
    E[1/(r + C)] = C^(k-1) 2^-k U(k, k, C/2), C = p c (Tricomi's U); p = inf gives 1/(1 + c)."""
    if math.isinf(p):
        return 1 / (1 + c)
    k, big_c = p / 2, p * c
    val = float(hyperu(k, k, big_c / 2))
    if not (math.isfinite(val) and val > 0):  # U under/overflows at very large p
        x, w = _chi2_over_dof(p, H_STEP / 4)
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
    p, p_star, a, _ = _check(p, p_star, a)
    return p_star / (2 * _pole_d(p, a))


def _pole_d(p: float, a: float) -> float:
    if math.isinf(p):
        return 1 / (1 + a)
    return _mean_inv_shifted(p, a / 3) / (3 * p) + (1 - 1 / p) * _mean_inv_shifted(p, a)


def pole_criterion(p, p_star, a) -> float:
    """alpha_pole * q(-1/2): the transition is discontinuous iff this is <= 1.

    q(-1/2) = E[(1/p)((3yh - 1)^2 + 2/p*)/(3yh + a)^2 + (1 - 1/p)((yh - 1)^2 + 2/p*)/(yh + a)^2]
    (exact in y). Since q(g) = g^2 E[Phi'_g] increases with |g| on (-1/2, 0) (checked in
    scripts/validate_theory.py), the edge at alpha_pole stays at the pole iff
    q(-1/2) <= 1/alpha_pole. p = inf: 1/(1 + a) < 1, always discontinuous.
    """
    p, p_star, a, _ = _check(p, p_star, a)
    if math.isinf(p):
        q_pole = 2 / (p_star * (1 + a) ** 2)
    else:
        yh, w = _chi2_over_dof(p)
        v = 2 / p_star
        f = (1 / p) * ((3 * yh - 1) ** 2 + v) / (3 * yh + a) ** 2
        f = f + (1 - 1 / p) * ((yh - 1) ** 2 + v) / (yh + a) ** 2
        q_pole = float(w @ f)
    return alpha_bbp_pole(p, p_star, a) * q_pole


def critical_a(p, p_star) -> float:
    """The a at which the transition changes type (pole_criterion = 1); continuous below it.

    None when it does not change over a in [1e-3, 1e3] (e.g. p = inf: always discontinuous).
    """
    p, p_star, _, _ = _check(p, p_star, 1.0)

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
    a = _check(1, 1, a)[2]
    b = 1 + a
    d1 = 1 / (3 + a) - 1 / b + 2 / b**3
    d2 = 18 / (3 + a) ** 3 - 2 / b**3 - 8 / b**4 + 12 / b**5
    return -b * d1, (b * d1) ** 2 - b * d2


def alpha_bbp_large_p(p, p_star, a, order: int = 2) -> float:
    """Large-p expansion p*(1+a)/2 [1 + c1/p + c2/p^2] of alpha_BBP (``large_p_coefficients``).

    Valid where the transition is discontinuous (all p above a small a-dependent value);
    ``order`` (0, 1 or 2) is the number of correction terms kept.
    """
    p, p_star, a, _ = _check(p, p_star, a)
    limit = p_star * (1 + a) / 2
    if math.isinf(p):
        return limit
    c1, c2 = large_p_coefficients(a)
    return limit * (1 + (c1 / p if order >= 1 else 0) + (c2 / p**2 if order >= 2 else 0))


# ----------------------------------------------------------------------------- edge, outlier


def edge(p, p_star, a, alpha, rescaled=False) -> float:
    """Left edge lambda_- of the bulk: lt(g_edge)/p with lt(g) = 1/g + alpha E[Phi_g].

    Square-root edge where lt'(g) = 0, or lt(-1/2) in the discontinuous case (for p = inf
    that is exactly -2, rescaled). ``rescaled=True``: the edge of pH (required for p = inf).
    """
    p, p_star, a, alpha = _check(p, p_star, a, alpha)
    unit = _unit(p, rescaled)
    th = _theory(p, p_star, a)
    return float(th.lam(th.edge_g(alpha), alpha)) * unit


def edge_kind(p, p_star, a, alpha) -> str:
    """"square-root" if the edge at this alpha is an interior zero of lt'(g), else "smooth" (the
    pole). Below alpha_BBP both occur: for alpha < 1/q(-1/2) the edge sits at the pole even when
    the transition itself is continuous (p = 2, p* = 1, a = 0.7: below alpha = 0.728)."""
    p, p_star, a, alpha = _check(p, p_star, a, alpha)
    return "square-root" if _theory(p, p_star, a).edge_g(alpha) > G_POLE else "smooth"


@lru_cache(maxsize=1024)
def _teacher(p: float, p_star: float, a: float, alpha: float):
    """(lt*, m^2) of the teacher outlier, rescaled units; None for alpha <= alpha_BBP.

    Cached: ``outlier`` and ``overlap`` share one solve. Callers pass the floats of ``_check``.
    """
    if alpha <= _alpha_bbp_and_gedge(p, p_star, a)[0]:
        return None
    th = _theory(p, p_star, a)
    g = th.root_on_branch(th.alpha_t_grid, th.alpha_teacher, alpha, th.edge_g(alpha))
    if g is None:
        return None
    return float(th.lam(g, alpha)), th.overlap_sq(g, alpha, th.y, th.dphi(g))


def outlier(p, p_star, a, alpha, rescaled=False):
    """Teacher outlier lambda* < lambda_- (p p*-fold degenerate); None for alpha <= alpha_BBP.

    The root of 1/g = alpha E[(y - 1) Phi_g] on the physical branch (g_edge, 0), mapped through
    lt(g) = 1/g + alpha E[Phi_g]; divided by p unless ``rescaled`` (required for p = inf).
    """
    p, p_star, a, alpha = _check(p, p_star, a, alpha)
    unit = _unit(p, rescaled)
    res = _teacher(p, p_star, a, alpha)
    return None if res is None else res[0] * unit


def overlap(p, p_star, a, alpha) -> float:
    """Frobenius overlap m in [0, 1] of a unit outlier eigenvector with the teacher subspace.

    m = sqrt(1/F'(lt*)), F(lt) = lt - alpha E[y Phi_g(lt)]; 0 for alpha <= alpha_BBP. At a
    continuous transition m -> 0 as alpha -> alpha_BBP+ (lt'(g) -> 0 makes F' blow up); at a
    discontinuous one it jumps to a finite value. Accepts p = inf.
    """
    p, p_star, a, alpha = _check(p, p_star, a, alpha)
    res = _teacher(p, p_star, a, alpha)
    return 0.0 if res is None else math.sqrt(res[1])


# ----------------------------------------------------------------------------- complex plane


def _bulk_residual(th, alpha, z, g):
    """F(g) = g (z - alpha E[Phi_g]) - 1 (analytic in g) and F'(g).

    E[Phi_g] exact in y when available, F' then by a complex difference (it only steers
    Newton; the residual is exact); otherwise both from the 2D quadrature.
    """
    if th.exact_y:
        phi = th.phi_mean_complex(g)
        delta = 1e-7 * (abs(g) + 1e-3)
        dphi = (th.phi_mean_complex(g - 1j * delta) - phi) / (-1j * delta)
    else:
        phi = complex(th.mean(th.phi(g)))
        dphi = complex(th.mean(th.dphi(g)))
    return g * (z - alpha * phi) - 1, z - alpha * phi - g * alpha * dphi


def _newton(th, alpha, z, g, iters=40, tol=1e-12):
    """Safeguarded complex Newton for F(g) = 0 at one z; returns (g, converged).

    A step is halved while it would leave the lower half plane (Im g > 0 is not the Stieltjes
    transform of a positive measure) or fail to decrease |F|. For Im z > 0 the equation has a
    single root with Im g < 0, so a converged iterate is the physical g.
    """
    g = complex(g)
    f, df = _bulk_residual(th, alpha, z, g)
    for _ in range(iters):
        step = f / df
        t = 1.0
        for _ in range(40):
            g_new = g - t * step
            if g_new.imag <= 0:
                f_new, df_new = _bulk_residual(th, alpha, z, g_new)
                if abs(f_new) <= abs(f) * (1 - 1e-4 * t) or abs(f_new) < 1e-14:
                    break
            t /= 2
        else:
            return g, False
        g, f, df = g_new, f_new, df_new
        if abs(t * step) < tol * (1 + abs(g)):
            return g, abs(f) < 1e-9
    return g, False


def _homotopy(th, alpha, z):
    """Solve at one z by lowering Im z from a large value (where g = 1/z is excellent) by 4x
    per step, Newton from the previous solution each time: the iterate follows the physical
    branch continuously and never crosses the real axis."""
    scale = 4.0 + abs(z.real) + 4 * alpha
    g = 1 / complex(z.real, scale)
    eta = scale
    while True:
        g, _ = _newton(th, alpha, complex(z.real, max(z.imag, eta)), g)
        if eta <= z.imag:
            return g
        eta /= 4


def _solve_bulk(th, alpha, zs):
    """g at each z (rescaled, Im z >= ETA): march through the points sorted by Re z, Newton from
    the previous solution; a point where that fails is solved by the homotopy."""
    zs = np.asarray(zs, dtype=complex)
    out = np.empty(zs.shape, dtype=complex)
    prev = None
    for i in np.argsort(zs.real, kind="stable"):
        z = complex(zs[i].real, max(zs[i].imag, ETA))
        ok = False
        if prev is not None:
            g, ok = _newton(th, alpha, z, prev)
        if not ok:
            g = _homotopy(th, alpha, z)
        out[i] = prev = g
    return out


def stieltjes(p, p_star, a, alpha, z, rescaled=False):
    """Bulk Stieltjes transform g(z) = (1/pN) Tr (z - H)^-1 (g ~ 1/z) for Im z >= 0.

    Solves g = 1/(z - alpha E[Phi_g]) in rescaled units and returns g_H(z) = p g_pH(p z).
    Branch: continuous from g ~ 1/z at large |z| with Im g <= 0 (the Stieltjes transform of a
    positive measure); on the real axis left of the bulk it is the real root on (g_edge, 0).
    Real z get Im z = 1e-10 (rescaled). ``rescaled=True``: g of pH (required for p = inf).
    A complex scalar for scalar z, else an array of z's shape.
    """
    p, p_star, a, alpha = _check(p, p_star, a, alpha)
    unit = _unit(p, rescaled)
    zz = np.atleast_1d(np.asarray(z, dtype=complex)).ravel() / unit
    if np.any(zz.imag < 0):
        raise ValueError("z must have Im z >= 0")
    g = _solve_bulk(_theory(p, p_star, a), alpha, zz) / unit
    return complex(g[0]) if np.ndim(z) == 0 else g.reshape(np.shape(z))


def density(p, p_star, a, alpha, lambdas, rescaled=False) -> np.ndarray:
    """Bulk eigenvalue density rho(lambda) = -(1/pi) Im g(lambda + i0) of H (of pH if rescaled).

    Zero left of the edge; outliers carry O(1/N) mass and are not included. For alpha < 1, H
    has rank <= pM: an atom of mass 1 - alpha sits at lambda = 0 and is removed here, so rho
    integrates to min(alpha, 1). One complex root per point (measured: docs/large_n.md).
    """
    p, p_star, a, alpha = _check(p, p_star, a, alpha)
    unit = _unit(p, rescaled)
    lam = np.asarray(lambdas, dtype=float)
    g = stieltjes(p, p_star, a, alpha, lam.ravel(), rescaled)
    rho = -np.imag(g) / np.pi
    if alpha < 1:  # the atom (1 - alpha) delta(lambda), as seen at Im z = ETA
        eta = ETA * unit
        rho = rho - (1 - alpha) * eta / (np.pi * (lam.ravel() ** 2 + eta**2))
    return np.maximum(rho, 0.0).reshape(lam.shape)


# ----------------------------------------------------------------------------- channels


def _channel_x(th: _Theory, kind: str, g, deriv: bool = False):
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
    a_, b_ = th._fa(g, power), th._fb(g, power)
    if kind == "trace":
        return b_
    if kind == "antisymmetric":
        return a_
    if kind == "symmetric":
        return a_ + 2 * (b_ - a_) / (th.p + 2)
    raise ValueError(f"kind must be one of {STUDENT_CHANNELS}, got {kind!r}")


def student_channel_alpha(p, p_star, a, kind, g):
    """alpha_s(g) = 1/(g E[yh X_g - Phi_g]): the alpha at which channel ``kind`` would have its
    outlier at bulk parameter g (rescaled, in (-1/2, 0)); vectorized over g.

    The channel equation is lt = alpha E[yh X_g] <=> 1/g = alpha E[yh X_g - Phi_g]. A negative
    value means E[yh X_g - Phi_g] > 0: no root at that g for any alpha > 0. Finite p only.
    """
    p, p_star, a, _ = _check(p, p_star, a)
    if math.isinf(p):
        raise ValueError("p must be finite: no student channel survives p = inf")
    th = _theory(p, p_star, a)
    g = np.asarray(g, dtype=float)
    return 1 / (g * th.mean(th.yh * _channel_x(th, kind, g) - th.phi(g)))


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
    p, p_star, a, alpha = _check(p, p_star, a, alpha)
    unit = _unit(p, rescaled)
    out = {k: None for k in STUDENT_CHANNELS}
    if math.isinf(p):
        return out
    th = _theory(p, p_star, a)
    g_edge = th.edge_g(alpha)
    for kind in ["trace"] if p == 1 else STUDENT_CHANNELS:

        def alpha_s(g, kind=kind):
            val = float(student_channel_alpha(p, p_star, a, kind, g))
            return val if val > 0 else math.inf

        grid = student_channel_alpha(p, p_star, a, kind, th.g_grid)
        grid = np.where(grid > 0, grid, np.inf)
        g = th.root_on_branch(grid, alpha_s, alpha, g_edge)
        if g is not None:
            m2 = th.overlap_sq(g, alpha, th.yh, _channel_x(th, kind, g, deriv=True))
            out[kind] = {"lambda": float(th.lam(g, alpha)) * unit, "overlap": math.sqrt(m2)}
    return out


def _real_g(th: _Theory, alpha: float, lt: float) -> float:
    """The real g on the physical branch (g_edge, 0) with lt(g) = lt, for lt below the edge."""
    g_edge = th.edge_g(alpha)
    if lt >= float(th.lam(g_edge, alpha)):
        raise ValueError("z must lie below the bulk edge")
    hi = -0.25
    while float(th.lam(hi, alpha)) >= lt:  # lt(g) -> -inf as g -> 0-
        hi /= 4
    return brentq(lambda g: float(th.lam(g, alpha)) - lt, g_edge, hi, xtol=1e-15, rtol=1e-14)


def channel_resolvent(p, p_star, a, alpha, z, channel="bulk", rescaled=False) -> float:
    """Mean of v^T (z - H)^-1 v over unit v in a channel, for real z below the bulk edge.

    From the Schur complement on the special directions, with g = g(z) real (rescaled units):
        "bulk" (a generic direction):                g
        "teacher" (R^p (x) span w*_l):               1/(z - alpha E[y Phi_g])
        "trace", "symmetric", "antisymmetric":       1/(z - alpha E[yh X_g])  (``_channel_x``)
    A pole below the edge is an outlier of that channel. Measurable at finite N away from any
    eigenvalue, outlier or not: a direct test of the derivation. ``rescaled``: pH at z.
    """
    p, p_star, a, alpha = _check(p, p_star, a, alpha)
    unit = _unit(p, rescaled)
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {CHANNELS}, got {channel!r}")
    if channel in STUDENT_CHANNELS and (math.isinf(p) or (p == 1 and channel != "trace")):
        raise ValueError(f"channel {channel!r} does not exist for p = {p}")
    th = _theory(p, p_star, a)
    lt = float(z) / unit
    g = _real_g(th, alpha, lt)
    if channel == "bulk":
        val = g
    elif channel == "teacher":
        val = 1 / (lt - alpha * float(th.mean(th.y * th.phi(g))))
    else:
        val = 1 / (lt - alpha * float(th.mean(th.yh * _channel_x(th, channel, g))))
    return val / unit


# ----------------------------------------------------------------------------- record


def lagrange_multiplier(p, p_star, a, alpha, rescaled=False) -> float:
    """N = infinity value of mu_k = w_k . grad_k L / N, the same for every unit k.

    mu = (1/N) sum_mu beta h_k^2 -> alpha E[beta yh] = (2 alpha/p) E[yh (yh - y)/(a + y)]
    (H units; rescaled: alpha E[yh at]). The Riemannian Hessian's spectrum is that of H shifted
    by -mu at N = infinity (its p radial directions are removed, an O(1/N) change).
    """
    p, p_star, a, alpha = _check(p, p_star, a, alpha)
    unit = _unit(p, rescaled)
    th = _theory(p, p_star, a)
    return alpha * float(th.mean(th.yh * th.at)) * unit



def predictions(p, p_star, a, alpha) -> dict:
    """Theory numbers for one run, eigenvalues of H (finite p): lambda_edge, lambda_outlier
    (None below threshold), overlap, alpha_bbp, transition_type."""
    p, p_star, a, alpha = _check(p, p_star, a, alpha)
    return {
        "lambda_edge": edge(p, p_star, a, alpha),
        "lambda_outlier": outlier(p, p_star, a, alpha),
        "overlap": overlap(p, p_star, a, alpha),
        "alpha_bbp": alpha_bbp(p, p_star, a),
        "transition_type": transition_type(p, p_star, a),
    }
