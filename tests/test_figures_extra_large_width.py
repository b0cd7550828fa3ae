"""The large-width figure (extra_large_width): its plot on a hand-made result, its finite-N
estimates from a hand-made table, its smoke mode end to end, and the observable it rests on,
the bottom p p* eigenvectors' subspace overlap, the same from the dense and iterative solvers."""

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bbp_torch import plots, theory
from bbp_torch.config import CONFIG_DIR
from bbp_torch.figures import FIGURES, extra_large_width
from bbp_torch.study import run_study


def test_the_registry_has_the_figure_with_its_preset():
    module = FIGURES["extra_large_width"]
    assert module is extra_large_width
    assert all((Path(CONFIG_DIR) / "experiment" / f"{name}.yaml").is_file()
               for name in module.PRESETS)


def test_plot_draws_a_hand_made_result(tmp_path):
    alphas = [0.5, 1.0, 1.5, 2.0]
    curve = {"alpha": alphas, "m2": [0.02, 0.1, 0.3, 0.4], "m2_err": [0.01] * 4,
             "sub": [0.01, 0.08, 0.28, 0.4], "sub_err": [0.01] * 4, "seeds": 2}
    th = {"alpha_bbp": 0.85, "type": "discontinuous", "alpha": alphas,
          "m2": [0.0, 0.2, 0.35, 0.45]}
    est = {"N": [250, 500], "alpha0": [0.7, 0.75], "alpha0_err": [0.05, math.nan],
           "crossing": [0.9, 0.95], "crossing_err": [0.1, 0.1],
           "crossing_consecutive": {"250-500": 0.8}}
    result = extra_large_width.Result(
        curves={"0.7": {p: {"250": curve, "500": curve} for p in ("1", "64")}},
        theory={"0.7": {"1": th, "64": th}},
        thresholds={"0.7": {"1": est, "64": est}},
        approach={"0.7": {p: {"250": {"bottom": 0.1, "subspace": 0.05},
                              "500": {"bottom": 0.05, "subspace": math.nan}}
                          for p in ("1", "64")}})
    with plots.FigureSaver(tmp_path, tensorboard=False) as saver:
        summary = extra_large_width.plot(result, saver)
    png = tmp_path / f"{extra_large_width.NAME}.png"
    assert 1000 < png.stat().st_size < 300_000
    assert set(summary["0.7"]) == {"1", "64"}
    row = summary["0.7"]["64"]
    assert row["alpha_bbp"] == 0.85 and row["p_infinity"] == pytest.approx(0.85)
    assert row["alpha0"] == [0.7, 0.75] and row["crossing_consecutive"] == {"250-500": 0.8}


def test_finite_n_thresholds_from_a_hand_made_table():
    """m(alpha) = 0 below and rising above an N-dependent onset: the larger N starts later and
    rises faster, so the curves of consecutive N cross where the model says they do."""
    rows = []
    alphas = np.arange(0.4, 2.01, 0.1)
    for N, onset, slope in ((250, 0.6, 0.3), (500, 0.75, 0.5)):
        for alpha in alphas:
            for seed in range(3):
                m = math.sqrt(max(slope * (alpha - onset), 0.0)) + 0.01 * seed
                rows.append({"config.problem.a": 0.7, "config.problem.p": 8,
                             "config.problem.N": N, "config.problem.alpha": round(alpha, 9),
                             "config.seed": seed, "metrics.overlap": min(m, 1.0)})
    out = extra_large_width.finite_n_thresholds(pd.DataFrame(rows), n_boot=20)
    est = out["0.7"]["8"]
    assert est["N"] == [250, 500]
    # mean m^2 = slope (alpha - onset) (+ a small seed offset): alpha_0 is the onset
    assert est["alpha0"] == pytest.approx([0.6, 0.75], abs=0.05)
    # 0.3 (x - 0.6) = 0.5 (x - 0.75) at x = 0.975 (the grid interpolates m, not m^2)
    assert est["crossing_consecutive"]["250-500"] == pytest.approx(0.975, abs=0.03)


