"""Fig. 9: gradient descent from the random initialization, a continuous case (p = p* = 1, a = 0.5).

The largest squared teacher overlap reached during the descent, ``metrics.max_overlap`` of the
``bbp-train`` records (the Gram overlap q over the tracked steps; for p = p* = 1 it is
m^2 = (w.w*/N)^2), vs alpha: mean ± standard error over seeds at several N (preset
``fig9_gd_continuous``), alpha_BBP at initialization (dashed), and in grey the squared overlap
of the bottom Hessian eigenvector at the initialization (largest N), the BBP observable itself.
The onset of recovery by GD is estimated as the alpha where the mean largest m^2 first reaches
1/2 (bootstrap error over seeds). :func:`draw_gd` also draws Fig. 10.
"""

from __future__ import annotations

import math

from bbp_torch import plots, theory
from bbp_torch.estimators import bootstrap, crossing_alpha
from bbp_torch.figures.common import Context, mean_curve, samples

NAME = "fig9_gd_continuous"
PRESETS = ("fig9_gd_continuous",)
ONSET_LEVEL = 0.5  # the mean largest m^2 at which GD is said to recover the teacher


def draw(ctx: Context) -> dict:
    """Draw Fig. 9; returns what :func:`draw_gd` returns."""
    return draw_gd(ctx, PRESETS[0], NAME, "9")


def draw_gd(ctx: Context, preset: str, name: str, number: str) -> dict:
    """The largest m^2 reached by GD vs alpha for ``preset``'s records, saved as ``name``."""
    table = ctx.table(preset)
    _, base, _ = ctx.grid(preset)
    pr, tr = base["problem"], base["train"]
    p, p_star, a = int(pr["p"]), int(pr["p_star"]), float(pr["a"])
    threshold = theory.threshold(p, p_star, a)
    a_bbp, kind = threshold["alpha_bbp"], threshold.get("transition_type", "unknown")
    fig, axes = plots.figure(1, 1, width=6.4, height=4.6)
    ax = axes[0, 0]
    sizes = sorted(int(n) for n in table["config.problem.N"].unique()) if len(table) else []
    info = {"p": p, "p_star": p_star, "a": a, "alpha_bbp": a_bbp, "transition": kind,
            "steps": int(tr["steps"]), "lr": float(tr["lr"]), "N": sizes, "curves": {},
            "onset": {}}
    counts = []
    for i, N in enumerate(sizes):
        alphas, best = samples(table, {"config.problem.N": N}, "metrics.max_overlap")
        x, y, err = mean_curve(alphas, best)
        counts += [len(v) for v in best]
        ax.errorbar(x, y, yerr=err, fmt="o-", ms=3.5, lw=1.0, capsize=2,
                    color=plots.SIZE_COLORS[i % len(plots.SIZE_COLORS)], label=f"N={N}")

        def onset(means, alphas=alphas):
            return crossing_alpha(alphas, means, ONSET_LEVEL)

        info["curves"][str(N)] = {"alpha": x.tolist(), "mean": y.tolist(), "sem": err.tolist()}
        info["onset"][str(N)] = {"value": onset(y), "err": bootstrap(best, onset,
                                                                     ctx.settings["n_boot"])}
    if sizes:
        alphas, init = samples(table, {"config.problem.N": sizes[-1]}, "metrics.init.overlap")
        x, y, _ = mean_curve(alphas, [v**2 for v in init])
        ax.plot(x, y, "--", color="0.55", lw=1.2,
                label=f"$m^2$ of the bottom Hessian eigenvector at init (N={sizes[-1]})")
    plots.vline(ax, a_bbp, rf"$\alpha_{{BBP}}={a_bbp:.3f}$ at init" if a_bbp else None)
    lines = [f"N={N}: {v['value']:.2f} ± {v['err']:.2f}" for N, v in info["onset"].items()
             if math.isfinite(v["value"])]
    if lines:
        plots.note(ax, f"mean largest $m^2$ reaches {ONSET_LEVEL} at\n" + "\n".join(lines),
                   loc="lower right")
    seeds = min(counts, default=0)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(r"data ratio $\alpha = M/N$")
    ax.set_ylabel(r"largest $m^2$ reached by gradient descent")
    params = plots.params_text(p=p, p_star=p_star, a=a)
    ax.set_title(f"Fig. {number}  GD from the random init: {params} ({kind})\n"
                 f"{tr['method']}, lr={tr['lr']}, {tr['steps']} steps, "
                 f"mean ± s.e. over {seeds} seeds", fontsize=9)
    plots.legend(ax, fontsize=7, loc="upper left")
    fig.tight_layout()
    ctx.saver.save(fig, name)
    info["seeds"] = seeds
    return info

