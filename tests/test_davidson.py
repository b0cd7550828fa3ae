"""The float64 refinement of a mixed-precision solve (bbp_torch.spectrum.davidson): block
Davidson against dense eigh, its exact residuals, the products it saves, its stops."""

import pytest
import torch
from helpers import subspace_overlap

from bbp_torch.config import SolverConfig, refinement_basis_size
from bbp_torch.hessian import HessianOperator
from bbp_torch.model import make_problem
from bbp_torch.spectrum import bottom_eigenpairs
from bbp_torch.spectrum.davidson import block_davidson
from bbp_torch.spectrum.lanczos import iterative_bottom


def perturbed(vectors: torch.Tensor, size: float, seed: int) -> torch.Tensor:
    """``vectors`` plus seeded Gaussian noise of relative size ``size`` per column."""
    gen = torch.Generator().manual_seed(seed)
    noise = torch.randn(vectors.shape, generator=gen, dtype=vectors.dtype)
    return vectors + size * noise / noise.norm(dim=0) * vectors.norm(dim=0)


def test_mixed_precision_with_many_near_degenerate_pairs_equals_dense():
    """Large width (p = 16, N = 60, k = 20: a 16-fold outlier split at finite N, below the
    transition): the float32 phase reaches its tolerance, then the default tolerance is met in
    true residuals, with the dense pairs."""
    problem = make_problem(60, 16, 1, 0.9, 0.7, seed=3)
    op = HessianOperator(problem)
    k = 20
    dense = bottom_eigenpairs(op, SolverConfig(name="dense", k=k, full_spectrum=False))
    it = bottom_eigenpairs(op, SolverConfig(name="iterative", k=k, max_iter=3000,
                                            mixed_precision=True), units=16)
    first, refine = it.info["phases"]
    assert first["converged"] and refine["method"] == "block_davidson"
    assert it.info["converged"] and max(it.info["relative_residuals"]) <= it.info["tol"]
    scale = float(dense.values.abs().max())
    assert float((it.values - dense.values).abs().max()) <= 1e-8 * scale
    assert subspace_overlap(dense.vectors, it.vectors) > 0.999


@pytest.mark.parametrize("N,p,p_star,alpha,a,kind", [
    (150, 2, 1, 0.8, 0.7, "euclidean"),  # below the transition
    (150, 2, 1, 4.0, 0.7, "euclidean"),  # above, 2-fold outlier
    (100, 3, 2, 5.0, 1.5, "euclidean"),  # 6-fold degenerate outlier multiplet
    (100, 4, 2, 6.0, 1.5, "euclidean"),  # 8-fold multiplet, k = 10
    (150, 2, 1, 4.0, 0.7, "spherical"),  # radial null directions in the spectrum
])
def test_mixed_precision_refinement_equals_dense_on_hessians(N, p, p_star, alpha, a, kind):
    """Float32 Lanczos, then the float64 refinement: the pairs of dense eigh to tol, degenerate
    multiplets included, and true residuals that meet tol."""
    problem = make_problem(N, p, p_star, alpha, a, seed=11, data_dtype="float32")
    op = HessianOperator(problem, kind=kind)
    k = max(8, p * p_star + 2)
    dense = bottom_eigenpairs(op, SolverConfig(name="dense", k=k, full_spectrum=False))
    it = iterative_bottom(op, SolverConfig(name="iterative", k=k, tol=1e-10, max_iter=2000,
                                           mixed_precision=True))
    assert [x["method"] for x in it.info["phases"]] == ["block_lanczos", "block_davidson"]
    assert it.info["method"] == "block_lanczos+block_davidson"
    assert it.info["converged"] and max(it.info["relative_residuals"]) <= 1e-10
    scale = float(dense.values.abs().max())
    assert float((it.values - dense.values).abs().max()) <= 1e-9 * scale
    assert subspace_overlap(dense.vectors, it.vectors) > 0.999
    V = it.vectors
    assert torch.allclose(V.T @ V, torch.eye(k, dtype=V.dtype), atol=1e-10)


def test_residuals_are_exact_and_restarts_keep_the_answer(matrix_with_spectrum):
    """A small basis forces thick restarts; the residuals the refinement reports are the true
    ``||A y - theta y||`` and the pairs are those of eigh."""
    values = torch.cat([torch.tensor([-3.0, -2.9, -2.9, -2.5], dtype=torch.float64),
                        torch.linspace(-1.0, 1.0, 396, dtype=torch.float64)])
    A = matrix_with_spectrum(values, seed=2)
    exact, vecs = torch.linalg.eigh(A)
    r = block_davidson(A, perturbed(vecs[:, :6], 1e-3, seed=1), 6, tol=1e-11, basis_size=18)
    assert r.converged and r.restarts >= 1
    assert torch.allclose(r.values, exact[:6], rtol=0, atol=1e-10)
    true = (A @ r.vectors - r.vectors * r.values[None, :]).norm(dim=0)
    assert float((true - r.residual_estimates).abs().max()) <= 1e-12 * r.scale
    assert float(true.max()) <= 1e-11 * r.scale


