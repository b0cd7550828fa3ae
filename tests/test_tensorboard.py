"""TensorBoard events (bbp_torch.tensorboard): the SLQ density as a histogram, the events of a
study run and of a training run (each an HParams session of its identifying fields), and the
sweep-level run (the HParams experiment, each metric against the swept parameter)."""

from dataclasses import asdict

import numpy as np
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import api_pb2, metadata

from bbp_torch.config import NOT_IDENTIFYING, Config
from bbp_torch.results import write_record
from bbp_torch.tensorboard import SWEEP_RUN, log_density, log_run, log_sweep, log_training


def read_events(path):
    acc = EventAccumulator(str(path))
    acc.Reload()
    return acc


def session_hparams(acc) -> dict:
    """The run's HParams session as TensorBoard reads it: ``{field: python value}``."""
    content = acc.PluginTagToContent("hparams")
    assert metadata.EXPERIMENT_TAG not in content  # the experiment is the sweep's
    start = metadata.parse_session_start_info_plugin_data(
        content[metadata.SESSION_START_INFO_TAG])
    return {k: getattr(v, v.WhichOneof("kind")) for k, v in start.hparams.items()}


def experiment(path) -> api_pb2.Experiment:
    content = read_events(path).PluginTagToContent("hparams")
    return metadata.parse_experiment_plugin_data(content[metadata.EXPERIMENT_TAG])


def identifying(name: str) -> bool:
    return not any(name == n or name.startswith(n + ".") for n in NOT_IDENTIFYING)


