"""Solvers by name (bbp_torch.spectrum.registry): the built-in ones, a solver registered in a
test selected by solver.name through run_study, and the names the config accepts."""

from __future__ import annotations

import pytest
import torch

from bbp_torch.config import ConfigError, validate
from bbp_torch.spectrum import bottom_eigenpairs, solver_names
from bbp_torch.spectrum.dense import dense_bottom
from bbp_torch.spectrum.registry import get_solver, register_solver, unregister_solver


@pytest.fixture
def reversed_dense():
    """A solver named ``reversed_dense``: the dense one, with its call recorded."""
    calls = []

    def solve(op, settings, *, k, tol, seed=0, progress=False, start=None, units=1):
        calls.append((k, tol, units))
        pairs = dense_bottom(op, k, tol, full_spectrum=False)
        pairs.solver = "reversed_dense"
        return pairs

    register_solver("reversed_dense", solve)
    yield calls
    unregister_solver("reversed_dense")


def test_builtin_solvers_are_registered_and_auto_is_not_a_solver():
    assert solver_names()[:2] == ("dense", "iterative")
    assert callable(get_solver("dense")) and callable(get_solver("iterative"))
    with pytest.raises(ValueError, match="solver.name 'magic'.*dense, iterative"):
        get_solver("magic")
    with pytest.raises(ValueError, match="identifier"):
        register_solver("auto", lambda *a, **k: None)


def test_a_registered_solver_is_selectable_by_solver_name(reversed_dense):
    from bbp_torch.study import run_study

    cfg = {"problem": {"N": 30, "p": 2, "alpha": 3.0}, "device": "cpu", "theory": False,
           "logging": {"progress": False}, "solver": {"name": "reversed_dense", "k": 3}}
    assert validate(cfg).solver == "reversed_dense"
    metrics = run_study(cfg).record["metrics"]
    assert metrics["solver_used"] == "reversed_dense" and metrics["converged"]
    assert reversed_dense == [(3, 1e-8, 2)]
    dense = run_study({**cfg, "solver": {"name": "dense", "k": 3}}).record["metrics"]
    assert metrics["bottom_eigenvalues"] == pytest.approx(dense["bottom_eigenvalues"], rel=1e-12)


def test_unregistered_names_are_refused_with_the_registered_choices(reversed_dense):
    with pytest.raises(ConfigError, match="solver.name.*reversed_dense, auto"):
        validate({"solver": {"name": "magic"}})
    unregister_solver("reversed_dense")
    with pytest.raises(ConfigError, match="solver.name"):
        validate({"solver": {"name": "reversed_dense"}})


def test_bottom_eigenpairs_takes_plain_settings(reversed_dense):
    from bbp_torch.hessian import HessianOperator
    from bbp_torch.model import make_problem
    from bbp_torch.spectrum import SolverSettings

    op = HessianOperator(make_problem(20, 2, 1, 3.0, 0.7, seed=1))
    pairs = bottom_eigenpairs(op, SolverSettings(name="reversed_dense", k=2))
    assert pairs.solver == "reversed_dense" and len(pairs.values) == 2
    auto = bottom_eigenpairs(op, SolverSettings(name="auto", k=2, auto_max_dim=10, tol=1e-10),
                             units=2)
    assert auto.solver == "iterative" and auto.info["picked_by_auto"]
    assert torch.allclose(auto.values, pairs.values, rtol=1e-8, atol=1e-10)
