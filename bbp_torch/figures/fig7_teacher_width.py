"""Fig. 7: an under-parametrized student, p = 1: alpha_BBP vs a for p* = 1, 2, 3, 4 (theory).

Left: alpha_BBP(a) at N = infinity, one curve per teacher width p*, solid where the transition
is continuous and dotted where it is discontinuous, a diamond where its type switches (log-log
axes: a_c grows from 1.1 at p* = 1 to 17.8 at p* = 4). For p* >= 3 the curve is not smallest at
the switch: it has a maximum inside the continuous range.
Right: alpha_BBP vs p* at three a, points coloured by type: the threshold grows with the
teacher's width.
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass
class Result:
    """The numbers of Fig. 7: ``curves[p*]`` = ``{"a", "alpha_bbp", "type", "a_switch",
    "alpha_switch"}`` (left), ``points[a]`` = ``{"p_star", "alpha_bbp", "type"}`` (right)."""

    curves: dict[str, dict]
    points: dict[str, dict]


def compute(ctx: Context) -> Result:
    """The theory of Fig. 7 in the mode's grid."""
    s = ctx.settings
    p_stars = list(s["fig7_p_star"])
    a_grid = np.geomspace(*A_RANGE, s["fig7_a_points"]).tolist()
    curves = ctx.map(alpha_bbp_curve_task, [(P, q, a_grid) for q in p_stars])
    switches = ctx.map(type_switch_task, [(P, q) for q in p_stars])
    side = ctx.map(threshold_task, [(P, q, a) for a in INSET_A for q in p_stars])
    n = len(p_stars)
    rows = {str(a): side[k * n:(k + 1) * n] for k, a in enumerate(INSET_A)}
    return Result(
        curves={str(q): {"a": a_grid, "alpha_bbp": [float(v[0]) for v in curve],
                         "type": [v[1] for v in curve], **switch}
                for q, curve, switch in zip(p_stars, curves, switches, strict=True)},
        points={a: {"p_star": p_stars, "alpha_bbp": [float(v[0]) for v in row],
                    "type": [v[1] for v in row]} for a, row in rows.items()})


def plot(result: Result, saver) -> dict:
    """Draw Fig. 7 from its numbers; returns them for the summary (``{p*: curve}`` and
    ``{"a=<a>": points}``)."""
    fig, axes = plots.figure(1, 2, width=5.4, height=4.4)
    left, right = axes[0]
    for i, (q, curve) in enumerate(result.curves.items()):
        color = f"C{i}"
        a_grid, alpha = np.asarray(curve["a"]), np.asarray(curve["alpha_bbp"])
        below, above = plots.split_at(a_grid, alpha, curve["a_switch"], curve["alpha_switch"])
        left.plot(*below, color=color, lw=1.6,
                  ls="-" if curve["type"][0] == "continuous" else ":", label=f"p*={q}")
        left.plot(*above, color=color, lw=1.6, ls=":")
        if curve["a_switch"] is not None:
            left.plot([curve["a_switch"]], [curve["alpha_switch"]], "D", mfc="none",
                      color=color, ms=8, mew=1.2)
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

    p_stars = []
    for k, (a, points) in enumerate(result.points.items()):
        p_stars = np.asarray(points["p_star"])
        alpha = np.asarray(points["alpha_bbp"])
        right.plot(p_stars, alpha, color=f"C{k + 4}", lw=1.0, label=f"a={a}")
        for kind, style in plots.TYPE_STYLE.items():
            mask = np.array([t == kind for t in points["type"]], dtype=bool)
            right.plot(p_stars[mask], alpha[mask], ls="none", ms=5, **{**style, "label": None})
    for style in plots.TYPE_STYLE.values():
        right.plot([], [], ls="none", ms=5, **style)
    right.set_xticks(p_stars)
    right.set_xlabel("teacher width $p^*$")
    right.set_ylabel(r"$\alpha_{BBP}$ ($N=\infty$)")
    right.set_title(rf"$\alpha_{{BBP}}$ vs $p^*$ at p={P} (markers: the type)", fontsize=9)
    plots.legend(right, fontsize=7, loc="upper left")
    fig.tight_layout()
    saver.save(fig, NAME)
    return {**result.curves, **{f"a={a}": points for a, points in result.points.items()}}


def draw(ctx: Context) -> dict:
    """Draw Fig. 7 (its numbers written to tables/); returns them for the summary."""
    return plot(ctx.result(NAME, compute, Result, PRESETS), ctx.saver)
