"""Large-N benchmarks (issue 5), reported as ratios measured side by side in one run.

    python scripts/bench_large.py                # (0) ours vs ARPACK (and torch.lobpcg,
                                                 # hessian-eigenthings up to pN = 2000) on
                                                 # the same product,
                                                 # (1) iterative vs dense at pN = 8000,
                                                 # (3) scaling in N, (4) vs hessian-eigenthings,
                                                 # (5) batched seeds, (6) large width:
                                                 # p = 64, N = 1000, k = 68
    python scripts/bench_large.py --big          # also (2): N=16000, p=4, p*=1, alpha=4, k=8,
                                                 # float32 storage of X (minutes)
    python scripts/bench_large.py --quick        # small sizes, a smoke test of the script
    python scripts/bench_large.py --device cuda  # the same on a GPU

(2) runs in a subprocess so that its peak memory (``ru_maxrss``) is its own. Nothing here is
asserted: the numbers are printed next to the issue's targets (section 0 ends with ARPACK / ours
in time and in products at every size, the target being 3x at pN = 8000). ``main(argv)``
returns a dict of all results (``scripts/bench.py --large`` calls it).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bbp_torch.config import SolverConfig  # noqa: E402
from bbp_torch.hessian import HessianOperator  # noqa: E402
from bbp_torch.model import make_problem  # noqa: E402
from bbp_torch.spectrum import bottom_eigenpairs  # noqa: E402


def _sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device="cpu"):
    """``(result, seconds)`` of one call."""
    _sync(device)
    start = time.perf_counter()
    out = fn()
    _sync(device)
    return out, time.perf_counter() - start


def machine_rates(read_mb: int = 256) -> dict:
    """This CPU's ceilings, measured here: the float32 and float64 matrix-multiply rates
    (GFLOP/s, best of three 2048^3 products on the threads in use) and the rate of one read
    pass over ``read_mb`` MB (GB/s, best of five sums). They say which machine a ratio came
    from: ARPACK's single-vector float64 product is bound by the read rate (it reads ``X``
    twice), ours in float32 blocks by the float32 rate."""
    rates = {}
    for dtype in (torch.float32, torch.float64):
        A = torch.ones(2048, 2048, dtype=dtype)
        A @ A
        best = min(timed(lambda A=A: A @ A)[1] for _ in range(3))
        rates[f"{str(dtype).removeprefix('torch.')}_gflops"] = 2 * 2048**3 / best / 1e9
    x = torch.ones(read_mb * 2**20 // 4, dtype=torch.float32)
    x.sum()
    best = min(timed(lambda: x.sum())[1] for _ in range(5))
    rates["read_gb_per_s"] = x.numel() * 4 / best / 1e9
    return rates


def subspace_overlap(A: torch.Tensor, B: torch.Tensor) -> float:
    """``||A^T B||_F^2 / k``: 1 when the spans of the orthonormal columns coincide."""
    return float((A.T @ B.to(A.device)).pow(2).sum() / A.shape[1])


def compare_dense(N: int, p: int, alpha: float, k: int, tol: float, device: str,
                  eigh_full: bool = False, variants=((1e-6, False), (1e-6, True))) -> dict:
    """(1) Iterative vs dense (closed-form H + bottom-k eigh) on one problem.

    The dense baseline is the project's dense path (on the CPU a LAPACK subset solve for the
    bottom ``k`` pairs, its fastest dense option); with ``eigh_full`` also a full
    ``torch.linalg.eigh`` of the same ``H`` (build time included). The iterative solver runs at
    ``tol`` (top-level keys) and at each ``(tol, mixed_precision)`` of ``variants``: ``tol``
    bounds residuals, and eigenvalues are accurate to about ``(tol ||H||)^2 / gap``, so a looser
    ``tol`` may still meet the eigenvalue target.
    """
    problem = make_problem(N, p, 1, alpha, 0.7, seed=0, device=device)
    op = HessianOperator(problem)
    dense, t_dense = timed(lambda: bottom_eigenpairs(
        op, SolverConfig(name="dense", k=k, full_spectrum=False), units=p), device)
    scale = float(dense.values.abs().max())

    def iterative(tol_run: float, mixed: bool) -> dict:
        it, t_it = timed(lambda: bottom_eigenpairs(
            op, SolverConfig(name="iterative", k=k, tol=tol_run, max_iter=5000,
                             mixed_precision=mixed), units=p), device)
        return {
            "tol": tol_run, "mixed_precision": mixed,
            "iterative_s": t_it, "speedup": t_dense / t_it,
            "max_rel_eigenvalue_error": float((it.values - dense.values).abs().max()) / scale,
            "subspace_overlap": subspace_overlap(dense.vectors, it.vectors),
            "min_vector_overlap": float((dense.vectors.T @ it.vectors).diagonal().abs().min()),
            "iterations": it.iterations, "n_products": it.info["n_products"],
            "max_relative_residual": max(it.info["relative_residuals"]),
        }

    main = iterative(tol, False)
    extra = {"variants": [iterative(t, mixed) for t, mixed in variants]}
    if eigh_full:
        H, t_build = timed(op.dense, device)
        _, t_eigh = timed(lambda: torch.linalg.eigh(H), device)
        del H
        extra |= {"eigh_full_s": t_build + t_eigh,
                  "speedup_vs_eigh_full": (t_build + t_eigh) / main["iterative_s"]}
    return extra | main | {"N": N, "p": p, "pN": p * N, "k": k, "dense_s": t_dense}


def scaling(Ns, p: int, alpha: float, k: int, tol: float, device: str) -> dict:
    """(3) Iterative solve time vs N at fixed alpha, with fitted exponents."""
    rows = []
    for N in Ns:
        problem = make_problem(N, p, 1, alpha, 0.7, seed=0, device=device)
        op = HessianOperator(problem)
        it, t = timed(lambda op=op: bottom_eigenpairs(
            op, SolverConfig(name="iterative", k=k, tol=tol, max_iter=5000), units=p), device)
        V = torch.randn(op.shape[0], it.info["block_size"], dtype=op.dtype, device=op.device)
        _, t_block = timed(lambda op=op, V=V: op.matvec(V), device)
        rows.append({"N": N, "seconds": t, "iterations": it.iterations,
                     "n_products": it.info["n_products"],
                     "seconds_per_block_product": t_block,
                     "converged": it.info["converged"]})
    logN = np.log([r["N"] for r in rows])

    def slope(key):
        return float(np.polyfit(logN, np.log([r[key] for r in rows]), 1)[0])

    return {"p": p, "alpha": alpha, "k": k, "tol": tol, "rows": rows,
            "exponent_time": slope("seconds"), "exponent_iterations": slope("iterations"),
            "exponent_block_product": slope("seconds_per_block_product")}


def versus_eigenthings(N: int, p: int, alpha: float, k: int, tol: float, device: str) -> dict:
    """(4) Our block Lanczos vs hessian-eigenthings' Lanczos (which='SA') on the same problem.

    Two flavours of the peer: its Lanczos on our closed-form product (the algorithms compared)
    and on its own autograd Hessian operator (the tool as a user would run it). Its Lanczos does
    not restart: the Krylov dimension is doubled until all ``k`` residuals meet ``tol * scale``.
    """
    try:
        import hessian_eigenthings as he
    except ImportError as err:
        return {"available": False,
                "reason": f"hessian-eigenthings is not importable ({err}); "
                          "`pip install hessian-eigenthings` to run this section"}
    from bbp_torch.model import Student, loss_from_output

    problem = make_problem(N, p, 1, alpha, 0.7, seed=0, device=device)
    op = HessianOperator(problem)
    ours, t_ours = timed(lambda: bottom_eigenpairs(
        op, SolverConfig(name="iterative", k=k, tol=tol, max_iter=5000), units=p), device)
    scale = ours.info["scale"]
    n = op.shape[0]
    closed = he.LambdaOperator(lambda v: op.matvec(v), n, device=device, dtype=op.dtype)
    model = Student(problem.W)
    auto = he.HessianOperator(
        model, [(problem.X, problem.y)],
        lambda m, batch: loss_from_output(m(batch[0]), batch[1], problem.a))
    out = {"available": True, "version": he.__version__, "N": N, "p": p, "k": k, "tol": tol,
           "ours_s": t_ours, "ours_products": ours.info["n_products"]}
    for name, peer in (("closed_form_product", closed), ("autograd_product", auto)):
        m = 2 * k
        while True:
            res, t = timed(lambda peer=peer, m=m: he.lanczos(
                peer, k=k, max_iter=min(m, n - 1), which="SA", reorthogonalize=True,
                seed=0), device)
            vals = res.eigenvalues.to(ours.values.device, ours.values.dtype)
            ok = bool((res.residuals <= tol * scale).all())
            if ok or m >= n - 1 or m >= 4096:
                break
            m *= 2
        out[name] = {"seconds": t, "krylov_dim": res.iterations, "converged": ok,
                     "ratio_to_ours": t / t_ours,
                     "max_rel_eigenvalue_difference": float((vals - ours.values).abs().max())
                     / scale}
    return out


class _CountingProduct:
    """``x -> H x`` on numpy arrays (one vector or a block) through our closed-form product,
    counting the vectors it was applied to."""

    def __init__(self, op):
        self.op, self.count = op, 0

    def __call__(self, x):
        x = np.asarray(x, dtype=np.float64)
        self.count += 1 if x.ndim == 1 else x.shape[1]
        return self.op.matvec(torch.from_numpy(np.ascontiguousarray(x))).numpy()


def _agreement(op, values, vectors, ours, scale: float) -> dict:
    """True relative residuals of a peer's pairs and their eigenvalue difference to ours."""
    values = torch.as_tensor(values, dtype=torch.float64)
    vectors = torch.as_tensor(vectors, dtype=torch.float64)
    order = torch.argsort(values)
    values, vectors = values[order], vectors[:, order]
    res = (op.matvec(vectors) - vectors * values[None, :]).norm(dim=0) / scale
    k = min(len(values), len(ours.values))
    diff = float((values[:k] - ours.values[:k].cpu()).abs().max()) / scale
    return {"max_relative_residual": float(res.max()), "max_rel_eigenvalue_difference": diff,
            "met_tol": bool(float(res.max()) <= ours.tol)}


