"""Fig. 9: gradient descent from the random initialization, a continuous case (p = p* = 1, a = 0.5).

The largest squared teacher overlap reached during the descent, ``metrics.max_gram_overlap`` of the
``bbp-train`` records (the Gram overlap q over the tracked steps; for p = p* = 1 it is
m^2 = (w.w*/N)^2), against alpha: mean ± standard error over seeds at several N (preset
``fig9_gd_continuous``), alpha_BBP at initialization (dashed), and in grey the squared overlap
of the bottom Hessian eigenvector at the initialization (largest N), the BBP observable itself.

The onset of recovery (:func:`gd_onset`): below it the largest m^2 is O(1/N), above it O(1), so
each descent recovers the teacher (reaches m^2 >= 1/2) or not. Per N the onset is where half
the seeds recover (the center of a logistic fit of the recovered fraction,
:func:`bbp_torch.estimators.recovery_onset`, bootstrap error over seeds), and its N = infinity
value the fit of the onsets in ``1/log N``
(:func:`bbp_torch.estimators.extrapolate_onset`); the right panel shows that extrapolation
next to alpha_BBP. The level-1/2 number of the mean curve is kept beside it. The summary file
holds the numbers under ``gd_onset`` (per preset). :func:`gd_onset` and :func:`plot_gd` also
make Fig. 10.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from bbp_torch import plots, theory
from bbp_torch.estimators import (
    ONSET_LAW,
    extrapolate_onset,
    recovery_crossing,
    recovery_onset,
)
from bbp_torch.figures.common import Context, mean_curve, samples

KEY = "fig9"
ORDER = 8
NAME = "fig9_gd_continuous"
PRESETS = ("fig9_gd_continuous",)


@dataclass
class Onset:
    """The curves and the onset of recovery of one descent preset (:func:`gd_onset`).

    ``N``: the sizes; ``curves[str(N)]`` = ``{"alpha", "mean", "sem", "fraction"}`` (the largest
    m^2 over seeds, the recovered fraction); ``per_N[str(N)]``: :func:`~bbp_torch.estimators.
    recovery_onset` with ``not_ok`` (runs of the grid without an ok record: diverged descents,
    failures); ``crossings["N1-N2"]``: :func:`~bbp_torch.estimators.recovery_crossing`;
    ``extrapolated``: :func:`~bbp_torch.estimators.extrapolate_onset`; ``init``: ``{"N", "alpha",
    "m2"}``, the bottom eigenvector's m^2 at init (largest N), or None; ``seeds``/``seeds_max``:
    the fewest/most seeds of a point."""

    preset: str
    p: int
    p_star: int
    a: float
    alpha_bbp: float | None
    transition: str
    method: str
    lr: float
    steps: int
    N: list[int]
    curves: dict[str, dict]
    per_N: dict[str, dict]
    crossings: dict[str, dict]
    extrapolated: dict
    init: dict | None
    seeds: int
    seeds_max: int

    def numbers(self) -> dict:
        """Every field but the curves: the summary's ``gd_onset[preset]``."""
        return {k: v for k, v in asdict(self).items() if k not in ("curves", "init")}


Result = Onset  # the numbers of Figs. 9 and 10


def compute(ctx: Context) -> Result:
    """The onset of recovery of preset ``fig9_gd_continuous``."""
    return gd_onset(ctx, PRESETS[0])


def plot(result: Result, saver) -> dict:
    """Draw Fig. 9; returns what :func:`plot_gd` returns."""
    return plot_gd(result, saver, NAME, "9")


def draw(ctx: Context) -> dict:
    """Draw Fig. 9 (its numbers written to tables/ and to the summary's ``gd_onset``)."""
    result = ctx.result(NAME, compute, Result, PRESETS)
    note_onsets(ctx, [result])
    return plot(result, ctx.saver)


def note_onsets(ctx: Context, onsets: list[Onset]) -> None:
    """Store each onset's numbers in ``ctx.summary["gd_onset"][preset]``."""
    ctx.summary.setdefault("gd_onset", {}).update({o.preset: o.numbers() for o in onsets})