def test_the_subspace_overlap_agrees_between_the_dense_and_iterative_solvers():
    """p = 8, N = 200, a = 0.7 at alpha = 3 (alpha_BBP = 0.84): the 8 outliers are split but
    lie 0.07 below the 9th eigenvalue, so the bottom-8 subspace is well defined and both
    solvers (relative residual 1e-8) give its teacher overlap to 1e-6 (the error is of second
    order in the residual over the gap)."""
    metrics = {}
    for name in ("dense", "iterative"):
        cfg = {"problem": {"N": 200, "p": 8, "p_star": 1, "a": 0.7, "alpha": 3.0},
               "solver": {"name": name, "k": 12, "full_spectrum": False},
               "theory": False, "seed": 1, "threads": 1,
               "logging": {"tensorboard": False, "figures": False, "progress": False}}
        record = run_study(cfg).record
        assert record["metrics"]["solver_used"] == name
        metrics[name] = record["metrics"]
    values = metrics["dense"]["bottom_eigenvalues"]
    assert values[8] - values[7] > 0.05  # the gap that makes the subspace well defined
    dense, iterative = (metrics[k]["overlap_subspace"] for k in ("dense", "iterative"))
    assert 0.3 < dense < 1
    assert iterative == pytest.approx(dense, abs=1e-6)
    assert metrics["iterative"]["bottom_eigenvalues"][:9] == pytest.approx(values[:9], rel=1e-6)


def test_the_smoke_mode_runs_end_to_end(tmp_path):
    command = Path(sys.executable).parent / "bbp-figures"
    proc = subprocess.run([str(command), "--smoke", "--jobs", "1", "--out", "figures",
                           "--only", "extra_large_width"], cwd=tmp_path, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = tmp_path / "figures"
    assert (out / "extra_large_width.png").stat().st_size > 1000
    assert (out / "tables" / "extra_large_width.json").exists()
    summary = json.loads((out / "summary_smoke.json").read_text())
    large = summary["large_width"]
    assert large == summary["extra_large_width"]
    assert set(large) == {"0.7"} and set(large["0.7"]) == {"1", "4"}  # the smoke grid
    for p, row in large["0.7"].items():
        assert row["alpha_bbp"] == pytest.approx(theory.alpha_bbp(int(p), 1, 0.7))
        assert row["N"] == [30, 60] and set(row["crossing_consecutive"]) == {"30-60"}
        assert set(row["approach"]) == {"30", "60"}


def test_the_crossings_of_consecutive_n_carry_bootstrap_errors_that_grow_with_the_seed_spread():
    """The same two mean curves (the larger N rising later and faster), drawn with a small and a
    large spread over seeds: the crossing stays near 0.975, its bootstrap error grows."""
    def errors(spread):
        rows = []
        for N, onset, slope in ((250, 0.6, 0.3), (500, 0.75, 0.5)):
            for alpha in np.arange(0.4, 2.01, 0.1):
                for seed, shift in enumerate((-1, 0, 1, 0)):
                    m = math.sqrt(max(slope * (alpha - onset), 0.0)) + spread * shift
                    rows.append({"config.problem.a": 0.7, "config.problem.p": 8,
                                 "config.problem.N": N, "config.problem.alpha": round(alpha, 9),
                                 "config.seed": seed, "metrics.overlap": m})
        est = extra_large_width.finite_n_thresholds(pd.DataFrame(rows), n_boot=100)["0.7"]["8"]
        return est["crossing_consecutive"]["250-500"], est["crossing_consecutive_err"]["250-500"]

    (quiet, quiet_err), (noisy, noisy_err) = errors(0.002), errors(0.05)
    assert quiet == pytest.approx(0.975, abs=0.03) and noisy == pytest.approx(0.975, abs=0.05)
    assert 0 < quiet_err < 0.02 and noisy_err > 3 * quiet_err
