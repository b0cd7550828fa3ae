"""What every matrix-free Hessian shares: the solvers' protocol, shapes, counting, the sphere.

An operator here is a :class:`bbp_torch.spectrum.types.Operator`: ``shape`` ``(pN, pN)``,
``dtype`` and ``device`` (those of ``W``), ``matvec`` on a vector ``(pN,)`` or a block
``(pN, b)`` of columns, flattened unit-major (entry ``k*N + i`` is component ``i`` of unit
``k``, docs/model.md, section 2), and ``excluded_directions()`` (the radial directions of the
spherical Hessian, else None). A concrete operator supplies the Euclidean product on blocks
``(b, p, N)`` (:meth:`MatrixFreeHessian.euclidean_product`) and ``dense()``; the Riemannian
correction (:class:`bbp_torch.operators.spherical.Sphere`) is applied here, once for all.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable

import torch

from bbp_torch.model import Problem
from bbp_torch.operators.registry import check_kind
from bbp_torch.operators.spherical import Sphere
from bbp_torch.spectrum.types import Operator

Multipliers = Callable[[Problem, torch.Tensor], torch.Tensor]


class MatrixFreeHessian(Operator):
    """The Hessian of ``problem`` at ``W`` (default: its student) as ``V -> H V``.

    ``kind`` is ``euclidean`` or ``spherical``; for the latter ``multipliers(problem, W)`` gives
    the ``mu_k`` of :mod:`bbp_torch.operators.spherical`. ``chunk_size`` bounds the samples per
    chunk of a product (default: all ``M``); ``compute_dtype`` is the precision of the products
    (default ``dtype``); ``n_products`` counts the vectors the operator was applied to.
    """

    def __init__(self, problem: Problem, W: torch.Tensor | None, kind: str,
                 chunk_size: int | None, multipliers: Multipliers,
                 compute_dtype: torch.dtype | None = None):
        check_kind(kind)
        self.problem = problem
        self.kind = kind
        self.W = problem.W if W is None else W
        self.p, self.N = self.W.shape
        self.dtype = self.W.dtype
        self.device = self.W.device
        self.compute_dtype = compute_dtype or self.dtype
        self.chunk_size = chunk_size or problem.M
        self.sphere = Sphere(self.W, multipliers(problem, self.W)) if kind == "spherical" else None
        self.n_products = 0

    @property
    def shape(self) -> tuple[int, int]:
        return (self.p * self.N, self.p * self.N)

    @property
    def mu(self) -> torch.Tensor | None:
        """The multipliers ``mu_k`` (p,) of the spherical Hessian, else None."""
        return None if self.sphere is None else self.sphere.mu

    @property
    def product_flops(self) -> float:
        """Flops of one product with one vector (two passes over ``X``: ``4 M N p``), the
        solvers' cost model."""
        return 4.0 * self.problem.M * self.N * self.p

    def excluded_directions(self) -> torch.Tensor | None:
        """Orthonormal directions ``(pN, c)`` outside the operator's domain, or None: the ``p``
        radial directions of the spherical Hessian, which it maps to zero without their being
        eigenvectors of the landscape (the solvers keep every vector orthogonal to them)."""
        return None if self.sphere is None else self.sphere.radial_directions()

    @abstractmethod
    def euclidean_product(self, V: torch.Tensor) -> torch.Tensor:
        """``H V`` of the Euclidean Hessian for a block ``V`` (b, p, N) in ``dtype``; (b, p, N)."""

    @abstractmethod
    def dense(self) -> torch.Tensor:
        """The ``(pN, pN)`` matrix of the same kind, for small problems and checks."""

    def matvec(self, V: torch.Tensor) -> torch.Tensor:
        """``H V`` for ``V`` of shape (pN,) or (pN, b), in ``dtype``."""
        single = V.dim() == 1
        cols = V[:, None] if single else V
        b = cols.shape[1]
        blocks = cols.T.reshape(b, self.p, self.N).to(self.dtype)
        if self.sphere is None:
            out = self.euclidean_product(blocks)
        else:
            out = self.sphere.product(self.euclidean_product, blocks)
        self.n_products += b
        out = out.reshape(b, -1).T
        return out[:, 0] if single else out

    __matmul__ = matvec
