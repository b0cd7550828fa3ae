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

from dataclasses import dataclass

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


@dataclass
class Result:
    """The numbers of Fig. 3, one panel per a (keys ``str(a)``): ``panels[a]`` = ``{"alpha_bbp",
    "transition", "N", "seeds", "crossings", "logistic_fits": {N: [center, width]}}`` (and
    ``"alpha0": {"N", "value", "err"}`` when discontinuous), ``curves[a][str(N)]`` =
    ``{"alpha", "phi", "lo", "hi", "n"}`` (phi with its Wilson interval)."""

    panels: dict[str, dict]
    curves: dict[str, dict]


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


def compute(ctx: Context) -> Result:
    """phi per a and N from preset ``fig3_phi``'s records (scope ``all``), the crossings of
    consecutive sizes and, when discontinuous, alpha_0 at the largest N."""
    table = ctx.table(PRESETS[0])
    if len(table) and "metrics.best_overlap_scope" in table:
        table = table[table["metrics.best_overlap_scope"] == "all"]
    result = Result(panels={}, curves={})
    for a in (A1_CONT, A1_DISC):
        kind = theory.transition_type(P, P_STAR, a)
        at_a = table[np.isclose(table["config.problem.a"].astype(float), a)] if len(table) \
            else table
        sizes = sorted(int(n) for n in at_a["config.problem.N"].unique()) if len(at_a) else []
        curves = {N: phi_curve(at_a, a, N) for N in sizes}
        entry = {"alpha_bbp": theory.alpha_bbp(P, P_STAR, a), "transition": kind, "N": sizes,
                 "seeds": min((min(c["n"]) for c in curves.values()), default=0),
                 "crossings": crossings(curves, sizes, ctx.settings["n_boot"]),
                 "logistic_fits": {str(N): [float(v) for v in curves[N]["fit"]]
                                   for N in sizes}}
        if kind == "discontinuous" and sizes:
            est = estimates(at_a, {"config.problem.a": a, "config.problem.N": sizes[-1]},
                            ctx.settings["n_boot"])
            entry["alpha0"] = {"N": sizes[-1], "value": est["alpha0"], "err": est["alpha0_err"]}
        result.panels[str(a)] = entry
        result.curves[str(a)] = {
            str(N): {key: np.asarray(c[key], dtype=float).tolist()
                     for key in ("alpha", "phi", "lo", "hi")} | {"n": [int(n) for n in c["n"]]}
            for N, c in curves.items()}
    return result


def plot(result: Result, saver) -> dict:
    """Draw Fig. 3; returns per a: alpha_BBP, the type, the crossings and alpha_0."""
    fig, axes = plots.figure(1, 2, width=5.4, height=4.3, sharey=True)
    for ax, (a, entry) in zip(axes[0], result.panels.items(), strict=True):
        kind, a_bbp, seeds = entry["transition"], entry["alpha_bbp"], entry["seeds"]
        for i, (N, c) in enumerate(result.curves[a].items()):
            color = plots.SIZE_COLORS[i % len(plots.SIZE_COLORS)]
            x, phi = np.asarray(c["alpha"]), np.asarray(c["phi"])
            err = np.vstack([phi - np.asarray(c["lo"]), np.asarray(c["hi"]) - phi])
            ax.errorbar(x, phi, yerr=err, fmt="o", ms=3.5, capsize=2, color=color,
                        label=f"N={N}")
            fit = entry["logistic_fits"][N]
            if np.isfinite(fit[0]):
                xs = np.linspace(x.min(), x.max(), 100)
                ax.plot(xs, logistic(xs, *fit), "-", color=color, lw=1.0)
        shown = [c for c in entry["crossings"] if np.isfinite(c["alpha"])]
        for k, c in enumerate(shown):
            ax.errorbar([c["alpha"]], [c["phi"]], xerr=np.nan_to_num([c["err"]]), fmt="s",
                        ms=6, mfc="none", color="k", capsize=2,
                        label="crossing of the fits of consecutive N" if k == 0 else None)
        plots.vline(ax, a_bbp, rf"$\alpha_{{BBP}}={a_bbp:.3f}$ ($N=\infty$)")
        alpha0 = entry.get("alpha0")
        if alpha0 and np.isfinite(alpha0["value"]):
            value, err = alpha0["value"], alpha0["err"] if np.isfinite(alpha0["err"]) else 0.0
            ax.axvspan(value - err, value + err, color="C3", alpha=0.15)
            plots.vline(ax, value, rf"$\alpha_0={value:.2f}\pm{err:.2f}$ (N={alpha0['N']})",
                        color="C3", ls="-.")
        ax.set_ylim(-0.03, 1.03)
        ax.set_xlabel(r"data ratio $\alpha = M/N$")
        ax.set_ylabel(r"$\varphi$: P(best eigenvector is the bottom one)")
        ax.set_title(f"{plots.params_text(p=P, p_star=P_STAR, a=float(a))}: {kind}, "
                     f"{seeds} seeds per point\nWilson error bars; lines: logistic fits",
                     fontsize=9)
        plots.legend(ax, fontsize=7, loc="lower right")
    fig.suptitle(r"Fig. 3  $\varphi$: how often the eigenvector with the largest teacher "
                 "overlap is the bottom one", fontsize=10)
    fig.tight_layout()
    saver.save(fig, NAME)
    return result.panels


def draw(ctx: Context) -> dict:
    """Draw Fig. 3 (its numbers written to tables/); returns its summary."""
    return plot(ctx.result(NAME, compute, Result, PRESETS), ctx.saver)
