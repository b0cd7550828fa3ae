"""Matrix-free thick-restart block Lanczos (bbp_torch.spectrum.lanczos) against dense eigh:
known spectra, Hessians, float32 storage, mixed precision, stalls and the iteration limit."""

import pytest
import torch
from helpers import subspace_overlap

from bbp_torch.config import SolverConfig
from bbp_torch.hessian import HessianOperator
from bbp_torch.model import make_problem
from bbp_torch.spectrum import bottom_eigenpairs
from bbp_torch.spectrum.lanczos import block_lanczos, iterative_bottom

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def test_known_spectrum_with_degenerate_bottom(device, matrix_with_spectrum):
    n = 500
    values = torch.linspace(-1.0, 6.0, n, dtype=torch.float64)
    values[:3] = -3.0  # exactly degenerate triplet
    values[3:5] = torch.tensor([-2.5, -2.4999], dtype=torch.float64)  # near-degenerate pair
    A = matrix_with_spectrum(values).to(device)
    r = block_lanczos(A, 8, tol=1e-10)
    assert r.converged and r.vectors.device.type == torch.device(device).type
    assert torch.allclose(r.values.cpu(), values[:8], rtol=0, atol=1e-9)
    V = r.vectors
    assert torch.allclose(V.T @ V, torch.eye(8, dtype=V.dtype, device=V.device), atol=1e-10)
    res = (A @ V - V * r.values[None, :]).norm(dim=0)
    assert float(res.max()) < 1e-9 * float(values.abs().max()) * 10


