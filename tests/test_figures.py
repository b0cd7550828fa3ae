"""Figures: preset grids and kinds, the command lines of the cli runner (local and SLURM), the
in-process runner (through the job runner), the cost model behind the estimates, every figure of
``bbp-figures`` in its smallest mode (run from a folder outside the repository), the redraw from
the tables alone, and the training figure's own script."""

import dataclasses
import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from helpers import load_module
from omegaconf import OmegaConf

from bbp_torch import figures as figures_package
from bbp_torch import plots, theory
from bbp_torch.cli import figures as figures_cli
from bbp_torch.config import CONFIG_DIR
from bbp_torch.figures import FIGURES, extra_training_success
from bbp_torch.figures.common import MODES, MODES_DIR, Context, command_line, load_modes
from bbp_torch.figures.cost import THEORY_CALL_S, point_cost
from bbp_torch.figures.executors import InlineExecutor, run_inprocess, sweep_command
from bbp_torch.figures.grids import filter_to_grid, grid_points, preset_grid, preset_kind
from bbp_torch.paths import PACKAGE_DIR
from bbp_torch.results import read_record
from bbp_torch.sweeps import collect, expected_names

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
PRESETS = sorted(p.stem for p in (Path(CONFIG_DIR) / "experiment").glob("*.yaml"))


def load_script(name: str):
    return load_module(SCRIPTS / f"{name}.py")


# ----------------------------------------------------------------------------- presets, grids


def test_every_figure_names_its_presets_and_every_preset_has_a_figure():
    used = {preset for module in FIGURES.values() for preset in module.PRESETS}
    assert used == set(PRESETS)
    names = [module.NAME for module in FIGURES.values()]
    assert len(set(names)) == len(names)
    for key, module in FIGURES.items():  # the paper's number, or extra_ for our own figures
        assert module.NAME.startswith(f"{key}_" if key.startswith("fig") else key), key
    assert "fig5" not in FIGURES  # the paper's Fig. 5 is not described: no counterpart


def test_the_registry_holds_every_figure_module_in_the_papers_order():
    keys = ["fig1", "fig2", "fig3", "fig4", "fig6", "fig7", "fig8", "fig9", "fig10",
            "extra_spectrum", "extra_phase_diagram", "extra_finite_size",
            "extra_training_success", "extra_gd_protocols", "extra_gd_hessian",
            "extra_large_width", "extra_sample_variability"]
    assert list(FIGURES) == keys  # the keys of bbp-figures --only and of the summary
    folder = Path(figures_package.__file__).parent
    declared = {}
    for path in folder.glob("[!_]*.py"):  # a module with a KEY is a figure: the registry has it
        module = importlib.import_module(f"bbp_torch.figures.{path.stem}")
        if hasattr(module, "KEY"):
            declared[module.KEY] = module
    assert declared == FIGURES
    assert len({module.ORDER for module in FIGURES.values()}) == len(FIGURES)
    for module in FIGURES.values():  # one pattern: compute -> Result (a table) -> plot
        assert dataclasses.is_dataclass(module.Result), module.KEY
        assert callable(module.compute) and callable(module.plot), module.KEY


def test_a_figures_side_cost_is_its_modules_or_a_few_theory_solves():
    settings = MODES["paper"]
    assert figures_cli.side_seconds("fig1", settings) == 6 * THEORY_CALL_S
    assert figures_cli.side_seconds("fig6", settings) == figures_cli.side_seconds("fig2", settings)
    for key in ("fig2", "fig7", "extra_phase_diagram", "extra_spectrum"):
        assert figures_cli.side_seconds(key, settings) > 6 * THEORY_CALL_S, key


def test_every_mode_overrides_only_existing_presets():
    for mode, settings in MODES.items():
        assert set(settings["overrides"]) <= set(PRESETS), mode
    for preset in PRESETS:  # each mode but the full one shrinks every preset
        assert all(preset in MODES[m]["overrides"] for m in ("paper", "quick", "smoke"))


