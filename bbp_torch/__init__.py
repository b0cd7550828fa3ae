"""bbp_torch: Hessian spectra at initialization in overparametrized two-layer networks.

The pipeline of one run (:func:`bbp_torch.study.run_study`): ``config.validate`` ->
``model.make_problem`` -> ``hessian.HessianOperator`` -> ``spectrum.bottom_eigenpairs`` ->
``observables.measure`` (+ ``theory``) -> record; :func:`bbp_torch.jobs.run_job` runs it as a job
(lock, skip, TensorBoard, ``record.json``, error records) for every command.

The Python face, for a script or a notebook (``examples/`` has worked examples)::

    from bbp_torch import Config, ProblemConfig, run_study, theory
    result = run_study(Config(problem=ProblemConfig(N=200, alpha=2.0)))
    result.record["metrics"]["overlap"], theory.overlap(2, 1, 0.7, 2.0)

Each name below is imported on first use, so that ``import bbp_torch`` (and every command)
stays fast: the pipelines load torch, the tables pandas.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {  # name -> the module that defines it
    # one run: the study and the descent, and what they return
    "run_study": "bbp_torch.study",
    "run_training": "bbp_torch.study",
    "StudyResult": "bbp_torch.study",
    "TrainResult": "bbp_torch.study",
    # the configuration: the schema of bbp (Config) and bbp-train (TrainRunConfig), its groups
    "Config": "bbp_torch.config",
    "TrainRunConfig": "bbp_torch.config",
    "ProblemConfig": "bbp_torch.config",
    "HessianConfig": "bbp_torch.config",
    "SolverConfig": "bbp_torch.config",
    "LoggingConfig": "bbp_torch.config",
    "TrainConfig": "bbp_torch.config",
    "ConfigError": "bbp_torch.config",
    "validate": "bbp_torch.config",
    # records and sweeps read back as tables
    "load_table": "bbp_torch.results",
    "read_record": "bbp_torch.results",
    "collect": "bbp_torch.sweeps",
}
_MODULES = ("theory",)  # the N = infinity theory, as a module: bbp_torch.theory.alpha_bbp(...)

__all__ = ["__version__", *_EXPORTS, *_MODULES]


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    elif name in _MODULES:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # imported once
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
