"""The metrics declared once (bbp_torch.metrics): the declarations are consistent and are what the
runs write; a metric declared in a test shows in TensorBoard, the printed summary and the means
of bbp-collect with no other change; a training record written before the Gram cosine had its
own name reads with the new keys in bbp-collect and the figures."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from helpers import printed_numbers
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from bbp_torch import metrics
from bbp_torch.results import find_records, flatten, load_table, read_record
from bbp_torch.study import run_study, run_training


def scalars(run_dir) -> dict[str, list]:
    """Every scalar TensorBoard reads from a run folder: ``{tag: [(step, value)]}``."""
    acc = EventAccumulator(str(run_dir))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


# ----------------------------------------------------------------------- the declarations


@pytest.mark.parametrize("kind", metrics.KINDS)
def test_the_declarations_are_consistent(kind):
    declared = metrics.schema(kind)
    names = [m.name for m in declared]
    assert len(names) == len(set(names))
    by_name = dict(zip(names, declared, strict=True))
    for m in declared:
        assert m.shape in metrics.SHAPES and m.meaning, m.name
        assert (m.group in metrics.GROUPS) == (m.shape == metrics.SERIES and m.tensorboard), m.name
        assert not m.mean or m.shape == metrics.SCALAR, m.name  # a mean over seeds of a number
        assert m.theory is None or by_name[m.theory].shape == metrics.SCALAR, m.name
        assert m.line is None or m.label, m.name
    printed = [(m.line or m.label, m.label) for m in metrics.printed(kind)]
    assert len(printed) == len(set(printed))  # no two metrics under one label on one row
    assert set(metrics.means(kind)) == {f"metrics.{m.name}" for m in declared if m.mean}


def test_one_meaning_per_name():
    """``overlap`` is an eigenvector's m in both kinds; the renamed keys are declared under
    their new names only."""
    training = {m.name for m in metrics.TRAINING}
    assert not set(metrics.RENAMED) & training and set(metrics.RENAMED.values()) <= training
    for kind in metrics.KINDS:
        for m in metrics.schema(kind):
            if m.key == "overlap":
                assert "teacher overlap m" in m.meaning and "eigenvector" in m.meaning, m.name
            if "gram" in m.name:
                assert "Gram" in m.meaning or "gram_overlap" in m.meaning, m.name


def test_the_runs_write_what_is_declared():
    """Every key of fresh records is declared, and every declaration is written by one of a few
    runs that between them take each branch (dense and iterative with an SLQ density and too
    few vectors; another activation, without theory; a spectral start)."""
    small = {"device": "cpu", "logging": {"figures": False, "progress": False}}
    studies = [
        run_study({**small, "problem": {"N": 30, "alpha": 3.0}}),
        run_study({**small, "problem": {"N": 60, "alpha": 3.0},
                   "solver": {"name": "iterative", "k": 1, "slq_probes": 2, "slq_steps": 10}}),
        run_study({**small, "problem": {"N": 30, "alpha": 3.0, "activation": "tanh", "a": 1.5}}),
    ]
    train = {"steps": 10, "track_every": 10, "n_test": 200}
    trainings = [
        run_training({**small, "problem": {"N": 30, "alpha": 3.0},
                      "train": {**train, "init": "spectral"}}),
        run_training({**small, "problem": {"N": 30, "alpha": 3.0, "activation": "tanh", "a": 1.5},
                      "train": train}),
    ]
    for kind, results in (("study", studies), ("training", trainings)):
        written = set()
        for result in results:
            keys = flatten(result.record["metrics"])
            undeclared = [k for k in keys if metrics.declaration(kind, k) is None]
            assert undeclared == [], (kind, undeclared)
            written |= {k for key in keys for k in _prefixes(key)}
        series = trainings[0].record["metrics"]["series"]
        written |= {f"series.{k}" for k in series}
        missing = [m.name for m in metrics.schema(kind) if m.name not in written]
        assert missing == [], (kind, missing)


def _prefixes(key: str) -> list[str]:
    parts = key.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def test_the_series_of_a_descent_are_the_declared_ones():
    result = run_training({"device": "cpu", "problem": {"N": 20, "alpha": 3.0},
                           "train": {"steps": 0, "n_test": 100}})
    assert tuple(result.record["metrics"]["series"]) == metrics.series_keys()
    assert tuple(result.trajectory.series) == metrics.series_keys()


# ----------------------------------------------------------------- a metric declared here


def test_a_declared_study_metric_shows_everywhere(command, monkeypatch):
    """Declare one metric, measure it (a wrapper of the observables): with no other change it
    is a TensorBoard scalar of each run, a row of the printed summary, a mean of bbp-collect
    and a curve of the sweep's run."""
    import bbp_torch.study

    extra = metrics.Metric("overlap_squared", "m^2, for the test", "[0, 1]", tensorboard=True,
                           mean=True, label="overlap squared", digits=4)
    monkeypatch.setattr(metrics, "STUDY", metrics.STUDY + (extra,))
    measure = bbp_torch.study.measure

    def measure_more(*args):
        out = measure(*args)
        return out | {"overlap_squared": out["overlap"] ** 2}

    monkeypatch.setattr(bbp_torch.study, "measure", measure_more)
    ran = command("bbp", "-m", "problem.N=30", "problem.alpha=2,3", "logging.figures=false",
                  "hydra/launcher=basic", "hydra.sweep.dir=sweep")
    assert ran.code == 0, ran.err
    records = {read_record(p)["config"]["problem"]["alpha"]: (p.parent, read_record(p))
               for p in find_records(["sweep"])}
    assert sorted(records) == [2.0, 3.0]
    for run_dir, record in records.values():
        value = record["metrics"]["overlap_squared"]
        assert value == pytest.approx(record["metrics"]["overlap"] ** 2)
        assert any(x == pytest.approx(value, rel=1e-3)  # the summary's row prints it
                   for x in printed_numbers(ran.out, "overlap squared"))
        ((step, logged),) = scalars(run_dir)["metrics/overlap_squared"]
        assert step == 0 and logged == pytest.approx(value, rel=1e-6)
    curve = scalars("sweep/sweep/problem.N=30")["sweep/overlap_squared_vs_alpha"]
    assert [s for s, _ in curve] == [2000, 3000]
    collected = command("bbp-collect", "sweep")
    assert collected.code == 0, collected.err
    lines = collected.out.splitlines()
    header = next(i for i, line in enumerate(lines) if "metrics.overlap_squared" in line)
    column = lines[header].split().index("metrics.overlap_squared") + 1  # after the alpha
    rows = {float(line.split()[0]): line.split() for line in lines[header + 2:header + 4]}
    for alpha, (_, record) in records.items():  # one run per alpha: the mean is its value
        assert rows[alpha][column] == f"{record['metrics']['overlap_squared']:.4g}"


