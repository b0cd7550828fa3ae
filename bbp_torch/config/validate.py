"""The configuration: one schema, its derived defaults, and the only validation.

The dataclasses below are the schema of both Hydra apps (``bbp``: :class:`Config`;
``bbp-train``: :class:`TrainRunConfig`), registered with Hydra's ConfigStore by
:func:`register_configs`; ``conf/`` holds only what differs from them (presets, launchers, Hydra's
own settings). :func:`validate` is pure: it turns a Hydra/OmegaConf config, a dict or a
dataclass into a new :class:`Resolved`, in which every derived default (``k``, ``tol``, ``M``,
the ``auto`` choices, block and basis size, the thread count) is decided, here and nowhere else.
Every failure is a :class:`ConfigError` whose message names the field and the fix, raised
before any expensive work.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import MISSING, asdict, dataclass, field, fields, is_dataclass, replace
from typing import Any

from bbp_torch.paths import CONFIG_DIR  # noqa: F401 (conf/: the checkout's or the wheel's)
from bbp_torch.spectrum.registry import solver_names
from bbp_torch.spectrum.tuning import (  # noqa: F401 (the solver tuning, re-exported)
    default_basis_size,
    default_block_size,
    default_k,
    default_tol,
    refinement_basis_size,
    smallest_tol,
    solver_block_size,
    solver_for,
)

BYTES = {"float64": 8, "float32": 4}


class ConfigError(ValueError):
    """A user mistake in the configuration; the message names the field and the fix."""


# ============================================================================ the schema


@dataclass
class ProblemConfig:
    N: int = 400
    p: int = 2
    p_star: int = 1
    alpha: float = 3.0
    a: float = 0.7
    activation: str = "quadratic"


@dataclass
class HessianConfig:
    kind: str = "euclidean"
    product: str = "closed_form"


@dataclass
class SolverConfig:
    name: str = "dense"
    k: int | None = None
    tol: float | None = None
    max_iter: int = 1000
    full_spectrum: bool = True
    all_vectors: bool = False
    max_memory_gb: float | None = None
    auto_max_dim: int = 6000
    chunk_size: int | None = None
    block_size: int | None = None
    basis_size: int | None = None
    mixed_precision: Any = "auto"  # auto, true or false; validate() makes it a bool
    slq_probes: int = 0
    slq_steps: int = 60


@dataclass
class LoggingConfig:
    tensorboard: bool = True
    histogram_bins: int = 60
    figures: bool = True
    progress: bool = True


@dataclass
class Config:
    """The schema of ``bbp`` (one run of the core study)."""

    problem: ProblemConfig = field(default_factory=ProblemConfig)
    hessian: HessianConfig = field(default_factory=HessianConfig)
    solver: SolverConfig = field(default_factory=SolverConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    name: str = "default"
    seed: int = 0
    seeds: int = 1
    device: str = "auto"
    dtype: str = "float64"
    data_dtype: str | None = None
    threads: int | None = None
    theory: bool = True
    force: bool = False


@dataclass
class TrainConfig:
    method: str = "spherical_gd"
    lr: float = 0.1
    steps: int = 3000
    init: str = "random"
    track_every: int = 100
    hessian_every: int | None = None
    track_hessian: str = "auto"
    gen_tol: float = 1e-2
    loss_tol: float = 1e-12
    plateau_tol: float = 0.0
    plateau_window: int = 10
    n_test: int = 4000


@dataclass
class TrainRunConfig(Config):
    """The schema of ``bbp-train``: the core study's fields plus the ``train`` group."""

    name: str = "train"
    train: TrainConfig = field(default_factory=TrainConfig)


# The option groups of the apps: ``solver=iterative``, ``hessian=spherical``.
GROUP_OPTIONS: dict[str, dict[str, Any]] = {
    "solver": {
        "dense": SolverConfig(),
        "iterative": SolverConfig(name="iterative", full_spectrum=False, slq_probes=4),
        "auto": SolverConfig(name="auto", slq_probes=4),
    },
    "hessian": {"euclidean": HessianConfig(), "spherical": HessianConfig(kind="spherical")},
}
SCHEMA_NAMES = {Config: "bbp_schema", TrainRunConfig: "bbp_train_schema"}


def register_configs() -> None:
    """Register both schemas and the group options with Hydra's ConfigStore, and the resolvers
    that ``conf/`` uses (``or_default``, ``bbp_parallel_jobs``, ``bbp_not_identifying``).
    Idempotent; every composition of the apps' configs (the commands, the figure runners, the
    tests) calls it first."""
    from hydra.core.config_store import ConfigStore
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver("or_default"):
        OmegaConf.register_new_resolver("or_default", lambda value, default: value or default)
    if not OmegaConf.has_resolver("bbp_parallel_jobs"):
        OmegaConf.register_new_resolver("bbp_parallel_jobs", parallel_jobs)
    if not OmegaConf.has_resolver("bbp_not_identifying"):
        OmegaConf.register_new_resolver("bbp_not_identifying", folder_excluded_keys)
    store = ConfigStore.instance()
    for schema, name in SCHEMA_NAMES.items():
        store.store(name=name, node=schema)
    for group, options in GROUP_OPTIONS.items():
        for name, node in options.items():
            store.store(group=group, name=name, node=node)


