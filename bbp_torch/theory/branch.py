"""The real axis: the curves ``lt(g)``, ``q(g)``, ``alpha_t(g)`` on the physical branch
``g in (g_edge, 0)`` and the roots on it (edge, outliers, the real ``g`` of a point below the
bulk); rescaled units (the package docstring)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.optimize import brentq

from bbp_torch.theory.quadrature import G_POLE, Nodes, nodes

_GRID = 400  # grid on [-1/2, 0) that brackets the edge and the outlier roots


class Branch:
    """The alpha-independent curves in g of one ``(p, p*, a)`` (``nodes``), tabulated on a grid
    of ``[-1/2, 0)`` denser near 0, and the root finding on the physical branch."""

    def __init__(self, quad: Nodes):
        self.nodes = quad
        s = (np.arange(1, _GRID + 1) / _GRID) ** 2
        self.g_grid = G_POLE * s[::-1]
        self.q_grid = self.q(self.g_grid)
        self.alpha_t_grid = self.alpha_teacher(self.g_grid)

    def lam(self, g, alpha):
        """lt(g) = 1/g + alpha E[Phi_g]."""
        return 1 / np.asarray(g) + alpha * self.nodes.mean(self.nodes.phi(g))

    def dlam(self, g, alpha):
        """lt'(g) = -1/g^2 + alpha E[Phi'_g]."""
        return -1 / np.asarray(g) ** 2 + alpha * self.nodes.mean(self.nodes.dphi(g))

    def q(self, g):
        """q(g) = g^2 E[Phi'_g]; lt'(g) = 0 <=> q(g) = 1/alpha."""
        return np.asarray(g) ** 2 * self.nodes.mean(self.nodes.dphi(g))

    def alpha_teacher(self, g):
        """alpha_t(g) = 1/(g E[(y - 1) Phi_g]): the alpha whose teacher root is at g."""
        n = self.nodes
        return 1 / (np.asarray(g) * n.mean((n.y - 1) * n.phi(g)))

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
        return float(1 / (1 - alpha * self.nodes.mean(weight * dx) / self.dlam(g, alpha)))

    def real_g(self, alpha: float, lt: float) -> float:
        """The real g on the physical branch (g_edge, 0) with lt(g) = lt, for lt below the
        edge."""
        g_edge = self.edge_g(alpha)
        if lt >= float(self.lam(g_edge, alpha)):
            raise ValueError("z must lie below the bulk edge")
        hi = -0.25
        while float(self.lam(hi, alpha)) >= lt:  # lt(g) -> -inf as g -> 0-
            hi /= 4
        return brentq(lambda g: float(self.lam(g, alpha)) - lt, g_edge, hi, xtol=1e-15,
                      rtol=1e-14)


@lru_cache(maxsize=128)
def branch(p: float, p_star: float, a: float) -> Branch:
    """The cached :class:`Branch` of ``(p, p*, a)``."""
    return Branch(nodes(p, p_star, a))
