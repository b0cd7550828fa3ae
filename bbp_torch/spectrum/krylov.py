"""What the iterative eigensolvers share (:mod:`bbp_torch.spectrum.lanczos`,
:mod:`bbp_torch.spectrum.davidson`): their result, the operator as a block product, the seeded
start, Gram-Schmidt against a basis, the in-place rotation of a thick restart, the progress bar.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch


@dataclass
class KrylovResult:
    """What an iterative solve returns: ``values`` (k,) ascending, ``vectors`` (n, k)
    orthonormal columns.

    ``residual_estimates`` (k,) are the absolute residuals (read off the Lanczos relation, or
    exact ones in block Davidson); ``scale`` is the largest ``|Ritz value|`` seen (the
    denominator of the relative tolerance); ``next_vectors`` (n, e) the next ``e`` Ritz vectors,
    when asked for (``block_lanczos(next_ritz=)``).
    """

    values: torch.Tensor
    vectors: torch.Tensor
    residual_estimates: torch.Tensor
    iterations: int
    n_products: int
    restarts: int
    converged: bool
    scale: float
    block_size: int
    basis_size: int
    info: dict = field(default_factory=dict)
    next_vectors: torch.Tensor | None = None


def as_block_operator(op) -> tuple[Callable[[torch.Tensor], torch.Tensor], int, torch.dtype,
                                   torch.device]:
    """``(apply, n, dtype, device)`` for an operator with ``matvec`` or a dense tensor."""
    if isinstance(op, torch.Tensor):
        if op.dim() != 2 or op.shape[0] != op.shape[1]:
            raise ValueError(f"A dense operator must be square, got shape {tuple(op.shape)}.")
        return (lambda V: op @ V), op.shape[0], op.dtype, op.device
    dtype = getattr(op, "dtype", torch.float64)
    device = getattr(op, "device", torch.device("cpu"))
    return op.matvec, op.shape[0], dtype, device


def excluded_directions(op) -> torch.Tensor | None:
    """Orthonormal directions ``(n, c)`` outside ``op``'s domain (its ``excluded_directions()``,
    e.g. the radial directions of the spherical Hessian), or None. A solver keeps its basis
    orthogonal to them, so they never appear among its eigenpairs."""
    method = getattr(op, "excluded_directions", None)
    return method() if method is not None else None


def deflate(V: torch.Tensor, excluded: torch.Tensor | None) -> torch.Tensor:
    """``V`` with its components along the orthonormal ``excluded`` removed (in place; two
    Gram-Schmidt passes)."""
    if excluded is not None:
        orthogonalize(V, excluded.to(device=V.device, dtype=V.dtype))
    return V


def seeded_block(n: int, b: int, seed: int, dtype: torch.dtype,
                 device: torch.device) -> torch.Tensor:
    """``(n, b)`` standard Gaussian block from a CPU generator seeded with ``seed``."""
    gen = torch.Generator(device="cpu")
    gen.manual_seed(int(seed))
    return torch.randn(n, b, generator=gen, dtype=torch.float64).to(device=device, dtype=dtype)


def orthogonalize(W: torch.Tensor, Q: torch.Tensor, passes: int = 2) -> torch.Tensor:
    """Coefficients ``C = Q^T W`` and ``W <- W - Q C`` in place; ``passes`` times (classical
    Gram-Schmidt, twice is enough). ``(W^T Q)^T`` is used: MKL's faster layout (docs/large_n.md)."""
    C = (W.T @ Q).T
    W -= Q @ C
    for _ in range(passes - 1):
        C2 = (W.T @ Q).T
        W -= Q @ C2
        C = C + C2
    return C


def rotate_in_place(Q: torch.Tensor, m: int, S: torch.Tensor, rows: int = 4096) -> None:
    """``Q[:, :keep] = Q[:, :m] @ S`` (``S`` is (m, keep)), a block of rows at a time: the
    thick restart needs no second copy of the basis."""
    keep = S.shape[1]
    for start in range(0, Q.shape[0], rows):
        block = Q[start:start + rows, :m] @ S
        Q[start:start + rows, :keep] = block


def progress_bar(total: int, desc: str):
    """A progress bar of operator calls, shown only on long work (after 2 s) and refreshed at
    most once a second."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="step", leave=False, delay=2.0, mininterval=1.0)
