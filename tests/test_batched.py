"""Several seeds at once give the observables of the one-seed dense path."""

import pytest
import torch

from bbp_torch.batched import batched_dense_hessian, run_seeds, seeds_per_batch
from bbp_torch.config import SolverConfig
from bbp_torch.hessian import HessianOperator, dense_hessian
from bbp_torch.model import make_problem
from bbp_torch.observables import measure
from bbp_torch.spectrum import bottom_eigenpairs

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
KEYS = ("lambda_min", "lambda_edge", "gap", "overlap", "overlap_subspace", "overlap_student")


def one_by_one(N, p, p_star, alpha, a, seed, kind, k=8):
    problem = make_problem(N, p, p_star, alpha, a, seed=seed)
    pairs = bottom_eigenpairs(HessianOperator(problem, kind=kind),
                              SolverConfig(k=k, full_spectrum=False))
    return measure(pairs.values, pairs.vectors, problem.W, problem.W_star)


@pytest.mark.parametrize("activation, a", [("tanh", 50.0), ("relu", 0.7)])
def test_batched_hessians_of_other_activations_equal_dense(activation, a):
    problems = [make_problem(20, 2, 1, 3.0, a, seed=s, activation=activation) for s in (1, 2)]
    for kind in ("euclidean", "spherical"):
        H = batched_dense_hessian(problems, kind=kind)
        for s, pr in enumerate(problems):
            assert torch.allclose(H[s], dense_hessian(pr, kind=kind), atol=1e-12)
    out = run_seeds(20, 2, 1, 3.0, a, [1, 2], k=4, batch_size=2, activation=activation)
    ref = [measure(*torch.linalg.eigh(dense_hessian(pr)), pr.W, pr.W_star)["lambda_min"]
           for pr in problems]
    assert [r["metrics"]["lambda_min"] for r in out] == pytest.approx(ref, rel=1e-10)


def test_batched_hessian_equals_dense():
    problems = [make_problem(30, 3, 1, 2.0, 0.7, seed=s) for s in (0, 5)]
    H = batched_dense_hessian(problems, kind="spherical")
    for s, pr in enumerate(problems):
        assert torch.allclose(H[s], dense_hessian(pr, kind="spherical"), atol=1e-12)


@pytest.mark.parametrize("kind", ["euclidean", "spherical"])
def test_batched_seeds_equal_one_by_one(kind):
    seeds = [3, 0, 7, 1, 4]
    out = run_seeds(60, 2, 1, 3.0, 0.7, seeds, k=8, kind=kind, batch_size=2,
                    full_spectrum=True)
    assert [r["seed"] for r in out] == seeds
    for r in out:
        ref = one_by_one(60, 2, 1, 3.0, 0.7, r["seed"], kind)
        for key in KEYS:
            assert abs(r["metrics"][key] - ref[key]) < 1e-9, key
        assert max(r["metrics"]["residuals"]) < 1e-10
        assert r["spectrum"].shape == (120,)


def test_batch_size_from_memory():
    per_seed = (4 * 200**2 + 2 * 300 * 100) * 8
    assert seeds_per_batch(100, 2, 300, 8, memory_gb=1.0) == int(1e9 // per_seed)
    out = run_seeds(20, 1, 1, 2.0, 1.0, range(3), max_memory_gb=1e-5)  # one seed per batch
    assert len(out) == 3
    assert seeds_per_batch(20, 1, 40, 8, memory_gb=1e-5) == 1
    together = run_seeds(20, 1, 1, 2.0, 1.0, range(3), batch_size=3)
    for x, y in zip(out, together, strict=True):
        assert x["seed"] == y["seed"]
        assert abs(x["metrics"]["lambda_min"] - y["metrics"]["lambda_min"]) < 1e-12


@pytest.mark.gpu
@cuda
def test_cuda_batched_matches_cpu():
    a = run_seeds(50, 2, 1, 3.0, 0.7, [0, 1, 2], device="cpu")
    b = run_seeds(50, 2, 1, 3.0, 0.7, [0, 1, 2], device="cuda")
    for x, y in zip(a, b, strict=True):
        for key in KEYS:
            assert abs(x["metrics"][key] - y["metrics"][key]) < 1e-8
