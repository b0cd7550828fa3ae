"""The pipelines (bbp_torch.study): run_study and run_training from a config to a record, checked
against independent computations of the same numbers."""

import numpy as np
import pytest
import torch
from helpers import SMALL_RUN

from bbp_torch.hessian import dense_hessian
from bbp_torch.model import make_problem
from bbp_torch.study import run_study, run_training

SMALL = list(SMALL_RUN)


# ----------------------------------------------------------------------------- run_study


def test_same_seed_same_numbers_different_seed_different_numbers(compose):
    a = run_study(compose(SMALL + ["seed=3", "theory=false"])).record["metrics"]
    b = run_study(compose(SMALL + ["seed=3", "theory=false"])).record["metrics"]
    c = run_study(compose(SMALL + ["seed=4", "theory=false"])).record["metrics"]
    assert a["bottom_eigenvalues"] == b["bottom_eigenvalues"] and a["overlap"] == b["overlap"]
    assert a["bottom_eigenvalues"] != c["bottom_eigenvalues"]


def test_float32_run_close_to_float64(compose):
    m64 = run_study(compose(SMALL + ["theory=false"])).record["metrics"]
    m32 = run_study(compose(SMALL + ["theory=false", "dtype=float32"])).record["metrics"]
    assert m32["lambda_min"] == pytest.approx(m64["lambda_min"], rel=1e-4)


def test_spherical_run_is_the_riemannian_hessian(compose, spherical_chart):
    """The spherical run's spectrum, against an independent construction of the Riemannian
    Hessian: the autograd Hessian of L in the retraction chart (conftest), whose p(N-1)
    eigenvalues are the whole spectrum (the p radial directions are not eigenvectors of the
    landscape: no zero of theirs is reported, and every eigenvector is tangent)."""
    e = run_study(compose(SMALL + ["theory=false"])).record["metrics"]
    result = run_study(compose(SMALL + ["theory=false", "hessian.kind=spherical"]))
    s = result.record["metrics"]
    assert s["lambda_min"] != e["lambda_min"]
    assert max(s["residuals"]) < 1e-10
    problem = make_problem(60, 2, 1, 2.0, 0.7, seed=0)  # the SMALL run, rebuilt
    _, H_chart = spherical_chart(problem)
    chart = torch.linalg.eigvalsh(H_chart).numpy()
    expected = np.sort(chart)
    scale = np.abs(expected).max()
    assert result.spectrum.shape == (118,)
    assert np.abs(result.spectrum - expected).max() < 1e-10 * scale
    k = len(s["bottom_eigenvalues"])
    assert np.abs(np.array(s["bottom_eigenvalues"]) - expected[:k]).max() < 1e-10 * scale
    assert s["lambda_min"] == pytest.approx(expected[0], abs=1e-10 * scale)


def test_run_study_iterative_records_residuals_and_slq_density():
    cfg = {"problem": {"N": 100, "p": 2, "alpha": 3.0}, "device": "cpu", "theory": False,
           "solver": {"name": "iterative", "k": 6, "slq_probes": 3, "slq_steps": 20},
           "logging": {"progress": False, "histogram_bins": 30}}
    result = run_study(cfg)
    m = result.record["metrics"]
    assert m["solver_used"] == "iterative" and m["iterations"] > 0
    assert len(m["residuals"]) == 6 and max(m["residuals"]) < 1e-6
    assert m["solver_info"]["converged"] and len(m["solver_info"]["relative_residuals"]) == 6
    # mixed precision by default (auto: the float32 copy of X fits)
    assert [x["compute_dtype"] for x in m["solver_info"]["phases"]] == ["float32", "float64"]
    assert result.spectrum is None
    d = m["density"]
    assert d["method"] == "slq" and len(d["edges"]) == 31 and len(d["density"]) == 30
    assert d["n"] == 200 and d["probes"] == 3
    widths = [b - a for a, b in zip(d["edges"][:-1], d["edges"][1:], strict=True)]
    assert abs(sum(x * w for x, w in zip(d["density"], widths, strict=True)) - 1.0) < 1e-9
    # the record's status, tolerance and convergence flag
    assert result.record["status"] == "ok" and m["converged"] and m["tol"] == 1e-8
    assert max(m["relative_residuals"]) <= m["tol"]
    # the bottom eigenvalues, against the dense spectrum of the same problem
    exact = torch.linalg.eigvalsh(dense_hessian(make_problem(100, 2, 1, 3.0, 0.7, seed=0)))
    assert np.abs(np.array(m["bottom_eigenvalues"]) - exact[:6].numpy()).max() < 1e-8


