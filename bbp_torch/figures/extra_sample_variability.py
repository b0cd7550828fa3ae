"""Extra figure: sample-to-sample variability of the bottom eigenvector around alpha_BBP.

Four cases (p* = 1): p = 1 at a = 0.5 (continuous) and 2.0 (discontinuous), p = 2 at a = 0.7
(continuous) and 1.5 (discontinuous), each at alpha = 0.5, 0.75, 1 and 1.25 alpha_BBP, N = 250
... 2000 (presets ``extra_sample_variability_<case>`` for N = 250, 500 and ``..._large`` for
N = 1000, 2000: a Hydra sweep is a product, and the small sizes take more samples). One row per
case:

* the empirical distribution (ECDF, log axis) over samples of ``m^2`` of the bottom eigenvector, one
  colour per alpha, thin at the smallest N and thick at the largest; the N = infinity
  ``m^2`` at 1.25 alpha_BBP as a vertical line;
* the ECDF of the gap ``lambda_edge - lambda_min`` between the bulk-edge estimate (the
  ``(p p* + 1)``-th eigenvalue) and the bottom eigenvalue, times ``N^(2/3)`` (the edge's
  fluctuation scale at a square-root edge), same styles;
* against alpha / alpha_BBP for each N, the fraction of samples whose bottom eigenvector is
  informative, ``m^2 >= INFORMATIVE_M2`` (Wilson intervals), with the N = infinity step.

The pre-critical region of a (N, case) starts where that fraction first reaches
``PRE_CRITICAL_FRACTION`` (:func:`pre_critical`: linear interpolation in alpha / alpha_BBP; NaN
with a bound when the grid does not bracket it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bbp_torch import plots
from bbp_torch.estimators import crossing_alpha, wilson_interval
from bbp_torch.figures.common import A1_CONT, A1_DISC, A_CONT, A_DISC, P_STAR, Context
from bbp_torch.figures.cost import THEORY_CALL_S
from bbp_torch.figures.tasks import overlap_curve_task, threshold_task

KEY = "extra_sample_variability"
ORDER = 17
NAME = "extra_sample_variability"
CASES = {"p1_cont": (1, A1_CONT), "p1_disc": (1, A1_DISC), "p2_cont": (2, A_CONT),
         "p2_disc": (2, A_DISC)}
PRESETS = tuple(f"{KEY}_{case}{size}" for case in CASES for size in ("", "_large"))
RATIOS = (0.5, 0.75, 1.0, 1.25)  # alpha / alpha_BBP of the presets
INFORMATIVE_M2 = 0.05  # a bottom eigenvector is informative when its m^2 reaches this
# (12 times the m^2 ~ 1/N of a random vector at N = 250; below the N = infinity m^2 at
# 1.25 alpha_BBP in all four cases, 0.062 at the continuous ones)
PRE_CRITICAL_FRACTION = 0.1  # the pre-critical region starts where this fraction is informative
QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
SIZE_STYLE = {False: {"lw": 0.6}, True: {"lw": 1.6}}  # the smallest / largest N
M2_FLOOR, GAP_FLOOR = 1e-4, 1e-3  # the left ends of the log axes (smaller values drawn there)


def side_seconds(s: dict) -> float:
    """Theory seconds: a threshold and four overlaps per case."""
    return len(CASES) * 5 * THEORY_CALL_S


@dataclass
class Result:
    """The numbers of the figure, per case: ``{"p", "a", "alpha_bbp", "type", "m2_theory"
    (at each ratio), "N": {N: {ratio: {"alpha", "m2", "gap"}}}}`` with the per-sample values
    of m^2 and of the gap (sorted), ratios as strings (alpha / alpha_BBP to 2 decimals)."""

    cases: dict


def compute(ctx: Context) -> Result:
    """The per-sample m^2 and gaps of every preset, and the theory at the cases' alphas."""
    params = list(CASES.values())
    thresholds = ctx.map(threshold_task, [(p, P_STAR, a) for p, a in params])
    m_theory = ctx.map(overlap_curve_task, [
        (p, P_STAR, a, [r * t[0] * (1 + 1e-9) for r in RATIOS])
        for (p, a), t in zip(params, thresholds, strict=True)])
    cases = {}
    for (case, (p, a)), (a_bbp, kind), m in zip(CASES.items(), thresholds, m_theory,
                                                strict=True):
        sizes: dict = {}
        for preset in (f"{KEY}_{case}", f"{KEY}_{case}_large"):
            table = ctx.table(preset)
            if not len(table):
                continue
            for (N, alpha), rows in table.groupby(["config.problem.N", "config.problem.alpha"]):
                ratio = f"{float(alpha) / a_bbp:.2f}"
                sizes.setdefault(str(int(N)), {})[ratio] = {
                    "alpha": float(alpha),
                    "m2": np.sort(rows["metrics.overlap"].astype(float) ** 2).tolist(),
                    "gap": np.sort(rows["metrics.gap"].astype(float)).tolist()}
        cases[case] = {"p": p, "a": a, "alpha_bbp": a_bbp, "type": kind,
                       "m2_theory": dict(zip((f"{r:.2f}" for r in RATIOS),
                                             (float(v) ** 2 for v in m), strict=True)),
                       "N": {N: sizes[N] for N in sorted(sizes, key=int)}}
    return Result(cases)


