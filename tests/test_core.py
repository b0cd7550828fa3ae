"""Configuration, validation, reproducibility, records and the Hydra app end to end."""

import json
from pathlib import Path

import pytest
import torch
from hydra.errors import ConfigCompositionException

from bbp_torch.cli.app import check_overrides
from bbp_torch.cli.bbp import APP
from bbp_torch.config import ConfigError, validate
from bbp_torch.model import make_problem, resample_student
from bbp_torch.results import load_table, read_record, write_json_atomic
from bbp_torch.study import run_study

SMALL = ["problem.N=60", "problem.alpha=2.0", "logging.figures=false"]


def test_default_config_composes_and_validates(compose):
    cfg = compose()
    c = validate(cfg).config
    assert (c.problem.N, c.problem.p, c.problem.p_star) == (400, 2, 1)
    assert (c.problem.a, c.problem.alpha, c.seed) == (0.7, 3.0, 0)
    assert c.hessian.kind == "euclidean" and c.solver.name == "dense"
    assert c.solver.k >= c.problem.p * c.problem.p_star + 1


@pytest.mark.parametrize(
    "override,field",
    [
        ("problem.a=-1", "problem.a"),
        ("problem.a=0", "problem.a"),
        ("problem.p=0", "problem.p"),
        ("problem.p_star=0", "problem.p_star"),
        ("problem.alpha=0", "problem.alpha"),
        ("problem.alpha=-2", "problem.alpha"),
        ("problem.N=1", "problem.N"),
        ("device=tpu", "device"),
        ("dtype=float16", "dtype"),
        ("hessian.kind=riemann", "hessian.kind"),
        ("solver.name=magic", "solver.name"),
        ("solver.k=0", "solver.k"),
        ("solver.mixed_precision=true", "solver.mixed_precision"),
    ],
)
def test_validation_errors_name_the_field(override, field, compose):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        validate(compose([override]))


def test_wrong_type_is_refused_naming_the_field(compose):
    """The schema is typed: Hydra itself refuses problem.N=abc when composing; the command line
    check and validate of plain data name the field."""
    with pytest.raises(ConfigCompositionException):
        compose(["problem.N=abc"])
    with pytest.raises(ConfigError, match=r"problem\.N"):
        validate({"problem": {"N": "abc"}})
    with pytest.raises(ConfigError, match=r"problem\.N"):
        check_overrides(APP, ["problem.N=abc"])


def test_dense_memory_guard_refuses_with_numbers_and_hint(compose):
    cfg = compose(["problem.N=200000", "problem.p=4"])
    with pytest.raises(ConfigError) as err:
        validate(cfg)
    message = str(err.value)
    assert "GB" in message and "solver.name=iterative" in message
    assert "solver.max_memory_gb" in message
    with pytest.raises(ConfigError, match="GB"):
        validate(compose(["problem.N=2000", "solver.max_memory_gb=0.01"]))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CUDA-less message")
def test_cuda_without_gpu_is_a_clear_error(compose):
    with pytest.raises(ConfigError, match="CUDA is not available"):
        validate(compose(["device=cuda"]))


def test_same_seed_same_numbers_different_seed_different_numbers(compose):
    a = run_study(compose(SMALL + ["seed=3", "theory=false"])).record["metrics"]
    b = run_study(compose(SMALL + ["seed=3", "theory=false"])).record["metrics"]
    c = run_study(compose(SMALL + ["seed=4", "theory=false"])).record["metrics"]
    assert a["bottom_eigenvalues"] == b["bottom_eigenvalues"] and a["overlap"] == b["overlap"]
    assert a["bottom_eigenvalues"] != c["bottom_eigenvalues"]


