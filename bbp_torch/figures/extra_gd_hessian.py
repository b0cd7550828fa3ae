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
last tracked step. The series are written to ``tables/extra_gd_hessian_series.csv.gz`` (one
row per run and tracked step), from which ``--no-run`` redraws.
"""

from __future__ import annotations

import math

import numpy as np

from bbp_torch import plots, theory
from bbp_torch.figures.common import Context, read_table

KEY = "extra_gd_hessian"
ORDER = 15
NAME = "extra_gd_hessian"
PRESETS = ("extra_gd_hessian",)
SERIES = ("step", "time", "gram_overlap", "lambda_min", "lambda_edge", "eigvec_overlap",
          "eigvec_gradient_overlap", "train_loss")


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


def compute(ctx: Context) -> tuple:
    """``(series, base)``: the long table of the tracked series (from the records, or from
    the table an earlier invocation wrote) and the preset's base config."""
    table = ctx.table(PRESETS[0])
    _, base, _ = ctx.grid(PRESETS[0])
    saved = ctx.out / "tables" / f"{NAME}_series.csv.gz"
    if len(table) and "metrics.series.step" in table:
        series = series_table(table)
        saved.parent.mkdir(parents=True, exist_ok=True)
        series.to_csv(saved, index=False, float_format="%.10g", compression="gzip")
    elif saved.exists():
        series = read_table(saved)
    else:
        series = series_table(table.iloc[0:0]) if len(table.columns) else None
    return series, base


def _median_by_time(frame, key: str) -> tuple[np.ndarray, np.ndarray]:
    """The median over seeds at each tracked time, while every seed's descent still runs."""
    grouped = frame.groupby("time")[key]
    everyone = grouped.count() == frame["seed"].nunique()
    median = grouped.median()[everyone]
    return median.index.to_numpy(dtype=float), median.to_numpy(dtype=float)


def draw(ctx: Context) -> dict:
    """Draw the figure; returns, per alpha, the medians at the last tracked step."""
    series, base = compute(ctx)
    pr = base["problem"]
    p, p_star, a = int(pr["p"]), int(pr["p_star"]), float(pr["a"])
    a_bbp = theory.threshold(p, p_star, a)["alpha_bbp"]
    alphas = sorted(series["alpha"].unique()) if series is not None and len(series) else []
    fig, axes = plots.figure(3, max(1, len(alphas)), width=3.6, height=2.4)
    out = {"alpha_bbp": a_bbp, "N": None, "alphas": {}}
    for j, alpha in enumerate(alphas):
        sub = series[np.isclose(series["alpha"], alpha)]
        out["N"] = int(sub["N"].iloc[0])
        seeds = sorted(sub["seed"].unique())
        top, mid, bottom = axes[0, j], axes[1, j], axes[2, j]
        for seed in seeds:
            run = sub[sub["seed"] == seed]
            t = run["time"].to_numpy(dtype=float)
            top.plot(t, run["gram_overlap"], color="tab:blue", lw=0.6, alpha=0.5)
            mid.plot(t, run["lambda_min"], color="tab:red", lw=0.6, alpha=0.5)
            mid.plot(t, run["lambda_edge"], color="0.5", lw=0.6, alpha=0.5)
            bottom.plot(t, run["eigvec_overlap"].astype(float) ** 2, color="tab:green", lw=0.6,
                        alpha=0.5)
        for ax, key, color, transform in ((top, "gram_overlap", "tab:blue", None),
                                          (mid, "lambda_min", "tab:red", None),
                                          (mid, "lambda_edge", "0.3", None),
                                          (bottom, "eigvec_overlap", "tab:green", np.square)):
            t, med = _median_by_time(sub.astype({key: float}), key)
            ax.plot(t, transform(med) if transform else med, color=color, lw=2.0)
        mid.axhline(0.0, color="k", lw=0.6)
        mid.set_yscale("symlog", linthresh=0.05)  # the init's large shift and the late O(0.1)
        last = sub.sort_values("step").groupby("seed").tail(1)
        finals = {key: float(last[key].astype(float).median()) for key in
                  ("gram_overlap", "lambda_min", "lambda_edge", "eigvec_overlap",
                   "eigvec_gradient_overlap")}
        finals["outlier_fraction"] = float(
            (last["lambda_min"].astype(float) < last["lambda_edge"].astype(float)).mean())
        finals["negative_fraction"] = float((last["lambda_min"].astype(float) < 0).mean())
        finals["seeds"] = len(seeds)
        out["alphas"][float(alpha)] = finals
        where = ("below" if alpha < a_bbp else "above") + rf" $\alpha_{{BBP}}={a_bbp:.2f}$"
        top.set_title(rf"$\alpha={alpha:g}$ ({where}), N={out['N']}, {len(seeds)} seeds",
                      fontsize=9)
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
    if not alphas:
        axes[0, 0].set_title("no records of preset extra_gd_hessian", fontsize=8)
    fig.suptitle("The Hessian along gradient descent (Riemannian, on the tangent space): "
                 rf"$p=p^*={p}$, $a={a:g}$", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    ctx.saver.save(fig, NAME)
    return out
