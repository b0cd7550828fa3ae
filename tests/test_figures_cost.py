"""The cost model behind the estimates (bbp_torch.figures.cost): a figure's side cost, the
solver each run gets, and the paper and quick modes within their budgets."""

from pathlib import Path

from bbp_torch.cli import figures as figures_cli
from bbp_torch.config import CONFIG_DIR
from bbp_torch.figures import FIGURES
from bbp_torch.figures.common import MODES, Context, command_line
from bbp_torch.figures.cost import THEORY_CALL_S, point_cost
from bbp_torch.figures.executors import InlineExecutor
from bbp_torch.figures.grids import grid_points, preset_grid, preset_kind

PRESETS = sorted(p.stem for p in (Path(CONFIG_DIR) / "experiment").glob("*.yaml"))


def test_a_figures_side_cost_is_its_modules_or_a_few_theory_solves():
    settings = MODES["paper"]
    assert figures_cli.side_seconds("fig1", settings) == 6 * THEORY_CALL_S
    assert figures_cli.side_seconds("fig6", settings) == figures_cli.side_seconds("fig2", settings)
    for key in ("fig2", "fig7", "extra_phase_diagram", "extra_spectrum"):
        assert figures_cli.side_seconds(key, settings) > 6 * THEORY_CALL_S, key


def test_the_cost_model_picks_the_solver_of_the_config_rules():
    """dense up to solver.auto_max_dim, iterative above (fig1_overlap: 2500), dense always for
    the all-eigenvector runs of Fig. 3; a descent costs more than its two solves."""
    base, swept = preset_grid("fig1_overlap", {"problem.N": "1000,2000", "problem.a": "0.7",
                                               "problem.alpha": "2.0", "seed": "0"})
    (_, small), (_, large) = grid_points(base, swept)
    assert point_cost(small, "inprocess")[0] == "dense"
    assert point_cost(large, "inprocess")[0] == "iterative"
    base, swept = preset_grid("fig3_phi", {"problem.N": "4000", "problem.a": "0.5",
                                           "problem.alpha": "2.0", "seed": "0"})
    assert point_cost(grid_points(base, swept)[0][1], "inprocess")[0] == "dense"
    base, _ = preset_grid("fig9_gd_continuous", {"problem.N": "1000", "problem.alpha": "2.0",
                                                 "seed": "0"})
    solver, seconds = point_cost(base, "inprocess", "bbp-train")
    two_solves = 2 * point_cost({**base, "solver": base["solver"]}, "inprocess")[1]
    assert solver == "dense" and seconds > two_solves


DESCENT_FIGURES = ("fig9", "fig10", "extra_gd_protocols", "extra_gd_hessian",
                   "extra_training_success")


def test_the_paper_and_quick_modes_fit_their_budgets_by_the_cost_model(capsys):
    """The printed estimate (the cost model, not a measured time) of every figure on two jobs:
    under 150 minutes for --paper (the descents take 80 of them by the model, which lets every
    descent run to its step budget: docs/figures.md has the measured time), under 10 for
    --quick; one line per preset, with its command."""
    for mode, minutes in (("paper", 150), ("quick", 10)):
        with InlineExecutor() as executor:
            ctx = Context(mode, "/tmp/unused", executor, None, jobs=2)
            numbers = figures_cli.estimate(ctx, list(FIGURES))
        out = capsys.readouterr().out
        assert all(f"[estimate] {preset}:" in out for preset in PRESETS)
        assert command_line("fig3_phi", MODES[mode]["overrides"]["fig3_phi"]) in out
        assert set(numbers["sweeps_cpu_s"]) == set(PRESETS)
        assert 0 < numbers["wall_s"] < minutes * 60, (mode, numbers["wall_s"])
    with InlineExecutor() as executor:
        ctx = Context("paper", "/tmp/unused", executor, None, jobs=2)
        descents = figures_cli.estimate(ctx, list(DESCENT_FIGURES))
    assert 0 < descents["wall_s"] < 80 * 60


# Their own rules (docs/figures.md): the large widths keep every p and N = 250-1000 on a thin
# grid of 2 seeds; the per-sample distributions take 200 samples at N = 250, 500 and 50 at 2000.
OWN_GRID_PRESETS = ("extra_large_width", "extra_sample_variability")


def test_the_paper_mode_has_20_seeds_and_n_up_to_2000_where_a_figure_has_several_n():
    """Spectra at init: >= 20 seeds and N up to 2000. Descents: >= 4 seeds (the onset is fitted
    over the whole alpha grid), N up to 2000 for the paper's Figs. 9-10."""
    for preset, overrides in MODES["paper"]["overrides"].items():
        if preset.startswith(OWN_GRID_PRESETS):
            continue
        base, swept = preset_grid(preset, overrides)
        sizes = swept.get("problem.N", [base["problem"]["N"]])
        seeds = swept.get("seed", [base["seed"]])
        if preset_kind(preset) == "bbp-train":  # descents: fewer seeds, a finer alpha grid
            assert len(seeds) >= 4, preset
            if preset.startswith("fig"):
                assert max(sizes) == 2000, preset
            continue
        assert len(seeds) >= 20, preset
        assert len(sizes) == 1 or max(sizes) == 2000, preset