def run_arpack(op, k: int, tol: float, ours, ncv: int | None = None) -> dict:
    """scipy's ARPACK ``eigsh(which='SA')`` on our closed-form product (a LinearOperator),
    with ``ncv`` Lanczos vectors (None: scipy's default ``max(2k + 1, 20)``).

    ARPACK accepts a Ritz pair when ``||r|| <= tol_arpack |theta|``; ours when ``||r|| <= tol
    ||H||`` (``||H||`` estimated by ``ours.scale``). It is given ``tol_arpack = tol scale /
    max |theta|`` over our ``k`` values: the loosest setting under which every pair it accepts
    meets our criterion. The start vector is seeded. A larger ``ncv`` restarts less: at
    N = 2000, p = 4, k = 8 ARPACK took 796 products with the default 20 and 490 with 80
    (9.8 s and 5.9 s here). scipy's own BLAS runs on
    one thread (ARPACK's vector work is small): two BLAS thread pools taking turns on two cores
    made it 2-4x slower at pN = 2000.
    """
    from scipy.sparse.linalg import LinearOperator, eigsh
    from threadpoolctl import threadpool_limits

    n = op.shape[0]
    product = _CountingProduct(op)
    lin = LinearOperator((n, n), matvec=product, matmat=product, dtype=np.float64)
    scale = ours.info["scale"]
    tol_arpack = tol * scale / float(ours.values.abs().max())
    v0 = np.random.default_rng(0).standard_normal(n)
    with threadpool_limits(1, user_api="blas"):
        (values, vectors), seconds = timed(lambda: eigsh(lin, k=k, which="SA", tol=tol_arpack,
                                                         v0=v0, ncv=ncv))
    # each product reads X twice; ARPACK's own vector work counts in too, so this is a lower
    # bound on the read rate of its products
    X = op.problem.X
    x_bytes = X.numel() * X.element_size()
    return {"seconds": seconds, "n_products": product.count, "tol_arpack": tol_arpack,
            "product_gb_per_s": 2 * x_bytes * product.count / seconds / 1e9,
            "ncv": ncv if ncv is not None else min(n, max(2 * k + 1, 20)),
            **_agreement(op, values, vectors, ours, scale)}