# ============================================================================ field rules


@dataclass(frozen=True)
class FieldSpec:
    """What a field means and which values it accepts.

    ``check(value)`` returns what is wrong with ``value`` (a phrase) or None; ``fix`` is the
    advice printed after it. Checks see one field alone; rules between fields live in
    :func:`validate`.
    """

    doc: str
    check: Callable[[Any], str | None] | None = None
    fix: str = ""


def _choice(*options: str) -> Callable[[Any], str | None]:
    return lambda v: None if v in options else f"use one of {', '.join(options)}"


def _int_range(lo: int, hi: int | None = None) -> Callable[[Any], str | None]:
    def check(v):
        if v < lo:
            return f"must be at least {lo}"
        if hi is not None and v > hi:
            return f"must be at most {hi}"
        return None

    return check


def _open_range(lo: float, hi: float) -> Callable[[Any], str | None]:
    return lambda v: None if lo < v < hi else f"must lie strictly between {lo:g} and {hi:g}"


def _positive_at_most(hi: float) -> Callable[[Any], str | None]:
    return lambda v: None if 0 < v <= hi else f"must be positive and at most {hi:g}"


def _auto_or_bool(v) -> str | None:
    return None if v == "auto" or isinstance(v, bool) else "use one of auto, true, false"


def _at_least_zero(v) -> str | None:
    return None if v >= 0 else "cannot be negative"


def _loss_constant(v) -> str | None:
    """``a`` must be positive for every activation (each has labels >= 0 or > -1) and not so
    large that every weight ``1/(a + y)`` is a rounding error of ``1/a``."""
    if v > MAX_LOSS_CONSTANT:
        return f"must be at most {MAX_LOSS_CONSTANT:g} (beyond it 1/(a + y) is 1/a to rounding)"
    if v <= 0:
        from bbp_torch.activations import ACTIVATIONS

        floors = ", ".join(f"{name} a > {act.smallest_a():g}" for name, act in
                           ACTIVATIONS.items())
        return f"must be positive: a + y must stay positive for every label ({floors})"
    return None


def _device(v) -> str | None:
    if v in ("auto", "cpu", "cuda") or re.fullmatch(r"cuda:\d+", str(v)):
        return None
    return "unknown device; use auto, cpu, cuda or cuda:K"


def _folder_name(v) -> str | None:
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.=,+-]*", str(v)):
        return "names a folder: letters, digits and _ . = , + - only, not starting with a dot"
    if len(str(v)) > MAX_NAME:
        return f"names a folder: at most {MAX_NAME} characters, not {len(str(v))}"
    return None


MAX_SEED = 2**32 - 1
SEEDS_MAX = 100_000  # seeds one job may run
MAX_NAME = 200  # characters of name=: a folder name, with room to spare under the 255 allowed
MAX_LOSS_CONSTANT = 1e6  # beyond it every weight 1/(a + y) is a rounding error of 1/a
MAX_ALPHA = 1e6

