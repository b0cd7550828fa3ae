"""The ``bbp-theory`` command end to end (in-process): the alpha_BBP table, the curves and their
files, and the refusals (exit 2)."""

import csv
import json

import pytest
from helpers import printed_numbers

from bbp_torch import theory


def test_table_prints_the_thresholds_of_the_theory(command):
    result = command("bbp-theory", "table", "--a", "0.7", "1.5", "--p", "1", "2", "inf")
    assert result.code == 0, result.err
    limits = printed_numbers(result.out, "p -> inf limit")  # one per a, in order
    assert limits == pytest.approx([(0.7 + 1) / 2, (1.5 + 1) / 2], rel=1e-6)
    blocks = result.out.split("\na = ")[1:]  # one block of rows per a
    for a, block in zip((0.7, 1.5), blocks, strict=True):
        for p in (1, 2):
            row = next(line.split() for line in block.splitlines() if line.split()[:1] == [str(p)])
            assert float(row[1]) == pytest.approx(theory.alpha_bbp(p, 1, a), rel=1e-5)
            assert theory.transition_type(p, 1, a) in row
    critical = printed_numbers(result.out, "p=2: ")  # the critical a of p = 2
    assert critical == pytest.approx([theory.critical_a(2, 1)], rel=1e-3)
    default = command("bbp-theory")  # no subcommand: the table with its defaults
    assert default.code == 0 and "a = 0.7" in default.out and "a = 1.5" in default.out


def test_table_as_json(command):
    result = command("bbp-theory", "table", "--a", "0.7", "--p", "2", "inf", "--p-star", "2",
                     "--json")
    assert result.code == 0, result.err
    rows = json.loads(result.out)
    assert [r["p"] for r in rows] == ["2", "inf"]
    assert rows[0]["alpha_bbp"] == pytest.approx(theory.alpha_bbp(2, 2, 0.7), rel=1e-12)
    assert rows[1]["alpha_bbp"] == pytest.approx(2 * 1.7 / 2, rel=1e-9)
    assert rows[1]["transition"] == "discontinuous"


def test_curves_write_the_predictions_and_print_their_summary(tmp_path, command):
    out = tmp_path / "curves"
    result = command("bbp-theory", "curves", "--p", "2", "--a", "0.7", "--alpha-min", "0.5",
                     "--alpha-max", "3", "--num", "6", "--density-alpha", "2",
                     "--density-points", "50", "--out", str(out))
    assert result.code == 0, result.err
    summary = json.loads((out / "theory_summary.json").read_text())
    assert summary == json.loads(result.out)
    assert summary["files"] == ["theory_curves.csv", "theory_density.csv"]
    with open(out / "theory_curves.csv") as f:
        assert [float(r["alpha"]) for r in csv.DictReader(f)] == pytest.approx(
            [0.5, 1.0, 1.5, 2.0, 2.5, 3.0])
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))
    quiet = command("bbp-theory", "curves", "--p", "inf", "--a", "1", "--num", "3",
                    "--out", str(tmp_path / "quiet"), "--no-tensorboard")
    assert quiet.code == 0 and not (tmp_path / "quiet" / "tensorboard").exists()


@pytest.mark.parametrize("args", [
    ["table", "--a", "-1"], ["table", "--p", "0.5"], ["table", "--p", "nan"],
    ["curves", "--p", "2", "--a", "0.7", "--out", "x", "--alpha-min", "3", "--alpha-max", "1"],
    ["curves", "--p", "2", "--a", "0.7", "--out", "x", "--num", "0"],
    ["curves", "--a", "0.7", "--out", "x"],
])
def test_bad_input_is_refused_with_exit_2(args, command):
    result = command("bbp-theory", *args)
    assert result.code == 2 and "error" in result.err and "Traceback" not in result.err
