"""The cost of the Hessian along a descent, side by side with the descent alone.

    python scripts/bench_tracking.py                   # N = 2000, p = 1, 2000 steps, every 100
    python scripts/bench_tracking.py --N 1000 --steps 1000

Three descents of the same problem from the same start, one after the other: without any
Hessian (losses and overlaps tracked every ``--every`` steps), with the Hessian every
``--every`` steps warm-started (each eigensolve of the iterative solver starts from the last
one's eigenvectors, the default), and cold (each from a seeded random block). Prints the wall
time of each, the tracking's extra time against the descent alone, and the operator products
per tracked solve. The target: warm tracking every 100 steps costs at most the descent again.
Each time is given as wall time and as the process's CPU time: with ``--threads 1`` the CPU
time is what the descent costs on one core even on a machine busy with other work.
"""

from __future__ import annotations

import argparse
import contextlib
import time

import torch

from bbp_torch.config import SolverConfig
from bbp_torch.model import make_problem
from bbp_torch.runtime import limit_threads
from bbp_torch.training import Tracker, train


def descent(problem, steps: int, every: int, hessian: bool, warm: bool,
            solver: SolverConfig) -> dict:
    """One spherical descent tracked every ``every`` steps, with its Hessian or without any;
    its wall time and the products of its solves."""
    tracker = Tracker.with_fresh_data(problem, n_test=1000, hessian_kind="spherical",
                                      solver=solver, warm_start=warm)
    if not hessian:
        tracker.hessian = lambda W, step=0: {}
    products = []
    solve = tracker.eigenpairs

    def counted(W):
        pairs = solve(W)
        products.append(pairs.info.get("n_products", 0))
        return pairs

    tracker.eigenpairs = counted
    start, cpu = time.perf_counter(), time.process_time()
    traj = train(problem, "spherical_gd", 0.1, steps, track_every=every,
                 hessian_every=every, tracker=tracker)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"seconds": seconds, "cpu": cpu, "solves": len(products), "products": products,
            "lambda_min": traj.final.get("lambda_min")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--N", type=int, default=2000)
    parser.add_argument("--alpha", type=float, default=2.0)
    parser.add_argument("--a", type=float, default=0.5)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--dtype", default="float32", choices=("float64", "float32"),
                        help="the descent presets' float32 by default")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--tol", type=float, default=None,
                        help="solver.tol of the tracked solves (default: the dtype's)")
    args = parser.parse_args()
    problem = make_problem(args.N, 1, 1, args.alpha, args.a, seed=0,
                           dtype=getattr(torch, args.dtype))
    solver = SolverConfig(name="iterative", k=3, full_spectrum=False, tol=args.tol)
    print(f"N={args.N} p=1 alpha={args.alpha} a={args.a} (M={problem.M}), {args.steps} "
          f"spherical GD steps, {args.dtype}; Hessian (spherical, iterative, k=3) every "
          f"{args.every} steps, tol {args.tol or 'default'}")
    with limit_threads(args.threads) if args.threads else contextlib.nullcontext():
        alone = descent(problem, args.steps, args.every, False, True, solver)
        warm = descent(problem, args.steps, args.every, True, True, solver)
        cold = descent(problem, args.steps, args.every, True, False, solver)
    print(f"  descent alone (no Hessian)  : {alone['seconds']:7.2f} s wall, "
          f"{alone['cpu']:7.2f} s CPU")
    for name, r in (("warm-started", warm), ("cold", cold)):
        per = sum(r["products"]) / max(r["solves"], 1)
        ratio = (r["seconds"] - alone["seconds"]) / alone["seconds"]
        ratio_cpu = (r["cpu"] - alone["cpu"]) / alone["cpu"]
        print(f"  tracked, {name:12s}: {r['seconds']:7.2f} s wall, {r['cpu']:7.2f} s CPU, "
              f"{r['solves']} solves ({per:.0f} products each): tracking = {ratio:.2f}x "
              f"(wall), {ratio_cpu:.2f}x (CPU) the descent alone")
    print(f"  final lambda_min: warm {warm['lambda_min']:.10f}, cold {cold['lambda_min']:.10f}")


if __name__ == "__main__":
    main()
