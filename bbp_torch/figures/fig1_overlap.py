"""Fig. 1: overlap m of the bottom Hessian eigenvector with the teacher vs alpha.

Mean ± standard error over seeds at several N (preset ``fig1_overlap``), p = 2, p* = 1,
a = 0.7 (continuous) and 1.5 (discontinuous), with the N = infinity theory curve and alpha_BBP.
"""

from __future__ import annotations

import numpy as np

from bbp_torch import plots, theory
from bbp_torch.estimators import seed_average
from bbp_torch.figures.common import A_CONT, A_DISC, P_STAR, Context, P
from bbp_torch.figures.tasks import overlap_curve_task

KEY = "fig1"
ORDER = 1
NAME = "fig1_overlap"
PRESETS = ("fig1_overlap",)


def curve(avg, mask, column: str = "mean"):
    """``(alpha, value, sem)`` of the seed averages ``avg[mask]``, sorted by alpha."""
    sub = avg[mask].sort_values("config.problem.alpha")
    return sub["config.problem.alpha"].to_numpy(), sub[column].to_numpy(), sub["sem"].to_numpy()


def draw(ctx: Context) -> dict:
    """Draw Fig. 1; returns ``{a: {"alpha_bbp", "transition"}}`` for the summary."""
    table = ctx.table("fig1_overlap")
    keys = ["config.problem.a", "config.problem.N", "config.problem.alpha"]
    avg = seed_average(table, keys) if len(table) else None
    alpha_max = float(table["config.problem.alpha"].max()) if len(table) else 3.0
    grids = []
    for a in (A_CONT, A_DISC):
        a_bbp = theory.alpha_bbp(P, P_STAR, a)
        grid = np.union1d(np.linspace(0.05, alpha_max, ctx.settings["curve_points"]),
                          [a_bbp, a_bbp * (1 + 1e-6)])
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
                ax, {f"N={N}": curve(avg, at_a & (avg["config.problem.N"] == N))
                     for N in sizes},
                r"data ratio $\alpha = M/N$", r"overlap $m$ with the teacher")
        else:
            seeds = 0
        jump = a_bbp if kind == "discontinuous" else None
        plots.theory_curve_with_jump(ax, grid, m_theory, jump, color="k", lw=1.6,
                                     label=r"theory $N=\infty$")
        plots.vline(ax, a_bbp, rf"$\alpha_{{BBP}}={a_bbp:.3f}$")
        ax.set_ylim(-0.02, 1)  # the theory at m = 0 stays visible above the axis
        ax.set_title(f"{plots.params_text(p=P, p_star=P_STAR, a=a)}: {kind}\n"
                     f"mean ± s.e. over {seeds} seeds", fontsize=9)
        plots.legend(ax, fontsize=7, loc="upper left")
        info[str(a)] = {"alpha_bbp": a_bbp, "transition": kind}
    fig.suptitle("Fig. 1  Overlap of the bottom Hessian eigenvector with the teacher",
                 fontsize=10)
    fig.tight_layout()
    ctx.saver.save(fig, NAME)
    return info
