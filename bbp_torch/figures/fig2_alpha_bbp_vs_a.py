"""Fig. 2: alpha_BBP vs the loss constant a for p* = 1 and several p (theory at N = infinity).

Main panel: alpha_BBP(a) for each p, solid where the transition is continuous and dotted where it
is discontinuous, the p -> infinity line p*(a+1)/2 dashed; on each curve a dot at its minimum
(bounded minimisation in log a) and a diamond where the type switches
(:func:`bbp_torch.theory.critical_a`). Right, the paper's insets: alpha_BBP vs p at three values
of a, each point coloured by its type, with crosses for the finite-N lower threshold alpha_0
(the records of preset ``fig4_alpha0``, estimator of :mod:`bbp_torch.estimators`) and, for
p* = 1, the finite-N estimates at large widths (p up to 64 in the paper mode) of preset
``extra_large_width`` (:func:`~bbp_torch.figures.extra_large_width.finite_n_thresholds`: alpha_0
and the crossing of the two largest N).
:func:`compute_alpha_bbp_vs_a` and :func:`plot_alpha_bbp_vs_a` also make Fig. 6 (p* = 2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from bbp_torch import plots
from bbp_torch.estimators import ALPHA0_WINDOW
from bbp_torch.figures.common import INSET_A, Context, estimates_by_a_p
from bbp_torch.figures.cost import THEORY_CALL_S, minimum_calls
from bbp_torch.figures.tasks import alpha_bbp_curve_task, alpha_bbp_minimum_task, threshold_task

KEY = "fig2"
ORDER = 2
NAME = "fig2_alpha_bbp_vs_a"
# the crosses: alpha_0 at finite N (shared with Fig. 4) and at large widths (shared with the
# figure extra_large_width; its smoke grid is tiny, its quick one the quick figure's)
PRESETS = ("fig4_alpha0", "extra_large_width")


def side_seconds(s: dict) -> float:
    """Theory seconds: every curve with its minimum, and the insets."""
    calls = len(s["fig2_p"]) * (s["fig2_a_points"] + minimum_calls(s)) + 3 * len(s["inset_p"])
    return calls * THEORY_CALL_S
A_RANGE = (0.05, 3.0)  # a_c(p) lies between 0.1 (p = 32) and 1.11 (p = 1)


@dataclass
class Result:
    """The numbers of Figs. 2 and 6: ``curves[str(p)]`` = ``{"a", "alpha_bbp", "type", "a_min",
    "alpha_min", "a_switch", "alpha_switch"}`` (main panel, N = infinity), ``insets[str(a)]`` =
    ``{"p", "alpha_bbp", "type", "alpha0": [{"a", "p", "alpha0", "alpha0_err", "seeds"}]}``
    (side panels; alpha_0 at ``alpha0_N``, None without records), the main panel's a range;
    ``large_width[str(a)]`` = ``{"p", "N", "alpha0", "alpha0_err", "crossing", "crossing_err",
    "crossing_N"}``: the large-width estimates at the insets' a (alpha_0 at the largest N
    ``N``, the crossing of the mean m curves of the two largest N, ``crossing_N`` =
    ``"N1-N2"``; NaN where none; bootstrap errors over seeds),
    empty without records (and for Fig. 6)."""

    p_star: int
    a_range: list[float]
    curves: dict[str, dict]
    insets: dict[str, dict]
    alpha0_N: int | None
    large_width: dict[str, dict] = field(default_factory=dict)


def compute(ctx: Context) -> Result:
    """The theory of Fig. 2 in the mode's grid, alpha_0 of preset ``fig4_alpha0`` and the
    large-width estimates of preset ``extra_large_width``."""
    result = compute_alpha_bbp_vs_a(ctx, p_star=1, preset=PRESETS[0], a_range=A_RANGE)
    result.large_width = large_width_crosses(ctx.table(PRESETS[1]), ctx.settings["n_boot"])
    return result


def large_width_crosses(table, n_boot: int) -> dict[str, dict]:
    """:attr:`Result.large_width` from records such as those of ``extra_large_width``: at each
    a of ``INSET_A`` that they hold, per p the alpha_0 at the largest N and the crossing of the
    two largest N (:func:`~bbp_torch.figures.extra_large_width.finite_n_thresholds`)."""
    from bbp_torch.figures.extra_large_width import finite_n_thresholds

    out: dict[str, dict] = {}
    for a_key, by_p in finite_n_thresholds(table, n_boot).items():
        a = next((x for x in INSET_A if math.isclose(x, float(a_key))), None)
        if a is None:
            continue
        ps = sorted(by_p, key=int)
        largest = [by_p[p]["N"][-1] for p in ps]
        pairs = [list(by_p[p]["crossing_consecutive"].items()) for p in ps]
        out[str(a)] = {
            "p": [int(p) for p in ps], "N": max(largest),
            "alpha0": [float(by_p[p]["alpha0"][-1]) for p in ps],
            "alpha0_err": [float(by_p[p]["alpha0_err"][-1]) for p in ps],
            "crossing": [float(pair[-1][1]) if pair else math.nan for pair in pairs],
            "crossing_err": [float(by_p[p]["crossing_consecutive_err"][pair[-1][0]])
                             if pair else math.nan for p, pair in zip(ps, pairs, strict=True)],
            "crossing_N": [pair[-1][0] if pair else "" for pair in pairs]}
    return out


def plot(result: Result, saver) -> dict:
    """Draw Fig. 2; returns the curves, their minima and switches, and the insets' points."""
    return plot_alpha_bbp_vs_a(result, saver, name=NAME, number="2")