def test_converged_pairs_stop_costing_products(matrix_with_spectrum):
    """Four eigenvectors within tol (but not to rounding) and two far from it: after the first
    call on all six, each call applies the operator to the two unconverged residuals at most."""
    values = torch.linspace(0.0, 1.0, 300, dtype=torch.float64) ** 2
    A = matrix_with_spectrum(values, seed=3)
    _, vecs = torch.linalg.eigh(A)
    start = torch.cat([perturbed(vecs[:, :4], 1e-11, seed=1),
                       perturbed(vecs[:, 4:6], 1e-2, seed=2)], dim=1)
    r = block_davidson(A, start, 6, tol=1e-9)
    assert r.converged and r.iterations > 2
    assert r.n_products <= 6 + 2 * (r.iterations - 1)
    assert torch.allclose(r.values, values[:6], rtol=0, atol=1e-10)


def test_stops_at_max_iter_and_at_the_rounding_floor(matrix_with_spectrum):
    """A tolerance below rounding stops (``stalled``) when no residual adds a direction;
    ``max_iter`` bounds the calls; neither is reported as converged."""
    values = torch.linspace(0.0, 1.0, 200, dtype=torch.float64)
    A = matrix_with_spectrum(values, seed=4)
    _, vecs = torch.linalg.eigh(A)
    start = perturbed(vecs[:, :4], 1e-2, seed=3)
    short = block_davidson(A, start, 4, tol=1e-12, max_iter=2)
    assert short.iterations == 2 and not short.converged and not short.info["stalled"]
    floor = block_davidson(A, start, 4, tol=1e-30, max_iter=500)
    assert floor.info["stalled"] and not floor.converged and floor.iterations < 500
    assert float(floor.residual_estimates.max()) <= 1e-11  # eps^(3/4): the floor


def test_start_needs_k_columns():
    with pytest.raises(ValueError, match="fewer than k"):
        block_davidson(torch.eye(50, dtype=torch.float64),
                       torch.ones(50, 2, dtype=torch.float64), 3, tol=1e-8)


def test_refinement_basis_rule():
    """Half the Lanczos basis (basis and products then fill the same memory), at least 5k."""
    assert refinement_basis_size(328, 8) == 164
    assert refinement_basis_size(20, 8) == 40
    problem = make_problem(100, 2, 1, 4.0, 0.7, seed=1, data_dtype="float32")
    it = iterative_bottom(HessianOperator(problem),
                          SolverConfig(name="iterative", k=8, tol=1e-9, block_size=2,
                                       basis_size=20, mixed_precision=True))
    assert it.info["converged"] and it.info["basis_size"] == 40


def test_next_ritz_vectors_join_the_first_expansion_only_when_needed(matrix_with_spectrum):
    """Lanczos hands over its next Ritz vectors (orthonormal, orthogonal to the wanted ones);
    the refinement applies the operator to them in its second call, unless the start pairs
    have already converged, where one call suffices."""
    from bbp_torch.spectrum.lanczos import block_lanczos

    values = torch.cat([torch.tensor([-2.0, -1.9, -1.85], dtype=torch.float64),
                        torch.linspace(-1.0, 1.0, 297, dtype=torch.float64)])
    A = matrix_with_spectrum(values, seed=5)
    loose = block_lanczos(A, 4, block_size=4, tol=1e-4, next_ritz=8)
    both = torch.cat([loose.vectors, loose.next_vectors], dim=1)
    assert loose.next_vectors.shape == (300, 8)
    assert torch.allclose(both.T @ both, torch.eye(12, dtype=torch.float64), atol=1e-10)
    r = block_davidson(A, loose.vectors, 4, tol=1e-11, next_vectors=loose.next_vectors)
    assert r.converged and r.iterations >= 2 and r.n_products >= 4 + 8 + 1
    assert torch.allclose(r.values, values[:4], rtol=0, atol=1e-10)
    done = block_davidson(A, r.vectors, 4, tol=1e-10, next_vectors=loose.next_vectors)
    assert done.converged and (done.iterations, done.n_products) == (1, 4)


def test_an_operator_smaller_than_the_basis(matrix_with_spectrum):
    """n = 30 with k = 8 and 16 next vectors: the basis is the whole space at most, and the
    pairs are exact."""
    values = torch.linspace(-1.0, 1.0, 30, dtype=torch.float64)
    A = matrix_with_spectrum(values, seed=6)
    _, vecs = torch.linalg.eigh(A)
    start = perturbed(vecs[:, :8], 1e-2, seed=4)
    r = block_davidson(A, start, 8, tol=1e-10, next_vectors=perturbed(vecs[:, 8:24], 1e-2, 5))
    assert r.converged and r.basis_size == 30
    assert torch.allclose(r.values, values[:8], rtol=0, atol=1e-10)