def test_a_declared_training_metric_and_series_show_everywhere(tmp_path, monkeypatch, capsys):
    """The same for a descent: a scalar printed on the summary's ``final`` row and a series
    tracked at each step, each a TensorBoard scalar, the scalar a mean of bbp-collect."""
    import bbp_torch.study
    from bbp_torch.cli import collect
    from bbp_torch.jobs import job_kind, run_job
    from bbp_torch.training import Tracker

    monkeypatch.setattr(metrics, "TRAINING", metrics.TRAINING + (
        metrics.Metric("series.loss_ratio", "gen_error / train_loss, for the test",
                       shape=metrics.SERIES, tensorboard=True, group="train"),
        metrics.Metric("final_loss_ratio", "its last value, for the test", tensorboard=True,
                       mean=True, label="loss ratio", digits=3, line="final")))
    basic, summarize = Tracker.basic, bbp_torch.study.training_metrics

    def basic_more(self, W):
        out = basic(self, W)
        return out | {"loss_ratio": out["gen_error"] / out["train_loss"]}

    def metrics_more(r, problem, traj, init):
        return summarize(r, problem, traj, init) | {"final_loss_ratio": traj.final["loss_ratio"]}

    monkeypatch.setattr(Tracker, "basic", basic_more)
    monkeypatch.setattr(bbp_torch.study, "training_metrics", metrics_more)
    for seed in (0, 1):
        cfg = {"seed": seed, "device": "cpu", "problem": {"N": 30, "alpha": 3.0},
               "train": {"steps": 20, "track_every": 10, "n_test": 200}}
        assert run_job(job_kind("bbp-train"), cfg, tmp_path / f"seed={seed}").exit_code == 0
    out = capsys.readouterr().out
    for seed in (0, 1):
        record = read_record(tmp_path / f"seed={seed}")
        m = record["metrics"]
        assert m["final_loss_ratio"] == m["series"]["loss_ratio"][-1]
        assert any(x == pytest.approx(m["final_gram_overlap"], rel=1e-3)
                   for x in printed_numbers(out, "Gram overlap q"))
        assert any(x == pytest.approx(m["final_loss_ratio"], rel=1e-2)
                   for x in printed_numbers(out, "loss ratio"))
        logged = scalars(tmp_path / f"seed={seed}")
        assert [s for s, _ in logged["train/loss_ratio"]] == m["series"]["step"]
        assert logged["metrics/final_loss_ratio"][0][1] == pytest.approx(m["final_loss_ratio"])
    assert collect.main([str(tmp_path), "--out", str(tmp_path / "t.csv")]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(i for i, line in enumerate(lines) if "metrics.final_loss_ratio" in line)
    mean = load_table([tmp_path])["metrics.final_loss_ratio"].mean()
    column = lines[header].split().index("metrics.final_loss_ratio")
    assert lines[header + 1].split()[0] == "mean"
    assert float(lines[header + 1].split()[column + 1]) == pytest.approx(mean, rel=1e-4)


# -------------------------------------------------------------- records written before


def old_training_record(tmp_path):
    """A fresh training record with the keys it had before the rename, as a file."""
    record = run_training({"device": "cpu", "problem": {"N": 30, "alpha": 3.0},
                           "train": {"steps": 20, "track_every": 10, "n_test": 200}}).record
    m = record["metrics"]
    new = {"final_gram_overlap": m["final_gram_overlap"], "max_gram_overlap":
           m["max_gram_overlap"], "series": list(m["series"]["gram_overlap"])}
    text = json.dumps(record)
    for old, renamed in metrics.RENAMED.items():
        text = text.replace(f'"{renamed.rsplit(".", 1)[-1]}"', f'"{old.rsplit(".", 1)[-1]}"')
    assert '"gram_overlap"' not in text and '"final_overlap"' in text
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "record.json").write_text(text)
    return tmp_path / "old", new


