"""Regenerate every figure of the reproduction into outputs/figures/ (PNG + PDF + TensorBoard).

    python scripts/reproduce_figures.py                 # full, paper-size (hours on a CPU)
    python scripts/reproduce_figures.py --quick         # all figures in minutes on 2 cores
    python scripts/reproduce_figures.py --only fig1 fig5 --jobs 2
    python scripts/reproduce_figures.py --no-run        # plot the records that already exist

Simulations are the presets of conf/experiment/ (fig1_overlap, fig3_alpha_bbp,
fig4_finite_size; ``--quick`` uses their ``*_quick`` variants). The full mode runs them as
``bbp -m +experiment=<name>`` (runner ``cli``: the same sweeps, resumable, into
outputs/multirun/<name>/); the quick mode runs the same grids in-process through
``run_study`` (runner ``inprocess``, into <out>/runs/<name>/), which avoids Hydra's per-job
cost. Figure 2 computes full spectra through the API; figures 3 and 5 add N = infinity theory.
See docs/figures.md for what each figure shows and bbp_torch/estimators.py for the estimators.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bbp_torch import plots, theory
from bbp_torch.estimators import (
    ALPHA0_WINDOW,
    CROSSING_LEVEL,
    bootstrap,
    crossing_alpha,
    extrapolate,
    fit_alpha0,
    seed_average,
)
from bbp_torch.figure_runs import (
    RUN_KEYS,
    density_task,
    estimator_limits_task,
    filter_to_grid,
    grid_points,
    make_executor,
    overlap_curve_task,
    preset_grid,
    run_cli,
    run_inprocess,
    run_seconds,
    spectrum_task,
    threshold_task,
)
from bbp_torch.results import load_table, write_json_atomic

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ("fig1", "fig2", "fig3", "fig4", "fig5")
# Which preset sweeps each figure reads.
NEEDS = {"fig1": ["fig1"], "fig2": [], "fig3": ["fig3"], "fig4": ["fig1", "fig4", "fig3"],
         "fig5": []}
P, P_STAR = 2, 1  # figures 1, 2 and 4 (a, b)
A_CONT, A_DISC = 0.7, 1.5

MODES = {
    "full": {
        "presets": {"fig1": "fig1_overlap", "fig3": "fig3_alpha_bbp",
                    "fig4": "fig4_finite_size"},
        "overrides": {},
        "runner": "cli",
        "fig2_N": 2000, "fig2_seeds": 10, "density_points": (160, 80),
        "fig3_p": [1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 16, 24, 32, 48, 64, 96, 128],
        "fig3_a": [0.1, 0.3, 0.7, 1.0, 1.5],
        "fig5_p": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 16, 24, 32, 48, 64, 128],
        "fig5_a": [round(0.05 * i, 2) for i in range(1, 41)],
        "n_boot": 400,
    },
    "quick": {
        "presets": {"fig1": "fig1_overlap_quick", "fig3": "fig3_alpha_bbp_quick",
                    "fig4": "fig4_finite_size_quick"},
        "overrides": {},
        "runner": "inprocess",
        "fig2_N": 500, "fig2_seeds": 4, "density_points": (70, 40),
        "fig3_p": [1, 2, 3, 4, 6, 8, 12, 16, 32, 64],
        "fig3_a": [0.1, 0.3, 0.7, 1.0, 1.5],
        "fig5_p": [1, 2, 3, 4, 6, 8, 12, 16, 32, 64],
        "fig5_a": [round(0.1 * i, 1) for i in range(1, 21)],
        "n_boot": 200,
    },
    "smoke": {  # the quick presets shrunk to seconds: for the tests, not for reading
        "presets": {"fig1": "fig1_overlap_quick", "fig3": "fig3_alpha_bbp_quick",
                    "fig4": "fig4_finite_size_quick"},
        "overrides": {
            "fig1": {"problem.N": "40,80", "problem.alpha": "0.5,1.5,2.5", "seed": "range(2)"},
            "fig3": {"problem.N": "60", "problem.p": "1,2", "problem.a": "0.7,1.5",
                     "problem.alpha": "0.3,0.9,1.5,2.1,2.7", "seed": "range(2)"},
            "fig4": {"problem.N": "40,80", "problem.alpha": "0.4,0.8,1.2,1.6,2.0,2.4",
                     "seed": "range(2)"},
        },
        "runner": "inprocess",
        "fig2_N": 60, "fig2_seeds": 1, "density_points": (12, 8),
        "fig3_p": [1, 2, 4],
        "fig3_a": [0.7, 1.5],
        "fig5_p": [1, 2, 4],
        "fig5_a": [0.5, 1.0, 1.5],
        "n_boot": 20,
    },
}


class Context:
    """Settings of this invocation, the process pool, the figure saver and cached tables."""

    def __init__(self, args, executor, saver):
        self.mode = "smoke" if args.smoke else "quick" if args.quick else "full"
        self.settings = MODES[self.mode]
        self.runner = self.settings["runner"] if args.runner == "auto" else args.runner
        self.out = Path(args.out)
        default_runs = ROOT / "outputs" / "multirun" if self.runner == "cli" else self.out / "runs"
        self.runs_root = Path(args.runs) if args.runs else default_runs
        self.jobs = args.jobs
        self.run = not args.no_run
        self.executor = executor
        self.saver = saver
        self.summary: dict = {"mode": self.mode, "runner": self.runner, "jobs": self.jobs}
        self._tables: dict = {}

    def grid(self, key: str):
        name = self.settings["presets"][key]
        overrides = self.settings["overrides"].get(key, {})
        return name, overrides, *preset_grid(name, overrides)

    def table(self, key: str):
        """The ok records of preset ``key`` (running its sweep first unless --no-run)."""
        if key not in self._tables:
            name, overrides, base, swept = self.grid(key)
            folder = self.runs_root / name
            if self.run and self.runner == "cli":
                run_cli(name, overrides, folder, self.jobs)
            elif self.run:
                run_inprocess(self.executor, name, base, swept, self.runs_root)
            table = load_table([folder]) if folder.exists() else load_table([])
            self._tables[key] = filter_to_grid(table, base, swept)
            print(f"[{name}] {len(self._tables[key])} finished runs read from {folder}",
                  flush=True)
        return self._tables[key]

    def map(self, func, items) -> list:
        return list(self.executor.map(func, items))


def _curve(avg, mask, column: str = "mean"):
    sub = avg[mask].sort_values("config.problem.alpha")
    return sub["config.problem.alpha"].to_numpy(), sub[column].to_numpy(), sub["sem"].to_numpy()


def _samples(table, mask_keys: dict, metric: str = "metrics.overlap"):
    """``(alphas, [per-seed values at each alpha])`` of the rows matching ``mask_keys``."""
    sub = table
    for key, value in mask_keys.items():
        sub = sub[np.isclose(sub[key].astype(float), value)]
    alphas = np.sort(sub["config.problem.alpha"].astype(float).unique())
    values = []
    for alpha in alphas:
        v = sub[np.isclose(sub["config.problem.alpha"].astype(float), alpha)][metric]
        values.append(v.astype(float).to_numpy())
    return alphas, values


def estimates(table, mask_keys: dict, n_boot: int) -> dict:
    """Crossing and alpha_0 estimates (with bootstrap errors over seeds) for one curve."""
    alphas, m = _samples(table, mask_keys)
    m2 = [v**2 for v in m]
    if len(alphas) < 2:
        return {"crossing": math.nan, "crossing_err": math.nan, "alpha0": math.nan,
                "alpha0_err": math.nan}
    mean_m = np.array([v.mean() for v in m])
    mean_m2 = np.array([v.mean() for v in m2])

    def cross(means):
        return crossing_alpha(alphas, means, CROSSING_LEVEL)

    def alpha0(means):
        return fit_alpha0(alphas, means, ALPHA0_WINDOW)[0]

    return {"crossing": cross(mean_m), "crossing_err": bootstrap(m, cross, n_boot),
            "alpha0": alpha0(mean_m2), "alpha0_err": bootstrap(m2, alpha0, n_boot)}


# ----------------------------------------------------------------------------- figure 1


def fig1(ctx: Context) -> None:
    """Overlap m vs alpha at several N, with the theory curve and alpha_BBP."""
    table = ctx.table("fig1")
    keys = ["config.problem.a", "config.problem.N", "config.problem.alpha"]
    avg = seed_average(table, keys) if len(table) else None
    a_values = [A_CONT, A_DISC]
    alpha_max = float(table["config.problem.alpha"].max()) if len(table) else 3.0
    grids = []
    for a in a_values:
        a_bbp = theory.alpha_bbp(P, P_STAR, a)
        grid = np.union1d(np.linspace(0.05, alpha_max, 120), [a_bbp, a_bbp * (1 + 1e-6)])
        grids.append((a, a_bbp, grid))
    curves = ctx.map(overlap_curve_task, [(P, P_STAR, a, grid) for a, _, grid in grids])
    fig, axes = plots.figure(1, 2, width=5.4, height=4.0)
    info = {}
    for ax, (a, a_bbp, grid), m_theory in zip(axes[0], grids, curves, strict=True):
        kind = theory.transition_type(P, P_STAR, a)
        if avg is not None:
            at_a = np.isclose(avg["config.problem.a"], a)
            sizes = sorted(avg[at_a]["config.problem.N"].unique())
            seeds = int(avg[at_a]["n"].max()) if at_a.any() else 0
            plots.errorbar_curves(
                ax, {f"N={N}": _curve(avg, at_a & (avg["config.problem.N"] == N))
                     for N in sizes},
                r"data ratio $\alpha = M/N$", r"overlap $m$ with the teacher")
        else:
            seeds = 0
        jump = a_bbp if kind == "discontinuous" else None
        plots.theory_curve_with_jump(ax, grid, m_theory, jump, color="k", lw=1.6,
                                     label=r"theory $N=\infty$")
        plots.vline(ax, a_bbp, rf"$\alpha_{{BBP}}={a_bbp:.3f}$")
        ax.set_ylim(0, 1)
        ax.set_title(f"{plots.params_text(p=P, p_star=P_STAR, a=a)}: {kind}\n"
                     f"mean ± s.e. over {seeds} seeds", fontsize=9)
        ax.legend(fontsize=7, loc="upper left")
        info[str(a)] = {"alpha_bbp": a_bbp, "transition": kind}
    fig.suptitle("Fig. 1  Overlap of the bottom Hessian eigenvector with the teacher",
                 fontsize=10)
    fig.tight_layout()
    ctx.saver.save(fig, "fig1_overlap")
    ctx.summary["fig1"] = info


# ----------------------------------------------------------------------------- figure 2


def fig2(ctx: Context) -> None:
    """Spectrum below and above alpha_BBP: histogram, theory density, edge and outlier."""
    s = ctx.settings
    N, seeds = s["fig2_N"], s["fig2_seeds"]
    n_main, n_zoom = s["density_points"]
    cases = []
    for a in (A_CONT, A_DISC):
        a_bbp = theory.alpha_bbp(P, P_STAR, a)
        for factor in (0.75, 2.0):
            cases.append((a, round(factor * a_bbp, 3), factor))
    spectra = ctx.map(spectrum_task, [(N, P, P_STAR, a, alpha, seed)
                                      for a, alpha, _ in cases for seed in range(seeds)])
    layout = []
    for i, (a, alpha, factor) in enumerate(cases):
        per_seed = spectra[i * seeds:(i + 1) * seeds]
        values = np.concatenate(per_seed)
        edge = theory.edge(P, P_STAR, a, alpha)
        outlier = theory.outlier(P, P_STAR, a, alpha)
        hi_main = float(np.percentile(values, 97))
        lo_zoom = min(edge, outlier if outlier is not None else edge, values.min()) - 0.05
        hi_zoom = edge + 0.35
        main_grid = np.linspace(edge, hi_main, n_main)
        zoom_grid = np.linspace(edge, hi_zoom, n_zoom)
        layout.append((a, alpha, factor, per_seed, values, edge, outlier, hi_main, lo_zoom,
                       hi_zoom, main_grid, zoom_grid))
    tasks = []
    for a, alpha, *_rest, main_grid, zoom_grid in layout:
        tasks += [(P, P_STAR, a, alpha, main_grid), (P, P_STAR, a, alpha, zoom_grid)]
    densities = ctx.map(density_task, tasks)

    fig, axes = plots.figure(2, 4, width=3.6, height=3.0)
    info = []
    for j, (a, alpha, factor, per_seed, values, edge, outlier, hi_main, lo_zoom, hi_zoom,
            main_grid, zoom_grid) in enumerate(layout):
        rho_main, rho_zoom = densities[2 * j], densities[2 * j + 1]
        kind = theory.transition_type(P, P_STAR, a)
        bottom = np.concatenate([np.sort(v)[:P * P_STAR] for v in per_seed])
        lo_main = min(values.min(), edge) - 0.1
        for row, (lo, hi, grid, rho, bins) in enumerate(
                [(lo_main, hi_main, main_grid, rho_main, 70),
                 (lo_zoom, hi_zoom, zoom_grid, rho_zoom, 40)]):
            ax = axes[row, j]
            centers, hist = plots.histogram_density(values, lo, hi, bins, total=len(values))
            ax.bar(centers, hist, width=centers[1] - centers[0], color="0.75",
                   label=f"eigenvalues of H ({seeds} seeds)")
            ax.plot(np.r_[lo, grid], np.r_[0.0, rho], color="C2", lw=1.3,
                    label=r"theory density $N=\infty$")
            plots.vline(ax, edge, r"theory edge $\lambda_-$", color="C0", ls="--")
            plots.vline(ax, outlier, r"theory outlier $\lambda^*$", color="C3", ls=":")
            finite = hist[np.abs(centers) > 2 * (centers[1] - centers[0])] if alpha < 1 else hist
            top = max(np.nanmax(rho), finite.max() if len(finite) else 0.0)
            ax.set_ylim(0, 1.25 * top if top > 0 else 1)
            ax.set_xlim(lo, hi)
            ax.set_xlabel(r"eigenvalue $\lambda$")
            ax.set_ylabel("density")
            if row == 1:
                plots.rug(ax, bottom, label=f"bottom {P * P_STAR} per seed")
                ax.set_title("zoom on the left edge", fontsize=8)
            else:
                ax.set_title(f"a={a} ({kind}), N={N}\n"
                             rf"$\alpha$={alpha:g} = {factor:g} $\alpha_{{BBP}}$", fontsize=8)
                if alpha < 1:
                    plots.note(ax, f"atom of mass {1 - alpha:.2f} at 0 (M < N), clipped",
                               loc="upper right", fontsize=6)
        info.append({"a": a, "alpha": alpha, "edge": edge, "outlier": outlier,
                     "lambda_min_mean": float(np.mean([np.min(v) for v in per_seed]))})
    fig.suptitle(f"Fig. 2  Hessian spectrum below and above the BBP transition "
                 f"({plots.params_text(p=P, p_star=P_STAR, N=N)})", fontsize=10)
    handles, labels = axes[1, -1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    ctx.saver.save(fig, "fig2_spectrum")
    ctx.summary["fig2"] = info


# ----------------------------------------------------------------------------- figure 3


def fig3(ctx: Context) -> None:
    """alpha_BBP vs p for several a (theory), the p -> inf limit, and finite-N estimates."""
    s = ctx.settings
    ps, a_values = s["fig3_p"], s["fig3_a"]
    thresholds = ctx.map(threshold_task, [(p, P_STAR, a) for a in a_values for p in ps])
    table = ctx.table("fig3")
    sim = []
    if len(table):
        N = int(table["config.problem.N"].iloc[0])
        for a in sorted(table["config.problem.a"].unique()):
            for p in sorted(table["config.problem.p"].unique()):
                keys = {"config.problem.a": a, "config.problem.p": p}
                sim.append((float(a), int(p), estimates(table, keys, s["n_boot"])))
    else:
        N = None
    limits = ctx.map(estimator_limits_task,
                     [(p, P_STAR, a, CROSSING_LEVEL, ALPHA0_WINDOW) for a, p, _ in sim])

    fig, axes = plots.figure(1, 1, width=7.0, height=5.0)
    ax = axes[0, 0]
    colors = {a: f"C{i}" for i, a in enumerate(a_values)}
    info = {"theory": {}, "finite_N": []}
    for i, a in enumerate(a_values):
        vals = thresholds[i * len(ps):(i + 1) * len(ps)]
        alpha = np.array([v[0] for v in vals])
        kinds = [v[1] for v in vals]
        for k in range(len(ps) - 1):  # solid where continuous, dashed where discontinuous
            both = kinds[k] == kinds[k + 1] == "continuous"
            ax.plot(ps[k:k + 2], alpha[k:k + 2], color=colors[a], lw=1.5,
                    ls="-" if both else "--")
        ax.plot(ps, alpha, "o", ms=2.5, color=colors[a], label=f"a={a}: theory")
        limit = P_STAR * (a + 1) / 2
        ax.axhline(limit, color=colors[a], ls=":", lw=1.0)
        info["theory"][str(a)] = {"p": ps, "alpha_bbp": alpha.tolist(), "type": kinds,
                                  "p_inf": limit}
    ax.axhline(P_STAR / 2, color="k", ls="-.", lw=1.2,
               label=r"weak recovery $p^*/2$ ($a\to 0$, $p\to\infty$)")
    ax.plot([], [], color="0.4", ls=":", label=r"$p\to\infty$: $p^*(a+1)/2$ (same colour)")
    ax.plot([], [], color="0.4", ls="-", label="continuous transition")
    ax.plot([], [], color="0.4", ls="--", label="discontinuous transition")
    sim_a = sorted({a for a, _, _ in sim})
    for k, ((a, p, est), (cross_inf, _)) in enumerate(zip(sim, limits, strict=True)):
        color = colors.get(a, "k")
        x = p * 1.04 ** (sim_a.index(a) - (len(sim_a) - 1) / 2)  # side by side, per a
        ax.errorbar([x], [est["crossing"]], yerr=[est["crossing_err"]], fmt="s", ms=6,
                    color=color, capsize=2,
                    label=f"N={N}: alpha where mean m = {CROSSING_LEVEL}" if k == 0 else None)
        ax.plot([x], [cross_inf], "s", ms=8, mfc="none", color=color,
                label=r"same estimator at $N=\infty$" if k == 0 else None)
        info["finite_N"].append({"a": a, "p": p, "N": N, "crossing": est["crossing"],
                                 "crossing_err": est["crossing_err"],
                                 "crossing_theory": cross_inf,
                                 "alpha_bbp": theory.alpha_bbp(p, P_STAR, a)})
    ax.set_xscale("log", base=2)
    ax.set_xticks(ps)
    ax.set_xticklabels([str(p) for p in ps], fontsize=7)
    ax.set_xlabel("student width $p$")
    ax.set_ylabel(r"$\alpha_{BBP}$")
    ax.set_title(f"Fig. 3  BBP threshold vs student width (p*={P_STAR}); dotted lines: "
                 r"$p\to\infty$ limits", fontsize=9)
    ax.legend(fontsize=6.5, ncol=2, loc="upper right")
    fig.tight_layout()
    ctx.saver.save(fig, "fig3_alpha_bbp")
    ctx.summary["fig3"] = info


# ----------------------------------------------------------------------------- figure 4


def fig4(ctx: Context) -> None:
    """Finite-size scaling of the onset (continuous vs discontinuous) and alpha_0 vs p."""
    s = ctx.settings
    # The fig4 sweep (odd tenths of alpha) and the fig1 sweep (even tenths), one run per config.
    table = pd.concat([ctx.table("fig1"), ctx.table("fig4")], ignore_index=True)
    if len(table):
        table = table.drop_duplicates(subset=[f"config.{k}" for k in RUN_KEYS])
    fig, axes = plots.figure(1, 3, width=4.6, height=5.4)
    info = {}
    limits = ctx.map(estimator_limits_task, [(P, P_STAR, a, CROSSING_LEVEL, ALPHA0_WINDOW)
                                             for a in (A_CONT, A_DISC)])
    for ax, a, (cross_inf, alpha0_inf) in zip(axes[0][:2], (A_CONT, A_DISC), limits,
                                               strict=True):
        kind = theory.transition_type(P, P_STAR, a)
        a_bbp = theory.alpha_bbp(P, P_STAR, a)
        if kind == "continuous":
            scale, xlabel = (lambda n: n ** (-2 / 3)), r"$N^{-2/3}$"
        else:
            scale, xlabel = (lambda n: 1 / np.log(n)), r"$1/\log N$"
        sizes = sorted(table[np.isclose(table["config.problem.a"], a)]["config.problem.N"]
                       .unique()) if len(table) else []
        rows = [estimates(table, {"config.problem.a": a, "config.problem.N": n}, s["n_boot"])
                for n in sizes]
        x = np.array([scale(n) for n in sizes], dtype=float)
        entry = {"N": [int(n) for n in sizes], "alpha_bbp": a_bbp, "transition": kind}
        for name, label, inf, color in (
                ("crossing", f"mean m reaches {CROSSING_LEVEL}", cross_inf, "C0"),
                ("alpha0", r"$\alpha_0$: zero of the $m^2$ fit", alpha0_inf, "C1")):
            y = np.array([r[name] for r in rows], dtype=float)
            err = np.array([r[f"{name}_err"] for r in rows], dtype=float)
            ax.errorbar(x, y, yerr=err, fmt="o", color=color, capsize=2, label=label)
            for xi, yi, n in zip(x, y, sizes, strict=True):
                if np.isfinite(yi):
                    ax.annotate(f"{n}", (xi, yi), fontsize=6, xytext=(3, 3),
                                textcoords="offset points")
            y_inf, slope = extrapolate(x, y, err)
            if np.isfinite(y_inf):
                xs = np.linspace(0, x.max(), 20)
                ax.plot(xs, y_inf + slope * xs, color=color, lw=1.0, ls="--",
                        label=f"linear extrapolation: {y_inf:.3f}")
            ax.plot([0], [inf], "*", ms=11, color=color, mec="k",
                    label=rf"same estimator at $N=\infty$: {inf:.3f}")
            entry[name] = y.tolist()
            entry[f"{name}_err"] = err.tolist()
            entry[f"{name}_extrapolated"] = y_inf
            entry[f"{name}_theory"] = inf
        ax.axhline(a_bbp, color="k", ls=":", lw=1.0, label=rf"$\alpha_{{BBP}}={a_bbp:.3f}$")
        ax.set_xlim(left=0)
        ax.set_ylim(0, 2 * a_bbp)
        ax.set_xlabel(xlabel + " (numbers: N)")
        ax.set_ylabel(r"onset $\alpha$")
        ax.set_title(f"{plots.params_text(p=P, p_star=P_STAR, a=a)}: {kind}", fontsize=9)
        ax.legend(fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
        info[str(a)] = entry
    info["alpha0_vs_p"] = _alpha0_vs_p(ctx, axes[0, 2])
    fig.suptitle("Fig. 4  Finite-size effects: where the overlap switches on, and the lower "
                 r"threshold $\alpha_0$", fontsize=10)
    fig.tight_layout()
    ctx.saver.save(fig, "fig4_finite_size")
    ctx.summary["fig4"] = info


def _alpha0_vs_p(ctx: Context, ax) -> dict:
    """Panel: alpha_0 (zero of the m^2 fit) vs p at fixed N, from the fig3 sweep."""
    table = ctx.table("fig3")
    info = {}
    if not len(table):
        ax.set_title("no records of the fig3 sweep", fontsize=8)
        return info
    N = int(table["config.problem.N"].iloc[0])
    a_values = sorted(float(a) for a in table["config.problem.a"].unique())
    ps = sorted(int(p) for p in table["config.problem.p"].unique())
    limits = ctx.map(estimator_limits_task, [(p, P_STAR, a, CROSSING_LEVEL, ALPHA0_WINDOW)
                                             for a in a_values for p in ps])
    for i, a in enumerate(a_values):
        rows = [estimates(table, {"config.problem.a": a, "config.problem.p": p},
                          ctx.settings["n_boot"]) for p in ps]
        y = [r["alpha0"] for r in rows]
        err = [r["alpha0_err"] for r in rows]
        color = f"C{i}"
        ax.errorbar(ps, y, yerr=err, fmt="o-", color=color, capsize=2, ms=4, label=f"a={a}")
        inf = [limits[i * len(ps) + k][1] for k in range(len(ps))]
        ax.plot(ps, inf, "o--", mfc="none", color=color, lw=0.8, ms=5)
        bbp = [theory.alpha_bbp(p, P_STAR, a) for p in ps]
        ax.plot(ps, bbp, ":", color=color, lw=1.0)
        info[str(a)] = {"p": ps, "N": N, "alpha0": y, "alpha0_err": err,
                        "alpha0_theory": inf, "alpha_bbp": bbp}
    ax.errorbar([], [], yerr=[], fmt="o-", color="0.3", label=rf"$\alpha_0$ at N={N}")
    ax.plot([], [], "o--", mfc="none", color="0.3", label=r"same fit on the $N=\infty$ curve")
    ax.plot([], [], ":", color="0.3", label=r"$\alpha_{BBP}$ at $N=\infty$")
    top = max(max(v["alpha_bbp"]) for v in info.values())
    ax.set_ylim(0, 1.6 * top)
    ax.set_xlabel("student width $p$")
    ax.set_ylabel(r"$\alpha$")
    ax.set_xticks(ps)
    ax.set_title(rf"lower threshold $\alpha_0$ vs $p$ (p*={P_STAR}, N={N}); "
                 rf"fit window $m^2\in$[{ALPHA0_WINDOW[0]}, {ALPHA0_WINDOW[1]}]", fontsize=8)
    ax.legend(fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    return info


# ----------------------------------------------------------------------------- figure 5


def fig5(ctx: Context) -> None:
    """The (a, p) plane: continuous vs discontinuous transitions (theory)."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    s = ctx.settings
    ps = list(s["fig5_p"]) + [math.inf]
    a_values = np.asarray(s["fig5_a"], dtype=float)
    results = ctx.map(threshold_task, [(p, P_STAR, a) for p in ps for a in a_values])
    code = {"continuous": 1.0, "discontinuous": 0.0}
    grid = np.array([code.get(kind, np.nan) for _, kind in results]).reshape(len(ps), -1)
    a_edges = np.r_[a_values[0] - (a_values[1] - a_values[0]) / 2 if len(a_values) > 1
                    else a_values[0] - 0.05,
                    (a_values[1:] + a_values[:-1]) / 2,
                    a_values[-1] + ((a_values[-1] - a_values[-2]) / 2 if len(a_values) > 1
                                    else 0.05)]
    fig, axes = plots.figure(1, 1, width=6.5, height=4.6)
    ax = axes[0, 0]
    cmap = ListedColormap(["#f4a582", "#92c5de"])
    ax.pcolormesh(a_edges, np.arange(len(ps) + 1) - 0.5, grid, cmap=cmap, vmin=0, vmax=1,
                  shading="flat")
    ax.set_yticks(range(len(ps)))
    ax.set_yticklabels([str(p) if math.isfinite(p) else r"$\infty$" for p in ps])
    boundary = {}
    for i, p in enumerate(ps):
        cont = a_values[grid[i] == 1.0]
        disc = a_values[grid[i] == 0.0]
        if len(cont) and len(disc) and cont.max() < disc.min():
            boundary[str(p)] = float((cont.max() + disc.min()) / 2)
    row2 = ps.index(2) if 2 in ps else None
    handles = [Patch(color=cmap(1.0), label="continuous (square-root edge)"),
               Patch(color=cmap(0.0), label="discontinuous (smooth edge, overlap jumps)")]
    if row2 is not None:
        for a, marker in ((A_CONT, "*"), (A_DISC, "P")):
            handles.append(ax.plot([a], [row2], marker, ms=13, color="k", ls="none",
                                   label=f"p=2, a={a}: {theory.transition_type(2, P_STAR, a)}"
                                   )[0])
    ax.legend(handles=handles, fontsize=7, loc="upper right", framealpha=0.9, markerscale=0.6)
    ax.set_xlabel("loss constant $a$")
    ax.set_ylabel("student width $p$")
    ax.set_title(f"Fig. 5  Type of the BBP transition in the (a, p) plane (p*={P_STAR}, "
                 r"theory at $N=\infty$)", fontsize=9)
    fig.tight_layout()
    ctx.saver.save(fig, "fig5_phase_diagram")
    ctx.summary["fig5"] = {"boundary_a_by_p": boundary,
                           "errors": int(np.isnan(grid).sum())}