def informative(m2) -> dict:
    """The fraction of samples with ``m^2 >= INFORMATIVE_M2`` and its Wilson interval."""
    m2 = np.asarray(m2, dtype=float)
    k = int(np.count_nonzero(m2 >= INFORMATIVE_M2))
    lo, hi = wilson_interval(k, len(m2))
    return {"fraction": k / len(m2) if len(m2) else math.nan, "lo": lo, "hi": hi,
            "n": int(len(m2))}


def pre_critical(ratios, fractions) -> dict:
    """Where the pre-critical region starts: ``{"pre_critical_start": alpha / alpha_BBP}``
    where the informative fraction first reaches ``PRE_CRITICAL_FRACTION`` (interpolated), and
    ``pre_critical_bound``: ``below`` when it is reached at the grid's first point already (the
    start lies below it), ``above`` when never, else None."""
    y = np.asarray(fractions, dtype=float)
    bound = None
    if len(y) and y[0] >= PRE_CRITICAL_FRACTION:
        bound = "below"
    elif not (y >= PRE_CRITICAL_FRACTION).any():
        bound = "above"
    return {"pre_critical_start": crossing_alpha(ratios, y, PRE_CRITICAL_FRACTION),
            "pre_critical_bound": bound}


def _ecdf(ax, values, floor: float, **style) -> None:
    """The empirical distribution function of ``values`` (clipped below at ``floor``, for a
    log axis), from 0 to 1."""
    v = np.maximum(np.sort(np.asarray(values, dtype=float)), floor)
    if len(v):
        ax.step(np.r_[v[0], v], np.arange(len(v) + 1) / len(v), where="post", **style)


