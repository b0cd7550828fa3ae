"""Finite-N estimators (bbp_torch/estimators.py) on synthetic curves with known answers, phi
and the crossing of two sizes' phi curves on synthetic draws, and the N = infinity values of the
estimators against the theory."""

import math

import numpy as np
import pandas as pd
import pytest

from bbp_torch import theory
from bbp_torch.estimators import (
    RECOVERY_LEVEL,
    bootstrap,
    crossing_alpha,
    crossing_error,
    curve_crossing,
    extrapolate,
    extrapolate_onset,
    fit_alpha0,
    logistic,
    logistic_crossing,
    logistic_fit,
    onset_window,
    phi_crossing,
    phi_estimate,
    recovered,
    recovery_crossing,
    recovery_onset,
    seed_average,
    theory_alpha0,
    theory_crossing,
    weighted_line,
    wilson_interval,
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
    # A shallow rise whose line reaches zero at alpha <= 0 is no threshold.
    shallow, slope = fit_alpha0(alphas, 0.1 + 0.05 * alphas, window=(0.1, 0.3))
    assert math.isnan(shallow) and slope == pytest.approx(0.05)


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


# ----------------------------------------------------------------------------- phi (Fig. 3)


def test_phi_is_the_fraction_of_bottom_indices_with_a_wilson_interval():
    est = phi_estimate([0, 0, 3, 0, 1, np.nan])  # the NaN (a failed run) is dropped
    assert (est["phi"], est["n"]) == (0.6, 5)
    # Wilson at z = 1, k = 3, n = 5: centre 0.7/1.2, half-width sqrt(0.048 + 0.01)/1.2.
    half = math.sqrt(0.048 + 0.01) / 1.2
    assert est["lo"] == pytest.approx(0.7 / 1.2 - half)
    assert est["hi"] == pytest.approx(0.7 / 1.2 + half)
    none = phi_estimate([2, 5, 1, 7])
    assert none["phi"] == 0 and none["lo"] == 0 and 0 < none["hi"] < 0.5  # not a zero-width bar
    every = phi_estimate([0] * 20)
    assert every["phi"] == 1 and every["hi"] == 1 and 0.9 < every["lo"] < 1
    for n in range(1, 101):  # the interval holds k / n, exactly at k = 0 and k = n too
        for k in (0, n // 3, n):
            lo, hi = wilson_interval(k, n)
            assert 0 <= lo <= k / n <= hi <= 1, (k, n, lo, hi)
    assert math.isnan(phi_estimate([])["phi"])


def test_the_wilson_interval_covers_the_true_fraction_about_68_percent_of_the_time():
    rng = np.random.default_rng(3)
    for true, n in ((0.3, 40), (0.5, 20), (0.85, 40)):  # n phi, n (1 - phi) >= 5
        hits = 0
        for _ in range(2000):
            lo, hi = wilson_interval(int(rng.binomial(n, true)), n)
            hits += lo <= true <= hi
        assert 0.58 < hits / 2000 < 0.8, (true, n, hits / 2000)


def test_curve_crossing_interpolates_the_sign_change_of_the_difference():
    alphas = np.linspace(0.5, 2.5, 11)
    c = 1.37
    small = 0.5 + 0.2 * (alphas - c)  # the larger size is steeper: it crosses from below at c
    large = 0.5 + 0.4 * (alphas - c)
    assert curve_crossing(alphas, small, large) == pytest.approx(c)
    assert curve_crossing(alphas[::-1], small[::-1], large[::-1]) == pytest.approx(c)  # any order
    assert math.isnan(curve_crossing(alphas, large, small))  # the steeper curve given as "small"
    # Where both curves sit at 0 or 1 their noise is no crossing.
    flat_small = np.array([0.0, 0.02, 0.0, 0.5, 0.99, 1.0])
    flat_large = np.array([0.01, 0.0, 0.01, 0.5, 1.0, 0.99])
    assert math.isnan(curve_crossing(np.arange(6.0), flat_small, flat_large))


def test_logistic_fits_and_their_crossing_recover_known_curves():
    alphas = np.linspace(0.5, 2.5, 11)
    small, large = logistic(alphas, 1.2, 0.4), logistic(alphas, 1.3, 0.2)
    counts = np.full(11, 1000)
    assert logistic_fit(alphas, small, counts) == pytest.approx((1.2, 0.4), abs=1e-4)
    # (c_l w_s - c_s w_l) / (w_s - w_l) = (1.3 * 0.4 - 1.2 * 0.2) / 0.2 = 1.4
    assert logistic_crossing(alphas, small, counts, large, counts) == pytest.approx(1.4, abs=1e-3)
    parallel = logistic(alphas, 1.6, 0.4)  # same width: they never cross
    assert math.isnan(logistic_crossing(alphas, small, counts, parallel, counts))


@pytest.mark.parametrize("method", ["logistic", "interpolation"])
def test_the_crossing_of_two_sizes_is_found_within_its_bootstrap_error(method):
    """phi_N(alpha) = logistic(N^(1/3) (alpha - alpha_c)): curves that steepen with N and all
    pass 1/2 at alpha_c, drawn as 0/1 outcomes of 200 seeds per point and size."""
    rng = np.random.default_rng(7)
    alpha_c = 1.24
    alphas = np.linspace(0.6, 2.0, 15)
    draws = {}
    for N in (250, 2000):
        prob = logistic(alphas, alpha_c, N ** (-1 / 3))
        draws[N] = [(rng.random(200) < q).astype(float) for q in prob]
    est = phi_crossing(alphas, draws[250], draws[2000], method)
    err = crossing_error(alphas, draws[250], draws[2000], n_boot=200, method=method)
    assert 0 < err < 0.1
    assert abs(est - alpha_c) < 3 * err
    means = [np.array([d.mean() for d in draws[N]]) for N in (250, 2000)]
    if method == "interpolation":
        assert est == curve_crossing(alphas, *means)


# ------------------------------------------------------------------ onset of recovery by GD


def synthetic_descents(N: int, center: float, width: float, alphas, seeds: int, rng):
    """Per alpha, the largest m^2 of ``seeds`` descents: recovered (m^2 ~ 0.9) with the
    probability ``logistic((alpha - center) / width)``, else O(1/N) (chi^2_1 / N)."""
    out = []
    for a in alphas:
        ok = rng.random(seeds) < logistic(a, center, width)
        out.append(np.where(ok, 0.9 + 0.05 * rng.random(seeds),
                            rng.chisquare(1, seeds) / N))
    return out


def test_recovery_onset_recovers_a_known_onset_and_its_n_infinity_value():
    """Synthetic descents whose onset moves like 2.0 + 1.5 / log N: the per-N onsets come back
    within their bootstrap errors, and the 1/log N extrapolation gives 2.0."""
    rng = np.random.default_rng(5)
    alphas = np.arange(1.0, 4.51, 0.125)
    sizes = [250, 500, 1000, 2000]
    true = {N: 2.0 + 1.5 / math.log(N) for N in sizes}
    onsets = {}
    for N in sizes:
        data = synthetic_descents(N, true[N], 0.25 * (250 / N) ** (1 / 3), alphas, 200, rng)
        onsets[N] = recovery_onset(alphas, data, n_boot=100)
        o = onsets[N]
        assert 0 < o["err"] < 0.05
        assert abs(o["value"] - true[N]) < 3 * o["err"] + 0.01
        assert abs(o["level_half"] - true[N]) < 0.1  # the mean crosses 1/2 near the center
        assert o["seeds"] == 200 and len(o["fraction"]) == len(alphas)
    ext = extrapolate_onset(sizes, [onsets[N]["value"] for N in sizes],
                            [onsets[N]["err"] for N in sizes])
    assert ext["law"] == "1/log N" and ext["sizes"] == sizes
    assert abs(ext["value"] - 2.0) < 3 * ext["err"] and ext["err"] < 0.3
    assert ext["slope"] == pytest.approx(1.5, abs=3 * ext["err"] / (1 / math.log(250)))
    # a threshold-free onset: nothing at all moves with N -> the extrapolation is the value
    flat = extrapolate_onset(sizes, [2.5] * 4, [0.05] * 4)
    assert flat["value"] == pytest.approx(2.5) and flat["slope"] == pytest.approx(0, abs=1e-9)


def test_recovery_crossing_of_two_sizes_sharpening_at_a_fixed_onset():
    """Two sizes whose recovered fractions sharpen around the same onset cross there."""
    rng = np.random.default_rng(1)
    alphas = np.arange(1.0, 4.51, 0.25)
    small = synthetic_descents(250, 2.5, 0.4, alphas, 300, rng)
    large = synthetic_descents(2000, 2.5, 0.15, alphas, 300, rng)
    cross = recovery_crossing(alphas, small, large, n_boot=60)
    assert abs(cross["value"] - 2.5) < max(3 * cross["err"], 0.05)
    # a descent has recovered when its largest m^2 reaches the level, not below it
    assert list(recovered([RECOVERY_LEVEL - 1e-9, RECOVERY_LEVEL, 1.0])) == [0.0, 1.0, 1.0]


def test_weighted_line_intercept_and_its_error():
    x = np.array([0.1, 0.2, 0.3, 0.4])
    y = 1.0 + 2.0 * x
    c, b, err = weighted_line(x, y, [0.1, 0.1, 0.1, 0.1])
    assert c == pytest.approx(1.0) and b == pytest.approx(2.0)
    # four equal-error points: sigma sqrt(sum x^2 / (n sum x^2 - (sum x)^2))
    expected = 0.1 * math.sqrt((x**2).sum() / (4 * (x**2).sum() - x.sum() ** 2))
    assert err == pytest.approx(expected, rel=1e-12)
    assert math.isnan(weighted_line([1.0], [1.0])[0])
    assert math.isnan(weighted_line([1.0, 2.0], [1.0, 2.0])[2])  # two points, no errors given
