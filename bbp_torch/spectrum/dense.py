"""Dense eigensolvers: build ``H`` from the closed form, then LAPACK (CPU) or cuSOLVER (CUDA)."""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg
import torch

from bbp_torch.errors import NumericalError
from bbp_torch.spectrum.types import Eigenpairs, residual_norms


def symmetric_eigh(H: torch.Tensor, k: int | None = None):
    """Dense symmetric eigendecomposition, bottom ``k`` pairs (all when ``k`` is None).

    On the CPU a subset solve (LAPACK ``syevr`` through scipy) is used for the bottom pairs; on
    CUDA ``torch.linalg.eigh``. Returns ``(values, vectors)`` as tensors on ``H``'s device.
    """
    if H.device.type == "cpu" and k is not None and k < H.shape[0]:
        vals, vecs = scipy.linalg.eigh(
            H.numpy(), subset_by_index=[0, k - 1], lower=True, check_finite=False,
            overwrite_a=False, driver="evr",
        )
        return torch.from_numpy(np.ascontiguousarray(vals)), torch.from_numpy(
            np.ascontiguousarray(vecs))
    vals, vecs = torch.linalg.eigh(H)
    if k is not None:
        vals, vecs = vals[:k], vecs[:, :k]
    return vals, vecs


def dense_bottom(op, k: int, tol: float, full_spectrum: bool = True,
                 all_vectors: bool = False) -> Eigenpairs:
    """Build ``H`` densely; bottom ``k`` pairs, plus all eigenvalues when ``full_spectrum``
    and every eigenvector too when ``all_vectors`` (one full ``eigh``).

    ``scale`` is ``max |lambda|`` of the whole spectrum when it is computed (``||H||_2``), else
    the larger of ``max |lambda_j|`` over the returned pairs and ``||H||_F / sqrt(n)`` (both
    lower bounds on ``||H||_2``).
    """
    H = op.dense()
    if not bool(torch.isfinite(H).all()):
        raise NumericalError("the dense Hessian has non-finite entries (nan or inf); check "
                             "problem.a and problem.alpha")
    every = None
    if all_vectors:
        all_values, every = symmetric_eigh(H)
        values, vectors = all_values[:k], every[:, :k]
    else:
        all_values = torch.linalg.eigvalsh(H) if full_spectrum else None
        values, vectors = symmetric_eigh(H, k)
    if all_values is not None:
        scale = float(all_values.abs().max())
    else:
        scale = max(float(values.abs().max()), float(H.norm()) / math.sqrt(H.shape[0]))
    del H
    return Eigenpairs(values=values, vectors=vectors, residuals=residual_norms(op, values, vectors),
                      solver="dense", tol=tol, scale=scale, all_values=all_values,
                      all_vectors=every)


def full_spectrum(op) -> torch.Tensor:
    """Every eigenvalue of ``H`` (dense), ascending."""
    return torch.linalg.eigvalsh(op.dense())
