"""Extra figure: finite-size effects on where the overlap switches on (not one of the paper's).

p = 2, p* = 1; a = 0.7 (continuous) and a = 1.5 (discontinuous): the crossing (mean m reaches
0.3) and alpha_0 estimates against N^(-2/3) (continuous) or 1/log N (discontinuous), from the
presets ``fig1_overlap`` and ``extra_finite_size`` pooled, with weighted linear extrapolations
and the estimators' own N = infinity values. (alpha_0 vs p is Fig. 4.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bbp_torch import plots, theory
from bbp_torch.estimators import ALPHA0_WINDOW, CROSSING_LEVEL, extrapolate
from bbp_torch.figures.common import A_CONT, A_DISC, P_STAR, Context, P, estimates
from bbp_torch.figures.grids import RUN_KEYS
from bbp_torch.figures.tasks import estimator_limits_task

KEY = "extra_finite_size"
ORDER = 12
NAME = "extra_finite_size"
PRESETS = ("fig1_overlap", "extra_finite_size")
ESTIMATORS = {"crossing": (f"mean m reaches {CROSSING_LEVEL}", "C0"),  # label, colour
              "alpha0": (r"$\alpha_0$: zero of the $m^2$ fit", "C1")}


@dataclass
class Result:
    """The numbers of the figure, one panel per a (keys ``str(a)``): ``panels[a]`` = ``{"N",
    "alpha_bbp", "transition"}`` and per estimator (``crossing``, ``alpha0``) its values per N,
    ``<name>_err``, ``<name>_extrapolated`` (the intercept of the weighted line against the
    panel's scale of N) and ``<name>_theory`` (the estimator on the N = infinity curve);
    ``slopes[a][name]``: the slope of that line."""

    panels: dict[str, dict]
    slopes: dict[str, dict]


def scale(transition: str):
    """The x axis of a panel: ``(N -> x, label)``, N^(-2/3) if continuous, else 1/log N."""
    if transition == "continuous":
        return (lambda n: n ** (-2 / 3)), r"$N^{-2/3}$"
    return (lambda n: 1 / np.log(n)), r"$1/\log N$"


def compute(ctx: Context) -> Result:
    """Both estimators per N (the two presets' records pooled, one run per config), their
    extrapolations and their N = infinity values."""
    table = pd.concat([ctx.table(name) for name in PRESETS], ignore_index=True)
    if len(table):
        table = table.drop_duplicates(subset=[f"config.{k}" for k in RUN_KEYS])
    limits = ctx.map(estimator_limits_task, [(P, P_STAR, a, CROSSING_LEVEL, ALPHA0_WINDOW)
                                             for a in (A_CONT, A_DISC)])
    result = Result(panels={}, slopes={})
    for a, (cross_inf, alpha0_inf) in zip((A_CONT, A_DISC), limits, strict=True):
        kind = theory.transition_type(P, P_STAR, a)
        to_x, _ = scale(kind)
        sizes = sorted(int(n) for n in table[np.isclose(table["config.problem.a"], a)]
                       ["config.problem.N"].unique()) if len(table) else []
        rows = [estimates(table, {"config.problem.a": a, "config.problem.N": n},
                          ctx.settings["n_boot"]) for n in sizes]
        x = np.array([to_x(n) for n in sizes], dtype=float)
        entry = {"N": sizes, "alpha_bbp": theory.alpha_bbp(P, P_STAR, a), "transition": kind}
        slopes = {}
        for name, inf in (("crossing", cross_inf), ("alpha0", alpha0_inf)):
            y = np.array([r[name] for r in rows], dtype=float)
            err = np.array([r[f"{name}_err"] for r in rows], dtype=float)
            y_inf, slopes[name] = extrapolate(x, y, err)
            entry.update({name: y.tolist(), f"{name}_err": err.tolist(),
                          f"{name}_extrapolated": y_inf, f"{name}_theory": inf})
        result.panels[str(a)] = entry
        result.slopes[str(a)] = slopes
    return result


def plot(result: Result, saver) -> dict:
    """Draw the finite-size figure; returns ``{a: extrapolations}``."""
    fig, axes = plots.figure(1, 2, width=5.0, height=5.4)
    for ax, (a, entry) in zip(axes[0], result.panels.items(), strict=True):
        kind, a_bbp, sizes = entry["transition"], entry["alpha_bbp"], entry["N"]
        to_x, xlabel = scale(kind)
        x = np.array([to_x(n) for n in sizes], dtype=float)
        for name, (label, color) in ESTIMATORS.items():
            y = np.asarray(entry[name], dtype=float)
            ax.errorbar(x, y, yerr=np.asarray(entry[f"{name}_err"], dtype=float), fmt="o",
                        color=color, capsize=2, label=label)
            for xi, yi, n in zip(x, y, sizes, strict=True):
                if np.isfinite(yi):
                    ax.annotate(f"{n}", (xi, yi), fontsize=6, xytext=(3, 3),
                                textcoords="offset points")
            y_inf, slope = entry[f"{name}_extrapolated"], result.slopes[a][name]
            if np.isfinite(y_inf):
                xs = np.linspace(0, x.max(), 20)
                ax.plot(xs, y_inf + slope * xs, color=color, lw=1.0, ls="--",
                        label=f"linear extrapolation: {y_inf:.3f}")
            inf = entry[f"{name}_theory"]
            ax.plot([0], [inf], "*", ms=11, color=color, mec="k",
                    label=rf"same estimator at $N=\infty$: {inf:.3f}")
        ax.axhline(a_bbp, color="k", ls=":", lw=1.0, label=rf"$\alpha_{{BBP}}={a_bbp:.3f}$")
        ax.set_xlim(left=-0.04 * (x.max() if len(x) else 1.0))  # the N = infinity stars show
        ax.set_ylim(0, 2 * a_bbp)
        ax.set_xlabel(xlabel + " (numbers: N)")
        ax.set_ylabel(r"onset $\alpha$")
        ax.set_title(f"{plots.params_text(p=P, p_star=P_STAR, a=float(a))}: {kind}", fontsize=9)
        plots.legend(ax, fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    fig.suptitle("Finite-size effects: where the overlap switches on as N grows", fontsize=10)
    fig.tight_layout()
    saver.save(fig, NAME)
    return result.panels


def draw(ctx: Context) -> dict:
    """Draw the finite-size figure (its numbers written to tables/); returns its summary."""
    return plot(ctx.result(NAME, compute, Result, PRESETS), ctx.saver)
