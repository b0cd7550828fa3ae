"""Figures: the estimators on synthetic data with known answers, preset grids, and the figure
script end to end in its smallest mode."""

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bbp_torch import theory
from bbp_torch.estimators import (
    bootstrap,
    crossing_alpha,
    extrapolate,
    fit_alpha0,
    onset_window,
    seed_average,
    theory_alpha0,
    theory_crossing,
)
from bbp_torch.figure_runs import filter_to_grid, grid_points, preset_grid, sweep_command
from bbp_torch.results import read_record

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "reproduce_figures.py"


def load_script():
    spec = importlib.util.spec_from_file_location("reproduce_figures", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ----------------------------------------------------------------------------- estimators


def test_crossing_alpha_interpolates_the_first_upward_crossing():
    alphas = np.array([0.5, 1.0, 1.5, 2.0, 2.5])
    m = np.array([0.1, 0.2, 0.4, 0.6, 0.5])
    assert crossing_alpha(alphas, m, 0.3) == pytest.approx(1.25)
    assert crossing_alpha(alphas[::-1], m[::-1], 0.3) == pytest.approx(1.25)  # any order
    assert crossing_alpha(alphas, m, 0.55) == pytest.approx(1.875)
    assert math.isnan(crossing_alpha(alphas, m, 0.9))  # never reached
    assert math.isnan(crossing_alpha(alphas, m, 0.05))  # not bracketed: starts above


def test_fit_alpha0_recovers_a_square_root_onset_above_a_background():
    alphas = np.linspace(0.2, 3.0, 29)
    alpha0, s = 1.1, 0.2
    m2 = np.maximum(s * (alphas - alpha0), 0.0) + 0.03  # background floor below the window
    m2 = np.minimum(m2, 0.35)  # saturation above the window
    m2 = m2 + 0.003 * np.sin(7 * alphas)  # small wiggles
    est, slope = fit_alpha0(alphas, m2, window=(0.1, 0.3))
    assert est == pytest.approx(alpha0 - 0.03 / s, abs=0.03)  # the floor shifts the zero
    assert slope == pytest.approx(s, rel=0.05)
    exact, _ = fit_alpha0(alphas, np.maximum(s * (alphas - alpha0), 0.0), window=(0.1, 0.3))
    assert exact == pytest.approx(alpha0, abs=1e-9)


def test_onset_window_takes_one_contiguous_stretch_of_the_rise():
    alphas = np.arange(8.0)
    m2 = np.array([0.15, 0.05, 0.12, 0.2, 0.28, 0.4, 0.25, 0.5])  # early bump, late dip
    mask = onset_window(alphas, m2, window=(0.1, 0.3))
    assert mask.tolist() == [False, False, True, True, True, False, False, False]
    assert all(math.isnan(v) for v in fit_alpha0(alphas, np.zeros(8), window=(0.1, 0.3)))


def test_extrapolate_recovers_the_infinite_size_value():
    N = np.array([125, 250, 500, 1000, 2000])
    x = N ** (-2 / 3)
    y_inf, b = extrapolate(x, 0.93 + 4.0 * x)
    assert y_inf == pytest.approx(0.93) and b == pytest.approx(4.0)
    x = 1 / np.log(N)
    y_inf, b = extrapolate(x, 1.32 - 2.5 * x, yerr=np.full(5, 0.01))
    assert y_inf == pytest.approx(1.32) and b == pytest.approx(-2.5)
    assert math.isnan(extrapolate([0.1, np.nan], [1.0, 2.0])[0])


def test_seed_average_and_bootstrap():
    table = pd.DataFrame({
        "status": ["ok"] * 4 + ["error"],
        "config.problem.alpha": [1.0, 1.0, 2.0, 2.0, 2.0],
        "metrics.overlap": [0.1, 0.3, 0.5, 0.7, np.nan],
    })
    avg = seed_average(table, ["config.problem.alpha"])
    assert avg["mean"].tolist() == pytest.approx([0.2, 0.6])
    assert avg["n"].tolist() == [2, 2]
    assert avg["mean_sq"].tolist() == pytest.approx([0.05, 0.37])
    assert avg["sem"].tolist() == pytest.approx([0.1, 0.1])
    rng = np.random.default_rng(1)
    samples = [rng.normal(0.0, 1.0, 400)]
    err = bootstrap(samples, lambda means: means[0], n_boot=300)
    assert err == pytest.approx(1 / 20, rel=0.2)  # the standard error of a mean of 400


def test_estimators_at_infinite_size_follow_the_theory():
    # Discontinuous (p=2, a=1.5): the overlap jumps above 0.3 at alpha_BBP.
    assert theory_crossing(2, 1, 1.5, 0.3) == pytest.approx(theory.alpha_bbp(2, 1, 1.5))
    # Continuous (p=2, a=0.7): the crossing lies above alpha_BBP, where m = level.
    cross = theory_crossing(2, 1, 0.7, 0.3)
    assert cross > theory.alpha_bbp(2, 1, 0.7)
    assert theory.overlap(2, 1, 0.7, cross) == pytest.approx(0.3, abs=1e-4)
    # The m^2 heuristic lands below alpha_BBP at a discontinuous transition.
    assert theory_alpha0(2, 1, 1.5) < theory.alpha_bbp(2, 1, 1.5)


# ----------------------------------------------------------------------------- grids


def test_preset_grid_expands_the_sweep_and_command_line_overrides_win():
    base, swept = preset_grid("fig1_overlap_quick", {"problem.N": "40,80", "seed": "0"})
    assert swept["problem.N"] == [40, 80]
    assert "seed" not in swept and base["seed"] == 0
    assert base["name"] == "fig1_overlap_quick" and base["problem"]["p"] == 2
    points = grid_points(base, swept)
    assert len(points) == 2 * len(swept["problem.a"]) * len(swept["problem.alpha"])
    name, cfg = points[0]
    assert name.startswith("problem.N=40,problem.a=") and cfg["problem"]["N"] == 40

    rows = [{"status": "ok", "config.problem.N": c["problem"]["N"], "config.problem.p": 2,
             "config.problem.p_star": 1, "config.problem.a": c["problem"]["a"],
             "config.problem.alpha": c["problem"]["alpha"], "config.seed": 0,
             "config.hessian.kind": "euclidean"} for _, c in points[:3]]
    rows.append(dict(rows[0], **{"config.problem.N": 999}))  # a run from another grid
    rows.append(dict(rows[0], status="error"))
    assert len(filter_to_grid(pd.DataFrame(rows), base, swept)) == 3

    cmd = sweep_command("fig1_overlap", {"seed": "range(2)"}, Path("/tmp/s"), 2)
    assert cmd[1:] == ["-m", "bbp_torch", "-m", "+experiment=fig1_overlap",
                       "hydra.sweep.dir=/tmp/s", "hydra.launcher.n_jobs=2", "seed=range(2)"]


# ----------------------------------------------------------------------------- end to end


def test_reproduce_figures_smoke_writes_every_figure(tmp_path):
    script = load_script()
    out = tmp_path / "figures"
    assert script.main(["--smoke", "--jobs", "1", "--out", str(out)]) == 0
    for name in ("fig1_overlap", "fig2_spectrum", "fig3_alpha_bbp", "fig4_finite_size",
                 "fig5_phase_diagram"):
        for suffix in (".png", ".pdf"):
            path = out / f"{name}{suffix}"
            assert path.exists() and path.stat().st_size > 1000, path
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))
    assert (out / "summary_smoke.json").exists()
    records = list((out / "runs").rglob("record.json"))
    assert len(records) == 24 + 40 + 48
    assert all(read_record(path)["status"] == "ok" for path in records)  # no failed run

    # The numbers of the summary are the ones the figures were drawn from.
    summary = json.loads((out / "summary_smoke.json").read_text())
    assert (summary["mode"], summary["runner"], summary["jobs"]) == ("smoke", "inprocess", 1)
    assert set(summary["timings_s"]) == {"fig1", "fig2", "fig3", "fig4", "fig5"}
    for a in (0.7, 1.5):
        assert summary["fig1"][str(a)]["alpha_bbp"] == pytest.approx(theory.alpha_bbp(2, 1, a))
        assert summary["fig1"][str(a)]["transition"] == theory.transition_type(2, 1, a)
    assert summary["fig1"]["0.7"]["transition"] == "continuous"
    assert summary["fig1"]["1.5"]["transition"] == "discontinuous"
    assert len(summary["fig2"]) == 4
    for case in summary["fig2"]:
        assert case["edge"] == pytest.approx(theory.edge(2, 1, case["a"], case["alpha"]))
    curve = summary["fig3"]["theory"]["0.7"]
    assert curve["p"] == [1, 2, 4] and curve["p_inf"] == pytest.approx(0.85)
    assert curve["alpha_bbp"] == pytest.approx([theory.alpha_bbp(p, 1, 0.7) for p in (1, 2, 4)])
    assert curve["type"] == [theory.transition_type(p, 1, 0.7) for p in (1, 2, 4)]
    assert len(summary["fig3"]["finite_N"]) == 4  # a in (0.7, 1.5) x p in (1, 2), N=60
    assert set(summary["fig4"]) == {"0.7", "1.5", "alpha0_vs_p"}
    assert summary["fig4"]["0.7"]["N"] == [40, 80]
    assert summary["fig5"]["errors"] == 0

    # A second call resumes: every run is skipped, only the figures are redrawn.
    before = {p: p.stat().st_mtime_ns for p in records}
    assert script.main(["--smoke", "--jobs", "1", "--out", str(out), "--only", "fig1"]) == 0
    assert all(p.stat().st_mtime_ns == t for p, t in before.items())
