"""The closed-form Hessian against autograd, finite differences, the HVP and the sphere."""

import pytest
import torch

from bbp_torch.hessian import (
    HessianOperator,
    autograd_hessian,
    dense_hessian,
    gradient,
    lagrange_multipliers,
)
from bbp_torch.model import Student, loss_from_output, make_problem

CASES = [  # (N, p, p_star, a, alpha)
    (24, 1, 1, 0.7, 3.0),  # phase retrieval
    (20, 2, 1, 0.7, 2.5),
    (16, 3, 1, 1.5, 4.0),
    (15, 2, 3, 0.3, 3.0),  # p < p*
    (12, 4, 2, 2.0, 1.5),
]


def rel_err(A, B):
    return float((A - B).abs().max() / B.abs().max())


def autograd_loss_grad(problem, W):
    W = W.clone().requires_grad_(True)
    loss = problem.loss(W)
    (g,) = torch.autograd.grad(loss, W)
    return g


@pytest.mark.parametrize("N,p,p_star,a,alpha", CASES)
def test_closed_form_equals_autograd(N, p, p_star, a, alpha):
    problem = make_problem(N, p, p_star, alpha, a, seed=3)
    H = dense_hessian(problem)
    assert H.shape == (p * N, p * N)
    assert rel_err(H, autograd_hessian(problem)) < 1e-10
    assert torch.equal(H, H.T)


@pytest.mark.parametrize("N,p,p_star,a,alpha", CASES)
def test_gradient_equals_autograd(N, p, p_star, a, alpha):
    problem = make_problem(N, p, p_star, alpha, a, seed=4)
    assert rel_err(gradient(problem), autograd_loss_grad(problem, problem.W)) < 1e-10


@pytest.mark.parametrize("N,p,p_star,a,alpha", CASES[:4])
def test_closed_form_equals_finite_differences_of_gradient(N, p, p_star, a, alpha):
    problem = make_problem(N, p, p_star, alpha, a, seed=5)
    H = dense_hessian(problem)
    eps = 1e-5
    W = problem.W
    cols = []
    for j in range(p * N):
        E = torch.zeros(p * N, dtype=W.dtype)
        E[j] = eps
        E = E.reshape(p, N)
        cols.append(((gradient(problem, W + E) - gradient(problem, W - E)) / (2 * eps)).reshape(-1))
    H_fd = torch.stack(cols, dim=1)
    assert rel_err(H_fd, H) < 1e-7


@pytest.mark.parametrize("N,p,p_star,a,alpha", CASES)
@pytest.mark.parametrize("kind", ["euclidean", "spherical"])
def test_hvp_equals_dense(N, p, p_star, a, alpha, kind):
    problem = make_problem(N, p, p_star, alpha, a, seed=6)
    H = dense_hessian(problem, kind=kind)
    gen = torch.Generator().manual_seed(0)
    V = torch.randn(p * N, 5, generator=gen, dtype=torch.float64)
    op = HessianOperator(problem, kind=kind, chunk_size=7)  # chunks that do not divide M
    assert rel_err(op.matvec(V), H @ V) < 1e-12
    assert rel_err(op.matvec(V[:, 0]), H @ V[:, 0]) < 1e-12
    assert rel_err(op @ V, H @ V) < 1e-12


def test_hvp_at_another_point_and_float32_storage():
    problem = make_problem(30, 2, 1, 3.0, 0.7, seed=7)
    W2 = problem.W + 0.1 * torch.randn_like(problem.W)
    H = dense_hessian(problem, W2)
    V = torch.randn(60, 3, dtype=torch.float64)
    assert rel_err(HessianOperator(problem, W2).matvec(V), H @ V) < 1e-12
    p32 = make_problem(30, 2, 1, 3.0, 0.7, seed=7, data_dtype="float32")
    assert p32.X.dtype == torch.float32
    op32 = HessianOperator(p32)
    assert op32.matvec(V).dtype == torch.float64
    assert rel_err(op32.matvec(V), dense_hessian(problem) @ V) < 1e-5


def radial_basis(W):
    p, N = W.shape
    U = torch.zeros(p * N, p, dtype=W.dtype)
    for k in range(p):
        U[k * N:(k + 1) * N, k] = W[k] / N**0.5
    return U


@pytest.mark.parametrize("N,p,p_star,a,alpha", CASES)
def test_spherical_hessian_annihilates_radial_directions(N, p, p_star, a, alpha):
    problem = make_problem(N, p, p_star, alpha, a, seed=8)
    Hs = dense_hessian(problem, kind="spherical")
    U = radial_basis(problem.W)
    scale = Hs.abs().max()
    assert float((Hs @ U).abs().max() / scale) < 1e-12
    # On the tangent space it is the Euclidean Hessian shifted by the multipliers.
    P = torch.eye(p * N, dtype=Hs.dtype) - U @ U.T
    mu = lagrange_multipliers(problem).repeat_interleave(N)
    expected = P @ (dense_hessian(problem) - torch.diag(mu)) @ P
    assert rel_err(Hs, expected) < 1e-12
    assert rel_err(Hs, autograd_hessian(problem, kind="spherical")) < 1e-10


@pytest.mark.parametrize("N,p,p_star,a,alpha", CASES[:3])
def test_spherical_hessian_is_second_derivative_along_geodesics(N, p, p_star, a, alpha):
    """v^T H_sph v equals d^2/dt^2 L(gamma(t)) at t=0 for the geodesic of the product of spheres."""
    problem = make_problem(N, p, p_star, alpha, a, seed=9)
    W = problem.W
    Hs = dense_hessian(problem, kind="spherical")
    gen = torch.Generator().manual_seed(1)
    for _ in range(3):
        V = torch.randn(p, N, generator=gen, dtype=W.dtype)
        V = V - (V * W).sum(1, keepdim=True) * W / N  # tangent
        theta = V.norm(dim=1, keepdim=True) / N**0.5
        direction = V / V.norm(dim=1, keepdim=True) * N**0.5

        def along(t, theta=theta, direction=direction):
            curve = torch.cos(theta * t) * W + torch.sin(theta * t) * direction
            h = problem.X @ curve.T / N**0.5
            return loss_from_output((h * h).mean(1), problem.y, problem.a)

        t0 = torch.zeros((), dtype=W.dtype)
        second = torch.func.grad(torch.func.grad(along))(t0)
        v = V.reshape(-1)
        assert abs(float(v @ Hs @ v) - float(second)) < 1e-10 * float(Hs.abs().max()) * N * p
        # The curve stays on the product of spheres.
        curve = torch.cos(theta * 0.3) * W + torch.sin(theta * 0.3) * direction
        assert torch.allclose(curve.norm(dim=1), torch.full((p,), N**0.5, dtype=W.dtype))


def test_student_module_matches_problem():
    problem = make_problem(25, 3, 1, 2.0, 0.7, seed=10)
    student = Student(problem.W)
    yhat = student(problem.X)
    assert torch.allclose(yhat, problem.output())
    loss = loss_from_output(yhat, problem.y, problem.a)
    loss.backward()
    assert rel_err(student.weight.grad, gradient(problem)) < 1e-10


def test_hessian_kind_is_checked():
    problem = make_problem(10, 1, 1, 2.0, 0.7)
    with pytest.raises(ValueError, match="hessian.kind"):
        dense_hessian(problem, kind="riemann")
