"""Fig. 8: other activations (teacher and student alike), simulation only.

Overlap m of the bottom Hessian eigenvector with the teacher vs alpha, mean ± standard error over
seeds at several N, for the sigmoid with a = 1 (preset ``fig8_sigmoid``) and tanh with a = 50
(preset ``fig8_tanh``), p = p* = 1. There is no N = infinity theory for them (docs/model.md
section 6): the sharpening of the curves with N is the sign of a BBP-like transition. Dotted:
the alpha where the mean overlap of the largest N first reaches 0.3 (the crossing estimator).
"""

from __future__ import annotations

import math

from bbp_torch import plots
from bbp_torch.estimators import CROSSING_LEVEL
from bbp_torch.figures.common import Context, estimates, mean_curve, samples

KEY = "fig8"
ORDER = 7
NAME = "fig8_activations"
PRESETS = ("fig8_sigmoid", "fig8_tanh")


def draw(ctx: Context) -> dict:
    """Draw Fig. 8; returns per activation: a, the sizes, the mean curves and the crossing."""
    fig, axes = plots.figure(1, 2, width=5.4, height=4.2, sharey=True)
    info = {}
    for ax, preset in zip(axes[0], PRESETS, strict=True):
        table = ctx.table(preset)
        _, base, _ = ctx.grid(preset)
        pr = base["problem"]
        activation, a = pr["activation"], float(pr["a"])
        sizes = sorted(int(n) for n in table["config.problem.N"].unique()) if len(table) else []
        entry = {"a": a, "p": pr["p"], "p_star": pr["p_star"], "N": sizes, "curves": {}}
        counts = []
        for i, N in enumerate(sizes):
            alphas, m = samples(table, {"config.problem.N": N})
            x, y, err = mean_curve(alphas, m)
            counts += [len(v) for v in m]
            ax.errorbar(x, y, yerr=err, fmt="o-", ms=3.5, lw=1.0, capsize=2,
                        color=plots.SIZE_COLORS[i % len(plots.SIZE_COLORS)], label=f"N={N}")
            entry["curves"][str(N)] = {"alpha": x.tolist(), "mean": y.tolist(),
                                       "sem": err.tolist()}
        seeds = min(counts, default=0)
        if sizes:
            est = estimates(table, {"config.problem.N": sizes[-1]}, ctx.settings["n_boot"])
            entry["crossing"] = {"N": sizes[-1], "value": est["crossing"],
                                 "err": est["crossing_err"]}
            if math.isfinite(est["crossing"]):
                plots.vline(ax, est["crossing"], rf"mean $m$ reaches {CROSSING_LEVEL} at "
                            rf"$\alpha$={est['crossing']:.2f} (N={sizes[-1]})", ls=":")
        ax.set_ylim(0, 1)
        ax.set_xlabel(r"data ratio $\alpha = M/N$")
        ax.set_ylabel(r"overlap $m$ of the bottom eigenvector")
        ax.set_title(f"{activation}: {plots.params_text(p=pr['p'], p_star=pr['p_star'], a=a)}"
                     f"\nmean ± s.e. over {seeds} seeds; no " + r"$N=\infty$ theory",
                     fontsize=9)
        plots.legend(ax, fontsize=7, loc="upper left")
        info[activation] = entry
    fig.suptitle("Fig. 8  Other activations: overlap of the bottom Hessian eigenvector with "
                 "the teacher", fontsize=10)
    fig.tight_layout()
    ctx.saver.save(fig, NAME)
    return info

