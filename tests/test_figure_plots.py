"""Each figure's ``plot`` alone, on a small hand-made Result (no sweep, no theory): it writes the
figure's files and returns the summary's numbers from the Result; and ``Context.result``, which
writes a Result to ``tables/<NAME>.json`` and gives it back to ``--no-run``."""

import dataclasses
import json
import math
from pathlib import Path

import pandas as pd
import pytest

from bbp_torch import plots
from bbp_torch.figures import (
    extra_finite_size,
    extra_gd_hessian,
    extra_gd_protocols,
    extra_large_width,
    extra_phase_diagram,
    extra_spectrum,
    extra_training_success,
    fig1_overlap,
    fig2_alpha_bbp_vs_a,
    fig3_phi,
    fig4_alpha0,
    fig6_wider_teacher,
    fig7_teacher_width,
    fig8_activations,
    fig9_gd_continuous,
    fig10_gd_discontinuous,
)
from bbp_torch.figures.common import Context
from bbp_torch.figures.executors import InlineExecutor
from bbp_torch.results import write_json_atomic

NAN = math.nan


def plot_hand_made(module, result, folder: Path):
    """``module.plot`` of a hand-made result: its files are written; returns its summary."""
    with plots.FigureSaver(folder, tensorboard=False) as saver:
        info = module.plot(result, saver)
    for suffix in (".png", ".pdf"):
        assert (folder / f"{module.NAME}{suffix}").stat().st_size > 1000
    return info


def curve(*mean) -> dict:
    return {"alpha": [0.5, 1.0, 2.0][:len(mean)], "mean": list(mean), "sem": [0.02] * len(mean)}


def test_fig1_plots_a_hand_made_result(tmp_path):
    theory = {"0.7": {"alpha": [0.1, 1.0, 2.0], "m": [0.0, 0.3, 0.6], "alpha_bbp": 0.8,
                      "transition": "continuous"},
              "1.5": {"alpha": [0.1, 1.2, 2.0], "m": [0.0, 0.0, 0.7], "alpha_bbp": 1.2,
                      "transition": "discontinuous"}}
    result = fig1_overlap.Result(theory=theory, data={"0.7": {"40": curve(0.1, 0.3, 0.6)},
                                                      "1.5": {}},
                                 seeds={"0.7": 3, "1.5": 0})
    info = plot_hand_made(fig1_overlap, result, tmp_path)
    assert info == {"0.7": {"alpha_bbp": 0.8, "transition": "continuous"},
                    "1.5": {"alpha_bbp": 1.2, "transition": "discontinuous"}}


def alpha_bbp_vs_a_result(p_star: int):
    a = [0.1, 1.0, 2.0]
    return fig2_alpha_bbp_vs_a.Result(
        p_star=p_star, a_range=[0.05, 3.0],
        curves={"1": {"a": a, "alpha_bbp": [2.0, 1.5, 1.8],
                      "type": ["continuous", "continuous", "discontinuous"], "a_min": 1.0,
                      "alpha_min": 1.5, "a_switch": 1.1, "alpha_switch": 1.55},
                "2": {"a": a, "alpha_bbp": [2.5, 2.0, 2.2], "type": ["continuous"] * 3,
                      "a_min": NAN, "alpha_min": NAN, "a_switch": None, "alpha_switch": None}},
        insets={"0.3": {"p": [1, 2], "alpha_bbp": [0.7, 0.8],
                        "type": ["continuous", "discontinuous"],
                        "alpha0": [{"a": 0.3, "p": 1, "alpha0": 0.5, "alpha0_err": NAN,
                                    "seeds": 3}]},
                "0.7": {"p": [1, 2], "alpha_bbp": [0.9, NAN], "type": ["continuous", "error"],
                        "alpha0": []}},
        alpha0_N=40,
        large_width={} if p_star == 2 else {
            "0.3": {"p": [1, 16, 64], "N": 1000, "alpha0": [0.6, 0.55, NAN],
                    "alpha0_err": [0.05, NAN, NAN], "crossing": [0.7, NAN, 0.66],
                    "crossing_N": ["500-1000", "", "500-1000"]}})


