"""Extra figure: success probability of gradient descent vs alpha (issue 6; not one of the
paper's).

One panel per (a, p): the fraction of seeds whose final generalization error is below
``train.gen_tol`` (binomial error bars) from the random start and from the spectral warm start,
the mean teacher overlap ``m`` of the bottom Hessian eigenvector at the random initialization
(grey), and the N = infinity ``alpha_BBP`` at initialization (dashed; from the records, else
from :func:`bbp_torch.theory.threshold`). The data are the ``bbp-train`` records of preset
``train_success`` (:func:`draw`, in every mode of ``bbp-figures``), or of the quick
grid that ``scripts/fig_training.py --quick`` runs itself (:func:`run_quick`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bbp_torch import plots, theory
from bbp_torch.figures.common import MODES, Context
from bbp_torch.figures.executors import InlineExecutor, run_inprocess
from bbp_torch.figures.grids import preset_grid

KEY = "extra_training_success"
ORDER = 13
NAME = "extra_training_success"
PRESETS = ("train_success",)
QUICK_NAME = "fig_training_quick"
QUICK_OVERRIDES = MODES["quick"]["overrides"]["train_success"]  # 108 runs of N = 50


@dataclass
class Result:
    """The numbers of the figure: ``success`` = one ``{"config.problem.p", "config.problem.a",
    "config.train.init", "config.problem.alpha", "success", "n", "m_init", "err"}`` per point
    (:func:`success_table`), ``panels`` = one ``{"p", "a", "alpha_bbp"}`` per (a, p) panel
    (:func:`alpha_bbp`), the runs, p* and the sizes (``runs = 0``: no records)."""

    runs: int
    success: list[dict]
    panels: list[dict]
    p_star: int | None
    N: list[int]


def compute(ctx: Context) -> Result:
    """The success fractions of preset ``train_success``'s records."""
    return result_of(ctx.table(PRESETS[0]))


def result_of(table) -> Result:
    """The :class:`Result` of the training records ``table``."""
    if not len(table):
        return Result(runs=0, success=[], panels=[], p_star=None, N=[])
    stats = success_table(table)
    p_star = int(table["config.problem.p_star"].iloc[0])
    panels = [{"p": int(p), "a": float(a), "alpha_bbp": alpha_bbp(table, p, a, p_star)}
              for a in sorted(stats["config.problem.a"].unique())
              for p in sorted(stats["config.problem.p"].unique())]
    return Result(runs=len(table), success=stats.to_dict(orient="records"), panels=panels,
                  p_star=p_star, N=sorted(int(n) for n in table["config.problem.N"].unique()))


def plot(result: Result, saver) -> dict:
    """Draw the figure; returns ``{"runs", "success"}`` (the success fraction per p, a, start
    and alpha)."""
    if not result.runs:
        fig, axes = plots.figure(1, 1)
        axes[0, 0].set_title("no records of preset train_success", fontsize=8)
        saver.save(fig, NAME)
    else:
        plot_success(result, saver, NAME)
    return {"runs": result.runs, "success": result.success}


def draw(ctx: Context) -> dict:
    """Draw the figure (its numbers written to tables/); returns its summary."""
    return plot(ctx.result(NAME, compute, Result, PRESETS), ctx.saver)


def run_quick(runs_root: str | Path) -> Path:
    """Run preset ``train_success`` with ``QUICK_OVERRIDES`` in this process through the job
    runner into ``runs_root/fig_training_quick`` (registered as a sweep; finished runs are
    skipped); returns that folder."""
    base, swept = preset_grid(PRESETS[0], QUICK_OVERRIDES)
    overrides = [f"+experiment={PRESETS[0]}", *(f"{k}={v}" for k, v in QUICK_OVERRIDES.items())]
    with InlineExecutor() as executor:
        return run_inprocess(executor, QUICK_NAME, base, swept, Path(runs_root),
                             kind="bbp-train", overrides=overrides)


def success_table(table):
    """Per (p, a, init, alpha): success fraction, its binomial error, count, mean m at init."""
    ok = table[table["status"] == "ok"].copy()
    ok["metrics.success"] = ok["metrics.success"].astype(float)
    keys = ["config.problem.p", "config.problem.a", "config.train.init", "config.problem.alpha"]
    grouped = ok.groupby(keys)
    out = grouped.agg(success=("metrics.success", "mean"), n=("metrics.success", "size"),
                      m_init=("metrics.init.overlap", "mean")).reset_index()
    out["err"] = np.sqrt(out["success"] * (1 - out["success"]) / out["n"])
    return out


def draw_table(table, saver: plots.FigureSaver, name: str) -> list[Path]:
    """Draw the figure of the training records ``table`` as ``name``; returns the files."""
    return plot_success(result_of(table), saver, name)


def plot_success(result: Result, saver: plots.FigureSaver, name: str) -> list[Path]:
    """Draw the panels of a result with records as ``name``; returns the files."""
    stats = pd.DataFrame(result.success)
    ps = sorted({panel["p"] for panel in result.panels})
    aa = sorted({panel["a"] for panel in result.panels})
    fig, axes = plots.figure(len(aa), len(ps), width=3.2, height=2.7, sharex=True, sharey=True)
    styles = {"random": {"fmt": "o-", "color": "C0", "label": "GD, random start"},
              "spectral": {"fmt": "s--", "color": "C3", "label": "GD, spectral start"}}
    for panel in result.panels:
        p, a = panel["p"], panel["a"]
        i, j = aa.index(a), ps.index(p)
        ax = axes[i, j]
        rows = stats[(stats["config.problem.p"] == p) & np.isclose(stats["config.problem.a"], a)]
        for init, style in styles.items():
            line = rows[rows["config.train.init"] == init].sort_values("config.problem.alpha")
            if len(line):
                ax.errorbar(line["config.problem.alpha"], line["success"], yerr=line["err"],
                            ms=3.5, lw=1.0, capsize=2, **style)
        m_init = rows.groupby("config.problem.alpha")["m_init"].mean()
        ax.plot(m_init.index, m_init.values, color="0.6", lw=1.0,
                label="m of bottom eigvec at init")
        plots.vline(ax, panel["alpha_bbp"], label=r"$\alpha_{BBP}$ at init")
        ax.set_title(plots.params_text(p=p, p_star=result.p_star, a=a), fontsize=9)
        ax.set_ylim(-0.05, 1.05)
        if i == len(aa) - 1:
            ax.set_xlabel(r"$\alpha = M/N$")
        if j == 0:
            ax.set_ylabel("success probability")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8, frameon=False)
    seeds = int(stats["n"].max())
    fig.suptitle(f"Gradient descent from the initialization: N={','.join(map(str, result.N))}, "
                 f"up to {seeds} seeds per point", fontsize=10)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return saver.save(fig, name)


def alpha_bbp(table, p, a, p_star) -> float | None:
    """alpha_BBP at initialization of (p, a): from the records, else from the theory (None, so
    no marker, when the theory fails)."""
    col = "metrics.theory.alpha_bbp"
    if col in table:
        rows = table[(table["config.problem.p"] == p) & (table["config.problem.a"] == a)]
        values = rows[col].dropna()
        if len(values):
            return float(values.iloc[0])
    return theory.threshold(int(p), p_star, float(a))["alpha_bbp"]
