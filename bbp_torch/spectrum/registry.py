"""Solvers by name: ``solver.name`` is any registered name, or ``auto`` (dense or iterative by
size, :func:`bbp_torch.spectrum.tuning.solver_for`).

A solver is a function ``solve(op, settings, *, k, tol, seed, progress, start) -> Eigenpairs``
(:class:`bbp_torch.spectrum.types.Operator`, settings as
:class:`bbp_torch.spectrum.types.SolverSettings`, ``k`` and ``tol`` decided). Adding one is its
module and one :func:`register_solver` call; the built-in ones are registered here by the
path of their function, so that reading the names imports no solver (nor torch).
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

_SOLVERS: dict[str, Callable | str] = {
    "dense": "bbp_torch.spectrum.dense:solve",
    "iterative": "bbp_torch.spectrum.lanczos:solve",
}
AUTO = "auto"  # not a solver: the choice by size


def register_solver(name: str, solve: Callable | str) -> None:
    """Make ``solve`` (a function, or ``"module:function"`` imported on first use) the solver
    ``name``; a name registered again is replaced."""
    if name == AUTO or not name.isidentifier():
        raise ValueError(f"A solver name must be an identifier other than {AUTO!r}, got "
                         f"{name!r}.")
    _SOLVERS[name] = solve


def unregister_solver(name: str) -> None:
    """Remove a registered solver (tests)."""
    _SOLVERS.pop(name, None)


def solver_names() -> tuple[str, ...]:
    """The registered names, in the order of registration."""
    return tuple(_SOLVERS)


def get_solver(name: str) -> Callable:
    """The function of solver ``name``; a ValueError naming the choices otherwise."""
    if name not in _SOLVERS:
        raise ValueError(f"Unknown solver.name {name!r}: use one of "
                         f"{', '.join((*_SOLVERS, AUTO))}.")
    solve = _SOLVERS[name]
    if isinstance(solve, str):
        module, attr = solve.split(":")
        solve = _SOLVERS[name] = getattr(import_module(module), attr)
    return solve
