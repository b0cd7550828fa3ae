"""Benchmarks of bbp_torch, reported as ratios measured side by side in one run.

    python scripts/bench.py                 # core: closed form vs autograd, matmul rate, run split
    python scripts/bench.py --large [...]   # also the matrix-free / large-N section (slow)

Timings are the best of a few repeats (these machines are shared and noisy); what is meant to be
compared is measured in the same process, one after the other.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))


def best_time(fn, repeats: int = 3) -> float:
    """Best wall time of ``repeats`` calls of ``fn`` (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def matmul_rate(n: int = 4000, dtype=torch.float64) -> dict:
    """GFLOP/s of a dense ``n x n`` by ``n x n`` product through torch and through numpy (their
    BLAS libraries differ), and the faster of the two (``best``)."""
    gen = torch.Generator().manual_seed(0)
    A = torch.randn(n, n, generator=gen, dtype=dtype)
    B = torch.randn(n, n, generator=gen, dtype=dtype)
    An, Bn = A.numpy(), B.numpy()
    flops = 2 * n**3 / 1e9
    rates = {"torch": flops / best_time(lambda: A @ B), "numpy": flops / best_time(lambda: An @ Bn)}
    return rates | {"best": max(rates.values())}


def closed_form_flops(p: int, N: int, M: int) -> float:
    """Flops the closed form executes: ``p(p+1)/2`` blocks, each a symmetric rank-k update of
    ``M N^2`` flops (half of a general ``N x M`` by ``M x N`` product)."""
    return p * (p + 1) / 2 * M * N * N


def bench_hessian(N: int = 1000, p: int = 2, alpha: float = 4.0, autograd: bool = True) -> dict:
    from bbp_torch.hessian import autograd_hessian, dense_hessian
    from bbp_torch.model import make_problem

    problem = make_problem(N, p, 1, alpha, 0.7, seed=0)
    rates = matmul_rate()
    t_closed = best_time(lambda: dense_hessian(problem))
    rates_after = matmul_rate()  # the machine is shared: the rate before and after the build
    best = max(rates["best"], rates_after["best"])
    out = {
        "matmul_gflops": best,
        "matmul_torch_gflops": max(rates["torch"], rates_after["torch"]),
        "matmul_numpy_gflops": max(rates["numpy"], rates_after["numpy"]),
        "closed_form_s": t_closed,
        "closed_form_gflops": closed_form_flops(p, N, problem.M) / t_closed / 1e9,
    }
    out["fraction_of_matmul"] = out["closed_form_gflops"] / best
    if autograd:
        t_auto = best_time(lambda: autograd_hessian(problem), repeats=1)
        out["autograd_s"] = t_auto
        out["speedup_vs_autograd"] = t_auto / t_closed
    return out


def bench_default_run() -> dict:
    """Time split of the default main job (build / eigensolve / rest), through the study API."""
    from hydra import compose, initialize_config_dir

    from bbp_torch.config import CONFIG_DIR, register_configs
    from bbp_torch.hessian import dense_hessian
    from bbp_torch.model import make_problem
    from bbp_torch.spectrum import symmetric_eigh
    from bbp_torch.study import run_study

    register_configs()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="config", overrides=["device=cpu"])
    start = time.perf_counter()
    record = run_study(cfg).record
    total = time.perf_counter() - start
    pr = record["config"]["problem"]
    problem = make_problem(pr["N"], pr["p"], pr["p_star"], pr["alpha"], pr["a"], seed=0)
    t_build = best_time(lambda: dense_hessian(problem))
    H = dense_hessian(problem)
    t_eigvals = best_time(lambda: torch.linalg.eigvalsh(H))
    t_bottom = best_time(lambda: symmetric_eigh(H, record["config"]["solver"]["k"]))
    return {"total_s": total, "build_s": t_build, "eigvalsh_s": t_eigvals,
            "bottom_pairs_s": t_bottom, "rest_s": total - t_build - t_eigvals - t_bottom,
            "record_timings": record["timings"]}


