"""Extra figure: the finite-N transition at large student widths, p = 1 ... 64 (p* = 1).

Preset ``extra_large_width``: p in {1, 2, 4, 8, 16, 32, 64}, a = 0.3, 0.7, 1.5, N = 250, 500,
1000 (pN up to 64000: the iterative solver, ``solver.name=auto``, with the default
``solver.k = p p* + 4``). One row per a:

* the squared overlap of the bottom eigenvector, ``m^2`` (record key ``overlap``, squared),
  against alpha for each p at the largest N, with the theory's ``m^2 = 1/F'(lambda*)``;
* the subspace overlap of the bottom ``p p*`` eigenvectors (``overlap_subspace``: the mean
  squared projection of each on the teacher subspace) against alpha, with the same theory;
* the finite-N thresholds against p: alpha_0 (zero of the linear fit of the mean ``m^2`` over
  the onset window, :func:`bbp_torch.estimators.fit_alpha0`) for each N and the crossing of the
  mean m curves of consecutive N, against alpha_BBP(p) at N = infinity and the p -> infinity
  line ``p* (a + 1) / 2``;
* how each observable approaches the theory: the mean difference (simulation - theory) of
  ``m^2`` and of the subspace overlap over the grid points above ``1.2 alpha_BBP`` (where the
  outlier is detached at every N), against p for each N.

Which observable the theory predicts: at N = infinity the outlier is ``p p*``-fold degenerate
and ``m^2 = 1/F'`` is the squared overlap with the teacher subspace of *any* unit vector of
that eigenspace. At finite N the multiplet splits and the bottom vector is one particular
vector of it (it tends to carry more of the teacher than the average), so the theory's
statement about the whole eigenspace is the subspace overlap; the single-vector ``m^2`` has the
same N = infinity limit. Both are drawn against it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bbp_torch import plots
from bbp_torch.estimators import bootstrap, curve_crossing
from bbp_torch.figures.common import P_STAR, Context, estimates, mean_curve, samples, select
from bbp_torch.figures.cost import THEORY_CALL_S
from bbp_torch.figures.tasks import overlap_curve_task, threshold_task

KEY = "extra_large_width"
ORDER = 16
NAME = "extra_large_width"
PRESETS = ("extra_large_width",)
DETACHED = 1.2  # the approach panel averages over alpha >= DETACHED * alpha_BBP


def side_seconds(s: dict) -> float:
    """Theory seconds: a threshold and an m^2 curve per (a, p) of the paper grid (7 x 3)."""
    return 21 * (1 + s["curve_points"] / 20) * THEORY_CALL_S


def finite_n_thresholds(table, n_boot: int) -> dict:
    """The finite-N estimates of alpha_BBP per (a, p) from records such as those of preset
    ``extra_large_width`` (p* = 1): ``{a: {p: {"N", "alpha0", "alpha0_err", "crossing",
    "crossing_err", "crossing_consecutive": {"N1-N2": alpha}, "crossing_consecutive_err":
    {"N1-N2": error}}}}`` (keys as strings; NaN where an estimate does not exist). The errors
    are bootstrap errors over seeds (:func:`bbp_torch.estimators.bootstrap`; for the crossings
    both sizes' seeds resampled at once). Fig. 2's insets can draw these as simulated crosses."""
    out: dict = {}
    if not len(table):
        return out
    for a in sorted(float(v) for v in table["config.problem.a"].unique()):
        at_a = select(table, {"config.problem.a": a})
        for p in sorted(int(v) for v in at_a["config.problem.p"].unique()):
            sizes = sorted(int(n) for n in select(at_a, {"config.problem.p": p})
                           ["config.problem.N"].unique())
            rows = [estimates(at_a, {"config.problem.p": p, "config.problem.N": N}, n_boot)
                    for N in sizes]
            per_seed = {}
            for N in sizes:
                alphas, m = samples(at_a, {"config.problem.p": p, "config.problem.N": N})
                per_seed[N] = dict(zip(alphas.round(9), m, strict=True))
            consecutive, consecutive_err = {}, {}
            for small, large in zip(sizes, sizes[1:], strict=False):
                pair = f"{small}-{large}"
                common = sorted(set(per_seed[small]) & set(per_seed[large]))
                both = [per_seed[small][x] for x in common] + [per_seed[large][x] for x in common]

                def cross(means, common=common):
                    return curve_crossing(common, means[:len(common)], means[len(common):])

                consecutive[pair] = cross(np.array([v.mean() for v in both]))
                consecutive_err[pair] = bootstrap(both, cross, n_boot)
            out.setdefault(str(a), {})[str(p)] = {
                "N": sizes, **{key: [row[key] for row in rows]
                               for key in ("alpha0", "alpha0_err", "crossing", "crossing_err")},
                "crossing_consecutive": consecutive,
                "crossing_consecutive_err": consecutive_err}
    return out


@dataclass
class Result:
    """The numbers of the figure. ``curves[a][p][N]`` = ``{"alpha", "m2", "m2_err", "sub",
    "sub_err", "seeds"}`` (seed means and standard errors of ``overlap**2`` and
    ``overlap_subspace``); ``theory[a][p]`` = ``{"alpha_bbp", "type", "alpha", "m2"}`` (the
    N = infinity m^2 on a grid); ``thresholds``: :func:`finite_n_thresholds`;
    ``approach[a][p][N]`` = ``{"bottom", "subspace"}`` (mean simulation - theory above
    ``DETACHED`` alpha_BBP; NaN without such points)."""

    curves: dict
    theory: dict
    thresholds: dict
    approach: dict


def _curves(table) -> dict:
    curves: dict = {}
    for a in sorted(float(v) for v in table["config.problem.a"].unique()):
        for p in sorted(int(v) for v in select(table, {"config.problem.a": a})
                        ["config.problem.p"].unique()):
            mask = {"config.problem.a": a, "config.problem.p": p}
            for N in sorted(int(n) for n in select(table, mask)["config.problem.N"].unique()):
                keys = {**mask, "config.problem.N": N}
                alphas, m = samples(table, keys)
                _, sub = samples(table, keys, "metrics.overlap_subspace")
                x, m2, m2_err = mean_curve(alphas, [v**2 for v in m])
                _, s, s_err = mean_curve(alphas, sub)
                curves.setdefault(str(a), {}).setdefault(str(p), {})[str(N)] = {
                    "alpha": x.tolist(), "m2": m2.tolist(), "m2_err": m2_err.tolist(),
                    "sub": s.tolist(), "sub_err": s_err.tolist(),
                    "seeds": int(min(len(v) for v in m))}
    return curves


def compute(ctx: Context) -> Result:
    """Seed averages, finite-N estimates and the N = infinity theory on the preset's grid."""
    table = ctx.table(PRESETS[0])
    if len(table) and "metrics.overlap_subspace" not in table:
        raise ValueError("the records of extra_large_width lack metrics.overlap_subspace: "
                         "run them with solver.k >= p*p_star (the preset's default k is)")
    curves = _curves(table) if len(table) else {}
    cells = [(float(a), int(p)) for a in curves for p in curves[a]]
    top = float(table["config.problem.alpha"].max()) if len(table) else 2.5
    grid = np.linspace(0.05, top, ctx.settings["curve_points"])
    thresholds = ctx.map(threshold_task, [(p, P_STAR, a) for a, p in cells])
    grids = [np.union1d(grid, [t[0], t[0] * (1 + 1e-6)]) if math.isfinite(t[0]) else grid
             for t in thresholds]
    overlaps = ctx.map(overlap_curve_task, [(p, P_STAR, a, g)
                                            for (a, p), g in zip(cells, grids, strict=True)])
    theory: dict = {}
    approach: dict = {}
    for (a, p), (a_bbp, kind), g, m in zip(cells, thresholds, grids, overlaps, strict=True):
        theory.setdefault(str(a), {})[str(p)] = {"alpha_bbp": a_bbp, "type": kind,
                                                 "alpha": g.tolist(), "m2": (m**2).tolist()}
        for N, c in curves[str(a)][str(p)].items():
            x = np.asarray(c["alpha"])
            above = x >= DETACHED * a_bbp
            th = np.interp(x[above], g, m**2)
            diff = {"bottom": np.asarray(c["m2"])[above] - th,
                    "subspace": np.asarray(c["sub"])[above] - th}
            approach.setdefault(str(a), {}).setdefault(str(p), {})[N] = {
                k: float(v.mean()) if len(v) else math.nan for k, v in diff.items()}
    return Result(curves, theory, finite_n_thresholds(table, ctx.settings["n_boot"]), approach)


def _largest(sizes) -> str:
    return max(sizes, key=int)


def plot(result: Result, saver) -> dict:
    """Draw the figure; returns the summary's ``large_width``: per a and p the finite-N
    estimates, alpha_BBP, its type and the p -> infinity line."""
    rows = list(result.theory) or ["none"]
    fig, axes = plots.figure(len(rows), 4, width=2.45, height=2.05)
    summary: dict = {}
    for row, (axrow, a) in enumerate(zip(axes, rows, strict=True)):
        bottom, sub, thr, appr = axrow
        if a not in result.theory:
            bottom.set_title("no records of preset extra_large_width", fontsize=8)
            continue
        ps = sorted(result.theory[a], key=int)
        for j, p in enumerate(ps):
            color = f"C{j % 10}"
            th = result.theory[a][p]
            sizes = result.curves[a][p]
            c = sizes[_largest(sizes)]
            jump = th["alpha_bbp"] if th["type"] == "discontinuous" else None
            for ax, key in ((bottom, "m2"), (sub, "sub")):
                ax.errorbar(c["alpha"], c[key], yerr=c[f"{key}_err"], fmt="o", ms=2.5,
                            color=color, capsize=1, lw=0.8, label=f"p={p}")
                plots.theory_curve_with_jump(ax, th["alpha"], th["m2"], jump, color=color,
                                             lw=0.9)
        N_big = _largest(result.curves[a][ps[0]])
        for ax, what in ((bottom, r"$m^2$ of the bottom eigenvector"),
                         (sub, r"subspace overlap (bottom $pp^*$)")):
            ax.plot([], [], "k-", lw=0.9, label=r"lines: $m^2=1/F'$ ($N=\infty$)")
            ax.set_ylim(-0.02, 1)
            ax.set_xlabel(r"$\alpha = M/N$")
            ax.set_ylabel(what)
            ax.set_title(f"a={a}, p*={P_STAR}, N={N_big}", fontsize=8)
        if row == 0:  # the same styles in every row: one legend per column
            plots.legend(bottom, fontsize=5.5, ncol=2, loc="upper left")

        p_num = np.array([int(p) for p in ps])
        bbp = np.array([result.theory[a][p]["alpha_bbp"] for p in ps])
        thr.plot(p_num, bbp, "k-", lw=1.4, label=r"$\alpha_{BBP}(p)$, $N=\infty$")
        thr.axhline(P_STAR * (float(a) + 1) / 2, color="k", ls=":", lw=1.2,
                    label=r"$p\to\infty$: $p^*(a+1)/2$")
        est = result.thresholds.get(a, {})
        sizes = sorted({N for p in ps for N in est.get(p, {}).get("N", [])})
        for k, N in enumerate(sizes):
            y = [_at(est.get(p, {}), "alpha0", N) for p in ps]
            e = [_at(est.get(p, {}), "alpha0_err", N) for p in ps]
            thr.errorbar(p_num * (1 + 0.04 * (k - 1)), y, yerr=np.nan_to_num(e), fmt="o",
                         ms=3, capsize=1.5, color=plots.SIZE_COLORS[k % len(plots.SIZE_COLORS)],
                         label=rf"$\alpha_0$, N={N}")
        for k, pair in enumerate(sorted({q for p in ps
                                         for q in est.get(p, {}).get("crossing_consecutive", {})},
                                        key=lambda q: int(q.split("-")[0]))):
            y = [est.get(p, {}).get("crossing_consecutive", {}).get(pair, math.nan) for p in ps]
            e = [est.get(p, {}).get("crossing_consecutive_err", {}).get(pair, math.nan)
                 for p in ps]
            thr.errorbar(p_num * (1 + 0.04 * (k - 0.5)), y, yerr=np.nan_to_num(e), fmt="x",
                         ms=5, capsize=1.5, lw=0.8, color=f"C{k + 6}",
                         label=f"m crossing N={pair}")
        thr.set_xscale("log", base=2)
        thr.set_xticks(p_num, [str(p) for p in p_num])
        thr.set_xlabel("student width $p$")
        thr.set_ylabel(r"threshold $\alpha$")
        thr.set_title(f"a={a}: finite-N estimates vs theory", fontsize=8)
        if row == 0:
            plots.legend(thr, fontsize=5.5, loc="upper right")

        for k, N in enumerate(sorted({N for p in ps for N in result.approach[a][p]}, key=int)):
            color = plots.SIZE_COLORS[k % len(plots.SIZE_COLORS)]
            for key, style in (("subspace", "o-"), ("bottom", "s--")):
                y = [result.approach[a][p].get(N, {}).get(key, math.nan) for p in ps]
                appr.plot(p_num, y, style, ms=3, lw=1.0, color=color,
                          label=f"N={N}, {'subspace' if key == 'subspace' else 'bottom m²'}")
        appr.axhline(0, color="k", lw=0.8)
        appr.set_xscale("log", base=2)
        appr.set_xticks(p_num, [str(p) for p in p_num])
        appr.set_xlabel("student width $p$")
        appr.set_ylabel(r"sim. $-$ theory, $\alpha\geq$" + f"{DETACHED}" + r"$\alpha_{BBP}$")
        appr.set_title(f"a={a}: approach to the theory", fontsize=8)
        if row == 0:
            plots.legend(appr, fontsize=5, ncol=2, loc="upper right")
        plots.small_labels(axrow)
        summary[a] = {p: {"alpha_bbp": result.theory[a][p]["alpha_bbp"],
                          "type": result.theory[a][p]["type"],
                          "p_infinity": P_STAR * (float(a) + 1) / 2,
                          **est.get(p, {}), "approach": result.approach[a][p]} for p in ps}
    fig.suptitle("Large student widths (p*=1): the finite-N BBP transition up to p=64", fontsize=10)
    fig.tight_layout()
    saver.save(fig, NAME)
    return summary


def _at(est: dict, key: str, N: int) -> float:
    return est[key][est["N"].index(N)] if N in est.get("N", []) else math.nan


def draw(ctx: Context) -> dict:
    """Draw the figure (its numbers written to tables/); its summary also under
    ``large_width``."""
    summary = plot(ctx.result(NAME, compute, Result, PRESETS), ctx.saver)
    ctx.summary["large_width"] = summary
    return summary
