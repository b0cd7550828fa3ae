"""Fig. 8: other activations (teacher and student alike), simulation only.

Overlap m of the bottom Hessian eigenvector with the teacher vs alpha, mean ± standard error over
seeds at several N, for the sigmoid with a = 1 (preset ``fig8_sigmoid``) and tanh with a = 50
(preset ``fig8_tanh``), p = p* = 1. There is no N = infinity theory for them (docs/model.md
section 6): the sharpening of the curves with N is the sign of a BBP-like transition. Dotted:
the alpha where the mean overlap of the largest N first reaches 0.3 (the crossing estimator).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bbp_torch import plots
from bbp_torch.estimators import CROSSING_LEVEL
from bbp_torch.figures.common import Context, estimates, mean_curve, samples

KEY = "fig8"
ORDER = 7
NAME = "fig8_activations"
PRESETS = ("fig8_sigmoid", "fig8_tanh")


@dataclass
class Result:
    """The numbers of Fig. 8, one panel per activation: ``panels[activation]`` = ``{"a", "p",
    "p_star", "N", "curves": {str(N): {"alpha", "mean", "sem"}}}`` (and ``"crossing": {"N",
    "value", "err"}`` at the largest N, with records), ``seeds[activation]``: the fewest seeds of
    a point."""

    panels: dict[str, dict]
    seeds: dict[str, int]


def compute(ctx: Context) -> Result:
    """The mean overlap per N of presets ``fig8_sigmoid`` and ``fig8_tanh`` and its crossing."""
    result = Result(panels={}, seeds={})
    for preset in PRESETS:
        table = ctx.table(preset)
        _, base, _ = ctx.grid(preset)
        pr = base["problem"]
        sizes = sorted(int(n) for n in table["config.problem.N"].unique()) if len(table) else []
        entry = {"a": float(pr["a"]), "p": pr["p"], "p_star": pr["p_star"], "N": sizes,
                 "curves": {}}
        counts = []
        for N in sizes:
            alphas, m = samples(table, {"config.problem.N": N})
            x, y, err = mean_curve(alphas, m)
            counts += [len(v) for v in m]
            entry["curves"][str(N)] = {"alpha": x.tolist(), "mean": y.tolist(),
                                       "sem": err.tolist()}
        if sizes:
            est = estimates(table, {"config.problem.N": sizes[-1]}, ctx.settings["n_boot"])
            entry["crossing"] = {"N": sizes[-1], "value": est["crossing"],
                                 "err": est["crossing_err"]}
        result.panels[pr["activation"]] = entry
        result.seeds[pr["activation"]] = min(counts, default=0)
    return result


def plot(result: Result, saver) -> dict:
    """Draw Fig. 8; returns per activation: a, the sizes, the mean curves and the crossing."""
    fig, axes = plots.figure(1, 2, width=5.4, height=4.2, sharey=True)
    for ax, (activation, entry) in zip(axes[0], result.panels.items(), strict=True):
        for i, (N, c) in enumerate(entry["curves"].items()):
            ax.errorbar(c["alpha"], c["mean"], yerr=c["sem"], fmt="o-", ms=3.5, lw=1.0,
                        capsize=2, color=plots.SIZE_COLORS[i % len(plots.SIZE_COLORS)],
                        label=f"N={N}")
        crossing = entry.get("crossing")
        if crossing and math.isfinite(crossing["value"]):
            plots.vline(ax, crossing["value"], rf"mean $m$ reaches {CROSSING_LEVEL} at "
                        rf"$\alpha$={crossing['value']:.2f} (N={crossing['N']})", ls=":")
        ax.set_ylim(0, 1)
        ax.set_xlabel(r"data ratio $\alpha = M/N$")
        ax.set_ylabel(r"overlap $m$ of the bottom eigenvector")
        params = plots.params_text(p=entry["p"], p_star=entry["p_star"], a=entry["a"])
        ax.set_title(f"{activation}: {params}\nmean ± s.e. over {result.seeds[activation]} "
                     "seeds; no " + r"$N=\infty$ theory", fontsize=9)
        plots.legend(ax, fontsize=7, loc="upper left")
    fig.suptitle("Fig. 8  Other activations: overlap of the bottom Hessian eigenvector with "
                 "the teacher", fontsize=10)
    fig.tight_layout()
    saver.save(fig, NAME)
    return result.panels


def draw(ctx: Context) -> dict:
    """Draw Fig. 8 (its numbers written to tables/); returns its summary."""
    return plot(ctx.result(NAME, compute, Result, PRESETS), ctx.saver)
