"""What the eigensolvers take and return: an :class:`Operator`, plain
:class:`SolverSettings`, and :class:`Eigenpairs` with residuals and a convergence flag.

Eigenvalues are ascending; eigenvectors are unit columns, defined up to sign (every observable
built on them is sign-free). Each returned pair carries its residual ``||H v - lambda v||``
computed with the matrix-free operator, so a solver's answer is checked independently of how it
was obtained. ``relative_residuals`` divide by ``scale``, an estimate of ``||H||_2`` from below
(the largest ``|lambda|`` the solver saw); ``converged`` is true only when every one of them is
at most ``tol``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import torch


@runtime_checkable
class Operator(Protocol):
    """A symmetric linear operator on ``R^n``, as the solvers see it.

    ``matvec(V)`` applies it to a block ``V`` of shape ``(n, b)`` (one call for the whole
    block). Optional members a solver uses when present: ``excluded_directions()``
    (orthonormal ``(n, c)`` columns outside its domain, or None: the solvers work on their
    complement), ``dense()`` (the matrix, for the dense solver), ``product_flops`` (flops of
    one product of one vector, for the cost model of the Rayleigh-Ritz interval),
    ``compute_dtype`` and ``with_compute_dtype(dtype)`` (a copy computing its products in
    ``dtype``: mixed precision), ``first_pass``/``second_pass`` (names reported in the record).
    """

    shape: tuple[int, int]
    dtype: torch.dtype
    device: torch.device

    def matvec(self, V: torch.Tensor) -> torch.Tensor: ...


@dataclass(frozen=True)
class SolverSettings:
    """Plain solver settings (the fields of the app's ``solver`` group that the solvers read;
    any object with these attributes will do). ``None`` takes the rules of
    :mod:`bbp_torch.spectrum.tuning`."""

    name: str = "dense"
    k: int | None = None
    tol: float | None = None
    max_iter: int = 1000
    full_spectrum: bool = True
    all_vectors: bool = False
    auto_max_dim: int = 6000
    block_size: int | None = None
    basis_size: int | None = None
    mixed_precision: bool | str = False


@dataclass
class Eigenpairs:
    """``values`` (k,) ascending, ``vectors`` (pN, k) unit columns, ``residuals`` (k,)."""

    values: torch.Tensor
    vectors: torch.Tensor
    residuals: torch.Tensor
    solver: str
    tol: float
    scale: float
    iterations: int | None = None
    all_values: torch.Tensor | None = None  # the whole spectrum, when the solver has it
    all_vectors: torch.Tensor | None = None  # every eigenvector (pN, pN), when asked for
    info: dict = field(default_factory=dict)

    @property
    def relative_residuals(self) -> list[float]:
        """``||H v - lambda v|| / scale`` per pair."""
        return [float(r) / max(self.scale, 1e-300) for r in self.residuals]

    @property
    def converged(self) -> bool:
        """Every returned pair met the tolerance (and every eigenvalue is finite)."""
        finite = bool(torch.isfinite(self.values).all()) and bool(
            torch.isfinite(self.residuals).all())
        return finite and all(r <= self.tol for r in self.relative_residuals)


def residual_norms(op, values: torch.Tensor, vectors: torch.Tensor) -> torch.Tensor:
    """``||H v_j - lambda_j v_j||`` for each column ``v_j`` (one operator call on the block)."""
    return (op.matvec(vectors) - vectors * values[None, :]).norm(dim=0)
