"""Extra figure: the type of the BBP transition in the (a, p) plane (theory at N = infinity).

Blue: continuous (square-root edge, the overlap grows from 0); orange: discontinuous (smooth
edge, the overlap jumps). p = infinity is the last row; markers show the cases of Fig. 1
(p = 2) and of Figs. 3, 9 and 10 (p = 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bbp_torch import plots, theory
from bbp_torch.figures.common import A1_CONT, A1_DISC, A_CONT, A_DISC, P_STAR, Context
from bbp_torch.figures.cost import THEORY_CALL_S
from bbp_torch.figures.tasks import threshold_task

KEY = "extra_phase_diagram"
ORDER = 11
NAME = "extra_phase_diagram"
PRESETS = ()


def side_seconds(s: dict) -> float:
    """Theory seconds: one transition type per cell (p = infinity included)."""
    return (len(s["phase_p"]) + 1) * len(s["phase_a"]) * THEORY_CALL_S


# The cases of the paper's figures, marked on the diagram: (p, a, marker, where).
CASES = ((2, A_CONT, "*", "Fig. 1"), (2, A_DISC, "P", "Fig. 1"),
         (1, A1_CONT, "*", "Figs. 3, 9"), (1, A1_DISC, "P", "Figs. 3, 10"))
CODE = {"continuous": 1.0, "discontinuous": 0.0}  # the colour of a cell; NaN: the solve failed


@dataclass
class Result:
    """The numbers of the phase diagram: the type per (p, a) cell (``type[i][j]`` at ``p[i]``,
    ``a[j]``; p = infinity last), the boundary a per p, the failed cells and the marked cases
    (``{"p", "a", "marker", "where", "type"}``)."""

    p: list[float]
    a: list[float]
    type: list[list[str]]
    boundary_a_by_p: dict[str, float]
    errors: int
    cases: list[dict]


def compute(ctx: Context) -> Result:
    """The transition type on the mode's (a, p) grid, and the boundary between the types."""
    s = ctx.settings
    ps = list(s["phase_p"]) + [math.inf]
    a_values = [float(a) for a in s["phase_a"]]
    results = ctx.map(threshold_task, [(p, P_STAR, a) for p in ps for a in a_values])
    kinds = [[kind for _, kind in results[i * len(a_values):(i + 1) * len(a_values)]]
             for i in range(len(ps))]
    boundary = {}
    for p, row in zip(ps, kinds, strict=True):
        cont = [a for a, kind in zip(a_values, row, strict=True) if kind == "continuous"]
        disc = [a for a, kind in zip(a_values, row, strict=True) if kind == "discontinuous"]
        if cont and disc and max(cont) < min(disc):
            boundary[str(p)] = (max(cont) + min(disc)) / 2
    cases = [{"p": p, "a": a, "marker": marker, "where": where,
              "type": theory.transition_type(p, P_STAR, a)}
             for p, a, marker, where in CASES if p in ps and a_values[0] <= a <= a_values[-1]]
    errors = sum(kind not in CODE for row in kinds for kind in row)
    return Result(ps, a_values, kinds, boundary, errors, cases)


def plot(result: Result, saver) -> dict:
    """Draw the phase diagram; returns ``{"boundary_a_by_p": {p: a}, "errors": failures}``."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    ps, a_values = result.p, np.asarray(result.a, dtype=float)
    grid = np.array([[CODE.get(kind, np.nan) for kind in row] for row in result.type])
    a_edges = np.r_[a_values[0] - (a_values[1] - a_values[0]) / 2 if len(a_values) > 1
                    else a_values[0] - 0.05,
                    (a_values[1:] + a_values[:-1]) / 2,
                    a_values[-1] + ((a_values[-1] - a_values[-2]) / 2 if len(a_values) > 1
                                    else 0.05)]
    fig, axes = plots.figure(1, 1, width=6.5, height=4.6)
    ax = axes[0, 0]
    cmap = ListedColormap(["#f4a582", "#92c5de"])
    ax.pcolormesh(a_edges, np.arange(len(ps) + 1) - 0.5, grid, cmap=cmap, vmin=0, vmax=1,
                  shading="flat")
    ax.set_yticks(range(len(ps)))
    ax.set_yticklabels([str(p) if math.isfinite(p) else r"$\infty$" for p in ps])
    handles = [Patch(color=cmap(1.0), label="continuous (square-root edge)"),
               Patch(color=cmap(0.0), label="discontinuous (smooth edge, overlap jumps)")]
    for case in result.cases:
        handles.append(ax.plot([case["a"]], [ps.index(case["p"])], case["marker"], ms=11,
                               color="k", ls="none",
                               label=f"p={case['p']}, a={case['a']}: {case['type']} "
                                     f"({case['where']})")[0])
    ax.legend(handles=handles, fontsize=7, loc="upper right", framealpha=0.9, markerscale=0.6)
    ax.set_xlabel("loss constant $a$")
    ax.set_ylabel("student width $p$")
    ax.set_title(f"Type of the BBP transition in the (a, p) plane (p*={P_STAR}, "
                 r"theory at $N=\infty$)", fontsize=9)
    fig.tight_layout()
    saver.save(fig, NAME)
    return {"boundary_a_by_p": result.boundary_a_by_p, "errors": result.errors}


def draw(ctx: Context) -> dict:
    """Draw the phase diagram (its numbers written to tables/); returns its summary."""
    return plot(ctx.result(NAME, compute, Result, PRESETS), ctx.saver)
