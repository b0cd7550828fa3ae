"""The job runner: validate once, lock, skip, run, log, record; every failure accounted for."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from bbp_torch.config import ConfigError
from bbp_torch.errors import NumericalError
from bbp_torch.jobs import LOCK_NAME, job_kind, run_job, run_lock
from bbp_torch.results import read_record

SMALL = {"problem": {"N": 40, "alpha": 2.0}, "logging": {"figures": False, "progress": False},
         "threads": 1, "theory": False}


def small(**changes) -> dict:
    cfg = json.loads(json.dumps(SMALL))
    for dotted, value in changes.items():
        *parents, leaf = dotted.split("__")
        node = cfg
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return cfg


def events(run_dir):
    return sorted(run_dir.glob("events.out.tfevents.*"))


def failing_kind(exc: Exception):
    def run(resolved):
        raise exc

    return replace(job_kind("bbp"), run=run)


def test_a_run_writes_its_record_and_one_event_file(tmp_path):
    out = run_job(job_kind("bbp"), small(), tmp_path / "run", quiet=True)
    assert out.status == "ok" and out.exit_code == 0
    record = read_record(tmp_path / "run")
    assert record["status"] == "ok" and record["metrics"]["converged"] is True
    assert max(record["metrics"]["relative_residuals"]) <= record["metrics"]["tol"]
    assert record["config"]["threads"] == 1 and record["config"]["solver"]["k"] == 8
    assert len(events(tmp_path / "run")) == 1


def test_configuration_error_leaves_no_record_alone_and_an_error_record_in_a_sweep(tmp_path):
    bad = small(problem__a=float("inf"))
    out = run_job(job_kind("bbp"), bad, tmp_path / "alone", quiet=True)
    assert (out.status, out.kind, out.exit_code) == ("error", "config", 2)
    assert "problem.a" in out.message
    assert not (tmp_path / "alone" / "record.json").exists()
    out = run_job(job_kind("bbp"), bad, tmp_path / "swept", in_sweep=True, quiet=True)
    record = read_record(tmp_path / "swept")
    assert record["status"] == "error" and record["error_kind"] == "config"
    assert "problem.a" in record["error"] and record["config"]["problem"]["N"] == 40


@pytest.mark.parametrize("exc, kind", [(NumericalError("nan in H"), "numerical"),
                                       (FloatingPointError("overflow"), "numerical"),
                                       (RuntimeError("boom"), "exception"),
                                       (ConfigError("late config error"), "config")])
def test_a_failure_inside_the_run_becomes_an_error_record_of_its_kind(tmp_path, exc, kind):
    out = run_job(failing_kind(exc), small(), tmp_path / "run", in_sweep=True, quiet=True)
    assert out.status == "error" and out.kind == kind
    record = read_record(tmp_path / "run")
    assert record["error_kind"] == kind and str(exc) in record["error"]
    assert type(exc).__name__ in record["traceback"]
    assert record["config"]["solver"]["k"] == 8  # the resolved config of the failed run
    assert not events(tmp_path / "run")


def test_an_interrupt_is_not_swallowed_and_releases_the_lock(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        run_job(failing_kind(KeyboardInterrupt()), small(), tmp_path / "run", quiet=True)
    assert not (tmp_path / "run" / "record.json").exists()
    with run_lock(tmp_path / "run") as acquired:
        assert acquired


def test_finished_runs_are_skipped_unless_forced_or_changed(tmp_path):
    kind, run_dir = job_kind("bbp"), tmp_path / "run"
    first = run_job(kind, small(), run_dir, quiet=True)
    stamp = (run_dir / "record.json").stat().st_mtime_ns
    again = run_job(kind, small(threads=2, logging__histogram_bins=10), run_dir, quiet=True)
    assert again.status == "skipped"  # threads and logging do not change the numbers
    assert (run_dir / "record.json").stat().st_mtime_ns == stamp
    assert again.record["metrics"]["bottom_eigenvalues"] == \
        first.record["metrics"]["bottom_eigenvalues"]
    assert run_job(kind, small(seed=1), run_dir, quiet=True).status == "ok"  # another run
    assert run_job(kind, small(seed=1, force=True), run_dir, quiet=True).status == "ok"
    (run_dir / "record.json").write_text('{"status": "ok", "config": {')  # truncated
    assert run_job(kind, small(seed=1), run_dir, quiet=True).status == "ok"


def test_a_redo_replaces_the_event_file(tmp_path):
    kind, run_dir = job_kind("bbp"), tmp_path / "run"
    run_job(kind, small(), run_dir, quiet=True)
    first = events(run_dir)
    time.sleep(1.1)  # event file names carry the second they were opened
    run_job(kind, small(force=True), run_dir, quiet=True)
    second = events(run_dir)
    assert len(second) == 1 and second != first


def test_an_unconverged_solve_is_recorded_as_unconverged(tmp_path):
    cfg = small(problem__N=100, solver__name="iterative", solver__max_iter=1,
                solver__slq_probes=0)
    out = run_job(job_kind("bbp"), cfg, tmp_path / "run", quiet=True)
    assert out.status == "unconverged" and out.exit_code == 1
    record = read_record(tmp_path / "run")
    assert record["status"] == "unconverged" and "solver.tol" in record["warning"]
    assert record["metrics"]["converged"] is False
    assert max(record["metrics"]["relative_residuals"]) > record["metrics"]["tol"]
    # the same config again is a finished (deterministic) outcome: skipped, still unconverged
    assert run_job(job_kind("bbp"), cfg, tmp_path / "run", quiet=True).status == "skipped"


HOLDER = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
os.write(fd, b"otherhost 12345")
print("locked", flush=True)
time.sleep(120)
"""