def test_few_distinct_eigenvalues_closes_krylov_space():
    """A diagonal with 6 distinct values: the Krylov space becomes invariant after a few blocks."""
    n = 400
    values = torch.tensor([-2.0, -1.0, 0.0, 1.0, 2.0, 3.0], dtype=torch.float64)
    diag = values.repeat_interleave(n // 6 + 1)[:n].sort().values
    r = block_lanczos(torch.diag(diag), 5, block_size=4, tol=1e-10)
    assert r.converged
    assert torch.allclose(r.values, diag[:5], atol=1e-10)


def test_tiny_operator_falls_back_to_full_projection(matrix_with_spectrum):
    values = torch.arange(12, dtype=torch.float64) - 5.0
    r = block_lanczos(matrix_with_spectrum(values, seed=1), 3)
    assert r.info.get("small_problem") and torch.allclose(r.values, values[:3], atol=1e-12)


HESSIAN_CASES = [  # (N, p, p_star, alpha, a, kind)
    (200, 1, 1, 1.0, 1.0, "euclidean"),  # phase retrieval, below the transition
    (200, 1, 1, 4.0, 1.0, "euclidean"),  # above it
    (150, 2, 1, 0.8, 0.7, "euclidean"),  # below
    (150, 2, 1, 4.0, 0.7, "euclidean"),  # above, 2-fold outlier
    (100, 3, 2, 5.0, 1.5, "euclidean"),  # 6-fold degenerate outlier multiplet
    (100, 4, 2, 6.0, 1.5, "euclidean"),  # 8-fold multiplet, k = 10 (block 4 < multiplet)
    (120, 2, 2, 3.0, 0.4, "euclidean"),  # small a: a 4-fold multiplet near the edge
    (150, 2, 1, 4.0, 0.7, "spherical"),  # radial null directions in the spectrum
]


@pytest.mark.parametrize("N,p,p_star,alpha,a,kind", HESSIAN_CASES)
def test_iterative_equals_dense_on_hessians(N, p, p_star, alpha, a, kind, device):
    problem = make_problem(N, p, p_star, alpha, a, seed=11, device=device)
    op = HessianOperator(problem, kind=kind)
    k = max(8, p * p_star + 2)
    dense = bottom_eigenpairs(op, SolverConfig(name="dense", k=k, full_spectrum=False))
    it = bottom_eigenpairs(op, SolverConfig(name="iterative", k=k, tol=1e-10, max_iter=2000))
    assert it.solver == "iterative" and it.info["converged"]
    assert not it.info["small_problem"]  # the Lanczos path, not the tiny-operator fallback
    scale = float(dense.values.abs().max())
    assert float((it.values - dense.values).abs().max()) <= 1e-8 * scale
    # Compare spans up to the last clear gap (a split cluster makes single vectors ambiguous).
    assert subspace_overlap(dense.vectors, it.vectors) > 0.999
    for j in range(k):  # each vector in the span of dense vectors with nearby eigenvalues
        near = (dense.values - it.values[j]).abs() < 1e-6 * max(1.0, scale)
        proj = (dense.vectors[:, near].T @ it.vectors[:, j]).pow(2).sum()
        assert float(proj) > 0.999
    assert float(it.residuals.max()) <= 1e-9 * it.info["scale"]
    assert it.iterations > 0 and it.info["n_products"] > k
    assert len(it.residuals) == k


def test_restarts_and_sparse_ritz_solves_agree_with_dense():
    """A small basis (many thick restarts, each rotating the basis in place) and Rayleigh-Ritz
    solves only every few steps: the same pairs as dense eigh, an orthonormal result, and the
    reported residual estimates close to the true residuals."""
    problem = make_problem(150, 2, 1, 4.0, 0.7, seed=5)
    op = HessianOperator(problem)
    dense = bottom_eigenpairs(op, SolverConfig(name="dense", k=8, full_spectrum=False))
    r = block_lanczos(op, 8, block_size=4, basis_size=40, tol=1e-10, max_iter=3000)
    assert r.converged and r.restarts >= 5
    assert r.info["ritz_solves"] < r.iterations  # the projected matrix is not solved every step
    scale = float(dense.values.abs().max())
    assert float((r.values - dense.values).abs().max()) <= 1e-9 * scale
    V = r.vectors
    assert torch.allclose(V.T @ V, torch.eye(8, dtype=V.dtype), atol=1e-10)
    true = (op.matvec(V) - V * r.values[None, :]).norm(dim=0)
    assert float(true.max()) <= 1e-9 * r.scale
    assert float((true - r.residual_estimates).abs().max()) <= 1e-10 * r.scale


@pytest.mark.parametrize("p,block,block32", [(1, 16, 16), (2, 8, 8), (3, 5, 8), (4, 4, 8),
                                             (5, 4, 6), (8, 4, 4)])
def test_default_block_fills_sixteen_columns_of_the_product(p, block, block32):
    """16 columns per product (at least 4 vectors); float32 products up to 32 columns with at
    most 8 vectors, never fewer than in float64."""
    from bbp_torch.config import default_block_size, solver_block_size

    assert default_block_size("cpu", p) == block
    assert default_block_size("cpu", p, float32_products=True) == block32
    assert solver_block_size(None, "cpu", "spherical", p) == max(block, p)
    assert solver_block_size(None, "cpu", "euclidean", p, float32_products=True) == block32
    assert solver_block_size(3, "cpu", "euclidean", p) == 3
    assert default_block_size("cuda", p) == 16
    assert default_block_size("cuda", p, float32_products=True) == 16


def test_basis_and_memory_rules_match_what_the_solver_allocates():
    """The memory estimate holds X, the basis with its block, the work vectors and the
    product's per-sample intermediates, for the basis the solver uses."""
    from bbp_torch.config import default_basis_size, iterative_memory_gb, refinement_basis_size

    assert default_basis_size(8, 4, 8000) == 328 and default_basis_size(8, 4, 200) == 100
    N, p, M, k, b = 16000, 4, 64000, 8, 4
    basis = default_basis_size(k, b, p * N)
    gb = iterative_memory_gb(N, p, M, "float64", "float32", k, b, basis)
    floor = (M * N * 4 + (basis + b + 3 * k) * p * N * 8 + 3 * M * p * b * 8) / 1e9
    assert floor <= gb <= floor + 0.3 + 7 * b * p * N * 8 / 1e9
    # mixed precision: the refinement's basis and products (half the Lanczos basis each) and
    # 2k next Ritz vectors; on float64 X also one float32 copy of X
    refine = 2 * refinement_basis_size(basis, k) + 2 * k - basis
    wide = iterative_memory_gb(N, p, M, "float64", "float64", k, b, basis)
    mixed = iterative_memory_gb(N, p, M, "float64", "float64", k, b, basis, mixed_precision=True)
    assert mixed - wide == pytest.approx(M * N * 4 / 1e9 + refine * p * N * 8 / 1e9)
    assert iterative_memory_gb(N, p, M, "float64", "float32", k, b, basis,
                               mixed_precision=True) == pytest.approx(
        gb + refine * p * N * 8 / 1e9)
    # the solver's basis is what the rule says
    problem = make_problem(300, 2, 1, 3.0, 0.7, seed=1)
    r = block_lanczos(HessianOperator(problem), 8, tol=1e-8, units=2)
    assert r.basis_size == default_basis_size(8, r.block_size, 600) and r.block_size == 8


def test_deterministic_and_progress_bar():
    problem = make_problem(120, 2, 1, 3.0, 0.7, seed=2)
    op = HessianOperator(problem)
    a = iterative_bottom(op, SolverConfig(name="iterative", k=6), seed=5)
    b = iterative_bottom(op, SolverConfig(name="iterative", k=6), seed=5, progress=True)
    assert torch.equal(a.values, b.values) and torch.equal(a.vectors, b.vectors)


def test_max_iter_reached_is_reported():
    problem = make_problem(150, 2, 1, 3.0, 0.7, seed=2)
    it = iterative_bottom(HessianOperator(problem),
                          SolverConfig(name="iterative", k=8, tol=1e-12, max_iter=3))
    assert it.iterations == 3 and not it.info["converged"]
    assert "solver.max_iter" in it.info["warning"]


def test_float32_storage_matches_float64():
    """Float32 X, float64 products: the matrix is X rounded, so eigenvalues move by ~1e-7."""
    p64 = make_problem(200, 2, 1, 3.0, 0.7, seed=4)
    p32 = make_problem(200, 2, 1, 3.0, 0.7, seed=4, data_dtype="float32")
    assert p32.X.dtype == torch.float32
    op32 = HessianOperator(p32)
    it32 = bottom_eigenpairs(op32, SolverConfig(name="iterative", k=6, tol=1e-10))
    dense64 = bottom_eigenpairs(HessianOperator(p64), SolverConfig(k=6, full_spectrum=False))
    dense32 = bottom_eigenpairs(op32, SolverConfig(k=6, full_spectrum=False))
    scale = float(dense64.values.abs().max())
    assert float((it32.values - dense32.values).abs().max()) <= 1e-8 * scale
    assert float((it32.values - dense64.values).abs().max()) <= 1e-5 * scale
    assert subspace_overlap(dense64.vectors, it32.vectors) > 0.999


@pytest.mark.parametrize("kind", ["euclidean", "spherical"])
def test_mixed_precision_finishes_in_float64(kind):
    """Float32 products for the first phase, float64 for the second: float64 accuracy."""
    problem = make_problem(200, 3, 1, 4.0, 0.7, seed=3, data_dtype="float32")
    op = HessianOperator(problem, kind=kind)
    dense = bottom_eigenpairs(op, SolverConfig(k=8, full_spectrum=False))
    it = iterative_bottom(op, SolverConfig(name="iterative", k=8, tol=1e-10, mixed_precision=True))
    phases = it.info["phases"]
    assert [x["compute_dtype"] for x in phases] == ["float32", "float64"]
    assert [(x["first_pass"], x["second_pass"]) for x in phases] == [("X_c V", "T^T X_c")] * 2
    # (a small X: the plain layouts)
    assert phases[0]["tol"] == 1e-6 and phases[1]["block_size"] >= 8
    assert phases[1]["scale"] >= phases[0]["scale"]  # the tolerance keeps phase 1's ||H||
    assert it.iterations == phases[0]["iterations"] + phases[1]["iterations"]
    assert it.info["converged"] and max(it.info["relative_residuals"]) < 1e-9
    scale = float(dense.values.abs().max())
    assert float((it.values - dense.values).abs().max()) <= 1e-10 * scale
    assert subspace_overlap(dense.vectors, it.vectors) > 0.999


def test_mixed_precision_on_float64_x_reaches_float64_accuracy():
    """float64 X: the float32 phase runs on a float32 copy of X, the float64 phase on X."""
    problem = make_problem(300, 2, 1, 3.0, 0.7, seed=5)
    op = HessianOperator(problem)
    it = iterative_bottom(op, SolverConfig(name="iterative", k=6, tol=1e-10, mixed_precision=True))
    assert [x["compute_dtype"] for x in it.info["phases"]] == ["float32", "float64"]
    assert it.info["converged"] and max(it.info["relative_residuals"]) <= 1e-10
    dense = bottom_eigenpairs(op, SolverConfig(k=6, full_spectrum=False))
    assert float((it.values - dense.values).abs().max()) <= 1e-10 * float(dense.values.abs().max())
    assert subspace_overlap(dense.vectors, it.vectors) > 0.999


@pytest.mark.parametrize("forced", [False, True])
def test_mixed_precision_with_the_measured_or_the_last_layouts_agrees_with_dense(
        monkeypatch, forced):
    """The layouts of the product timed on this machine (every X tuned here), or the last of
    each list forced (oneDNN in float32 where this build has it, MKL's swapped and transposed
    ones in float64): the solve still meets tol against dense eigh, degenerate teacher outliers
    (p p* = 4) included, and each phase names the layouts that ran."""
    import bbp_torch.layouts as layouts

    monkeypatch.setattr(layouts, "TUNE_BYTES", 0)
    monkeypatch.setattr(layouts, "_chosen", {})
    if forced:
        monkeypatch.setattr(layouts, "choose", lambda dtype, *a: tuple(
            x[-1] for x in layouts.candidates(dtype)))
    problem = make_problem(250, 4, 1, 4.0, 0.7, seed=8)
    op = HessianOperator(problem, chunk_size=300)
    it = iterative_bottom(op, SolverConfig(name="iterative", k=8, tol=1e-10, mixed_precision=True))
    dense = bottom_eigenpairs(op, SolverConfig(k=8, full_spectrum=False))
    assert it.info["converged"] and max(it.info["relative_residuals"]) <= 1e-10
    scale = float(dense.values.abs().max())
    assert float((it.values - dense.values).abs().max()) <= 1e-10 * scale
    assert subspace_overlap(dense.vectors, it.vectors) > 0.999
    names = [(x["first_pass"], x["second_pass"]) for x in it.info["phases"]]
    for phase, dtype in zip(names, (torch.float32, torch.float64), strict=True):
        firsts, seconds = layouts.candidates(dtype)
        assert phase[0] in [x.name for x in firsts] and phase[1] in [x.name for x in seconds]
        if forced:
            assert phase == (firsts[-1].name, seconds[-1].name)


def test_mixed_precision_refines_fewer_ritz_vectors_than_a_block():
    """k = 3 Ritz vectors of a float32 phase on blocks of 8 start the float64 refinement, which
    applies the operator to at most those 3 vectors per call."""
    problem = make_problem(300, 2, 1, 3.0, 0.7, seed=2, data_dtype="float32")
    op = HessianOperator(problem)
    it = iterative_bottom(op, SolverConfig(name="iterative", k=3, tol=1e-9, block_size=8,
                                             mixed_precision=True))
    first, second = it.info["phases"]
    assert (first["block_size"], second["block_size"]) == (8, 3)
    assert second["n_products"] <= 3 * second["iterations"]
    assert it.info["converged"]
    dense = bottom_eigenpairs(op, SolverConfig(k=3, full_spectrum=False))
    assert float((it.values - dense.values).abs().max()) <= 1e-8 * float(dense.values.abs().max())


def test_mixed_precision_needs_the_hessian_operator():
    with pytest.raises(ValueError, match="mixed_precision"):
        iterative_bottom(torch.eye(300, dtype=torch.float64),
                         SolverConfig(name="iterative", k=4, mixed_precision=True))


def test_stall_steps_stops_an_iteration_that_no_longer_improves(matrix_with_spectrum):
    """An operator with noise in every product has a residual floor: stop there, say so."""
    values = torch.linspace(0.0, 1.0, 400, dtype=torch.float64)
    A = matrix_with_spectrum(values)
    gen = torch.Generator().manual_seed(0)

    def noisy(V):
        return A @ V + 1e-4 * torch.randn(V.shape, generator=gen, dtype=V.dtype)

    class Noisy:
        shape, dtype, device = A.shape, A.dtype, A.device
        matvec = staticmethod(noisy)

    r = block_lanczos(Noisy(), 4, tol=1e-12, max_iter=2000, stall_steps=20)
    assert r.info["stalled"] and not r.converged and r.iterations < 2000
    # a plateau above stall_below is not a floor: the iteration goes on to max_iter
    high = block_lanczos(Noisy(), 4, tol=1e-12, max_iter=r.iterations + 40, stall_steps=20,
                         stall_below=1e-7)
    assert not high.info["stalled"] and high.iterations == r.iterations + 40


@pytest.mark.gpu
@cuda
@pytest.mark.parametrize("mixed", [False, True])
def test_cuda_iterative_matches_cpu(mixed):
    cpu = make_problem(300, 2, 1, 4.0, 0.7, seed=3, data_dtype="float32")
    gpu = make_problem(300, 2, 1, 4.0, 0.7, seed=3, data_dtype="float32", device="cuda")
    a = bottom_eigenpairs(HessianOperator(cpu), SolverConfig(name="iterative", k=8, tol=1e-10))
    b = bottom_eigenpairs(HessianOperator(gpu), SolverConfig(name="iterative", k=8, tol=1e-10,
                                                              mixed_precision=mixed))
    assert b.vectors.device.type == "cuda" and b.info["converged"]
    assert torch.allclose(a.values, b.values.cpu(), rtol=1e-8, atol=1e-10)
    assert subspace_overlap(a.vectors, b.vectors.cpu()) > 0.999


def test_float32_phase_takes_the_wider_default_block_at_p4():
    """Mixed precision at p = 4 runs its float32 phase on blocks of 8 (32 columns) and starts
    its float64 phase from the k Ritz vectors; float64 products alone keep blocks of 4."""
    problem = make_problem(100, 4, 1, 4.0, 0.7, seed=5)
    op = HessianOperator(problem)
    mixed = iterative_bottom(op, SolverConfig(name="iterative", k=8, tol=1e-9,
                                              mixed_precision=True), units=4)
    plain = iterative_bottom(op, SolverConfig(name="iterative", k=8, tol=1e-9), units=4)
    assert [x["block_size"] for x in mixed.info["phases"]] == [8, 8]
    assert [x["block_size"] for x in plain.info["phases"]] == [4]
    assert mixed.info["converged"] and plain.info["converged"]
    scale = float(plain.values.abs().max())
    assert float((mixed.values - plain.values).abs().max()) <= 1e-9 * scale