@pytest.mark.parametrize("module, p_star", [(fig2_alpha_bbp_vs_a, 1), (fig6_wider_teacher, 2)])
def test_figs_2_and_6_plot_a_hand_made_result(tmp_path, module, p_star):
    """Fig. 2's insets also carry the large-width crosses (p up to 64); Fig. 6 has none."""
    result = alpha_bbp_vs_a_result(p_star)
    info = plot_hand_made(module, result, tmp_path)
    assert info == {"p_star": p_star, "curves": result.curves, "insets": result.insets,
                    "alpha0_N": 40, "large_width": result.large_width}
    assert bool(info["large_width"]) == (p_star == 1)


def test_fig2_takes_the_large_width_estimates_at_the_insets_a():
    """From records of extra_large_width's kind: per p, alpha_0 at the largest N and the
    crossing of the two largest N, at the insets' a only (a = 0.5 is not one)."""
    rows = []
    for a in (0.3, 0.5):
        for p in (1, 64):
            for N in (250, 500):
                for alpha in (0.4, 0.8, 1.2, 1.6):
                    for seed in range(2):
                        m = max(0.0, alpha - 0.7 - 0.1 * (N == 500)) + 0.01 * seed
                        rows.append({"config.problem.a": a, "config.problem.p": p,
                                     "config.problem.N": N, "config.problem.alpha": alpha,
                                     "config.seed": seed, "metrics.overlap": m})
    table = pd.DataFrame(rows)
    crosses = fig2_alpha_bbp_vs_a.large_width_crosses(table, n_boot=5)
    assert set(crosses) == {"0.3"}
    wide = crosses["0.3"]
    assert wide["p"] == [1, 64] and wide["N"] == 500 and wide["crossing_N"] == ["250-500"] * 2
    full = extra_large_width.finite_n_thresholds(table, n_boot=5)["0.3"]
    for i, p in enumerate(("1", "64")):
        assert wide["alpha0"][i] == pytest.approx(full[p]["alpha0"][-1], nan_ok=True)
        assert wide["crossing"][i] == pytest.approx(full[p]["crossing_consecutive"]["250-500"],
                                                    nan_ok=True)


def test_fig3_plots_a_hand_made_result(tmp_path):
    phi = {"alpha": [0.5, 1.0, 2.0], "phi": [0.0, 0.5, 1.0], "lo": [0.0, 0.2, 0.7],
           "hi": [0.3, 0.8, 1.0], "n": [2, 2, 2]}
    crossing = {"N": [40, 80], "alpha": 1.1, "err": 0.1, "phi": 0.5, "alpha_interpolated": 1.05,
                "err_interpolated": NAN}
    panels = {"0.5": {"alpha_bbp": 1.0, "transition": "continuous", "N": [40, 80], "seeds": 2,
                      "crossings": [crossing], "logistic_fits": {"40": [1.0, 0.3],
                                                                 "80": [NAN, NAN]}},
              "2.0": {"alpha_bbp": 1.6, "transition": "discontinuous", "N": [40], "seeds": 2,
                      "crossings": [], "logistic_fits": {"40": [1.5, 0.2]},
                      "alpha0": {"N": 40, "value": 1.2, "err": NAN}}}
    result = fig3_phi.Result(panels=panels, curves={"0.5": {"40": phi, "80": phi},
                                                    "2.0": {"40": phi}})
    assert plot_hand_made(fig3_phi, result, tmp_path) == panels


