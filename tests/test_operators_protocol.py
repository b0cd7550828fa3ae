"""Every operator of bbp_torch.operators against the solvers' protocol
(bbp_torch.spectrum.types.Operator), and each operator solved by the dense and the iterative
solver: the same bottom eigenvalues."""

import pytest
import torch
from operator_cases import OPERATORS, rel_err

from bbp_torch.model import make_problem
from bbp_torch.operators.dense import dense_hessian
from bbp_torch.spectrum import Operator, SolverSettings, bottom_eigenpairs

KINDS = ["euclidean", "spherical"]


@pytest.mark.parametrize("name", list(OPERATORS))
@pytest.mark.parametrize("kind", KINDS)
def test_every_operator_meets_the_protocol(name, kind, device):
    """shape, dtype, device, a symmetric product on a block and on a vector, counted; dense()
    is the product on the identity; the excluded directions are orthonormal, mapped to zero,
    and present for the spherical kind alone."""
    problem = make_problem(10, 2, 1, 3.0, 0.7, seed=1, device=device)
    op = OPERATORS[name](problem, kind)
    assert isinstance(op, Operator)
    n = 20
    assert op.shape == (n, n) and op.dtype == torch.float64 and op.device == problem.W.device
    tol = 1e-5 if name.endswith("float32") else 1e-12
    V = torch.randn(n, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    V = V.to(device)
    HV = op.matvec(V)
    assert HV.shape == (n, 3) and HV.dtype == op.dtype and HV.device == V.device
    assert float((V.T @ HV - HV.T @ V).abs().max()) < tol * float((V.T @ HV).abs().max())
    assert rel_err(op.matvec(V[:, 1]), HV[:, 1]) < tol and rel_err(op @ V, HV) < tol
    assert op.n_products == 3 + 1 + 3
    H = op.dense()
    assert rel_err(H, dense_hessian(problem, kind=kind)) < 1e-10
    assert rel_err(HV, H @ V) < tol
    U = op.excluded_directions()
    if kind == "euclidean":
        assert U is None
    else:
        assert U.shape == (n, 2)
        assert torch.allclose(U.T @ U, torch.eye(2, dtype=U.dtype, device=device), atol=1e-14)
        assert float(op.matvec(U).abs().max()) < tol * float(H.abs().max())


@pytest.mark.parametrize("name", list(OPERATORS))
@pytest.mark.parametrize("kind", KINDS)
def test_dense_and_iterative_solvers_agree_on_every_operator(name, kind):
    problem = make_problem(12, 2, 1, 3.0, 0.7, seed=2)
    op = OPERATORS[name](problem, kind)
    tol = 1e-5 if name.endswith("float32") else 1e-10  # float32 products: a first phase only
    dense = bottom_eigenpairs(op, SolverSettings(name="dense", k=4, tol=tol), units=2)
    iterative = bottom_eigenpairs(op, SolverSettings(name="iterative", k=4, tol=tol), units=2)
    assert dense.converged and iterative.converged
    assert torch.allclose(iterative.values, dense.values, rtol=0, atol=tol * dense.scale)
    if kind == "spherical":  # the radial directions are never among the pairs
        U = op.excluded_directions()
        for pairs in (dense, iterative):
            assert float((U.T @ pairs.vectors).abs().max()) < 1e-8


def test_compute_dtype_makes_a_new_operator_of_the_same_hessian():
    problem = make_problem(12, 2, 1, 3.0, 0.7, seed=3)
    op = OPERATORS["closed_form"](problem, "spherical")
    op.matvec(torch.ones(24, dtype=torch.float64))
    low = op.with_compute_dtype(torch.float32)
    assert type(low) is type(op) and low is not op
    assert (low.kind, low.chunk_size, low.W is op.W, low.n_products) == (
        "spherical", op.chunk_size, True, 0)
    assert low.compute_dtype == torch.float32 and op.compute_dtype == torch.float64
    assert torch.equal(low.mu, op.mu) and op.n_products == 1
    with pytest.raises(ValueError, match="hessian.product=closed_form"):
        OPERATORS["autograd"](problem, "euclidean").with_compute_dtype(torch.float32)
