"""Extra figure: the Hessian spectrum below and above alpha_BBP (not one of the paper's).

No sweep: full spectra of the dense Euclidean Hessian through the API, pooled over seeds, for
p = 2, p* = 1, a = 0.7 and 1.5, each at 0.75 and 2 alpha_BBP. Top row: the histogram against
the theory density (normalised on all eigenvalues); bottom row: the left edge, with the theory
edge, the theory outlier and the bottom p p* eigenvalues of each seed.
"""

from __future__ import annotations

import numpy as np

from bbp_torch import plots, theory
from bbp_torch.figures.common import A_CONT, A_DISC, P_STAR, Context, P
from bbp_torch.figures.cost import DENSE_S_PER_DIM3, THEORY_CALL_S
from bbp_torch.figures.tasks import density_task, spectrum_task

KEY = "extra_spectrum"
ORDER = 10
NAME = "extra_spectrum"
PRESETS = ()


def side_seconds(s: dict) -> float:
    """Every eigenvalue of 4 x seeds Hessians of p N = 2 N, and the theory densities."""
    n = 2 * s["spectrum_N"]
    return 4 * s["spectrum_seeds"] * 1.5 * DENSE_S_PER_DIM3 * n**3 + 20 * THEORY_CALL_S


def draw(ctx: Context) -> dict:
    """Draw the spectrum figure; returns one ``{"a", "alpha", "edge", "outlier",
    "lambda_min_mean"}`` per column for the summary."""
    s = ctx.settings
    N, seeds = s["spectrum_N"], s["spectrum_seeds"]
    n_main, n_zoom = s["density_points"]
    cases = []
    for a in (A_CONT, A_DISC):
        a_bbp = theory.alpha_bbp(P, P_STAR, a)
        for factor in (0.75, 2.0):
            cases.append((a, round(factor * a_bbp, 3), factor))
    spectra = ctx.map(spectrum_task, [(N, P, P_STAR, a, alpha, seed)
                                      for a, alpha, _ in cases for seed in range(seeds)])
    layout = []
    for i, (a, alpha, factor) in enumerate(cases):
        per_seed = spectra[i * seeds:(i + 1) * seeds]
        values = np.concatenate(per_seed)
        edge = theory.edge(P, P_STAR, a, alpha)
        outlier = theory.outlier(P, P_STAR, a, alpha)
        hi_main = float(np.percentile(values, 97))
        lo_zoom = min(edge, outlier if outlier is not None else edge, values.min()) - 0.05
        hi_zoom = edge + 0.35
        main_grid = np.linspace(edge, hi_main, n_main)
        zoom_grid = np.linspace(edge, hi_zoom, n_zoom)
        layout.append((a, alpha, factor, per_seed, values, edge, outlier, hi_main, lo_zoom,
                       hi_zoom, main_grid, zoom_grid))
    tasks = []
    for a, alpha, *_rest, main_grid, zoom_grid in layout:
        tasks += [(P, P_STAR, a, alpha, main_grid), (P, P_STAR, a, alpha, zoom_grid)]
    densities = ctx.map(density_task, tasks)

    fig, axes = plots.figure(2, 4, width=3.6, height=3.0)
    info = []
    for j, (a, alpha, factor, per_seed, values, edge, outlier, hi_main, lo_zoom, hi_zoom,
            main_grid, zoom_grid) in enumerate(layout):
        rho_main, rho_zoom = densities[2 * j], densities[2 * j + 1]
        kind = theory.transition_type(P, P_STAR, a)
        bottom = np.concatenate([np.sort(v)[:P * P_STAR] for v in per_seed])
        lo_main = min(values.min(), edge) - 0.1
        for row, (lo, hi, grid, rho, bins) in enumerate(
                [(lo_main, hi_main, main_grid, rho_main, 70),
                 (lo_zoom, hi_zoom, zoom_grid, rho_zoom, 40)]):
            ax = axes[row, j]
            centers, hist = plots.histogram_density(values, lo, hi, bins, total=len(values))
            ax.bar(centers, hist, width=centers[1] - centers[0], color="0.75",
                   label=f"eigenvalues of H ({seeds} seeds)")
            ax.plot(np.r_[lo, grid], np.r_[0.0, rho], color="C2", lw=1.3,
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
                plots.rug(ax, bottom, label=f"bottom {P * P_STAR} per seed")
                ax.set_title("zoom on the left edge", fontsize=8)
            else:
                ax.set_title(f"a={a} ({kind}), N={N}\n"
                             rf"$\alpha$={alpha:g} = {factor:g} $\alpha_{{BBP}}$", fontsize=8)
                if alpha < 1:
                    plots.note(ax, f"atom of mass {1 - alpha:.2f} at 0 (M < N), clipped",
                               loc="upper right", fontsize=6)
        info.append({"a": a, "alpha": alpha, "edge": edge, "outlier": outlier,
                     "lambda_min_mean": float(np.mean([np.min(v) for v in per_seed]))})
    fig.suptitle(f"Hessian spectrum below and above the BBP transition "
                 f"({plots.params_text(p=P, p_star=P_STAR, N=N)})", fontsize=10)
    handles, labels = axes[1, -1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    ctx.saver.save(fig, NAME)
    return info
