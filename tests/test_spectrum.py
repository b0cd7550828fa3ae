"""The eigensolver interface (bbp_torch.spectrum): the dense path, the dispatch of
bottom_eigenpairs (dense, iterative, auto, the config defaults) and what every result carries."""

import math

import pytest
import torch

from bbp_torch.config import SolverConfig, default_k
from bbp_torch.errors import NumericalError
from bbp_torch.hessian import HessianOperator
from bbp_torch.model import make_problem
from bbp_torch.spectrum import (
    bottom_eigenpairs,
    dense_bottom,
    full_spectrum,
    symmetric_eigh,
)


def test_symmetric_eigh_bottom_subset_equals_the_known_spectrum(device, matrix_with_spectrum):
    values = torch.linspace(-2.0, 5.0, 80, dtype=torch.float64)
    A = matrix_with_spectrum(values, seed=3).to(device)
    for k in (1, 7, None):
        vals, vecs = symmetric_eigh(A, k)
        m = 80 if k is None else k
        assert vals.shape == (m,) and vecs.shape == (80, m)
        assert torch.allclose(vals.cpu(), values[:m], atol=1e-12)
        assert float((A @ vecs - vecs * vals[None, :]).abs().max()) < 1e-12


@pytest.mark.parametrize("kind", ["euclidean", "spherical"])
def test_dense_path_returns_checked_pairs_and_the_whole_spectrum(kind, device, spherical_chart):
    """The spherical Hessian's spectrum is that of the tangent space: the p(N - 1) eigenvalues
    of the autograd Hessian in a chart of the spheres, without the p radial zeros."""
    problem = make_problem(40, 2, 1, 3.0, 0.7, seed=2, device=device)
    op = HessianOperator(problem, kind=kind)
    H = op.dense()
    pairs = bottom_eigenpairs(op)  # default settings: the dense solver, k and tol from config
    assert pairs.solver == "dense" and not pairs.info["picked_by_auto"]
    assert len(pairs.values) == default_k(2, 1, 80) == 8 and pairs.tol == 1e-8
    exact = torch.linalg.eigvalsh(H if kind == "euclidean" else spherical_chart(problem)[1])
    assert len(exact) == (80 if kind == "euclidean" else 78)
    assert torch.allclose(pairs.all_values, exact, atol=1e-12)
    assert torch.allclose(pairs.values, exact[:8], atol=1e-12)
    assert torch.allclose(full_spectrum(op), exact, atol=1e-12)
    assert pairs.scale == pytest.approx(float(exact.abs().max()), rel=1e-12)
    # the residuals are recomputed with the operator, independently of the solver
    direct = (H @ pairs.vectors - pairs.vectors * pairs.values[None, :]).norm(dim=0)
    assert torch.allclose(pairs.residuals, direct, atol=1e-12)
    assert pairs.converged and max(pairs.relative_residuals) < 1e-12
    # without the whole spectrum the scale is a lower bound on ||H||_2, from the pairs and H
    part = bottom_eigenpairs(op, SolverConfig(k=3, full_spectrum=False))
    assert part.all_values is None and torch.allclose(part.values, exact[:3], atol=1e-12)
    assert float(exact[:3].abs().max()) <= part.scale <= float(exact.abs().max()) * (1 + 1e-12)
    assert part.scale >= float(H.norm()) / math.sqrt(80) * (1 - 1e-12)


def test_auto_picks_by_size_and_says_so():
    problem = make_problem(60, 2, 1, 3.0, 0.7, seed=1)
    op = HessianOperator(problem)
    small = bottom_eigenpairs(op, SolverConfig(name="auto", k=4, auto_max_dim=1000))
    assert small.solver == "dense" and small.info["picked_by_auto"]
    large = bottom_eigenpairs(op, SolverConfig(name="auto", k=4, auto_max_dim=100, tol=1e-10))
    assert large.solver == "iterative" and large.info["picked_by_auto"]
    assert not bottom_eigenpairs(op, SolverConfig(k=4)).info["picked_by_auto"]
    assert torch.allclose(small.values, large.values, rtol=1e-8, atol=1e-10)


def test_float32_problem_gets_the_float32_tolerance():
    problem = make_problem(30, 1, 1, 2.0, 0.7, seed=0, dtype="float32")
    pairs = bottom_eigenpairs(HessianOperator(problem), SolverConfig(k=2))
    assert pairs.tol == 1e-5 and pairs.values.dtype == torch.float32


def test_k_outside_the_operator_is_refused():
    op = HessianOperator(make_problem(10, 2, 1, 2.0, 0.7))
    for k in (0, 21):
        with pytest.raises(ValueError, match="solver.k"):
            bottom_eigenpairs(op, SolverConfig(k=k))
    with pytest.raises(ValueError, match="solver.name"):
        bottom_eigenpairs(op, SolverConfig(name="magic", k=2))


def test_non_finite_hessian_is_a_numerical_error():
    problem = make_problem(10, 1, 1, 2.0, 0.7)
    problem.X[0, 0] = float("nan")
    with pytest.raises(NumericalError, match="non-finite"):
        dense_bottom(HessianOperator(problem), 2, 1e-8)


class MatrixOperator:
    """A plain symmetric matrix behind the solvers' protocol (shape, dtype, device, a block
    product, optionally excluded directions): nothing of the Hessian."""

    def __init__(self, A: torch.Tensor, excluded: torch.Tensor | None = None):
        self.A, self.excluded = A, excluded
        self.shape, self.dtype, self.device = tuple(A.shape), A.dtype, A.device

    def matvec(self, V: torch.Tensor) -> torch.Tensor:
        return self.A @ V

    def excluded_directions(self) -> torch.Tensor | None:
        return self.excluded


def test_any_operator_of_the_protocol_is_solved_by_lanczos_and_davidson():
    import numpy as np

    from bbp_torch.spectrum import Operator, SolverSettings, block_davidson, block_lanczos

    rng = np.random.default_rng(3)
    n = 400
    B = rng.standard_normal((n, n))
    A = (B + B.T) / np.sqrt(2 * n)
    exact, vectors = np.linalg.eigh(A)
    op = MatrixOperator(torch.from_numpy(A))
    assert isinstance(op, Operator)
    lanczos = block_lanczos(op, 6, block_size=4, tol=1e-10)
    assert lanczos.converged
    assert np.allclose(lanczos.values.numpy(), exact[:6], rtol=0, atol=1e-10)
    start = torch.from_numpy(vectors[:, :6] + 1e-3 * rng.standard_normal((n, 6)))
    davidson = block_davidson(op, start, 6, tol=1e-10)
    assert davidson.converged
    assert np.allclose(davidson.values.numpy(), exact[:6], rtol=0, atol=1e-10)
    pairs = bottom_eigenpairs(op, SolverSettings(name="iterative", k=6, tol=1e-10))
    assert pairs.converged and pairs.solver == "iterative"
    assert np.allclose(pairs.values.numpy(), exact[:6], rtol=0, atol=1e-10)
    # excluded directions: the solvers answer on their complement
    E = torch.from_numpy(vectors[:, :2].copy())
    on_complement = block_lanczos(MatrixOperator(torch.from_numpy(A), E), 4, block_size=4,
                                  tol=1e-10)
    assert np.allclose(on_complement.values.numpy(), exact[2:6], rtol=0, atol=1e-10)
    with pytest.raises(ValueError, match="dense\\(\\)"):
        bottom_eigenpairs(op, SolverSettings(name="dense", k=2))
