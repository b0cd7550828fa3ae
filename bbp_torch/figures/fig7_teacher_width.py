"""Fig. 7: an under-parametrized student, p = 1: alpha_BBP vs a for p* = 1, 2, 3, 4 (theory).

Left: alpha_BBP(a) at N = infinity, one curve per teacher width p*, solid where the transition
is continuous and dotted where it is discontinuous, a diamond where its type switches (log-log
axes: a_c grows from 1.1 at p* = 1 to 17.8 at p* = 4). For p* >= 3 the curve is not smallest at
the switch: it has a maximum inside the continuous range.
Right: alpha_BBP vs p* at three a, points coloured by type: the threshold grows with the
teacher's width.
"""

from __future__ import annotations

import numpy as np

from bbp_torch import plots
from bbp_torch.figures.common import INSET_A, Context
from bbp_torch.figures.cost import THEORY_CALL_S, minimum_calls
from bbp_torch.figures.tasks import alpha_bbp_curve_task, threshold_task, type_switch_task

KEY = "fig7"
ORDER = 6
NAME = "fig7_alpha_bbp_vs_a_p1"
PRESETS = ()
P = 1
A_RANGE = (0.05, 40.0)


def side_seconds(s: dict) -> float:
    """Theory seconds: every curve with its minimum and the three points of the right panel."""
    return len(s["fig7_p_star"]) * (s["fig7_a_points"] + minimum_calls(s) + 3) * THEORY_CALL_S


def draw(ctx: Context) -> dict:
    """Draw Fig. 7; returns ``{p*: {"a", "alpha_bbp", "type", "a_switch", "alpha_switch"}}`` and
    the points of the right panel."""
    s = ctx.settings
    p_stars = list(s["fig7_p_star"])
    a_grid = np.geomspace(*A_RANGE, s["fig7_a_points"])
    curves = ctx.map(alpha_bbp_curve_task, [(P, q, a_grid) for q in p_stars])
    switches = ctx.map(type_switch_task, [(P, q) for q in p_stars])
    side = ctx.map(threshold_task, [(P, q, a) for a in INSET_A for q in p_stars])

    fig, axes = plots.figure(1, 2, width=5.4, height=4.4)
    left, right = axes[0]
    info = {}
    for i, (q, curve, switch) in enumerate(zip(p_stars, curves, switches, strict=True)):
        color = f"C{i}"
        alpha = np.array([v[0] for v in curve])
        kinds = [v[1] for v in curve]
        below, above = plots.split_at(a_grid, alpha, switch["a_switch"], switch["alpha_switch"])
        left.plot(*below, color=color, lw=1.6, ls="-" if kinds[0] == "continuous" else ":",
                  label=f"p*={q}")
        left.plot(*above, color=color, lw=1.6, ls=":")
        if switch["a_switch"] is not None:
            left.plot([switch["a_switch"]], [switch["alpha_switch"]], "D", mfc="none",
                      color=color, ms=8, mew=1.2)
        info[str(q)] = {"a": a_grid.tolist(), "alpha_bbp": alpha.tolist(), "type": kinds,
                        **switch}
    left.plot([], [], color="0.4", ls="-", label="continuous")
    left.plot([], [], color="0.4", ls=":", label="discontinuous")
    left.plot([], [], "D", mfc="none", color="0.4", ms=8, label="type switches")
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("loss constant $a$")
    left.set_ylabel(r"$\alpha_{BBP}$ ($N=\infty$)")
    left.set_title(f"Fig. 7  under-parametrized student: p={P}, growing teacher width p*",
                   fontsize=9)
    plots.legend(left, fontsize=7, ncol=2, loc="upper left")

    for k, a in enumerate(INSET_A):
        points = side[k * len(p_stars):(k + 1) * len(p_stars)]
        alpha = np.array([v[0] for v in points])
        right.plot(p_stars, alpha, color=f"C{k + 4}", lw=1.0, label=f"a={a}")
        for kind, style in plots.TYPE_STYLE.items():
            mask = np.array([v[1] == kind for v in points])
            right.plot(np.asarray(p_stars)[mask], alpha[mask], ls="none", ms=5,
                       **{**style, "label": None})
        info[f"a={a}"] = {"p_star": list(p_stars), "alpha_bbp": alpha.tolist(),
                          "type": [v[1] for v in points]}
    for style in plots.TYPE_STYLE.values():
        right.plot([], [], ls="none", ms=5, **style)
    right.set_xticks(p_stars)
    right.set_xlabel("teacher width $p^*$")
    right.set_ylabel(r"$\alpha_{BBP}$ ($N=\infty$)")
    right.set_title(rf"$\alpha_{{BBP}}$ vs $p^*$ at p={P} (markers: the type)", fontsize=9)
    plots.legend(right, fontsize=7, loc="upper left")
    fig.tight_layout()
    ctx.saver.save(fig, NAME)
    return info