class _ProductMode(torch.overrides.TorchFunctionMode):
    """Within the mode, ``torch.matmul(marker, X)`` is our product ``H X`` (counted): the way
    to hand a matrix-free operator to ``torch.lobpcg``, which only calls ``matmul`` on it."""

    def __init__(self, marker, op):
        super().__init__()
        self.marker, self.op, self.count = marker, op, 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in (torch.matmul, torch.Tensor.matmul, torch.Tensor.__matmul__) and \
                args and args[0] is self.marker:
            self.count += args[1].shape[-1]
            return self.op.matvec(args[1])
        return func(*args, **kwargs)


def run_lobpcg(op, k: int, tol: float, ours, niter: int) -> dict:
    """``torch.lobpcg(largest=False)`` on our closed-form product, block of ``k``, its own
    residual test (``||r|| / (||A|| + |theta|)`` with ``||A||`` estimated from the start block)
    at ``tol``, at most ``niter`` iterations; seeded start block."""
    n = op.shape[0]
    marker = torch.zeros((), dtype=op.dtype).expand(n, n)  # shape and dtype only, no storage
    X0 = torch.randn(n, k, generator=torch.Generator().manual_seed(0), dtype=op.dtype)
    mode = _ProductMode(marker, op)

    def solve():
        with mode:
            return torch.lobpcg(marker, k=k, X=X0, largest=False, tol=tol, niter=niter)

    try:
        (values, vectors), seconds = timed(solve)
    except Exception as err:  # noqa: BLE001 - a peer's failure is a result to print
        return {"error": f"{type(err).__name__}: {err}"[:300], "n_products": mode.count}
    return {"seconds": seconds, "n_products": mode.count, "niter": niter,
            **_agreement(op, values, vectors, ours, ours.info["scale"])}


def run_eigenthings(op, k: int, tol: float, ours, device: str) -> dict:
    """hessian-eigenthings' Lanczos (``which='SA'``, reorthogonalised) on our closed-form
    product; it does not restart, so the Krylov dimension is doubled until every residual
    meets ``tol * scale``: time and products are those of that last run alone.
    ``{"available": False}`` when the package is not installed."""
    try:
        import hessian_eigenthings as he
    except ImportError:
        return {"available": False}
    n = op.shape[0]
    scale = ours.info["scale"]
    counted = {"n": 0}

    def product(v):
        counted["n"] += 1 if v.dim() == 1 else v.shape[1]
        return op.matvec(v)

    peer = he.LambdaOperator(product, n, device=device, dtype=op.dtype)
    m = 2 * k
    while True:
        counted["n"] = 0
        res, seconds = timed(lambda m=m: he.lanczos(peer, k=k, max_iter=min(m, n - 1),
                                                    which="SA", reorthogonalize=True, seed=0))
        ok = bool((res.residuals <= tol * scale).all())
        if ok or m >= n - 1 or m >= 4096:
            break
        m *= 2
    return {"available": True, "version": he.__version__, "seconds": seconds,
            "n_products": counted["n"], "krylov_dim": res.iterations,
            **_agreement(op, res.eigenvalues, res.eigenvectors.T, ours, scale)}


