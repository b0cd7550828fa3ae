"""The Riemannian Hessian on the product of spheres (bbp_torch.operators.spherical): against the
Hessian in a retraction chart and second derivatives along geodesics, the matrix-free
correction against the dense one, and the multipliers by autograd."""

import pytest
import torch
from operator_cases import CASES, rel_err

from bbp_torch.model import loss_from_output, make_problem
from bbp_torch.operators.autograd import autograd_hessian, autograd_multipliers
from bbp_torch.operators.closed_form import HessianOperator
from bbp_torch.operators.dense import dense_hessian
from bbp_torch.operators.spherical import (
    Sphere,
    lagrange_multipliers,
    radial_directions,
    spherical_from_dense,
)


@pytest.mark.parametrize("N,p,p_star,a,alpha", CASES)
def test_spherical_hessian_is_the_hessian_in_the_retraction_chart(N, p, p_star, a, alpha,
                                                                   device, spherical_chart):
    """Independent of the projector formula: zero on the radial directions, and on the tangent
    space the autograd Hessian of L(R(W, B c)) (second-order retraction, see conftest)."""
    problem = make_problem(N, p, p_star, alpha, a, seed=8, device=device)
    Hs = dense_hessian(problem, kind="spherical")
    U = radial_directions(problem.W)
    assert torch.allclose(U.T @ U, torch.eye(p, dtype=U.dtype, device=device), atol=1e-14)
    assert float((Hs @ U).abs().max() / Hs.abs().max()) < 1e-12
    B, H_chart = spherical_chart(problem)
    assert float((B.T @ U).abs().max()) < 1e-12  # B spans the tangent space
    assert rel_err(Hs, B @ H_chart @ B.T) < 1e-10
    assert rel_err(Hs, autograd_hessian(problem, kind="spherical")) < 1e-10
    # The chart is a real check: the tangent Hessian without the multipliers differs.
    P = B @ B.T
    assert rel_err(P @ dense_hessian(problem) @ P, B @ H_chart @ B.T) > 1e-3


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


@pytest.mark.parametrize("activation", ["quadratic", "tanh"])
def test_the_matrix_free_correction_is_the_dense_one(activation):
    """Sphere.product on the dense Euclidean H equals spherical_from_dense, and the multipliers
    by the module's autograd gradient equal the closed-form ones."""
    problem = make_problem(14, 3, 1, 3.0, 2.0 if activation == "tanh" else 0.7, seed=2,
                           activation=activation)
    H, W = dense_hessian(problem), problem.W
    mu = lagrange_multipliers(problem)
    assert rel_err(autograd_multipliers(problem, W), mu) < 1e-10
    sphere = Sphere(W, mu)
    V = torch.randn(4, 3, 14, dtype=W.dtype, generator=torch.Generator().manual_seed(0))
    by_blocks = sphere.product(lambda B: (B.reshape(4, -1) @ H).reshape(B.shape), V)
    dense = spherical_from_dense(H, problem, W)
    assert rel_err(by_blocks.reshape(4, -1), V.reshape(4, -1) @ dense) < 1e-12
    assert torch.equal(dense, dense.T)
    assert torch.equal(sphere.radial_directions(), radial_directions(W))
    op = HessianOperator(problem, kind="spherical")
    assert torch.equal(op.mu, mu) and torch.equal(op.excluded_directions(), radial_directions(W))
