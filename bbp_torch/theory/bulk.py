"""The bulk and its left edge: ``edge``, ``edge_kind``, the Stieltjes transform and the
density (conventions: the package docstring)."""

from __future__ import annotations

import numpy as np

from bbp_torch.theory.arguments import check_args, unit
from bbp_torch.theory.branch import branch
from bbp_torch.theory.complex_plane import ETA, complex_mean, solve_bulk
from bbp_torch.theory.quadrature import G_POLE


def edge(p, p_star, a, alpha, rescaled=False) -> float:
    """Left edge lambda_- of the bulk: lt(g_edge)/p with lt(g) = 1/g + alpha E[Phi_g].

    Square-root edge where lt'(g) = 0, or lt(-1/2) in the discontinuous case (for p = inf
    that is exactly -2, rescaled). ``rescaled=True``: the edge of pH (required for p = inf).
    """
    p, p_star, a, alpha = check_args(p, p_star, a, alpha)
    factor = unit(p, rescaled)
    br = branch(p, p_star, a)
    return float(br.lam(br.edge_g(alpha), alpha)) * factor


def edge_kind(p, p_star, a, alpha) -> str:
    """"square-root" if the edge at this alpha is an interior zero of lt'(g), else "smooth" (the
    pole). Below alpha_BBP both occur: for alpha < 1/q(-1/2) the edge sits at the pole even when
    the transition itself is continuous (p = 2, p* = 1, a = 0.7: below alpha = 0.728)."""
    p, p_star, a, alpha = check_args(p, p_star, a, alpha)
    return "square-root" if branch(p, p_star, a).edge_g(alpha) > G_POLE else "smooth"


def stieltjes(p, p_star, a, alpha, z, rescaled=False):
    """Bulk Stieltjes transform g(z) = (1/pN) Tr (z - H)^-1 (g ~ 1/z) for Im z >= 0.

    Solves g = 1/(z - alpha E[Phi_g]) in rescaled units and returns g_H(z) = p g_pH(p z).
    Branch: continuous from g ~ 1/z at large |z| with Im g <= 0 (the Stieltjes transform of a
    positive measure); on the real axis left of the bulk it is the real root on (g_edge, 0).
    Real z get Im z = 1e-10 (rescaled). ``rescaled=True``: g of pH (required for p = inf).
    A complex scalar for scalar z, else an array of z's shape.
    """
    p, p_star, a, alpha = check_args(p, p_star, a, alpha)
    factor = unit(p, rescaled)
    zz = np.atleast_1d(np.asarray(z, dtype=complex)).ravel() / factor
    if np.any(zz.imag < 0):
        raise ValueError("z must have Im z >= 0")
    g = solve_bulk(complex_mean(p, p_star, a), alpha, zz) / factor
    return complex(g[0]) if np.ndim(z) == 0 else g.reshape(np.shape(z))


def density(p, p_star, a, alpha, lambdas, rescaled=False) -> np.ndarray:
    """Bulk eigenvalue density rho(lambda) = -(1/pi) Im g(lambda + i0) of H (of pH if rescaled).

    Zero left of the edge; outliers carry O(1/N) mass and are not included. For alpha < 1, H
    has rank <= pM: an atom of mass 1 - alpha sits at lambda = 0 and is removed here, so rho
    integrates to min(alpha, 1). One complex root per point (measured: docs/large_n.md).
    """
    p, p_star, a, alpha = check_args(p, p_star, a, alpha)
    factor = unit(p, rescaled)
    lam = np.asarray(lambdas, dtype=float)
    g = stieltjes(p, p_star, a, alpha, lam.ravel(), rescaled)
    rho = -np.imag(g) / np.pi
    if alpha < 1:  # the atom (1 - alpha) delta(lambda), as seen at Im z = ETA
        eta = ETA * factor
        rho = rho - (1 - alpha) * eta / (np.pi * (lam.ravel() ** 2 + eta**2))
    return np.maximum(rho, 0.0).reshape(lam.shape)
