"""Fig. 2: alpha_BBP vs the loss constant a for p* = 1 and several p (theory at N = infinity).

Main panel: alpha_BBP(a) for each p, solid where the transition is continuous and dotted where it
is discontinuous, the p -> infinity line p*(a+1)/2 dashed; on each curve a dot at its minimum
(bounded minimisation in log a) and a diamond where the type switches
(:func:`bbp_torch.theory.critical_a`). Right, the paper's insets: alpha_BBP vs p at three values
of a, each point coloured by its type, with crosses for the finite-N lower threshold alpha_0
(the records of preset ``fig4_alpha0``, estimator of :mod:`bbp_torch.estimators`).
:func:`draw_alpha_bbp_vs_a` also draws Fig. 6 (p* = 2).
"""

from __future__ import annotations

import math

import numpy as np

from bbp_torch import plots
from bbp_torch.estimators import ALPHA0_WINDOW
from bbp_torch.figures.common import INSET_A, Context, estimates
from bbp_torch.figures.cost import THEORY_CALL_S, minimum_calls
from bbp_torch.figures.tasks import alpha_bbp_curve_task, alpha_bbp_minimum_task, threshold_task

KEY = "fig2"
ORDER = 2
NAME = "fig2_alpha_bbp_vs_a"
PRESETS = ("fig4_alpha0",)  # the crosses: alpha_0 at finite N (shared with Fig. 4)


def side_seconds(s: dict) -> float:
    """Theory seconds: every curve with its minimum, and the insets."""
    calls = len(s["fig2_p"]) * (s["fig2_a_points"] + minimum_calls(s)) + 3 * len(s["inset_p"])
    return calls * THEORY_CALL_S
A_RANGE = (0.05, 3.0)  # a_c(p) lies between 0.1 (p = 32) and 1.11 (p = 1)


def draw(ctx: Context) -> dict:
    """Draw Fig. 2; returns the curves, their minima and switches, and the insets' points."""
    return draw_alpha_bbp_vs_a(ctx, p_star=1, preset=PRESETS[0], name=NAME, a_range=A_RANGE,
                               number="2")


