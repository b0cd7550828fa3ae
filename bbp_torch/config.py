"""Structured configuration and its validation.

The dataclasses mirror ``conf/``: a group per concern. :func:`validate` turns a Hydra/OmegaConf
config into a typed :class:`Config`, checking types and ranges and the memory a dense Hessian
would need, *before* any expensive work; every failure is a :class:`ConfigError` whose message
names the field and the fix.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException


class ConfigError(ValueError):
    """A user mistake in the configuration; the message names the field and the fix."""


@dataclass
class ProblemConfig:
    N: int = 400
    p: int = 2
    p_star: int = 1
    alpha: float = 3.0
    a: float = 0.7


@dataclass
class HessianConfig:
    kind: str = "euclidean"  # euclidean | spherical


@dataclass
class SolverConfig:
    name: str = "dense"  # dense | iterative | auto
    k: int | None = None  # bottom eigenpairs; None = max(8, p*p_star + 4)
    tol: float = 1e-8
    max_iter: int = 1000
    full_spectrum: bool = True  # dense: all eigenvalues too (histogram, figures)
    max_memory_gb: float | None = None  # None = 80% of the device's memory
    auto_max_dim: int = 6000  # solver=auto: dense up to this p*N, iterative above
    chunk_size: int | None = None  # samples per chunk in the matrix-free product
    block_size: int | None = None  # iterative: vectors per block; None = 4 on CPU, 16 on GPU
    basis_size: int | None = None  # iterative: basis before a restart; None = max(3k, k + 320)
    mixed_precision: bool = False  # iterative: float32 products first, float64 to finish
    slq_probes: int = 0  # iterative: SLQ density probes (0 = no density without a full spectrum)
    slq_steps: int = 60  # iterative: Lanczos steps per SLQ probe


@dataclass
class LoggingConfig:
    tensorboard: bool = True
    histogram_bins: int = 60
    figures: bool = True
    progress: bool = True



@dataclass
class Config:
    problem: ProblemConfig = field(default_factory=ProblemConfig)
    hessian: HessianConfig = field(default_factory=HessianConfig)
    solver: SolverConfig = field(default_factory=SolverConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    name: str = "default"  # names the sweep folder outputs/multirun/<name>/
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda
    dtype: str = "float64"  # float64 | float32
    data_dtype: str | None = None  # storage of X; None = dtype
    threads: int | None = None  # torch threads; None = torch's default
    theory: bool = True  # add the N = infinity predictions to the record
    force: bool = False  # recompute even if the run folder holds a finished record


DEVICES = ("auto", "cpu", "cuda")
DTYPES = ("float64", "float32")
KINDS = ("euclidean", "spherical")
SOLVERS = ("dense", "iterative", "auto")
BYTES = {"float64": 8, "float32": 4}


def _fail(field_name: str, value: Any, requirement: str, fix: str) -> None:
    raise ConfigError(f"Invalid {field_name}={value!r}: {requirement}. {fix}")


def to_config(cfg: DictConfig | dict | Config) -> Config:
    """Merge ``cfg`` into the schema; type errors become :class:`ConfigError` naming the key.

    Keys outside the schema (e.g. an experiment's ``name`` or a training group) are ignored here.
    """
    if isinstance(cfg, Config):
        return cfg
    schema = OmegaConf.structured(Config)
    raw = cfg if isinstance(cfg, DictConfig) else OmegaConf.create(cfg)
    known = {k: raw[k] for k in raw if k in schema}
    try:
        merged = OmegaConf.merge(schema, known)
    except OmegaConfBaseException as err:
        key = getattr(err, "full_key", None) or "config"
        raise ConfigError(
            f"Invalid {key}: {err.msg if hasattr(err, 'msg') else err}. "
            "Check its type in conf/ (e.g. problem.N must be an integer)."
        ) from None
    return OmegaConf.to_object(merged)


def default_k(p: int, p_star: int) -> int:
    """Bottom pairs by default: the outlier multiplet ``p p*`` plus room for the edge."""
    return max(8, p * p_star + 4)


def physical_memory_gb() -> float:
    """Total physical memory of this machine, in GB."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 16.0


def total_memory_gb(device: str) -> float:
    """Total memory of the device a run will use (``auto``: CUDA when present), in GB."""
    if device == "cpu":
        return physical_memory_gb()
    import torch

    if device == "auto":
        if not torch.cuda.is_available():
            return physical_memory_gb()
        device = "cuda"
    return torch.cuda.get_device_properties(torch.device(device)).total_memory / 1e9


def dense_memory_gb(N: int, p: int, M: int, dtype: str, full_spectrum: bool) -> float:
    """Peak memory of the dense path: ``H``, its factorisation workspace and the data.

    ``H`` is ``(pN)^2`` numbers; the solver needs a copy plus workspace (counted as two more
    copies), and ``X`` is ``M N`` numbers.
    """
    n = p * N
    copies = 3 if full_spectrum else 2.5
    return (copies * n * n + M * N) * BYTES[dtype] / 1e9


def iterative_memory_gb(N: int, p: int, M: int, dtype: str, data_dtype: str | None, k: int,
                        block_size: int | None = None, basis_size: int | None = None,
                        slq_probes: int = 0, slq_steps: int = 0) -> float:
    """Peak memory of the matrix-free path: ``X``, the Lanczos basis and work blocks.

    ``X`` is ``M N`` numbers in ``data_dtype``; the block Lanczos basis ``basis + block``
    vectors of size ``pN``, plus about ``6 block + 2 k`` work and result vectors; a reorthogonalised
    SLQ run keeps ``slq_steps * slq_probes`` vectors; one cast chunk of ``X`` (at most 256 MiB)
    when ``data_dtype`` differs from ``dtype``.
    """
    from bbp_torch.iterative import default_basis_size

    n = p * N
    block = block_size or 16  # the GPU default, the larger one
    basis = max(basis_size or default_basis_size(k, block, n), k + 2 * block)
    vectors = basis + 7 * block + 2 * k + slq_steps * slq_probes
    storage = data_dtype or dtype
    cast = 256 * 2**20 if storage != dtype else 0
    return (M * N * BYTES[storage] + vectors * n * BYTES[dtype] + cast) / 1e9


def validate(cfg: DictConfig | dict | Config, device_memory_gb: float | None = None) -> Config:
    """Check every field that can be checked cheaply; return the typed config."""
    c = to_config(cfg)
    pr = c.problem
    if pr.N < 2:
        _fail("problem.N", pr.N, "the input dimension must be at least 2",
              "Set problem.N=400, say.")
    if pr.p < 1:
        _fail("problem.p", pr.p, "the student needs at least one hidden unit (p >= 1)",
              "Set problem.p=1 (phase retrieval) or larger.")
    if pr.p_star < 1:
        _fail("problem.p_star", pr.p_star, "the teacher needs at least one hidden unit",
              "Set problem.p_star=1 or larger.")
    if not pr.alpha > 0:
        _fail("problem.alpha", pr.alpha, "the data ratio M/N must be positive",
              "Set problem.alpha to a positive number, e.g. problem.alpha=3.")
    if not pr.a > 0:
        _fail("problem.a", pr.a, "the loss constant must be positive (it bounds 1/(a+y))",
              "Set problem.a to a positive number, e.g. problem.a=0.7.")
    if c.device not in DEVICES and not str(c.device).startswith("cuda:"):
        _fail("device", c.device, f"unknown device; use one of {', '.join(DEVICES)}",
              "Set device=auto to use CUDA when present and the CPU otherwise.")
    if str(c.device).startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            _fail("device", c.device, "CUDA is not available on this machine",
                  "Use device=cpu or device=auto.")
    if c.dtype not in DTYPES:
        _fail("dtype", c.dtype, f"use one of {', '.join(DTYPES)}", "Set dtype=float64.")
    if c.data_dtype is not None and c.data_dtype not in DTYPES:
        _fail("data_dtype", c.data_dtype, f"use one of {', '.join(DTYPES)}",
              "Set data_dtype=float32 to halve the memory of X, or leave it unset.")
    if c.hessian.kind not in KINDS:
        _fail("hessian.kind", c.hessian.kind, f"use one of {', '.join(KINDS)}",
              "Set hessian.kind=euclidean (default) or hessian.kind=spherical.")
    s = c.solver
    if s.name not in SOLVERS:
        _fail("solver.name", s.name, f"use one of {', '.join(SOLVERS)}",
              "Set solver.name=dense for small problems.")
    dim = pr.p * pr.N
    if s.k is None:
        s.k = min(default_k(pr.p, pr.p_star), dim)
    if not 1 <= s.k <= dim:
        _fail("solver.k", s.k, f"the number of bottom eigenpairs must be in [1, p*N={dim}]",
              "Lower solver.k.")
    if not s.tol > 0:
        _fail("solver.tol", s.tol, "the tolerance must be positive", "Set solver.tol=1e-8.")
    if s.max_iter < 1:
        _fail("solver.max_iter", s.max_iter, "at least one iteration is needed",
              "Set solver.max_iter=1000.")
    if c.logging.histogram_bins < 1:
        _fail("logging.histogram_bins", c.logging.histogram_bins, "must be positive",
              "Set logging.histogram_bins=60.")
    if c.threads is not None and c.threads < 1:
        _fail("threads", c.threads, "must be positive", "Set threads=1, or leave it unset.")
    if s.block_size is not None and s.block_size < 1:
        _fail("solver.block_size", s.block_size, "must be positive",
              "Leave solver.block_size unset (4 on CPU, 16 on GPU) or set e.g. 4.")
    if s.mixed_precision and s.name == "dense":
        _fail("solver.mixed_precision", s.mixed_precision,
              "mixed precision is a setting of the iterative solver; the dense one ignores it",
              "Use solver=iterative (or solver=auto), or drop solver.mixed_precision.")
    block = _block_size(c)
    if s.basis_size is not None and s.basis_size < s.k + 2 * block:
        _fail("solver.basis_size", s.basis_size,
              f"the basis must hold k + 2 * block_size = {s.k + 2 * block} vectors",
              "Leave solver.basis_size unset or raise it.")
    if s.slq_probes < 0 or s.slq_steps < 0:
        _fail("solver.slq_probes" if s.slq_probes < 0 else "solver.slq_steps",
              s.slq_probes if s.slq_probes < 0 else s.slq_steps, "must be >= 0",
              "Set solver.slq_probes=0 to skip the SLQ density.")
    if s.slq_probes > 0 and s.slq_steps < 2:
        _fail("solver.slq_steps", s.slq_steps, "an SLQ density needs at least 2 Lanczos steps",
              "Set solver.slq_steps=60, or solver.slq_probes=0 to skip the density.")
    if s.name == "dense" or (s.name == "auto" and dim <= s.auto_max_dim):
        check_dense_memory(c, device_memory_gb)
    else:
        check_iterative_memory(c, device_memory_gb)
    return c


def _block_size(c: Config, widest: bool = False) -> int:
    """The iterative solver's block size for this config (``widest``: of its mixed-precision
    phases too), as :func:`bbp_torch.iterative.solver_block_size` resolves it."""
    from bbp_torch.iterative import solver_block_size

    device = c.device
    if device == "auto":
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    return solver_block_size(c.solver.block_size, device, c.hessian.kind, c.problem.p,
                             c.solver.k, c.solver.mixed_precision and widest)


def check_iterative_memory(c: Config, device_memory_gb: float | None = None) -> float:
    """Refuse a matrix-free run whose data and vectors will not fit; returns the estimate in GB."""
    pr, s = c.problem, c.solver
    M = max(1, round(pr.alpha * pr.N))
    need = iterative_memory_gb(pr.N, pr.p, M, c.dtype, c.data_dtype, s.k,
                               _block_size(c, widest=True), s.basis_size, s.slq_probes,
                               s.slq_steps)
    limit = s.max_memory_gb
    if limit is None:
        total = (device_memory_gb if device_memory_gb is not None
                 else total_memory_gb(c.device))
        limit = 0.8 * total
    if need > limit:
        storage = c.data_dtype or c.dtype
        hint = ("set data_dtype=float32 to halve the memory of X (products still accumulate in "
                f"{c.dtype}), " if storage == "float64" else "")
        raise ConfigError(
            f"Invalid problem.N={pr.N} for solver.name={s.name!r}: the matrix-free solver needs "
            f"about {need:.1f} GB (X of {M}x{pr.N} in {storage}, and the Lanczos basis of "
            f"p*N={pr.p * pr.N} vectors), more than the {limit:.1f} GB allowed. Lower problem.N "
            f"or problem.alpha, {hint}lower solver.basis_size or solver.slq_probes, or raise "
            "solver.max_memory_gb if you know the memory is there."
        )
    return need


def check_dense_memory(c: Config, device_memory_gb: float | None = None) -> float:
    """Refuse a dense Hessian that will not fit; returns the estimate in GB."""
    pr = c.problem
    M = max(1, round(pr.alpha * pr.N))
    need = dense_memory_gb(pr.N, pr.p, M, c.dtype, c.solver.full_spectrum)
    limit = c.solver.max_memory_gb
    if limit is None:
        total = (device_memory_gb if device_memory_gb is not None
                 else total_memory_gb(c.device))
        limit = 0.8 * total
    if need > limit:
        raise ConfigError(
            f"Invalid solver.name={c.solver.name!r} for this size: the dense Hessian of "
            f"dimension p*N={pr.p * pr.N} needs about {need:.1f} GB (H, eigensolver workspace "
            f"and X in {c.dtype}), more than the {limit:.1f} GB allowed. Use "
            "solver.name=iterative (matrix-free, never forms H), lower problem.N or problem.p, "
            "or raise solver.max_memory_gb if you know the memory is there."
        )
    return need
