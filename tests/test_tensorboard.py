"""TensorBoard events (bbp_torch.tensorboard): the SLQ density as a histogram, the events of a
study run and of a training run."""

import numpy as np
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from bbp_torch.tensorboard import log_density, log_run, log_training


def read_events(path):
    acc = EventAccumulator(str(path))
    acc.Reload()
    return acc


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
    assert "_hparams_/experiment" in acc.PluginTagToContent("hparams")
    hist = acc.Histograms("spectrum/density_slq")[0].histogram_value
    assert hist.num == 120  # the density as a histogram of the p N eigenvalues


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
    assert "metrics/final_overlap" in acc.Tags()["scalars"]
    assert "_hparams_/experiment" in acc.PluginTagToContent("hparams")
