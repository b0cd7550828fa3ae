"""TensorBoard logging of a run record: scalars, eigenvalue histogram, spectrum figure, hparams.

Everything goes into the run's own folder (one writer). The hparams summaries are written into
that writer directly rather than through ``SummaryWriter.add_hparams`` (which opens a separate
sub-run), so a Hydra multirun folder compares cleanly in TensorBoard's HParams tab.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bbp_torch.results import flatten

# Metrics shown as scalars and as HParams metrics (when present and numeric).
SCALAR_METRICS = (
    "lambda_min", "lambda_edge", "gap", "overlap", "overlap_subspace", "overlap_student",
    "theory.lambda_edge", "theory.lambda_outlier", "theory.overlap", "theory.alpha_bbp",
)


def _numeric(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and np.isfinite(x)


def hparam_values(config: dict) -> dict:
    """The flattened config, with values TensorBoard accepts (numbers, strings, bools)."""
    out = {}
    for key, value in flatten(config).items():
        if isinstance(value, (int, float, str, bool)):
            out[key] = value
        elif value is None:
            out[key] = "None"
    return out


def spectrum_figure(values: np.ndarray, bottom: np.ndarray, edge: float | None = None,
                    theory: dict | None = None, bins: int = 60, title: str = ""):
    """Histogram of the spectrum (left) and a zoom on its bottom (right), with the bottom
    eigenvalues, the edge estimate, and the theory's density, edge and outlier marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    values = np.asarray(values)
    theory = theory or {}
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    marks = [float(x) for x in bottom] + [x for x in (edge, theory.get("lambda_edge"),
                                                      theory.get("lambda_outlier")) if x]
    lo = min(marks + [float(values[0])])
    hi = float(np.quantile(values, 0.08))  # the zoom: the bottom of the bulk
    pad = 0.1 * (hi - lo)
    for ax, window in zip(axes, (None, (lo - pad, hi)), strict=True):
        shown = values if window is None else values[values <= window[1]]
        ax.hist(shown, bins=bins, range=window, color="0.75",
                weights=np.full(len(shown), 1.0 / (len(values) * ((window[1] - window[0])
                                                                   if window else np.ptp(values))
                                                   / bins)),
                label="eigenvalues of H")
        for i, lam in enumerate(bottom):
            ax.axvline(lam, color="C3", lw=0.8, alpha=0.8,
                       label="bottom eigenvalues" if i == 0 else None)
        if edge is not None:
            ax.axvline(edge, color="C0", ls="--", lw=1.2, label="edge estimate")
        if theory.get("lambda_edge") is not None:
            ax.axvline(theory["lambda_edge"], color="C2", ls=":", lw=1.5, label="theory edge")
        if theory.get("lambda_outlier") is not None:
            ax.axvline(theory["lambda_outlier"], color="C1", ls=":", lw=1.5,
                       label="theory outlier")
        curve = theory.get("density_curve")
        if curve:
            lam, rho = np.asarray(curve["lambda"]), np.asarray(curve["rho"])
            keep = slice(None) if window is None else (lam <= window[1])
            ax.plot(lam[keep], rho[keep], color="C2", lw=1.2, label="theory density")
        if window is not None:
            ax.set_xlim(*window)
        ax.set_xlabel(r"eigenvalue $\lambda$")
        ax.set_ylabel("density")
    axes[0].set_title(title, fontsize=9)
    axes[1].set_title("bottom of the spectrum", fontsize=9)
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    return fig


def log_run(run_dir: str | Path, record: dict, spectrum: np.ndarray | None = None,
            bins: int = 60, figure: bool = True, theory_density: dict | None = None) -> None:
    """Write the record's metrics, histogram, figure and hparams as TensorBoard events.

    ``theory_density`` (``{"lambda": [...], "rho": [...]}``) is drawn over the histogram.
    """
    from torch.utils.tensorboard import SummaryWriter
    from torch.utils.tensorboard.summary import hparams

    metrics = flatten(record.get("metrics", {}))
    writer = SummaryWriter(log_dir=str(run_dir))
    try:
        for name in SCALAR_METRICS:
            if _numeric(metrics.get(name)):
                writer.add_scalar(f"metrics/{name}", metrics[name], 0)
        bottom = np.asarray(record["metrics"].get("bottom_eigenvalues", []), dtype=float)
        for i, lam in enumerate(bottom):
            writer.add_scalar("spectrum/bottom_eigenvalues", lam, i)
        for i, m in enumerate(record["metrics"].get("bottom_overlaps", [])):
            writer.add_scalar("spectrum/bottom_overlaps", m, i)
        density = record["metrics"].get("density")
        if spectrum is None and density:  # matrix-free run: the SLQ density instead
            from bbp_torch.density import log_density

            log_density(writer, density["edges"], density["density"], n=density["n"])
        if spectrum is not None and len(spectrum):
            writer.add_histogram("spectrum/eigenvalues", np.asarray(spectrum), 0, bins=bins)
            if figure:
                import matplotlib.pyplot as plt

                pr = record["config"]["problem"]
                title = (f"N={pr['N']} p={pr['p']} p*={pr['p_star']} a={pr['a']} "
                         f"alpha={pr['alpha']} ({record['config']['hessian']['kind']})")
                theory = dict(record["metrics"].get("theory") or {})
                if theory_density:
                    theory["density_curve"] = theory_density
                fig = spectrum_figure(np.asarray(spectrum), bottom, metrics.get("lambda_edge"),
                                      theory, bins=bins, title=title)
                writer.add_figure("spectrum/figure", fig, 0)
                plt.close(fig)
        hp_metrics = {f"metrics/{k}": float(metrics[k]) for k in SCALAR_METRICS
                      if _numeric(metrics.get(k))}
        exp, ssi, sei = hparams(hparam_values(record["config"]), hp_metrics)
        for summary in (exp, ssi, sei):
            writer.file_writer.add_summary(summary)
    finally:
        writer.close()
