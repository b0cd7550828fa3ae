"""What the eigensolvers take and return (bbp_torch.spectrum.types): an operator is anything with
the protocol's members, and Eigenpairs are converged only when every pair is finite and within
tol of the scale."""

import pytest
import torch

from bbp_torch.spectrum.types import Eigenpairs, Operator, residual_norms


def test_converged_needs_every_pair_within_tol_and_finite():
    values = torch.tensor([-1.0, 0.5], dtype=torch.float64)
    vectors = torch.eye(2, dtype=torch.float64)

    def pairs(residuals, tol=1e-6, vals=values):
        return Eigenpairs(values=vals, vectors=vectors, solver="dense", tol=tol, scale=2.0,
                          residuals=torch.tensor(residuals, dtype=torch.float64))

    assert pairs([1e-7, 2e-6]).relative_residuals == pytest.approx([5e-8, 1e-6])
    assert pairs([1e-7, 2e-6]).converged
    assert not pairs([1e-7, 2.2e-6]).converged  # one pair above tol * scale
    assert not pairs([1e-7, float("nan")]).converged
    assert not pairs([0.0, 0.0], vals=torch.tensor([float("inf"), 0.0])).converged
    A = torch.diag(values)

    class Dense:
        def matvec(self, V):
            return A @ V

    res = residual_norms(Dense(), torch.tensor([-1.0, 0.4], dtype=torch.float64), vectors)
    assert torch.allclose(res, torch.tensor([0.0, 0.1], dtype=torch.float64), atol=1e-15)


def test_the_protocol_is_the_members_alone():
    class Plain:
        shape, dtype, device = (3, 3), torch.float64, torch.device("cpu")

        def matvec(self, V):
            return V

    assert isinstance(Plain(), Operator)
    assert not isinstance(object(), Operator)

