"""Bad inputs and faults as a new user meets them, one test per family (docs/reliability.md):
records that are not records, bbp-collect's counts and files, the file system, Ctrl-C on a
sweep, run identity, statuses, the Python face. The single command lines are rows of the table
in docs/reliability.md; these need files made by hand, a second process or a signal."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import SMALL_SWEEP

from bbp_torch.config import ConfigError, validate
from bbp_torch.jobs import job_kind, run_job
from bbp_torch.results import RECORD_NAME, RecordError, find_records, read_record
from bbp_torch.study import run_study

SWEEP = list(SMALL_SWEEP)
NOT_RECORDS = {"a list": "[1, 2]", "null": "null", "no status": '{"config": {}, "metrics": {}}',
               "metrics null": '{"status": "ok", "config": {}, "metrics": null}',
               "unknown status": '{"status": "done", "config": {}, "metrics": {}}'}


def make_read_only(folder: Path) -> str | None:
    """Make ``folder`` read-only for this user: ``chmod 555``, or for root (whom chmod does not
    stop) the immutable flag (``chattr +i``), which stops root too. Returns how (``chmod`` or
    ``chattr``), or None where neither stops this user's writes (the folder is left writable)."""
    folder.chmod(0o555)
    if not _writable(folder):
        return "chmod"
    folder.chmod(0o755)
    if shutil.which("chattr") and subprocess.run(["chattr", "+i", str(folder)],
                                                 capture_output=True).returncode == 0:
        if not _writable(folder):
            return "chattr"
        subprocess.run(["chattr", "-i", str(folder)], capture_output=True)
    return None


def make_writable(folder: Path, how: str | None) -> None:
    """Undo :func:`make_read_only`."""
    if how == "chattr":
        subprocess.run(["chattr", "-i", str(folder)], check=True, capture_output=True)
    folder.chmod(0o755)


def _writable(folder: Path) -> bool:
    try:
        (folder / ".probe").touch()
    except PermissionError:
        return False
    (folder / ".probe").unlink()
    return True


@pytest.mark.parametrize("text", NOT_RECORDS.values(), ids=NOT_RECORDS.keys())
def test_json_that_is_not_a_record_is_unreadable_to_every_reader(tmp_path, command, text):
    """Resume redoes it, the sweep's accounting counts it apart and names it, bbp-collect never
    counts it ok."""
    sweep = tmp_path / "outputs" / "multirun" / "default"
    assert command("bbp", *SWEEP).code == 0
    broken = sorted(find_records([sweep]))[1]
    broken.write_text(text)
    with pytest.raises(RecordError, match="not a record"):
        read_record(broken)

    collected = command("bbp-collect", str(sweep))
    assert collected.code == 1
    assert "2 ok, 0 unconverged, 0 failed, 1 unreadable" in collected.out
    assert "Traceback" not in collected.out + collected.err

    broken.write_text(text)
    rerun = command("bbp", *SWEEP)  # the resume redoes it, and only it
    assert rerun.code == 0, rerun.err
    assert "[sweep] 3 ok, 0 failed, 0 unconverged" in rerun.out
    assert rerun.err.count("already holds a finished record") == 2
    assert read_record(broken)["status"] == "ok"


def test_collect_decides_from_counts_and_writes_only_what_was_asked(tmp_path, command):
    sweep = tmp_path / "outputs" / "multirun" / "default"
    command("bbp", "-m", "problem.N=40", "seed=range(12)", "theory=false",
            "logging.tensorboard=false", "logging.progress=false", "hydra/launcher=basic")
    for path in sorted(find_records([sweep]))[:10]:  # "10 missing" is not "0 missing"
        path.unlink()
    out = tmp_path / "t.csv"
    result = command("bbp-collect", str(sweep), "--out", str(out))
    assert "10 missing (of 12 expected)" in result.out and result.code == 1
    assert "mean and std over 2 runs" in result.out
    assert out.exists() and not out.with_suffix(".parquet").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    none = command("bbp-collect", str(empty))
    assert none.code == 1 and not list(empty.iterdir())  # no table of nothing
    refused = command("bbp-collect", str(sweep), "--out", str(tmp_path / ("x" * 300 + ".csv")))
    assert refused.code == 2 and "255" in refused.err


def test_a_file_where_a_folder_should_be_and_an_unusable_lock(tmp_path, command):
    """Both stop root too (chmod does not): a file in the path of the run folder, and a folder
    where the lock file should be."""
    (tmp_path / "afile").write_text("")
    result = command("bbp", "problem.N=40", f"hydra.run.dir={tmp_path / 'afile' / 'run'}")
    assert result.code == 2 and "is a file where a folder should be" in result.err

    run_dir = tmp_path / "run"
    (run_dir / ".lock").mkdir(parents=True)
    outcome = run_job(job_kind("bbp"), {"problem": {"N": 40}, "theory": False,
                                        "logging": {"tensorboard": False, "progress": False}},
                      run_dir)
    assert outcome.exit_code == 2 and ".lock is a folder" in outcome.message
    assert not (run_dir / RECORD_NAME).exists()


