"""The one entry point of the solvers: :func:`bottom_eigenpairs`."""

from __future__ import annotations

from bbp_torch.spectrum.krylov import excluded_directions
from bbp_torch.spectrum.registry import AUTO, get_solver
from bbp_torch.spectrum.tuning import default_k, default_tol, solver_for
from bbp_torch.spectrum.types import Eigenpairs, Operator, SolverSettings


def bottom_eigenpairs(op: Operator, settings=None, *, seed: int = 0, progress: bool = False,
                      start=None, units: int = 1, outliers: int = 1) -> Eigenpairs:
    """The ``settings.k`` smallest eigenpairs of the operator ``op``.

    ``settings`` (default: :class:`SolverSettings`, the dense solver) is any object with the
    fields of :class:`SolverSettings` (e.g. the app's solver group); the fields left null take
    the rules of :mod:`bbp_torch.spectrum.tuning`: ``k`` for ``outliers`` expected outliers
    (the Hessian's ``p p*``), ``tol`` for ``op.dtype``, the block size for ``units`` columns per
    vector (the Hessian's ``p``). ``name`` is a registered solver, or ``auto`` (decided by
    size). ``seed`` fixes the Lanczos start block; ``progress`` shows a progress bar on long
    iterative solves. ``start`` (pN, s), e.g. the eigenvectors of a nearby operator,
    warm-starts the iterative solver (the dense one ignores it). An operator with excluded
    directions (the spherical Hessian's radial ones) is solved on their complement: ``k`` is
    at most its dimension.
    """
    s = settings if settings is not None else SolverSettings()
    excluded = excluded_directions(op)
    n = op.shape[0] - (0 if excluded is None else excluded.shape[1])
    k = s.k if s.k is not None else default_k(outliers, 1, n)
    if not 1 <= k <= n:
        raise ValueError(f"solver.k={k} must be between 1 and the Hessian's dimension {n}.")
    tol = s.tol if s.tol is not None else default_tol(str(op.dtype).removeprefix("torch."))
    solve = get_solver(solver_for(s.name, n, s.auto_max_dim))
    pairs = solve(op, s, k=k, tol=tol, seed=seed, progress=progress, start=start, units=units)
    pairs.info["picked_by_auto"] = s.name == AUTO
    return pairs
