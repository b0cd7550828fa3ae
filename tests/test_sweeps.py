"""Sweeps: resuming a killed sweep, error records, bbp-collect, presets that compose."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from bbp_torch.cli import CONFIG_DIR
from bbp_torch.config import validate
from bbp_torch.results import find_records, read_record
from bbp_torch.sweeps import collect, collect_main, expected_runs

ENV = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")


def bbp(args, cwd, **kw):
    return subprocess.Popen([sys.executable, "-m", "bbp_torch", *args], cwd=cwd, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def test_killed_sweep_resumes_without_redoing_finished_runs(tmp_path):
    sweep = tmp_path / "sweep"
    args = ["-m", "problem.N=150", "problem.p=2", "seed=0,1,2,3,4,5", "hydra/launcher=basic",
            f"hydra.sweep.dir={sweep}"]
    proc = bbp(args, tmp_path, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and not find_records([sweep]):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    first = {p: p.stat().st_mtime_ns for p in find_records([sweep])}
    assert 1 <= len(first) < 6, "the sweep should have been killed part-way"
    for path in first:  # every record that exists is complete
        assert read_record(path)["status"] == "ok"

    again = bbp(args, tmp_path)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert out.count("skipped") == len(first)
    records = find_records([sweep])
    assert len(records) == 6
    for path, mtime in first.items():
        assert path.stat().st_mtime_ns == mtime  # not recomputed
    assert "[sweep] 6/6 runs finished" in out


def test_failed_run_leaves_error_record_and_sweep_goes_on(tmp_path, capsys):
    sweep = tmp_path / "sweep"
    proc = bbp(["-m", "problem.N=30", "problem.a=0.7,-1,1.5", "theory=false",
                "logging.tensorboard=false", "hydra/launcher=basic",
                f"hydra.sweep.dir={sweep}"], tmp_path)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "problem.a" in err
    statuses = sorted(read_record(p)["status"] for p in find_records([sweep]))
    assert statuses == ["error", "ok", "ok"]
    assert expected_runs(sweep) == 3

    # A truncated record (e.g. from an older, non-atomic writer) and a missing run.
    broken = next(p for p in find_records([sweep]) if read_record(p)["status"] == "ok")
    broken.write_text('{"status": "ok", "config": {')
    table, text = collect([sweep], tmp_path / "table.csv")
    assert len(table) == 3 and (table["status"] == "ok").sum() == 1
    assert "2 failed or unreadable" in text and "0 missing" in text
    assert (tmp_path / "table.csv").exists()

    assert collect_main([str(sweep), "--out", str(tmp_path / "t2.csv")]) == 0
    printed = capsys.readouterr().out
    assert "3 records" in printed and "failed" in printed
    assert collect_main([str(tmp_path / "nothing-here")]) == 2


def test_expected_runs_counts_preset_and_command_line(tmp_path):
    (tmp_path / "multirun.yaml").write_text(
        "hydra:\n  sweeper:\n    params:\n      problem.alpha: 1,2,3\n      seed: range(4)\n"
        "  overrides:\n    task:\n    - problem.p=1,2\n    - seed=0\n")
    assert expected_runs(tmp_path) == 3 * 2  # seed fixed on the command line


def test_slurm_launcher_config_composes():
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="config", overrides=["hydra/launcher=slurm"],
                      return_hydra_config=True)
    assert "submitit" in cfg.hydra.launcher._target_
    assert cfg.hydra.launcher.timeout_min > 0


def presets():
    return sorted(p.stem for p in (Path(CONFIG_DIR) / "experiment").glob("*.yaml"))


@pytest.mark.parametrize("name", presets())
def test_experiment_presets_compose_and_validate(name):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"+experiment={name}"],
                      return_hydra_config=True)
    validate(cfg)
    assert cfg.name != "default", "a preset names its own sweep folder"