def test_log_density_writes_a_histogram(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    edges = np.linspace(-1.0, 1.0, 11)
    density = np.full(10, 0.5)
    writer = SummaryWriter(log_dir=str(tmp_path))
    log_density(writer, edges, density, n=1000)
    writer.close()
    acc = EventAccumulator(str(tmp_path))
    acc.Reload()
    assert "spectrum/density_slq" in acc.Tags()["histograms"]
    hist = acc.Histograms("spectrum/density_slq")[0].histogram_value
    assert abs(hist.num - 1000) < 1e-9 and abs(hist.min + 1.0) < 1e-12


def test_a_matrix_free_run_logs_its_slq_density_and_metrics(tmp_path):
    from bbp_torch.study import run_study

    cfg = {"problem": {"N": 60, "p": 2, "alpha": 3.0}, "device": "cpu", "theory": False,
           "solver": {"name": "iterative", "k": 6, "slq_probes": 2, "slq_steps": 15},
           "logging": {"progress": False, "histogram_bins": 20}}
    result = run_study(cfg)
    log_run(tmp_path, result)
    acc = read_events(tmp_path)
    tags = acc.Tags()
    assert "spectrum/density_slq" in tags["histograms"]
    assert "spectrum/eigenvalues" not in tags["histograms"] and not tags["images"]
    m = result.record["metrics"]
    (overlap,) = acc.Scalars("metrics/overlap")
    assert overlap.value == np.float32(m["overlap"])
    bottom = [e.value for e in acc.Scalars("spectrum/bottom_eigenvalues")]
    assert np.allclose(bottom, m["bottom_eigenvalues"], rtol=1e-6)
    hist = acc.Histograms("spectrum/density_slq")[0].histogram_value
    assert hist.num == 120  # the density as a histogram of the p N eigenvalues
    hparams = session_hparams(acc)
    assert hparams["problem.N"] == 60 and hparams["solver.name"] == "iterative"
    assert hparams["theory"] is False and hparams["solver.mixed_precision"] is True  # auto
    assert "force" not in hparams and "device" not in hparams
    assert all(identifying(k) for k in hparams)


def test_a_training_run_logs_its_series_at_the_tracked_steps(tmp_path):
    from bbp_torch.study import run_training

    cfg = {"problem": {"N": 30, "p": 2, "alpha": 3.0}, "device": "cpu", "theory": False,
           "train": {"steps": 20, "track_every": 5, "hessian_every": 10}}
    result = run_training(cfg)
    log_training(tmp_path, result)
    acc = read_events(tmp_path)
    series = result.record["metrics"]["series"]
    loss = acc.Scalars("train/train_loss")
    assert [e.step for e in loss] == series["step"] == [0, 5, 10, 15, 20]
    assert np.allclose([e.value for e in loss], series["train_loss"], rtol=1e-6)
    assert [e.step for e in acc.Scalars("hessian/lambda_min")] == [0, 10, 20]
    scalars = acc.Tags()["scalars"]
    assert "metrics/final_gram_overlap" in scalars and "train/gram_overlap" in scalars
    assert "metrics/final_overlap" not in scalars and "train/overlap" not in scalars
    hparams = session_hparams(acc)
    assert hparams["train.steps"] == 20 and isinstance(hparams["theory"], bool)
    assert all(identifying(k) for k in hparams) and "logging.progress" not in hparams


def test_a_sweep_level_run_holds_each_metric_against_the_swept_parameter(tmp_path):
    """Hand-made records of N = 30, 40 x alpha = 1, 2 x two seeds: one run per N with the mean
    over seeds and its standard error at step 1000 alpha, the theory's run, the experiment."""
    overlaps = {}
    for N in (30, 40):
        for alpha in (1.0, 2.0):
            for seed in (0, 1):
                config = asdict(Config())
                config["problem"].update(N=N, alpha=alpha)
                config.update(seed=seed, threads=seed + 1, device="cpu")  # threads: no sweep
                overlap = 0.1 * alpha + 0.01 * N + 0.002 * seed
                overlaps.setdefault((N, alpha), []).append(overlap)
                metrics = {"overlap": overlap, "lambda_min": -alpha,
                           "theory": {"overlap": 0.3 * alpha, "lambda_outlier": None}}
                write_record(tmp_path / f"N={N},alpha={alpha},seed={seed}",
                             {"status": "ok", "config": config, "metrics": metrics})
    write_record(tmp_path / "failed", {"status": "error", "config": {}, "metrics": {}})
    out = log_sweep(tmp_path, fields=["problem.N", "problem.alpha", "seed"])
    assert out == tmp_path / SWEEP_RUN
    for N in (30, 40):
        acc = read_events(out / f"problem.N={N}")
        mean = acc.Scalars("sweep/overlap_vs_alpha")
        assert [e.step for e in mean] == [1000, 2000]
        expected = [np.mean(overlaps[N, a]) for a in (1.0, 2.0)]
        assert np.allclose([e.value for e in mean], expected, rtol=1e-6)
        err = acc.Scalars("sweep_stderr/overlap_vs_alpha")
        assert np.allclose([e.value for e in err], [0.001, 0.001], rtol=1e-4)  # |d| / 2
        assert [e.value for e in acc.Scalars("sweep/lambda_min_vs_alpha")] == [-1.0, -2.0]
    theory = read_events(out / "theory")
    assert np.allclose([e.value for e in theory.Scalars("sweep/overlap_vs_alpha")], [0.3, 0.6])
    assert "sweep/lambda_min_vs_alpha" not in theory.Tags()["scalars"]  # no outlier: none
    assert "sweep/figure" in read_events(out).Tags()["images"]
    exp = experiment(out)
    assert [(h.name, h.differs) for h in exp.hparam_infos] == [
        ("problem.N", True), ("problem.alpha", True), ("seed", True)]
    assert {m.name.tag for m in exp.metric_infos} >= {"metrics/overlap", "metrics/lambda_min"}


def test_a_sweeps_hparams_experiment_lists_the_swept_fields(tmp_path, command):
    """A small sweep: its experiment, read back from the events, lists what the command line
    set (the swept fields first, marked as differing) and no field that does not change a
    run's numbers; its sweep-level run holds m(alpha), mean over the seeds' records."""
    from bbp_torch.results import load_table

    sweep = tmp_path / "sweep"
    result = command("bbp", "-m", "problem.N=40", "problem.alpha=1,3", "seed=0,1",
                     "logging.figures=false", "threads=1", "hydra/launcher=basic",
                     f"hydra.sweep.dir={sweep}")
    assert result.code == 0, result.err
    assert f"tensorboard --logdir {sweep}" in result.out
    infos = experiment(sweep / SWEEP_RUN).hparam_infos
    assert [(h.name, h.differs) for h in infos] == [
        ("problem.alpha", True), ("seed", True), ("problem.N", False)]
    table = load_table([sweep])
    acc = read_events(sweep / SWEEP_RUN / "problem.N=40")
    curve = acc.Scalars("sweep/overlap_vs_alpha")
    assert [e.step for e in curve] == [1000, 3000]
    means = table.groupby("config.problem.alpha")["metrics.overlap"].mean()
    assert np.allclose([e.value for e in curve], means.loc[[1.0, 3.0]], rtol=1e-6)
    theory = read_events(sweep / SWEEP_RUN / "theory").Scalars("sweep/overlap_vs_alpha")
    assert np.allclose([e.value for e in theory],
                       table.groupby("config.problem.alpha")["metrics.theory.overlap"].mean(),
                       rtol=1e-6)
    # every run is a session of its identifying fields, booleans as booleans
    run = session_hparams(read_events(sweep / table["run_dir"][0]))
    assert run["theory"] is True and all(identifying(k) for k in run)
