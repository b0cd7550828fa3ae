"""Figure 4: finite-size effects on the onset, and the lower threshold alpha_0 vs p.

Left and middle (p = 2, p* = 1; a = 0.7 continuous, a = 1.5 discontinuous): the crossing and
alpha_0 estimates against N^(-2/3) (continuous) or 1/log N (discontinuous), from the ``fig1``
and ``fig4`` presets pooled, with weighted linear extrapolations and the estimators' own
N = infinity values. Right: alpha_0 vs p at fixed N from the ``fig3`` preset.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bbp_torch import plots, theory
from bbp_torch.estimators import ALPHA0_WINDOW, CROSSING_LEVEL, extrapolate
from bbp_torch.figures.common import A_CONT, A_DISC, P_STAR, Context, P, estimates
from bbp_torch.figures.runs import RUN_KEYS, estimator_limits_task

NAME = "fig4_finite_size"
SWEEPS = ("fig1", "fig4", "fig3")


def draw(ctx: Context) -> dict:
    """Draw figure 4; returns ``{a: extrapolations, "alpha0_vs_p": {a: ...}}``."""
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
    info["alpha0_vs_p"] = alpha0_vs_p(ctx, axes[0, 2])
    fig.suptitle("Fig. 4  Finite-size effects: where the overlap switches on, and the lower "
                 r"threshold $\alpha_0$", fontsize=10)
    fig.tight_layout()
    ctx.saver.save(fig, NAME)
    return info


def alpha0_vs_p(ctx: Context, ax) -> dict:
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
