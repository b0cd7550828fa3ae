"""Several seeds at once on one device: stacked problems, batched dense Hessians, batched eigh.

For sweeps at small N, where one ``(pN, pN)`` Hessian leaves a device (a GPU above all) mostly
idle. Seed ``s`` gives exactly the problem of ``make_problem(..., seed=s)`` and, up to
rounding, the observables of the one-seed dense path (``dense_hessian`` -> ``eigh`` ->
``observables.measure``). Seeds are processed in batches of ``batch_size``; by default as many as
fit in ``max_memory_gb`` (80% of the device's memory when unset).

Shapes: ``X`` (S, M, N), ``W`` (S, p, N), ``H`` (S, pN, pN), eigenvalues (S, pN) ascending.
"""

from __future__ import annotations

import torch

from bbp_torch.config import default_k, total_memory_gb
from bbp_torch.model import Problem, make_problem, n_samples, resolve_device, resolve_dtype
from bbp_torch.observables import measure
from bbp_torch.operators.registry import check_kind
from bbp_torch.operators.spherical import spherical_from_dense
from bbp_torch.operators.weights import SampleWeights


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