def draw_alpha_bbp_vs_a(ctx: Context, p_star: int, preset: str, name: str,
                        a_range: tuple[float, float], number: str) -> dict:
    """alpha_BBP vs a for ``p_star`` (main panel) and vs p at ``INSET_A`` (side panels, with
    the finite-N alpha_0 of ``preset``'s records); saved as ``name``."""
    s = ctx.settings
    ps = list(s["fig2_p"])
    # half log-spaced (large p has small a_c), half even (the axis is linear: p = 1 bends at
    # a ~ 1-2 for p* = 2), through the a of the side panels
    n = max(2, s["fig2_a_points"] // 2)
    a_grid = np.union1d(np.union1d(np.geomspace(*a_range, n), np.linspace(*a_range, n)), INSET_A)
    curves = ctx.map(alpha_bbp_curve_task, [(p, p_star, a_grid) for p in ps])
    brackets = []
    for p, curve in zip(ps, curves, strict=True):  # a bracket around each grid minimum
        alpha = np.array([v[0] for v in curve])
        j = int(np.nanargmin(alpha)) if np.isfinite(alpha).any() else 0
        lo, hi = a_grid[max(j - 1, 0)], a_grid[min(j + 1, len(a_grid) - 1)]
        brackets.append((p, p_star, lo, hi, s["min_xatol"]))
    minima = ctx.map(alpha_bbp_minimum_task, brackets)
    for minimum in minima:  # a minimum at the end of the range is the range's, not the curve's
        if not a_grid[0] * 1.001 < minimum["a_min"] < a_grid[-1] / 1.001:
            minimum["a_min"] = minimum["alpha_min"] = float("nan")
    inset_p = list(s["inset_p"])
    inset = ctx.map(threshold_task, [(p, p_star, a) for a in INSET_A for p in inset_p])
    crosses = alpha0_crosses(ctx, preset)

    fig, main, side = plots.main_and_side(len(INSET_A))
    info = {"p_star": p_star, "curves": {}, "insets": {}}
    for i, (p, curve, minimum) in enumerate(zip(ps, curves, minima, strict=True)):
        color = f"C{i % 10}"
        alpha = np.array([v[0] for v in curve])
        kinds = [v[1] for v in curve]
        below, above = plots.split_at(a_grid, alpha, minimum["a_switch"],
                                      minimum["alpha_switch"])
        cont_first = kinds[0] == "continuous"
        main.plot(*below, color=color, lw=1.6, ls="-" if cont_first else ":", label=f"p={p}")
        main.plot(*above, color=color, lw=1.6, ls=":")
        if np.isfinite(minimum["a_min"]):
            main.plot([minimum["a_min"]], [minimum["alpha_min"]], "o", color=color, ms=5)
        if minimum["a_switch"] is not None:
            main.plot([minimum["a_switch"]], [minimum["alpha_switch"]], "D", mfc="none",
                      color=color, ms=8, mew=1.2)
        info["curves"][str(p)] = {"a": a_grid.tolist(), "alpha_bbp": alpha.tolist(),
                                  "type": kinds, **minimum}
    a_line = np.linspace(0, a_range[1], 50)
    main.plot(a_line, p_star * (a_line + 1) / 2, "k--", lw=1.4,
              label=r"$p\to\infty$: $p^*(a+1)/2$")
    main.plot([], [], color="0.4", ls="-", label="continuous transition")
    main.plot([], [], color="0.4", ls=":", label="discontinuous transition")
    main.plot([], [], "o", color="0.4", ms=5, label=r"minimum of $\alpha_{BBP}(a)$")
    main.plot([], [], "D", mfc="none", color="0.4", ms=8, label="type switches ($a_c$)")
    for a in INSET_A:
        main.axvline(a, color="0.85", lw=0.8, zorder=0)
    main.set_xlim(0, a_range[1])
    top = np.nanmax([np.nanmax([v[0] for v in c]) for c in curves])
    main.set_ylim(0, 1.05 * min(top, 2.2 * p_star * (a_range[1] + 1) / 2))
    main.set_xlabel("loss constant $a$")
    main.set_ylabel(r"$\alpha_{BBP}$ ($N=\infty$)")
    main.set_title(f"Fig. {number}  BBP threshold vs a (p*={p_star}, theory at N=" + r"$\infty$"
                   "); grey lines: the a of the panels on the right", fontsize=9)
    plots.legend(main, fontsize=7, ncol=2, loc="lower right")

    for k, (ax, a) in enumerate(zip(side, INSET_A, strict=True)):
        points = inset[k * len(inset_p):(k + 1) * len(inset_p)]
        alpha = np.array([v[0] for v in points])
        kinds = [v[1] for v in points]
        ax.plot(inset_p, alpha, color="0.7", lw=0.8, zorder=1)
        for kind, style in plots.TYPE_STYLE.items():
            mask = np.array([t == kind for t in kinds])
            ax.plot(np.asarray(inset_p)[mask], alpha[mask], ls="none", ms=4, zorder=2,
                    **style)
        ax.axhline(p_star * (a + 1) / 2, color="k", ls="--", lw=1.0,
                   label=r"$p\to\infty$")
        mine = [c for c in crosses["points"] if math.isclose(c["a"], a)]
        if mine:
            err = np.nan_to_num([c["alpha0_err"] for c in mine])
            ax.errorbar([c["p"] for c in mine], [c["alpha0"] for c in mine], yerr=err,
                        fmt="x", color="m", ms=7, mew=1.5, capsize=2, zorder=3,
                        label=rf"$\alpha_0$, N={crosses['N']}")
        finite = alpha[np.isfinite(alpha)]
        if len(finite):
            ax.set_ylim(0, 1.4 * finite.max())  # alpha_0 > 0 always; alpha_0 < alpha_BBP
        ax.set_xscale("log", base=2)
        ax.set_xticks(inset_p)
        ax.set_xticklabels([str(p) for p in inset_p], fontsize=6)
        ax.set_ylabel(r"$\alpha$", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_title(f"a={a}: " + r"$\alpha_{BBP}$ vs $p$", fontsize=8)
        if k == len(INSET_A) - 1:
            ax.set_xlabel("student width $p$", fontsize=8)
        plots.legend(ax, fontsize=6, loc="upper right", ncol=2)
        info["insets"][str(a)] = {"p": inset_p, "alpha_bbp": alpha.tolist(), "type": kinds,
                                  "alpha0": mine}
    info["alpha0_N"] = crosses["N"]
    fig.tight_layout()
    ctx.saver.save(fig, name)
    return info


def alpha0_crosses(ctx: Context, preset: str) -> dict:
    """The finite-N alpha_0 of every ``(a, p)`` in ``preset``'s records: ``{"N", "points":
    [{"a", "p", "alpha0", "alpha0_err", "seeds"}, ...]}`` (points whose fit failed left out)."""
    table = ctx.table(preset)
    if not len(table):
        return {"N": None, "points": []}
    points = []
    for a in sorted(table["config.problem.a"].astype(float).unique()):
        for p in sorted(table["config.problem.p"].astype(int).unique()):
            est = estimates(table, {"config.problem.a": a, "config.problem.p": p},
                            ctx.settings["n_boot"])
            if np.isfinite(est["alpha0"]):
                points.append({"a": float(a), "p": int(p), "alpha0": est["alpha0"],
                               "alpha0_err": est["alpha0_err"], "seeds": est["seeds"]})
    return {"N": int(table["config.problem.N"].iloc[0]), "window": list(ALPHA0_WINDOW),
            "points": points}
