"""The complex plane: ``E[Phi_g]`` at complex ``g`` (the y-integral in closed form) and the
bulk equation ``g = 1/(z - alpha E[Phi_g])`` solved on its physical branch; rescaled units
(the package docstring)."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy.special import erfcx, exp1

from bbp_torch.theory.quadrature import Nodes, nodes

ETA = 1e-10  # imaginary part given to real z in the complex plane (rescaled units)
MAX_EXACT_P_STAR = 12  # closed-form y-integral for integer p* up to this (else 2D quadrature)
_SERIES = 41  # terms of the large-|z| series of the Gamma Stieltjes transform


class ComplexMean:
    """``E[Phi_g]`` at complex g for one ``(p, p*, a)``: exact in ``y ~ Gamma(p*/2)``, by the
    quadrature of ``nodes`` in ``yh``; :attr:`exact_y` is False where the closed form is not
    used (non-integer or large p*: the 2D rule of ``nodes`` instead)."""

    def __init__(self, quad: Nodes):
        self.nodes = quad
        self.a = quad.a
        self.k, self.theta = quad.p_star / 2, 2 / quad.p_star
        self.exact_y = float(quad.p_star).is_integer() and quad.p_star <= MAX_EXACT_P_STAR
        self.poch = np.cumprod(np.concatenate([[1.0], self.k + np.arange(_SERIES)]))

    def gamma_stieltjes(self, z):
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

    def mean_over_y(self, g, u):
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
            t[~big] = (v[~big] + z[~big]) * self.gamma_stieltjes(z[~big]) - 1
        if big.any():
            zb, vb = z[big], v[big]
            n = np.arange(_SERIES - 1)
            powers = np.cumprod(np.broadcast_to(-1 / zb[:, None], (len(zb), len(n))), axis=1)
            t[big] = (-(self.poch[n] * vb[:, None] - self.poch[n + 1]) * powers).sum(axis=1)
        return 2 / c1 * t

    def phi_mean(self, g):
        """E[Phi_g] at one complex g: exact in y, quadrature in yh."""
        g = complex(g)
        n = self.nodes
        val = n.wa * self.mean_over_y(g, n.yh1)
        if n.wb:
            val = val + n.wb * self.mean_over_y(g, 3 * n.yh1)
        return complex(val @ n.wyh1)


@lru_cache(maxsize=128)
def complex_mean(p: float, p_star: float, a: float) -> ComplexMean:
    """The cached :class:`ComplexMean` of ``(p, p*, a)``."""
    return ComplexMean(nodes(p, p_star, a))


def _bulk_residual(cm: ComplexMean, alpha, z, g):
    """F(g) = g (z - alpha E[Phi_g]) - 1 (analytic in g) and F'(g).

    E[Phi_g] exact in y when available, F' then by a complex difference (it only steers
    Newton; the residual is exact); otherwise both from the 2D quadrature.
    """
    if cm.exact_y:
        phi = cm.phi_mean(g)
        delta = 1e-7 * (abs(g) + 1e-3)
        dphi = (cm.phi_mean(g - 1j * delta) - phi) / (-1j * delta)
    else:
        phi = complex(cm.nodes.mean(cm.nodes.phi(g)))
        dphi = complex(cm.nodes.mean(cm.nodes.dphi(g)))
    return g * (z - alpha * phi) - 1, z - alpha * phi - g * alpha * dphi


def _newton(cm: ComplexMean, alpha, z, g, iters=40, tol=1e-12):
    """Safeguarded complex Newton for F(g) = 0 at one z; returns (g, converged).

    A step is halved while it would leave the lower half plane (Im g > 0 is not the Stieltjes
    transform of a positive measure) or fail to decrease |F|. For Im z > 0 the equation has a
    single root with Im g < 0, so a converged iterate is the physical g.
    """
    g = complex(g)
    f, df = _bulk_residual(cm, alpha, z, g)
    for _ in range(iters):
        step = f / df
        t = 1.0
        for _ in range(40):
            g_new = g - t * step
            if g_new.imag <= 0:
                f_new, df_new = _bulk_residual(cm, alpha, z, g_new)
                if abs(f_new) <= abs(f) * (1 - 1e-4 * t) or abs(f_new) < 1e-14:
                    break
            t /= 2
        else:
            return g, False
        g, f, df = g_new, f_new, df_new
        if abs(t * step) < tol * (1 + abs(g)):
            return g, abs(f) < 1e-9
    return g, False


def _homotopy(cm: ComplexMean, alpha, z):
    """Solve at one z by lowering Im z from a large value (where g = 1/z is excellent) by 4x
    per step, Newton from the previous solution each time: the iterate follows the physical
    branch continuously and never crosses the real axis."""
    scale = 4.0 + abs(z.real) + 4 * alpha
    g = 1 / complex(z.real, scale)
    eta = scale
    while True:
        g, _ = _newton(cm, alpha, complex(z.real, max(z.imag, eta)), g)
        if eta <= z.imag:
            return g
        eta /= 4


def solve_bulk(cm: ComplexMean, alpha, zs):
    """g at each z (rescaled, Im z >= ETA): march through the points sorted by Re z, Newton from
    the previous solution; a point where that fails is solved by the homotopy."""
    zs = np.asarray(zs, dtype=complex)
    out = np.empty(zs.shape, dtype=complex)
    prev = None
    for i in np.argsort(zs.real, kind="stable"):
        z = complex(zs[i].real, max(zs[i].imag, ETA))
        ok = False
        if prev is not None:
            g, ok = _newton(cm, alpha, z, prev)
        if not ok:
            g = _homotopy(cm, alpha, z)
        out[i] = prev = g
    return out
