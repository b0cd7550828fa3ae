"""Fig. 4: the lower threshold alpha_0 vs the student width p (p* = 1, one N).

alpha_0 (docs/model.md claim 5; :func:`bbp_torch.estimators.fit_alpha0`): the seed-mean ``m^2`` of
the bottom eigenvector is fitted linearly in alpha over the onset window ``0.1 <= m^2 <= 0.3``
(one contiguous stretch of the rise, at least 3 grid points) and alpha_0 is the zero of the fit;
error bars: bootstrap over seeds. Left: alpha_0 vs p for each a of preset ``fig4_alpha0``, with
alpha_BBP at N = infinity (dotted) and the same fit applied to the N = infinity overlap curve
(open circles). Right: the fits themselves at a = 0.7, so that the window can be judged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bbp_torch import plots, theory
from bbp_torch.estimators import ALPHA0_WINDOW, CROSSING_LEVEL
from bbp_torch.figures.common import INSET_A, Context, estimates_by_a_p, mean_curve, samples
from bbp_torch.figures.tasks import estimator_limits_task

KEY = "fig4"
ORDER = 4
NAME = "fig4_alpha0"
PRESETS = ("fig4_alpha0",)
FIT_PANEL_A = INSET_A[1]  # the a whose fits the right panel shows


@dataclass
class Result:
    """The numbers of Fig. 4: ``points[str(a)]`` = ``{"p", "N", "alpha0", "alpha0_err",
    "alpha0_theory", "alpha_bbp", "seeds"}`` (left; lists over p), ``fits[str(p)]`` = ``{"alpha",
    "mean", "sem", "alpha0", "slope"}`` (right: mean m^2 and its fit at ``FIT_PANEL_A``), the
    fit window and the runs' N (None without records)."""

    window: list[float]
    N: int | None
    points: dict[str, dict]
    fits: dict[str, dict]


def compute(ctx: Context) -> Result:
    """alpha_0 per (a, p) of preset ``fig4_alpha0`` with bootstrap errors, the same fit on the
    N = infinity overlap curve, and the fits at ``FIT_PANEL_A``."""
    table = ctx.table(PRESETS[0])
    result = Result(window=list(ALPHA0_WINDOW), N=None, points={}, fits={})
    if not len(table):
        return result
    result.N = int(table["config.problem.N"].iloc[0])
    rows = estimates_by_a_p(table, ctx.settings["n_boot"])  # as Fig. 2's crosses
    a_values = sorted({a for a, _ in rows})
    ps = sorted({p for _, p in rows})
    limits = ctx.map(estimator_limits_task, [(p, 1, a, CROSSING_LEVEL, ALPHA0_WINDOW)
                                             for a in a_values for p in ps])
    for i, a in enumerate(a_values):
        result.points[str(a)] = {
            "p": ps, "N": result.N, "alpha0": [rows[a, p]["alpha0"] for p in ps],
            "alpha0_err": np.nan_to_num([rows[a, p]["alpha0_err"] for p in ps]).tolist(),
            "alpha0_theory": [limits[i * len(ps) + k][1] for k in range(len(ps))],
            "alpha_bbp": [theory.alpha_bbp(p, 1, a) for p in ps],
            "seeds": [rows[a, p]["seeds"] for p in ps]}
    if FIT_PANEL_A in a_values:
        for p in ps:
            alphas, m = samples(table, {"config.problem.a": FIT_PANEL_A, "config.problem.p": p})
            x, y, err = mean_curve(alphas, [v**2 for v in m])
            result.fits[str(p)] = {"alpha": x.tolist(), "mean": y.tolist(), "sem": err.tolist(),
                                   "alpha0": rows[FIT_PANEL_A, p]["alpha0"],
                                   "slope": rows[FIT_PANEL_A, p]["slope"]}
    return result


