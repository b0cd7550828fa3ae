"""The ``bbp-figures`` command: every figure in its smallest mode (run from a folder outside the
repository), its summary, the resume and the redraw from the tables alone, a failing figure,
the refused options, the script alias and the runner it picks."""

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from helpers import load_module

from bbp_torch import theory
from bbp_torch.cli import figures as figures_cli
from bbp_torch.config import CONFIG_DIR
from bbp_torch.figures import FIGURES
from bbp_torch.figures.common import Context
from bbp_torch.figures.executors import InlineExecutor
from bbp_torch.figures.grids import preset_kind
from bbp_torch.results import read_record
from bbp_torch.sweeps import expected_names

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
PRESETS = sorted(p.stem for p in (Path(CONFIG_DIR) / "experiment").glob("*.yaml"))


def load_script(name: str):
    return load_module(SCRIPTS / f"{name}.py")


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
