"""Sweeps: resuming a killed sweep, error records, bbp-collect, presets that compose."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bbp_torch.config import CONFIG_DIR, Config, TrainRunConfig, validate
from bbp_torch.results import find_records, read_record
from bbp_torch.sweeps import collect, expected_runs


def bbp(args, cwd, env, **kw):
    return subprocess.Popen([sys.executable, "-m", "bbp_torch", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def test_killed_sweep_resumes_without_redoing_finished_runs(tmp_path, subprocess_env):
    sweep = tmp_path / "sweep"
    args = ["-m", "problem.N=150", "problem.p=2", "seed=0,1,2,3,4,5", "hydra/launcher=basic",
            f"hydra.sweep.dir={sweep}"]
    proc = bbp(args, tmp_path, subprocess_env, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and not find_records([sweep]):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    first = {p: p.stat().st_mtime_ns for p in find_records([sweep])}
    assert 1 <= len(first) < 6, "the sweep should have been killed part-way"
    for path in first:  # every record that exists is complete
        assert read_record(path)["status"] == "ok"

    again = bbp(args, tmp_path, subprocess_env)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert err.count("skipped") == len(first)  # one message (on stderr) per finished run
    records = find_records([sweep])
    assert len(records) == 6
    for path, mtime in first.items():
        assert path.stat().st_mtime_ns == mtime  # not recomputed
    assert "[sweep] 6/6 runs finished" in out


def test_failed_run_leaves_error_record_and_sweep_goes_on(tmp_path, command):
    """A run whose configuration fails validation (alpha=0.01 at N=30 gives M=0 samples: every
    field is valid alone, so the command line passes) leaves an error record; the others run.
    A sweep with a refused configuration exits 2, bbp-collect of it 1."""
    sweep = tmp_path / "sweep"
    result = command("bbp", "-m", "problem.N=30", "problem.alpha=2,0.01,3", "theory=false",
                     "logging.tensorboard=false", "hydra/launcher=basic",
                     f"hydra.sweep.dir={sweep}")
    assert result.code == 2, result.err
    assert "problem.alpha" in result.err
    records = find_records([sweep])
    statuses = sorted(read_record(p)["status"] for p in records)
    assert statuses == ["error", "ok", "ok"]
    assert [read_record(p)["error_kind"] for p in records
            if read_record(p)["status"] == "error"] == ["config"]
    assert expected_runs(sweep) == 3

    # A truncated record (e.g. from an older, non-atomic writer) and a missing run.
    broken = next(p for p in find_records([sweep]) if read_record(p)["status"] == "ok")
    broken.write_text('{"status": "ok", "config": {')
    table, text = collect([sweep], tmp_path / "table.csv")
    assert len(table) == 3 and (table["status"] == "ok").sum() == 1
    assert "2 failed or unreadable" in text and "0 missing" in text
    assert (tmp_path / "table.csv").exists()

    listed = command("bbp-collect", str(sweep), "--out", str(tmp_path / "t2.csv"))
    assert listed.code == 1  # some runs failed
    assert "3 records" in listed.out and "failed" in listed.out
    assert command("bbp-collect", str(tmp_path / "nothing-here")).code == 2


def test_expected_runs_counts_preset_and_command_line(tmp_path):
    (tmp_path / "multirun.yaml").write_text(
        "hydra:\n  sweeper:\n    params:\n      problem.alpha: 1,2,3\n      seed: range(4)\n"
        "  overrides:\n    task:\n    - problem.p=1,2\n    - seed=0\n")
    assert expected_runs(tmp_path) == 3 * 2  # seed fixed on the command line


def test_slurm_launcher_config_composes(compose):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    cfg = compose(["hydra/launcher=slurm"], hydra=True)
    assert "submitit" in cfg.hydra.launcher._target_
    assert cfg.hydra.launcher.timeout_min > 0


def presets():
    return sorted(p.stem for p in (Path(CONFIG_DIR) / "experiment").glob("*.yaml"))


def preset_app(name: str) -> str:
    """The app a preset belongs to: bbp-train for the presets with a train group."""
    from omegaconf import OmegaConf

    return "bbp-train" if "train" in OmegaConf.load(Path(CONFIG_DIR, "experiment",
                                                         f"{name}.yaml")) else "bbp"


@pytest.mark.parametrize("name", presets())
def test_experiment_presets_compose_and_validate(name, compose):
    """Each preset composes with its own app and validates against that app's schema (the
    train group of a training preset is checked too)."""
    app = preset_app(name)
    schema = TrainRunConfig if app == "bbp-train" else Config
    cfg = compose([f"+experiment={name}"], app=app, hydra=True)
    resolved = validate(cfg, schema)
    assert isinstance(resolved.config, schema)
    assert cfg.name != "default", "a preset names its own sweep folder"
