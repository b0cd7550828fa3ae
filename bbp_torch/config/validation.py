"""The only validation: :func:`validate` turns a config into a :class:`Resolved`.

:func:`validate` is pure: it turns a Hydra/OmegaConf config, a dict or a dataclass of the
schema (:mod:`bbp_torch.config.schema`) into a new :class:`Resolved`, in which every derived
default (``k``, ``tol``, ``M``, the ``auto`` choices, block and basis size, the thread count) is
decided, here and nowhere else. Each field is checked by the :class:`FieldSpec` it carries
(:func:`check_field`), then the rules between fields, then the memory the run needs
(:func:`check_memory`, with the models of :mod:`bbp_torch.config.resources`). Every failure is
a :class:`ConfigError` whose message names the field and the fix, raised before any expensive
work.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, is_dataclass, replace
from typing import Any

from bbp_torch.config import resources  # read through the module: tests patch it there
from bbp_torch.config.resources import BYTES, dense_memory_gb, iterative_memory_gb
from bbp_torch.config.schema import (
    FIELDS,
    GROUP_OPTIONS,
    MAX_SEED,
    Config,
    TrainRunConfig,
    leaf_values,
    schema_fields,
)
from bbp_torch.spectrum.tuning import (
    default_basis_size,
    default_k,
    default_tol,
    smallest_tol,
    solver_block_size,
    solver_for,
)


class ConfigError(ValueError):
    """A user mistake in the configuration; the message names the field and the fix."""


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
    if problem := spec.problem(value):
        _fail(name, value, problem, spec.fix)


# ============================================================================ validation


@dataclass(frozen=True)
class Resolved:
    """A validated configuration with every derived default decided.

    ``config`` is a new object (never the caller's) with ``solver.k``, ``solver.tol``,
    ``data_dtype``, ``threads`` and, when the iterative solver runs, ``solver.block_size`` and
    ``solver.basis_size`` filled in; ``M = round(alpha N)``; ``solver`` is the registered solver
    that runs (``solver.name=auto`` decided: ``dense`` or ``iterative``); ``device`` is
    ``cpu``, ``cuda`` or ``cuda:K``. The record of a run holds these values.
    """

    config: Config
    M: int
    solver: str
    device: str

    @property
    def dim(self) -> int:
        """Dimension ``p N`` of the Hessian."""
        return self.config.problem.p * self.config.problem.N


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
    device = resources.resolve_device_name(c.device)
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
    c = replace(c, data_dtype=data_dtype, threads=resources.resolve_threads(c.threads),
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
    if device_memory_gb is None:
        device_memory_gb = resources.total_memory_gb(r.device)
    return 0.8 * device_memory_gb


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

