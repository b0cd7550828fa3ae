"""The figure registry (bbp_torch.figures): every figure module in the paper's order with its
presets, each figure drawn from no records, and the training figure's own script."""

import dataclasses
import importlib
from pathlib import Path

import pytest
from helpers import load_module

from bbp_torch import figures as figures_package
from bbp_torch import plots, theory
from bbp_torch.config import CONFIG_DIR
from bbp_torch.figures import FIGURES, extra_training_success
from bbp_torch.figures.common import Context
from bbp_torch.figures.executors import InlineExecutor
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
