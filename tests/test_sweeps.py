"""Sweep folders (bbp_torch.sweeps): the runs a folder expects, its progress and outcome counted
from the records, and the table with its summary. Folders are built by hand here; the commands'
own sweeps are tested end to end in test_cli_bbp.py and test_cli_collect.py."""

import pytest

from bbp_torch.results import error_record, new_record, write_record
from bbp_torch.sweeps import (
    collect,
    duration,
    expected_names,
    expected_runs,
    job_dirname,
    progress_line,
    register_sweep,
    sweep_outcome,
    sweep_run_names,
)


def test_expected_runs_counts_preset_and_command_line(tmp_path):
    (tmp_path / "multirun.yaml").write_text(
        "hydra:\n  sweeper:\n    params:\n      problem.alpha: 1,2,3\n      seed: range(4)\n"
        "  overrides:\n    task:\n    - problem.p=1,2\n    - seed=0\n")
    assert expected_runs(tmp_path) == 3 * 2  # seed fixed on the command line


def test_job_dirname_is_hydras_override_dirname():
    job = ["seed=1", "problem.p=2", "+experiment=fig1", "threads=1", "problem.a=0.7"]
    assert job_dirname(job, ["experiment", "threads"]) == "problem.a=0.7,problem.p=2,seed=1"
    assert job_dirname(job, ["experiment", "threads"], item_sep="/", kv_sep="-") == \
        "problem.a-0.7/problem.p-2/seed-1"
    assert job_dirname(["+experiment=fig1"], ["experiment"]) == "run"


def test_the_runs_of_a_preset_sweep(compose):
    """A preset's sweep with seed=0 on the command line: the command line wins over the
    preset's seed range, and the preset itself is not part of the names."""
    cfg = compose(["+experiment=fig1_overlap", "seed=0"], hydra=True)
    params = {k: str(v) for k, v in cfg.hydra.sweeper.params.items() if k != "seed"}
    assert params, "the preset sweeps something besides the seed"
    count = 1
    for values in params.values():  # plain comma lists in the preset
        count *= len(values.split(","))
    names = sweep_run_names(cfg)
    assert len(names) == count == len(set(names))
    assert all("experiment" not in n and n.endswith("seed=0") for n in names)
    first = ",".join(sorted(f"{k}={v.split(',')[0]}" for k, v in params.items())) + ",seed=0"
    assert first in names


def ok_record(seed, overlap, status="ok", alpha=1.0):
    config = {"problem": {"N": 10, "p": 2, "p_star": 1, "a": 0.7, "alpha": alpha},
              "hessian": {"kind": "euclidean"}, "seed": seed}
    return new_record(status, config, {"overlap": overlap, "lambda_min": -1.0, "gap": 0.1},
                      {}, "cpu", warning="missed solver.tol" if status != "ok" else None)


def test_progress_and_outcome_are_counted_from_the_records(tmp_path):
    register_sweep(tmp_path, ["seed=0", "seed=1", "seed=2"], ["seed=0,1,2"])
    register_sweep(tmp_path, ["seed=2", "seed=3"], ["seed=2,3"])  # a second sweep, overlapping
    assert expected_names(tmp_path) == ["seed=0", "seed=1", "seed=2", "seed=3"]
    assert expected_runs(tmp_path) == 4
    write_record(tmp_path / "seed=0", ok_record(0, 0.5))
    write_record(tmp_path / "seed=1", ok_record(1, 0.6, "unconverged"))
    write_record(tmp_path / "seed=2", error_record({"seed": 2}, ValueError("bad"), "config"))
    # the progress of the sweep running now (the latest): its own runs, not the folder's
    assert progress_line(tmp_path).startswith("[sweep] 1/2 runs finished, elapsed ")
    assert progress_line(tmp_path, expected_names(tmp_path)).startswith("[sweep] 3/4 runs")
    counts = sweep_outcome(tmp_path, expected_names(tmp_path))
    assert counts == {"ok": 1, "unconverged": 1, "failed": 1, "config": 1, "unreadable": 0,
                      "missing": 1, "unreadable_why": []}
    (tmp_path / "sweeps.jsonl").write_text((tmp_path / "sweeps.jsonl").read_text() + '{"cut')
    assert expected_runs(tmp_path) == 4  # a line cut by a crash: the others still count


def test_collect_means_leave_unconverged_and_superseded_failures_out(tmp_path):
    register_sweep(tmp_path, ["a", "b", "c", "d"], [])
    write_record(tmp_path / "a", ok_record(0, 0.2))
    write_record(tmp_path / "b", ok_record(1, 0.4))
    write_record(tmp_path / "c", ok_record(2, 0.9, "unconverged"))
    # a failure of seed 1, redone with success in folder b: superseded, not a failure
    write_record(tmp_path / "d", error_record(ok_record(1, 0)["config"], ValueError("x"),
                                              "exception"))
    table, text = collect([tmp_path], tmp_path / "table.csv")
    assert len(table) == 3 and (tmp_path / "table.csv").exists()
    assert "3 records: 2 ok, 1 unconverged, 0 failed, 0 unreadable" in text
    assert "1 failures superseded by a later success" in text
    assert "0 missing (of 4 expected)" in text  # the superseded folder is accounted for
    mean_ok = text.split("mean and std over 2 runs (ok runs):")[1]
    assert f"{0.3:g}" in mean_ok.split("\n")[2]  # the mean overlap of a and b alone
    _, text = collect([tmp_path], tmp_path / "t.csv", include_unconverged=True)
    assert "mean and std over 3 runs (ok and unconverged runs):" in text
    assert f"{0.5:g}" in text.split("ok and unconverged runs):")[1].split("\n")[2]


@pytest.mark.parametrize("seconds, text", [(0, "0m00s"), (59.6, "1m00s"), (3723, "1h02m03s")])
def test_duration(seconds, text):
    assert duration(seconds) == text
