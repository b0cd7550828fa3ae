"""The Hessian (bbp_torch.hessian): the closed form against autograd, finite differences, the
matrix-free product (chunks, float32 storage and products) and, for the Riemannian Hessian on
the spheres, the Hessian in a retraction chart and second derivatives along geodesics."""

import pytest
import torch

from bbp_torch.operators.closed_form import (
    HessianOperator,
    autograd_hessian,
    dense_hessian,
    gradient,
)
from bbp_torch.model import loss_from_output, make_problem

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
def test_closed_form_equals_autograd(N, p, p_star, a, alpha, device):
    problem = make_problem(N, p, p_star, alpha, a, seed=3, device=device)
    H = dense_hessian(problem)
    assert H.shape == (p * N, p * N)
    assert rel_err(H, autograd_hessian(problem)) < 1e-10
    assert torch.equal(H, H.T)


@pytest.mark.parametrize("N,p,p_star,a,alpha", CASES)
def test_gradient_equals_autograd(N, p, p_star, a, alpha, device):
    problem = make_problem(N, p, p_star, alpha, a, seed=4, device=device)
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
def test_hvp_equals_dense(N, p, p_star, a, alpha, kind, device):
    problem = make_problem(N, p, p_star, alpha, a, seed=6, device=device)
    H = dense_hessian(problem, kind=kind)
    gen = torch.Generator().manual_seed(0)
    V = torch.randn(p * N, 5, generator=gen, dtype=torch.float64).to(device)
    op = HessianOperator(problem, kind=kind, chunk_size=7)  # chunks that do not divide M
    assert rel_err(op.matvec(V), H @ V) < 1e-12
    assert rel_err(op.matvec(V[:, 0]), H @ V[:, 0]) < 1e-12
    assert rel_err(op @ V, H @ V) < 1e-12


def test_hvp_at_another_point_and_float32_storage(device):
    problem = make_problem(30, 2, 1, 3.0, 0.7, seed=7, device=device)
    gen = torch.Generator().manual_seed(7)
    W2 = problem.W + 0.1 * torch.randn(problem.W.shape, generator=gen,
                                       dtype=torch.float64).to(device)
    H = dense_hessian(problem, W2)
    V = torch.randn(60, 3, generator=gen, dtype=torch.float64).to(device)
    assert rel_err(HessianOperator(problem, W2).matvec(V), H @ V) < 1e-12
    p32 = make_problem(30, 2, 1, 3.0, 0.7, seed=7, data_dtype="float32", device=device)
    assert p32.X.dtype == torch.float32
    op32 = HessianOperator(p32)
    assert op32.matvec(V).dtype == torch.float64
    assert rel_err(op32.matvec(V), dense_hessian(problem) @ V) < 1e-5


def radial_basis(W):
    p, N = W.shape
    U = torch.zeros(p * N, p, dtype=W.dtype, device=W.device)
    for k in range(p):
        U[k * N:(k + 1) * N, k] = W[k] / N**0.5
    return U


@pytest.mark.parametrize("N,p,p_star,a,alpha", CASES)
def test_spherical_hessian_is_the_hessian_in_the_retraction_chart(N, p, p_star, a, alpha,
                                                                   device, spherical_chart):
    """Independent of the projector formula: zero on the radial directions, and on the tangent
    space the autograd Hessian of L(R(W, B c)) (second-order retraction, see conftest)."""
    problem = make_problem(N, p, p_star, alpha, a, seed=8, device=device)
    Hs = dense_hessian(problem, kind="spherical")
    U = radial_basis(problem.W)
    scale = Hs.abs().max()
    assert float((Hs @ U).abs().max() / scale) < 1e-12
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


