"""The runners of the figures' sweeps (bbp_torch.figures.executors): the command lines of the
cli runner (local and SLURM) and in-process runs through the job runner."""

from pathlib import Path

import pytest

from bbp_torch.figures.executors import InlineExecutor, run_inprocess, sweep_command
from bbp_torch.figures.grids import preset_grid
from bbp_torch.results import read_record
from bbp_torch.sweeps import collect, expected_names


def test_the_cli_runner_commands_for_the_local_and_the_slurm_launcher():
    cmd = sweep_command("fig1_overlap", {"seed": "range(2)"}, Path("/tmp/s"), 2)
    assert cmd[1:] == ["-m", "bbp_torch", "-m", "+experiment=fig1_overlap",
                       "hydra.sweep.dir=/tmp/s", "hydra.launcher.n_jobs=2", "seed=range(2)"]
    cmd = sweep_command("fig9_gd_continuous", {}, Path("/tmp/s"), 2, kind="bbp-train",
                        launcher="slurm", launcher_overrides=("hydra.launcher.partition=cpu",))
    assert cmd[1:] == ["-m", "bbp_torch.cli.train", "-m", "+experiment=fig9_gd_continuous",
                       "hydra.sweep.dir=/tmp/s", "hydra/launcher=slurm",
                       "hydra.launcher.partition=cpu"]  # no n_jobs: SLURM runs one job per run


# ----------------------------------------------------------------------------- runner


@pytest.mark.parametrize("tensorboard", [True, False])
def test_inprocess_runs_go_through_the_job_runner(tmp_path, tensorboard):
    # alpha = 0.01 at N = 20 is M = 0 samples: refused by validation, an error record.
    overrides = {"problem.N": "20", "problem.a": "0.7", "problem.alpha": "0.01,1.0",
                 "seed": "0", "logging.tensorboard": str(tensorboard).lower()}
    base, swept = preset_grid("fig1_overlap", overrides)
    with InlineExecutor() as executor:
        folder = run_inprocess(executor, "grid", base, swept, tmp_path)
    bad, good = folder / "problem.alpha=0.01", folder / "problem.alpha=1.0"
    assert expected_names(folder) == [bad.name, good.name]  # registered as a sweep
    record = read_record(good)
    assert record["status"] == "ok" and record["run_dir"] == str(good)
    assert record["config"]["logging"]["tensorboard"] is tensorboard
    assert record["metrics"]["solver_used"] == "dense"  # p N = 40 <= solver.auto_max_dim
    assert (good / ".lock").exists()  # the job runner's lock
    assert bool(list(good.glob("events.out.tfevents.*"))) is tensorboard
    failed = read_record(bad)
    assert (failed["status"], failed["error_kind"]) == ("error", "config")
    assert "problem.alpha" in failed["error"]
    assert not list(bad.glob("events.out.tfevents.*"))
    _, text = collect([folder], out=tmp_path / "table.csv")
    assert "2 records: 1 ok, 0 unconverged, 1 failed" in text and "0 missing (of 2" in text
