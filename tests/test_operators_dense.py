"""The dense closed-form Hessian (bbp_torch.operators.dense): against finite differences of
the gradient, built over several panels as the product, exactly symmetric, the kind checked
(against autograd: test_operators_autograd.py)."""

import pytest
import torch
from operator_cases import CASES, rel_err

from bbp_torch.model import make_problem
from bbp_torch.operators.autograd import autograd_hessian
from bbp_torch.operators.closed_form import HessianOperator
from bbp_torch.operators.dense import dense_hessian
from bbp_torch.operators.weights import gradient


@pytest.mark.parametrize("N,p,p_star,a,alpha", CASES[:4])
def test_closed_form_equals_finite_differences_of_gradient(N, p, p_star, a, alpha):
    problem = make_problem(N, p, p_star, alpha, a, seed=5)
    H = dense_hessian(problem)
    eps, W = 1e-5, problem.W
    steps = eps * torch.eye(p * N, dtype=W.dtype).reshape(p * N, p, N)
    H_fd = torch.stack([((gradient(problem, W + E) - gradient(problem, W - E)) / (2 * eps))
                        .reshape(-1) for E in steps], dim=1)
    assert rel_err(H_fd, H) < 1e-7


@pytest.mark.parametrize("p,activation", [(1, "quadratic"), (2, "quadratic"), (3, "tanh")])
def test_dense_build_over_several_panels_matches_the_product_and_is_symmetric(p, activation):
    """N = 300 takes the CPU build over several row panels (the last one short): the dense
    matrix is exactly symmetric and equals the matrix-free product applied to the identity."""
    problem = make_problem(300, p, 1, 2.0, 0.7, seed=11, activation=activation)
    H = dense_hessian(problem)
    assert torch.equal(H, H.T)
    from_products = HessianOperator(problem).matvec(torch.eye(300 * p, dtype=H.dtype))
    assert rel_err(H, from_products) < 1e-12


def test_hessian_kind_is_checked():
    problem = make_problem(10, 1, 1, 2.0, 0.7)
    for build in (dense_hessian, autograd_hessian):
        with pytest.raises(ValueError, match="hessian.kind 'riemann'.*euclidean, spherical"):
            build(problem, kind="riemann")
