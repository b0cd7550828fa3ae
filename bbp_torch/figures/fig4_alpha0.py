"""Fig. 4: the lower threshold alpha_0 vs the student width p (p* = 1, one N).

alpha_0 (docs/model.md claim 5; :func:`bbp_torch.estimators.fit_alpha0`): the seed-mean ``m^2`` of
the bottom eigenvector is fitted linearly in alpha over the onset window ``0.1 <= m^2 <= 0.3``
(one contiguous stretch of the rise, at least 3 grid points) and alpha_0 is the zero of the fit;
error bars: bootstrap over seeds. Left: alpha_0 vs p for each a of preset ``fig4_alpha0``, with
alpha_BBP at N = infinity (dotted) and the same fit applied to the N = infinity overlap curve
(open circles). Right: the fits themselves at a = 0.7, so that the window can be judged.
"""

from __future__ import annotations

import numpy as np

from bbp_torch import plots, theory
from bbp_torch.estimators import ALPHA0_WINDOW, CROSSING_LEVEL
from bbp_torch.figures.common import INSET_A, Context, estimates, mean_curve, samples
from bbp_torch.figures.tasks import estimator_limits_task

KEY = "fig4"
ORDER = 4
NAME = "fig4_alpha0"
PRESETS = ("fig4_alpha0",)
FIT_PANEL_A = INSET_A[1]  # the a whose fits the right panel shows


def draw(ctx: Context) -> dict:
    """Draw Fig. 4; returns ``{a: {"p", "N", "alpha0", "alpha0_err", "alpha0_theory",
    "alpha_bbp"}}`` and the fit window."""
    table = ctx.table(PRESETS[0])
    fig, axes = plots.figure(1, 2, width=5.4, height=4.4)
    left, right = axes[0]
    info: dict = {"window": list(ALPHA0_WINDOW)}
    if not len(table):
        left.set_title("no records of preset fig4_alpha0", fontsize=8)
        ctx.saver.save(fig, NAME)
        return info
    N = int(table["config.problem.N"].iloc[0])
    a_values = sorted(float(a) for a in table["config.problem.a"].unique())
    ps = sorted(int(p) for p in table["config.problem.p"].unique())
    limits = ctx.map(estimator_limits_task, [(p, 1, a, CROSSING_LEVEL, ALPHA0_WINDOW)
                                             for a in a_values for p in ps])
    rows = {(a, p): estimates(table, {"config.problem.a": a, "config.problem.p": p},
                              ctx.settings["n_boot"]) for a in a_values for p in ps}
    for i, a in enumerate(a_values):
        color = f"C{i}"
        y = [rows[a, p]["alpha0"] for p in ps]
        err = np.nan_to_num([rows[a, p]["alpha0_err"] for p in ps])
        left.errorbar(ps, y, yerr=err, fmt="o-", color=color, capsize=2, ms=4, label=f"a={a}")
        inf = [limits[i * len(ps) + k][1] for k in range(len(ps))]
        left.plot(ps, inf, "o", mfc="none", color=color, ms=7)
        bbp = [theory.alpha_bbp(p, 1, a) for p in ps]
        left.plot(ps, bbp, ":", color=color, lw=1.2)
        info[str(a)] = {"p": ps, "N": N, "alpha0": y, "alpha0_err": err.tolist(),
                        "alpha0_theory": inf, "alpha_bbp": bbp,
                        "seeds": [rows[a, p]["seeds"] for p in ps]}
    left.plot([], [], "o-", color="0.3", ms=4, label=rf"$\alpha_0$ at N={N} (bootstrap errors)")
    left.plot([], [], "o", mfc="none", color="0.3", ms=7,
              label=r"same fit on the $N=\infty$ curve")
    left.plot([], [], ":", color="0.3", label=r"$\alpha_{BBP}$ at $N=\infty$")
    seeds = min(min(v["seeds"]) for k, v in info.items() if k != "window")
    left.set_xticks(ps)
    left.set_xlabel("student width $p$")
    left.set_ylabel(r"$\alpha$")
    top = max(max(v["alpha_bbp"]) for k, v in info.items() if k != "window")
    left.set_ylim(0, 1.5 * top)
    left.set_title(rf"Fig. 4  lower threshold $\alpha_0$ vs $p$ (p*=1, N={N}, {seeds} seeds)"
                   "\n" + rf"zero of the linear fit of mean $m^2$ over "
                   rf"{ALPHA0_WINDOW[0]} $\leq m^2 \leq$ {ALPHA0_WINDOW[1]}", fontsize=8)
    plots.legend(left, fontsize=6.5, loc="upper right")
    fit_panel(right, table, ps, rows, N)
    fig.tight_layout()
    ctx.saver.save(fig, NAME)
    return info


def fit_panel(ax, table, ps, rows, N) -> None:
    """Mean m^2 vs alpha at ``FIT_PANEL_A`` for each p, the window shaded, the fitted lines."""
    a = FIT_PANEL_A
    if (a, ps[0]) not in rows:
        ax.set_title(f"no records at a={a}", fontsize=8)
        return
    lo, hi = ALPHA0_WINDOW
    ax.axhspan(lo, hi, color="0.9", zorder=0, label="fit window")
    for j, p in enumerate(ps):
        color = f"C{j}"
        alphas, m = samples(table, {"config.problem.a": a, "config.problem.p": p})
        x, y, err = mean_curve(alphas, [v**2 for v in m])
        ax.errorbar(x, y, yerr=err, fmt="o", ms=3, color=color, capsize=1.5, label=f"p={p}")
        est = rows[a, p]
        if np.isfinite(est["alpha0"]) and np.isfinite(est["slope"]):
            top = min(est["alpha0"] + 1.15 * hi / est["slope"], x.max())
            xs = np.array([est["alpha0"], top])
            ax.plot(xs, est["slope"] * (xs - est["alpha0"]), "-", color=color, lw=1.0)
    ax.set_ylim(0, 1)
    ax.set_xlabel(r"data ratio $\alpha = M/N$")
    ax.set_ylabel(r"mean $m^2$ of the bottom eigenvector")
    ax.set_title(f"the fits at a={a}, N={N}: lines cross zero at " + r"$\alpha_0$", fontsize=8)
    plots.legend(ax, fontsize=6.5, loc="upper left")
