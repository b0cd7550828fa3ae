"""Several seeds at once on one device: stacked problems, batched dense Hessians, batched eigh.

For sweeps at small N, where one ``(pN, pN)`` Hessian leaves a device (a GPU above all) mostly
idle. Seed ``s`` gives exactly the problem of ``make_problem(..., seed=s)`` and, up to
rounding, the observables of the one-seed dense path (``dense_hessian`` -> ``eigh`` ->
``observables.measure``). Seeds are processed in batches of ``batch_size``; by default as many as
fit in ``max_memory_gb`` (80% of the device's memory when unset).

Shapes: ``X`` (S, M, N), ``W`` (S, p, N), ``H`` (S, pN, pN), eigenvalues (S, pN) ascending.
"""

from __future__ import annotations

import math

import torch

from bbp_torch.config import Resolved, default_k, memory_limit_gb, total_memory_gb
from bbp_torch.errors import NumericalError
from bbp_torch.model import Problem, make_problem, n_samples, resolve_device, resolve_dtype
from bbp_torch.observables import measure
from bbp_torch.operators.registry import check_kind
from bbp_torch.operators.spherical import spherical_from_dense
from bbp_torch.operators.weights import SampleWeights
from bbp_torch.runtime import Timer, limit_threads
from bbp_torch.spectrum.dense import Complement
from bbp_torch.spectrum.types import Eigenpairs, residual_norms


def batched_dense_hessian(problems: list[Problem], kind: str = "euclidean") -> torch.Tensor:
    """``(S, pN, pN)`` closed-form Hessians of problems with equal ``(N, M, p)``.

    One batched product ``(X * c_kl)^T X / N`` per independent block ``k <= l`` for all seeds
    at once, faster than stacking
    :func:`bbp_torch.operators.dense.dense_hessian` of each seed (measured: docs/large_n.md).
    """
    check_kind(kind)
    weights = [SampleWeights(pr) for pr in problems]
    g = torch.stack([w.g for w in weights])  # (S, M, p)
    beta = torch.stack([w.beta for w in weights])  # (S, M), or (S, M, p) for other than x^2
    rank_one = torch.stack([w.rank_one for w in weights])  # (S, M)
    X = torch.stack([pr.X for pr in problems]).to(g.dtype)  # (S, M, N)
    S, _, p = g.shape
    N = X.shape[2]
    H = torch.empty(S, p * N, p * N, dtype=g.dtype, device=g.device)
    for k in range(p):
        for m in range(k, p):
            c = rank_one * g[:, :, k] * g[:, :, m]
            if k == m:
                c = c + (beta if beta.dim() == 2 else beta[:, :, k])
            block = torch.bmm((X * c[:, :, None]).transpose(1, 2), X) / N
            H[:, k * N:(k + 1) * N, m * N:(m + 1) * N] = block
            if m != k:
                H[:, m * N:(m + 1) * N, k * N:(k + 1) * N] = block.transpose(1, 2)
    if kind == "spherical":
        for s, pr in enumerate(problems):
            H[s] = spherical_from_dense(H[s], pr, pr.W)
    return H