def test_the_modes_are_read_from_their_yaml_files_alone(tmp_path):
    """One file per mode in conf/figure_modes/, each with the full mode's fields and override
    strings as on a command line; a new file is a new mode; no Python source holds a grid."""
    assert set(MODES) == {"full", "paper", "quick", "smoke"}
    assert MODES == load_modes(MODES_DIR)
    for mode, settings in MODES.items():
        assert set(settings) == set(MODES["full"]), mode
        assert settings["runner"] in ("cli", "inprocess"), mode
        for preset, overrides in settings["overrides"].items():
            assert all(isinstance(v, str) for v in overrides.values()), (mode, preset)

    copy = tmp_path / "figure_modes"
    shutil.copytree(MODES_DIR, copy)
    tiny = dict(MODES["smoke"], n_boot=3)
    OmegaConf.save(OmegaConf.create(tiny), copy / "tiny.yaml")
    assert load_modes(copy) == {**MODES, "tiny": tiny}

    grids = {value for settings in MODES.values() for overrides in settings["overrides"].values()
             for value in overrides.values() if value.count(",") >= 2}
    sources = [*PACKAGE_DIR.rglob("*.py"), *SCRIPTS.glob("*.py")]
    for path in sources:
        text = path.read_text()
        assert not [grid for grid in grids if f'"{grid}"' in text], path


def test_preset_grid_expands_the_sweep_and_command_line_overrides_win():
    base, swept = preset_grid("fig1_overlap", {"problem.N": "40,80", "seed": "0"})
    assert swept["problem.N"] == [40, 80]
    assert "seed" not in swept and base["seed"] == 0
    assert base["name"] == "fig1_overlap" and base["problem"]["p"] == 2
    points = grid_points(base, swept)
    assert len(points) == 2 * len(swept["problem.a"]) * len(swept["problem.alpha"])
    name, cfg = points[0]
    assert name.startswith("problem.N=40,problem.a=") and cfg["problem"]["N"] == 40

    rows = [{"status": "ok", "config.problem.N": c["problem"]["N"], "config.problem.p": 2,
             "config.problem.p_star": 1, "config.problem.a": c["problem"]["a"],
             "config.problem.alpha": c["problem"]["alpha"], "config.seed": 0,
             "config.hessian.kind": "euclidean", "config.problem.activation": "quadratic"}
            for _, c in points[:3]]
    rows.append(dict(rows[0], **{"config.problem.N": 999}))  # a run from another grid
    rows.append(dict(rows[0], status="error"))
    assert len(filter_to_grid(pd.DataFrame(rows), base, swept)) == 3


def test_training_presets_are_composed_with_the_train_app():
    assert preset_kind("fig9_gd_continuous") == "bbp-train" == preset_kind("train_success")
    assert preset_kind("fig3_phi") == "bbp"
    base, swept = preset_grid("fig10_gd_discontinuous", {"train.steps": "50"})
    assert base["train"]["steps"] == 50 and base["train"]["init"] == "random"
    assert base["problem"]["a"] == 2.0 and base["dtype"] == "float32"
    assert theory.transition_type(1, 1, 2.0) == "discontinuous"
    assert theory.transition_type(1, 1, preset_grid("fig9_gd_continuous")[0]["problem"]["a"]) \
        == "continuous"
    assert command_line("fig9_gd_continuous", {"seed": "range(2)"}) == \
        "bbp-train -m +experiment=fig9_gd_continuous 'seed=range(2)'"


def test_the_cli_runner_commands_for_the_local_and_the_slurm_launcher():
    cmd = sweep_command("fig1_overlap", {"seed": "range(2)"}, Path("/tmp/s"), 2)
    assert cmd[1:] == ["-m", "bbp_torch", "-m", "+experiment=fig1_overlap",
                       "hydra.sweep.dir=/tmp/s", "hydra.launcher.n_jobs=2", "seed=range(2)"]
    cmd = sweep_command("fig9_gd_continuous", {}, Path("/tmp/s"), 2, kind="bbp-train",
                        launcher="slurm", launcher_overrides=("hydra.launcher.partition=cpu",))
    assert cmd[1:] == ["-m", "bbp_torch.cli.train", "-m", "+experiment=fig9_gd_continuous",
                       "hydra.sweep.dir=/tmp/s", "hydra/launcher=slurm",
                       "hydra.launcher.partition=cpu"]  # no n_jobs: SLURM runs one job per run


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


