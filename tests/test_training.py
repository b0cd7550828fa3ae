"""Gradient descent from the initialization, the spectral warm start and the bbp-train app."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from bbp_torch.config import ConfigError
from bbp_torch.hessian import dense_hessian, gradient
from bbp_torch.model import make_problem
from bbp_torch.training import (
    Tracker,
    gd,
    gram_overlap,
    population_gen_error,
    run_training,
    sample_gen_error,
    spherical_gd,
    spherical_gd_step,
    validate_train,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def one_thread():
    """Descent is many small products: one thread avoids oversubscribing a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def small_config(**train):
    return {"problem": {"N": 40, "p": 2, "p_star": 1, "alpha": 3.0, "a": 0.7}, "seed": 0,
            "device": "cpu", "train": {"steps": 200, "track_every": 50, **train}}



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
        if traj.stop_reason == "gen_tol" and final["overlap"] > 0.99:
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
    assert traj.final["overlap"] == pytest.approx(1, abs=1e-12)
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


def test_spectral_start_beats_random_above_alpha_bbp():
    """alpha=3 is well above alpha_BBP(p=2, p*=1, a=0.7) ~ 0.93."""
    for seed in range(3):
        record = run_training({**small_config(init="spectral", steps=0), "seed": seed,
                               "problem": {"N": 80, "p": 2, "p_star": 1, "alpha": 3.0,
                                           "a": 0.7}}).record
        init = record["metrics"]["init"]
        assert init["overlap"] > 0.5  # the bottom eigenvector already sees the teacher
        assert init["warm_student_overlap"] > init["student_overlap"] + 0.2
        assert record["metrics"]["series"]["overlap"][0] == init["warm_student_overlap"]
        assert init["warm_gen_error_exact"] < init["gen_error_exact"]


def test_run_record_holds_the_series_and_the_time_dependent_hessian():
    record = run_training(small_config(hessian_every=100)).record
    m = record["metrics"]
    for key in ("final_overlap", "final_gen_error", "success", "steps", "series", "init"):
        assert key in m
    series = m["series"]
    assert series["step"] == [0, 50, 100, 150, 200]
    assert [x is not None for x in series["lambda_min"]] == [True, False, True, False, True]
    assert series["lambda_min"][0] == pytest.approx(m["init"]["lambda_min"], rel=1e-12)
    # Independently of the cached eigenpairs at init: the full spectrum of the dense Euclidean
    # Hessian (the default hessian.kind) of the same initial problem, rebuilt from the config.
    problem = make_problem(40, 2, 1, 3.0, 0.7, seed=0)
    spectrum = torch.linalg.eigvalsh(dense_hessian(problem))
    assert series["lambda_min"][0] == pytest.approx(float(spectrum[0]), rel=1e-9, abs=1e-12)
    assert record["config"]["hessian"]["kind"] == "euclidean"
    assert series["train_loss"][0] == pytest.approx(float(problem.loss()) / problem.M, rel=1e-12)
    assert m["steps"] == 200 or m["stop_reason"] in ("gen_tol", "loss_tol")
    assert record["config"]["train"]["hessian_every"] == 100
    assert m["eta"] == pytest.approx(0.1 * 2 / 3.0)


@pytest.mark.parametrize(
    ("train", "field"),
    [({"method": "adam"}, "train.method"), ({"lr": -1.0}, "train.lr"),
     ({"init": "teacher"}, "train.init"), ({"steps": "many"}, "train.steps"),
     ({"hessian_every": 30}, "train.hessian_every"), ({"bogus": 1}, "train.bogus")],
)
def test_validation_names_the_field(train, field):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        validate_train(small_config(**train))


def test_riemannian_hessian_needs_the_spherical_method():
    cfg = {**small_config(method="gd"), "hessian": {"kind": "spherical"}}
    with pytest.raises(ConfigError, match="train.method"):
        validate_train(cfg)


def test_bbp_train_app_writes_record_and_events(tmp_path, capsys):
    from hydra import compose, initialize_config_dir

    from bbp_torch.cli import CONFIG_DIR
    from bbp_torch.results import read_record
    from bbp_torch.train_cli import run_train_app

    overrides = ["problem.N=40", "problem.alpha=4", "device=cpu", "train.steps=100",
                 "train.track_every=50", "train.init=spectral"]
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="train", overrides=overrides)
    assert run_train_app(cfg, tmp_path) == 0
    record = read_record(tmp_path)
    assert record["status"] == "ok" and record["config"]["train"]["init"] == "spectral"
    assert set(record["metrics"]["series"]) >= {"step", "gen_error", "overlap", "lambda_min"}
    assert list(tmp_path.glob("events.out.tfevents.*"))
    assert "bbp-train" in capsys.readouterr().out
    assert run_train_app(cfg, tmp_path) == 0  # a finished record of the same config: skipped
    assert "skipped" in capsys.readouterr().out


def test_bbp_train_command_and_its_configuration_error(tmp_path):
    base = [sys.executable, "-m", "bbp_torch.train_cli", "device=cpu", "threads=1", "problem.N=30",
            "train.steps=20", "train.track_every=10", "logging.tensorboard=false"]
    ok = subprocess.run(base + [f"hydra.run.dir={tmp_path / 'ok'}"], cwd=ROOT,
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "ok" / "record.json").exists()
    bad = subprocess.run(base + ["train.method=adam", f"hydra.run.dir={tmp_path / 'bad'}"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert "train.method" in bad.stderr and "spherical_gd" in bad.stderr
