"""The Riemannian Hessian on the product of spheres ``|w_k|^2 = N`` (``hessian.kind=spherical``,
docs/model.md, section 2).

    H_sph = P (H - diag(mu_k) (x) I_N) P,     mu_k = w_k . grad_k L / N,

with ``H`` the Euclidean Hessian, ``mu_k`` the Lagrange multiplier of the constraint on unit
``k`` and ``P`` the projector that removes ``w_k`` from block ``k``. It acts on the tangent space
of the spheres, of dimension ``p(N - 1)``: the ``p`` radial directions are mapped to zero but are
not eigenvectors of the landscape, so an operator names them (``excluded_directions()``) and the
solvers work on their orthogonal complement. Here: the pieces (multipliers, projector, radial
directions), the correction of a dense ``H`` and of a matrix-free product.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from bbp_torch.model import Problem
from bbp_torch.operators.weights import gradient


def lagrange_multipliers(problem: Problem, W: torch.Tensor | None = None) -> torch.Tensor:
    """``mu_k = w_k . grad_k L / N`` (p,), the multipliers of the constraints ``|w_k|^2 = N``."""
    W = problem.W if W is None else W
    return (W * gradient(problem, W)).sum(dim=1) / problem.N


def radial_projector_apply(W: torch.Tensor, V: torch.Tensor) -> torch.Tensor:
    """Remove from each block ``V[..., k, :]`` its component along ``w_k``. ``V``: (..., p, N)."""
    N = W.shape[1]
    return V - (V * W).sum(dim=-1, keepdim=True) * W / N


def radial_directions(W: torch.Tensor) -> torch.Tensor:
    """The ``p`` orthonormal radial directions of the spheres at ``W``, ``(pN, p)``: column
    ``k`` is ``w_k / |w_k|`` in block ``k`` and zero elsewhere."""
    p, N = W.shape
    U = torch.zeros(p * N, p, dtype=W.dtype, device=W.device)
    for k in range(p):
        U[k * N:(k + 1) * N, k] = W[k] / W[k].norm()
    return U


def spherical_from_dense(H: torch.Tensor, problem: Problem, W: torch.Tensor) -> torch.Tensor:
    """``P (H - diag(mu) (x) I) P`` for a dense Euclidean ``H`` ``(pN, pN)`` at ``W``, exactly
    symmetric."""
    p, N = W.shape
    mu = lagrange_multipliers(problem, W)
    H = H - torch.diag(mu.repeat_interleave(N))
    U = radial_directions(W.to(H.dtype))
    HU = H @ U
    H = H - HU @ U.T - U @ HU.T + U @ (U.T @ HU) @ U.T
    return 0.5 * (H + H.T)


@dataclass(frozen=True, eq=False)
class Sphere:
    """The product of spheres at ``W`` (p, N) with multipliers ``mu`` (p,): turns a Euclidean
    product on blocks ``(b, p, N)`` into the Riemannian one."""

    W: torch.Tensor
    mu: torch.Tensor

    def product(self, euclidean: Callable[[torch.Tensor], torch.Tensor],
                V: torch.Tensor) -> torch.Tensor:
        """``P (H - diag(mu) (x) I) P V`` for blocks ``V`` (b, p, N), ``euclidean(V) = H V``."""
        V = radial_projector_apply(self.W, V)
        return radial_projector_apply(self.W, euclidean(V) - self.mu[None, :, None] * V)

    def radial_directions(self) -> torch.Tensor:
        """The excluded directions, ``(pN, p)`` (:func:`radial_directions`)."""
        return radial_directions(self.W)
