"""Extra figure: the time-dependent BBP, the Hessian along gradient descent (p = p* = 1, a = 0.5).

One N and three alpha (preset ``extra_gd_hessian``): below alpha_BBP, between alpha_BBP and
the onset of recovery by descent, above that onset. One column per alpha, against time
(``lr * step``, log scale), every seed a thin line and the median thick (while every seed's
descent runs):

1. the student's teacher overlap m^2 (``series.gram_overlap``, q = m^2 for p = 1);
2. the bottom eigenvalue ``lambda_min`` and the bulk-edge estimate ``lambda_edge`` of the
   Riemannian Hessian on the tangent space of the sphere at the current student (the landscape
   the descent sees); an outlier is a bottom eigenvalue below the edge;
3. the squared teacher overlap of its bottom eigenvector (``eigvec_overlap``^2): an
   informative outlier has it O(1), a bulk eigenvector O(1/N).

It shows whether the states where the descent stalls still have an informative outlier
(negative, below the edge, pointing at the teacher: the descent would leave along it) or not
(a stable minimum: every eigenvalue positive). The summary holds, per alpha, the medians at the
last tracked step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bbp_torch import plots, theory
from bbp_torch.figures.common import Context

KEY = "extra_gd_hessian"
ORDER = 15
NAME = "extra_gd_hessian"
PRESETS = ("extra_gd_hessian",)
SERIES = ("step", "time", "gram_overlap", "lambda_min", "lambda_edge", "eigvec_overlap",
          "eigvec_gradient_overlap", "train_loss")
DRAWN = ("gram_overlap", "lambda_min", "lambda_edge", "eigvec_overlap")  # the series of the panels
FINALS = (*DRAWN, "eigvec_gradient_overlap")  # their medians at the last step, in the summary


@dataclass
class Result:
    """The numbers of the figure, one column per alpha (keys ``str(alpha)``): ``runs[alpha]`` =
    one ``{"seed", "time", *DRAWN}`` per seed (lists over its tracked steps), ``medians[alpha]
    [key]`` = ``{"time", "value"}`` (the median over seeds while every seed runs), ``finals
    [alpha]``: the medians at the last tracked step (:data:`FINALS`), the fractions of seeds with
    an outlier (``lambda_min < lambda_edge``) and with a negative ``lambda_min`` there, and the
    seeds; the preset's p, p*, a, alpha_BBP and N (None without records)."""

    p: int
    p_star: int
    a: float
    alpha_bbp: float | None
    N: int | None
    runs: dict[str, list[dict]]
    medians: dict[str, dict]
    finals: dict[str, dict]


def series_table(table):
    """One row per run and tracked step with a Hessian: ``alpha``, ``seed``, ``N`` and
    :data:`SERIES` (from the records' ``metrics.series.*`` lists)."""
    import pandas as pd

    rows = []
    for _, run in table.iterrows():
        cols = {key: run.get(f"metrics.series.{key}") for key in SERIES}
        if not isinstance(cols["step"], list):
            continue
        for i in range(len(cols["step"])):
            if cols["lambda_min"][i] is None:
                continue
            rows.append({"alpha": float(run["config.problem.alpha"]),
                         "seed": int(run["config.seed"]), "N": int(run["config.problem.N"]),
                         **{key: cols[key][i] for key in SERIES}})
    return pd.DataFrame(rows, columns=["alpha", "seed", "N", *SERIES])


def _median_by_time(frame, key: str) -> dict:
    """``{"time", "value"}``: the median over seeds at each tracked time, while every seed's
    descent still runs."""
    grouped = frame.astype({key: float}).groupby("time")[key]
    everyone = grouped.count() == frame["seed"].nunique()
    median = grouped.median()[everyone]
    return {"time": median.index.to_numpy(dtype=float).tolist(),
            "value": median.to_numpy(dtype=float).tolist()}