def test_fig4_plots_a_hand_made_result(tmp_path):
    points = {"0.7": {"p": [1, 2], "N": 40, "alpha0": [0.5, NAN], "alpha0_err": [0.05, 0.0],
                      "alpha0_theory": [0.45, 0.6], "alpha_bbp": [0.8, 0.9], "seeds": [3, 3]}}
    fits = {"1": {**curve(0.0, 0.2, 0.5), "alpha0": 0.5, "slope": 0.4},
            "2": {**curve(0.0, 0.1, 0.3), "alpha0": NAN, "slope": NAN}}
    result = fig4_alpha0.Result(window=[0.1, 0.3], N=40, points=points, fits=fits)
    assert plot_hand_made(fig4_alpha0, result, tmp_path) == {"window": [0.1, 0.3], **points}
    empty = fig4_alpha0.Result(window=[0.1, 0.3], N=None, points={}, fits={})
    assert plot_hand_made(fig4_alpha0, empty, tmp_path / "empty") == {"window": [0.1, 0.3]}


def test_fig8_plots_a_hand_made_result(tmp_path):
    panels = {"sigmoid": {"a": 1.0, "p": 1, "p_star": 1, "N": [40],
                          "curves": {"40": curve(0.1, 0.4, 0.8)},
                          "crossing": {"N": 40, "value": 1.2, "err": 0.1}},
              "tanh": {"a": 50.0, "p": 1, "p_star": 1, "N": [], "curves": {}}}
    result = fig8_activations.Result(panels=panels, seeds={"sigmoid": 3, "tanh": 0})
    assert plot_hand_made(fig8_activations, result, tmp_path) == panels


def onset(preset: str, sizes=(40, 80)) -> fig9_gd_continuous.Onset:
    """A hand-made onset of recovery of ``preset`` (no sizes: no records)."""
    finite = bool(sizes)
    return fig9_gd_continuous.Onset(
        preset=preset, p=1, p_star=1, a=0.5, alpha_bbp=1.0, transition="continuous",
        method="spherical_gd", lr=0.1, steps=100, N=list(sizes),
        curves={str(N): {**curve(0.0, 0.2, 0.9), "fraction": [0.0, 0.5, 1.0]} for N in sizes},
        per_N={str(N): {"value": 1.2, "err": 0.1, "level_half": 1.3, "not_ok": 1}
               for N in sizes},
        crossings={"40-80": {"value": 1.1, "err": NAN}} if finite else {},
        extrapolated={"value": 1.0 if finite else NAN, "err": 0.2 if finite else NAN,
                      "slope": 0.5 if finite else NAN, "law": "1/log N", "chi2_dof": 0.3},
        init={"N": 80, "alpha": [0.5, 1.0], "m2": [0.0, 0.4]} if finite else None,
        seeds=2 if finite else 0, seeds_max=3 if finite else 0)


@pytest.mark.parametrize("module", [fig9_gd_continuous, fig10_gd_discontinuous])
def test_figs_9_and_10_plot_a_hand_made_result(tmp_path, module):
    result = onset(module.PRESETS[0])
    info = plot_hand_made(module, result, tmp_path)
    assert info["per_N"] == result.per_N and info["curves"] == result.curves
    assert info["preset"] == module.PRESETS[0] and info["extrapolated"]["value"] == 1.0
    assert "init" not in info  # its curve is drawn, not summarised


def test_the_gd_protocols_plot_a_hand_made_result(tmp_path):
    onsets = {preset: onset(preset) for preset in extra_gd_protocols.PRESETS}
    onsets["gd_plain_continuous"] = onset("gd_plain_continuous", sizes=())
    # as read back from tables/extra_gd_protocols.json: the onsets are plain dicts
    result = extra_gd_protocols.Result(
        onsets={k: dataclasses.asdict(v) for k, v in onsets.items()})
    assert result.onsets == onsets
    info = plot_hand_made(extra_gd_protocols, result, tmp_path)
    assert info == {preset: o.numbers() for preset, o in onsets.items()}
    assert info["gd_plain_continuous"]["N"] == [] and "curves" not in info["fig9_gd_continuous"]