def plot(result: Result, saver) -> dict:
    """Draw the figure; returns the summary's ``sample_variability``: per case, N and alpha
    the quantiles of m^2 and of the gap and the informative fraction, and where the
    pre-critical region starts for each N."""
    rows = list(result.cases) or ["none"]
    fig, axes = plots.figure(len(rows), 3, width=2.3, height=1.75)
    summary: dict = {"informative_m2": INFORMATIVE_M2,
                     "pre_critical_fraction": PRE_CRITICAL_FRACTION}
    for row, ((m2_ax, gap_ax, frac_ax), case) in enumerate(zip(axes, rows, strict=True)):
        c = result.cases.get(case)
        if c is None:
            m2_ax.set_title("no records of the extra_sample_variability presets", fontsize=8)
            continue
        sizes = list(c["N"])
        ratios = sorted({r for N in sizes for r in c["N"][N]}, key=float)
        shown = sorted({sizes[0], sizes[-1]}, key=int) if sizes else []
        for i, r in enumerate(ratios):
            for N in shown:
                point = c["N"][N].get(r)
                if point is None:
                    continue
                style = {"color": f"C{i}", **SIZE_STYLE[N == shown[-1]]}
                _ecdf(m2_ax, point["m2"], M2_FLOOR, **style)
                _ecdf(gap_ax, np.asarray(point["gap"]) * int(N) ** (2 / 3), GAP_FLOOR, **style)
        for i, r in enumerate(ratios):  # one legend entry per colour and per line style
            m2_ax.plot([], [], color=f"C{i}", label=rf"{r}$\alpha_{{BBP}}$")
        for N in shown:
            m2_ax.plot([], [], color="k", **SIZE_STYLE[N == shown[-1]], label=f"N={N}")
        top = c["m2_theory"].get(f"{RATIOS[-1]:.2f}", math.nan)
        plots.vline(m2_ax, top, rf"$N=\infty$: $m^2$ at {RATIOS[-1]}$\alpha_{{BBP}}$",
                    color="0.3", ls=":")
        plots.vline(m2_ax, INFORMATIVE_M2, rf"informative: $m^2\geq${INFORMATIVE_M2}",
                    color="r", ls="-", lw=0.6)
        title = (f"p={c['p']}, p*={P_STAR}, a={c['a']} ({c['type']}), "
                 rf"$\alpha_{{BBP}}$={c['alpha_bbp']:.3f}")
        m2_ax.set_xscale("log")
        m2_ax.set_xlim(M2_FLOOR, 1)
        m2_ax.set_ylim(0, 1.02)
        m2_ax.set_xlabel(r"$m^2$ of the bottom eigenvector")
        m2_ax.set_ylabel("fraction of samples (ECDF)")
        m2_ax.set_title(title, fontsize=6.5)
        if row == 0:  # the same styles in every row: one legend per column
            plots.legend(m2_ax, fontsize=5, loc="upper left", framealpha=0.8)
        gap_ax.set_xscale("log")
        gap_ax.set_ylim(0, 1.02)
        gap_ax.set_xlabel(r"$N^{2/3}(\lambda_{edge}-\lambda_{min})$")
        gap_ax.set_ylabel("fraction of samples (ECDF)")
        if row == 0:
            gap_ax.set_title("gap below the bulk-edge estimate", fontsize=6.5)

        info: dict = {}
        for k, N in enumerate(sizes):
            x, rows_n = [], []
            for r in ratios:
                point = c["N"][N].get(r)
                if point is None:
                    continue
                frac = informative(point["m2"])
                x.append(float(r))
                rows_n.append(frac)
                q = dict(zip(map(str, QUANTILES), np.quantile(point["m2"], QUANTILES).tolist(),
                             strict=True))
                g = dict(zip(map(str, QUANTILES), np.quantile(point["gap"], QUANTILES).tolist(),
                             strict=True))
                info.setdefault(N, {})[r] = {"alpha": point["alpha"], "samples": frac["n"],
                                             "m2_quantiles": q, "gap_quantiles": g,
                                             "informative": frac["fraction"],
                                             "informative_lo": frac["lo"],
                                             "informative_hi": frac["hi"]}
            y = np.array([f["fraction"] for f in rows_n])
            err = np.array([[f["fraction"] - f["lo"] for f in rows_n],
                            [f["hi"] - f["fraction"] for f in rows_n]])
            frac_ax.errorbar(x, y, yerr=err, fmt="o-", ms=3, capsize=2, lw=1.0,
                             color=plots.SIZE_COLORS[k % len(plots.SIZE_COLORS)],
                             label=f"N={N}")
            if N in info:
                info[N].update(pre_critical(x, y))
        limit = [float(c["m2_theory"][f"{r:.2f}"] >= INFORMATIVE_M2) for r in RATIOS]
        frac_ax.plot(RATIOS, limit, "kD:", ms=4, mfc="none", lw=1.0,
                     label=r"$N=\infty$ ($m^2=1/F'$ above the level)")
        frac_ax.axhline(PRE_CRITICAL_FRACTION, color="0.6", lw=0.6)
        frac_ax.set_ylim(-0.03, 1.03)
        frac_ax.set_xlabel(r"$\alpha/\alpha_{BBP}$")
        frac_ax.set_ylabel(rf"fraction with $m^2\geq${INFORMATIVE_M2}")
        if row == 0:
            frac_ax.set_title("informative bottom eigenvectors (Wilson 68%)", fontsize=6.5)
            plots.legend(frac_ax, fontsize=5, loc="upper left", framealpha=0.8)
        plots.small_labels((m2_ax, gap_ax, frac_ax))
        summary[case] = {"p": c["p"], "a": c["a"], "alpha_bbp": c["alpha_bbp"],
                         "type": c["type"], "m2_theory": c["m2_theory"], "N": info}
    fig.suptitle("Sample-to-sample variability of the bottom Hessian eigenvector (p*=1)",
                 fontsize=10)
    fig.tight_layout()
    saver.save(fig, NAME)
    return summary


def draw(ctx: Context) -> dict:
    """Draw the figure (its numbers written to tables/); its summary also under
    ``sample_variability``."""
    summary = plot(ctx.result(NAME, compute, Result, PRESETS), ctx.saver)
    ctx.summary["sample_variability"] = summary
    return summary