def test_run_study_mixed_precision_records_both_phases():
    cfg = {"problem": {"N": 150, "p": 2, "alpha": 3.0}, "device": "cpu", "theory": False,
           "data_dtype": "float32",
           "solver": {"name": "iterative", "k": 6, "tol": 1e-9, "mixed_precision": True,
                      "slq_probes": 3, "slq_steps": 30},
           "logging": {"progress": False, "histogram_bins": 20}}
    result = run_study(cfg)
    full = run_study(cfg | {"solver": cfg["solver"] | {"mixed_precision": False}})
    low, high = result.record["metrics"]["density"], full.record["metrics"]["density"]
    assert (low["compute_dtype"], high["compute_dtype"]) == ("float32", "float64")
    assert max(abs(a - b) for a, b in zip(low["edges"], high["edges"], strict=True)) < 1e-5
    assert max(abs(a - b) for a, b in zip(low["density"], high["density"], strict=True)) < 1e-6
    m = result.record["metrics"]
    info = m["solver_info"]
    assert info["mixed_precision"] and info["converged"]
    assert [x["compute_dtype"] for x in info["phases"]] == ["float32", "float64"]
    assert m["iterations"] == sum(x["iterations"] for x in info["phases"])
    assert max(info["relative_residuals"]) < 1e-9
    from bbp_torch.summary import study_summary

    text = study_summary(result.record)
    assert "on float32 products" in text
    assert "on float64 products, float32 for its corrections), converged" in text
    refine = info["phases"][1]
    assert (refine["expansion_dtype"], refine["compute_dtype_products"]) == (
        "float32", 6 * (1 + refine["anchors"]))


def test_the_record_says_which_precision_auto_ran():
    """``solver.mixed_precision=auto`` (default): the record's config holds the decided value
    and ``metrics.solver_info.mixed_precision`` says which ran, on either side of the memory
    limit."""
    from bbp_torch.config import memory_gb, validate

    cfg = {"problem": {"N": 60, "p": 2, "alpha": 3.0}, "device": "cpu", "theory": False,
           "solver": {"name": "iterative", "k": 6, "slq_probes": 0},
           "logging": {"progress": False}}
    need = memory_gb(validate(cfg))
    for limit, mixed in [(need * 1.01, True), (need * 0.99, False)]:
        record = run_study(cfg | {"solver": cfg["solver"] | {"max_memory_gb": limit}}).record
        assert record["config"]["solver"]["mixed_precision"] is mixed
        assert record["metrics"]["solver_info"]["mixed_precision"] is mixed
        phases = [x["compute_dtype"] for x in record["metrics"]["solver_info"]["phases"]]
        assert phases == (["float32", "float64"] if mixed else ["float64"])


def test_an_unconverged_solve_is_recorded_as_such():
    cfg = {"problem": {"N": 100, "p": 2, "alpha": 3.0}, "device": "cpu", "theory": False,
           "solver": {"name": "iterative", "k": 6, "tol": 1e-12, "max_iter": 2},
           "logging": {"progress": False}}
    record = run_study(cfg).record
    m = record["metrics"]
    assert record["status"] == "unconverged" and not m["converged"]
    assert max(m["relative_residuals"]) > m["tol"] == 1e-12
    assert "solver.tol=1e-12" in record["warning"] and "solver.max_iter" in record["warning"]


