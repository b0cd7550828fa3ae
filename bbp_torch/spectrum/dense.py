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


class Complement:
    """The orthogonal complement of orthonormal columns ``E`` (n, c), in the basis ``B`` of the
    last ``n - c`` columns of the Householder ``Q`` of ``E`` (``Q[:, :c]`` spans ``E``).

    :meth:`restrict` gives ``B^T H B`` and :meth:`lift` maps coordinates ``Y`` back to ``B Y``,
    both by applying the ``c`` reflectors (``O(n^2 c)``), never by forming ``Q``.
    """

    def __init__(self, E: torch.Tensor):
        self.n, self.c = E.shape
        self._a, self._tau = torch.geqrf(E)

    def restrict(self, H: torch.Tensor) -> torch.Tensor:
        """``B^T H B``, ``(n - c, n - c)``."""
        QtH = torch.ormqr(self._a, self._tau, H, left=True, transpose=True)
        QtHQ = torch.ormqr(self._a, self._tau, QtH, left=False, transpose=False)
        return QtHQ[self.c:, self.c:]

    def lift(self, Y: torch.Tensor) -> torch.Tensor:
        """``B Y`` for ``Y`` of shape ``(n - c, b)``: vectors of the original space."""
        Z = torch.zeros(self.n, Y.shape[1], dtype=Y.dtype, device=Y.device)
        Z[self.c:] = Y
        return torch.ormqr(self._a, self._tau, Z, left=True, transpose=False)


def dense_operator(op) -> tuple[torch.Tensor, Complement | None]:
    """The dense matrix of ``op`` on its domain: restricted to the complement of its
    :meth:`excluded_directions` when it has some (the tangent space of the spherical Hessian),
    with the :class:`Complement` that lifts its eigenvectors back."""
    H = op.dense()
    excluded = op.excluded_directions() if hasattr(op, "excluded_directions") else None
    if excluded is None:
        return H, None
    complement = Complement(excluded.to(H.dtype))
    return complement.restrict(H), complement


def dense_bottom(op, k: int, tol: float, full_spectrum: bool = True,
                 all_vectors: bool = False) -> Eigenpairs:
    """Build ``H`` densely; bottom ``k`` pairs, plus all eigenvalues when ``full_spectrum``
    and every eigenvector too when ``all_vectors`` (one full ``eigh``). An operator with
    excluded directions (the spherical Hessian) is diagonalised on their complement
    (:func:`dense_operator`): its spectrum has ``n - c`` eigenvalues.

    ``scale`` is ``max |lambda|`` of the whole spectrum when it is computed (``||H||_2``), else
    the larger of ``max |lambda_j|`` over the returned pairs and ``||H||_F / sqrt(n)`` (both
    lower bounds on ``||H||_2``).
    """
    H, complement = dense_operator(op)
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
    if complement is not None:
        vectors = complement.lift(vectors)
        every = complement.lift(every) if every is not None else None
    return Eigenpairs(values=values, vectors=vectors, residuals=residual_norms(op, values, vectors),
                      solver="dense", tol=tol, scale=scale, all_values=all_values,
                      all_vectors=every)


def full_spectrum(op) -> torch.Tensor:
    """Every eigenvalue of ``H`` (dense) on its domain (:func:`dense_operator`), ascending."""
    return torch.linalg.eigvalsh(dense_operator(op)[0])


def solve(op, settings, *, k: int, tol: float, seed: int = 0, progress: bool = False,
          start: torch.Tensor | None = None, units: int = 1) -> Eigenpairs:
    """The registered ``dense`` solver (:mod:`bbp_torch.spectrum.registry`); it needs the
    operator's ``dense()`` and ignores ``seed``, ``progress``, ``start`` and ``units``."""
    if not hasattr(op, "dense"):
        raise ValueError("solver.name=dense needs an operator with dense(); use "
                         "solver.name=iterative.")
    return dense_bottom(op, k, tol, full_spectrum=settings.full_spectrum,
                        all_vectors=settings.all_vectors)
