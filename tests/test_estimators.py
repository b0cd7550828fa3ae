"""Finite-N estimators (bbp_torch/estimators.py) on synthetic curves with known answers, and
their N = infinity values against the theory."""

import math

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