def compute(ctx: Context) -> Result:
    """The tracked series of preset ``extra_gd_hessian``'s records per alpha and seed, their
    medians over seeds and the medians at the last tracked step."""
    table = ctx.table(PRESETS[0])
    _, base, _ = ctx.grid(PRESETS[0])
    pr = base["problem"]
    p, p_star, a = int(pr["p"]), int(pr["p_star"]), float(pr["a"])
    result = Result(p=p, p_star=p_star, a=a, alpha_bbp=theory.threshold(p, p_star, a)["alpha_bbp"],
                    N=None, runs={}, medians={}, finals={})
    if not len(table) or "metrics.series.step" not in table:
        return result
    series = series_table(table)
    for alpha in sorted(series["alpha"].unique()):
        sub = series[np.isclose(series["alpha"], alpha)]
        result.N = int(sub["N"].iloc[0])
        key = str(float(alpha))
        result.runs[key] = [
            {"seed": int(seed), "time": run["time"].astype(float).tolist(),
             **{k: run[k].astype(float).tolist() for k in DRAWN}}
            for seed, run in sub.groupby("seed")]
        result.medians[key] = {k: _median_by_time(sub, k) for k in DRAWN}
        last = sub.sort_values("step").groupby("seed").tail(1)
        lam, edge = last["lambda_min"].astype(float), last["lambda_edge"].astype(float)
        result.finals[key] = {
            **{k: float(last[k].astype(float).median()) for k in FINALS},
            "outlier_fraction": float((lam < edge).mean()),
            "negative_fraction": float((lam < 0).mean()), "seeds": int(sub["seed"].nunique())}
    return result


def plot(result: Result, saver) -> dict:
    """Draw the figure; returns the N, alpha_BBP and, per alpha, the medians at the last
    tracked step."""
    a_bbp = result.alpha_bbp
    fig, axes = plots.figure(3, max(1, len(result.runs)), width=3.6, height=2.4)
    for j, (alpha, runs) in enumerate(result.runs.items()):
        top, mid, bottom = axes[0, j], axes[1, j], axes[2, j]
        for run in runs:
            t = run["time"]
            top.plot(t, run["gram_overlap"], color="tab:blue", lw=0.6, alpha=0.5)
            mid.plot(t, run["lambda_min"], color="tab:red", lw=0.6, alpha=0.5)
            mid.plot(t, run["lambda_edge"], color="0.5", lw=0.6, alpha=0.5)
            bottom.plot(t, np.square(run["eigvec_overlap"]), color="tab:green", lw=0.6,
                        alpha=0.5)
        medians = result.medians[alpha]
        for ax, key, color, transform in ((top, "gram_overlap", "tab:blue", None),
                                          (mid, "lambda_min", "tab:red", None),
                                          (mid, "lambda_edge", "0.3", None),
                                          (bottom, "eigvec_overlap", "tab:green", np.square)):
            med = np.asarray(medians[key]["value"], dtype=float)
            ax.plot(medians[key]["time"], transform(med) if transform else med, color=color,
                    lw=2.0)
        mid.axhline(0.0, color="k", lw=0.6)
        mid.set_yscale("symlog", linthresh=0.05)  # the init's large shift and the late O(0.1)
        finals = result.finals[alpha]
        where = ("below" if float(alpha) < a_bbp else "above") + rf" $\alpha_{{BBP}}={a_bbp:.2f}$"
        top.set_title(rf"$\alpha={float(alpha):g}$ ({where}), N={result.N}, "
                      f"{finals['seeds']} seeds", fontsize=9)
        top.set_ylabel(r"student $m^2$")
        top.set_ylim(-0.02, 1.02)
        mid.set_ylabel(r"$\lambda_{min}$ (red), bulk edge (grey)")
        bottom.set_ylabel(r"$m^2$ of the bottom eigenvector")
        bottom.set_ylim(-0.02, 1.02)
        for ax in (top, mid, bottom):
            ax.set_xscale("symlog", linthresh=1.0)
            ax.set_xlim(left=0.0)
        bottom.set_xlabel(r"time $= lr \cdot$ step")
        bottom.text(0.02, 0.95, f"last step (median): lambda_min {finals['lambda_min']:.3g}, "
                    f"edge {finals['lambda_edge']:.3g},\n"
                    f"bottom-vector m^2 {finals['eigvec_overlap'] ** 2:.3g}"
                    if math.isfinite(finals["lambda_min"]) else "", transform=bottom.transAxes,
                    fontsize=7, va="top")
    if not result.runs:
        axes[0, 0].set_title("no records of preset extra_gd_hessian", fontsize=8)
    fig.suptitle("The Hessian along gradient descent (Riemannian, on the tangent space): "
                 rf"$p=p^*={result.p}$, $a={result.a:g}$", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    saver.save(fig, NAME)
    return {"alpha_bbp": a_bbp, "N": result.N, "alphas": result.finals}


def draw(ctx: Context) -> dict:
    """Draw the figure (its numbers written to tables/); returns its summary."""
    return plot(ctx.result(NAME, compute, Result, PRESETS), ctx.saver)