FIELDS: dict[str, FieldSpec] = {
    "problem.N": FieldSpec("input dimension", _int_range(2), "Set problem.N=400, say."),
    "problem.p": FieldSpec("student hidden units", _int_range(1),
                           "Set problem.p=1 (phase retrieval) or larger."),
    "problem.p_star": FieldSpec("teacher hidden units", _int_range(1),
                                "Set problem.p_star=1 or larger."),
    "problem.alpha": FieldSpec("data ratio M/N", _positive_at_most(MAX_ALPHA),
                               "Set problem.alpha=3, say."),
    "problem.a": FieldSpec("loss constant in 1/(a + y)", _loss_constant,
                           "Set problem.a=0.7, say (problem.a=50 for tanh)."),
    "problem.activation": FieldSpec("activation of teacher and student: quadratic (the theory's "
                                    "model), tanh, sigmoid, relu or erf",
                                    _choice("quadratic", "tanh", "sigmoid", "relu", "erf"),
                                    "Set problem.activation=quadratic (default) or tanh, ..."),
    "hessian.kind": FieldSpec("euclidean, or spherical (Riemannian, on |w_k|^2 = N)",
                              _choice("euclidean", "spherical"),
                              "Set hessian.kind=euclidean (default) or spherical."),
    "hessian.product": FieldSpec("closed_form, or autograd (Hessian-vector products of the "
                                 "student module by torch.func: no closed form needed)",
                                 _choice("closed_form", "autograd"),
                                 "Set hessian.product=closed_form (default) or autograd."),
    "solver.name": FieldSpec("a registered solver (dense; iterative: matrix-free block "
                             "Lanczos; ...) or auto (dense or iterative by size)",
                             lambda v: _choice(*solver_names(), "auto")(v),
                             "Set solver.name=dense for small problems."),
    "solver.k": FieldSpec("bottom eigenpairs; null = max(8, p*p_star + 4)", _int_range(1),
                          "Set solver.k=8, or null for the default."),
    "solver.tol": FieldSpec("relative residual every returned pair must meet; null = 1e-8 "
                            "(float64), 1e-5 (float32)", _open_range(0.0, 1.0),
                            "Set solver.tol=1e-8, or null for the default."),
    "solver.max_iter": FieldSpec("iterative: operator calls (block steps) at most", _int_range(1),
                                 "Set solver.max_iter=1000."),
    "solver.full_spectrum": FieldSpec("dense: every eigenvalue too (histogram, figures)"),
    "solver.all_vectors": FieldSpec("dense: every eigenvector too (which one has the largest "
                                    "teacher overlap: metrics.best_overlap_index)"),
    "solver.max_memory_gb": FieldSpec("memory allowed; null = 80% of the device's",
                                      _positive_at_most(1e9),
                                      "Set solver.max_memory_gb=8, say, or null."),
    "solver.auto_max_dim": FieldSpec("solver=auto: dense up to this p*N, iterative above",
                                     _int_range(1), "Set solver.auto_max_dim=6000."),
    "solver.chunk_size": FieldSpec("samples per chunk of the matrix-free product; null = "
                                   "cache-sized", _int_range(1),
                                   "Set solver.chunk_size=4096, say, or null."),
    "solver.block_size": FieldSpec("iterative: vectors per block; null = max(4, 16 // p) on "
                                   "CPU, 16 on GPU",
                                   _int_range(1, 4096), "Set solver.block_size=4, or null."),
    "solver.basis_size": FieldSpec("iterative: basis before a restart; null = max(3k, k + 320)",
                                   _int_range(2), "Set solver.basis_size=400, or null."),
    "solver.mixed_precision": FieldSpec("iterative: float32 products first, float64 to finish; "
                                        "auto = on when the iterative solver runs float64 "
                                        "closed-form products and the float32 copy of X fits "
                                        "the memory limit", _auto_or_bool,
                                        "Set solver.mixed_precision=auto (default), true or "
                                        "false."),
    "solver.slq_probes": FieldSpec("iterative: probes of the SLQ density (0 = none)",
                                   _int_range(0, 10_000), "Set solver.slq_probes=4, or 0."),
    "solver.slq_steps": FieldSpec("iterative: Lanczos steps per SLQ probe",
                                  _int_range(0, 10_000), "Set solver.slq_steps=60."),
    "logging.tensorboard": FieldSpec("write TensorBoard events into the run folder"),
    "logging.histogram_bins": FieldSpec("bins of the eigenvalue histogram",
                                        _int_range(1, 100_000), "Set logging.histogram_bins=60."),
    "logging.figures": FieldSpec("draw the spectrum figure into TensorBoard"),
    "logging.progress": FieldSpec("progress bars and summaries"),
    "name": FieldSpec("names the sweep folder outputs/multirun/<name>/", _folder_name,
                      "Set name=my_sweep, say."),
    "seed": FieldSpec("one seed, split into teacher, student and data streams",
                      _int_range(0, MAX_SEED), f"Set seed to an integer in [0, {MAX_SEED}]."),
    "seeds": FieldSpec("how many consecutive seeds from seed one job runs; each writes the "
                       "record and folder of its own run seed=s (in a sweep the folder of "
                       "seed=s, in a single run its subfolder seed=s); small dense problems "
                       "share one batched eigh", _int_range(1, SEEDS_MAX),
                       "Set seeds=1 (one seed per job) or to the number of seeds, e.g. "
                       "seed=0 seeds=20."),
    "device": FieldSpec("auto (CUDA when present), cpu, cuda, cuda:K", _device,
                        "Set device=auto to use CUDA when present and the CPU otherwise."),
    "dtype": FieldSpec("arithmetic precision", _choice("float64", "float32"),
                       "Set dtype=float64."),
    "data_dtype": FieldSpec("storage precision of X; null = dtype", _choice("float64", "float32"),
                            "Set data_dtype=float32 to halve the memory of X, or null."),
    "threads": FieldSpec("BLAS/torch threads of a run; null = every core this process may use",
                         _int_range(1, 4096), "Set threads=1, say, or null."),
    "theory": FieldSpec("add the N = infinity predictions to the record"),
    "force": FieldSpec("recompute even when the run folder holds a finished record"),
    "train.method": FieldSpec("gd (weight space) or spherical_gd (Riemannian step)",
                              _choice("gd", "spherical_gd"),
                              "Set train.method=gd or train.method=spherical_gd."),
    "train.lr": FieldSpec("learning rate in natural units: eta = lr * p * N / M",
                          _positive_at_most(1e6), "Set train.lr=0.1, say."),
    "train.steps": FieldSpec("step budget", _int_range(0, 10**9), "Set train.steps=3000."),
    "train.init": FieldSpec("random, or spectral (from the bottom p*p_star Hessian "
                            "eigenvectors at init)", _choice("random", "spectral"),
                            "Set train.init=random or train.init=spectral."),
    "train.track_every": FieldSpec("steps between measurements", _int_range(1),
                                   "Set train.track_every=100, say."),
    "train.hessian_every": FieldSpec("steps between Hessians (a multiple of track_every); "
                                     "null = track_every; 0 = first and last step only",
                                     _int_range(0), "Set it to a multiple of train.track_every, "
                                     "to 0 or to null."),
    "train.track_hessian": FieldSpec(
        "the Hessian of every eigensolve of the run (at init and along the descent): auto "
        "(spherical for train.method=spherical_gd, the landscape the descent sees; else "
        "euclidean), euclidean or spherical; the record holds the resolved value, which also "
        "sets hessian.kind", _choice("auto", "euclidean", "spherical"),
        "Set train.track_hessian=auto, euclidean or spherical."),
    "train.plateau_tol": FieldSpec(
        "stop a stalled descent (stop_reason plateau): at a tracked step, when the per-sample "
        "training loss changed by at most plateau_tol times its value over the last "
        "train.plateau_window tracked steps; metrics.plateau_step is the first step of that "
        "window; 0 = never", _at_least_zero, "Use 0 to never stop on it, or 1e-4, say."),
    "train.plateau_window": FieldSpec("tracked steps over which train.plateau_tol is judged",
                                      _int_range(1), "Set train.plateau_window=10, say."),
    "train.gen_tol": FieldSpec("stop, and count as a success, when the gen. error is below it",
                               _at_least_zero, "Use 0 to never stop on it."),
    "train.loss_tol": FieldSpec("stop when the per-sample training loss is below it",
                                _at_least_zero, "Use 0 to never stop on it."),
    "train.n_test": FieldSpec("fresh samples for the generalization error",
                              _int_range(1), "Set train.n_test=4000."),
}


