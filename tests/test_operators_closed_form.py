"""The matrix-free product from the closed form (bbp_torch.operators.closed_form) against the
dense Hessian: chunks, float32 storage of X, float32 products (a narrower copy of X made once),
and every layout of its two passes (bbp_torch.layouts)."""

import pytest
import torch
from operator_cases import CASES, rel_err

from bbp_torch.model import make_problem
from bbp_torch.operators.closed_form import HessianOperator
from bbp_torch.operators.dense import dense_hessian


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


def test_chunked_float32_product_matches_dense():
    problem = make_problem(80, 3, 1, 3.0, 0.7, seed=6, data_dtype="float32")
    H = HessianOperator(problem).dense()
    V = torch.randn(240, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    for chunk in (None, 7, 1000):
        HV = HessianOperator(problem, chunk_size=chunk).matvec(V)
        assert float((HV - H @ V).abs().max()) < 1e-12 * float((H @ V).abs().max())


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
    assert low.data.dtype == torch.float32 and problem.X.dtype == torch.float64
    assert torch.equal(low.data, problem.X.to(torch.float32)) and op.data is problem.X
    V = torch.randn(200, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    exact, approx = op.matvec(V), low.matvec(V)
    assert 0 < float((approx - exact).norm() / exact.norm()) < 1e-5
    again = low.with_compute_dtype(torch.float32)  # a float32 operator's copy is not redone
    assert again.data is low.data and torch.equal(again.matvec(V), approx)
    back = low.with_compute_dtype(torch.float64)  # and float64 products use X itself again
    assert back.data is problem.X and torch.equal(back.matvec(V), exact)


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
