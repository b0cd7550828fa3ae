"""The ``bbp`` command end to end: one run, its refusals, sweeps (their folders, failures and a
resume after SIGKILL), in-process through the ``command`` fixture; the killed sweep is the one
test that needs a real process (group) to kill."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from helpers import SMALL_RUN

from bbp_torch.results import find_records, load_table, read_record
from bbp_torch.sweeps import expected_runs

SMALL = list(SMALL_RUN)


def test_app_end_to_end_writes_record_and_events(tmp_path, command):
    out = tmp_path / "run"
    result = command("bbp", *SMALL, f"hydra.run.dir={out}", "logging.figures=true")
    assert result.code == 0, result.err
    assert "overlap m (teacher)" in result.out and "bottom eigenvalues" in result.out
    record = read_record(out)
    assert record["status"] == "ok"
    for key in ("lambda_min", "lambda_edge", "gap", "overlap", "overlap_subspace",
                "overlap_student", "bottom_eigenvalues"):
        assert key in record["metrics"]
    assert record["config"]["problem"]["N"] == 60
    assert {"timings", "versions", "device"} <= set(record)
    events = list(Path(out).glob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 0
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(out))
    acc.Reload()
    tags = acc.Tags()
    assert "metrics/overlap" in tags["scalars"] and "spectrum/eigenvalues" in tags["histograms"]
    assert "spectrum/figure" in tags["images"]
    assert "_hparams_/session_start_info" in acc.PluginTagToContent("hparams")
    # Running again into the same folder skips the finished run (the message goes to stderr).
    again = command("bbp", *SMALL, f"hydra.run.dir={out}", "logging.figures=true")
    assert again.code == 0 and "skipped" in again.err
    assert read_record(out)["timings"] == record["timings"]  # not recomputed


def test_app_user_error_exits_nonzero_without_record(tmp_path, command):
    out = tmp_path / "bad"
    result = command("bbp", *SMALL, f"hydra.run.dir={out}", "problem.a=-1")
    assert result.code == 2
    assert "problem.a" in result.err and "Traceback" not in result.err
    assert not (out / "record.json").exists()


def test_a_rule_between_fields_refused_by_the_job_leaves_nothing(tmp_path, command):
    """alpha=0.01 at N=30 is valid field by field (the command line passes) but gives M=0
    samples: validate refuses it in the job, and a single run leaves no folder behind."""
    out = tmp_path / "bad"
    result = command("bbp", "problem.N=30", "problem.alpha=0.01", f"hydra.run.dir={out}")
    assert result.code == 2
    assert "problem.alpha" in result.err and "Traceback" not in result.err
    assert not out.exists()


def test_fields_of_the_other_app_and_unknown_presets_are_refused(command):
    train_field = command("bbp", "train.steps=3")
    assert train_field.code == 2 and "it is a field of bbp-train" in train_field.err
    preset = command("bbp", "+experiment=train_success")
    assert preset.code == 2 and "Unknown option experiment=train_success" in preset.err
    assert not Path("outputs").exists()


def test_help_lists_the_groups_presets_and_fields(command):
    result = command("bbp", "--help")
    assert result.code == 0
    assert "solver=dense|iterative|auto" in result.out and "fig1_overlap" in result.out
    assert "train_success" not in result.out and "problem.alpha=3.0" in result.out
    assert "Exit codes" in result.out


def test_multirun_sweep_and_table(tmp_path, command):
    sweep = tmp_path / "sweep"
    result = command("bbp", "-m", "problem.N=40", "problem.p=1,2", "problem.alpha=1,3",
                     "logging.figures=false", "theory=false", f"hydra.sweep.dir={sweep}",
                     "hydra/launcher=basic")
    assert result.code == 0, result.err
    table = load_table([sweep])
    assert len(table) == 4 and set(table["status"]) == {"ok"}
    assert sorted(table["config.problem.p"].unique()) == [1, 2]
    assert table["metrics.overlap"].between(0, 1).all()
    # the folders Hydra made are the runs the sweep registered (override_dirname's rule)
    (line,) = [json.loads(x) for x in (sweep / "sweeps.jsonl").read_text().splitlines()]
    made = sorted(p.parent.name for p in find_records([sweep]))
    assert made == line["runs"]
    # logging fields do not change the numbers, so they name no folder (run identity)
    assert "problem.N=40,problem.alpha=1,problem.p=2,theory=False" in made
    assert "[sweep] 4 ok, 0 failed, 0 unconverged" in result.out


def test_failed_run_leaves_error_record_and_sweep_goes_on(tmp_path, command):
    """A run whose configuration fails validation (alpha=0.01 at N=30 gives M=0 samples: every
    field is valid alone, so the command line passes) leaves an error record of kind config;
    the others run, and the sweep exits 2 (a refused configuration)."""
    sweep = tmp_path / "sweep"
    result = command("bbp", "-m", "problem.N=30", "problem.alpha=2,0.01,3", "theory=false",
                     "logging.tensorboard=false", "hydra/launcher=basic",
                     f"hydra.sweep.dir={sweep}")
    assert result.code == 2, result.err
    assert "problem.alpha" in result.err
    records = [read_record(p) for p in find_records([sweep])]
    assert sorted(r["status"] for r in records) == ["error", "ok", "ok"]
    assert [r["error_kind"] for r in records if r["status"] == "error"] == ["config"]
    assert expected_runs(sweep) == 3
    assert "[sweep] 2 ok, 1 failed, 0 unconverged" in result.out


def test_a_launcher_that_stops_the_sweep_still_gets_its_accounting(tmp_path, command,
                                                                    monkeypatch):
    """A launcher that raises after the first run (as submitit does for a lost SLURM job):
    Hydra reports the error, the records still give the [sweep] line, the exit is 1, and the
    same command redoes only the run that has no record."""
    from hydra.core.plugins import Plugins
    from hydra.plugins.launcher import Launcher

    # the class Hydra instantiates (its plugin scan loads the module afresh)
    (BasicLauncher,) = [c for c in Plugins.instance().discover(Launcher)
                        if c.__name__ == "BasicLauncher"]
    launch = BasicLauncher.launch

    def loses_the_rest(self, job_overrides, initial_job_idx):
        launch(self, job_overrides[:1], initial_job_idx)
        raise RuntimeError("job 2 of the array was lost")

    monkeypatch.setattr(BasicLauncher, "launch", loses_the_rest)
    sweep = tmp_path / "sweep"
    args = ("bbp", "-m", "problem.N=30", "problem.alpha=2,3", "theory=false",
            "logging.tensorboard=false", "hydra/launcher=basic", f"hydra.sweep.dir={sweep}")
    result = command(*args)
    assert result.code == 1, result.err
    assert "job 2 of the array was lost" in result.err
    assert "the sweep stopped before its end" in result.err
    assert "[sweep] 1 ok, 0 failed, 0 unconverged, 1 without a record" in result.out
    (first,) = find_records([sweep])
    mtime = first.stat().st_mtime_ns
    monkeypatch.setattr(BasicLauncher, "launch", launch)
    again = command(*args)
    assert again.code == 0, again.err
    assert "[sweep] 2 ok, 0 failed, 0 unconverged" in again.out
    assert first.stat().st_mtime_ns == mtime  # the finished run was skipped, not redone


def test_a_refused_sweep_value_stops_the_sweep_before_any_run(tmp_path, command):
    """Every value of a sweep is checked on the command line: problem.a=-1 refuses the whole
    sweep (exit 2) and nothing is written."""
    sweep = tmp_path / "sweep"
    result = command("bbp", "-m", "problem.N=30", "problem.a=0.7,-1,1.5",
                     "hydra/launcher=basic", f"hydra.sweep.dir={sweep}")
    assert result.code == 2 and "problem.a" in result.err
    assert not sweep.exists()


def test_killed_sweep_resumes_without_redoing_finished_runs(tmp_path, subprocess_env):
    sweep = tmp_path / "sweep"
    args = [sys.executable, "-m", "bbp_torch", "-m", "problem.N=150", "problem.p=2",
            "seed=0,1,2,3,4,5", "hydra/launcher=basic", f"hydra.sweep.dir={sweep}"]

    def start(**kw):
        return subprocess.Popen(args, cwd=tmp_path, env=subprocess_env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, **kw)

    proc = start(start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and not find_records([sweep]):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    first = {p: p.stat().st_mtime_ns for p in find_records([sweep])}
    assert 1 <= len(first) < 6, "the sweep should have been killed part-way"
    for path in first:  # every record that exists is complete
        assert read_record(path)["status"] == "ok"

    again = start()
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert err.count("skipped") == len(first)  # one message (on stderr) per finished run
    records = find_records([sweep])
    assert len(records) == 6
    for path, mtime in first.items():
        assert path.stat().st_mtime_ns == mtime  # not recomputed
    assert "[sweep] 6/6 runs finished" in out