def test_theory_goes_into_the_record_shifted_for_the_spherical_hessian(compose):
    from bbp_torch import theory

    e = run_study(compose(SMALL)).record["metrics"]["theory"]
    s = run_study(compose(SMALL + ["hessian.kind=spherical"])).record["metrics"]["theory"]
    assert e == theory.predictions(2, 1, 0.7, 2.0)
    mu = theory.lagrange_multiplier(2, 1, 0.7, 2.0)
    assert s["lagrange_multiplier"] == mu and mu > 0
    assert s["lambda_edge"] == pytest.approx(e["lambda_edge"] - mu, rel=1e-12)
    assert s["lambda_outlier"] == pytest.approx(e["lambda_outlier"] - mu, rel=1e-12)
    assert s["overlap"] == e["overlap"] and s["alpha_bbp"] == e["alpha_bbp"]


# ----------------------------------------------------------------------------- run_training


def small_train_config(**train):
    return {"problem": {"N": 40, "p": 2, "p_star": 1, "alpha": 3.0, "a": 0.7}, "seed": 0,
            "device": "cpu", "train": {"steps": 200, "track_every": 50, **train}}


def test_spectral_start_beats_random_above_alpha_bbp():
    """alpha=3 is well above alpha_BBP(p=2, p*=1, a=0.7) ~ 0.93."""
    for seed in range(3):
        record = run_training({**small_train_config(init="spectral", steps=0), "seed": seed,
                               "problem": {"N": 80, "p": 2, "p_star": 1, "alpha": 3.0,
                                           "a": 0.7}}).record
        init = record["metrics"]["init"]
        assert init["overlap"] > 0.5  # the bottom eigenvector already sees the teacher
        assert init["warm_student_overlap"] > init["student_overlap"] + 0.2
        assert record["metrics"]["series"]["gram_overlap"][0] == init["warm_student_overlap"]
        assert init["warm_gen_error_exact"] < init["gen_error_exact"]


def test_run_record_holds_the_series_and_the_time_dependent_hessian(spherical_chart):
    record = run_training(small_train_config(hessian_every=100)).record
    m = record["metrics"]
    for key in ("final_gram_overlap", "final_gen_error", "success", "steps", "series", "init"):
        assert key in m
    series = m["series"]
    assert series["step"] == [0, 50, 100, 150, 200]
    assert [x is not None for x in series["lambda_min"]] == [True, False, True, False, True]
    assert series["lambda_min"][0] == pytest.approx(m["init"]["lambda_min"], rel=1e-12)
    # Independently of the cached eigenpairs at init: the spectrum of the Riemannian Hessian
    # (train.track_hessian=auto with spherical_gd) of the same initial problem, rebuilt from
    # the config, as the autograd Hessian in a chart of the spheres.
    problem = make_problem(40, 2, 1, 3.0, 0.7, seed=0)
    spectrum = torch.linalg.eigvalsh(spherical_chart(problem)[1])
    assert series["lambda_min"][0] == pytest.approx(float(spectrum[0]), rel=1e-9, abs=1e-12)
    assert record["config"]["hessian"]["kind"] == "spherical"
    assert record["config"]["train"]["track_hessian"] == "spherical"
    euclidean = run_training(small_train_config(hessian_every=100, track_hessian="euclidean"))
    bottom = float(torch.linalg.eigvalsh(dense_hessian(problem))[0])
    assert euclidean.record["metrics"]["series"]["lambda_min"][0] == pytest.approx(
        bottom, rel=1e-9, abs=1e-12)
    assert series["train_loss"][0] == pytest.approx(float(problem.loss()) / problem.M, rel=1e-12)
    assert m["steps"] == 200 or m["stop_reason"] in ("gen_tol", "loss_tol")
    assert record["config"]["train"]["hessian_every"] == 100
    assert m["eta"] == pytest.approx(0.1 * 2 / 3.0)
    assert record["status"] == "ok"
    # the largest Gram overlap over the tracked steps (first and last included)
    assert m["final_gram_overlap"] <= m["max_gram_overlap"] <= 1.0
    assert m["max_gram_overlap"] == max(series["gram_overlap"])
    assert series["gram_overlap"][series["step"].index(m["max_gram_overlap_step"])] == \
        m["max_gram_overlap"]
