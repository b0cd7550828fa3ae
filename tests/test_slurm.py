"""Sweeps on SLURM (``hydra/launcher=slurm``).

The request check against ``sinfo`` is tested everywhere on sinfo lines written here. The tests
marked ``slurm`` run sweeps against real SLURM daemons (``scripts/local_slurm.sh start``; CI
starts them): outside CI they skip without SLURM, in CI (``CI=true``) a missing SLURM fails them.
Each sweep is two runs of N=30 with one CPU and 1 GB a job.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bbp_torch.config import ConfigError
from bbp_torch.results import find_records, read_record
from bbp_torch.slurm import SINFO_COMMAND, check_request, gpu_count, minutes, parse_sinfo

# ----------------------------------------------------------------------------- the check

SINFO = "\n".join([
    "a01|cpu*|32|128000|(null)|1-00:00:00",
    "a02|cpu*|32|128000|(null)|1-00:00:00",
    "g01|gpu|16|256000|gpu:a100:4(S:0-1)|2:00:00",
])


def launcher(**fields) -> dict:
    """A launcher request as the composed ``hydra.launcher`` holds it (the defaults of
    conf/hydra/launcher/slurm.yaml), with ``fields`` changed."""
    request = {"partition": None, "cpus_per_task": 1, "tasks_per_node": 1, "mem_gb": 2,
               "gpus_per_node": None, "timeout_min": 60, "nodes": 1}
    return {**request, **fields}


def test_sinfo_lines_are_read():
    a01, _, g01 = parse_sinfo(SINFO + "\n")
    assert (a01.partition, a01.default, a01.cpus, a01.memory_mb, a01.gpus) == \
        ("cpu", True, 32, 128000, 0)
    assert (g01.partition, g01.default, g01.gpus, g01.time_limit_min) == ("gpu", False, 4, 120)
    assert gpu_count("gpu:a100:2(S:0),gpu:v100:2,shard:8") == 4
    assert [minutes(t) for t in ("30:00", "2:00:00", "1-12:00:00", "45")] == [30, 120, 2160, 45]
    assert math.isinf(minutes("infinite")) and math.isinf(minutes("UNLIMITED"))


@pytest.mark.parametrize("fields", [{}, {"partition": "gpu", "gpus_per_node": 4,
                                         "cpus_per_task": 4, "tasks_per_node": 4},
                                    {"partition": "cpu,gpu", "nodes": 3, "mem_gb": 100}])
def test_request_that_fits_is_accepted(fields):
    check_request(launcher(**fields), SINFO)


@pytest.mark.parametrize("fields, largest", [
    ({"cpus_per_task": 64}, "hydra.launcher.cpus_per_task=32"),
    ({"cpus_per_task": 16, "tasks_per_node": 4}, "hydra.launcher.cpus_per_task=8"),
    ({"mem_gb": 500}, "hydra.launcher.mem_gb=125"),
    ({"gpus_per_node": 1}, "hydra.launcher.gpus_per_node=0"),
    ({"partition": "gpu", "gpus_per_node": 8}, "hydra.launcher.gpus_per_node=4"),
    ({"partition": "gpu", "timeout_min": 600}, "hydra.launcher.timeout_min=120"),
    ({"partition": "cpu", "nodes": 3}, "hydra.launcher.nodes=2"),
    # Only the GPU node has GPUs: the CPUs that fit are that node's.
    ({"partition": "cpu,gpu", "gpus_per_node": 1, "cpus_per_task": 20},
     "hydra.launcher.cpus_per_task=16"),
])
def test_request_no_node_can_hold_names_the_field_and_the_largest_value(fields, largest):
    with pytest.raises(ConfigError) as err:
        check_request(launcher(**fields), SINFO)
    field = largest.split("=")[0]
    assert f"{field}={fields[field.split('.')[-1]]} " in str(err.value)
    assert f"the largest value that fits is {largest}." in str(err.value)


def test_unknown_partition_and_no_default_partition_are_refused():
    with pytest.raises(ConfigError, match=r"hydra.launcher.partition=tpu: .* it has cpu, gpu"):
        check_request(launcher(partition="tpu"), SINFO)
    with pytest.raises(ConfigError, match="no default partition"):
        check_request(launcher(), SINFO.replace("*", ""))


def test_squeue_watcher_tells_queued_jobs_from_ended_ones():
    pytest.importorskip("submitit")
    from bbp_torch.slurm import squeue_watcher

    watcher = squeue_watcher()
    for job in ("5_0", "5_1", "5_2"):
        watcher.register_job(job)
    states = watcher.read_info("5_0|RUNNING\n5_1|PENDING\n6|COMPLETING\n")
    assert {job: info["State"] for job, info in states.items()} == \
        {"5_0": "RUNNING", "5_1": "PENDING", "5_2": "ENDED"}
    watcher._info_dict.update(states)
    assert [watcher.is_done(job, mode="cache") for job in ("5_0", "5_1", "5_2")] == \
        [False, False, True]


def test_slurm_sweep_without_slurm_commands_is_refused(command, monkeypatch):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    monkeypatch.setattr("bbp_torch.slurm.shutil.which", lambda name: None)
    result = command("bbp", "-m", "seed=0,1", "hydra/launcher=slurm")
    assert result.code == 2
    assert "not on PATH" in result.err and "scripts/local_slurm.sh start" in result.err
    assert not Path("outputs").exists()


# ----------------------------------------------------------------------------- real SLURM

SWEEP = ["problem.N=30", "seed=0,1", "theory=false", "logging.tensorboard=false",
         "hydra/launcher=slurm", "hydra.launcher.cpus_per_task=1", "hydra.launcher.mem_gb=1",
         "hydra.launcher.timeout_min=5"]
# Test hooks for the jobs, on their PYTHONPATH through the sweep's setup line: the run of seed
# S waits while the file hold-S is in this folder (and says so with running-S), and raises while
# crash-S is.
HOOKS = '''\
import pathlib
import time

import bbp_torch.study

FOLDER = pathlib.Path(__file__).parent
_run_study = bbp_torch.study.run_study


def run_study(resolved):
    seed = resolved.config.seed
    if (FOLDER / f"hold-{seed}").exists():
        (FOLDER / f"running-{seed}").touch()
    while (FOLDER / f"hold-{seed}").exists():
        time.sleep(0.2)
    if (FOLDER / f"crash-{seed}").exists():
        raise RuntimeError("crash injected by the test")
    return _run_study(resolved)


bbp_torch.study.run_study = run_study
'''


@pytest.fixture(scope="module")
def cluster():
    """The nodes of the running SLURM (skips outside CI when there is none, fails in CI)."""
    reason = None
    try:
        import hydra_plugins.hydra_submitit_launcher  # noqa: F401
    except ImportError:
        reason = "hydra-submitit-launcher is not installed (pip install -e '.[slurm]')"
    if reason is None and shutil.which("sbatch") is None:
        reason = "no sbatch on PATH (scripts/local_slurm.sh start)"
    if reason is None:
        proc = subprocess.run(SINFO_COMMAND, capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            reason = f"sinfo failed: {proc.stderr.strip()} (scripts/local_slurm.sh start)"
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI runs the SLURM tests, but {reason}")
        pytest.skip(reason)
    return parse_sinfo(proc.stdout)


@pytest.fixture
def hooks(tmp_path) -> Path:
    folder = tmp_path / "hooks"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(HOOKS)
    return folder


def sweep_command(tmp_path: Path, *extra: str) -> list[str]:
    """``bbp -m`` of the two-run sweep into ``tmp_path/sweep``; the jobs are named after the
    test's folder (for squeue and scancel)."""
    return [sys.executable, "-m", "bbp_torch", "-m", *SWEEP, f"hydra.launcher.name={tmp_path.name}",
            f"hydra.sweep.dir={tmp_path / 'sweep'}", *extra]


