"""Extra figure: success probability of gradient descent vs alpha (issue 6; not one of the
paper's).

One panel per (a, p): the fraction of seeds whose final generalization error is below
``train.gen_tol`` (binomial error bars) from the random start and from the spectral warm start,
the mean teacher overlap ``m`` of the bottom Hessian eigenvector at the random initialization
(grey), and the N = infinity ``alpha_BBP`` at initialization (dashed; from the records, else
from :func:`bbp_torch.theory.threshold`). The data are the ``bbp-train`` records of preset
``train_success`` (:func:`draw`, in every mode of ``reproduce_figures.py``), or of the quick
grid that ``scripts/fig_training.py --quick`` runs itself (:func:`run_quick`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

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


def draw(ctx: Context) -> dict:
    """Draw the figure from preset ``train_success``'s records; returns ``{"runs", "success"}``
    (the success fraction per p, a, start and alpha)."""
    table = ctx.table(PRESETS[0])
    if not len(table):
        fig, axes = plots.figure(1, 1)
        axes[0, 0].set_title("no records of preset train_success", fontsize=8)
        ctx.saver.save(fig, NAME)
        return {"runs": 0, "success": []}
    draw_table(table, ctx.saver, NAME)
    stats = success_table(table)
    return {"runs": len(table), "success": stats.to_dict(orient="records")}


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
    stats = success_table(table)
    ps = sorted(stats["config.problem.p"].unique())
    aa = sorted(stats["config.problem.a"].unique())
    p_star = int(table["config.problem.p_star"].iloc[0])
    Ns = sorted(table["config.problem.N"].unique())
    fig, axes = plots.figure(len(aa), len(ps), width=3.2, height=2.7, sharex=True, sharey=True)
    styles = {"random": {"fmt": "o-", "color": "C0", "label": "GD, random start"},
              "spectral": {"fmt": "s--", "color": "C3", "label": "GD, spectral start"}}
    for i, a in enumerate(aa):
        for j, p in enumerate(ps):
            ax = axes[i, j]
            panel = stats[(stats["config.problem.p"] == p) & (stats["config.problem.a"] == a)]
            for init, style in styles.items():
                rows = panel[panel["config.train.init"] == init].sort_values(
                    "config.problem.alpha")
                if len(rows):
                    ax.errorbar(rows["config.problem.alpha"], rows["success"], yerr=rows["err"],
                                ms=3.5, lw=1.0, capsize=2, **style)
            rows = panel.groupby("config.problem.alpha")["m_init"].mean()
            ax.plot(rows.index, rows.values, color="0.6", lw=1.0,
                    label="m of bottom eigvec at init")
            plots.vline(ax, alpha_bbp(table, p, a, p_star), label=r"$\alpha_{BBP}$ at init")
            ax.set_title(plots.params_text(p=int(p), p_star=p_star, a=float(a)), fontsize=9)
            ax.set_ylim(-0.05, 1.05)
            if i == len(aa) - 1:
                ax.set_xlabel(r"$\alpha = M/N$")
            if j == 0:
                ax.set_ylabel("success probability")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8, frameon=False)
    seeds = int(stats["n"].max())
    fig.suptitle(f"Gradient descent from the initialization: N={','.join(map(str, Ns))}, "
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
