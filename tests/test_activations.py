"""Other activations than the square (docs/model.md, section 6; the paper's Fig. 8): every Hessian
path against the student module by autograd and finite differences, the validation of ``a``,
no theory, the square unchanged, and the BBP-like rise of the overlap."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import rel_err

from bbp_torch.activations import ACTIVATIONS, get_activation
from bbp_torch.config import ConfigError, SolverConfig, TrainRunConfig, validate
from bbp_torch.hessian import (
    AutogradOperator,
    HessianOperator,
    autograd_hessian,
    dense_hessian,
    gradient,
    hessian_operator,
    lagrange_multipliers,
)
from bbp_torch.model import Student, loss_from_output, make_problem
from bbp_torch.spectrum import bottom_eigenpairs
from bbp_torch.study import run_study, run_training
from bbp_torch.training import train

NON_SQUARE = [name for name in ACTIVATIONS if name != "quadratic"]
CASES = [  # (N, p, p_star, alpha); a is chosen per activation
    (12, 1, 1, 3.0),
    (10, 2, 1, 2.5),
    (8, 3, 2, 4.0),
]
A = {"quadratic": 0.7, "tanh": 50.0, "erf": 1.5, "sigmoid": 1.0, "relu": 0.7}


def away_from_kink(problem, margin: float = 1e-3) -> bool:
    """ReLU's second derivative is a delta at 0: keep the finite differences away from it."""
    return bool(problem.preactivations().abs().min() > margin)


def problem_for(activation, N, p, p_star, alpha, seed=3, device="cpu"):
    problem = make_problem(N, p, p_star, alpha, A[activation], seed=seed, device=device,
                           activation=activation)
    if activation == "relu":
        assert away_from_kink(problem), "pick another seed: a pre-activation sits on the kink"
    return problem


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_each_activation_is_sigma_with_its_derivatives(activation):
    act = get_activation(activation)
    h = torch.linspace(-3, 3, 61, dtype=torch.float64)
    h = h[h.abs() > 1e-3]  # ReLU: not at the kink
    d1 = torch.func.vmap(torch.func.grad(lambda x: act.sigma(x)))(h)
    d2 = torch.func.vmap(torch.func.grad(torch.func.grad(lambda x: act.sigma(x))))(h)
    assert torch.allclose(act.d1(h), d1, atol=1e-12)
    assert torch.allclose(act.d2(h), d2, atol=1e-12)
    values = act.sigma(torch.linspace(-30, 30, 601, dtype=torch.float64))
    assert float(values.min()) >= act.lower and float(values.max()) <= act.upper


@pytest.mark.parametrize("activation", NON_SQUARE)
@pytest.mark.parametrize("N, p, p_star, alpha", CASES)
def test_closed_form_equals_autograd_of_the_module_and_finite_differences(
        activation, N, p, p_star, alpha):
    problem = problem_for(activation, N, p, p_star, alpha)
    H = dense_hessian(problem)
    assert torch.equal(H, H.T)
    assert rel_err(H, autograd_hessian(problem)) < 1e-10
    # the gradient against the module's own backward pass
    student = Student.of(problem)
    loss_from_output(student(problem.X), problem.y, problem.a).backward()
    assert rel_err(gradient(problem), student.weight.grad) < 1e-10
    # central finite differences of the closed-form gradient, column by column
    eps, W = 1e-6, problem.W
    columns = []
    for j in range(p * N):
        E = torch.zeros(p * N, dtype=W.dtype)
        E[j] = eps
        E = E.reshape(p, N)
        columns.append(((gradient(problem, W + E) - gradient(problem, W - E)) / (2 * eps))
                       .reshape(-1))
    assert rel_err(torch.stack(columns, dim=1), H) < 1e-6


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize("kind", ["euclidean", "spherical"])
def test_both_products_equal_the_dense_hessian(activation, kind, device):
    problem = problem_for(activation, 14, 2, 1, 3.0, seed=5, device=device)
    H = dense_hessian(problem, kind=kind)
    gen = torch.Generator().manual_seed(0)
    V = torch.randn(problem.dim, 3, generator=gen, dtype=torch.float64).to(device)
    closed = HessianOperator(problem, kind=kind, chunk_size=9)  # chunks that do not divide M
    auto = AutogradOperator(problem, kind=kind, chunk_size=9)
    assert rel_err(closed.matvec(V), H @ V) < 1e-12
    assert rel_err(auto.matvec(V), H @ V) < 1e-10
    assert rel_err(auto.matvec(V[:, 0]), H @ V[:, 0]) < 1e-10
    if kind == "spherical":  # the multipliers: autograd gradient against the closed form
        assert rel_err(auto.mu, lagrange_multipliers(problem)) < 1e-10