def bench_activations(N: int = 1000, p: int = 2, alpha: float = 4.0, autograd: bool = True
                      ) -> dict:
    """The dense build for tanh next to the square, and the matrix-free product of a block of
    4 vectors from the closed form next to the autograd one (``hessian.product``), tanh."""
    from bbp_torch.hessian import AutogradOperator, HessianOperator, dense_hessian
    from bbp_torch.model import make_problem

    square = make_problem(N, p, 1, alpha, 0.7, seed=0)
    tanh = make_problem(N, p, 1, alpha, 50.0, seed=0, activation="tanh")
    out = {"square_s": best_time(lambda: dense_hessian(square)),
           "tanh_s": best_time(lambda: dense_hessian(tanh))}
    out["tanh_over_square"] = out["tanh_s"] / out["square_s"]
    V = torch.randn(p * N, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    closed = HessianOperator(tanh)
    out["product_closed_s"] = best_time(lambda: closed.matvec(V))
    if autograd:
        auto = AutogradOperator(tanh)
        out["product_autograd_s"] = best_time(lambda: auto.matvec(V))
        out["autograd_over_closed"] = out["product_autograd_s"] / out["product_closed_s"]
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--N", type=int, default=1000)
    parser.add_argument("--p", type=int, default=2)
    parser.add_argument("--alpha", type=float, default=4.0)
    parser.add_argument("--no-autograd", action="store_true", help="skip torch.func.hessian")
    parser.add_argument("--large", action="store_true",
                        help="also run the matrix-free section (scripts/bench_large.py)")
    parser.add_argument("--threads", type=int, default=None)
    args, rest = parser.parse_known_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, float64")

    h = bench_hessian(args.N, args.p, args.alpha, autograd=not args.no_autograd)
    print(f"\n== Dense Hessian, p={args.p}, N={args.N}, alpha={args.alpha} ==")
    print(f"  float64 matmul rate (n=4000)     : {h['matmul_gflops']:8.1f} GFLOP/s (torch "
          f"{h['matmul_torch_gflops']:.1f}, numpy {h['matmul_numpy_gflops']:.1f}: the faster)")
    print(f"  closed form                      : {h['closed_form_s']:8.3f} s  "
          f"({h['closed_form_gflops']:.1f} GFLOP/s = {h['fraction_of_matmul']:.0%} of matmul; "
          "target >= 60%)")
    if "autograd_s" in h:
        print(f"  torch.func.hessian               : {h['autograd_s']:8.3f} s")
        print(f"  speed-up closed form / autograd  : {h['speedup_vs_autograd']:8.1f} x  "
              "(target >= 30x)")

    act = bench_activations(args.N, args.p, args.alpha, autograd=not args.no_autograd)
    print(f"\n== Other activations, p={args.p}, N={args.N}, alpha={args.alpha} ==")
    print(f"  dense build, square              : {act['square_s']:8.3f} s")
    print(f"  dense build, tanh                : {act['tanh_s']:8.3f} s  "
          f"({act['tanh_over_square']:.2f}x the square; target <= 1.5x)")
    print(f"  product of 4 vectors, closed form: {act['product_closed_s'] * 1e3:8.2f} ms (tanh)")
    if "product_autograd_s" in act:
        print(f"  product of 4 vectors, autograd   : {act['product_autograd_s'] * 1e3:8.2f} ms "
              f"({act['autograd_over_closed']:.1f}x the closed form)")

    d = bench_default_run()
    print("\n== Default main job (N=400, p=2, alpha=3), through run_study ==")
    print(f"  total {d['total_s']:.3f} s = build {d['build_s']:.3f} s + all eigenvalues "
          f"{d['eigvalsh_s']:.3f} s + bottom pairs {d['bottom_pairs_s']:.3f} s + rest "
          f"{d['rest_s']:.3f} s")
    print("  as recorded: " + ", ".join(f"{k} {v:.3f}s" for k, v in d["record_timings"].items()))

    if args.large:
        import bench_large

        print("\n== Matrix-free and large N (scripts/bench_large.py) ==")
        bench_large.main(rest)


if __name__ == "__main__":
    main()