def draw(ctx: Context) -> dict:
    """Draw Fig. 2 (its numbers written to tables/); returns its summary."""
    return plot(ctx.result(NAME, compute, Result, PRESETS), ctx.saver)


def compute_alpha_bbp_vs_a(ctx: Context, p_star: int, preset: str,
                           a_range: tuple[float, float]) -> Result:
    """alpha_BBP vs a for ``p_star`` (main panel) and vs p at ``INSET_A`` (side panels, with
    the finite-N alpha_0 of ``preset``'s records)."""
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
    result = Result(p_star=p_star, a_range=list(a_range), curves={}, insets={},
                    alpha0_N=crosses["N"])
    for p, curve, minimum in zip(ps, curves, minima, strict=True):
        result.curves[str(p)] = {"a": a_grid.tolist(), "alpha_bbp": [float(v[0]) for v in curve],
                                 "type": [v[1] for v in curve], **minimum}
    for k, a in enumerate(INSET_A):
        points = inset[k * len(inset_p):(k + 1) * len(inset_p)]
        result.insets[str(a)] = {
            "p": inset_p, "alpha_bbp": [float(v[0]) for v in points],
            "type": [v[1] for v in points],
            "alpha0": [c for c in crosses["points"] if math.isclose(c["a"], a)]}
    return result


