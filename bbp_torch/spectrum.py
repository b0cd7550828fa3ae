"""Eigensolvers behind one interface.

:func:`bottom_eigenpairs` returns the ``k`` smallest (algebraic) eigenpairs of a Hessian operator
as an :class:`Eigenpairs`, whatever the solver; :func:`full_spectrum` returns every eigenvalue
(dense only). Eigenvalues are ascending; eigenvectors are unit columns, defined up to sign (every
observable built on them is sign-free). Each returned pair carries its residual
``||H v - lambda v||`` computed with the matrix-free operator, so a solver's answer is checked
independently of how it was obtained.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.linalg
import torch

from bbp_torch.hessian import HessianOperator

SOLVERS = ("dense", "iterative", "auto")


@dataclass
class Eigenpairs:
    """``values`` (k,) ascending, ``vectors`` (pN, k) unit columns, ``residuals`` (k,)."""

    values: torch.Tensor
    vectors: torch.Tensor
    residuals: torch.Tensor
    solver: str
    iterations: int | None = None
    all_values: torch.Tensor | None = None  # the whole spectrum, when the solver has it
    info: dict = field(default_factory=dict)


def residual_norms(
    op: HessianOperator, values: torch.Tensor, vectors: torch.Tensor
) -> torch.Tensor:
    """``||H v_j - lambda_j v_j||`` for each column ``v_j``."""
    return (op.matvec(vectors) - vectors * values[None, :]).norm(dim=0)


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


def dense_bottom(op: HessianOperator, k: int, full_spectrum: bool = True) -> Eigenpairs:
    """Build ``H`` densely; bottom ``k`` pairs, plus all eigenvalues when ``full_spectrum``."""
    H = op.dense()
    all_values = torch.linalg.eigvalsh(H) if full_spectrum else None
    values, vectors = symmetric_eigh(H, k)
    del H
    return Eigenpairs(
        values=values,
        vectors=vectors,
        residuals=residual_norms(op, values, vectors),
        solver="dense",
        all_values=all_values,
    )


def full_spectrum(op: HessianOperator) -> torch.Tensor:
    """Every eigenvalue of ``H`` (dense), ascending."""
    return torch.linalg.eigvalsh(op.dense())


def bottom_eigenpairs(
    op: HessianOperator,
    k: int,
    solver: str = "dense",
    full_spectrum: bool = True,
    **options,
) -> Eigenpairs:
    """The ``k`` smallest eigenpairs of ``op`` with the named solver.

    ``dense`` builds ``H``; ``iterative`` is the matrix-free block Lanczos of
    :mod:`bbp_torch.iterative` (options ``tol``, ``max_iter``, ``seed``, ``block_size``,
    ``basis_size``, ``progress``, ``mixed_precision``); ``auto`` is dense when
    ``p*N <= auto_max_dim`` (default 6000) and iterative above, and says which it picked
    (``Eigenpairs.solver``, and a printed line).
    """
    if solver not in SOLVERS:
        raise ValueError(f"Unknown solver.name {solver!r}: use one of {', '.join(SOLVERS)}.")
    if k < 1 or k > op.shape[0]:
        raise ValueError(f"solver.k={k} must be between 1 and the Hessian size {op.shape[0]}.")
    picked_by_auto = solver == "auto"
    if picked_by_auto:
        limit = options.get("auto_max_dim", 6000)
        solver = "dense" if op.shape[0] <= limit else "iterative"
        relation = "<=" if solver == "dense" else ">"
        print(f"bbp: solver.name=auto picked {solver} (p*N={op.shape[0]} {relation} "
              f"solver.auto_max_dim={limit}).")
    if solver == "dense":
        pairs = dense_bottom(op, k, full_spectrum=full_spectrum)
    else:
        from bbp_torch.iterative import iterative_bottom

        keys = ("tol", "max_iter", "seed", "block_size", "basis_size", "progress",
                "mixed_precision")
        pairs = iterative_bottom(op, k, **{key: options[key] for key in keys
                                           if options.get(key) is not None})
    pairs.info["picked_by_auto"] = picked_by_auto
    return pairs
