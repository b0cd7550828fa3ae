"""The schema of both Hydra apps: every field once, with its default, help text and check.

``bbp`` runs :class:`Config`, ``bbp-train`` runs :class:`TrainRunConfig`; both are registered
with Hydra's ConfigStore by :func:`register_configs`, and ``conf/`` holds only what differs from
them (presets, launchers, Hydra's own settings). Each field is declared by :func:`setting`,
which keeps its :class:`FieldSpec` (help text, check, fix) in the field's metadata: ``bbp
--help``, :data:`FIELDS` and :func:`bbp_torch.config.validation.check_field` all read it there.
The choices of a field named by a registry (activations, Hessian kinds and products, solvers,
training methods and starts) are read from that registry when asked for, so adding an
activation or a solver is one entry in its own module. Importing this module imports no torch.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import MISSING, Field, dataclass, field, fields, is_dataclass
from typing import Any

from bbp_torch.config.resources import BYTES, parallel_jobs

MAX_SEED = 2**32 - 1
SEEDS_MAX = 100_000  # seeds one job may run
MAX_NAME = 200  # characters of name=: a folder name, with room to spare under the 255 allowed
MAX_LOSS_CONSTANT = 1e6  # beyond it every weight 1/(a + y) is a rounding error of 1/a
MAX_ALPHA = 1e6


# ============================================================================ field specs


def one_of(names: tuple[str, ...] | list[str]) -> str:
    """``a, b or c``: a list of choices in words."""
    names = list(names)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


@dataclass(frozen=True)
class FieldSpec:
    """What a field means and which values it accepts.

    ``check(value)`` returns what is wrong with ``value`` (a phrase) or None; ``fix`` is the
    advice printed after it. ``choices``, when given, returns the accepted values (read from
    their registry at the time of asking): a value outside them is refused, naming them, before
    ``check`` runs, and ``{choices}`` in ``text`` stands for them in words. Checks see one
    field alone; rules between fields live in :func:`bbp_torch.config.validation.validate`.
    """

    text: str
    check: Callable[[Any], str | None] | None = None
    fix: str = ""
    choices: Callable[[], tuple[str, ...]] | None = None

    @property
    def doc(self) -> str:
        """The help text (``bbp --help``), its choices filled in."""
        return self.text.format(choices=one_of(self.choices())) if self.choices else self.text

    def problem(self, value: Any) -> str | None:
        """What is wrong with ``value`` alone (not one of the choices, or its check), or
        None."""
        if self.choices is not None and value not in (options := self.choices()):
            return f"use one of {', '.join(options)}"
        return self.check(value) if self.check is not None else None


SPEC = "bbp_spec"  # the metadata key of a field's FieldSpec


def setting(default: Any = MISSING, text: str = "", check: Callable | None = None,
            fix: str = "", *, choices: Callable[[], tuple[str, ...]] | None = None,
            factory: Callable | None = None) -> Any:
    """A schema field: its default (or ``factory`` for a group) and its :class:`FieldSpec`."""
    metadata = {SPEC: FieldSpec(text, check, fix, choices)}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def spec_of(f: Field) -> FieldSpec:
    """The :class:`FieldSpec` of a schema field."""
    return f.metadata[SPEC]


# ----------------------------------------------------------------------------- checks


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


# ----------------------------------------------------------------------------- choices
# Each reads its registry when asked (the registries import torch; this module does not).


def activation_names() -> tuple[str, ...]:
    """``problem.activation``: the names of :data:`bbp_torch.activations.ACTIVATIONS`."""
    from bbp_torch.activations import ACTIVATIONS

    return tuple(ACTIVATIONS)


def hessian_kinds() -> tuple[str, ...]:
    """``hessian.kind``: :data:`bbp_torch.operators.registry.KINDS`."""
    from bbp_torch.operators.registry import KINDS

    return tuple(KINDS)


def hessian_products() -> tuple[str, ...]:
    """``hessian.product``: :data:`bbp_torch.operators.registry.PRODUCTS`."""
    from bbp_torch.operators.registry import PRODUCTS

    return tuple(PRODUCTS)


def solver_choices() -> tuple[str, ...]:
    """``solver.name``: the registered solvers (:mod:`bbp_torch.spectrum.registry`) and
    ``auto``."""
    from bbp_torch.spectrum.registry import AUTO, solver_names

    return (*solver_names(), AUTO)


# The descents of bbp-train (bbp_torch.training runs them and reads these names from here: the
# config sits below training, never the other way).
TRAIN_METHODS = ("gd", "spherical_gd")
TRAIN_INITS = ("random", "spectral")


def training_methods() -> tuple[str, ...]:
    """``train.method``: :data:`TRAIN_METHODS`."""
    return TRAIN_METHODS


def training_inits() -> tuple[str, ...]:
    """``train.init``: :data:`TRAIN_INITS`."""
    return TRAIN_INITS


def dtypes() -> tuple[str, ...]:
    """``dtype`` and ``data_dtype``: the precisions of :data:`bbp_torch.config.resources.BYTES`."""
    return tuple(BYTES)


# ============================================================================ the schema


@dataclass
class ProblemConfig:
    N: int = setting(400, "input dimension", _int_range(2), "Set problem.N=400, say.")
    p: int = setting(2, "student hidden units", _int_range(1),
                     "Set problem.p=1 (phase retrieval) or larger.")
    p_star: int = setting(1, "teacher hidden units", _int_range(1),
                          "Set problem.p_star=1 or larger.")
    alpha: float = setting(3.0, "data ratio M/N", _positive_at_most(MAX_ALPHA),
                           "Set problem.alpha=3, say.")
    a: float = setting(0.7, "loss constant in 1/(a + y)", _loss_constant,
                       "Set problem.a=0.7, say (problem.a=50 for tanh).")
    activation: str = setting("quadratic", "activation of teacher and student: {choices} "
                              "(quadratic is the theory's model)",
                              fix="Set problem.activation=quadratic (the default).",
                              choices=activation_names)


@dataclass
class HessianConfig:
    kind: str = setting("euclidean", "{choices} (spherical: Riemannian, on |w_k|^2 = N)",
                        fix="Set hessian.kind=euclidean (the default).",
                        choices=hessian_kinds)
    product: str = setting("closed_form", "{choices} (autograd: Hessian-vector products of the "
                           "student module by torch.func, no closed form needed)",
                           fix="Set hessian.product=closed_form (the default).",
                           choices=hessian_products)


@dataclass
class SolverConfig:
    name: str = setting("dense", "{choices}: a registered solver (dense: LAPACK on the built "
                        "H; iterative: matrix-free block Lanczos) or auto (dense or iterative "
                        "by size)", fix="Set solver.name=dense for small problems.",
                        choices=solver_choices)
    k: int | None = setting(None, "bottom eigenpairs; null = max(8, p*p_star + 4)",
                            _int_range(1), "Set solver.k=8, or null for the default.")
    tol: float | None = setting(None, "relative residual every returned pair must meet; null "
                                "= 1e-8 (float64), 1e-5 (float32)", _open_range(0.0, 1.0),
                                "Set solver.tol=1e-8, or null for the default.")
    max_iter: int = setting(1000, "iterative: operator calls (block steps) at most",
                            _int_range(1), "Set solver.max_iter=1000.")
    full_spectrum: bool = setting(True, "dense: every eigenvalue too (histogram, figures)")
    all_vectors: bool = setting(False, "dense: every eigenvector too (which one has the "
                                "largest teacher overlap: metrics.best_overlap_index)")
    max_memory_gb: float | None = setting(None, "memory allowed; null = 80% of the device's",
                                          _positive_at_most(1e9),
                                          "Set solver.max_memory_gb=8, say, or null.")
    auto_max_dim: int = setting(6000, "solver=auto: dense up to this p*N, iterative above",
                                _int_range(1), "Set solver.auto_max_dim=6000.")
    chunk_size: int | None = setting(None, "samples per chunk of the matrix-free product; "
                                     "null = cache-sized", _int_range(1),
                                     "Set solver.chunk_size=4096, say, or null.")
    block_size: int | None = setting(None, "iterative: vectors per block; null = max(4, 16 // "
                                     "p) on CPU, 16 on GPU", _int_range(1, 4096),
                                     "Set solver.block_size=4, or null.")
    basis_size: int | None = setting(None, "iterative: basis before a restart; null = "
                                     "max(3k, k + 320)", _int_range(2),
                                     "Set solver.basis_size=400, or null.")
    # auto, true or false; validate() makes it a bool
    mixed_precision: Any = setting("auto", "iterative: float32 products first, float64 to "
                                   "finish; auto = on when the iterative solver runs float64 "
                                   "closed-form products and the float32 copy of X fits the "
                                   "memory limit", _auto_or_bool,
                                   "Set solver.mixed_precision=auto (default), true or false.")
    slq_probes: int = setting(0, "iterative: probes of the SLQ density (0 = none)",
                              _int_range(0, 10_000), "Set solver.slq_probes=4, or 0.")
    slq_steps: int = setting(60, "iterative: Lanczos steps per SLQ probe", _int_range(0, 10_000),
                             "Set solver.slq_steps=60.")


@dataclass
class LoggingConfig:
    tensorboard: bool = setting(True, "write TensorBoard events into the run folder")
    histogram_bins: int = setting(60, "bins of the eigenvalue histogram", _int_range(1, 100_000),
                                  "Set logging.histogram_bins=60.")
    figures: bool = setting(True, "draw the spectrum figure into TensorBoard")
    progress: bool = setting(True, "progress bars and summaries")


def _name(default: str) -> Any:
    """The ``name`` field (each app has its own default)."""
    return setting(default, "names the sweep folder outputs/multirun/<name>/", _folder_name,
                   "Set name=my_sweep, say.")


def _group(factory: type, text: str) -> Any:
    return setting(text=text, factory=factory)


@dataclass
class Config:
    """The schema of ``bbp`` (one run of the core study)."""

    problem: ProblemConfig = _group(ProblemConfig, "the teacher-student problem")
    hessian: HessianConfig = _group(HessianConfig, "which Hessian, and how its products run")
    solver: SolverConfig = _group(SolverConfig, "the eigensolver")
    logging: LoggingConfig = _group(LoggingConfig, "what a run writes besides its record")
    name: str = _name("default")
    seed: int = setting(0, "one seed, split into teacher, student and data streams",
                        _int_range(0, MAX_SEED), f"Set seed to an integer in [0, {MAX_SEED}].")
    seeds: int = setting(1, "how many consecutive seeds from seed one job runs; each writes the "
                         "record and folder of its own run seed=s (in a sweep the folder of "
                         "seed=s, in a single run its subfolder seed=s); small dense problems "
                         "share one batched eigh", _int_range(1, SEEDS_MAX),
                         "Set seeds=1 (one seed per job) or to the number of seeds, e.g. "
                         "seed=0 seeds=20.")
    device: str = setting("auto", "auto (CUDA when present), cpu, cuda, cuda:K", _device,
                          "Set device=auto to use CUDA when present and the CPU otherwise.")
    dtype: str = setting("float64", "arithmetic precision: {choices}", fix="Set dtype=float64.",
                         choices=dtypes)
    data_dtype: str | None = setting(None, "storage precision of X ({choices}); null = dtype",
                                     fix="Set data_dtype=float32 to halve the memory of X, or "
                                     "null.", choices=dtypes)
    threads: int | None = setting(None, "BLAS/torch threads of a run; null = every core this "
                                  "process may use", _int_range(1, 4096),
                                  "Set threads=1, say, or null.")
    theory: bool = setting(True, "add the N = infinity predictions to the record")
    force: bool = setting(False, "recompute even when the run folder holds a finished record")


@dataclass
class TrainConfig:
    method: str = setting("spherical_gd", "{choices} (gd: in weight space; spherical_gd: "
                          "Riemannian step)", fix="Set train.method=spherical_gd (the default).",
                          choices=training_methods)
    lr: float = setting(0.1, "learning rate in natural units: eta = lr * p * N / M",
                        _positive_at_most(1e6), "Set train.lr=0.1, say.")
    steps: int = setting(3000, "step budget", _int_range(0, 10**9), "Set train.steps=3000.")
    init: str = setting("random", "{choices} (spectral: from the bottom p*p_star Hessian "
                        "eigenvectors at init)", fix="Set train.init=random (the default).",
                        choices=training_inits)
    track_every: int = setting(100, "steps between measurements", _int_range(1),
                               "Set train.track_every=100, say.")
    hessian_every: int | None = setting(None, "steps between Hessians (a multiple of "
                                        "track_every); null = track_every; 0 = first and last "
                                        "step only", _int_range(0), "Set it to a multiple of "
                                        "train.track_every, to 0 or to null.")
    track_hessian: str = setting(
        "auto", "the Hessian of every eigensolve of the run (at init and along the descent): "
        "{choices}; auto = spherical for train.method=spherical_gd (the landscape the descent "
        "sees), else euclidean; the record holds the resolved value, which also sets "
        "hessian.kind", fix="Set train.track_hessian=auto (the default).",
        choices=lambda: ("auto", *hessian_kinds()))
    gen_tol: float = setting(1e-2, "stop, and count as a success, when the gen. error is below "
                             "it", _at_least_zero, "Use 0 to never stop on it.")
    loss_tol: float = setting(1e-12, "stop when the per-sample training loss is below it",
                              _at_least_zero, "Use 0 to never stop on it.")
    plateau_tol: float = setting(
        0.0, "stop a stalled descent (stop_reason plateau): at a tracked step, when the "
        "per-sample training loss changed by at most plateau_tol times its value over the last "
        "train.plateau_window tracked steps; metrics.plateau_step is the first step of that "
        "window; 0 = never", _at_least_zero, "Use 0 to never stop on it, or 1e-4, say.")
    plateau_window: int = setting(10, "tracked steps over which train.plateau_tol is judged",
                                  _int_range(1), "Set train.plateau_window=10, say.")
    n_test: int = setting(4000, "fresh samples for the generalization error", _int_range(1),
                          "Set train.n_test=4000.")


@dataclass
class TrainRunConfig(Config):
    """The schema of ``bbp-train``: the core study's fields plus the ``train`` group."""

    name: str = _name("train")
    train: TrainConfig = _group(TrainConfig, "the descent and its stop rules")


# ============================================================================ reading the schema


def schema_fields(schema: type, prefix: str = "") -> Iterator[tuple[str, Field]]:
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


# Every leaf field of both apps by dotted name (TrainRunConfig holds Config's fields), read
# from the schema: the same FieldSpec objects the fields carry.
FIELDS: dict[str, FieldSpec] = {name: spec_of(f) for name, f in schema_fields(TrainRunConfig)}


# ============================================================================ Hydra

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
