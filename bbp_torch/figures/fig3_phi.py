"""Fig. 3: phi vs alpha for p = p* = 1 at several N, a continuous and a discontinuous case.

phi = the fraction of seeds in which the eigenvector with the largest teacher overlap, among
every eigenvector (``metrics.best_overlap_index``, scope ``all``), is the bottom one; Wilson
error bars (:func:`bbp_torch.estimators.phi_estimate`), and thin lines: each curve's binomial
maximum-likelihood logistic fit. Vertical lines: alpha_BBP at N = infinity; squares: where the
fits of consecutive sizes cross (:func:`bbp_torch.estimators.phi_crossing`, bootstrap error
over seeds; the model-free crossing of the data is in the summary too); in the discontinuous
panel also alpha_0 (the m^2 fit of Fig. 4 on the same runs' bottom-eigenvector overlap) at the
largest N, with its error as a band.
"""

from __future__ import annotations

import numpy as np

from bbp_torch import plots, theory
from bbp_torch.estimators import crossing_error, logistic, logistic_fit, phi_crossing, phi_estimate
from bbp_torch.figures.common import A1_CONT, A1_DISC, Context, estimates, samples

KEY = "fig3"
ORDER = 3
NAME = "fig3_phi"
PRESETS = ("fig3_phi",)
P = P_STAR = 1
INDEX = "metrics.best_overlap_index"


def phi_curve(table, a: float, N: int) -> dict:
    """phi with its Wilson interval at each alpha, and the per-seed 0/1 indicators."""
    alphas, indices = samples(table, {"config.problem.a": a, "config.problem.N": N}, INDEX)
    est = [phi_estimate(v) for v in indices]
    phi = np.array([e["phi"] for e in est])
    n = [e["n"] for e in est]
    return {"alpha": alphas, "phi": phi, "lo": np.array([e["lo"] for e in est]),
            "hi": np.array([e["hi"] for e in est]), "n": n, "fit": logistic_fit(alphas, phi, n),
            "bottom": [(v == 0).astype(float) for v in indices]}


def crossings(curves: dict, sizes: list[int], n_boot: int) -> list[dict]:
    """Where the phi curves of consecutive sizes cross (on their common alphas): the logistic
    fits' crossing with its bootstrap error, and the model-free one."""
    out = []
    for small, large in zip(sizes[:-1], sizes[1:], strict=True):
        cs, cl = curves[small], curves[large]
        common = np.intersect1d(cs["alpha"], cl["alpha"])
        bs = [b for b, a in zip(cs["bottom"], cs["alpha"], strict=True) if a in common]
        bl = [b for b, a in zip(cl["bottom"], cl["alpha"], strict=True) if a in common]
        value = phi_crossing(common, bs, bl)
        center, width = cl["fit"]
        height = float(logistic(value, center, width)) if np.isfinite(value) else float("nan")
        out.append({"N": [int(small), int(large)], "alpha": value,
                    "err": crossing_error(common, bs, bl, n_boot), "phi": height,
                    "alpha_interpolated": phi_crossing(common, bs, bl, "interpolation"),
                    "err_interpolated": crossing_error(common, bs, bl, n_boot,
                                                       "interpolation")})
    return out


def draw(ctx: Context) -> dict:
    """Draw Fig. 3; returns per a: alpha_BBP, the type, the crossings and alpha_0."""
    table = ctx.table(PRESETS[0])
    if len(table) and "metrics.best_overlap_scope" in table:
        table = table[table["metrics.best_overlap_scope"] == "all"]
    fig, axes = plots.figure(1, 2, width=5.4, height=4.3, sharey=True)
    info = {}
    for ax, a in zip(axes[0], (A1_CONT, A1_DISC), strict=True):
        a_bbp = theory.alpha_bbp(P, P_STAR, a)
        kind = theory.transition_type(P, P_STAR, a)
        at_a = table[np.isclose(table["config.problem.a"].astype(float), a)] if len(table) \
            else table
        sizes = sorted(int(n) for n in at_a["config.problem.N"].unique()) if len(at_a) else []
        curves = {N: phi_curve(at_a, a, N) for N in sizes}
        seeds = min((min(c["n"]) for c in curves.values()), default=0)
        for i, N in enumerate(sizes):
            c = curves[N]
            color = plots.SIZE_COLORS[i % len(plots.SIZE_COLORS)]
            err = np.vstack([c["phi"] - c["lo"], c["hi"] - c["phi"]])
            ax.errorbar(c["alpha"], c["phi"], yerr=err, fmt="o", ms=3.5, capsize=2,
                        color=color, label=f"N={N}")
            if np.isfinite(c["fit"][0]):
                x = np.linspace(c["alpha"].min(), c["alpha"].max(), 100)
                ax.plot(x, logistic(x, *c["fit"]), "-", color=color, lw=1.0)
        found = crossings(curves, sizes, ctx.settings["n_boot"])
        shown = [c for c in found if np.isfinite(c["alpha"])]
        for k, c in enumerate(shown):
            ax.errorbar([c["alpha"]], [c["phi"]], xerr=np.nan_to_num([c["err"]]), fmt="s",
                        ms=6, mfc="none", color="k", capsize=2,
                        label="crossing of the fits of consecutive N" if k == 0 else None)
        plots.vline(ax, a_bbp, rf"$\alpha_{{BBP}}={a_bbp:.3f}$ ($N=\infty$)")
        entry = {"alpha_bbp": a_bbp, "transition": kind, "N": sizes, "seeds": seeds,
                 "crossings": found,
                 "logistic_fits": {str(N): list(curves[N]["fit"]) for N in sizes}}
        if kind == "discontinuous" and sizes:
            est = estimates(at_a, {"config.problem.a": a, "config.problem.N": sizes[-1]},
                            ctx.settings["n_boot"])
            entry["alpha0"] = {"N": sizes[-1], "value": est["alpha0"], "err": est["alpha0_err"]}
            if np.isfinite(est["alpha0"]):
                err = est["alpha0_err"] if np.isfinite(est["alpha0_err"]) else 0.0
                ax.axvspan(est["alpha0"] - err, est["alpha0"] + err, color="C3", alpha=0.15)
                plots.vline(ax, est["alpha0"],
                            rf"$\alpha_0={est['alpha0']:.2f}\pm{err:.2f}$ (N={sizes[-1]})",
                            color="C3", ls="-.")
        ax.set_ylim(-0.03, 1.03)
        ax.set_xlabel(r"data ratio $\alpha = M/N$")
        ax.set_ylabel(r"$\varphi$: P(best eigenvector is the bottom one)")
        ax.set_title(f"{plots.params_text(p=P, p_star=P_STAR, a=a)}: {kind}, "
                     f"{seeds} seeds per point\nWilson error bars; lines: logistic fits",
                     fontsize=9)
        plots.legend(ax, fontsize=7, loc="lower right")
        info[str(a)] = entry
    fig.suptitle(r"Fig. 3  $\varphi$: how often the eigenvector with the largest teacher "
                 "overlap is the bottom one", fontsize=10)
    fig.tight_layout()
    ctx.saver.save(fig, NAME)
    return info