def test_a_locked_run_is_left_to_its_holder_and_a_dead_holders_lock_is_reclaimed(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(run_dir / LOCK_NAME)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        out = run_job(job_kind("bbp"), small(), run_dir, quiet=True)
        assert out.status == "busy" and out.exit_code == 0
        assert "otherhost 12345" in out.message
        assert not (run_dir / "record.json").exists()
    finally:
        os.kill(holder.pid, signal.SIGKILL)  # a crash: the kernel drops its lock
        holder.wait()
    assert run_job(job_kind("bbp"), small(), run_dir, quiet=True).status == "ok"
    assert read_record(run_dir)["status"] == "ok"


def test_training_jobs_run_through_the_same_runner(tmp_path):
    cfg = small(problem__N=20, train__steps=20, train__track_every=10, train__n_test=200)
    out = run_job(job_kind("bbp-train"), cfg, tmp_path / "run", quiet=True)
    assert out.status == "ok"
    record = read_record(tmp_path / "run")
    assert record["config"]["train"]["steps"] == 20 and record["config"]["name"] == "train"
    assert record["metrics"]["steps"] <= 20 and len(events(tmp_path / "run")) == 1
    bad = run_job(job_kind("bbp-train"), small(train__lr=float("nan")), tmp_path / "bad",
                  quiet=True)
    assert bad.kind == "config" and "train.lr" in bad.message


def test_a_job_of_several_seeds_writes_the_folders_of_a_sweep_over_seed(tmp_path, command):
    """``seed=3 seeds=3`` in a sweep writes the folders, records and sweep accounting of the
    sweep ``seed=3,4,5``; outside a sweep each seed gets the subfolder ``seed=s``."""
    from bbp_torch.results import find_records, load_table

    common = ("problem.N=30", "problem.alpha=1,2", "theory=false", "logging.figures=false",
              "hydra/launcher=basic")
    together = command("bbp", "-m", *common, "seed=3", "seeds=3",
                       f"hydra.sweep.dir={tmp_path / 'together'}")
    assert together.code == 0, together.err
    assert "[sweep] 6 ok, 0 failed, 0 unconverged" in together.out
    apart = command("bbp", "-m", *common, "seed=3,4,5", f"hydra.sweep.dir={tmp_path / 'apart'}")
    assert apart.code == 0, apart.err

    def records(name):
        return {p.parent.name: read_record(p.parent) for p in find_records([tmp_path / name])}

    mine, theirs = records("together"), records("apart")
    assert sorted(mine) == sorted(theirs) and len(mine) == 6
    for name, record in mine.items():
        assert record["config"] == theirs[name]["config"]
        assert record["metrics"]["lambda_min"] == pytest.approx(
            theirs[name]["metrics"]["lambda_min"], abs=1e-8)
    line = json.loads((tmp_path / "together" / "sweeps.jsonl").read_text().splitlines()[0])
    assert sorted(line["runs"]) == sorted(mine)
    # bbp-collect reads them as the runs of a sweep over seed
    table = load_table([tmp_path / "together"])
    assert sorted(table["config.seed"]) == [3, 3, 4, 4, 5, 5]
    assert set(table["config.seeds"]) == {1} and set(table["status"]) == {"ok"}
    # resumed: every seed finished, nothing recomputed
    again = command("bbp", "-m", *common, "seed=3", "seeds=3",
                    f"hydra.sweep.dir={tmp_path / 'together'}")
    assert again.code == 0 and "[sweep] 6 ok" in again.out
    single = command("bbp", "problem.N=30", "seeds=2", "theory=false", "logging.figures=false",
                     f"hydra.run.dir={tmp_path / 'single'}")
    assert single.code == 0, single.err
    assert sorted(p.parent.name for p in find_records([tmp_path / "single"])) == [
        "seed=0", "seed=1"]


def test_a_refused_config_of_several_seeds_leaves_an_error_record_per_seed(tmp_path):
    bad = small(problem__alpha=0.01, seeds=2)  # M = 0 samples: refused by validate
    out = run_job(job_kind("bbp"), bad, tmp_path / "job", in_sweep=True, quiet=True)
    assert (out.status, out.kind, out.exit_code) == ("error", "config", 2)
    for s in (0, 1):
        record = read_record(tmp_path / "job" / f"seed={s}")
        assert record["status"] == "error" and record["error_kind"] == "config"


def test_seeds_is_documented_and_checked(command):
    from bbp_torch.config import MAX_SEED, validate

    assert "seeds=1" in command("bbp", "--help").out
    refused = command("bbp", "seeds=0", "problem.N=20")
    assert refused.code == 2 and "Invalid seeds=0" in refused.err and "Set seeds=1" in refused.err
    with pytest.raises(ConfigError, match="Lower seed or seeds"):
        validate(small(seed=MAX_SEED, seeds=2))


def test_a_training_job_of_several_seeds_runs_them_one_by_one(tmp_path):
    cfg = small(seeds=2, train__steps=4, train__track_every=2, train__n_test=50,
                logging__tensorboard=False)
    out = run_job(job_kind("bbp-train"), cfg, tmp_path / "job", quiet=True)
    assert out.status in ("ok", "unconverged"), out.message
    for s in (0, 1):
        record = read_record(tmp_path / "job" / f"seed={s}")
        assert record["config"]["seed"] == s and record["metrics"]["steps"] == 4