def versus_peers(N: int, p: int, alpha: float, k: int, tol: float, device: str,
                 peers=("arpack", "lobpcg", "eigenthings"), lobpcg_niter: int = 500,
                 repeats: int = 1, arpack_ncv: int | None = 80) -> dict:
    """(0) Ours against ARPACK, torch.lobpcg and hessian-eigenthings on the same closed-form
    product (float64, X in float64), bottom ``k``, tolerance ``tol``: seconds, vectors the
    product was applied to, relative residuals and eigenvalue difference to ours. ARPACK and
    ours run ``repeats`` times, alternating; the best time of each is kept. ARPACK runs with
    its default ``ncv`` (key ``arpack``) and, unless ``arpack_ncv`` is None, with
    ``ncv=arpack_ncv`` (key ``arpack_tuned``): fewer restarts, fewer products."""
    problem = make_problem(N, p, 1, alpha, 0.7, seed=0, device=device)
    op = HessianOperator(problem)
    settings = SolverConfig(name="iterative", k=k, tol=tol, max_iter=5000)
    mixed_settings = replace(settings, mixed_precision=True)
    ours_times, mixed_times, arpack = [], [], {}
    ncvs = {"arpack": None} | ({} if arpack_ncv is None else {"arpack_tuned": arpack_ncv})
    for _ in range(repeats):
        ours, t = timed(lambda: bottom_eigenpairs(op, settings, units=p), device)
        ours_times.append(t)
        mixed, t = timed(lambda: bottom_eigenpairs(op, mixed_settings, units=p), device)
        mixed_times.append(t)
        if "arpack" in peers and device == "cpu":
            for key, ncv in ncvs.items():
                run = run_arpack(op, k, tol, ours, ncv)
                if key not in arpack or run["seconds"] < arpack[key]["seconds"]:
                    arpack[key] = run
    out = {"N": N, "p": p, "pN": p * N, "alpha": alpha, "k": k, "tol": tol,
           "ours": {"seconds": min(ours_times), "all_seconds": ours_times,
                    "n_products": ours.info["n_products"], "iterations": ours.iterations,
                    "block_size": ours.info["block_size"], "basis_size": ours.info["basis_size"],
                    "max_relative_residual": max(ours.info["relative_residuals"]),
                    "converged": ours.info["converged"]}}
    scale = float(ours.values.abs().max())
    out["ours_mixed"] = {
        "seconds": min(mixed_times), "all_seconds": mixed_times,
        "n_products": mixed.info["n_products"],
        "phases": [(x["compute_dtype"], x["iterations"], x["method"])
                   for x in mixed.info["phases"]],
        "phase_products": [(x["compute_dtype"], x["n_products"], x["method"])
                           for x in mixed.info["phases"]],
        # a phase applies compute_dtype_products vectors in its compute_dtype, the others (the
        # refinement's corrections) in its expansion_dtype
        "float32_products": sum(
            x["compute_dtype_products"] * (x["compute_dtype"] == "float32")
            + (x["n_products"] - x["compute_dtype_products"]) * (x["expansion_dtype"] == "float32")
            for x in mixed.info["phases"]),
        "refinement": {key: mixed.info["phases"][-1][key]
                       for key in ("expansion_dtype", "anchors", "compute_dtype_products")},
        "max_relative_residual": max(mixed.info["relative_residuals"]),
        "converged": mixed.info["converged"],
        "max_rel_eigenvalue_difference": float((mixed.values - ours.values).abs().max()) / scale}
    for key, run in arpack.items():
        out[key] = run | {"ratio_to_ours": run["seconds"] / out["ours"]["seconds"],
                          "ratio_to_ours_mixed": run["seconds"] / min(mixed_times)}
    if "lobpcg" in peers:
        out["lobpcg"] = run_lobpcg(op, k, tol, ours, lobpcg_niter)
        if "seconds" in out["lobpcg"]:
            out["lobpcg"]["ratio_to_ours"] = out["lobpcg"]["seconds"] / out["ours"]["seconds"]
    if "eigenthings" in peers:
        out["eigenthings"] = run_eigenthings(op, k, tol, ours, device)
        if out["eigenthings"].get("available"):
            out["eigenthings"]["ratio_to_ours"] = (out["eigenthings"]["seconds"]
                                                   / out["ours"]["seconds"])
    return out


