"""The ``bbp-collect`` command end to end (in-process), on sweeps made by ``bbp``: the table, the
counts, the exit codes (0 all ok, 1 a run failed or is missing, 2 refused input)."""

import pandas as pd

from bbp_torch.results import find_records, read_record
from bbp_torch.sweeps import collect


def make_sweep(command, sweep, alphas):
    result = command("bbp", "-m", "problem.N=30", f"problem.alpha={alphas}", "theory=false",
                     "logging.tensorboard=false", "hydra/launcher=basic",
                     f"hydra.sweep.dir={sweep}")
    assert find_records([sweep]), result.err
    return result


def test_an_all_ok_sweep_collects_with_exit_zero(tmp_path, command):
    sweep = tmp_path / "sweep"
    make_sweep(command, sweep, "2,3")
    result = command("bbp-collect", str(sweep))
    assert result.code == 0, result.err
    assert "2 records: 2 ok, 0 unconverged, 0 failed, 0 unreadable, 0 missing" in result.out
    table = pd.read_csv(sweep / "table.csv")
    assert len(table) == 2 and sorted(table["config.problem.alpha"]) == [2.0, 3.0]


def test_failed_and_truncated_records_are_counted(tmp_path, command):
    """A sweep with a refused run (alpha=0.01 at N=30: M=0), then a truncated record (e.g. from
    an older, non-atomic writer)."""
    sweep = tmp_path / "sweep"
    make_sweep(command, sweep, "2,0.01,3")
    broken = next(p for p in find_records([sweep]) if read_record(p)["status"] == "ok")
    broken.write_text('{"status": "ok", "config": {')
    table, text = collect([sweep], tmp_path / "table.csv")
    assert len(table) == 3 and (table["status"] == "ok").sum() == 1
    assert "1 failed, 1 unreadable" in text and "0 missing" in text
    assert (tmp_path / "table.csv").exists()

    listed = command("bbp-collect", str(sweep), "--out", str(tmp_path / "t2.csv"))
    assert listed.code == 1  # some runs failed
    assert "3 records" in listed.out and "failed" in listed.out
    assert (tmp_path / "t2.csv").exists()


def test_missing_runs_and_refused_input(tmp_path, command):
    sweep = tmp_path / "sweep"
    make_sweep(command, sweep, "2,3")
    next(iter(find_records([sweep]))).unlink()  # a run lost (e.g. killed before its record)
    lost = command("bbp-collect", str(sweep))
    assert lost.code == 1 and "1 missing (of 2 expected)" in lost.out
    assert command("bbp-collect", str(tmp_path / "nothing-here")).code == 2
    bad_out = command("bbp-collect", str(sweep), "--out", str(tmp_path / "t.xlsx"))
    assert bad_out.code == 2 and ".csv or .parquet" in bad_out.err
    (tmp_path / "empty").mkdir()
    assert command("bbp-collect", str(tmp_path / "empty")).code == 1
