"""Eigensolvers behind one interface: :func:`bottom_eigenpairs` (an :class:`Operator`, plain
settings) -> :class:`Eigenpairs`.

Solvers are registered by name (:mod:`.registry`): ``dense`` builds ``H`` and calls LAPACK
(:mod:`.dense`); ``iterative`` is the matrix-free thick-restart block Lanczos (:mod:`.lanczos`,
refined by block Davidson, :mod:`.davidson`); ``auto`` picks one of the two by size
(:func:`.tuning.solver_for`). :mod:`.slq` estimates spectral densities without ``H``. Every
result carries its residuals and whether every pair met ``tol``. Nothing here imports the app's
configuration: its tuning rules live in :mod:`.tuning`, and ``bbp_torch.config`` re-exports
them. Names are loaded on first use, so that ``bbp_torch.config`` can read the registry and the
rules without importing torch.
"""

from __future__ import annotations

from bbp_torch.lazy import lazy_exports

_PUBLIC = {
    "Eigenpairs": "types", "Operator": "types", "SolverSettings": "types",
    "residual_norms": "types", "block_davidson": "davidson", "block_lanczos": "lanczos",
    "iterative_bottom": "lanczos", "dense_bottom": "dense", "full_spectrum": "dense",
    "symmetric_eigh": "dense", "bottom_eigenpairs": "solve",
    "register_solver": "registry", "solver_names": "registry",
}
__all__ = sorted(_PUBLIC)

__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC, globals())