def _print_peers(r: dict) -> None:
    o = r["ours"]
    print(f"  ours (block Lanczos, b={o['block_size']}, basis {o['basis_size']}): "
          f"{o['seconds']:7.2f} s  ({o['n_products']} products, {o['iterations']} block steps, "
          f"max rel. residual {o['max_relative_residual']:.1e}, converged={o['converged']}; "
          "runs " + ", ".join(f"{t:.2f}" for t in o["all_seconds"]) + " s)")
    m = r["ours_mixed"]
    refine = m["refinement"]
    phases = " + ".join(
        f"{n} {d} steps" if "davidson" not in how else
        f"{n} refinement calls ({1 + refine['anchors']} in {d}, the others in "
        f"{refine['expansion_dtype']})" for d, n, how in m["phases"])
    print(f"  ours, solver.mixed_precision  : {m['seconds']:7.2f} s  ({m['n_products']} products, "
          f"{phases}, max rel. residual {m['max_relative_residual']:.1e}, "
          f"converged={m['converged']}, eigenvalues {m['max_rel_eigenvalue_difference']:.1e} "
          "from float64 products; runs " + ", ".join(f"{t:.2f}" for t in m["all_seconds"])
          + " s)")
    tuned = r.get("arpack_tuned", {}).get("ncv")
    rows = (("arpack", "ARPACK eigsh(SA)"), ("arpack_tuned", f"ARPACK, ncv={tuned}"),
            ("lobpcg", "torch.lobpcg"),
            ("eigenthings", "hessian-eigenthings"))
    for key, label in rows:
        x = r.get(key)
        if x is None:
            continue
        if key == "eigenthings" and not x.get("available"):
            print(f"  {label:24s}: not installed (pip install hessian-eigenthings)")
            continue
        if "error" in x:
            print(f"  {label:24s}: failed after {x['n_products']} products: {x['error']}")
            continue
        extra = f", its tol {x['tol_arpack']:.2e}" if "tol_arpack" in x else ""
        print(f"  {label:24s}: {x['seconds']:7.2f} s  ({x['n_products']} products{extra}) = "
              f"{x['ratio_to_ours']:.2f} x ours; max rel. residual "
              f"{x['max_relative_residual']:.1e} (meets tol: {x['met_tol']}), eigenvalues "
              f"{x['max_rel_eigenvalue_difference']:.1e} from ours")
    for key in ("arpack", "arpack_tuned"):
        if key not in r:
            continue
        print(f"  ARPACK (ncv={r[key]['ncv']}) / ours: {r[key]['ratio_to_ours']:.2f} x, with "
              f"mixed precision {r[key]['ratio_to_ours_mixed']:.2f} x  (target >= 3x at "
              "pN = 8000, >= 1x "
              "at pN = 2000)")


def _print_target(rows: list[dict], machine: dict | None = None) -> None:
    """The issue's target side by side: ARPACK / ours (the default solve: mixed precision) in
    time and in products, at every size of section 0 (the target is 3x at pN = 8000), and
    with ``machine`` (:func:`machine_rates`) how fast ARPACK's products ran against this
    machine's read rate (the target holds "on machines where ARPACK is fast too")."""
    print("\n  target: the default solve (mixed precision) >= 3x faster than ARPACK at pN = 8000,"
          " eigenvalues within 1e-8 relative")
    if machine is not None:
        print(f"  this machine: float32 products {machine['float32_gflops']:.0f} GFLOP/s, float64 "
              f"{machine['float64_gflops']:.0f} GFLOP/s, memory read {machine['read_gb_per_s']:.1f}"
              " GB/s")
    for r, key in ((r, key) for r in rows for key in ("arpack", "arpack_tuned")):
        if key not in r:
            continue
        a, m = r[key], r["ours_mixed"]
        f32 = m["float32_products"]
        print(f"  N={r['N']:5d}, p={r['p']}, pN={r['pN']:5d}: ARPACK (ncv={a['ncv']}) "
              f"{a['seconds']:7.2f} s / "
              f"{a['n_products']} products; ours {m['seconds']:7.2f} s / {m['n_products']} "
              f"products ({f32} float32): time {a['ratio_to_ours_mixed']:.2f} x, products "
              f"{a['n_products'] / m['n_products']:.2f} x (float64 products alone "
              f"{a['ratio_to_ours']:.2f} x); eigenvalues {a['max_rel_eigenvalue_difference']:.1e}"
              f" from ours; {'meets' if a['ratio_to_ours_mixed'] >= 3 else 'misses'} 3x"
              + ("" if r["pN"] == 8000 else " (not a target size)"))
        if machine is not None and "product_gb_per_s" in a:
            print(f"      ARPACK's products read X at {a['product_gb_per_s']:.1f} GB/s or more, "
                  f"{a['product_gb_per_s'] / machine['read_gb_per_s']:.0%} of this machine's "
                  "read rate")


def large_width(N: int, p: int, alpha: float, extra: int, tol: float, device: str) -> dict:
    """(6) A large-width solve (p* = 1, k = p + ``extra``), default settings (mixed precision):
    time, products, and where the time goes (products, orthogonalisation against the basis,
    Rayleigh-Ritz solves), per phase."""
    problem = make_problem(N, p, 1, alpha, 0.7, seed=0, device=device)
    op = HessianOperator(problem)
    k = p + extra
    pairs, seconds = timed(lambda: bottom_eigenpairs(
        op, SolverConfig(name="iterative", k=k, tol=tol, max_iter=5000, mixed_precision=True),
        units=p), device)
    info = pairs.info
    return {"N": N, "p": p, "pN": p * N, "alpha": alpha, "M": problem.M, "k": k, "tol": tol,
            "seconds": seconds, "n_products": info["n_products"], "converged": pairs.converged,
            "block_size": info["block_size"], "basis_size": info["basis_size"],
            "phases": [(x["compute_dtype"], x["method"], x["iterations"], x["n_products"],
                        x["block_size"], x["basis_size"], x["seconds"]) for x in info["phases"]],
            "timings": info["timings"], "ritz_solves": info["ritz_solves"],
            "product_flops": op.product_flops}