def plot(result: Result, saver) -> dict:
    """Draw Fig. 4; returns ``{a: {"p", "N", "alpha0", "alpha0_err", "alpha0_theory",
    "alpha_bbp", "seeds"}}`` and the fit window."""
    fig, axes = plots.figure(1, 2, width=5.4, height=4.4)
    left, right = axes[0]
    info: dict = {"window": result.window, **result.points}
    if not result.points:
        left.set_title("no records of preset fig4_alpha0", fontsize=8)
        saver.save(fig, NAME)
        return info
    N = result.N
    for i, (a, row) in enumerate(result.points.items()):
        color = f"C{i}"
        ps = row["p"]
        left.errorbar(ps, row["alpha0"], yerr=row["alpha0_err"], fmt="o-", color=color,
                      capsize=2, ms=4, label=f"a={a}")
        left.plot(ps, row["alpha0_theory"], "o", mfc="none", color=color, ms=7)
        left.plot(ps, row["alpha_bbp"], ":", color=color, lw=1.2)
    left.plot([], [], "o-", color="0.3", ms=4, label=rf"$\alpha_0$ at N={N} (bootstrap errors)")
    left.plot([], [], "o", mfc="none", color="0.3", ms=7,
              label=r"same fit on the $N=\infty$ curve")
    left.plot([], [], ":", color="0.3", label=r"$\alpha_{BBP}$ at $N=\infty$")
    seeds = min(min(row["seeds"]) for row in result.points.values())
    left.set_xticks(next(iter(result.points.values()))["p"])
    left.set_xlabel("student width $p$")
    left.set_ylabel(r"$\alpha$")
    top = max(max(row["alpha_bbp"]) for row in result.points.values())
    left.set_ylim(0, 1.5 * top)
    lo, hi = result.window
    left.set_title(rf"Fig. 4  lower threshold $\alpha_0$ vs $p$ (p*=1, N={N}, {seeds} seeds)"
                   "\n" + rf"zero of the linear fit of mean $m^2$ over "
                   rf"{lo} $\leq m^2 \leq$ {hi}", fontsize=8)
    plots.legend(left, fontsize=6.5, loc="upper right")
    fit_panel(right, result)
    fig.tight_layout()
    saver.save(fig, NAME)
    return info


def fit_panel(ax, result: Result) -> None:
    """Mean m^2 vs alpha at ``FIT_PANEL_A`` for each p, the window shaded, the fitted lines."""
    a = FIT_PANEL_A
    if not result.fits:
        ax.set_title(f"no records at a={a}", fontsize=8)
        return
    lo, hi = result.window
    ax.axhspan(lo, hi, color="0.9", zorder=0, label="fit window")
    for j, (p, fit) in enumerate(result.fits.items()):
        color = f"C{j}"
        x = np.asarray(fit["alpha"], dtype=float)
        ax.errorbar(x, fit["mean"], yerr=fit["sem"], fmt="o", ms=3, color=color, capsize=1.5,
                    label=f"p={p}")
        alpha0, slope = fit["alpha0"], fit["slope"]
        if np.isfinite(alpha0) and np.isfinite(slope):
            top = min(alpha0 + 1.15 * hi / slope, x.max())
            xs = np.array([alpha0, top])
            ax.plot(xs, slope * (xs - alpha0), "-", color=color, lw=1.0)
    ax.set_ylim(0, 1)
    ax.set_xlabel(r"data ratio $\alpha = M/N$")
    ax.set_ylabel(r"mean $m^2$ of the bottom eigenvector")
    ax.set_title(f"the fits at a={a}, N={result.N}: lines cross zero at " + r"$\alpha_0$",
                 fontsize=8)
    plots.legend(ax, fontsize=6.5, loc="upper left")


def draw(ctx: Context) -> dict:
    """Draw Fig. 4 (its numbers written to tables/); returns its summary."""
    return plot(ctx.result(NAME, compute, Result, PRESETS), ctx.saver)
