"""Extra figure: the Hessian spectrum below and above alpha_BBP (not one of the paper's).

No sweep: full spectra of the dense Euclidean Hessian through the API, pooled over seeds, for
p = 2, p* = 1, a = 0.7 and 1.5, each at 0.75 and 2 alpha_BBP. Top row: the histogram against
the theory density (normalised on all eigenvalues); bottom row: the left edge, with the theory
edge, the theory outlier and the bottom p p* eigenvalues of each seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bbp_torch import plots, theory
from bbp_torch.figures.common import A_CONT, A_DISC, P_STAR, Context, P
from bbp_torch.figures.cost import DENSE_S_PER_DIM3, THEORY_CALL_S
from bbp_torch.figures.tasks import density_task, spectrum_task

KEY = "extra_spectrum"
ORDER = 10
NAME = "extra_spectrum"
PRESETS = ()
BINS = (70, 40)  # of the histograms of the whole spectrum and of the zoom on its edge


def side_seconds(s: dict) -> float:
    """Every eigenvalue of 4 x seeds Hessians of p N = 2 N, and the theory densities."""
    n = 2 * s["spectrum_N"]
    return 4 * s["spectrum_seeds"] * 1.5 * DENSE_S_PER_DIM3 * n**3 + 20 * THEORY_CALL_S


@dataclass
class Result:
    """The numbers of the figure, one column per (a, alpha): ``columns[j]`` = ``{"a", "alpha",
    "factor" (alpha / alpha_BBP), "transition", "edge", "outlier", "lambda_min_mean", "bottom"
    (the bottom p p* eigenvalues of each seed), "rows": [main, zoom]}``, each row ``{"lo", "hi",
    "centers", "hist", "grid", "rho"}`` (the histogram, normalised on all eigenvalues, and the
    theory density on ``grid``); N and the seeds pooled."""

    N: int
    seeds: int
    columns: list[dict]


def compute(ctx: Context) -> Result:
    """The spectra of the mode's seeds, their histograms and the theory densities."""
    s = ctx.settings
    N, seeds = s["spectrum_N"], s["spectrum_seeds"]
    n_main, n_zoom = s["density_points"]
    cases = []
    for a in (A_CONT, A_DISC):
        a_bbp = theory.alpha_bbp(P, P_STAR, a)
        for factor in (0.75, 2.0):
            cases.append({"a": a, "alpha": round(factor * a_bbp, 3), "factor": factor})
    spectra = ctx.map(spectrum_task, [(N, P, P_STAR, c["a"], c["alpha"], seed)
                                      for c in cases for seed in range(seeds)])
    tasks = []
    for i, case in enumerate(cases):
        a, alpha = case["a"], case["alpha"]
        per_seed = spectra[i * seeds:(i + 1) * seeds]
        values = np.concatenate(per_seed)
        edge = theory.edge(P, P_STAR, a, alpha)
        outlier = theory.outlier(P, P_STAR, a, alpha)
        hi_main = float(np.percentile(values, 97))
        limits = [(min(values.min(), edge) - 0.1, hi_main, edge, hi_main, n_main),
                  (min(edge, outlier if outlier is not None else edge, values.min()) - 0.05,
                   edge + 0.35, edge, edge + 0.35, n_zoom)]
        case["rows"] = []
        for (lo, hi, grid_lo, grid_hi, points), bins in zip(limits, BINS, strict=True):
            centers, hist = plots.histogram_density(values, lo, hi, bins, total=len(values))
            grid = np.linspace(grid_lo, grid_hi, points)
            case["rows"].append({"lo": float(lo), "hi": float(hi), "centers": centers.tolist(),
                                 "hist": hist.tolist(), "grid": grid.tolist()})
            tasks.append((P, P_STAR, a, alpha, grid))
        case.update(transition=theory.transition_type(P, P_STAR, a), edge=edge, outlier=outlier,
                    lambda_min_mean=float(np.mean([np.min(v) for v in per_seed])),
                    bottom=np.concatenate([np.sort(v)[:P * P_STAR] for v in per_seed]).tolist())
    densities = iter(ctx.map(density_task, tasks))
    for case in cases:
        for row in case["rows"]:
            row["rho"] = np.asarray(next(densities), dtype=float).tolist()
    return Result(N=N, seeds=seeds, columns=cases)


def plot(result: Result, saver) -> list[dict]:
    """Draw the spectrum figure; returns one ``{"a", "alpha", "edge", "outlier",
    "lambda_min_mean"}`` per column for the summary."""
    fig, axes = plots.figure(2, 4, width=3.6, height=3.0)
    for j, case in enumerate(result.columns):
        a, alpha, edge, outlier = case["a"], case["alpha"], case["edge"], case["outlier"]
        for row, numbers in enumerate(case["rows"]):
            ax = axes[row, j]
            lo, hi = numbers["lo"], numbers["hi"]
            centers, hist = np.asarray(numbers["centers"]), np.asarray(numbers["hist"])
            rho = np.asarray(numbers["rho"], dtype=float)
            ax.bar(centers, hist, width=centers[1] - centers[0], color="0.75",
                   label=f"eigenvalues of H ({result.seeds} seeds)")
            ax.plot(np.r_[lo, numbers["grid"]], np.r_[0.0, rho], color="C2", lw=1.3,
                    label=r"theory density $N=\infty$")
            plots.vline(ax, edge, r"theory edge $\lambda_-$", color="C0", ls="--")
            plots.vline(ax, outlier, r"theory outlier $\lambda^*$", color="C3", ls=":")
            finite = hist[np.abs(centers) > 2 * (centers[1] - centers[0])] if alpha < 1 else hist
            top = max(np.nanmax(rho), finite.max() if len(finite) else 0.0)
            ax.set_ylim(0, 1.25 * top if top > 0 else 1)
            ax.set_xlim(lo, hi)
            ax.set_xlabel(r"eigenvalue $\lambda$")
            ax.set_ylabel("density")
            if row == 1:
                plots.rug(ax, case["bottom"], label=f"bottom {P * P_STAR} per seed")
                ax.set_title("zoom on the left edge", fontsize=8)
            else:
                ax.set_title(f"a={a} ({case['transition']}), N={result.N}\n"
                             rf"$\alpha$={alpha:g} = {case['factor']:g} $\alpha_{{BBP}}$",
                             fontsize=8)
                if alpha < 1:
                    plots.note(ax, f"atom of mass {1 - alpha:.2f} at 0 (M < N), clipped",
                               loc="upper right", fontsize=6)
    fig.suptitle(f"Hessian spectrum below and above the BBP transition "
                 f"({plots.params_text(p=P, p_star=P_STAR, N=result.N)})", fontsize=10)
    handles, labels = axes[1, -1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    saver.save(fig, NAME)
    return [{key: case[key] for key in ("a", "alpha", "edge", "outlier", "lambda_min_mean")}
            for case in result.columns]


def draw(ctx: Context) -> list[dict]:
    """Draw the spectrum figure (its numbers written to tables/); returns its summary."""
    return plot(ctx.result(NAME, compute, Result, PRESETS), ctx.saver)