def test_chunked_float32_product_matches_dense():
    problem = make_problem(80, 3, 1, 3.0, 0.7, seed=6, data_dtype="float32")
    H = HessianOperator(problem).dense()
    V = torch.randn(240, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    for chunk in (None, 7, 1000):
        HV = HessianOperator(problem, chunk_size=chunk).matvec(V)
        assert float((HV - H @ V).abs().max()) < 1e-12 * float((H @ V).abs().max())


@pytest.mark.parametrize("p,activation", [(1, "quadratic"), (2, "quadratic"), (3, "tanh")])
def test_dense_build_over_several_panels_matches_the_product_and_is_symmetric(p, activation):
    """N = 300 takes the CPU build over several row panels (the last one short): the dense
    matrix is exactly symmetric and equals the matrix-free product applied to the identity."""
    problem = make_problem(300, p, 1, 2.0, 0.7, seed=11, activation=activation)
    H = dense_hessian(problem)
    assert torch.equal(H, H.T)
    from_products = HessianOperator(problem).matvec(torch.eye(300 * p, dtype=H.dtype))
    assert rel_err(H, from_products) < 1e-12


def test_float32_compute_dtype_product_is_close_and_leaves_the_operator_alone():
    problem = make_problem(120, 3, 1, 3.0, 0.7, seed=6, data_dtype="float32")
    op = HessianOperator(problem)
    low = op.with_compute_dtype(torch.float32)
    V = torch.randn(360, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    exact, approx = op.matvec(V), low.matvec(V)
    assert approx.dtype == torch.float64 and low.dtype == torch.float64
    err = float((approx - exact).norm() / exact.norm())
    assert 0 < err < 1e-5  # float32 arithmetic: close, but not float64-exact
    assert op.compute_dtype == torch.float64
    assert float((op.matvec(V) - op.dense() @ V).abs().max()) < 1e-12 * float(exact.abs().max())


def test_float32_products_on_float64_x_use_one_float32_copy_of_x():
    """float64 X, float32 products: the new operator holds X in float32 (one copy, made once),
    its products are those of the float32 X arithmetic, and the original keeps float64 X."""
    problem = make_problem(100, 2, 1, 3.0, 0.7, seed=4)
    op = HessianOperator(problem)
    low = op.with_compute_dtype(torch.float32)
    assert low._X.dtype == torch.float32 and problem.X.dtype == torch.float64
    assert torch.equal(low._X, problem.X.to(torch.float32)) and not hasattr(op, "_X")
    V = torch.randn(200, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    exact, approx = op.matvec(V), low.matvec(V)
    assert 0 < float((approx - exact).norm() / exact.norm()) < 1e-5
    again = low.with_compute_dtype(torch.float32)  # a float32 operator's copy is not redone
    assert again._X is low._X and torch.equal(again.matvec(V), approx)
    back = low.with_compute_dtype(torch.float64)  # and float64 products use X itself again
    assert not hasattr(back, "_X") and torch.equal(back.matvec(V), exact)


@pytest.mark.parametrize("data_dtype, activation", [("float32", "quadratic"),
                                                     ("float64", "quadratic"),
                                                     ("float64", "tanh")])
def test_every_layout_of_the_two_passes_matches_dense(monkeypatch, data_dtype, activation):
    """Whichever layouts of the two passes the machine's timing picks (oneDNN ones included,
    in float32, where this build has them), the product is H V, for the square (one beta per
    sample) and another activation (one beta per unit)."""
    import itertools

    import bbp_torch.layouts as layouts

    problem = make_problem(90, 3, 1, 3.0, 1.5, seed=6, data_dtype=data_dtype,
                           activation=activation)
    H = HessianOperator(problem).dense()
    V = torch.randn(270, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    monkeypatch.setattr(layouts, "TUNE_BYTES", 0)
    tried = set()
    for compute in (torch.float64, torch.float32):
        firsts, seconds = layouts.candidates(compute)
        assert len(firsts) >= 2 and len(seconds) >= 2
        for first, second in itertools.product(firsts, seconds):
            monkeypatch.setattr(layouts, "choose", lambda *a, f=first, s=second: (f, s))
            op = HessianOperator(problem, chunk_size=40).with_compute_dtype(compute)
            HV = op.matvec(V)
            assert (op.first_pass, op.second_pass) == (first.name, second.name)
            err = float((HV - H @ V).abs().max() / (H @ V).abs().max())
            assert err < (1e-5 if compute == torch.float32 or data_dtype == "float32" else 1e-12)
            tried.add((first.name, second.name))
    every = {(f.name, s.name) for dtype in (torch.float64, torch.float32)
             for f, s in itertools.product(*layouts.candidates(dtype))}
    assert tried == every and len(tried) == (9 if layouts._LINEAR is not None else 4)


def test_layouts_are_measured_once_per_shape_and_remembered(monkeypatch):
    import bbp_torch.layouts as layouts

    monkeypatch.setattr(layouts, "TUNE_BYTES", 0)
    monkeypatch.setattr(layouts, "_chosen", {})
    problem = make_problem(60, 2, 1, 3.0, 0.7, seed=2)
    op = HessianOperator(problem, chunk_size=50)
    V = torch.randn(120, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    first = op.matvec(V)
    key = (torch.float64, 60, 50, torch.get_num_threads())
    assert list(layouts._chosen) == [key]
    chosen = layouts._chosen[key]
    assert (op.first_pass, op.second_pass) == (chosen[0].name, chosen[1].name)
    op.matvec(V[:, :1])  # another block width on the same X: the same choice, not measured again
    assert len(layouts._chosen) == 1
    # a measured shape asks for no chunks (no slab built, no chunk cast, on every product)
    assert layouts.choose(torch.float64, 60, 50, 4, lambda: pytest.fail("timed again")) == chosen
    firsts, seconds = layouts.candidates(torch.float64)
    for pair in [(firsts[1], seconds[1]), (firsts[0], seconds[0])]:  # the remembered one is used
        layouts._chosen[key] = pair
        assert torch.allclose(op.matvec(V), first, rtol=0, atol=1e-12)
        assert (op.first_pass, op.second_pass) == (pair[0].name, pair[1].name)
    assert len(layouts._chosen) == 1
    monkeypatch.setattr(layouts, "TUNE_BYTES", 10**12)  # a small X keeps the plain layouts
    small = HessianOperator(make_problem(60, 2, 1, 3.0, 0.7, seed=2))
    small.matvec(V)
    assert (small.first_pass, small.second_pass) == ("X_c V", "T^T X_c")
    assert len(layouts._chosen) == 1


def test_layout_choice_keeps_the_first_within_the_margin():
    """The plain layout (first) stays unless another is clearly faster; among faster ones the
    earliest within the margin of the fastest wins, so noise between near-equal ones cannot
    move the choice past an earlier candidate."""
    from bbp_torch.layouts import MARGIN, _first_within_margin

    assert _first_within_margin({"plain": 1.0, "other": 0.95}) == "plain"
    assert _first_within_margin({"plain": 1.0, "other": MARGIN * 0.99}) == "other"
    assert _first_within_margin({"plain": 1.0, "b": 0.50, "c": 0.47}) == "b"
    assert _first_within_margin({"plain": 1.0, "b": 0.60, "c": 0.40}) == "c"


def test_hessian_kind_is_checked():
    problem = make_problem(10, 1, 1, 2.0, 0.7)
    with pytest.raises(ValueError, match="hessian.kind"):
        dense_hessian(problem, kind="riemann")
