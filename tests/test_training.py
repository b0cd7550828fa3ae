"""Gradient descent (bbp_torch.training): the steps, the tracked measurements, the overlap and
generalization-error definitions, recovery of the teacher, the spectral warm start."""

import math
from dataclasses import replace

import pytest
import torch

from bbp_torch.config import SolverConfig
from bbp_torch.hessian import dense_hessian, gradient
from bbp_torch.metrics import series_keys
from bbp_torch.model import make_problem
from bbp_torch.training import (
    UNSTABLE_FACTOR,
    Tracker,
    descent_direction,
    gd,
    gram_overlap,
    plateau_start,
    population_gen_error,
    sample_gen_error,
    spectral_student,
    spherical_gd,
    spherical_gd_step,
)


@pytest.fixture(autouse=True)
def one_thread():
    """Descent is many small products: one thread avoids oversubscribing a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_gd_decreases_the_loss():
    problem = make_problem(40, 2, 1, 3.0, 0.7, seed=1)
    traj = gd(problem, lr=0.05, steps=200, track_every=20, hessian_every=0,
              tracker=Tracker.with_fresh_data(problem, 500))
    loss = traj.series["train_loss"]
    assert traj.stop_reason == "max_steps" and traj.steps == 200
    assert all(b <= a for a, b in zip(loss[:-1], loss[1:], strict=True))  # small steps
    assert loss[-1] < 0.5 * loss[0]
    assert float(problem.loss(traj.W)) / problem.M == pytest.approx(loss[-1], rel=1e-12)
    # Independently of Problem.loss and of the closed-form gradient: the per-sample loss
    # 1/2 mean_mu (y - yhat)^2 / (a + y) written out by hand, and 200 steps replayed with the
    # autograd gradient and the natural step eta = lr * p * N / M.
    X, y, N, M = problem.X, problem.y, problem.N, problem.M

    def loss_by_hand(W):
        yhat = ((X @ W.T) / N**0.5).pow(2).mean(dim=1)
        return 0.5 * ((y - yhat).pow(2) / (0.7 + y)).sum()

    assert float(loss_by_hand(problem.W)) / M == pytest.approx(loss[0], rel=1e-10)
    assert float(loss_by_hand(traj.W)) / M == pytest.approx(loss[-1], rel=1e-10)
    eta = 0.05 * 2 * N / M
    W = problem.W.clone()
    for _ in range(200):
        W = W.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(loss_by_hand(W), W)
        W = W.detach() - eta * grad
    assert torch.allclose(traj.W, W, rtol=1e-9, atol=1e-10)


def test_spherical_gd_keeps_every_norm():
    problem = make_problem(40, 3, 1, 2.0, 0.7, seed=2)
    traj = spherical_gd(problem, lr=0.1, steps=100, track_every=10, hessian_every=0,
                        tracker=Tracker.with_fresh_data(problem, 500))
    norms = traj.W.pow(2).sum(dim=1) / problem.N
    assert torch.allclose(norms, torch.ones(3, dtype=torch.float64), atol=1e-12)
    assert all(n == pytest.approx(1, abs=1e-12) for n in traj.series["norm"])
    # One step from any point of the spheres stays on them and moves along the tangent space.
    W = spherical_gd_step(problem, problem.W, 0.01)
    assert torch.allclose(W.norm(dim=1), torch.full((3,), 40**0.5, dtype=torch.float64))


@pytest.mark.parametrize("descend", [gd, spherical_gd])
def test_large_alpha_recovers_the_teacher(descend):
    """alpha=10, p=2, p*=1, N=100: most seeds reach the teacher within 1000 steps."""
    recovered = 0
    for seed in range(4):
        problem = make_problem(100, 2, 1, 10.0, 0.7, seed=seed)
        traj = descend(problem, lr=0.1, steps=1000, track_every=50, hessian_every=0,
                       gen_tol=1e-3, tracker=Tracker.with_fresh_data(problem, 2000))
        final = traj.final
        if traj.stop_reason == "gen_tol" and final["gram_overlap"] > 0.99:
            recovered += 1
            assert final["gen_error_exact"] < 2e-3
    assert recovered >= 3


def test_teacher_as_student_is_a_stationary_point_of_zero_loss(random_orthogonal):
    problem = make_problem(50, 2, 2, 2.0, 0.7, seed=3)
    teacher = problem.with_student(problem.W_star.clone())
    assert float(teacher.loss()) < 1e-24
    assert float(gradient(teacher, teacher.W).abs().max()) < 1e-12
    traj = gd(teacher, lr=0.1, steps=20, track_every=10, hessian_every=0,
              tracker=Tracker.with_fresh_data(teacher, 500))
    assert torch.allclose(traj.W, problem.W_star, atol=1e-12)
    assert traj.final["gram_overlap"] == pytest.approx(1, abs=1e-12)
    assert traj.final["gen_error"] < 1e-24 and abs(traj.final["gen_error_exact"]) < 1e-12
    # Recovery up to W -> O W is still recovery.
    rotated = random_orthogonal(2, 0) @ problem.W_star
    assert gram_overlap(rotated, problem.W_star) == pytest.approx(1, abs=1e-12)
    assert abs(population_gen_error(rotated, problem.W_star)) < 1e-12


def test_overlap_and_generalization_error_definitions(random_orthogonal):
    problem = make_problem(60, 3, 1, 2.0, 0.7, seed=4)
    W, W_star = problem.W, problem.W_star
    Q = random_orthogonal(3, 1)
    assert gram_overlap(Q @ W, W_star) == pytest.approx(gram_overlap(W, W_star), rel=1e-12)
    assert gram_overlap(W, W_star) < 0.1  # ~ sqrt(p p*)/N at random init
    # p = p* = 1: the Gram cosine is the squared cosine of the two weight vectors.
    w, w_star = W[:1], make_problem(60, 2, 1, 2.0, 0.7, seed=5).W[:1]
    assert gram_overlap(w, w_star) == pytest.approx(float(w @ w_star.T / 60) ** 2, rel=1e-12)
    # The closed form agrees with many fresh samples (and with 1/p + 1/p* on average).
    tracker = Tracker.with_fresh_data(problem, 40000)
    exact = population_gen_error(W, W_star)
    assert sample_gen_error(W, tracker.X_test, tracker.y_test) == pytest.approx(exact, rel=0.05)
    assert exact == pytest.approx(1 / 3 + 1, rel=0.2)


@pytest.mark.parametrize("p, p_star", [(2, 1), (3, 2)])
def test_spectral_student_from_the_exact_teacher_eigenspace_is_the_teacher(p, p_star):
    """Vectors spanning span{e_k (x) w*_l} (the N = infinity outlier eigenspace), mixed by a
    random rotation: every unit lands in the teacher subspace, so the student computes the
    teacher's function up to a rotation of its units when p* = 1 (Gram cosine 1), and lies in
    the teacher subspace in general."""
    problem = make_problem(30, p, p_star, 3.0, 0.7, seed=5)
    N, W_star = 30, problem.W_star
    Q_star, _ = torch.linalg.qr(W_star.T)  # (N, p*) orthonormal teacher subspace
    basis = torch.stack([torch.kron(torch.eye(p, dtype=torch.float64)[k], Q_star[:, l])
                         for k in range(p) for l in range(p_star)], dim=1)
    gen = torch.Generator().manual_seed(0)
    O, _ = torch.linalg.qr(torch.randn(p * p_star, p * p_star, generator=gen,
                                       dtype=torch.float64))
    W0 = spectral_student(basis @ O, problem.W, p_star)
    assert torch.allclose(W0.norm(dim=1), torch.full((p,), N**0.5, dtype=torch.float64))
    outside = W0 - (W0 @ Q_star) @ Q_star.T
    assert float(outside.abs().max()) < 1e-12
    if p_star == 1:
        assert gram_overlap(W0, W_star) == pytest.approx(1, abs=1e-12)
    with pytest.raises(ValueError, match="p\\*p_star"):
        spectral_student(basis[:, :1], problem.W, p_star)


def test_tracker_lists_the_steps_whose_solve_missed_tol():
    problem = make_problem(60, 2, 1, 3.0, 0.7, seed=1)
    strict = SolverConfig(name="iterative", k=4, tol=1e-12, max_iter=2)
    tracker = Tracker.with_fresh_data(problem, 200, solver=strict)
    traj = gd(problem, lr=0.05, steps=20, track_every=10, tracker=tracker)
    assert traj.series["step"] == [0, 10, 20] and tracker.unconverged == [0, 10, 20]
    fine = Tracker.with_fresh_data(problem, 200)  # the dense default meets its tol
    gd(problem, lr=0.05, steps=20, track_every=10, tracker=fine)
    assert fine.unconverged == []


# ------------------------------------------------------------------ the Hessian the descent sees


def _descended(N, alpha, seed, steps, p=1, a=0.5):
    """A problem and its student after ``steps`` spherical steps (no Hessian along the way)."""
    problem = make_problem(N, p, 1, alpha, a, seed=seed)
    traj = spherical_gd(problem, lr=0.1, steps=steps, track_every=50, hessian_every=0,
                        tracker=Tracker.with_fresh_data(problem, 200))
    return problem, traj


def test_tracked_hessian_of_spherical_gd_is_the_riemannian_one_on_the_tangent_space(
        spherical_chart):
    """Mid-descent (not a critical point), the tracked Hessian of spherical GD is the autograd
    Hessian in a chart of the spheres: its bottom eigenvalues, and no radial zero among them."""
    problem, traj = _descended(40, 2.0, 1, 150, p=2, a=0.7)
    moved = replace(problem, W=traj.W)
    _, H_chart = spherical_chart(moved)
    chart = torch.linalg.eigvalsh(H_chart)
    tracker = Tracker.with_fresh_data(moved, 200, hessian_kind="spherical",
                                      solver=SolverConfig(k=5, full_spectrum=False))
    point = tracker.hessian(traj.W)
    pairs = tracker.eigenpairs(traj.W)
    scale = float(chart.abs().max())
    assert torch.allclose(pairs.values, chart[:5], atol=1e-10 * scale)
    assert point["lambda_min"] == pytest.approx(float(chart[0]), abs=1e-10 * scale)
    radial = pairs.vectors.T.reshape(5, 2, 40) * traj.W[None] / 40**0.5
    assert float(radial.sum(dim=2).abs().max()) < 1e-10  # every eigenvector is tangent
    # the descent's own series, from train_gd's default tracker, carries the same numbers
    assert traj.series["lambda_min"][-1] == pytest.approx(float(chart[0]), abs=1e-10 * scale)


def test_at_a_local_minimum_on_the_spheres_every_reported_eigenvalue_is_positive():
    """A stalled descent (tangent gradient ~ 0, not the teacher): the Riemannian Hessian there
    is positive on the tangent space, although P H P has p exact zeros (the radial
    directions, which the solvers must not report), and the Euclidean bottom is negative."""
    problem, traj = _descended(60, 2.0, 2, 2500)
    W = traj.W
    tangent = descent_direction(problem, W, "spherical_gd")
    assert float(tangent.norm()) < 1e-3 * float(gradient(problem, W).norm())
    assert gram_overlap(W, problem.W_star) < 0.1  # a spurious minimum, not the teacher
    for solver in (SolverConfig(k=4, full_spectrum=True), SolverConfig(name="iterative", k=4)):
        tracker = Tracker.with_fresh_data(problem, 200, hessian_kind="spherical",
                                          solver=solver)
        pairs = tracker.eigenpairs(W)
        assert pairs.converged and float(pairs.values.min()) > 1e-3
        if pairs.all_values is not None:
            assert len(pairs.all_values) == problem.N - 1 and float(pairs.all_values[0]) > 0
    projected = torch.linalg.eigvalsh(dense_hessian(problem, W, "spherical"))
    assert float(projected.abs().min()) < 1e-10  # the radial zero the solvers leave out
    euclid = Tracker.with_fresh_data(problem, 200, hessian_kind="euclidean").hessian(W)
    assert euclid["lambda_min"] < 0


def test_warm_started_eigensolve_gives_the_cold_pairs():
    """Along a descent, the iterative solve started from the eigenvectors of 100 steps earlier
    returns the pairs of a solve from a random block (values, and the same eigenvectors)."""
    problem = make_problem(150, 2, 1, 3.0, 0.7, seed=4)
    solver = SolverConfig(name="iterative", k=4, tol=1e-9)
    tracker = Tracker.with_fresh_data(problem, 200, hessian_kind="spherical", solver=solver)
    earlier = spherical_gd(problem, lr=0.1, steps=100, track_every=100, hessian_every=0,
                           tracker=tracker).W
    later = spherical_gd(replace(problem, W=earlier), lr=0.1, steps=100, track_every=100,
                         hessian_every=0, tracker=Tracker.with_fresh_data(problem, 200)).W
    tracker.eigenpairs(earlier)
    warm = tracker.eigenpairs(later)  # starts from the eigenvectors at `earlier`
    assert warm.info["phases"][-1]["method"] == "block_davidson"
    cold = Tracker.with_fresh_data(problem, 200, hessian_kind="spherical", solver=solver,
                                   warm_start=False).eigenpairs(later)
    assert cold.info["phases"][-1]["method"] == "block_lanczos"
    assert warm.converged and cold.converged
    scale = max(warm.scale, cold.scale)
    assert torch.allclose(warm.values, cold.values, atol=1e-9 * scale)
    overlaps = (warm.vectors.T @ cold.vectors).abs()
    assert float((overlaps.diagonal() - 1).abs().max()) < 1e-6


def test_eigvec_gradient_overlap_is_the_cosine_with_the_descent_direction():
    problem, traj = _descended(40, 2.0, 1, 100, p=2, a=0.7)
    tracker = Tracker.with_fresh_data(problem, 200, hessian_kind="spherical")
    point = tracker.hessian(traj.W)
    v = tracker.eigenpairs(traj.W).vectors[:, 0]
    d = descent_direction(problem, traj.W, "spherical_gd").reshape(-1)
    assert point["eigvec_gradient_overlap"] == pytest.approx(
        abs(float(v @ d)) / float(d.norm()), rel=1e-12)
    assert set(point) == set(series_keys("hessian"))  # what it measures is what is declared


# ------------------------------------------------------------------ the plateau stop rule


def test_plateau_rule_on_loss_series():
    assert plateau_start([1.0, 0.5, 0.4, 0.4, 0.4], 1e-3, 2) == 2
    assert plateau_start([1.0, 0.5, 0.4, 0.4, 0.4], 1e-3, 3) is None  # 0.5 -> 0.4 in window
    assert plateau_start([0.4, 0.4], 1e-3, 2) is None  # the window is not full yet
    assert plateau_start([0.4] * 10, 0.0, 2) is None  # 0 turns the rule off
    # a geometric descent, however slow per tracked step, changes by more than 1e-4 of itself
    assert plateau_start([0.999 ** i for i in range(50)], 1e-4, 5) is None


def test_plateau_stops_a_stalled_descent_and_never_a_descending_one():
    stalled, _ = _descended(60, 2.0, 2, 0)
    traj = spherical_gd(stalled, lr=0.1, steps=20000, track_every=50, hessian_every=0,
                        plateau_tol=1e-6, plateau_window=10,
                        tracker=Tracker.with_fresh_data(stalled, 200))
    assert traj.stop_reason == "plateau" and traj.steps < 20000
    assert traj.plateau_step == traj.steps - 500  # the first step of the window
    loss = traj.series["train_loss"]
    assert abs(loss[-1] - loss[-11]) <= 1e-6 * loss[-1] < abs(loss[-2] - loss[-12])
    # a descent that recovers the teacher: its loss falls geometrically, never a plateau
    recovering = make_problem(60, 1, 1, 3.0, 0.5, seed=3)
    traj = spherical_gd(recovering, lr=0.1, steps=600, track_every=50, hessian_every=0,
                        plateau_tol=1e-6, plateau_window=10,
                        tracker=Tracker.with_fresh_data(recovering, 200))
    assert traj.stop_reason == "max_steps" and traj.plateau_step is None
    assert traj.series["gram_overlap"][-1] > 0.99


def test_an_unstable_step_is_a_diverged_descent_and_a_stable_one_is_not():
    """Spherical GD cannot blow up (the rows stay on the sphere), but a step beyond the largest
    curvatures throws the student uphill, onto one sample: the loss climbs far above its
    start, and the descent stops as diverged. The same draw at a small step descends."""
    problem = make_problem(100, 1, 1, 2.0, 0.5, seed=0)
    tracker = Tracker.with_fresh_data(problem, 200)
    unstable = spherical_gd(problem, lr=2.0, steps=400, track_every=10, hessian_every=0,
                            tracker=tracker)
    loss = unstable.series["train_loss"]
    assert unstable.stop_reason == "diverged" and unstable.steps < 400
    assert math.isfinite(loss[-1]) and loss[-1] > UNSTABLE_FACTOR * loss[0]
    stable = spherical_gd(problem, lr=0.05, steps=400, track_every=10, hessian_every=0,
                          tracker=Tracker.with_fresh_data(problem, 200))
    assert stable.stop_reason == "max_steps" and max(stable.series["train_loss"]) <= \
        stable.series["train_loss"][0]

