"""What the iterative eigensolvers share (:mod:`bbp_torch.spectrum.lanczos`,
:mod:`bbp_torch.spectrum.davidson`): their result, the operator as a block product, the seeded
start, Gram-Schmidt against a basis, the in-place rotation of a thick restart, the progress bar,
and their loop state (:class:`KrylovState`).
"""

from __future__ import annotations

import time
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


@dataclass
class KrylovState:
    """The state of an iterative solve's loop, shared by block Lanczos and block Davidson.

    ``basis`` (n, columns) holds the orthonormal basis in its first ``m`` columns (Lanczos: and
    the next block after them); ``products`` its images ``H V`` when the method keeps them
    (Davidson), else None; ``projected`` the float64 projected matrix ``V^T H V`` on the CPU.
    ``theta``, ``ritz`` (coefficients ``S``, (m, m)) and ``residuals`` (absolute, of the wanted
    pairs) are those of the last Rayleigh-Ritz solve. Counters: ``iterations`` operator calls,
    ``n_products`` vectors applied to, ``restarts``, ``ritz_solves``; ``history`` ``(iteration,
    largest wanted relative residual)`` per Rayleigh-Ritz solve; seconds in products, in Ritz
    solves (with the Ritz vectors and residuals Davidson forms) and in orthogonalisation against
    the basis.
    """

    basis: torch.Tensor
    projected: torch.Tensor
    products: torch.Tensor | None = None
    m: int = 0
    scale: float = 0.0
    theta: torch.Tensor | None = None
    ritz: torch.Tensor | None = None
    residuals: torch.Tensor | None = None
    iterations: int = 0
    n_products: int = 0
    restarts: int = 0
    ritz_solves: int = 0
    time_apply: float = 0.0
    time_ritz: float = 0.0
    time_orthogonalize: float = 0.0
    history: list = field(default_factory=list)
    converged: bool = False
    stalled: bool = False

    @classmethod
    def allocate(cls, n: int, columns: int, dtype: torch.dtype, device: torch.device,
                 keep_products: bool = False, scale: float = 0.0) -> KrylovState:
        """Zero basis of ``columns`` columns (and products when kept), projected matrix of
        ``columns`` rows at most."""
        basis = torch.zeros(n, columns, dtype=dtype, device=device)
        return cls(basis=basis, products=torch.zeros_like(basis) if keep_products else None,
                   projected=torch.zeros(columns, columns, dtype=torch.float64),
                   scale=float(scale))

    def apply(self, apply: Callable[[torch.Tensor], torch.Tensor],
              block: torch.Tensor) -> torch.Tensor:
        """``H block`` in the basis' dtype, counted and timed."""
        t0 = time.perf_counter()
        W = apply(block).to(self.basis.dtype)
        if W.device.type == "cuda":
            torch.cuda.synchronize(W.device)
        self.time_apply += time.perf_counter() - t0
        self.iterations += 1
        self.n_products += block.shape[1]
        return W

    def rayleigh_ritz(self) -> None:
        """``theta, ritz`` of the projected matrix's leading ``m x m`` block (symmetrised);
        ``scale`` grows to the largest ``|theta|``."""
        t0 = time.perf_counter()
        G = self.projected[:self.m, :self.m]
        self.theta, self.ritz = small_eigh(0.5 * (G + G.T))
        self.scale = max(self.scale, float(self.theta.abs().max()))
        self.time_ritz += time.perf_counter() - t0
        self.ritz_solves += 1

    def thick_restart(self, keep: int) -> None:
        """Compress the basis (and its products) to the ``keep`` smallest Ritz vectors, in
        place; the projected matrix becomes their Ritz values' diagonal."""
        S = self.ritz[:, :keep].to(device=self.basis.device, dtype=self.basis.dtype)
        rotate_in_place(self.basis, self.m, S)
        if self.products is not None:
            rotate_in_place(self.products, self.m, S)
        self.projected.zero_()
        self.projected[:keep, :keep] = torch.diag(self.theta[:keep])
        self.m = keep
        self.restarts += 1

    def result(self, k: int, vectors: torch.Tensor, block_size: int, basis_size: int,
               method: str, next_vectors: torch.Tensor | None = None) -> KrylovResult:
        """The :class:`KrylovResult` of the state: the ``k`` smallest Ritz values with
        ``vectors``."""
        return KrylovResult(
            values=self.theta[:k].to(device=vectors.device, dtype=vectors.dtype),
            vectors=vectors, residual_estimates=self.residuals[:k],
            iterations=self.iterations, n_products=self.n_products, restarts=self.restarts,
            converged=self.converged, scale=self.scale, block_size=block_size,
            basis_size=basis_size,
            info={"time_apply": self.time_apply, "time_ritz": self.time_ritz,
                  "time_orthogonalize": self.time_orthogonalize,
                  "ritz_solves": self.ritz_solves, "history": [h for _, h in self.history],
                  "stalled": self.stalled, "method": method},
            next_vectors=next_vectors)


# Projected matrices up to this order are diagonalised on one thread (see small_eigh).
_ONE_THREAD_EIGH = 1024


def small_eigh(G: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``torch.linalg.eigh`` of a small symmetric CPU matrix (a projected matrix), on one
    thread up to order ``_ONE_THREAD_EIGH``: there the threaded LAPACK gains nothing and, on a
    machine whose cores are busy, lost 4-10x (two shared cores, order 180-388: 12-52 ms on one
    thread against 76-516 ms on two; docs/large_n.md)."""
    if G.device.type != "cpu" or G.shape[0] > _ONE_THREAD_EIGH:
        return torch.linalg.eigh(G)
    threads = torch.get_num_threads()
    if threads == 1:
        return torch.linalg.eigh(G)
    torch.set_num_threads(1)
    try:
        return torch.linalg.eigh(G)
    finally:
        torch.set_num_threads(threads)


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
