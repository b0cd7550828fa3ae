"""The theory's predictions written to a folder (bbp_torch.predictions): the curves, the density
and the summary agree with bbp_torch.theory, in H units and, at p = inf, in pH units only."""

import csv
import json
import math

import numpy as np
import pytest

from bbp_torch import theory
from bbp_torch.predictions import width_label, write_predictions


def rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_the_files_hold_the_theory_at_finite_width(tmp_path):
    summary = write_predictions(tmp_path, 2, 1, 0.7, np.linspace(0.5, 3, 6),
                                density_alphas=[2.0], density_points=50, tensorboard=False)
    assert summary == json.loads((tmp_path / "theory_summary.json").read_text())
    assert summary["alpha_bbp"] == pytest.approx(theory.alpha_bbp(2, 1, 0.7), rel=1e-12)
    for r in rows(tmp_path / "theory_curves.csv"):
        alpha = float(r["alpha"])
        assert float(r["lambda_edge"]) == pytest.approx(theory.edge(2, 1, 0.7, alpha), rel=1e-9)
        if alpha < summary["alpha_bbp"]:  # no outlier below the threshold: empty, overlap 0
            assert r["lambda_outlier"] == "" and float(r["overlap"]) == 0.0
        else:
            assert float(r["lambda_outlier"]) == pytest.approx(
                theory.outlier(2, 1, 0.7, alpha), rel=1e-9)
    density = rows(tmp_path / "theory_density.csv")
    assert len(density) == 50 and all(float(r["rho"]) >= 0 for r in density)
    lam, rho = theory.density_curve(2, 1, 0.7, 2.0, points=50)
    assert [float(r["lambda"]) for r in density] == pytest.approx(lam.tolist(), rel=1e-12)
    assert [float(r["rho"]) for r in density] == pytest.approx(rho.tolist(), rel=1e-12)
    assert not (tmp_path / "tensorboard").exists()


def test_p_infinity_is_in_rescaled_units_and_without_a_density_file(tmp_path):
    summary = write_predictions(tmp_path, math.inf, 1, 1.0, [1.0, 2.0, 3.0], tensorboard=False)
    assert summary["p"] == "inf" and summary["files"] == ["theory_curves.csv"]
    curves = rows(tmp_path / "theory_curves.csv")
    assert all(r["lambda_edge"] == "" for r in curves)  # no H units at p = inf
    assert float(curves[1]["lambda_edge_rescaled"]) == pytest.approx(
        theory.edge(math.inf, 1, 1.0, 2.0, rescaled=True), rel=1e-9)
    assert not (tmp_path / "theory_density.csv").exists()


def test_tensorboard_events_are_written_on_request(tmp_path):
    summary = write_predictions(tmp_path, 2, 1, 0.7, [1.0, 2.0], density_alphas=[2.0],
                                density_points=20)
    assert summary["tensorboard"] == str(tmp_path / "tensorboard")
    assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))


def test_a_width_label_reads_back_as_the_width():
    for p in (1, 2.5, 16, math.inf):
        assert float(width_label(p)) == p