def gd_onset(ctx: Context, preset: str) -> Onset:
    """The curves and the onset of recovery of one descent preset (its records in this mode)."""
    table = ctx.table(preset)
    _, base, swept = ctx.grid(preset)
    pr, tr = base["problem"], base["train"]
    p, p_star, a = int(pr["p"]), int(pr["p_star"]), float(pr["a"])
    threshold = theory.threshold(p, p_star, a)
    sizes = sorted(int(n) for n in table["config.problem.N"].unique()) if len(table) else []
    curves, per_N, crossings, per_size, counts = {}, {}, {}, {}, []
    grid_runs = len(swept.get("problem.alpha", [0])) * len(swept.get("seed", [0]))
    for N in sizes:
        alphas, best = samples(table, {"config.problem.N": N}, "metrics.max_gram_overlap")
        x, y, err = mean_curve(alphas, best)
        onset = recovery_onset(alphas, best, ctx.settings["n_boot"])
        per_size[N] = (alphas, best)
        counts += [len(v) for v in best]
        curves[str(N)] = {"alpha": x.tolist(), "mean": y.tolist(), "sem": err.tolist(),
                          "fraction": onset["fraction"]}
        per_N[str(N)] = {k: v for k, v in onset.items() if k != "fraction"}
        # runs of the grid without an ok record: diverged descents (an unstable step), failures
        per_N[str(N)]["not_ok"] = grid_runs - int(sum(len(v) for v in best))
    for small, large in zip(sizes[:-1], sizes[1:], strict=True):
        (alphas, s), (alphas_l, big) = per_size[small], per_size[large]
        if len(alphas) == len(alphas_l) and np.allclose(alphas, alphas_l):
            crossings[f"{small}-{large}"] = recovery_crossing(alphas, s, big,
                                                              ctx.settings["n_boot"])
    init = None
    if sizes and "metrics.init.overlap" in table:
        alphas, m = samples(table, {"config.problem.N": sizes[-1]}, "metrics.init.overlap")
        x, y, _ = mean_curve(alphas, [v**2 for v in m])
        init = {"N": sizes[-1], "alpha": x.tolist(), "m2": y.tolist()}
    return Onset(
        preset=preset, p=p, p_star=p_star, a=a, alpha_bbp=threshold["alpha_bbp"],
        transition=threshold.get("transition_type", "unknown"), method=tr["method"],
        lr=float(tr["lr"]), steps=int(tr["steps"]), N=sizes, curves=curves, per_N=per_N,
        crossings=crossings,
        extrapolated=extrapolate_onset(sizes, [per_N[str(N)]["value"] for N in sizes],
                                       [per_N[str(N)]["err"] for N in sizes]),
        init=init, seeds=min(counts, default=0), seeds_max=max(counts, default=0))


def _fmt(value: float, err: float) -> str:
    if not math.isfinite(value):
        return "none"
    return f"{value:.2f} ± {err:.2f}" if math.isfinite(err) else f"{value:.2f}"


def plot_curves(ax, onset: Onset, show_init: bool = True) -> None:
    """The mean largest m^2 against alpha per N, alpha_BBP and the extrapolated onset."""
    for i, (N, c) in enumerate(onset.curves.items()):
        ax.errorbar(c["alpha"], c["mean"], yerr=c["sem"], fmt="o-", ms=3, lw=1.0, capsize=2,
                    color=plots.SIZE_COLORS[i % len(plots.SIZE_COLORS)], label=f"N={N}")
    if show_init and onset.init:
        init = onset.init
        ax.plot(init["alpha"], init["m2"], "--", color="0.55", lw=1.2,
                label=f"$m^2$ of the bottom Hessian eigenvector at init (N={init['N']})")
    a_bbp = onset.alpha_bbp
    plots.vline(ax, a_bbp, rf"$\alpha_{{BBP}}={a_bbp:.3f}$ at init" if a_bbp else None)
    ext = onset.extrapolated
    if math.isfinite(ext["value"]):
        err = ext["err"] if math.isfinite(ext["err"]) else 0.0
        ax.axvspan(ext["value"] - err, ext["value"] + err, color="tab:red", alpha=0.15, lw=0,
                   label=rf"GD onset, $N\to\infty$ ({ONSET_LAW}): {_fmt(ext['value'], err)}")
    grid = [x for c in onset.curves.values() for x in c["alpha"]]
    if grid:  # an extrapolation far outside the grid does not rescale the axes
        ax.set_xlim(min(min(grid), a_bbp or min(grid)) - 0.15, max(grid) + 0.15)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(r"data ratio $\alpha = M/N$")
    ax.set_ylabel(r"largest $m^2$ reached by gradient descent")