def _fail(name: str, value: Any, requirement: str, fix: str) -> None:
    raise ConfigError(f"Invalid {name}={value!r}: {requirement}. {fix}".rstrip())


def check_field(name: str, value: Any) -> None:
    """The rules of field ``name`` alone (finite numbers, ranges, choices); raises ConfigError.

    ``None`` passes for the fields whose default is null (the schema's types decide that).
    """
    spec = FIELDS[name]
    if value is None:
        return
    if isinstance(value, float) and not math.isfinite(value):
        _fail(name, value, "must be a finite number", spec.fix)
    if spec.check is not None and (problem := spec.check(value)):
        _fail(name, value, problem, spec.fix)


def schema_fields(schema: type, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every leaf field of ``schema`` as ``(dotted name, dataclasses.Field)``."""
    for f in fields(schema):
        default = f.default_factory() if f.default_factory is not MISSING else f.default
        if is_dataclass(default):
            yield from schema_fields(type(default), f"{prefix}{f.name}.")
        else:
            yield f"{prefix}{f.name}", f


def leaf_values(obj: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every leaf value of a config dataclass instance as ``(dotted name, value)``."""
    for f in fields(obj):
        value = getattr(obj, f.name)
        if is_dataclass(value):
            yield from leaf_values(value, f"{prefix}{f.name}.")
        else:
            yield f"{prefix}{f.name}", value


# ============================================================================ derived defaults


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity; SLURM's allocation on a cluster)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


def resolve_threads(threads: int | None) -> int:
    """The thread rule, the same for a run alone and inside a sweep: ``threads`` when set,
    else every core this process may use. A local sweep runs ``cores // threads`` jobs at once
    (:func:`parallel_jobs`), so jobs never oversubscribe the cores."""
    return threads if threads is not None else available_cores()


def parallel_jobs(threads: int | None) -> int:
    """How many jobs a local sweep runs at once: ``cores // threads`` (at least one)."""
    return max(1, available_cores() // resolve_threads(threads))


def resolve_device_name(device: str) -> str:
    """``auto`` -> ``cuda`` when CUDA is present, else ``cpu``; other names unchanged."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def physical_memory_gb() -> float:
    """Total physical memory of this machine, in GB."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 16.0


def total_memory_gb(device: str) -> float:
    """Total memory of the device a run will use (``auto``: CUDA when present), in GB."""
    device = resolve_device_name(device)
    if device == "cpu":
        return physical_memory_gb()
    import torch

    return torch.cuda.get_device_properties(torch.device(device)).total_memory / 1e9


def dense_memory_gb(N: int, p: int, M: int, dtype: str, full_spectrum: bool,
                    all_vectors: bool = False) -> float:
    """Peak memory of the dense path: ``H``, its factorisation workspace and the data.

    ``H`` is ``(pN)^2`` numbers; the solver needs a copy plus workspace (counted as two more
    copies, one more for every eigenvector), and ``X`` is ``M N`` numbers.
    """
    n = p * N
    copies = 4 if all_vectors else 3 if full_spectrum else 2.5
    return (copies * n * n + M * N) * BYTES[dtype] / 1e9


def iterative_memory_gb(N: int, p: int, M: int, dtype: str, data_dtype: str, k: int,
                        block_size: int, basis_size: int, slq_probes: int = 0,
                        slq_steps: int = 0, mixed_precision: bool = False) -> float:
    """Peak memory of the matrix-free path: ``X``, the Lanczos basis and work blocks.

    ``X`` is ``M N`` numbers in ``data_dtype``; the block Lanczos basis ``basis + block``
    vectors of size ``pN`` (a thick restart rotates it in place), plus about ``7 block + 3 k``
    work and result vectors (the residual check applies the operator to the ``k`` pairs); the
    product's per-sample intermediates, at most ``3 M p block`` numbers; a reorthogonalised SLQ
    run keeps ``slq_steps * slq_probes`` vectors; one cast chunk of ``X`` (at most 256 MiB)
    when ``data_dtype`` differs from ``dtype``; with ``mixed_precision``, on ``X`` wider than
    float32 a float32 copy of ``X`` for the float32 phase, and for the float64 refinement a
    basis with its products (:func:`refinement_basis_size`) in the freed Lanczos basis's place
    plus the ``2k`` next Ritz vectors the float32 phase hands it.
    """
    n = p * N
    basis = (max(basis_size, 2 * refinement_basis_size(basis_size, k)) + 2 * k
             if mixed_precision else basis_size)
    vectors = basis + 7 * block_size + 3 * k + slq_steps * slq_probes
    per_sample = 3 * M * p * block_size
    cast = min(256 * 2**20, M * N * BYTES[dtype]) if data_dtype != dtype else 0
    if mixed_precision and BYTES[data_dtype] > BYTES["float32"]:
        cast = max(cast, M * N * BYTES["float32"])
    return (M * N * BYTES[data_dtype] + (vectors * n + per_sample) * BYTES[dtype] + cast) / 1e9


# ============================================================================ validation


@dataclass(frozen=True)
class Resolved:
    """A validated configuration with every derived default decided.

    ``config`` is a new object (never the caller's) with ``solver.k``, ``solver.tol``,
    ``data_dtype``, ``threads`` and, when the iterative solver runs, ``solver.block_size`` and
    ``solver.basis_size`` filled in; ``M = round(alpha N)``; ``solver`` is ``dense`` or
    ``iterative`` (``solver.name=auto`` decided); ``device`` is ``cpu``, ``cuda`` or ``cuda:K``.
    The record of a run holds these values.
    """

    config: Config
    M: int
    solver: str
    device: str

    @property
    def dim(self) -> int:
        """Dimension ``p N`` of the Hessian."""
        return self.config.problem.p * self.config.problem.N


# Fields (and groups of fields) that do not change a run's numbers: the one list behind both a
# run's identity (a finished record made under other values of these is the same run, which a
# resumed sweep skips) and the names of sweep run folders (Hydra's override_dirname leaves them
# out, through folder_excluded_keys), so that turning TensorBoard on for a rerun finds the runs;
# TensorBoard's HParams leave them out too.
NOT_IDENTIFYING = ("force", "name", "threads", "logging", "solver.max_memory_gb", "device",
                   "seeds")


def folder_excluded_keys() -> list[str]:
    """The override keys a sweep's run folder names leave out: every field of
    :data:`NOT_IDENTIFYING` (each field of a group) in either app, and ``experiment`` (a preset
    names nothing itself: its values are overrides of their own). ``conf/`` reads it through
    the resolver ``${bbp_not_identifying:}``."""
    names = {name for schema in SCHEMA_NAMES for name, _ in schema_fields(schema)}
    keys = {name for name in names for key in NOT_IDENTIFYING
            if name == key or name.startswith(f"{key}.")}
    return ["experiment", *sorted(keys)]


def run_identity(config: dict) -> dict:
    """The part of a recorded config that decides the run's numbers (for skipping)."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in config.items()}
    for key in NOT_IDENTIFYING:
        *parents, leaf = key.split(".")
        node = out
        for part in parents:
            node = node.get(part, {})
        if isinstance(node, dict):
            node.pop(leaf, None)
    return out


def to_schema(cfg: Any, schema: type = Config):
    """Merge ``cfg`` (DictConfig, dict or dataclass) into ``schema``; a new dataclass object.

    An unknown key or a value of the wrong type is a :class:`ConfigError` naming the key. A
    ``hydra`` key (a config composed with ``return_hydra_config``) is left out.
    """
    from omegaconf import DictConfig, OmegaConf
    from omegaconf.errors import ConfigKeyError, OmegaConfBaseException

    if is_dataclass(cfg) and not isinstance(cfg, type):
        cfg = asdict(cfg)
    if not isinstance(cfg, (dict, DictConfig)):
        raise ConfigError(f"Invalid configuration {cfg!r}: give a Config (or TrainRunConfig), a "
                          f"dict or a DictConfig, not a {type(cfg).__name__}.")
    raw = OmegaConf.create(plain_values(cfg)) if not isinstance(cfg, DictConfig) else cfg
    raw = OmegaConf.masked_copy(raw, [k for k in raw if k != "hydra"])
    try:
        return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(schema), raw))
    except ConfigKeyError as err:
        key = getattr(err, "full_key", None) or getattr(err, "key", "?")
        parent = key.rsplit(".", 1)[0] if "." in key else ""
        known = sorted(name.removeprefix(f"{parent}.") for name, _ in schema_fields(schema)
                       if not parent or name.startswith(f"{parent}."))
        known = sorted({k.split(".")[0] for k in known})
        where = f"the {parent} group" if parent else "the configuration"
        raise ConfigError(f"Unknown field {key}: {where} has {', '.join(known)}. Check the "
                          "spelling (bbp --help lists every field).") from None
    except OmegaConfBaseException as err:
        key = getattr(err, "full_key", None) or "config"
        name, spec = key, FIELDS.get(key)
        fix = spec.fix if spec else ""
        why = str(getattr(err, "msg", err)).splitlines()[0]
        raise ConfigError(f"Invalid {name}: {why}. {fix}".rstrip()) from None


def plain_values(cfg: dict, prefix: str = "") -> dict:
    """``cfg`` with numpy and torch scalars (and 0-d arrays and tensors) as Python numbers, so
    that ``alpha=np.float64(2.0)`` from a notebook loop is ``2.0``; any other value that is not
    a number, a string, a bool, None or a group is a :class:`ConfigError` naming the field."""
    out = {}
    for key, value in cfg.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            value = plain_values(value, f"{name}.")
        elif is_dataclass(value) and not isinstance(value, type):
            value = plain_values(asdict(value), f"{name}.")
        elif hasattr(value, "item") and getattr(value, "ndim", None) == 0:
            single = str(getattr(value, "dtype", "")).endswith("float32")
            value = value.item()  # numpy scalars, 0-d arrays and tensors
            if single:  # np.float32(0.7) is 0.7 (its shortest repr), not 0.699999988...
                import numpy as np

                value = float(str(np.float32(value)))
        group = any(f.startswith(f"{name}.") for f in FIELDS)
        if group and not isinstance(value, dict):
            raise ConfigError(f"Invalid {name}={value!r}: {name} is a group of fields; give a "
                              f"dict of them, e.g. {name}=dict(...), or set {name}.FIELD=...")
        if value is not None and not isinstance(value, (bool, int, float, str, dict)):
            spec = FIELDS.get(name)
            raise ConfigError(f"Invalid {name}={value!r}: a {type(value).__name__} is not a "
                              "number, a string, true/false or null. "
                              f"{spec.fix if spec else ''}".rstrip())
        out[key] = value
    return out


def validate(cfg: Any, schema: type | None = None,
             device_memory_gb: float | None = None) -> Resolved:
    """Check every field and every rule between fields; decide the derived defaults.

    ``schema`` is :class:`Config` or :class:`TrainRunConfig` (default: the type of ``cfg``
    when it is one of them, else :class:`Config`). Returns a new :class:`Resolved`; ``cfg`` is
    never changed. A :class:`Resolved` passes through unchanged.
    """
    if isinstance(cfg, Resolved):
        return cfg
    if schema is None:
        schema = type(cfg) if isinstance(cfg, Config) else Config
    c = to_schema(cfg, schema)
    for name, value in leaf_values(c):
        check_field(name, value)
    pr, s = c.problem, c.solver
    dim = pr.p * pr.N
    from bbp_torch.model import n_samples

    M = n_samples(pr.N, pr.alpha)
    if M < 1:
        _fail("problem.alpha", pr.alpha, f"M = round(alpha N) = {M} samples at N={pr.N}",
              f"Set problem.alpha >= {1 / pr.N:.3g}.")
    from bbp_torch.activations import get_activation

    act = get_activation(pr.activation)
    if not pr.a > act.smallest_a():
        _fail("problem.a", pr.a, f"with problem.activation={pr.activation} the labels fill "
              f"{act.range_text()}, and a + y must stay positive for every one of them, so a "
              f"must exceed {act.smallest_a():g}", f"Set problem.a > {act.smallest_a():g} "
              f"(e.g. problem.a={50 if act.smallest_a() >= 1 else 1}).")
    device = resolve_device_name(c.device)
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            _fail("device", c.device, "CUDA is not available on this machine",
                  "Use device=cpu or device=auto.")
    data_dtype = c.data_dtype or c.dtype
    k = default_k(pr.p, pr.p_star, dim) if s.k is None else s.k
    if isinstance(c, TrainRunConfig):
        # the edge estimate along the descent (and the p p* vectors of the spectral start)
        k = max(k, min(dim, pr.p * pr.p_star + 1))
    if k > dim:
        _fail("solver.k", s.k, f"the number of bottom eigenpairs must be at most p*N={dim}",
              "Lower solver.k, or leave it null.")
    tol = default_tol(c.dtype) if s.tol is None else s.tol
    if tol < smallest_tol(c.dtype):
        _fail("solver.tol", s.tol, f"{c.dtype} arithmetic does not resolve relative residuals "
              f"below {smallest_tol(c.dtype):g}", f"Set solver.tol >= {smallest_tol(c.dtype):g}"
              " or null" + (", or use dtype=float64." if c.dtype != "float64" else "."))
    solver = solver_for(s.name, dim, s.auto_max_dim)
    if s.mixed_precision is True and s.name == "dense":
        _fail("solver.mixed_precision", s.mixed_precision,
              "mixed precision is a setting of the iterative solver; the dense one ignores it",
              "Use solver=iterative (or solver=auto), or drop solver.mixed_precision.")
    if s.mixed_precision is True and c.hessian.product == "autograd":
        _fail("solver.mixed_precision", s.mixed_precision,
              "its float32 products are closed-form products; the autograd product runs in "
              "dtype", "Use hessian.product=closed_form, or drop solver.mixed_precision.")
    if s.all_vectors and solver != "dense":
        _fail("solver.all_vectors", s.all_vectors, f"every eigenvector needs the dense solver "
              f"(solver.name={s.name!r} runs the iterative one here)",
              "Use solver=dense, or drop solver.all_vectors (the best overlap is then searched "
              "among the bottom solver.k pairs).")
    if c.seed + c.seeds - 1 > MAX_SEED:
        _fail("seeds", c.seeds, f"the last seed {c.seed + c.seeds - 1} exceeds {MAX_SEED}",
              f"Lower seed or seeds (seed + seeds - 1 <= {MAX_SEED}).")
    if s.slq_probes > 0 and s.slq_steps < 2:
        _fail("solver.slq_steps", s.slq_steps, "an SLQ density needs at least 2 Lanczos steps",
              "Set solver.slq_steps=60, or solver.slq_probes=0 to skip the density.")
    c = replace(c, data_dtype=data_dtype, threads=resolve_threads(c.threads),
                solver=replace(s, k=k, tol=tol))
    resolved = _auto_mixed_precision(Resolved(config=c, M=M, solver=solver, device=device),
                                     device_memory_gb)
    if isinstance(c, TrainRunConfig):
        resolved = replace(resolved, config=_check_training(resolved.config))
    check_memory(resolved, device_memory_gb)
    return resolved


def _with_mixed_precision(r: Resolved, mixed: bool) -> Resolved:
    """``r`` with ``solver.mixed_precision=mixed`` and, on the iterative solver, the block and
    basis sizes that go with it (float32 products take wider blocks)."""
    c = r.config
    s, pr = c.solver, c.problem
    block = basis = None
    if r.solver != "dense":  # the matrix-free sizes (also a registered solver's)
        # products in float32: the first phase of mixed precision, or all of a float32 run
        block = solver_block_size(s.block_size, r.device.split(":")[0], c.hessian.kind, pr.p,
                                  float32_products=mixed or c.dtype == "float32")
        # mixed precision restarts its float64 phase from the k Ritz vectors as one block
        widest = max(block, s.k) if mixed else block
        if s.basis_size is not None and s.basis_size < s.k + 2 * widest:
            _fail("solver.basis_size", s.basis_size,
                  f"the basis must hold k + 2 * block_size = {s.k + 2 * widest} vectors",
                  "Leave solver.basis_size unset or raise it.")
        basis = default_basis_size(s.k, block, r.dim) if s.basis_size is None else s.basis_size
    solver = replace(s, mixed_precision=mixed, block_size=block, basis_size=basis)
    return replace(r, config=replace(c, solver=solver))


def _auto_mixed_precision(r: Resolved, device_memory_gb: float | None = None) -> Resolved:
    """``r`` with ``solver.mixed_precision`` a bool: ``true``/``false`` as given; ``auto`` on
    when the iterative solver runs float64 closed-form products and the run with mixed
    precision (its float32 copy of ``X`` included) fits :func:`memory_limit_gb`, else off
    (the dense solver, ``dtype=float32``, the autograd product, or too little memory)."""
    c = r.config
    if c.solver.mixed_precision != "auto":
        return _with_mixed_precision(r, c.solver.mixed_precision)
    off = _with_mixed_precision(r, False)
    if (r.solver != "iterative" or c.dtype != "float64"
            or c.hessian.product != "closed_form"):
        return off
    try:
        on = _with_mixed_precision(r, True)
    except ConfigError:  # a solver.basis_size too small for the float64 restart block
        return off
    return on if memory_gb(on) <= memory_limit_gb(on, device_memory_gb) else off


def tracked_hessian_kind(track_hessian: str, method: str, hessian_kind: str) -> str:
    """The resolved ``train.track_hessian``: ``auto`` follows ``train.method`` (the Riemannian
    Hessian for ``spherical_gd``, the landscape its steps see) unless ``hessian.kind`` asks for
    the spherical one."""
    if track_hessian != "auto":
        return track_hessian
    return "spherical" if method == "spherical_gd" or hessian_kind == "spherical" else "euclidean"


def _check_training(c: TrainRunConfig) -> TrainRunConfig:
    """The training rules; returns ``c`` with ``train.track_hessian`` resolved and
    ``hessian.kind`` set to it (one Hessian kind for the whole run)."""
    t = c.train
    if t.hessian_every is not None and t.hessian_every % t.track_every:
        _fail("train.hessian_every", t.hessian_every,
              f"must be 0 or a positive multiple of train.track_every={t.track_every}",
              FIELDS["train.hessian_every"].fix)
    kind = tracked_hessian_kind(t.track_hessian, t.method, c.hessian.kind)
    if kind == "spherical" and t.method != "spherical_gd":
        field_name = ("train.track_hessian" if t.track_hessian == "spherical"
                      else "hessian.kind")
        raise ConfigError(
            f"Invalid {field_name}='spherical' with train.method={t.method!r}: the Riemannian "
            "Hessian is defined on the spheres |w_k|^2 = N, which plain GD leaves. Use "
            f"train.method=spherical_gd or {field_name}=euclidean.")
    return replace(c, train=replace(t, track_hessian=kind),
                   hessian=replace(c.hessian, kind=kind))


def memory_limit_gb(r: Resolved, device_memory_gb: float | None = None) -> float:
    """``solver.max_memory_gb``, or 80% of the memory of the run's device."""
    if r.config.solver.max_memory_gb is not None:
        return r.config.solver.max_memory_gb
    total = device_memory_gb if device_memory_gb is not None else total_memory_gb(r.device)
    return 0.8 * total


def memory_gb(r: Resolved) -> float:
    """Estimated peak memory of the run in GB (the solver's, plus the training's test data)."""
    c = r.config
    pr, s = c.problem, c.solver
    if r.solver == "dense":
        need = dense_memory_gb(pr.N, pr.p, r.M, c.dtype, s.full_spectrum, s.all_vectors)
    else:
        widest = max(s.block_size, s.k) if s.mixed_precision else s.block_size
        need = iterative_memory_gb(pr.N, pr.p, r.M, c.dtype, c.data_dtype, s.k, widest,
                                   s.basis_size, s.slq_probes, s.slq_steps, s.mixed_precision)
    if isinstance(c, TrainRunConfig):
        need += c.train.n_test * pr.N * BYTES[c.dtype] / 1e9
    return need


def _with_samples(r: Resolved, M: int) -> Resolved:
    return replace(r, M=M)


def _as_iterative(r: Resolved) -> Resolved:
    """The same run on the matrix-free solver, with its derived sizes (for the advice of a
    dense run too large)."""
    c = r.config
    s, pr = c.solver, c.problem
    block = solver_block_size(None, r.device.split(":")[0], c.hessian.kind, pr.p,
                              float32_products=c.dtype == "float32")
    basis = default_basis_size(s.k, block, r.dim)
    group = GROUP_OPTIONS["solver"]["iterative"]  # what solver=iterative sets
    solver = replace(s, name="iterative", block_size=block, basis_size=basis, full_spectrum=False,
                     all_vectors=False, mixed_precision=False, slq_probes=group.slq_probes)
    return replace(r, config=replace(c, solver=solver), solver="iterative")


def largest_alpha(r: Resolved, limit: float) -> float | None:
    """The largest ``problem.alpha`` at which run ``r`` fits in ``limit`` GB (memory is linear in
    the samples ``M``), or None when not even one sample fits."""
    pr = r.config.problem
    one = memory_gb(_with_samples(r, 1))
    if one > limit:
        return None
    per_sample = (memory_gb(_with_samples(r, 2)) - one)
    M = 1 + int((limit - one) / per_sample) if per_sample > 0 else r.M
    x = M / pr.N  # floored to 3 significant digits, so that round(alpha N) <= M
    unit = 10.0 ** (math.floor(math.log10(x)) - 2)
    return float(f"{math.floor(x / unit) * unit:.3g}")


def check_memory(r: Resolved, device_memory_gb: float | None = None) -> float:
    """Refuse a run whose Hessian, data and vectors will not fit; returns the estimate in GB.

    The message blames what makes it too large and gives a fix that itself fits: the dense
    solver when the matrix-free one would fit, the data (``problem.alpha``, with the largest
    value that fits) when a smaller sample would, else the dimension ``problem.N``.
    """
    need, limit = memory_gb(r), memory_limit_gb(r, device_memory_gb)
    if need <= limit:
        return need
    c = r.config
    pr = c.problem
    sizes = f"N={pr.N}, p={pr.p}, alpha={pr.alpha:g} (M={r.M})"
    extra = (f", and train.n_test={c.train.n_test} fresh samples"
             if isinstance(c, TrainRunConfig) else "")
    raise_limit = "or raise solver.max_memory_gb if you know the memory is there"
    iterative = _as_iterative(r) if r.solver == "dense" else r
    if r.solver == "dense" and memory_gb(iterative) <= limit:
        raise ConfigError(
            f"Invalid solver.name={c.solver.name!r} for this size ({sizes}): the dense Hessian "
            f"of dimension p*N={r.dim} needs about {need:.3g} GB (H, eigensolver workspace and "
            f"X in {c.dtype}{extra}), more than the {limit:.3g} GB allowed. Use "
            f"solver=iterative (matrix-free, never forms H: about {memory_gb(iterative):.3g} GB "
            f"here), lower problem.N or problem.p, {raise_limit}.")
    what = (f"the dense solver needs about {need:.3g} GB (H of dimension p*N={r.dim}, "
            f"eigensolver workspace and X in {c.dtype}{extra}), the matrix-free one about "
            f"{memory_gb(iterative):.3g} GB" if r.solver == "dense" else
            f"the matrix-free solver needs about {need:.3g} GB (X of {r.M}x{pr.N} in "
            f"{c.data_dtype}, the Lanczos basis of p*N={r.dim} vectors{extra})")
    hint = ("set data_dtype=float32 to halve the memory of X (products still accumulate in "
            f"{c.dtype}), " if (c.data_dtype or c.dtype) == "float64" else "")
    alpha = largest_alpha(iterative, limit)
    if alpha is not None:
        from bbp_torch.model import n_samples

        switch = " with solver=iterative" if r.solver == "dense" and \
            memory_gb(_with_samples(r, n_samples(pr.N, alpha))) > limit else ""
        raise ConfigError(
            f"Invalid problem.alpha={pr.alpha:g} at problem.N={pr.N} ({sizes}): the data is too "
            f"large: {what}, more than the {limit:.3g} GB allowed. Set problem.alpha={alpha:g} "
            f"or lower{switch}, {hint}{raise_limit}.")
    raise ConfigError(
        f"Invalid problem.N={pr.N} ({sizes}): {what}, more than the {limit:.3g} GB allowed, "
        f"even with a single sample. Lower problem.N or problem.p, {hint}lower "
        f"solver.basis_size or solver.slq_probes, {raise_limit}.")

