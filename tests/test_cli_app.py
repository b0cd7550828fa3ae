"""The Hydra plumbing of ``bbp`` and ``bbp-train`` (bbp_torch.cli.app): a command line returns
what it did (exit code, the run's outcome, the sweep's counts), leaves ``sys.argv`` and nothing
else behind, and a sweep's accounting names what it could not read."""

import sys

from helpers import SMALL_RUN, SMALL_SWEEP

from bbp_torch.cli.app import CommandOutcome, count_sweep
from bbp_torch.cli.bbp import APP
from bbp_torch.results import RECORD_NAME, find_records, read_record


def test_a_run_returns_its_outcome_and_leaves_sys_argv_alone(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = list(sys.argv)
    outcome = APP.run([*SMALL_RUN, "logging.tensorboard=false", f"hydra.run.dir={tmp_path}/r"])
    assert sys.argv == argv
    assert isinstance(outcome, CommandOutcome) and outcome.exit_code == 0
    assert outcome.sweep is None
    assert outcome.run.status == "ok"
    assert outcome.run.record == read_record(tmp_path / "r" / RECORD_NAME)


def test_a_sweep_returns_its_counts_and_the_next_command_starts_afresh(tmp_path, monkeypatch,
                                                                       capsys):
    monkeypatch.chdir(tmp_path)
    sweep = APP.run(list(SMALL_SWEEP))
    assert sweep.exit_code == 0 and sweep.run is None
    assert sweep.sweep.counts["ok"] == 3 and len(sweep.sweep.names) == 3
    assert sorted(p.parent.name for p in find_records([sweep.sweep.folder])) == sorted(
        sweep.sweep.names)
    refused = APP.run(["problem.alpha=-1"])  # nothing of the sweep carries over
    assert refused == CommandOutcome(2)
    assert APP.main(["--help"]) == 0


def test_the_accounting_of_a_sweep_names_an_unreadable_record(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    folder = APP.run(list(SMALL_SWEEP)).sweep.folder
    names = sorted(p.parent.name for p in find_records([folder]))
    (folder / names[0] / RECORD_NAME).write_text("[1, 2]")
    result, code = count_sweep(folder, names)
    assert code == 1
    assert (result.counts["ok"], result.counts["unreadable"]) == (2, 1)
    assert names[0] in result.counts["unreadable_why"][0]
    assert "unreadable:" in capsys.readouterr().out