def test_an_old_training_record_reads_with_the_new_keys(tmp_path, capsys):
    from bbp_torch.cli import collect
    from bbp_torch.figures import extra_gd_hessian
    from bbp_torch.figures.common import samples

    folder, new = old_training_record(tmp_path)
    m = read_record(folder)["metrics"]
    assert m["final_gram_overlap"] == new["final_gram_overlap"]
    assert m["max_gram_overlap"] == new["max_gram_overlap"]
    assert m["series"]["gram_overlap"] == new["series"]
    assert not {"final_overlap", "max_overlap", "max_overlap_step"} & set(m)
    assert "overlap" not in m["series"] and m["init"]["overlap"] > 0  # m at init: unchanged
    table = load_table([tmp_path])
    assert table.loc[0, "metrics.final_gram_overlap"] == new["final_gram_overlap"]
    assert "metrics.final_overlap" not in table and "metrics.series.overlap" not in table
    assert collect.main([str(tmp_path), "--out", str(tmp_path / "t.csv")]) == 0
    assert "metrics.final_gram_overlap" in capsys.readouterr().out
    # the figures' readers: fig9's maximum and extra_gd_hessian's series
    _, (best,) = samples(table, {"config.problem.N": 30}, "metrics.max_gram_overlap")
    assert list(best) == [new["max_gram_overlap"]]
    series = extra_gd_hessian.series_table(table)
    assert list(series["gram_overlap"]) == new["series"]


def test_the_upgrade_renames_only_old_training_keys(tmp_path):
    """A study record's ``overlap`` is its own; a record with both names keeps the new one."""
    from bbp_torch.results import upgrade_record

    study = {"status": "ok", "config": {"seed": 0}, "metrics": {"overlap": 0.5,
                                                                "final_overlap": 0.1}}
    assert upgrade_record(json.loads(json.dumps(study))) == study
    both = {"status": "ok", "config": {"train": {}},
            "metrics": {"final_overlap": 0.1, "final_gram_overlap": 0.2,
                        "series": {"overlap": [0.1], "gram_overlap": [0.2]}}}
    assert upgrade_record(json.loads(json.dumps(both))) == both
    old = {"status": "ok", "config": {"train": {}},
           "metrics": {"max_overlap": 0.3, "max_overlap_step": 10, "series": {"overlap": [0.3]}}}
    assert upgrade_record(old)["metrics"] == {"max_gram_overlap": 0.3,
                                              "max_gram_overlap_step": 10,
                                              "series": {"gram_overlap": [0.3]}}


def test_a_lookup_reads_dotted_names():
    m = {"theory": None, "init": {"lambda_min": -1.0}}
    assert metrics.lookup(m, "init.lambda_min") == -1.0
    assert metrics.lookup(m, "theory.overlap") is None  # no theory: null, not missing
    assert metrics.lookup(m, "gap") is metrics.MISSING
    assert metrics.declaration("training", "init.overlap_subspace").name == "init"
    assert metrics.declaration("study", "nothing") is None
    assert replace(metrics.STUDY[0], name="a.b.c").key == "c"
