"""The schema (bbp_torch.config.schema): each field carries its help, check and fix; the
choices come from the registries (a fake activation or Hessian kind added in a test is accepted
and listed in the help); the composed defaults and the presets and launchers of conf/."""

import math
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from bbp_torch.activations import ACTIVATIONS, Activation
from bbp_torch.cli.app import check_overrides, help_text
from bbp_torch.cli.bbp import APP
from bbp_torch.cli.train import APP as TRAIN_APP
from bbp_torch.config import (
    CONFIG_DIR,
    FIELDS,
    Config,
    ConfigError,
    TrainRunConfig,
    check_field,
    schema_fields,
    validate,
)
from bbp_torch.config.schema import FieldSpec, spec_of


def test_every_field_carries_its_spec_and_fields_is_read_from_it():
    """No second table: FIELDS holds the very FieldSpec objects of the dataclass fields, one per
    leaf field of either app, each with a help text and, when it can be refused, a fix."""
    leaves = dict(schema_fields(TrainRunConfig))
    assert set(FIELDS) == set(leaves) and set(dict(schema_fields(Config))) < set(FIELDS)
    for name, f in leaves.items():
        spec = spec_of(f)
        assert FIELDS[name] is spec and isinstance(spec, FieldSpec)
        assert spec.doc, name
        if spec.check is not None or spec.choices is not None:
            assert spec.fix, f"{name} can be refused but has no fix"
    # the subclass's own default of `name` keeps the field's spec
    assert spec_of(next(f for f in fields(TrainRunConfig) if f.name == "name")).fix


def test_the_help_shows_every_fields_text():
    text = help_text(TRAIN_APP)
    for name, spec in FIELDS.items():
        assert f"  {name}=" in text and spec.doc in text, name


@pytest.mark.parametrize(("name", "registry"), [
    ("problem.activation", lambda: tuple(ACTIVATIONS)),
    ("hessian.kind", lambda: __import__("bbp_torch.hessian").hessian.KINDS),
    ("hessian.product", lambda: __import__("bbp_torch.hessian").hessian.PRODUCTS),
    ("solver.name", lambda: (*__import__("bbp_torch.spectrum").spectrum.solver_names(), "auto")),
    ("train.method", lambda: __import__("bbp_torch.training").training.METHODS),
    ("train.init", lambda: __import__("bbp_torch.training").training.INITS),
])
def test_the_choices_of_a_field_are_its_registry(name, registry):
    assert FIELDS[name].choices() == tuple(registry())
    for value in registry():
        check_field(name, value)
    with pytest.raises(ConfigError, match=rf"Invalid {name}='nope': use one of "
                       rf"{', '.join(registry())}\."):
        check_field(name, "nope")


@pytest.fixture
def softplus(monkeypatch):
    """An activation registered for one test: softplus, labels in (0, inf)."""
    act = Activation("softplus", torch.nn.functional.softplus, torch.sigmoid,
                     lambda h: torch.sigmoid(h) * (1 - torch.sigmoid(h)), 0.0, math.inf)
    monkeypatch.setitem(ACTIVATIONS, "softplus", act)
    return act


def test_an_activation_added_to_the_registry_is_accepted_and_listed(softplus):
    """Adding an activation is one entry of ACTIVATIONS: the config accepts it, the command line
    check too, the help lists it, a refusal names it among the choices, and a run uses it."""
    from bbp_torch.study import run_study

    cfg = {"problem": {"N": 20, "p": 2, "alpha": 3.0, "activation": "softplus"},
           "device": "cpu", "theory": False, "logging": {"progress": False}}
    assert validate(cfg).config.problem.activation == "softplus"
    check_overrides(APP, ["problem.activation=softplus"])
    assert "softplus" in help_text(APP) and "softplus" in FIELDS["problem.activation"].doc
    with pytest.raises(ConfigError, match="problem.activation.*erf, softplus"):
        validate({"problem": {"activation": "cube"}})
    metrics = run_study(cfg).record["metrics"]
    assert metrics["converged"] and len(metrics["bottom_eigenvalues"]) >= 1


def test_a_hessian_kind_added_to_the_registry_is_accepted_and_listed(monkeypatch):
    from bbp_torch.operators import registry as hessian

    monkeypatch.setattr(hessian, "KINDS", (*hessian.KINDS, "fancy"))
    check_field("hessian.kind", "fancy")
    check_field("train.track_hessian", "fancy")
    assert "fancy" in FIELDS["hessian.kind"].doc
    assert "fancy" in help_text(APP)


def test_a_registered_solver_is_listed_in_the_help():
    from bbp_torch.spectrum.registry import register_solver, unregister_solver

    register_solver("my_solver", "bbp_torch.spectrum.dense:solve")
    try:
        assert "my_solver" in FIELDS["solver.name"].doc and "my_solver" in help_text(APP)
        check_field("solver.name", "my_solver")
    finally:
        unregister_solver("my_solver")
    with pytest.raises(ConfigError, match="solver.name"):
        check_field("solver.name", "my_solver")


def test_the_config_imports_no_torch(subprocess_env):
    """The schema, its help and the checks of plain fields load no torch (the registries do,
    when a choice is asked for)."""
    code = ("import sys, bbp_torch.config as c; c.check_field('problem.N', 10); "
            "c.FIELDS['problem.N'].doc; assert 'torch' not in sys.modules; print('ok')")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=subprocess_env)
    assert proc.stdout.strip() == "ok", proc.stderr[-2000:]


def test_default_config_composes_and_validates(compose):
    cfg = compose()
    c = validate(cfg).config
    assert (c.problem.N, c.problem.p, c.problem.p_star) == (400, 2, 1)
    assert (c.problem.a, c.problem.alpha, c.seed) == (0.7, 3.0, 0)
    assert c.hessian.kind == "euclidean" and c.solver.name == "dense"
    assert c.solver.k >= c.problem.p * c.problem.p_star + 1




# ----------------------------------------------------------------------------- conf/


def presets():
    return sorted(p.stem for p in (Path(CONFIG_DIR) / "experiment").glob("*.yaml"))


def preset_app(name: str) -> str:
    """The app a preset belongs to: bbp-train for the presets that set the train group."""
    preset = OmegaConf.load(Path(CONFIG_DIR, "experiment", f"{name}.yaml"))
    return "bbp-train" if "train" in preset else "bbp"


def test_the_presets_of_both_apps_are_there():
    apps = {name: preset_app(name) for name in presets()}
    assert apps.get("train_success") == "bbp-train"
    assert "fig1_overlap" in apps and apps["fig1_overlap"] == "bbp"


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
    if app == "bbp-train":
        preset = OmegaConf.load(Path(CONFIG_DIR, "experiment", f"{name}.yaml"))
        for key, value in preset.train.items():  # the preset's train group reached the run
            assert getattr(resolved.config.train, key) == value, key


def test_slurm_launcher_config_composes(compose):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    cfg = compose(["hydra/launcher=slurm"], hydra=True)
    assert "submitit" in cfg.hydra.launcher._target_
    assert cfg.hydra.launcher.timeout_min > 0