class NoisyProduct:
    """``A V`` plus a fresh seeded error of relative size ``eta ||A||`` per column: a product
    in a lower precision (float32: ``eta`` about 1e-7)."""

    def __init__(self, A: torch.Tensor, eta: float, seed: int = 0):
        self.A, self.eta, self.calls = A, eta, 0
        self.shape, self.dtype, self.device = A.shape, A.dtype, A.device
        self.norm = float(torch.linalg.matrix_norm(A, ord=2))
        self.gen = torch.Generator().manual_seed(seed)

    def matvec(self, V: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        noise = torch.randn(V.shape, generator=self.gen, dtype=V.dtype)
        return self.A @ V + self.eta * self.norm * noise / noise.norm(dim=0) * V.norm(dim=0)


@pytest.mark.parametrize("start_error", [1e-6, 1e-2, 0.3])
def test_inexact_expansions_reach_the_exact_tolerance(matrix_with_spectrum, start_error):
    """Expansions applied with products of relative error 1e-6 (far above tol = 1e-11, at which
    the noisy operator alone cannot converge): the true residuals meet tol, the pairs are those
    of eigh, every basis' first block went to the exact operator (the anchors), and a start
    far from the answer needs more anchors, not a looser answer."""
    values = torch.cat([torch.tensor([-3.0, -2.9, -2.899, -2.5], dtype=torch.float64),
                        torch.linspace(-1.0, 1.0, 296, dtype=torch.float64)])
    A = matrix_with_spectrum(values, seed=7)
    exact, vecs = torch.linalg.eigh(A)
    start = perturbed(vecs[:, :4], start_error, seed=8)
    noisy = NoisyProduct(A, 1e-6)
    r = block_davidson(A, start, 4, tol=1e-11, expansion_op=noisy)
    true = (A @ r.vectors - r.vectors * r.values[None, :]).norm(dim=0)
    assert r.converged and float(true.max()) <= 1e-11 * r.scale
    assert torch.allclose(r.values, exact[:4], rtol=0, atol=1e-12)
    assert r.info["anchors"] >= 1 and noisy.calls == r.iterations - 1 - r.info["anchors"]
    alone = block_davidson(noisy, start, 4, tol=1e-11, max_iter=200)
    alone_true = (A @ alone.vectors - alone.vectors * alone.values[None, :]).norm(dim=0)
    assert float(alone_true.max()) > 1e-9 * alone.scale


def test_mixed_precision_refines_with_float32_expansions():
    """The default mixed-precision solve: float32 Lanczos, then a refinement whose corrections
    use float32 products and whose answer is that of float64 products throughout."""
    problem = make_problem(300, 3, 1, 3.0, 0.7, seed=2)
    op = HessianOperator(problem)
    mixed = iterative_bottom(op, SolverConfig(name="iterative", k=8, tol=1e-10, max_iter=3000,
                                              mixed_precision=True))
    plain = iterative_bottom(op, SolverConfig(name="iterative", k=8, tol=1e-10, max_iter=3000,
                                              mixed_precision=False))
    refine = mixed.info["phases"][1]
    assert (refine["compute_dtype"], refine["expansion_dtype"]) == ("float64", "float32")
    assert refine["anchors"] >= 1 and mixed.info["converged"]
    assert max(mixed.info["relative_residuals"]) <= 1e-10
    scale = float(plain.values.abs().max())
    assert float((mixed.values - plain.values).abs().max()) <= 1e-12 * scale
    assert subspace_overlap(plain.vectors, mixed.vectors) > 0.9999


def test_inexact_expansions_stop_at_the_rounding_floor(matrix_with_spectrum):
    """A tolerance below rounding with inexact expansions: the solve stops at the exact
    operator's rounding floor (no new direction right after an anchor), long before
    ``max_iter``, and nothing is converged."""
    values = torch.linspace(0.0, 1.0, 200, dtype=torch.float64)
    A = matrix_with_spectrum(values, seed=4)
    _, vecs = torch.linalg.eigh(A)
    start = perturbed(vecs[:, :4], 1e-2, seed=3)
    r = block_davidson(A, start, 4, tol=1e-30, max_iter=2000, expansion_op=NoisyProduct(A, 1e-6))
    assert r.info["stalled"] and not r.converged and r.iterations < 400
    true = (A @ r.vectors - r.vectors * r.values[None, :]).norm(dim=0)
    assert float(true.max()) <= 1e-10 * r.scale  # the noise times the corrections' size
