"""Figure 3: alpha_BBP vs the student width p.

Theory alpha_BBP(p) for several a (p* = 1; solid where the transition is continuous, dashed
where discontinuous), the p -> infinity limits p*(a+1)/2 and the weak-recovery value p*/2, and
the finite-N crossing estimate from the ``fig3`` preset next to its own N = infinity value.
"""

from __future__ import annotations

import numpy as np

from bbp_torch import plots, theory
from bbp_torch.estimators import ALPHA0_WINDOW, CROSSING_LEVEL
from bbp_torch.figures.common import P_STAR, Context, estimates
from bbp_torch.figures.runs import estimator_limits_task, threshold_task

NAME = "fig3_alpha_bbp"
SWEEPS = ("fig3",)


def draw(ctx: Context) -> dict:
    """Draw figure 3; returns ``{"theory": {a: curve}, "finite_N": [estimate, ...]}``."""
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
    ctx.saver.save(fig, NAME)
    return info