def batched_vs_loop(N: int, p: int, alpha: float, seeds: int, device: str) -> dict:
    """(5) Several seeds at once (batched dense H + batched eigh) vs one seed at a time."""
    from bbp_torch.batched import run_seeds
    from bbp_torch.observables import measure

    def loop():
        out = []
        for s in range(seeds):
            problem = make_problem(N, p, 1, alpha, 0.7, seed=s, device=device)
            pairs = bottom_eigenpairs(HessianOperator(problem), SolverConfig(k=8), units=p)
            out.append(measure(pairs.values, pairs.vectors, problem.W, problem.W_star))
        return out

    one, t_loop = timed(loop, device)
    batch, t_batch = timed(lambda: run_seeds(N, p, 1, alpha, 0.7, range(seeds), k=8,
                                             device=device, full_spectrum=True), device)
    diff = max(abs(a["lambda_min"] - b["metrics"]["lambda_min"])
               for a, b in zip(one, batch, strict=True))
    return {"N": N, "p": p, "seeds": seeds, "loop_s": t_loop, "batched_s": t_batch,
            "speedup": t_loop / t_batch, "max_lambda_min_difference": diff}


def big_run(N: int, p: int, alpha: float, k: int, tol: float, device: str,
            data_dtype: str, slq_probes: int, slq_steps: int, precision: str = "mixed") -> dict:
    """(2) The N=16000 target, in this process: time split, peak memory, residuals.

    ``precision="mixed"`` runs the solver with ``mixed_precision`` (float32 products first,
    float64 products to finish and for every reported residual); ``"float64"`` without it.
    """
    from bbp_torch.spectrum.slq import lanczos_quadrature

    start = time.perf_counter()
    problem, t_problem = timed(lambda: make_problem(N, p, 1, alpha, 0.7, seed=0, device=device,
                                                    data_dtype=data_dtype), device)
    op, t_op = timed(lambda: HessianOperator(problem), device)
    X = problem.X
    t_pass = min(timed(lambda: X.sum(), device)[1] for _ in range(3))  # one read of X
    pairs, t_solve = timed(lambda: bottom_eigenpairs(
        op, SolverConfig(name="iterative", k=k, tol=tol, max_iter=5000,
                         mixed_precision=precision == "mixed"), units=p), device)
    out = {
        "N": N, "p": p, "alpha": alpha, "M": problem.M, "k": k, "tol": tol,
        "data_dtype": data_dtype, "device": device, "precision": precision,
        "phases": pairs.info["phases"],
        "problem_s": t_problem, "operator_setup_s": t_op, "solve_s": t_solve,
        "iterations": pairs.iterations, "n_products": pairs.info["n_products"],
        "block_size": pairs.info["block_size"], "basis_size": pairs.info["basis_size"],
        "converged": pairs.info["converged"], "values": [float(x) for x in pairs.values],
        "residuals": [float(x) for x in pairs.residuals],
        "relative_residuals": pairs.info["relative_residuals"],
        "scale": pairs.info["scale"], "solver_timings": pairs.info["timings"],
        "x_gb": X.numel() * X.element_size() / 1e9, "x_pass_s": t_pass,
        "step_s": [x["seconds"] / max(1, x["iterations"]) for x in pairs.info["phases"]],
        "apply_s": pairs.info["timings"]["apply"] / max(1, pairs.iterations),
    }
    if slq_probes > 0:
        quad, t_slq = timed(lambda: lanczos_quadrature(op, probes=slq_probes, steps=slq_steps,
                                                        seed=0), device)
        out["slq"] = {"probes": slq_probes, "steps": slq_steps, "seconds": t_slq,
                      "support": list(quad.support())}
    out["total_s"] = time.perf_counter() - start
    out["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9
    if torch.device(device).type == "cuda":
        out["peak_cuda_gb"] = torch.cuda.max_memory_allocated() / 1e9
    return out


def big_in_subprocess(args, precision: str) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--big-only", "--device", args.device,
           "--big-N", str(args.big_N), "--big-tol", str(args.big_tol),
           "--big-data-dtype", args.big_data_dtype, "--big-precision", precision,
           "--slq-probes", str(args.slq_probes),
           "--slq-steps", str(args.slq_steps)]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    lines = [x for x in proc.stdout.splitlines() if x.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"error": (proc.stderr or proc.stdout)[-2000:]}
    return json.loads(lines[-1])


def _print_compare(r: dict) -> None:
    print(f"  dense (closed-form H + bottom-{r['k']} eigh) : {r['dense_s']:8.2f} s")
    print(f"  iterative (block Lanczos, tol={r['tol']:g})   : {r['iterative_s']:8.2f} s  "
          f"({r['iterations']} block steps, {r['n_products']} products)")
    print(f"  speed-up dense / iterative               : {r['speedup']:8.1f} x  (target >= 5x)")
    print(f"  max relative eigenvalue difference       : {r['max_rel_eigenvalue_error']:.1e}  "
          "(target <= 1e-8)")
    print(f"  eigenvector subspace overlap             : {r['subspace_overlap']:.8f}  "
          f"(min single-vector |overlap| {r['min_vector_overlap']:.6f}; target > 0.999)")
    if "eigh_full_s" in r:
        print(f"  dense H + full torch.linalg.eigh          : {r['eigh_full_s']:8.2f} s "
              f"= {r['speedup_vs_eigh_full']:.1f} x the iterative time")
    print("  the iterative solver at other tolerances (eigenvalue error ~ (tol ||H||)^2 / gap):")
    for v in r["variants"]:
        products = "mixed  " if v["mixed_precision"] else "float64"
        print(f"    tol={v['tol']:g}, {products} products: {v['iterative_s']:7.2f} s, "
              f"speed-up {v['speedup']:5.1f} x, eigenvalue difference "
              f"{v['max_rel_eigenvalue_error']:.1e}, subspace overlap "
              f"{v['subspace_overlap']:.6f} ({v['iterations']} block steps)")