def plot_extrapolation(ax, onsets: list[Onset], relative: bool = False,
                       labels: list[str] | None = None) -> None:
    """The finite-N onsets against ``1/log N`` with their fitted line to N = infinity, one
    colour per preset (legend ``labels``); ``relative`` divides by each preset's alpha_BBP (the
    dashed line at 1)."""
    for i, onset in enumerate(onsets):
        scale = onset.alpha_bbp if relative and onset.alpha_bbp else 1.0
        x = [1 / math.log(N) for N in onset.N]
        y = [onset.per_N[str(N)]["value"] / scale for N in onset.N]
        e = [onset.per_N[str(N)]["err"] / scale for N in onset.N]
        color = plots.SIZE_COLORS[i % len(plots.SIZE_COLORS)] if relative else "tab:blue"
        label = labels[i] if labels else "onset per N (half the seeds recover)"
        ax.errorbar(x, y, yerr=np.nan_to_num(e), fmt="o", ms=4, capsize=2, color=color,
                    label=label)
        ext = onset.extrapolated
        if math.isfinite(ext["value"]):
            xs = np.linspace(0, max(x), 20)
            ax.plot(xs, (ext["value"] + ext["slope"] * xs) / scale, "-", lw=0.9, color=color)
            ax.errorbar([0], [ext["value"] / scale], yerr=[np.nan_to_num(ext["err"]) / scale],
                        fmt="s", ms=5, capsize=3, color=color)
        if not relative and onset.alpha_bbp:
            ax.axhline(onset.alpha_bbp, ls="--", color="k", lw=1.0,
                       label=r"$\alpha_{BBP}$ at init")
            levels = [onset.per_N[str(N)]["level_half"] for N in onset.N]
            ax.plot(x, levels, "x", color="0.4", label=r"mean largest $m^2$ reaches 1/2")
    if relative:
        ax.axhline(1.0, ls="--", color="k", lw=1.0, label=r"$\alpha_{BBP}$ at init")
    ax.set_xlim(left=-0.005)
    ax.set_xlabel(r"$1/\log N$  ($N = \infty$ at 0)")
    ax.set_ylabel(r"onset $/\ \alpha_{BBP}$" if relative else r"onset of recovery $\alpha$")


def plot_gd(onset: Onset, saver, name: str, number: str) -> dict:
    """The largest m^2 reached by GD vs alpha, and the onset of recovery per N extrapolated
    to N = infinity, saved as ``name``; returns the onset's numbers with its curves."""
    fig, axes = plots.figure(1, 2, width=6.0, height=4.6)
    left, right = axes[0, 0], axes[0, 1]
    plot_curves(left, onset)
    params = plots.params_text(p=onset.p, p_star=onset.p_star, a=onset.a)
    not_ok = sum(v["not_ok"] for v in onset.per_N.values())
    left.set_title(f"Fig. {number}  GD from the random init: {params} ({onset.transition})\n"
                   f"{onset.method}, lr={onset.lr}, at most {onset.steps} steps, "
                   f"mean ± s.e. over {onset.seeds}-{onset.seeds_max} seeds "
                   f"({not_ok} diverged runs left out)", fontsize=9)
    plots.legend(left, fontsize=7, loc="upper left")
    if onset.N:
        plot_extrapolation(right, [onset])
        lines = [f"N={N}: {_fmt(v['value'], v['err'])}" for N, v in onset.per_N.items()]
        ext = onset.extrapolated
        plots.note(right, "half the seeds recover at\n" + "\n".join(lines)
                   + f"\nN=inf ({ONSET_LAW}): {_fmt(ext['value'], ext['err'])}, "
                   f"chi2/dof {ext['chi2_dof']:.1f}", loc="lower right")
        plots.legend(right, fontsize=7, loc="upper left")
    right.set_title("onset of recovery by descent against N", fontsize=9)
    fig.tight_layout()
    saver.save(fig, name)
    return {**onset.numbers(), "curves": onset.curves}