def test_fig7_plots_a_hand_made_result(tmp_path):
    switch = {"a_switch": 1.1, "alpha_switch": 1.6}
    result = fig7_teacher_width.Result(
        curves={"1": {"a": [0.1, 1.0, 10.0], "alpha_bbp": [2.0, 1.5, 3.0],
                      "type": ["continuous", "continuous", "discontinuous"], **switch},
                "2": {"a": [0.1, 1.0, 10.0], "alpha_bbp": [3.0, 2.5, 2.8],
                      "type": ["continuous"] * 3, "a_switch": None, "alpha_switch": None}},
        points={"0.3": {"p_star": [1, 2], "alpha_bbp": [1.0, 2.0],
                        "type": ["continuous", "discontinuous"]}})
    info = plot_hand_made(fig7_teacher_width, result, tmp_path)
    assert info["1"] == result.curves["1"] and info["a=0.3"] == result.points["0.3"]


def test_the_spectrum_figure_plots_a_hand_made_result(tmp_path):
    def column(a, alpha, outlier):
        row = {"lo": -0.5, "hi": 2.0, "centers": [0.0, 0.5, 1.0, 1.5],
               "hist": [0.1, 0.5, 0.3, 0.1], "grid": [0.0, 1.0, 2.0], "rho": [0.0, 0.4, 0.1]}
        return {"a": a, "alpha": alpha, "factor": 0.75, "transition": "continuous",
                "edge": 0.0, "outlier": outlier, "lambda_min_mean": -0.1,
                "bottom": [-0.1, -0.05, -0.08, 0.0], "rows": [row, dict(row, lo=-0.3, hi=0.4)]}

    columns = [column(0.7, 0.6, None), column(0.7, 1.6, -0.2), column(1.5, 0.9, None),
               column(1.5, 2.4, -0.3)]
    result = extra_spectrum.Result(N=20, seeds=2, columns=columns)
    info = plot_hand_made(extra_spectrum, result, tmp_path)
    assert [c["outlier"] for c in info] == [None, -0.2, None, -0.3]
    assert info[1] == {"a": 0.7, "alpha": 1.6, "edge": 0.0, "outlier": -0.2,
                       "lambda_min_mean": -0.1}


def test_the_phase_diagram_plots_a_hand_made_result(tmp_path):
    result = extra_phase_diagram.Result(
        p=[1, 2, math.inf], a=[0.5, 1.0, 1.5],
        type=[["continuous", "discontinuous", "discontinuous"],
              ["continuous", "continuous", "discontinuous"],
              ["continuous", "continuous", None]],
        boundary_a_by_p={"1": 0.75, "2": 1.25}, errors=1,
        cases=[{"p": 2, "a": 0.7, "marker": "*", "where": "Fig. 1", "type": "continuous"}])
    info = plot_hand_made(extra_phase_diagram, result, tmp_path)
    assert info == {"boundary_a_by_p": {"1": 0.75, "2": 1.25}, "errors": 1}


def test_the_finite_size_figure_plots_a_hand_made_result(tmp_path):
    panels = {"0.7": {"N": [40, 80], "alpha_bbp": 1.0, "transition": "continuous",
                      "crossing": [1.2, 1.1], "crossing_err": [0.1, 0.1],
                      "crossing_extrapolated": 1.0, "crossing_theory": 1.05,
                      "alpha0": [0.8, NAN], "alpha0_err": [0.1, NAN],
                      "alpha0_extrapolated": NAN, "alpha0_theory": 0.9},
              "1.5": {"N": [], "alpha_bbp": 1.2, "transition": "discontinuous",
                      "crossing": [], "crossing_err": [], "crossing_extrapolated": NAN,
                      "crossing_theory": 1.3, "alpha0": [], "alpha0_err": [],
                      "alpha0_extrapolated": NAN, "alpha0_theory": NAN}}
    slopes = {"0.7": {"crossing": -0.5, "alpha0": NAN}, "1.5": {"crossing": NAN, "alpha0": NAN}}
    result = extra_finite_size.Result(panels=panels, slopes=slopes)
    assert plot_hand_made(extra_finite_size, result, tmp_path) is panels