# ----------------------------------------------------------------------------- driver


def estimate(ctx: Context, figures: list[str]) -> None:
    """Print the number of simulation runs and a rough single-core time per preset."""
    total = 0.0
    for key in sorted({k for f in figures for k in NEEDS[f]}):
        name, _, base, swept = ctx.grid(key)
        points = grid_points(base, swept)
        seconds = sum(run_seconds(cfg, ctx.runner) for _, cfg in points)
        total += seconds
        print(f"[estimate] {name}: {len(points)} runs, ~{seconds / 3600:.2f} core-hours")
    print(f"[estimate] simulations: ~{total / 3600:.2f} core-hours, ~{total / 60 / ctx.jobs:.0f} "
          f"min on {ctx.jobs} job(s) before finished runs are skipped (a rough model: "
          f"{ctx.runner} runner, (pN)^3 eigensolve); figures 2, 3, 5 add theory and spectra",
          flush=True)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true",
                      help="the *_quick presets: every figure in minutes on two CPU cores")
    size.add_argument("--smoke", action="store_true",
                      help="tiny grids (seconds); checks the pipeline, not the physics")
    parser.add_argument("--only", nargs="+", choices=FIGURES, default=list(FIGURES),
                        help="figures to make (default: all)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="parallel jobs, one thread each (default: all cores)")
    parser.add_argument("--out", default=str(ROOT / "outputs" / "figures"),
                        help="output folder (default: outputs/figures)")
    parser.add_argument("--runner", choices=("auto", "cli", "inprocess"), default="auto",
                        help="cli: bbp -m sweeps (full default); inprocess: run_study in a pool "
                             "(quick default)")
    parser.add_argument("--runs", default=None,
                        help="folder of the sweeps (default: outputs/multirun for the cli "
                             "runner, OUT/runs for inprocess)")
    parser.add_argument("--no-run", action="store_true",
                        help="run no simulation; plot the records that exist")
    parser.add_argument("--estimate", action="store_true",
                        help="print the number of runs and a time estimate, and stop")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    start = time.time()
    timings = {}
    with make_executor(args.jobs) as executor, plots.FigureSaver(args.out) as saver:
        ctx = Context(args, executor, saver)
        print(f"reproduce_figures: mode={ctx.mode} runner={ctx.runner} jobs={ctx.jobs} "
              f"out={ctx.out}", flush=True)
        if ctx.run or args.estimate:
            estimate(ctx, args.only)
        if args.estimate:
            return 0
        for name in FIGURES:
            if name in args.only:
                t0 = time.time()
                globals()[name](ctx)
                timings[name] = time.time() - t0
                print(f"[{name}] done in {timings[name]:.1f}s", flush=True)
        ctx.summary["timings_s"] = timings
        ctx.summary["total_s"] = time.time() - start
        summary_path = ctx.out / f"summary_{ctx.mode}.json"
        summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
        summary.update(ctx.summary)  # --only redraws some figures; keep the others' numbers
        write_json_atomic(summary_path, summary)
    print(f"figures: {', '.join(str(p) for p in saver.saved if p.suffix == '.png')}")
    print(f"summary: {summary_path}; tensorboard --logdir {ctx.out / 'tensorboard'}")
    print(f"total {time.time() - start:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