@pytest.mark.parametrize("activation", NON_SQUARE)
def test_the_spherical_hessian_kills_the_radial_directions(activation):
    problem = problem_for(activation, 12, 3, 1, 3.0, seed=8)
    Hs = dense_hessian(problem, kind="spherical")
    p, N = problem.W.shape
    U = torch.zeros(p * N, p, dtype=Hs.dtype)
    for k in range(p):
        U[k * N:(k + 1) * N, k] = problem.W[k] / N**0.5
    assert float((Hs @ U).abs().max() / Hs.abs().max()) < 1e-12
    assert rel_err(Hs, autograd_hessian(problem, kind="spherical")) < 1e-10


@pytest.mark.parametrize("activation", NON_SQUARE)
def test_iterative_solver_on_either_product_agrees_with_dense(activation):
    problem = problem_for(activation, 60, 2, 1, 3.0, seed=2)
    dense = bottom_eigenpairs(HessianOperator(problem), SolverConfig(k=4))
    for product in ("closed_form", "autograd"):
        op = hessian_operator(problem, product=product)
        it = bottom_eigenpairs(op, SolverConfig(name="iterative", k=4, tol=1e-10))
        assert it.converged
        assert torch.allclose(it.values, dense.values, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("activation, a, floor", [("tanh", 1.0, 1), ("erf", 0.5, 1),
                                                  ("sigmoid", 0.0, 0), ("relu", -0.1, 0)])
def test_the_loss_constant_must_keep_a_plus_y_positive(compose, activation, a, floor):
    with pytest.raises(ConfigError) as err:
        validate(compose([f"problem.activation={activation}", f"problem.a={a}"]))
    message = str(err.value)
    assert "problem.a" in message and activation in message
    assert f"must exceed {floor}" in message or "must be positive" in message
    validate(compose([f"problem.activation={activation}", f"problem.a={floor + 0.5}"]))


def test_unknown_activation_and_mixed_precision_with_autograd_are_refused(compose):
    with pytest.raises(ConfigError, match="problem.activation"):
        validate(compose(["problem.activation=softplus"]))
    with pytest.raises(ConfigError, match="solver.mixed_precision"):
        validate(compose(["solver=iterative", "solver.mixed_precision=true",
                          "hessian.product=autograd"]))
    with pytest.raises(ValueError, match="activation"):
        make_problem(10, 1, 1, 2.0, 1.0, activation="softplus")


BASE = {"threads": 1, "logging": {"tensorboard": False, "progress": False}}


def test_a_record_of_another_activation_has_no_theory_and_says_why(monkeypatch):
    from bbp_torch import theory

    def no_call(*args, **kwargs):
        raise AssertionError("the theory was called for a non-square activation")

    monkeypatch.setattr(theory, "predictions", no_call)
    monkeypatch.setattr(theory, "threshold", no_call)
    cfg = {**BASE, "problem": {"N": 30, "activation": "tanh", "a": 50.0}}
    record = run_study(cfg).record
    assert record["status"] == "ok" and record["metrics"]["theory"] is None
    assert "quadratic activation alone" in record["metrics"]["theory_note"]
    from bbp_torch.summary import study_summary, training_summary

    text = study_summary(record)
    assert "theory outlier" not in text and "quadratic activation alone" in text
    train_cfg = {**cfg, "train": {"steps": 20, "track_every": 10, "n_test": 100}}
    trained = run_training(validate(train_cfg, TrainRunConfig)).record
    assert trained["metrics"]["theory"] is None and "theory_note" in trained["metrics"]
    assert "alpha_BBP" not in training_summary(trained)


def test_the_square_gives_the_records_it_gave_before_activations_existed():
    """Reference numbers made by the code before activations existed (tests/data). The dense
    and training entries agree to rounding (bit for bit on the machine that made them, before
    the dense build moved to row-panel products). The block Lanczos changed on purpose since
    (issue 14: it stops at another step), so its entries agree at the solver's accuracy:
    eigenvalues to 1e-9 relative (with mixed precision to solver.tol: its float32 products
    round differently on another CPU), overlaps to 1e-5, every pair meeting solver.tol."""
    from bbp_torch.config import TrainRunConfig

    reference = json.loads((Path(__file__).parent / "data" / "quadratic_reference.json")
                           .read_text())
    for name, case in reference.items():
        iterative = case["config"].get("solver", {}).get("name") == "iterative"
        if name == "training":
            m = run_training(validate(case["config"], TrainRunConfig)).record["metrics"]
            got = {key: m[key] for key in case["metrics"] if key in m}
            got["series_gram_overlap"] = m["series"]["gram_overlap"]
            got["series_lambda_min"] = m["series"]["lambda_min"]
        else:
            record = run_study(case["config"]).record
            assert record["status"] == "ok", name
            m = record["metrics"]
            got = {key: m[key] for key in case["metrics"]}
        for key, want in case["metrics"].items():
            if iterative and key == "residuals":
                continue  # another stopping step: other residuals, all below solver.tol
            # mixed precision: float32 products round differently on another CPU's BLAS path;
            # a Ritz value at relative residual tol is within tol * ||H|| of an eigenvalue
            solver = case["config"].get("solver", {})
            value_rtol = solver["tol"] if solver.get("mixed_precision") else 1e-9
            rtol, atol = (1e-9, 1e-5) if iterative and "overlap" in key else \
                (value_rtol, 1e-13) if iterative else (1e-10, 1e-13)
            assert np.allclose(np.asarray(got[key], dtype=float), np.asarray(want, dtype=float),
                               rtol=rtol, atol=atol), (name, key)


@pytest.mark.parametrize("activation", NON_SQUARE)
def test_gradient_descent_steps_the_module_and_lowers_the_loss(activation):
    problem = problem_for(activation, 30, 2, 1, 4.0, seed=1)
    traj = train(problem, method="gd", lr=0.05, steps=40, track_every=20, hessian_every=0)
    losses = traj.series["train_loss"]
    assert losses[-1] < losses[0]
    assert traj.series["gen_error_exact"][0] is None  # no closed form beside the square
    assert not torch.equal(traj.W, problem.W)


@pytest.mark.parametrize("activation, a", [("sigmoid", 1.0), ("tanh", 50.0)])
def test_the_overlap_rises_with_alpha_for_other_activations(activation, a):
    """Fig. 8: a BBP-like rise of the bottom eigenvector's teacher overlap (p=2, p*=1).

    Measured at N=150 over seeds 0-5: sigmoid (a=1) mean m 0.155 at alpha=0.5 (largest 0.268)
    and 0.453 at alpha=8 (smallest 0.398); tanh (a=50) 0.110 (largest 0.248) and 0.465
    (smallest 0.422).
    """
    def overlaps(alpha):
        return [run_study({**BASE, "seed": seed, "theory": False,
                           "solver": {"full_spectrum": False},
                           "problem": {"N": 150, "alpha": alpha, "a": a,
                                       "activation": activation}}).record["metrics"]["overlap"]
                for seed in range(6)]

    small, large = overlaps(0.5), overlaps(8.0)
    assert np.mean(large) > np.mean(small) + 0.2
    assert min(large) > max(small)
