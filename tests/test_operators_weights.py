"""The per-sample weights and the gradient (bbp_torch.operators.weights): the closed-form
gradient equals autograd's on the student module."""

import pytest
import torch
from operator_cases import CASES, rel_err

from bbp_torch.model import make_problem
from bbp_torch.operators.weights import gradient


@pytest.mark.parametrize("N,p,p_star,a,alpha", CASES)
def test_gradient_equals_autograd(N, p, p_star, a, alpha, device):
    problem = make_problem(N, p, p_star, alpha, a, seed=4, device=device)
    W = problem.W.clone().requires_grad_(True)
    (expected,) = torch.autograd.grad(problem.loss(W), W)
    assert rel_err(gradient(problem), expected) < 1e-10