def seeds_per_batch(N: int, p: int, M: int, itemsize: int, memory_gb: float) -> int:
    """How many seeds fit: ``H`` built one seed at a time and stacked, its eigenvectors and the
    ``eigh`` workspace (4 copies, one more than the one-seed path of
    :func:`bbp_torch.config.dense_memory_gb`), and ``X`` with its weighted copy."""
    n = p * N
    per_seed = (4 * n * n + 2 * M * N) * itemsize
    return max(1, int(memory_gb * 1e9 // per_seed))


def run_seeds(
    N: int,
    p: int,
    p_star: int,
    alpha: float,
    a: float,
    seeds,
    k: int | None = None,
    kind: str = "euclidean",
    device: str | torch.device = "cpu",
    dtype: str | torch.dtype = "float64",
    data_dtype: str | torch.dtype | None = None,
    batch_size: int | None = None,
    max_memory_gb: float | None = None,
    full_spectrum: bool = False,
    activation: str = "quadratic",
) -> list[dict]:
    """Observables of the bottom ``k`` eigenpairs for each seed, several seeds per ``eigh``.

    Returns one dict per seed (in the order of ``seeds``): ``seed``, ``metrics`` (the dict of
    ``observables.measure`` plus ``residuals`` ``||H v - lambda v||`` per pair) and ``spectrum``
    (all eigenvalues as a CPU tensor when ``full_spectrum``, else None).
    ``k`` defaults to ``max(8, p p* + 4)`` (at most ``pN``).
    """
    device = resolve_device(device)
    dtype = resolve_dtype(dtype)
    seeds = [int(s) for s in seeds]
    n = p * N
    k = default_k(p, p_star, n) if k is None else k
    if not 1 <= k <= n:
        raise ValueError(f"k={k} must be between 1 and p*N={n}.")
    if batch_size is None:
        budget = 0.8 * total_memory_gb(str(device)) if max_memory_gb is None else max_memory_gb
        M = n_samples(N, alpha)
        batch_size = seeds_per_batch(N, p, M, torch.finfo(dtype).bits // 8, budget)
    out = []
    for start in range(0, len(seeds), batch_size):
        batch = seeds[start:start + batch_size]
        problems = [make_problem(N, p, p_star, alpha, a, seed=s, device=device, dtype=dtype,
                                 data_dtype=data_dtype, activation=activation) for s in batch]
        H = batched_dense_hessian(problems, kind)
        values, vectors = torch.linalg.eigh(H)
        vals, vecs = values[:, :k], vectors[:, :, :k]
        res = (torch.bmm(H, vecs) - vecs * vals[:, None, :]).norm(dim=1)  # (S, k)
        del H
        for i, (s, pr) in enumerate(zip(batch, problems, strict=True)):
            metrics = measure(vals[i], vecs[i], pr.W, pr.W_star)
            metrics["residuals"] = [float(r) for r in res[i]]
            metrics["solver_used"] = "dense_batched"
            out.append({"seed": s, "metrics": metrics,
                        "spectrum": values[i].cpu() if full_spectrum else None})
    return out


# ----------------------------------------------------------------------------- several seeds
# of one job (bbp seeds=K): the job runner asks seeds_at_once, then run_study_batch.

# On the CPU the batch pays only up to this p N: one batched full eigh of S seeds against S
# subset solves (measured, docs/large_n.md): up to 1000 with two threads or more, up to 250 on
# one thread (the figures' jobs). On CUDA every batch that fits the memory pays.
CPU_BATCHED_MAX_DIM = 1000
CPU_BATCHED_MAX_DIM_ONE_THREAD = 250


def cpu_batched_max_dim(threads: int | None) -> int:
    """The largest ``p N`` at which seeds share one batched solve on the CPU with ``threads``."""
    return CPU_BATCHED_MAX_DIM_ONE_THREAD if threads == 1 else CPU_BATCHED_MAX_DIM


def seeds_at_once(r: Resolved, n_seeds: int) -> int:
    """How many seeds of the run ``r`` one batched solve takes (the one rule): 1, i.e. one by
    one through :func:`bbp_torch.study.run_study`, unless the dense solver runs on closed-form
    Hessians at ``p N <=`` :func:`cpu_batched_max_dim` on the CPU or at any size on CUDA; then
    as many as fit :func:`bbp_torch.config.memory_limit_gb` (:func:`seeds_per_batch`)."""
    c = r.config
    if n_seeds < 2 or r.solver != "dense" or c.hessian.product != "closed_form":
        return 1
    if not r.device.startswith("cuda") and r.dim > cpu_batched_max_dim(c.threads):
        return 1
    itemsize = torch.finfo(resolve_dtype(c.dtype)).bits // 8
    fit = seeds_per_batch(c.problem.N, c.problem.p, r.M, itemsize, memory_limit_gb(r))
    return max(1, min(n_seeds, fit))


def batched_eigenpairs(ops, k: int, tol: float, full_spectrum: bool = True,
                       all_vectors: bool = False) -> list[Eigenpairs | Exception]:
    """:func:`bbp_torch.spectrum.dense.dense_bottom` of several closed-form operators of one
    shape with one batched ``eigh``: per operator its :class:`Eigenpairs` (same conventions:
    the spherical Hessian on the complement of its radial directions, ``scale``, ``all_values``
    when ``full_spectrum`` or ``all_vectors``), or the :class:`NumericalError` of a Hessian with
    non-finite entries (the others are solved)."""
    H = batched_dense_hessian([op.problem for op in ops], ops[0].kind)
    complements: list[Complement | None] = [None] * len(ops)
    if ops[0].excluded_directions() is not None:
        complements = [Complement(op.excluded_directions().to(H.dtype)) for op in ops]
        H = torch.stack([cp.restrict(h) for cp, h in zip(complements, H, strict=True)])
    good = torch.isfinite(H).flatten(1).all(dim=1).tolist()
    out: list[Eigenpairs | Exception] = [NumericalError(
        "the dense Hessian has non-finite entries (nan or inf); check problem.a and "
        "problem.alpha") for _ in ops]
    if not any(good):
        return out
    if not all(good):
        H = H[torch.tensor(good, device=H.device)]
    every_value, every_vector = torch.linalg.eigh(H)
    whole = full_spectrum or all_vectors
    j = 0
    for i, op in enumerate(ops):
        if not good[i]:
            continue
        values, vectors = every_value[j, :k], every_vector[j, :, :k]
        if whole:
            scale = float(every_value[j].abs().max())
        else:
            scale = max(float(values.abs().max()), float(H[j].norm()) / math.sqrt(H.shape[1]))
        every = every_vector[j] if all_vectors else None
        if complements[i] is not None:
            vectors = complements[i].lift(vectors)
            every = complements[i].lift(every) if every is not None else None
        out[i] = Eigenpairs(values=values, vectors=vectors,
                            residuals=residual_norms(op, values, vectors), solver="dense",
                            tol=tol, scale=scale, all_values=every_value[j] if whole else None,
                            all_vectors=every)
        j += 1
    return out


def run_study_batch(runs: list[Resolved]) -> list:
    """The results of :func:`bbp_torch.study.run_study` for runs that differ only in their
    seed, solved together (:func:`batched_eigenpairs`): one :class:`StudyResult` per run, or
    the exception that run raised (the others still complete). Each record holds the same
    keys and, to rounding, the same numbers as the run alone; its ``problem`` and ``solve``
    timings are its share of the batch."""
    from bbp_torch.study import draw_operator, finish_study, finite

    r0 = runs[0]
    c0, timer = r0.config, Timer(r0.device)
    out: list = [None] * len(runs)
    with limit_threads(c0.threads):
        with timer("problem"):
            drawn = {}
            for i, r in enumerate(runs):
                try:
                    drawn[i] = draw_operator(r)
                except Exception as err:  # this seed fails, the others go on
                    out[i] = err
        with timer("solve"):
            solved = batched_eigenpairs([op for _, op in drawn.values()], c0.solver.k,
                                        c0.solver.tol, c0.solver.full_spectrum,
                                        c0.solver.all_vectors) if drawn else []
        share = {name: t / len(runs) for name, t in timer.timings.items()}
        for (i, (problem, op)), pairs in zip(drawn.items(), solved, strict=True):
            own = Timer(r0.device)
            own.timings.update(share)
            try:
                if isinstance(pairs, Exception):
                    raise pairs
                pairs.info["picked_by_auto"] = c0.solver.name == "auto"
                out[i] = finish_study(runs[i], problem, op, finite(pairs), own)
                out[i].record["timings"]["total"] = sum(own.timings.values())
            except Exception as err:
                out[i] = err
    return out
