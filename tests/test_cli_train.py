"""The ``bbp-train`` command end to end (in-process): a descent writes its record and events,
a finished one is skipped, its configuration errors and the other app's presets are refused."""

import json
from pathlib import Path

from bbp_torch.jobs import job_kind, run_job
from bbp_torch.results import find_records, read_record

BASE = ["device=cpu", "threads=1", "problem.N=30", "train.steps=20", "train.track_every=10",
        "logging.tensorboard=false"]


def test_bbp_train_app_writes_record_and_events(tmp_path, capsys, compose):
    overrides = ["problem.N=40", "problem.alpha=4", "device=cpu", "train.steps=100",
                 "train.track_every=50", "train.init=spectral"]
    cfg = compose(overrides, app="bbp-train")
    kind = job_kind("bbp-train")
    assert run_job(kind, cfg, tmp_path).exit_code == 0
    record = read_record(tmp_path)
    assert record["status"] == "ok" and record["config"]["train"]["init"] == "spectral"
    assert set(record["metrics"]["series"]) >= {"step", "gen_error", "gram_overlap", "lambda_min"}
    assert "overlap" not in record["metrics"]["series"]  # the Gram cosine is gram_overlap
    assert list(tmp_path.glob("events.out.tfevents.*"))
    assert "bbp-train" in capsys.readouterr().out
    again = run_job(kind, cfg, tmp_path)  # a finished record of the same config: skipped
    assert again.exit_code == 0 and again.status == "skipped"
    assert "skipped" in capsys.readouterr().err


def test_bbp_train_command_and_its_configuration_error(tmp_path, command):
    ok = command("bbp-train", *BASE, f"hydra.run.dir={tmp_path / 'ok'}")
    assert ok.code == 0, ok.err
    assert (tmp_path / "ok" / "record.json").exists()
    assert "success" in ok.out and "stopped" in ok.out  # the printed summary
    bad = command("bbp-train", *BASE, "train.method=adam", f"hydra.run.dir={tmp_path / 'bad'}")
    assert bad.code == 2
    assert "train.method" in bad.err and "spherical_gd" in bad.err
    assert not (tmp_path / "bad").exists()


def test_a_rule_of_the_train_group_is_refused_by_the_job(tmp_path, command):
    """Spherical Hessian with plain GD: each field is valid alone, the rule between them is
    validate's; exit 2 and no record."""
    out = tmp_path / "bad"
    result = command("bbp-train", *BASE, "train.method=gd", "hessian=spherical",
                     f"hydra.run.dir={out}")
    assert result.code == 2 and "train.method" in result.err
    assert not (out / "record.json").exists()


def test_bbp_train_sweep_and_the_other_apps_presets(tmp_path, command):
    sweep = tmp_path / "sweep"
    result = command("bbp-train", "-m", *BASE, "seed=0,1", "hydra/launcher=basic",
                     f"hydra.sweep.dir={sweep}")
    assert result.code == 0, result.err
    records = [read_record(p) for p in find_records([sweep])]
    assert sorted(r["config"]["seed"] for r in records) == [0, 1]
    assert all(r["status"] == "ok" and "series" in r["metrics"] for r in records)
    (line,) = [json.loads(x) for x in (sweep / "sweeps.jsonl").read_text().splitlines()]
    assert sorted(p.parent.name for p in find_records([sweep])) == line["runs"]
    refused = command("bbp-train", "+experiment=fig1_overlap")
    assert refused.code == 2 and "Unknown option experiment=fig1_overlap" in refused.err
    helped = command("bbp-train", "--help")
    assert helped.code == 0 and "train_success" in helped.out and "fig1_overlap" not in helped.out
    assert "train.lr=0.1" in helped.out
    assert not Path("outputs").exists()