def test_a_read_only_sweep_folder(tmp_path, command):
    """Refused when runs are left to do; just reported when every run has finished."""
    sweep = tmp_path / "outputs" / "multirun" / "default"
    assert command("bbp", *SWEEP).code == 0
    how = make_read_only(sweep)
    if how is None:
        pytest.skip("neither chmod nor chattr stops this user's writes here")
    try:
        done = command("bbp", *SWEEP)
        assert done.code == 0 and "[sweep] 3 ok" in done.out, done.err
        more = command("bbp", *SWEEP[:-5], "seed=0,1,2,3", *SWEEP[-4:])
        assert more.code == 2 and "not writable" in more.err
        assert "Traceback" not in more.out + more.err
    finally:
        make_writable(sweep, how)


def test_ctrl_c_on_a_sweep_ends_with_its_accounting(tmp_path, subprocess_env):
    proc = subprocess.Popen(
        [sys.executable, "-c", "import signal, sys; from bbp_torch.cli.bbp import main; "
         "signal.signal(signal.SIGINT, signal.default_int_handler); sys.exit(main())",
         "-m", "problem.N=300", "seed=range(200)", "theory=false", "logging.tensorboard=false",
         "hydra/launcher=basic"], cwd=tmp_path, env=subprocess_env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    sweep = tmp_path / "outputs" / "multirun" / "default"
    deadline = time.monotonic() + 120
    while not find_records([sweep]) and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert "[sweep] " in out and " ok, 0 failed" in out
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert all(read_record(p)["status"] == "ok" for p in find_records([sweep]))


def test_a_rerun_with_other_logging_skips_the_finished_runs(tmp_path, command):
    sweep = tmp_path / "outputs" / "multirun" / "default"
    command("bbp", *SWEEP)
    rerun = command("bbp", *SWEEP[:-3], "logging.tensorboard=true", "logging.histogram_bins=10",
                    "threads=1", *SWEEP[-2:])
    assert rerun.code == 0 and rerun.err.count("already holds a finished record") == 3
    assert len(find_records([sweep])) == 3
    assert not list(sweep.rglob("events.out.tfevents.*"))


def test_a_diverged_descent_is_not_ok(tmp_path):
    cfg = {"problem": {"N": 20}, "train": {"method": "gd", "lr": 10.0, "steps": 20,
                                           "track_every": 10, "n_test": 200},
           "logging": {"tensorboard": False, "progress": False}}
    outcome = run_job(job_kind("bbp-train"), cfg, tmp_path)
    assert outcome.status == "error" and outcome.kind == "numerical" and outcome.exit_code == 1
    record = read_record(tmp_path)
    assert record["metrics"]["stop_reason"] == "diverged"
    assert record["error_kind"] == "numerical"


def test_the_subspace_overlap_is_not_computed_from_fewer_vectors():
    cfg = {"problem": {"N": 30, "p": 2, "p_star": 2}, "solver": {"k": 3}, "theory": False,
           "logging": {"progress": False}}
    metrics = run_study(cfg).record["metrics"]
    assert metrics["overlap_subspace"] is None and "solver.k >= 4" in \
        metrics["overlap_subspace_note"]
    cfg["solver"]["k"] = 4
    assert 0 <= run_study(cfg).record["metrics"]["overlap_subspace"] <= 1


@pytest.mark.parametrize("make", [np.float64, np.float32, torch.tensor, np.array],
                         ids=["np.float64", "np.float32", "torch", "0-d array"])
def test_numpy_and_torch_scalars_go_wherever_a_number_goes(tmp_path, make):
    cfg = {"problem": {"N": np.int64(30), "alpha": make(2.0), "a": make(0.7)},
           "seed": np.int32(1), "theory": False, "logging": {"progress": False,
                                                             "tensorboard": False}}
    assert validate(cfg).config.problem.alpha == 2.0
    assert validate(cfg).config.problem.a == 0.7  # a float32 0.7 is 0.7, not 0.69999999
    assert run_study(cfg).record["status"] == "ok"
    assert run_job(job_kind("bbp"), cfg, tmp_path).status == "ok"


@pytest.mark.parametrize("bad, field", [({"problem": {"alpha": [1.0]}}, "problem.alpha"),
                                        ({"problem": {"N": object()}}, "problem.N"),
                                        ({"problem": 3}, "problem"),
                                        ({"seed": np.zeros(2)}, "seed")])
def test_anything_else_is_a_config_error_naming_the_field_and_run_job_never_raises(
        tmp_path, bad, field):
    from bbp_torch.study import run_training

    for run in (run_study, run_training):
        with pytest.raises(ConfigError, match=f"Invalid {field}"):
            run(bad)
    outcome = run_job(job_kind("bbp"), bad, tmp_path)
    assert outcome.exit_code == 2 and f"Invalid {field}" in outcome.message
    assert run_job(job_kind("bbp"), "not a config", tmp_path).exit_code == 2
    assert run_job(job_kind("bbp"), {}, 12345).status == "error"  # not a folder: no raise
    assert not os.listdir(tmp_path)