# ----------------------------------------------------------------------------- runner


@pytest.mark.parametrize("tensorboard", [True, False])
def test_inprocess_runs_go_through_the_job_runner(tmp_path, tensorboard):
    # alpha = 0.01 at N = 20 is M = 0 samples: refused by validation, an error record.
    overrides = {"problem.N": "20", "problem.a": "0.7", "problem.alpha": "0.01,1.0",
                 "seed": "0", "logging.tensorboard": str(tensorboard).lower()}
    base, swept = preset_grid("fig1_overlap", overrides)
    with InlineExecutor() as executor:
        folder = run_inprocess(executor, "grid", base, swept, tmp_path)
    bad, good = folder / "problem.alpha=0.01", folder / "problem.alpha=1.0"
    assert expected_names(folder) == [bad.name, good.name]  # registered as a sweep
    record = read_record(good)
    assert record["status"] == "ok" and record["run_dir"] == str(good)
    assert record["config"]["logging"]["tensorboard"] is tensorboard
    assert record["metrics"]["solver_used"] == "dense"  # p N = 40 <= solver.auto_max_dim
    assert (good / ".lock").exists()  # the job runner's lock
    assert bool(list(good.glob("events.out.tfevents.*"))) is tensorboard
    failed = read_record(bad)
    assert (failed["status"], failed["error_kind"]) == ("error", "config")
    assert "problem.alpha" in failed["error"]
    assert not list(bad.glob("events.out.tfevents.*"))
    _, text = collect([folder], out=tmp_path / "table.csv")
    assert "2 records: 1 ok, 0 unconverged, 1 failed" in text and "0 missing (of 2" in text


# ----------------------------------------------------------------------------- figure modules


def test_figures_that_read_records_draw_from_none(tmp_path):
    """Before any sweep (``--no-run``) the figures that read records still draw (the theory
    alone, or empty panels), and nothing is run."""
    out = tmp_path / "figures"
    keys = ("fig1", "fig3", "fig4", "fig8", "fig9", "extra_finite_size",
            "extra_training_success", "extra_gd_protocols", "extra_gd_hessian")
    with InlineExecutor() as executor, plots.FigureSaver(out, tensorboard=False) as saver:
        ctx = Context("smoke", out, executor, saver, run=False, runs=tmp_path / "none")
        assert ctx.runs_root == tmp_path / "none" and ctx.runner == "inprocess"
        info = {key: FIGURES[key].draw(ctx) for key in keys}
    for key in keys:
        for suffix in (".png", ".pdf"):
            assert (out / f"{FIGURES[key].NAME}{suffix}").stat().st_size > 1000
    assert not (tmp_path / "none").exists()  # nothing was run
    assert info["fig1"]["0.7"]["alpha_bbp"] == pytest.approx(theory.alpha_bbp(2, 1, 0.7))
    assert info["fig3"]["2.0"]["crossings"] == [] and info["fig3"]["2.0"]["N"] == []
    assert info["fig9"]["N"] == [] and info["extra_training_success"]["runs"] == 0
    assert info["extra_gd_hessian"]["alphas"] == {}
    assert info["extra_gd_protocols"]["gd_p2_continuous"]["N"] == []


