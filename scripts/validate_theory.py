"""Heavier validation of bbp_torch.theory; prints a compact report.

    python scripts/validate_theory.py            # theory checks + simulations (~10 min, 2 cores)
    python scripts/validate_theory.py --no-sim   # theory checks only (~1 min)

Sections: (1) alpha_BBP table and transition types, (2) pole formula / criterion / critical a,
(3) large-p expansion error, (4) quadrature convergence, (5) structural scans (q(g) and alpha_t(g)
monotone, no student-channel root), (6) density masses, (7) simulations: channel resolvents,
density (Kolmogorov distance), lambda_min against edge/outlier over N, overlaps at N = 1200.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from bbp_torch import theory
from bbp_torch.theory import quadrature
from bbp_torch.theory.branch import branch
from bbp_torch.theory.channels import channel_x

P_TABLE = (1, 2, 3, 4, 8, 16, 32, 64, math.inf)


def section(title):
    print(f"\n== {title}")


def table():
    section("1. alpha_BBP (p* = 1; transition: c = continuous, d = discontinuous)")
    a_values = (0.3, 0.7, 1.0, 1.5, 3.0)
    print(f"{'p':>5} " + " ".join(f"{'a=' + format(a, 'g'):>13}" for a in a_values))
    for p in P_TABLE:
        cells = []
        for a in a_values:
            t = theory.transition_type(p, 1, a)[0]
            cells.append(f"{theory.alpha_bbp(p, 1, a):11.6f} {t}")
        print(f"{'inf' if math.isinf(p) else p:>5} " + " ".join(f"{c:>13}" for c in cells))
    for a in a_values:
        vals = {p: theory.alpha_bbp(p, 1, a) for p in P_TABLE}
        p_min = min(vals, key=vals.get)
        mono = all(vals[p1] > vals[p2] for p1, p2 in zip(P_TABLE, P_TABLE[1:], strict=False))
        print(f"a={a:g}: monotone decreasing in p: {mono}; minimum at p = {p_min} "
              f"({vals[p_min]:.6f}; limit {(a + 1) / 2:.6f})")


def pole_checks():
    section("2. pole formula, pole criterion, critical a")
    worst, agree, total = 0.0, 0, 0
    for p_star in (1, 2, 3):
        for p in (1, 2, 3, 4, 8, 16, 64):
            for a in (0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.2, 1.5, 2.0, 3.0, 5.0):
                kind = theory.transition_type(p, p_star, a)
                crit = theory.pole_criterion(p, p_star, a)
                total += 1
                agree += (crit <= 1) == (kind == "discontinuous")
                if kind == "discontinuous":
                    rel = abs(theory.alpha_bbp_pole(p, p_star, a) / theory.alpha_bbp(p, p_star, a)
                              - 1)
                    worst = max(worst, rel)
                else:
                    assert theory.alpha_bbp(p, p_star, a) > theory.alpha_bbp_pole(p, p_star, a)
    print(f"pole formula vs root finder (discontinuous cases): max rel. diff {worst:.1e}")
    print(f"pole criterion agrees with the root finder's classification: {agree}/{total}")
    for p_star in (1, 2, 3):
        crit = [theory.critical_a(p, p_star) for p in (1, 2, 3, 4, 8, 16, 32)]
        print(f"critical a, p* = {p_star}, p = 1,2,3,4,8,16,32: "
              + ", ".join(f"{c:.3f}" for c in crit))


def large_p():
    section("3. large-p expansion: (alpha_BBP - expansion to 1/p^2) * p^3 / limit")
    for a in (0.3, 0.7, 1.5, 3.0):
        c1, c2 = theory.large_p_coefficients(a)
        lim = (a + 1) / 2
        row = []
        for p in (16, 32, 64, 128, 256):
            row.append((theory.alpha_bbp(p, 1, a) - theory.alpha_bbp_large_p(p, 1, a)) * p**3
                       / lim)
        print(f"a={a:g}: c1={c1:+.4f} c2={c2:+.4f}  p=16..256: "
              + " ".join(f"{r:+.3f}" for r in row))


def _with_step(h, fn):
    """Evaluate fn() with the quadrature step h (caches cleared before and after)."""
    old = quadrature.H_STEP
    try:
        quadrature.H_STEP = h
        theory.clear_caches()
        return fn()
    finally:
        quadrature.H_STEP = old
        theory.clear_caches()


def convergence():
    section("4. quadrature convergence (step 0.08 vs 0.04): max relative differences")
    cases = [(1, 1, 0.1), (1, 1, 0.7), (2, 1, 0.7), (2, 1, 1.5), (3, 2, 0.3), (16, 1, 0.5),
             (math.inf, 1, 0.2)]

    def values():
        out = []
        for p, ps, a in cases:
            ab = theory.alpha_bbp(p, ps, a)
            out += [ab, theory.overlap(p, ps, a, 2 * ab),
                    theory.edge(p, ps, a, 2 * ab, rescaled=True),
                    theory.density(p, ps, a, 2 * ab, [theory.edge(p, ps, a, 2 * ab, True) + 1],
                                   rescaled=True)[0]]
        return np.array(out)

    coarse, fine = _with_step(0.08, values), _with_step(0.04, values)
    rel = np.abs(coarse / fine - 1).reshape(len(cases), 4).max(axis=0)
    print("alpha_BBP {:.1e}   overlap {:.1e}   edge {:.1e}   density {:.1e}".format(*rel))


def scans():
    section("5. structural scans on g in [-1/2, 0) (rescaled)")
    bad_q = bad_t = bad_s = 0
    min_student = math.inf
    n = 0
    for p_star in (1, 2, 4):
        for p in (1, 2, 3, 4, 8, 16, 64):
            for a in (0.05, 0.1, 0.3, 0.7, 1.0, 1.5, 3.0, 10.0):
                br = branch(float(p), float(p_star), a)
                n += 1
                bad_q += not np.all(np.diff(br.q_grid) < 0)  # grid ascends in g: q decreases
                bad_t += not np.all(np.diff(br.alpha_t_grid) > 0)
                kinds = ["trace"] if p == 1 else theory.STUDENT_CHANNELS
                for kind in kinds:
                    x = channel_x(br.nodes, kind, br.g_grid)
                    e = br.nodes.mean(br.nodes.yh * x - br.nodes.phi(br.g_grid))
                    # E -> 0 like |g| at g -> 0 in the antisymmetric channel (the O(p) orbit):
                    # the margin is E/|g|
                    min_student = min(min_student, float((e / np.abs(br.g_grid)).min()))
                    bad_s += bool(np.any(e <= 0))
    print(f"{n} (p, p*, a) cases: q(g) increasing in |g|: {n - bad_q}/{n}; alpha_t(g) increasing "
          f"towards g = 0: {n - bad_t}/{n}")
    print(f"student channels: E[yh X_g - Phi_g] > 0 everywhere (no outlier): "
          f"{bad_s == 0}; min of E/|g| {min_student:.3e}")


def masses():
    section("6. density: mass of the continuous part (expected min(alpha, 1))")
    for p, a, alpha in [(1, 0.7, 0.5), (2, 0.7, 2.0), (2, 1.5, 0.8), (8, 0.3, 3.0),
                        (math.inf, 1.0, 1.5)]:
        resc = math.isinf(p)
        s = 1.0 if resc else 1.0 / p
        e = theory.edge(p, 1, a, alpha, rescaled=resc)
        lam = np.unique(np.concatenate([np.linspace(e - 0.05 * s, 4 * s, 3000),
                                        np.linspace(-0.05 * s, 0.05 * s, 800) + 1e-7,
                                        np.geomspace(4 * s, 2000 * s, 800)]))
        mass = np.trapezoid(theory.density(p, 1, a, alpha, lam, rescaled=resc), lam)
        print(f"p={p} a={a} alpha={alpha}: {mass:.5f} (expected {min(alpha, 1):.5f})")


# ----------------------------------------------------------------------------- simulations


def simulations(seeds: int):
    from bbp_torch.channels import channel_resolvents, eigenpairs, ks_distance
    from bbp_torch.observables import student_overlap, teacher_overlap

    def eig(N, p, alpha, a, seed, vectors=False):
        return eigenpairs(N, p, 1, alpha, a, seed, vectors)

    section("7a. channel resolvents at z below the spectrum: sim/theory - 1 (N = 800)")
    for p, a, alpha, z in [(3, 0.7, 2.0, -2.0), (2, 1.5, 2.0, -3.0)]:
        sims = []
        for seed in range(seeds):
            pr, v, V = eig(800, p, alpha, a, seed, True)
            sims.append(channel_resolvents(pr, v, V, z))
        cells = []
        for ch in theory.CHANNELS:
            sim = np.array([s[ch] for s in sims])
            th = theory.channel_resolvent(p, 1, a, alpha, z, ch)
            cells.append(f"{ch} {np.mean(sim) / th - 1:+.3f}")
        print(f"p={p} a={a} alpha={alpha} z={z}: " + ", ".join(cells))

    section("7b. density: Kolmogorov distance of pooled spectra (4 seeds) to the theory CDF")
    for a in (0.7, 1.5):
        for N in (300, 600):
            eigs = np.concatenate([eig(N, 2, 2.0, a, s)[1] for s in range(4)])
            ks = ks_distance(eigs, 2, 1, a, 2.0)
            print(f"p=2 a={a} alpha=2 N={N}: KS = {ks:.4f} (iid 99% level "
                  f"{1.63 / math.sqrt(len(eigs)):.4f})")

    section("7c. lambda_min - theory (mean +- sd over seeds); target: edge below, lambda* above")
    for a, alpha in [(0.7, 0.6), (0.7, 4.0), (1.5, 0.8), (1.5, 4.0)]:
        lam_star = theory.outlier(2, 1, a, alpha)
        target = lam_star if lam_star is not None else theory.edge(2, 1, a, alpha)
        name = "lambda*" if lam_star is not None else "edge"
        cells = []
        for N in (100, 200, 400, 800, 1200):
            d = [eig(N, 2, alpha, a, s)[1][0] - target for s in range(seeds)]
            cells.append(f"N={N}: {np.mean(d):+.3f}+-{np.std(d):.3f}")
        print(f"p=2 a={a} alpha={alpha} ({name} {target:.4f}): " + "; ".join(cells))

    section("7d. overlap of the bottom eigenvector, N = 1200 (mean +- sd) vs N = inf")
    for a in (0.7, 1.5):
        ab = theory.alpha_bbp(2, 1, a)
        for alpha in (0.8, 1.5, 2.0, 3.0, 4.0):
            ms, mst = [], []
            for seed in range(seeds):
                pr, _, V = eig(1200, 2, alpha, a, seed, True)
                ms.append(teacher_overlap(V[:, 0], pr.W_star))
                mst.append(student_overlap(V[:, 0], pr.W) ** 2)
            print(f"p=2 a={a} (alpha_BBP {ab:.3f}) alpha={alpha}: m = {np.mean(ms):.3f}+-"
                  f"{np.std(ms):.3f}  theory {theory.overlap(2, 1, a, alpha):.3f}  "
                  f"(student overlap^2 <= {max(mst):.3f})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-sim", action="store_true", help="skip the simulations")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    start = time.perf_counter()
    table()
    pole_checks()
    large_p()
    convergence()
    scans()
    masses()
    if not args.no_sim:
        simulations(args.seeds)
    print(f"\n(total {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
