"""Every TensorBoard writer of the package: runs of the study and of training, theory curves,
figures.

A run's events go into the run's own folder (one writer): scalars, the eigenvalue histogram (or
the SLQ density), the spectrum figure, and the hparams summaries, written into that writer
directly rather than through ``SummaryWriter.add_hparams`` (which opens a separate sub-run), so a
Hydra multirun folder compares cleanly in TensorBoard's HParams tab.
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


def _writer(log_dir: str | Path):
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(log_dir=str(log_dir))


def _write_hparams(writer, config: dict, metrics: dict) -> None:
    from torch.utils.tensorboard.summary import hparams

    for summary in hparams(hparam_values(config), metrics):
        writer.file_writer.add_summary(summary)


def log_run(run_dir: str | Path, result) -> None:
    """Write a study run (:class:`bbp_torch.study.StudyResult`) as TensorBoard events: the
    record's metrics, the histogram of ``result.spectrum`` (or the SLQ density), the spectrum
    figure with ``result.theory_density`` drawn over it, and the hparams."""
    record, spectrum = result.record, result.spectrum
    bins = record["config"]["logging"]["histogram_bins"]
    figure = record["config"]["logging"]["figures"]
    theory_density = result.theory_density
    metrics = flatten(record.get("metrics", {}))
    writer = _writer(run_dir)
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
        _write_hparams(writer, record["config"], hp_metrics)
    finally:
        writer.close()


def log_density(writer, edges, density, n: int, tag: str = "spectrum/density_slq",
                step: int = 0) -> None:
    """Log a binned density as a histogram of ``n`` eigenvalues into ``writer``.

    The bins become bucket counts ``n * density * width``, so the plot reads like the dense
    path's ``add_histogram``.
    """
    edges = np.asarray(edges, dtype=float)
    counts = n * np.asarray(density, dtype=float) * np.diff(edges)
    centers = 0.5 * (edges[1:] + edges[:-1])
    writer.add_histogram_raw(
        tag, min=float(edges[0]), max=float(edges[-1]), num=int(round(counts.sum())),
        sum=float((counts * centers).sum()), sum_squares=float((counts * centers**2).sum()),
        bucket_limits=[float(x) for x in edges[1:]], bucket_counts=[float(x) for x in counts],
        global_step=step,
    )


# Series of a training run plotted under train/ and hessian/.
TRAIN_SCALARS = ("train_loss", "gen_error", "gen_error_exact", "overlap", "norm")
HESSIAN_SCALARS = ("lambda_min", "lambda_edge", "eigvec_overlap", "eigvec_overlap_subspace",
                   "eigvec_gradient_overlap")  # = bbp_torch.training.HESSIAN_KEYS
# Metrics of a training record shown as HParams metrics (when numeric).
TRAIN_HPARAM_METRICS = (
    "final_overlap", "final_gen_error", "success", "steps", "init.lambda_min", "init.overlap",
    "init.student_overlap", "init.warm_student_overlap", "theory.alpha_bbp",
)


def _number(x) -> float | None:
    if isinstance(x, bool):
        return float(x)
    return float(x) if _numeric(x) else None


def log_training(run_dir: str | Path, result) -> None:
    """Write a training run (:class:`bbp_torch.study.TrainResult`) as TensorBoard events:
    scalars per tracked step, then the hparams."""
    record = result.record
    metrics = record["metrics"]
    series = metrics["series"]
    writer = _writer(run_dir)
    try:
        for i, step in enumerate(series["step"]):
            for group, keys in (("train", TRAIN_SCALARS), ("hessian", HESSIAN_SCALARS)):
                for key in keys:
                    value = _number(series[key][i])
                    if value is not None:
                        writer.add_scalar(f"{group}/{key}", value, step)
        flat = flatten({k: v for k, v in metrics.items() if k != "series"})
        hp_metrics = {f"metrics/{k}": _number(flat.get(k)) for k in TRAIN_HPARAM_METRICS}
        hp_metrics = {k: v for k, v in hp_metrics.items() if v is not None}
        for name, value in hp_metrics.items():
            writer.add_scalar(name, value, 0)
        _write_hparams(writer, record["config"], hp_metrics)
    finally:
        writer.close()


def log_theory_curves(log_dir: str | Path, curves: list[dict], densities: dict) -> None:
    """Theory curves (``bbp-theory curves``): scalars theory/<name> with step = round(1000
    alpha); the density at each alpha as theory/density_alpha=<alpha> (and its lambda grid)
    with step = grid index."""
    writer = _writer(log_dir)
    try:
        for r in curves:
            step = int(round(1000 * r["alpha"]))
            for key in ("lambda_edge", "lambda_outlier", "overlap", "lambda_edge_rescaled",
                        "lambda_outlier_rescaled"):
                if r[key] is not None:
                    writer.add_scalar(f"theory/{key}", r[key], global_step=step)
        for alpha, (lam, rho) in densities.items():
            for i, (x, v) in enumerate(zip(lam, rho, strict=True)):
                writer.add_scalar(f"theory/density_alpha={alpha:g}", float(v), global_step=i)
                writer.add_scalar(f"theory/density_lambda_alpha={alpha:g}", float(x),
                                  global_step=i)
    finally:
        writer.close()


class FigureLog:
    """Figures as TensorBoard images under their names, in ``log_dir``."""

    def __init__(self, log_dir: str | Path):
        self.writer = _writer(log_dir)

    def add(self, name: str, fig) -> None:
        self.writer.add_figure(name, fig, global_step=0, close=False)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
