"""The autograd reference (bbp_torch.operators.autograd): the Hessian of the student module's
loss by torch.func equals the dense closed form; as an operator it is checked against the
protocol and the solvers in test_operators_protocol.py."""

import pytest
import torch
from operator_cases import CASES, rel_err

from bbp_torch.model import make_problem
from bbp_torch.operators.autograd import autograd_hessian
from bbp_torch.operators.dense import dense_hessian


@pytest.mark.parametrize("N,p,p_star,a,alpha", CASES)
def test_closed_form_equals_autograd(N, p, p_star, a, alpha, device):
    problem = make_problem(N, p, p_star, alpha, a, seed=3, device=device)
    H = dense_hessian(problem)
    assert H.shape == (p * N, p * N)
    assert rel_err(H, autograd_hessian(problem)) < 1e-10
    assert torch.equal(H, H.T)
