"""Eigensolvers behind one interface: :func:`bottom_eigenpairs` (``op``, one
:class:`bbp_torch.config.SolverConfig`) -> :class:`Eigenpairs`.

``dense`` builds ``H`` from the closed form and calls LAPACK (:mod:`.dense`); ``iterative`` is
the matrix-free thick-restart block Lanczos (:mod:`.lanczos`); ``auto`` picks by size, by the
rule of :func:`bbp_torch.config.solver_for`. :mod:`.slq` estimates spectral densities without
``H``. Every result carries its residuals and whether every pair met ``tol``.
"""

from __future__ import annotations

from dataclasses import replace

from bbp_torch.config import SolverConfig, default_k, default_tol, solver_for
from bbp_torch.spectrum.davidson import block_davidson
from bbp_torch.spectrum.dense import dense_bottom, full_spectrum, symmetric_eigh
from bbp_torch.spectrum.krylov import excluded_directions
from bbp_torch.spectrum.lanczos import block_lanczos, iterative_bottom
from bbp_torch.spectrum.types import Eigenpairs, residual_norms

__all__ = ["Eigenpairs", "block_davidson", "block_lanczos", "bottom_eigenpairs", "dense_bottom",
           "full_spectrum", "iterative_bottom", "residual_norms", "symmetric_eigh"]


def bottom_eigenpairs(op, settings: SolverConfig | None = None, *, seed: int = 0,
                      progress: bool = False, start=None) -> Eigenpairs:
    """The ``settings.k`` smallest eigenpairs of the Hessian operator ``op``.

    ``settings`` (default: ``SolverConfig()``, the dense solver) is the solver group; the fields
    left null (``k``, ``tol``) take the defaults of :mod:`bbp_torch.config` for ``op``, and
    ``name="auto"`` is decided by size. ``seed`` fixes the Lanczos start block; ``progress``
    shows a progress bar on long iterative solves. ``start`` (pN, s), e.g. the eigenvectors of
    a nearby operator, warm-starts the iterative solver (the dense one ignores it). An operator
    with excluded directions (the spherical Hessian's radial ones) is solved on their
    complement: ``k`` is at most its dimension.
    """
    s = settings or SolverConfig()
    excluded = excluded_directions(op)
    n = op.shape[0] - (0 if excluded is None else excluded.shape[1])
    k = s.k if s.k is not None else default_k(op.p, op.problem.p_star, n)
    if not 1 <= k <= n:
        raise ValueError(f"solver.k={k} must be between 1 and the Hessian's dimension {n}.")
    tol = s.tol if s.tol is not None else default_tol(str(op.dtype).removeprefix("torch."))
    name = solver_for(s.name, n, s.auto_max_dim)
    if name not in ("dense", "iterative"):
        raise ValueError(f"Unknown solver.name {s.name!r}: use dense, iterative or auto.")
    if name == "dense":
        pairs = dense_bottom(op, k, tol, full_spectrum=s.full_spectrum,
                             all_vectors=s.all_vectors)
    else:
        pairs = iterative_bottom(op, replace(s, k=k, tol=tol), seed=seed, progress=progress,
                                 start=start)
    pairs.info["picked_by_auto"] = s.name == "auto"
    return pairs
