"""The validation (bbp_torch.config.validation): the derived defaults decided once, every field's
check, the rules between fields, the memory guards, and the training rules."""

import pytest
import torch
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

from bbp_torch.cli.app import check_overrides
from bbp_torch.cli.bbp import APP
from bbp_torch.config import Config, ConfigError, TrainRunConfig, validate


def test_validate_is_pure_and_fills_in_the_derived_defaults(compose):
    cfg = compose(["problem.N=50", "problem.alpha=2.0"])
    before = OmegaConf.to_container(cfg)
    r = validate(cfg)
    assert OmegaConf.to_container(cfg) == before  # the caller's config is not changed
    assert cfg.solver.k is None and r.config.solver.k == 8  # max(8, p p* + 4)
    assert r.config.solver.tol == 1e-8 and r.config.data_dtype == "float64"
    assert r.config.threads >= 1
    assert (r.M, r.solver, r.device, r.dim) == (100, "dense", "cpu", 100)
    assert validate(r) is r  # a Resolved passes through


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
    cfg = compose(["problem.N=20000", "solver.max_memory_gb=15"])  # H too large, X fits
    with pytest.raises(ConfigError) as err:
        validate(cfg)
    message = str(err.value)
    assert "GB" in message and "Use solver=iterative" in message
    assert "solver.max_memory_gb" in message
    validate(compose(["problem.N=20000", "solver.max_memory_gb=15", "solver=iterative"]))
    # too large because of the data: the data is blamed, with a value that fits
    with pytest.raises(ConfigError, match=r"Invalid problem\.alpha=3 .* Set problem\.alpha="
                       r"([0-9.]+) or lower with solver=iterative") as err:
        validate(compose(["problem.N=20000", "solver.max_memory_gb=5"]))
    alpha = err.value.args[0].split("Set problem.alpha=")[1].split(" ")[0]
    validate(compose(["problem.N=20000", "solver.max_memory_gb=5", "solver=iterative",
                      f"problem.alpha={alpha}"]))
    with pytest.raises(ConfigError, match="GB"):
        validate(compose(["problem.N=2000", "solver.max_memory_gb=0.01"]))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CUDA-less message")
def test_cuda_without_gpu_is_a_clear_error(compose):
    with pytest.raises(ConfigError, match="CUDA is not available"):
        validate(compose(["device=cuda"]))


def test_iterative_memory_guard_names_field_and_fix():
    cfg = {"problem": {"N": 60000, "p": 4, "alpha": 4.0}, "solver": {"name": "iterative"}}
    with pytest.raises(ConfigError) as err:
        validate(cfg, device_memory_gb=24.0)
    msg = str(err.value)
    assert "problem.N=60000" in msg and "data_dtype=float32" in msg
    assert "solver.max_memory_gb" in msg
    # float32 storage of X brings a 16000 x 64000 problem under 8 GB
    ok = {"problem": {"N": 16000, "p": 4, "alpha": 4.0}, "data_dtype": "float32",
          "solver": {"name": "iterative", "k": 8, "max_memory_gb": 8.0}}
    assert validate(ok).config.solver.name == "iterative"
    with pytest.raises(ConfigError, match="problem.N=16000"):
        validate({**ok, "data_dtype": "float64"})
    with pytest.raises(ConfigError, match="solver.basis_size"):
        validate({"solver": {"name": "iterative", "k": 8, "basis_size": 10}})
    # auto above auto_max_dim is guarded as iterative, not as dense
    auto = {"problem": {"N": 16000, "p": 4, "alpha": 4.0}, "data_dtype": "float32",
            "solver": {"name": "auto", "k": 8}}
    auto_resolved = validate(auto, device_memory_gb=24.0)
    assert auto_resolved.config.solver.name == "auto" and auto_resolved.solver == "iterative"


def test_basis_check_uses_the_block_the_solver_will_use():
    """Spherical, p=6: the solver's block holds the 6 radial null vectors, so the config must
    ask for room for that block, not for the CPU default of 4."""
    from bbp_torch.study import run_study

    cfg = {"problem": {"N": 100, "p": 6, "alpha": 3.0}, "hessian": {"kind": "spherical"},
           "device": "cpu", "theory": False, "logging": {"progress": False},
           "solver": {"name": "iterative", "k": 10, "basis_size": 18, "tol": 1e-8,
                      "mixed_precision": False}}
    with pytest.raises(ConfigError, match="k \\+ 2 \\* block_size = 22"):
        validate(cfg)
    cfg["solver"]["basis_size"] = 22
    assert validate(cfg).config.solver.basis_size == 22
    cfg["solver"]["basis_size"] = 60
    m = run_study(cfg).record["metrics"]
    assert m["solver_info"]["converged"] and m["solver_info"]["block_size"] == 6