# ----------------------------------------------------------------------------- bbp-figures


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """The console command ``bbp-figures --smoke --out figures`` once for the whole module, run
    from a folder outside the repository: ``(out, summary)``."""
    elsewhere = tmp_path_factory.mktemp("smoke")
    command = Path(sys.executable).parent / "bbp-figures"
    assert command.exists(), "bbp-figures is not installed next to this Python: pip install -e ."
    proc = subprocess.run([str(command), "--smoke", "--jobs", "1", "--out", "figures"],
                          cwd=elsewhere, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = elsewhere / "figures"
    return out, json.loads((out / "summary_smoke.json").read_text())


@pytest.mark.parametrize("key", list(FIGURES))
def test_each_figure_in_smoke_mode_produces_its_files(smoke, key):
    out, summary = smoke
    for suffix in (".png", ".pdf"):
        path = out / f"{FIGURES[key].NAME}{suffix}"
        assert path.exists() and path.stat().st_size > 1000, path
    assert key in summary and key in summary["timings_s"]
    for preset in FIGURES[key].PRESETS:  # its sweeps ran through the job runner, all ok
        folder = out / "runs" / "smoke" / preset  # (a descent may diverge: lr 0.1 is unstable
        records = [read_record(path) for path in folder.rglob("record.json")]  # on some draws)
        assert len(records) == len(expected_names(folder)) > 0
        ok = [r for r in records if r["status"] == "ok"]
        diverged = [r for r in records if r["status"] == "error"
                    and r["metrics"].get("stop_reason") == "diverged"]
        assert len(ok) + len(diverged) == len(records) and ok
        assert not diverged or preset_kind(preset) == "bbp-train"
        table = pd.read_csv(out / "tables" / f"{preset}.csv.gz")  # the table it was drawn from
        assert len(table) == len(ok) and set(table["status"]) == {"ok"}
        assert "config.problem.alpha" in table and any(c.startswith("metrics.") for c in table)
        assert not any(c.startswith("timings.") or c == "run_dir" for c in table.columns)


def test_the_smoke_run_logs_every_figure_and_its_numbers(smoke):
    out, summary = smoke
    events = list((out / "tensorboard").glob("events.out.tfevents.*"))
    assert events
    assert (summary["mode"], summary["runner"], summary["jobs"]) == ("smoke", "inprocess", 1)
    assert set(summary["estimate"]["sweeps_cpu_s"]) == set(PRESETS)
    for a in ("0.7", "1.5"):  # Fig. 1: p = 2 at the paper's two a
        assert summary["fig1"][a]["alpha_bbp"] == pytest.approx(theory.alpha_bbp(2, 1, float(a)))
    assert summary["fig1"]["0.7"]["transition"] == "continuous"
    assert summary["fig1"]["1.5"]["transition"] == "discontinuous"
    # Fig. 2: the curves are the theory's, the switch is critical_a, the p -> inf limit.
    curve = summary["fig2"]["curves"]["1"]
    assert curve["a_switch"] == pytest.approx(theory.critical_a(1, 1))
    a0, alpha0 = curve["a"][0], curve["alpha_bbp"][0]
    assert alpha0 == pytest.approx(theory.alpha_bbp(1, 1, a0))
    assert summary["fig6"]["p_star"] == 2
    assert summary["fig2"]["insets"]["0.7"]["type"] == [theory.transition_type(p, 1, 0.7)
                                                        for p in (1, 2)]
    # Fig. 3: p = p* = 1, one continuous and one discontinuous a; phi from every eigenvector.
    assert summary["fig3"]["0.5"]["transition"] == "continuous"
    assert summary["fig3"]["2.0"]["transition"] == "discontinuous"
    assert summary["fig3"]["2.0"]["N"] == [40, 80] and "alpha0" in summary["fig3"]["2.0"]
    record = read_record(next((out / "runs" / "smoke" / "fig3_phi").rglob("record.json")))
    assert record["metrics"]["best_overlap_scope"] == "all"
    assert summary["fig8"]["sigmoid"]["a"] == 1.0 and summary["fig8"]["tanh"]["a"] == 50.0
    assert summary["fig9"]["transition"] == "continuous" and summary["fig9"]["steps"] == 100
    assert summary["fig10"]["alpha_bbp"] == pytest.approx(theory.alpha_bbp(1, 1, 2.0))
    # the onset of recovery of every descent protocol, under gd_onset
    for preset in ("fig9_gd_continuous", "fig10_gd_discontinuous", "gd_flow_continuous",
                   "gd_plain_continuous", "gd_p2_continuous", "gd_p2_discontinuous"):
        onset = summary["gd_onset"][preset]
        assert set(onset["per_N"]) == {"40", "80"}, preset
        assert onset["extrapolated"]["law"] == "1/log N" and "value" in onset["extrapolated"]
        p, a = onset["p"], onset["a"]
        assert onset["alpha_bbp"] == pytest.approx(theory.alpha_bbp(p, 1, a)), preset
    assert summary["gd_onset"]["gd_plain_continuous"]["method"] == "gd"
    assert summary["extra_gd_protocols"]["gd_p2_discontinuous"]["a"] == 1.5
    hessian = summary["extra_gd_hessian"]
    assert hessian["N"] == 60 and set(hessian["alphas"]) == {"1.0", "2.0", "4.0"}
    for finals in hessian["alphas"].values():
        assert finals["seeds"] == 1 and 0 <= finals["eigvec_overlap"] <= 1
        assert finals["lambda_min"] <= finals["lambda_edge"]
    assert summary["extra_phase_diagram"]["errors"] == 0


def test_a_second_smoke_call_skips_every_finished_run(smoke):
    out, _ = smoke
    records = list((out / "runs" / "smoke" / "fig1_overlap").rglob("record.json"))
    before = {p: p.stat().st_mtime_ns for p in records}
    assert figures_cli.main(["--smoke", "--jobs", "1", "--out", str(out), "--only", "fig1"]) == 0
    assert all(p.stat().st_mtime_ns == t for p, t in before.items())
    summary = json.loads((out / "summary_smoke.json").read_text())
    assert "fig10" in summary and "fig10" in summary["timings_s"]  # the others' numbers kept


@pytest.mark.parametrize("source", ["result", "records"])
def test_no_run_redraws_from_the_tables_alone(smoke, tmp_path, capsys, source):
    """With only the tables of an earlier invocation (no records, no runs folder), --no-run
    draws the figures again, from the same numbers: from each figure's tables/<NAME>.json, or,
    without it, from the records' tables/<preset>.csv.gz."""
    out, summary = smoke
    redraw = tmp_path / "figures"
    shutil.copytree(out / "tables", redraw / "tables")
    if source == "records":
        for path in (redraw / "tables").glob("*.json"):
            path.unlink()
    argv = ["--smoke", "--no-run", "--jobs", "1", "--out", str(redraw), "--only", "fig3", "fig9"]
    assert figures_cli.main(argv) == 0
    printed = capsys.readouterr().out
    tables = redraw / "tables"
    if source == "result":
        assert f"[fig9_gd_continuous] drawn from {tables / 'fig9_gd_continuous.json'}" in printed
        assert "finished runs read from" not in printed  # no table of records was read
    else:
        assert f"read from {tables / 'fig9_gd_continuous.csv.gz'}" in printed
        assert (tables / "fig9_gd_continuous.json").exists()  # computed again and written
    assert not (redraw / "runs").exists()
    again = json.loads((redraw / "summary_smoke.json").read_text())
    for key in ("fig3", "fig9"):
        assert (redraw / f"{FIGURES[key].NAME}.png").stat().st_size > 1000
    assert again["fig9"]["N"] == summary["fig9"]["N"] == [40, 80]
    for N, curve in summary["fig9"]["curves"].items():
        assert again["fig9"]["curves"][N]["mean"] == pytest.approx(curve["mean"])
    assert again["fig3"]["2.0"]["N"] == summary["fig3"]["2.0"]["N"]
    onset = again["gd_onset"]["fig9_gd_continuous"]
    first = summary["gd_onset"]["fig9_gd_continuous"]
    assert onset["N"] == first["N"] and onset["extrapolated"]["law"] == first["extrapolated"]["law"]
    if source == "result":  # the very numbers of the first drawing (the records' table holds
        assert again["fig3"] == summary["fig3"] and again["fig9"] == summary["fig9"]  # 10 digits)
        assert onset == first


def test_every_figure_writes_the_result_it_draws(smoke):
    """tables/<NAME>.json of every figure holds the mode and every field of its Result."""
    out, _ = smoke
    for module in FIGURES.values():
        saved = json.loads((out / "tables" / f"{module.NAME}.json").read_text())
        assert saved["mode"] == "smoke", module.KEY
        assert set(saved["result"]) == {f.name for f in dataclasses.fields(module.Result)}


def test_a_figure_that_fails_costs_only_itself(tmp_path, monkeypatch, capsys):
    def broken(ctx):
        raise ValueError("a drawing bug")

    monkeypatch.setattr(FIGURES["fig7"], "draw", broken)
    out = tmp_path / "figures"
    argv = ["--smoke", "--jobs", "1", "--out", str(out), "--only", "fig7", "extra_phase_diagram"]
    assert figures_cli.main(argv) == 1
    assert (out / f"{FIGURES['extra_phase_diagram'].NAME}.png").exists()
    summary = json.loads((out / "summary_smoke.json").read_text())
    assert summary["failed"] == {"fig7": "ValueError: a drawing bug"}
    assert "extra_phase_diagram" in summary and "fig7" not in summary
    assert "1 of 2 figures failed: fig7" in capsys.readouterr().err
    monkeypatch.undo()  # mended: the redraw clears the failure
    assert figures_cli.main([*argv[:-3], "--only", "fig7"]) == 0
    summary = json.loads((out / "summary_smoke.json").read_text())
    assert summary["failed"] == {} and "fig7" in summary


@pytest.mark.parametrize("argv", [["--jobs", "0"], ["--jobs", "-2"], ["--jobs", "1.5"],
                                  ["--jobs", "two"], ["--only", "fig5"], ["--smoke", "--paper"]])
def test_bbp_figures_refuses_bad_options_naming_them(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        figures_cli.parse_args(argv)
    assert exit_info.value.code == 2
    assert argv[-2] in capsys.readouterr().err
    assert figures_cli.parse_args(["--jobs", "3"]).jobs == 3


def test_the_script_is_an_alias_of_bbp_figures():
    script = load_script("reproduce_figures")
    assert script.main is figures_cli.main and script.estimate is figures_cli.estimate


def test_the_cli_runner_sweeps_below_the_current_folder_by_default(tmp_path):
    with InlineExecutor() as executor:
        ctx = Context("full", tmp_path / "figures", executor, None)
    assert ctx.runner == "cli" and ctx.runs_root == Path("outputs", "multirun")


def test_the_slurm_launcher_makes_the_cli_runner():
    args = figures_cli.parse_args(["--launcher", "slurm", "--launcher-override",
                                   "hydra.launcher.partition=cpu"])
    with InlineExecutor() as executor:
        ctx = Context("full", "/tmp/unused", executor, None, launcher=args.launcher,
                      launcher_overrides=tuple(args.launcher_override))
    assert ctx.runner == "cli" and ctx.launcher_overrides == ("hydra.launcher.partition=cpu",)


# ----------------------------------------------------------------------------- training figure


def test_fig_training_quick_runs_through_the_job_runner(tmp_path, monkeypatch):
    # The quick path on a four-run grid with short descents.
    monkeypatch.setattr(extra_training_success, "QUICK_OVERRIDES", {
        "problem.N": "30", "problem.p": "1", "problem.a": "0.7", "problem.alpha": "0.5,3.0",
        "train.init": "random,spectral", "seed": "0", "train.steps": "200",
        "logging.tensorboard": "false"})
    script = load_script("fig_training")
    runs, out = tmp_path / "runs", tmp_path / "figures"
    paths = script.main(["--quick", "--runs", str(runs), "--out", str(out)])
    assert paths == [out / "fig_training_quick.png", out / "fig_training_quick.pdf"]
    assert all(path.stat().st_size > 1000 for path in paths)
    folder = runs / extra_training_success.QUICK_NAME
    names = expected_names(folder)
    assert len(names) == 4 and "problem.alpha=3.0,train.init=spectral" in names
    records = [folder / name / "record.json" for name in names]
    assert all(read_record(path)["status"] == "ok" for path in records)
    assert all(read_record(path)["config"]["train"]["steps"] == 200 for path in records)
    assert not list(folder.rglob("events.out.tfevents.*"))  # the quick grid logs no events
    _, text = collect([folder], out=tmp_path / "table.csv")
    assert "4 records: 4 ok" in text and "0 missing (of 4" in text

    # Drawn again: every run is skipped; an empty folder is refused with a message.
    before = {path: path.stat().st_mtime_ns for path in records}
    script.main(["--quick", "--runs", str(runs), "--out", str(out)])
    assert all(path.stat().st_mtime_ns == t for path, t in before.items())
    with pytest.raises(SystemExit, match="No training records"):
        script.main([str(tmp_path / "empty")])
