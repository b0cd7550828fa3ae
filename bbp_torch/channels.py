"""Finite-N counterparts of the theory's channels: spectra, channel resolvents, KS distance.

Shared by tests/test_channels.py and scripts/validate_theory.py, which hold the
N = infinity theory (bbp_torch.theory) to exact diagonalisation of the finite-N Hessian.
"""

from __future__ import annotations

import numpy as np
import torch

from bbp_torch import theory
from bbp_torch.model import make_problem
from bbp_torch.observables import _orthonormal_rows
from bbp_torch.operators.dense import dense_hessian

__all__ = ["channel_matrices", "channel_resolvents", "eigenpairs", "ks_distance"]


def eigenpairs(N, p, p_star, alpha, a, seed, vectors=False):
    """(problem, ascending eigenvalues as numpy, eigenvectors as torch or None) of the dense
    Hessian of ``make_problem(N, p, p_star, alpha, a, seed=seed)``."""
    problem = make_problem(N, p, p_star, alpha, a, seed=seed)
    H = dense_hessian(problem)
    if vectors:
        values, vecs = torch.linalg.eigh(H)
        return problem, values.numpy(), vecs
    return problem, torch.linalg.eigvalsh(H).numpy(), None


def channel_matrices(p: int) -> dict[str, list[np.ndarray]]:
    """Orthonormal (Frobenius) bases of the trace / symmetric traceless / antisymmetric p x p."""
    out = {"trace": [np.eye(p) / np.sqrt(p)], "symmetric": [], "antisymmetric": []}
    for k in range(p):
        for m in range(k + 1, p):
            E = np.zeros((p, p))
            E[k, m] = 1
            out["symmetric"].append((E + E.T) / np.sqrt(2))
            out["antisymmetric"].append((E - E.T) / np.sqrt(2))
    for k in range(p - 1):
        d = np.zeros(p)
        d[: k + 1] = 1
        d[k + 1] = -(k + 1)
        out["symmetric"].append(np.diag(d / np.linalg.norm(d)))
    return out


def channel_resolvents(problem, values, vecs, z) -> dict[str, float]:
    """Mean of v^T (z - H)^-1 v over each channel's orthonormal basis, from the eigenpairs.

    Channels as in ``theory.channel_resolvent``: "bulk" (the normalised trace), "teacher"
    (R^p (x) span w*_l) and the student channels of ``channel_matrices`` (those that exist at p).
    """
    p, N = problem.p, problem.N
    V = vecs.numpy()
    weights = 1 / (z - values)

    def quad(v):
        c = V.T @ v
        return float(c @ (weights * c))

    out = {"bulk": float(np.mean(weights))}
    Qt = _orthonormal_rows(problem.W_star).numpy()
    vals = []
    for k in range(p):
        for row in Qt:
            v = np.zeros(p * N)
            v[k * N:(k + 1) * N] = row
            vals.append(quad(v))
    out["teacher"] = float(np.mean(vals))
    Qs = _orthonormal_rows(problem.W).numpy()
    for name, mats in channel_matrices(p).items():
        if mats:
            out[name] = float(np.mean([quad(np.concatenate([M[k] @ Qs for k in range(p)]))
                                       for M in mats]))
    return out


def ks_distance(eigs, p, p_star, a, alpha) -> float:
    """sup |ECDF - theory CDF| over [edge, 99.5 % quantile] (the tail beyond is not resolved)."""
    eigs = np.sort(eigs)
    lo = theory.edge(p, p_star, a, alpha) - 0.02
    lam = np.linspace(lo, np.quantile(eigs, 0.995), 400)
    rho = theory.density(p, p_star, a, alpha, lam)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (rho[1:] + rho[:-1]) * np.diff(lam))])
    ecdf = np.searchsorted(eigs, lam, side="right") / len(eigs)
    return float(np.max(np.abs(ecdf - cdf)))