def test_float32_products_resolve_the_block_the_solver_would_choose():
    """p = 4 on the CPU: float32 products (mixed precision or dtype=float32) take blocks of 8,
    float64 products 4; the resolved block is the one the solver picks on its own."""
    from bbp_torch.config import SolverConfig
    from bbp_torch.hessian import HessianOperator
    from bbp_torch.model import make_problem
    from bbp_torch.spectrum.lanczos import iterative_bottom

    base = {"problem": {"N": 100, "p": 4, "alpha": 3.0}, "device": "cpu",
            "solver": {"name": "iterative", "k": 8, "mixed_precision": False}}
    blocks = {}
    for name, extra in [("float64", {}), ("mixed", {"solver": {"name": "iterative", "k": 8,
                                                               "mixed_precision": True}}),
                        ("float32", {"dtype": "float32"})]:
        blocks[name] = validate({**base, **extra}).config.solver.block_size
    assert blocks == {"float64": 4, "mixed": 8, "float32": 8}
    problem = make_problem(100, 4, 1, 3.0, 0.7, seed=2, dtype=torch.float32)
    own = iterative_bottom(HessianOperator(problem), SolverConfig(name="iterative", k=8),
                           units=4)
    assert own.info["block_size"] == blocks["float32"]


def test_mixed_precision_auto_is_on_when_its_float32_copy_of_x_fits(compose):
    """``auto`` (the default) turns mixed precision on for the iterative solver when the run
    with it, its float32 copy of X included, fits the memory limit; off just below that, for
    the dense solver, dtype=float32 and the autograd product; true/false force it."""
    from bbp_torch.config import memory_gb

    base = ["solver=iterative", "problem.N=200", "problem.p=2", "device=cpu"]
    on = validate(compose(base + ["solver.mixed_precision=true"]))
    off = validate(compose(base + ["solver.mixed_precision=false"]))
    need = memory_gb(on)
    assert need > memory_gb(off)  # the float32 copy of X and the refinement basis
    for limit, mixed in [(need * 1.01, True), (need * 0.99, False)]:
        r = validate(compose(base + [f"solver.max_memory_gb={limit}"]))
        assert r.config.solver.mixed_precision is mixed
        assert r.config.solver.block_size == (on if mixed else off).config.solver.block_size
    assert validate(compose(base)).config.solver.mixed_precision is True  # default: auto
    for extra in (["solver=dense"], ["dtype=float32"], ["hessian.product=autograd"]):
        assert validate(compose(base + extra)).config.solver.mixed_precision is False
    forced = validate(compose(base + [f"solver.max_memory_gb={need * 0.99}",
                                      "solver.mixed_precision=false"]))
    assert forced.config.solver.mixed_precision is False
    with pytest.raises(ConfigError, match="solver.max_memory_gb"):  # true is not dropped
        validate(compose(base + [f"solver.max_memory_gb={need * 0.99}",
                                 "solver.mixed_precision=true"]))


def test_mixed_precision_other_than_auto_true_false_is_refused(compose):
    with pytest.raises(ConfigError, match="solver.mixed_precision=auto \\(default\\), true"):
        validate(compose(["solver=iterative", "solver.mixed_precision=maybe"]))
    assert validate({"solver": {"name": "iterative", "mixed_precision": False}}
                    ).config.solver.mixed_precision is False


# ----------------------------------------------------------------------------- training


def small_train_config(**train):
    return {"problem": {"N": 40, "p": 2, "p_star": 1, "alpha": 3.0, "a": 0.7}, "seed": 0,
            "device": "cpu", "train": {"steps": 200, "track_every": 50, **train}}


@pytest.mark.parametrize(
    ("train", "field"),
    [({"method": "adam"}, "train.method"), ({"lr": -1.0}, "train.lr"),
     ({"init": "teacher"}, "train.init"), ({"steps": "many"}, "train.steps"),
     ({"hessian_every": 30}, "train.hessian_every"), ({"bogus": 1}, "train.bogus")],
)
def test_training_validation_names_the_field(train, field):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        validate(small_train_config(**train), TrainRunConfig)


def test_riemannian_hessian_needs_the_spherical_method():
    cfg = {**small_train_config(method="gd"), "hessian": {"kind": "spherical"}}
    with pytest.raises(ConfigError, match="train.method"):
        validate(cfg, TrainRunConfig)


def test_the_bbp_schema_has_no_train_group():
    with pytest.raises(ConfigError, match="train"):
        validate(small_train_config(), Config)