def test_streams_are_independent():
    p1 = make_problem(50, 2, 1, 2.0, 0.7, seed=1)
    p2 = resample_student(p1, seed=2)
    assert torch.equal(p1.X, p2.X) and torch.equal(p1.W_star, p2.W_star)
    assert not torch.equal(p1.W, p2.W)
    assert torch.equal(p2.W, make_problem(50, 2, 1, 2.0, 0.7, seed=2).W)
    assert torch.allclose(p1.W.norm(dim=1), torch.full((2,), 50**0.5, dtype=torch.float64))
    assert p1.M == 100
    p32 = make_problem(50, 2, 1, 2.0, 0.7, seed=1, dtype="float32")
    assert p32.W.dtype == torch.float32 and torch.allclose(p32.W.double(), p1.W, atol=1e-6)


def test_float32_run_close_to_float64(compose):
    m64 = run_study(compose(SMALL + ["theory=false"])).record["metrics"]
    m32 = run_study(compose(SMALL + ["theory=false", "dtype=float32"])).record["metrics"]
    assert m32["lambda_min"] == pytest.approx(m64["lambda_min"], rel=1e-4)


def test_spherical_run_records_shifted_spectrum(compose):
    e = run_study(compose(SMALL + ["theory=false"])).record["metrics"]
    s = run_study(compose(SMALL + ["theory=false", "hessian.kind=spherical"])).record["metrics"]
    assert s["lambda_min"] != e["lambda_min"]
    assert max(s["residuals"]) < 1e-10


def test_atomic_write_leaves_no_partial_file(tmp_path):
    path = tmp_path / "r.json"
    write_json_atomic(path, {"x": 1.0})

    class Unserialisable:
        pass

    with pytest.raises(TypeError):
        write_json_atomic(path, {"x": Unserialisable()})
    assert json.loads(path.read_text()) == {"x": 1.0}
    assert [f.name for f in tmp_path.iterdir()] == ["r.json"]


def test_app_end_to_end_writes_record_and_events(tmp_path, command):
    out = tmp_path / "run"
    result = command("bbp", *SMALL, f"hydra.run.dir={out}", "logging.figures=true")
    assert result.code == 0, result.err
    assert "overlap m (teacher)" in result.out and "bottom eigenvalues" in result.out
    record = read_record(out)
    assert record["status"] == "ok"
    for key in ("lambda_min", "lambda_edge", "gap", "overlap", "overlap_subspace",
                "overlap_student", "bottom_eigenvalues"):
        assert key in record["metrics"]
    assert record["config"]["problem"]["N"] == 60
    assert {"timings", "versions", "device"} <= set(record)
    events = list(Path(out).glob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 0
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(out))
    acc.Reload()
    tags = acc.Tags()
    assert "metrics/overlap" in tags["scalars"] and "spectrum/eigenvalues" in tags["histograms"]
    assert "spectrum/figure" in tags["images"]
    assert "_hparams_/experiment" in acc.PluginTagToContent("hparams")
    # Running again into the same folder skips the finished run (the message goes to stderr).
    again = command("bbp", *SMALL, f"hydra.run.dir={out}", "logging.figures=true")
    assert again.code == 0 and "skipped" in again.err


def test_app_user_error_exits_nonzero_without_record(tmp_path, command):
    out = tmp_path / "bad"
    result = command("bbp", *SMALL, f"hydra.run.dir={out}", "problem.a=-1")
    assert result.code == 2
    assert "problem.a" in result.err and "Traceback" not in result.err
    assert not (out / "record.json").exists()


def test_multirun_sweep_and_table(tmp_path, command):
    sweep = tmp_path / "sweep"
    result = command("bbp", "-m", "problem.N=40", "problem.p=1,2", "problem.alpha=1,3",
                     "logging.figures=false", "theory=false", f"hydra.sweep.dir={sweep}",
                     "hydra/launcher=basic")
    assert result.code == 0, result.err
    table = load_table([sweep])
    assert len(table) == 4 and set(table["status"]) == {"ok"}
    assert sorted(table["config.problem.p"].unique()) == [1, 2]
    assert table["metrics.overlap"].between(0, 1).all()
