"""Fig. 1: overlap m of the bottom Hessian eigenvector with the teacher vs alpha.

Mean ± standard error over seeds at several N (preset ``fig1_overlap``), p = 2, p* = 1,
a = 0.7 (continuous) and 1.5 (discontinuous), with the N = infinity theory curve and alpha_BBP.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bbp_torch import plots, theory
from bbp_torch.estimators import seed_average
from bbp_torch.figures.common import A_CONT, A_DISC, P_STAR, Context, P
from bbp_torch.figures.tasks import overlap_curve_task

KEY = "fig1"
ORDER = 1
NAME = "fig1_overlap"
PRESETS = ("fig1_overlap",)


@dataclass
class Result:
    """The numbers of Fig. 1, one panel per a (keys ``str(a)``): ``theory[a]`` = ``{"alpha",
    "m", "alpha_bbp", "transition"}`` (N = infinity), ``data[a][str(N)]`` = ``{"alpha", "mean",
    "sem"}`` (over seeds), ``seeds[a]``: the most seeds of a point."""

    theory: dict[str, dict]
    data: dict[str, dict]
    seeds: dict[str, int]


def curve(avg, mask) -> dict:
    """``{"alpha", "mean", "sem"}`` of the seed averages ``avg[mask]``, sorted by alpha."""
    sub = avg[mask].sort_values("config.problem.alpha")
    return {"alpha": sub["config.problem.alpha"].astype(float).tolist(),
            "mean": sub["mean"].astype(float).tolist(), "sem": sub["sem"].astype(float).tolist()}


def compute(ctx: Context) -> Result:
    """The seed averages of preset ``fig1_overlap`` and the theory curves through alpha_BBP."""
    table = ctx.table(PRESETS[0])
    keys = ["config.problem.a", "config.problem.N", "config.problem.alpha"]
    avg = seed_average(table, keys) if len(table) else None
    alpha_max = float(table["config.problem.alpha"].max()) if len(table) else 3.0
    grids = {}
    for a in (A_CONT, A_DISC):
        a_bbp = theory.alpha_bbp(P, P_STAR, a)
        grids[a] = np.union1d(np.linspace(0.05, alpha_max, ctx.settings["curve_points"]),
                              [a_bbp, a_bbp * (1 + 1e-6)])
    curves = ctx.map(overlap_curve_task, [(P, P_STAR, a, grid) for a, grid in grids.items()])
    result = Result(theory={}, data={}, seeds={})
    for (a, grid), m in zip(grids.items(), curves, strict=True):
        result.theory[str(a)] = {"alpha": grid.tolist(), "m": np.asarray(m).tolist(),
                                 "alpha_bbp": theory.alpha_bbp(P, P_STAR, a),
                                 "transition": theory.transition_type(P, P_STAR, a)}
        at_a = np.isclose(avg["config.problem.a"], a) if avg is not None else None
        sizes = sorted(int(N) for N in avg[at_a]["config.problem.N"].unique()) \
            if avg is not None else []
        result.data[str(a)] = {str(N): curve(avg, at_a & (avg["config.problem.N"] == N))
                               for N in sizes}
        result.seeds[str(a)] = int(avg[at_a]["n"].max()) if sizes else 0
    return result


def plot(result: Result, saver) -> dict:
    """Draw Fig. 1; returns ``{a: {"alpha_bbp", "transition"}}`` for the summary."""
    fig, axes = plots.figure(1, 2, width=5.4, height=4.0)
    info = {}
    for ax, (a, th) in zip(axes[0], result.theory.items(), strict=True):
        kind, a_bbp = th["transition"], th["alpha_bbp"]
        plots.errorbar_curves(
            ax, {f"N={N}": (c["alpha"], c["mean"], c["sem"]) for N, c in result.data[a].items()},
            r"data ratio $\alpha = M/N$", r"overlap $m$ with the teacher")
        jump = a_bbp if kind == "discontinuous" else None
        plots.theory_curve_with_jump(ax, np.asarray(th["alpha"]), np.asarray(th["m"]), jump,
                                     color="k", lw=1.6, label=r"theory $N=\infty$")
        plots.vline(ax, a_bbp, rf"$\alpha_{{BBP}}={a_bbp:.3f}$")
        ax.set_ylim(-0.02, 1)  # the theory at m = 0 stays visible above the axis
        ax.set_title(f"{plots.params_text(p=P, p_star=P_STAR, a=float(a))}: {kind}\n"
                     f"mean ± s.e. over {result.seeds[a]} seeds", fontsize=9)
        plots.legend(ax, fontsize=7, loc="upper left")
        info[a] = {"alpha_bbp": a_bbp, "transition": kind}
    fig.suptitle("Fig. 1  Overlap of the bottom Hessian eigenvector with the teacher",
                 fontsize=10)
    fig.tight_layout()
    saver.save(fig, NAME)
    return info


def draw(ctx: Context) -> dict:
    """Draw Fig. 1 (its numbers written to tables/); returns its summary."""
    return plot(ctx.result(NAME, compute, Result, PRESETS), ctx.saver)