def plot_alpha_bbp_vs_a(result: Result, saver, name: str, number: str) -> dict:
    """Draw Fig. ``number`` (2 or 6) as ``name``; returns ``{"p_star", "curves", "insets",
    "alpha0_N"}``."""
    p_star, a_range = result.p_star, result.a_range
    fig, main, side = plots.main_and_side(len(result.insets))
    for i, (p, curve) in enumerate(result.curves.items()):
        color = f"C{i % 10}"
        a_grid, alpha = np.asarray(curve["a"]), np.asarray(curve["alpha_bbp"], dtype=float)
        below, above = plots.split_at(a_grid, alpha, curve["a_switch"], curve["alpha_switch"])
        cont_first = curve["type"][0] == "continuous"
        main.plot(*below, color=color, lw=1.6, ls="-" if cont_first else ":", label=f"p={p}")
        main.plot(*above, color=color, lw=1.6, ls=":")
        if np.isfinite(curve["a_min"]):
            main.plot([curve["a_min"]], [curve["alpha_min"]], "o", color=color, ms=5)
        if curve["a_switch"] is not None:
            main.plot([curve["a_switch"]], [curve["alpha_switch"]], "D", mfc="none",
                      color=color, ms=8, mew=1.2)
    a_line = np.linspace(0, a_range[1], 50)
    main.plot(a_line, p_star * (a_line + 1) / 2, "k--", lw=1.4,
              label=r"$p\to\infty$: $p^*(a+1)/2$")
    main.plot([], [], color="0.4", ls="-", label="continuous transition")
    main.plot([], [], color="0.4", ls=":", label="discontinuous transition")
    main.plot([], [], "o", color="0.4", ms=5, label=r"minimum of $\alpha_{BBP}(a)$")
    main.plot([], [], "D", mfc="none", color="0.4", ms=8, label="type switches ($a_c$)")
    for a in result.insets:
        main.axvline(float(a), color="0.85", lw=0.8, zorder=0)
    main.set_xlim(0, a_range[1])
    top = np.nanmax([np.nanmax(np.asarray(c["alpha_bbp"], dtype=float))
                     for c in result.curves.values()])
    main.set_ylim(0, 1.05 * min(top, 2.2 * p_star * (a_range[1] + 1) / 2))
    main.set_xlabel("loss constant $a$")
    main.set_ylabel(r"$\alpha_{BBP}$ ($N=\infty$)")
    main.set_title(f"Fig. {number}  BBP threshold vs a (p*={p_star}, theory at N=" + r"$\infty$"
                   "); grey lines: the a of the panels on the right", fontsize=9)
    plots.legend(main, fontsize=7, ncol=2, loc="lower right")

    for k, (ax, (a, points)) in enumerate(zip(side, result.insets.items(), strict=True)):
        inset_p = points["p"]
        alpha = np.asarray(points["alpha_bbp"], dtype=float)
        ax.plot(inset_p, alpha, color="0.7", lw=0.8, zorder=1)
        for kind, style in plots.TYPE_STYLE.items():
            mask = np.array([t == kind for t in points["type"]], dtype=bool)
            ax.plot(np.asarray(inset_p)[mask], alpha[mask], ls="none", ms=4, zorder=2,
                    **style)
        ax.axhline(p_star * (float(a) + 1) / 2, color="k", ls="--", lw=1.0,
                   label=r"$p\to\infty$")
        mine = points["alpha0"]
        if mine:
            err = np.nan_to_num(np.asarray([c["alpha0_err"] for c in mine], dtype=float))
            ax.errorbar([c["p"] for c in mine], [c["alpha0"] for c in mine], yerr=err,
                        fmt="x", color="m", ms=7, mew=1.5, capsize=2, zorder=3,
                        label=rf"$\alpha_0$, N={result.alpha0_N}")
        wide = result.large_width.get(a)
        if wide:
            err = np.nan_to_num(np.asarray(wide["alpha0_err"], dtype=float))
            ax.errorbar(wide["p"], wide["alpha0"], yerr=err, fmt="+", color="tab:green", ms=8,
                        mew=1.5, capsize=2, zorder=3, label=rf"$\alpha_0$, N={wide['N']}")
            err = np.nan_to_num(np.asarray(wide.get("crossing_err", [math.nan] * len(wide["p"])),
                                           dtype=float))
            ax.errorbar(wide["p"], wide["crossing"], yerr=err, fmt="1", color="tab:red", ms=9,
                        mew=1.5, capsize=2, zorder=3, label="crossing of the two largest N")
        finite = alpha[np.isfinite(alpha)]
        if len(finite):
            ax.set_ylim(0, 1.4 * finite.max())  # alpha_0 > 0 always; alpha_0 < alpha_BBP
        ax.set_xscale("log", base=2)
        ax.set_xticks(inset_p)
        ax.set_xticklabels([str(p) for p in inset_p], fontsize=6)
        ax.set_ylabel(r"$\alpha$", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_title(f"a={a}: " + r"$\alpha_{BBP}$ vs $p$", fontsize=8)
        if k == len(result.insets) - 1:
            ax.set_xlabel("student width $p$", fontsize=8)
        plots.legend(ax, fontsize=6, loc="upper right", ncol=2)
    fig.tight_layout()
    saver.save(fig, name)
    return {"p_star": p_star, "curves": result.curves, "insets": result.insets,
            "alpha0_N": result.alpha0_N, "large_width": result.large_width}


def alpha0_crosses(ctx: Context, preset: str) -> dict:
    """The finite-N alpha_0 of every ``(a, p)`` in ``preset``'s records: ``{"N", "points":
    [{"a", "p", "alpha0", "alpha0_err", "seeds"}, ...]}`` (points whose fit failed left out)."""
    table = ctx.table(preset)
    if not len(table):
        return {"N": None, "points": []}
    points = [{"a": a, "p": p, "alpha0": est["alpha0"], "alpha0_err": est["alpha0_err"],
               "seeds": est["seeds"]}
              for (a, p), est in estimates_by_a_p(table, ctx.settings["n_boot"]).items()
              if np.isfinite(est["alpha0"])]
    return {"N": int(table["config.problem.N"].iloc[0]), "window": list(ALPHA0_WINDOW),
            "points": points}
