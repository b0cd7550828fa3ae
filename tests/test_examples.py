"""The worked examples of examples/, each run at a small size from a folder outside the
repository: they finish, draw their figure, and their numbers agree with the package."""

from pathlib import Path

import pytest
from helpers import load_module

from bbp_torch import theory

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def example(name: str):
    return load_module(EXAMPLES / f"{name}.py")


def test_every_example_is_tested_and_listed():
    scripts = sorted(p.stem for p in EXAMPLES.glob("*.py"))
    assert scripts == ["phase_diagram", "study_vs_theory", "sweep_table"]
    listed = (EXAMPLES / "README.md").read_text()
    assert all(f"`{name}.py`" in listed for name in scripts)


def test_study_vs_theory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    numbers = example("study_vs_theory").main(["--N", "60", "--alpha", "3"])
    assert numbers["figure"].stat().st_size > 1000
    assert numbers["alpha_bbp"] == pytest.approx(theory.alpha_bbp(2, 1, 0.7))
    assert numbers["lambda_min"] < numbers["lambda_edge"]  # the outlier below the bulk
    assert numbers["outlier_theory"] < numbers["edge_theory"]  # alpha = 3 > alpha_BBP
    assert 0 <= numbers["overlap"] <= 1


def test_sweep_table(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    means = example("sweep_table").main(["--N", "30", "--alphas", "0.5,3", "--seeds", "2"])
    assert list(means.index) == [0.5, 3.0] and list(means["runs"]) == [2, 2]
    assert means.loc[0.5, "theory"] == 0.0  # below alpha_BBP: no outlier at N = infinity
    assert means.loc[3.0, "theory"] == pytest.approx(theory.overlap(2, 1, 0.7, 3.0))
    assert len(list((tmp_path / "outputs" / "examples" / "sweep").glob("*/record.json"))) == 4


def test_phase_diagram(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    diagram = example("phase_diagram").main(["--p", "1", "2", "--a-points", "3"])
    assert (tmp_path / "outputs" / "examples" / "phase_diagram.png").stat().st_size > 1000
    for p in (1, 2):
        curve = diagram[p]
        assert curve["a_switch"] == pytest.approx(theory.critical_a(p, 1))
        assert curve["a"] == sorted(curve["a"]) and len(curve["a"]) == 4  # 3 and the switch
        types = dict(zip(curve["a"], curve["type"], strict=True))
        assert types[min(curve["a"])] == "continuous" and types[max(curve["a"])] == "discontinuous"
