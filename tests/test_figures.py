"""Figures: preset grids, the in-process runner (through the job runner), each figure module,
the figure script end to end in its smallest mode, and the training figure's quick path."""

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest

from bbp_torch import plots, theory
from bbp_torch.figures import FIGURES, training
from bbp_torch.figures.common import Context
from bbp_torch.figures.runs import (
    InlineExecutor,
    filter_to_grid,
    grid_points,
    preset_grid,
    run_inprocess,
    sweep_command,
)
from bbp_torch.results import read_record
from bbp_torch.sweeps import collect, expected_names

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


# ----------------------------------------------------------------------------- runner


@pytest.mark.parametrize("tensorboard", [True, False])
def test_inprocess_runs_go_through_the_job_runner(tmp_path, tensorboard):
    # alpha = 0.01 at N = 20 is M = 0 samples: refused by validation, an error record.
    overrides = {"problem.N": "20", "problem.a": "0.7", "problem.alpha": "0.01,1.0",
                 "seed": "0", "logging.tensorboard": str(tensorboard).lower()}
    base, swept = preset_grid("fig1_overlap_quick", overrides)
    with InlineExecutor() as executor:
        folder = run_inprocess(executor, "grid", base, swept, tmp_path)
    bad, good = folder / "problem.alpha=0.01", folder / "problem.alpha=1.0"
    assert expected_names(folder) == [bad.name, good.name]  # registered as a sweep
    record = read_record(good)
    assert record["status"] == "ok" and record["run_dir"] == str(good)
    assert record["config"]["logging"]["tensorboard"] is tensorboard
    assert (good / ".lock").exists()  # the job runner's lock
    assert bool(list(good.glob("events.out.tfevents.*"))) is tensorboard
    failed = read_record(bad)
    assert (failed["status"], failed["error_kind"]) == ("error", "config")
    assert "problem.alpha" in failed["error"]
    assert not list(bad.glob("events.out.tfevents.*"))
    _, text = collect([folder], out=tmp_path / "table.csv")
    assert "2 records: 1 ok, 0 unconverged, 1 failed" in text and "0 missing (of 2" in text


# ----------------------------------------------------------------------------- figure modules


def test_figures_draw_from_no_records(tmp_path):
    """Before any sweep (``--no-run``), the figures that read records draw the theory alone."""
    out = tmp_path / "figures"
    with InlineExecutor() as executor, plots.FigureSaver(out, tensorboard=False) as saver:
        ctx = Context("smoke", out, executor, saver, run=False, runs=tmp_path / "none")
        assert ctx.runs_root == tmp_path / "none" and ctx.runner == "inprocess"
        info = {key: FIGURES[key].draw(ctx) for key in ("fig1", "fig3", "fig4")}
    for key in info:
        for suffix in (".png", ".pdf"):
            assert (out / f"{FIGURES[key].NAME}{suffix}").stat().st_size > 1000
    assert not (tmp_path / "none").exists()  # nothing was run
    assert info["fig1"]["0.7"]["alpha_bbp"] == pytest.approx(theory.alpha_bbp(2, 1, 0.7))
    assert info["fig3"]["finite_N"] == [] and len(info["fig3"]["theory"]) == 2
    assert info["fig4"]["0.7"]["N"] == [] and info["fig4"]["alpha0_vs_p"] == {}


# ----------------------------------------------------------------------------- the script


def test_reproduce_figures_smoke_writes_every_figure(tmp_path):
    script = load_script("reproduce_figures")
    out = tmp_path / "figures"
    assert script.main(["--smoke", "--jobs", "1", "--out", str(out)]) == 0
    names = ("fig1_overlap", "fig2_spectrum", "fig3_alpha_bbp", "fig4_finite_size",
             "fig5_phase_diagram")
    assert [figure.NAME for figure in FIGURES.values()] == list(names)  # one module each
    for name in names:
        for suffix in (".png", ".pdf"):
            path = out / f"{name}{suffix}"
            assert path.exists() and path.stat().st_size > 1000, path
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))
    assert (out / "summary_smoke.json").exists()
    records = list((out / "runs").rglob("record.json"))
    assert len(records) == 24 + 40 + 48
    assert all(read_record(path)["status"] == "ok" for path in records)  # no failed run
    # The presets log to TensorBoard (logging.tensorboard defaults to true): one file per run.
    assert all(list(path.parent.glob("events.out.tfevents.*")) for path in records)
    for preset, runs in (("fig1_overlap_quick", 24), ("fig3_alpha_bbp_quick", 40),
                         ("fig4_finite_size_quick", 48)):
        assert len(expected_names(out / "runs" / preset)) == runs
    line = json.loads((out / "runs" / "fig1_overlap_quick" / "sweeps.jsonl").read_text())
    assert line["overrides"][:2] == ["+experiment=fig1_overlap_quick", "problem.N=40,80"]

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


@pytest.mark.parametrize("value", ["0", "-2", "1.5", "two"])
def test_reproduce_figures_refuses_a_bad_jobs_count(value, capsys):
    script = load_script("reproduce_figures")
    with pytest.raises(SystemExit) as exit_info:
        script.parse_args(["--jobs", value])
    assert exit_info.value.code == 2
    assert "--jobs" in capsys.readouterr().err
    assert script.parse_args(["--jobs", "3"]).jobs == 3


# ----------------------------------------------------------------------------- training figure


def test_fig_training_quick_runs_through_the_job_runner(tmp_path, monkeypatch):
    # The quick path on a four-run grid with short descents.
    grid = {"problem.p": [1], "problem.a": [0.7], "problem.alpha": [0.5, 3.0],
            "train.init": ["random", "spectral"], "seed": [0]}
    base = {**training.QUICK_BASE, "train": {**training.QUICK_BASE["train"], "steps": 200}}
    monkeypatch.setattr(training, "QUICK_GRID", grid)
    monkeypatch.setattr(training, "QUICK_BASE", base)
    script = load_script("fig_training")
    runs, out = tmp_path / "runs", tmp_path / "figures"
    paths = script.main(["--quick", "--runs", str(runs), "--out", str(out)])
    assert paths == [out / "fig_training_quick.png", out / "fig_training_quick.pdf"]
    assert all(path.stat().st_size > 1000 for path in paths)
    folder = runs / training.QUICK_NAME
    names = expected_names(folder)
    assert len(names) == 4 and "problem.a=0.7,problem.alpha=3.0,problem.p=1,seed=0," \
        "train.init=spectral" in names
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
