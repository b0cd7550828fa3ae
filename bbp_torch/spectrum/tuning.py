"""The iterative and dense solvers' tuning rules: default ``k`` and ``tol``, the choice of
``auto``, block and basis sizes. Plain functions of sizes and names (no config, no operator);
:mod:`bbp_torch.config` re-exports them under the same names and decides them once per run.
Measured: docs/large_n.md.
"""

from __future__ import annotations


def default_k(p: int, p_star: int, dim: int) -> int:
    """Bottom pairs by default: the outlier multiplet ``p p*`` plus room for the edge, at most
    ``dim``."""
    return min(max(8, p * p_star + 4), dim)


def default_tol(dtype: str) -> float:
    """Relative residual a returned pair must meet by default: what the precision resolves."""
    return 1e-8 if dtype == "float64" else 1e-5


def smallest_tol(dtype: str) -> float:
    """The smallest relative residual asked of a solve in ``dtype`` (a few hundred eps)."""
    return 1e-13 if dtype == "float64" else 1e-6


def solver_for(name: str, dim: int, auto_max_dim: int) -> str:
    """``dense`` or ``iterative``: ``name``, with ``auto`` decided by the size ``p N``."""
    if name != "auto":
        return name
    return "dense" if dim <= auto_max_dim else "iterative"


def default_block_size(device_type: str, p: int = 4, float32_products: bool = False) -> int:
    """Vectors per Lanczos block: on the CPU enough that a product applies ``X`` to about 16
    columns (``block * p``; at least 4 vectors), or with float32 products (the first phase of
    ``solver.mixed_precision``, or ``dtype=float32``) to up to 32 columns with at most 8
    vectors; on a GPU 16.

    On the CPU a float64 product pass over ``X`` with 4 columns is memory bound and one with 16
    runs at about three times its flop rate, so p = 2 takes 8 vectors: at N = 4000, p = 2 the
    bottom 8 pairs needed 245 block steps of 8 against 336 of 4, each step costing little more.
    At p = 4 four vectors already fill 16 columns; wider blocks need many more vectors (N = 2000:
    900 with 4, 1432 with 8) and in float64 took longer. Float32 products of 32 columns cost
    little more than of 16, so there p = 3-4 take 8 vectors: mixed precision at N = 16000, p = 4,
    tol 1e-6 took 315 float32 steps of 8 against 443 of 4, faster at N = 2000-16000 on the
    machine that set the rule (not on every machine); p = 1-2 keep 16 and 8 (wider blocks were
    slower there). On a GPU a pass is cheap and the per-step overhead dominates, so wider blocks
    pay. Measured: docs/large_n.md.
    """
    if device_type != "cpu":
        return 16
    p = max(1, p)
    narrow = max(4, 16 // p)
    return max(narrow, min(8, 32 // p)) if float32_products else narrow


def solver_block_size(block_size: int | None, device_type: str, kind: str = "euclidean",
                      p: int = 1, float32_products: bool = False) -> int:
    """The block size of the Lanczos iteration: ``block_size`` or the device default for ``p``
    units (:func:`default_block_size`), and for the spherical Hessian at least ``p`` (its ``p``
    radial directions are exact null vectors and a block must hold all of them)."""
    if block_size is not None:
        return block_size
    b = default_block_size(device_type, p, float32_products)
    return max(b, p) if kind == "spherical" else b


def default_basis_size(k: int, block_size: int, n: int | None = None) -> int:
    """Largest basis before a thick restart: ``max(3k, k + 2 block, k + 320)``, at most ``n/2``.

    A larger basis restarts less often but every step reads it twice (reorthogonalisation) and
    diagonalises a larger projected matrix: at pN = 8000 a basis of 800 saved 8% of the
    products and was slower than 328; at N = 16000, p = 4 one of 1000 saved 7.5% of the
    products (1668 against 1804) while its ``eigh`` solves cost more than the products saved;
    with float32 blocks of 8 one of 640 was faster there and slower at N = 8000 (measured:
    docs/large_n.md).
    """
    m = max(3 * k, k + 2 * block_size, k + 320)
    return m if n is None else max(k + 2 * block_size, min(m, n // 2))


def refinement_basis_size(basis_size: int, k: int) -> int:
    """Columns of the float64 refinement's basis (:mod:`bbp_torch.spectrum.davidson`) after a
    float32 Lanczos phase with a basis of ``basis_size``: half of it, at least ``5k`` (its
    ``k`` start vectors, the first expansion of ``k`` residuals and ``2k`` next Ritz vectors,
    and one more). It keeps the products of its basis too, so the two take the memory of the
    Lanczos basis; half of the default also diagonalises quickly enough to do at every step
    (N = 2000, p = 4: the same 201-209 products as with 328 columns, in less time; measured:
    docs/large_n.md)."""
    return max(basis_size // 2, 5 * k)