def test_the_training_figure_plots_a_hand_made_result(tmp_path):
    def point(init, alpha, success):
        return {"config.problem.p": 1, "config.problem.a": 0.7, "config.train.init": init,
                "config.problem.alpha": alpha, "success": success, "n": 2, "m_init": 0.2,
                "err": 0.1}

    success = [point("random", 0.5, 0.0), point("random", 3.0, 0.5),
               point("spectral", 0.5, 0.5), point("spectral", 3.0, 1.0)]
    result = extra_training_success.Result(
        runs=8, success=success, panels=[{"p": 1, "a": 0.7, "alpha_bbp": 1.2}], p_star=1, N=[30])
    info = plot_hand_made(extra_training_success, result, tmp_path)
    assert info == {"runs": 8, "success": success}
    empty = extra_training_success.Result(runs=0, success=[], panels=[], p_star=None, N=[])
    info = plot_hand_made(extra_training_success, empty, tmp_path / "empty")
    assert info == {"runs": 0, "success": []}


def test_the_gd_hessian_figure_plots_a_hand_made_result(tmp_path):
    series = {"time": [0.0, 1.0, 2.0], "gram_overlap": [0.0, 0.1, 0.2],
              "lambda_min": [-1.0, -0.5, -0.1], "lambda_edge": [0.0, 0.0, 0.0],
              "eigvec_overlap": [0.1, 0.5, NAN]}
    runs = [{"seed": 0, **series}, {"seed": 1, **series}]
    medians = {key: {"time": series["time"], "value": series[key]}
               for key in extra_gd_hessian.DRAWN}
    finals = {"gram_overlap": 0.2, "lambda_min": -0.1, "lambda_edge": 0.0, "eigvec_overlap": 0.9,
              "eigvec_gradient_overlap": 0.3, "outlier_fraction": 1.0,
              "negative_fraction": 1.0, "seeds": 2}
    result = extra_gd_hessian.Result(
        p=1, p_star=1, a=0.5, alpha_bbp=1.0, N=30, runs={"0.5": runs, "2.0": runs},
        medians={"0.5": medians, "2.0": medians},
        finals={"0.5": finals, "2.0": dict(finals, lambda_min=NAN)})
    info = plot_hand_made(extra_gd_hessian, result, tmp_path)
    assert info == {"alpha_bbp": 1.0, "N": 30, "alphas": result.finals}


# ----------------------------------------------------------------------------- Context.result


def test_a_result_is_written_and_given_back_to_no_run_without_records(tmp_path):
    """ctx.result writes the Result with its mode (infinities kept); --no-run (run=False) draws
    that file again when no preset of the figure has records, and computes otherwise: with
    records, or when the file is another mode's."""
    made = []

    def compute(ctx):
        made.append(ctx.mode)
        return extra_phase_diagram.Result(p=[1, math.inf], a=[0.5], type=[["continuous"], [None]],
                                          boundary_a_by_p={}, errors=1, cases=[])

    def result(mode, run, presets=()):
        with InlineExecutor() as executor:
            ctx = Context(mode, tmp_path, executor, None, run=run, runs=tmp_path / "runs")
            return ctx.result("figure", compute, extra_phase_diagram.Result, presets)

    first = result("smoke", run=True)
    saved = json.loads((tmp_path / "tables" / "figure.json").read_text())
    assert saved == {"mode": "smoke", "result": dataclasses.asdict(first)}
    assert result("smoke", run=False) == first and made == ["smoke"]  # read back, inf and all
    assert result("quick", run=False) == first and made == ["smoke", "quick"]  # another mode
    write_json_atomic(tmp_path / "runs" / "preset" / "point" / "record.json", {"status": "ok"})
    result("quick", run=False, presets=("preset",))
    assert made == ["smoke", "quick", "quick"]  # records present: computed from them
    assert result("quick", run=True) == first and len(made) == 4  # a run always computes