def _print_big(r: dict) -> None:
    if "error" in r:
        print("  FAILED:\n" + r["error"])
        return
    print(f"  problem generation {r['problem_s']:.1f} s, operator setup "
          f"{r['operator_setup_s']:.1f} s, solve {r['solve_s']:.1f} s, total {r['total_s']:.1f} s"
          "  (target: solve < 200 s)")
    print(f"  peak memory (ru_maxrss) {r['peak_rss_gb']:.2f} GB  (target < 6 GB)"
          + (f", peak CUDA {r['peak_cuda_gb']:.2f} GB" if "peak_cuda_gb" in r else ""))
    print(f"  {r['iterations']} operator calls ({r['n_products']} products), "
          f"converged={r['converged']}, precision {r['precision']}:")
    for x, step in zip(r["phases"], r["step_s"], strict=True):
        print(f"    {x['method']} on {x['compute_dtype']} products: "
              f"{x['iterations']} calls (block {x['block_size']}, basis {x['basis_size']}, "
              f"{x['n_products']} vectors), "
              f"{x['seconds']:.1f} s ({step:.3f} s per call), to tol "
              f"{x['tol']:g} (converged={x['converged']}); layouts "
              f"{x.get('first_pass')} | {x.get('second_pass')}")
    print(f"  memory floor: one pass over X ({r['x_gb']:.2f} GB) takes {r['x_pass_s']:.3f} s "
          f"({r['x_gb'] / r['x_pass_s']:.1f} GB/s); a block step costs "
          f"{r['step_s'][0] / r['x_pass_s']:.1f}x that (its product alone "
          f"{r['apply_s'] / r['x_pass_s']:.1f}x; a product reads X twice)")
    print("  eigenvalues   : " + " ".join(f"{x:.6f}" for x in r["values"]))
    print("  residuals     : " + " ".join(f"{x:.1e}" for x in r["residuals"]))
    print(f"  rel. residual : max {max(r['relative_residuals']):.1e} (tol {r['tol']:g}, "
          f"scale {r['scale']:.3g})")
    if "slq" in r:
        s = r["slq"]
        print(f"  SLQ density ({s['probes']} probes x {s['steps']} steps): {s['seconds']:.1f} s")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    parser.add_argument("--tol", type=float, default=1e-8, help="sections 1, 3, 4")
    parser.add_argument("--big", action="store_true", help="also the N=16000 target (minutes)")
    parser.add_argument("--eigh-full", action="store_true",
                        help="section 1: also time a full torch.linalg.eigh of H")
    parser.add_argument("--big-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--big-N", type=int, default=16000)
    parser.add_argument("--big-tol", type=float, default=1e-6)
    parser.add_argument("--big-data-dtype", default="float32")
    parser.add_argument("--big-precision", choices=("mixed", "float64", "both"),
                        default="mixed",
                        help="section 2: float32 products first, then float64 (mixed), "
                             "float64 products throughout, or both one after the other")
    parser.add_argument("--slq-probes", type=int, default=0,
                        help="section 2: also time an SLQ density (0 = skip)")
    parser.add_argument("--slq-steps", type=int, default=60)
    parser.add_argument("--skip", default="",
                        help="comma list of sections to skip: 0,1,3,4,5,6")
    parser.add_argument("--wide-N", type=int, default=1000, help="section 6: N")
    parser.add_argument("--wide-p", type=int, default=64, help="section 6: p")
    parser.add_argument("--wide-alpha", type=float, default=1.2, help="section 6: alpha")
    parser.add_argument("--repeats", type=int, default=1,
                        help="section 0: runs of ours and ARPACK, alternating (best kept)")
    parser.add_argument("--peer-sizes", default="1000:2,2000:4,4000:2",
                        help="section 0: comma list of N:p")
    parser.add_argument("--arpack-ncv", type=int, default=80,
                        help="section 0: also run ARPACK with this many Lanczos vectors (it "
                             "restarts less than with its default; 0 = only the default)")
    parser.add_argument("--peers-all", action="store_true",
                        help="section 0: torch.lobpcg and hessian-eigenthings above pN = 2000 "
                             "too (minutes each at pN = 8000)")
    parser.add_argument("--lobpcg-niter", type=int, default=300,
                        help="section 0: iterations allowed to torch.lobpcg")
    parser.add_argument("--json", default=None, help="write all results to this file")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.big_only:
        r = big_run(args.big_N, 4, 4.0, 8, args.big_tol, args.device, args.big_data_dtype,
                    args.slq_probes, args.slq_steps, args.big_precision)
        print(json.dumps(r))
        return r

    skip = set(args.skip.split(",")) if args.skip else set()
    results: dict = {"device": args.device, "threads": torch.get_num_threads(),
                     "torch": torch.__version__}
    print(f"torch {torch.__version__}, device {args.device}, {torch.get_num_threads()} threads")
    if "0" not in skip:
        sizes = ((300, 2), (250, 4)) if args.quick else tuple(
            tuple(int(x) for x in size.split(":")) for size in args.peer_sizes.split(","))
        results["peers"] = []
        results["machine"] = machine_rates() if args.device == "cpu" else None
        for N, p in sizes:
            peers = ("arpack", "lobpcg", "eigenthings") if args.peers_all or p * N <= 2000 \
                else ("arpack",)
            print(f"\n-- (0) ours vs {', '.join(peers)} on the same product: N={N}, p={p} "
                  f"(pN={p * N}), alpha=4, k=8, tol={args.tol:g} --")
            r = versus_peers(N, p, 4.0, 8, args.tol, args.device, peers=peers,
                             repeats=args.repeats, lobpcg_niter=args.lobpcg_niter,
                             arpack_ncv=args.arpack_ncv or None)
            results["peers"].append(r)
            _print_peers(r)
        _print_target(results["peers"], results["machine"])
    if "1" not in skip:
        N = 250 if args.quick else 2000
        print(f"\n-- (1) iterative vs dense, p=4, N={N} (pN={4 * N}), alpha=4, k=8 --")
        results["compare_dense"] = r = compare_dense(N, 4, 4.0, 8, args.tol, args.device,
                                                         args.eigh_full)
        _print_compare(r)
    if args.big:
        print(f"\n-- (2) target: N={args.big_N}, p=4, p*=1, alpha=4, k=8, X in "
              f"{args.big_data_dtype}, tol={args.big_tol:g}, {args.big_precision} products "
              "(subprocess) --")
        precisions = ("mixed", "float64") if args.big_precision == "both" else (args.big_precision,)
        for precision in precisions:
            key = "big" if precision == precisions[0] else f"big_{precision}"
            results[key] = r = big_in_subprocess(args, precision)
            _print_big(r)
        if len(precisions) == 2 and "solve_s" in results["big"]:
            slow = results["big_float64"].get("solve_s", float("nan"))
            print(f"  float64 products throughout / mixed precision: "
                  f"{slow / results['big']['solve_s']:.2f} x the solve time")
    if "3" not in skip:
        Ns = (250, 500, 1000) if args.quick else (500, 1000, 2000, 4000)
        print(f"\n-- (3) scaling at fixed alpha=4, p=2, k=8, tol={args.tol:g} --")
        results["scaling"] = r = scaling(Ns, 2, 4.0, 8, args.tol, args.device)
        for row in r["rows"]:
            print(f"  N={row['N']:6d}: {row['seconds']:8.2f} s, {row['iterations']:4d} block "
                  f"steps, {row['n_products']:5d} products, one block product "
                  f"{row['seconds_per_block_product'] * 1e3:8.1f} ms")
        print(f"  fitted exponents: time ~ N^{r['exponent_time']:.2f}, block product ~ "
              f"N^{r['exponent_block_product']:.2f} (expected 2), iterations ~ "
              f"N^{r['exponent_iterations']:.2f}")
    if "4" not in skip:
        N = 300 if args.quick else 1000
        print(f"\n-- (4) vs hessian-eigenthings Lanczos (which='SA'), p=2, N={N}, alpha=4, "
              f"k=8, tol={args.tol:g} --")
        results["eigenthings"] = r = versus_eigenthings(N, 2, 4.0, 8, args.tol, args.device)
        if not r["available"]:
            print("  " + r["reason"])
        else:
            print(f"  ours (block Lanczos, closed form)  : {r['ours_s']:8.2f} s "
                  f"({r['ours_products']} products)")
            for name in ("closed_form_product", "autograd_product"):
                x = r[name]
                print(f"  eigenthings lanczos, {name:18s}: {x['seconds']:8.2f} s "
                      f"(Krylov dim {x['krylov_dim']}, converged={x['converged']}) = "
                      f"{x['ratio_to_ours']:.1f} x ours; max rel. eigenvalue difference "
                      f"{x['max_rel_eigenvalue_difference']:.1e}")
    if "5" not in skip:
        N, seeds = (40, 8) if args.quick else (100, 32)
        print(f"\n-- (5) {seeds} seeds, p=2, N={N}, alpha=4: batched vs one at a time "
              "(all eigenvalues + bottom 8 pairs each) --")
        results["batched"] = r = batched_vs_loop(N, 2, 4.0, seeds, args.device)
        print(f"  one at a time {r['loop_s']:.2f} s, batched {r['batched_s']:.2f} s: "
              f"{r['speedup']:.1f} x (max |lambda_min| difference "
              f"{r['max_lambda_min_difference']:.1e})")
    if "6" not in skip:
        N, p = (100, 8) if args.quick else (args.wide_N, args.wide_p)
        print(f"\n-- (6) large width: N={N}, p={p} (pN={p * N}), p*=1, alpha={args.wide_alpha:g}"
              f", a=0.7, k=p+4, tol={args.tol:g}, default settings (mixed precision) --")
        results["large_width"] = r = large_width(N, p, args.wide_alpha, 4, args.tol, args.device)
        t = r["timings"]
        print(f"  {r['seconds']:.2f} s, {r['n_products']} products, converged={r['converged']}"
              f"; products {t['apply']:.2f} s, orthogonalisation {t['orthogonalize']:.2f} s, "
              f"Rayleigh-Ritz {t['ritz']:.2f} s ({r['ritz_solves']} solves), the rest "
              f"{t['lanczos'] - t['apply'] - t['orthogonalize'] - t['ritz']:.2f} s")
        for dtype, how, steps, n, b, m, sec in r["phases"]:
            print(f"  {dtype} {how}: {steps} calls, {n} products, block {b}, basis {m}, "
                  f"{sec:.2f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
    sys.exit(0)
