"""The configuration of both apps: one schema, its derived defaults, and the only validation.

* :mod:`.schema` - the dataclasses (:class:`Config` for ``bbp``, :class:`TrainRunConfig` for
  ``bbp-train``); each field carries its help text, check and fix (:func:`.schema.setting`),
  and the choices of a field come from their registry (activations, Hessian kinds, solvers);
* :mod:`.validation` - :func:`validate`: every check, the rules between fields, the derived
  defaults decided once (:class:`Resolved`), the memory guards;
* :mod:`.resources` - cores and threads, devices, physical memory, the memory models.

The names below are re-exported here; the solver tuning rules are those of
:mod:`bbp_torch.spectrum.tuning`, ``CONFIG_DIR`` that of :mod:`bbp_torch.paths`. Patch a name in
its defining module (``bbp_torch.config.resources.total_memory_gb``, ...), not here.
"""

from bbp_torch.config.resources import (
    BYTES,
    available_cores,
    dense_memory_gb,
    iterative_memory_gb,
    parallel_jobs,
    physical_memory_gb,
    resolve_device_name,
    resolve_threads,
    total_memory_gb,
)
from bbp_torch.config.schema import (
    FIELDS,
    GROUP_OPTIONS,
    MAX_ALPHA,
    MAX_LOSS_CONSTANT,
    MAX_NAME,
    MAX_SEED,
    NOT_IDENTIFYING,
    SCHEMA_NAMES,
    SEEDS_MAX,
    Config,
    FieldSpec,
    HessianConfig,
    LoggingConfig,
    ProblemConfig,
    SolverConfig,
    TrainConfig,
    TrainRunConfig,
    folder_excluded_keys,
    leaf_values,
    register_configs,
    run_identity,
    schema_fields,
    setting,
)
from bbp_torch.config.validation import (
    ConfigError,
    Resolved,
    check_field,
    check_memory,
    largest_alpha,
    memory_gb,
    memory_limit_gb,
    plain_values,
    to_schema,
    tracked_hessian_kind,
    validate,
)
from bbp_torch.paths import CONFIG_DIR  # conf/: the checkout's or the wheel's
from bbp_torch.spectrum.tuning import (
    default_basis_size,
    default_block_size,
    default_k,
    default_tol,
    refinement_basis_size,
    smallest_tol,
    solver_block_size,
    solver_for,
)

__all__ = [
    "BYTES", "CONFIG_DIR", "FIELDS", "GROUP_OPTIONS", "MAX_ALPHA", "MAX_LOSS_CONSTANT",
    "MAX_NAME", "MAX_SEED", "NOT_IDENTIFYING", "SCHEMA_NAMES", "SEEDS_MAX",
    "Config", "ConfigError", "FieldSpec", "HessianConfig", "LoggingConfig", "ProblemConfig",
    "Resolved", "SolverConfig", "TrainConfig", "TrainRunConfig",
    "available_cores", "check_field", "check_memory", "default_basis_size",
    "default_block_size", "default_k", "default_tol", "dense_memory_gb",
    "folder_excluded_keys", "iterative_memory_gb", "largest_alpha", "leaf_values", "memory_gb",
    "memory_limit_gb", "parallel_jobs", "physical_memory_gb", "plain_values",
    "refinement_basis_size", "register_configs", "resolve_device_name", "resolve_threads",
    "run_identity", "schema_fields", "setting", "smallest_tol", "solver_block_size",
    "solver_for", "to_schema", "total_memory_gb", "tracked_hessian_kind", "validate",
]