def with_hooks(hooks: Path) -> str:
    return f"hydra.launcher.setup=['export PYTHONPATH={hooks}']"


def run(args: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def record_of(tmp_path: Path, seed: int) -> Path:
    (path,) = (tmp_path / "sweep").glob(f"*seed={seed},*/record.json")
    return path


def run_dir_of(tmp_path: Path, seed: int) -> Path:
    (path,) = (tmp_path / "sweep").glob(f"*seed={seed},*")
    return path


@pytest.mark.slurm
def test_sweep_through_slurm_leaves_one_record_per_run_and_collect_reads_them(
        cluster, tmp_path, capsys):
    from bbp_torch.cli.collect import main as collect_main

    proc = run(sweep_command(tmp_path), tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "[sweep] 2 ok, 0 failed, 0 unconverged" in proc.stdout
    assert "Bypassing sacct" not in proc.stdout + proc.stderr
    assert proc.stderr.count("[slurm]") <= 1  # no accounting: said once
    records = [read_record(p) for p in find_records([tmp_path / "sweep"])]
    assert sorted(r["config"]["seed"] for r in records) == [0, 1]
    assert all(r["status"] == "ok" for r in records)
    # The thread rule: threads=null is the CPUs SLURM gave the job (cpus_per_task=1), not the
    # node's cores.
    assert [r["config"]["threads"] for r in records] == [1, 1]

    assert collect_main([str(tmp_path / "sweep")]) == 0
    assert "2 records: 2 ok, 0 unconverged, 0 failed" in capsys.readouterr().out


@pytest.mark.slurm
def test_cancelled_job_is_redone_and_only_it_when_the_command_is_submitted_again(
        cluster, tmp_path, hooks):
    (hooks / "hold-1").touch()
    args = sweep_command(tmp_path, with_hooks(hooks))
    first = subprocess.Popen(args, cwd=tmp_path, env=dict(os.environ, PYTHONUNBUFFERED="1"),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # The run of seed=1 (the second job of the array) is running, held: cancel its job
        # as a preemption would.
        deadline = time.monotonic() + 90
        while not (hooks / "running-1").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        listed = subprocess.run(["squeue", "--noheader", "--array", f"--name={tmp_path.name}",
                                 "--format=%i|%T"], capture_output=True, text=True).stdout
        job = next((line.split("|")[0] for line in listed.split()
                    if line.endswith("_1|RUNNING")), None)
        assert job is not None, f"the run of seed=1 did not start: {listed!r}"
        subprocess.run(["scancel", job], check=True)
        out, err = first.communicate(timeout=120)  # it notices; it does not wait forever
    finally:
        first.kill()
        first.wait()
    assert first.returncode == 1, out
    assert "CANCELLED" in err
    assert "[sweep] 1 ok, 0 failed, 0 unconverged, 1 without a record" in out  # what finished
    assert not (run_dir_of(tmp_path, 1) / "record.json").exists()  # the folder, no record
    done = record_of(tmp_path, 0)
    assert read_record(done)["status"] == "ok"
    mtime = done.stat().st_mtime_ns

    (hooks / "hold-1").unlink()
    again = run(args, tmp_path)
    assert again.returncode == 0, again.stderr
    assert "[sweep] 2 ok, 0 failed, 0 unconverged" in again.stdout
    assert done.stat().st_mtime_ns == mtime  # seed=0 was not recomputed
    assert read_record(record_of(tmp_path, 1))["status"] == "ok"


@pytest.mark.slurm
def test_job_that_crashes_leaves_an_error_record_and_the_sweep_reports_it(
        cluster, tmp_path, hooks):
    (hooks / "crash-1").touch()
    proc = run(sweep_command(tmp_path, with_hooks(hooks)), tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "[sweep] 1 ok, 1 failed, 0 unconverged" in proc.stdout
    crashed = read_record(record_of(tmp_path, 1))
    assert crashed["status"] == "error" and crashed["error_kind"] == "exception"
    assert "crash injected by the test" in crashed["error"]
    assert read_record(record_of(tmp_path, 0))["status"] == "ok"


@pytest.mark.slurm
@pytest.mark.parametrize("field", ["cpus_per_task", "mem_gb"])
def test_request_no_node_can_meet_is_refused_before_submitting(cluster, command, field):
    default = [n for n in cluster if n.default]
    largest = {"cpus_per_task": max(n.cpus for n in default),
               "mem_gb": max(n.memory_mb for n in default) // 1024}[field]
    result = command("bbp", "-m", "seed=0,1", "hydra/launcher=slurm",
                     f"hydra.launcher.{field}={64 * largest}", "hydra.sweep.dir=sweep")
    assert result.code == 2
    assert f"hydra.launcher.{field}={64 * largest} " in result.err
    assert f"the largest value that fits is hydra.launcher.{field}={largest}." in result.err
    assert not Path("sweep").exists()  # nothing was submitted


SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "reproduce_figures.py"


@pytest.mark.slurm
def test_figure_script_full_mode_hands_its_sweeps_to_slurm(cluster, tmp_path):
    """The full mode's sweeps through the SLURM launcher on a tiny grid (fig1: two runs, one
    per a), the figure drawn from the records the jobs left."""
    tiny = ["problem.N=30", "problem.alpha=2.0", "seed=0", "hydra.launcher.cpus_per_task=1",
            "hydra.launcher.mem_gb=1", "hydra.launcher.timeout_min=5",
            f"hydra.launcher.name={tmp_path.name}"]
    args = [sys.executable, str(SCRIPT), "--only", "fig1", "--launcher", "slurm",
            "--out", str(tmp_path / "figures"), "--runs", str(tmp_path / "runs")]
    for override in tiny:
        args += ["--launcher-override", override]
    proc = run(args, tmp_path, timeout=240)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "hydra/launcher=slurm" in proc.stdout
    records = [read_record(p) for p in find_records([tmp_path / "runs"])]
    assert sorted(r["config"]["problem"]["a"] for r in records) == [0.7, 1.5]  # the preset's
    assert all(r["status"] == "ok" and r["config"]["problem"]["N"] == 30 for r in records)
    assert (tmp_path / "figures" / "fig1_overlap.png").stat().st_size > 0
