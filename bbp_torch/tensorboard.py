"""Every TensorBoard writer of the package: runs of the study and of training, sweeps, theory
curves, figures.

A run's events go into the run's own folder (one writer): scalars, the eigenvalue histogram (or
the SLQ density), the spectrum figure, and the run as an HParams session: the fields that
identify it (:data:`bbp_torch.config.NOT_IDENTIFYING` left out), booleans as booleans, written
into that writer directly rather than through ``SummaryWriter.add_hparams`` (which opens a
separate sub-run and writes booleans as numbers).

A sweep's folder gets, at the sweep's end, the sweep-level run ``<sweep folder>/sweep``
(:func:`log_sweep`): the HParams experiment, which lists the swept fields first (the table
opens on them), and each main metric against the swept parameter. A run writes no experiment
of its own: TensorBoard takes the first one it finds, and infers one from the sessions (fields
that differ first) where there is none, as in a sweep still running.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bbp_torch import metrics as schema
from bbp_torch.config import run_identity
from bbp_torch.results import find_records, flatten, read_record


def _numeric(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and np.isfinite(x)


def hparam_values(config: dict) -> dict:
    """The fields of a run's config that identify it (:func:`bbp_torch.config.run_identity`),
    flattened: numbers, strings and booleans; unset fields (None) left out."""
    return {key: value for key, value in flatten(run_identity(config)).items()
            if isinstance(value, (int, float, str, bool))}


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


def _hparams_summary(tag: str, **plugin_data):
    """A summary of the HParams plugin (``experiment``, ``session_start_info`` or
    ``session_end_info``), built from TensorBoard's own protos."""
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.plugins.hparams import metadata, plugin_data_pb2

    data = plugin_data_pb2.HParamsPluginData(version=metadata.PLUGIN_DATA_VERSION,
                                             **plugin_data)
    return Summary(value=[Summary.Value(
        tag=tag, metadata=metadata.create_summary_metadata(data))])


def _write_hparams(writer, config: dict) -> None:
    """The run as an HParams session: its identifying fields (:func:`hparam_values`), then its
    end; its metrics are its ``metrics/*`` scalars."""
    from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2

    start = plugin_data_pb2.SessionStartInfo()
    for key, value in hparam_values(config).items():
        kind = {bool: "bool_value", str: "string_value"}.get(type(value), "number_value")
        setattr(start.hparams[key], kind, value)
    writer.file_writer.add_summary(_hparams_summary(metadata.SESSION_START_INFO_TAG,
                                                    session_start_info=start))
    end = plugin_data_pb2.SessionEndInfo(status=api_pb2.STATUS_SUCCESS)
    writer.file_writer.add_summary(_hparams_summary(metadata.SESSION_END_INFO_TAG,
                                                    session_end_info=end))


def log_run(run_dir: str | Path, result) -> None:
    """Write a study run (:class:`bbp_torch.study.StudyResult`) as TensorBoard events: the
    record's metrics, the histogram of ``result.spectrum`` (or the SLQ density), the spectrum
    figure with ``result.theory_density`` drawn over it, and the hparams. The scalars are the
    study metrics :mod:`bbp_torch.metrics` marks for TensorBoard (``metrics/<name>``)."""
    record, spectrum = result.record, result.spectrum
    bins = record["config"]["logging"]["histogram_bins"]
    figure = record["config"]["logging"]["figures"]
    theory_density = result.theory_density
    metrics = flatten(record.get("metrics", {}))
    writer = _writer(run_dir)
    try:
        for name in schema.tensorboard_scalars("study"):
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
        _write_hparams(writer, record["config"])
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


def _unique(names) -> tuple[str, ...]:
    """``names`` without repeats, in order (a metric of both kinds of record once)."""
    return tuple(dict.fromkeys(names))


def _number(x) -> float | None:
    if isinstance(x, bool):
        return float(x)
    return float(x) if _numeric(x) else None


def log_training(run_dir: str | Path, result) -> None:
    """Write a training run (:class:`bbp_torch.study.TrainResult`) as TensorBoard events: the
    series per tracked step under their group (``train/``, ``hessian/``), the scalars as
    ``metrics/<name>`` (both as :mod:`bbp_torch.metrics` marks them), then the hparams."""
    record = result.record
    metrics = record["metrics"]
    series = metrics["series"]
    writer = _writer(run_dir)
    try:
        plotted = [m for m in schema.series() if m.tensorboard and m.key in series]
        for i, step in enumerate(series["step"]):
            for m in plotted:
                value = _number(series[m.key][i])
                if value is not None:
                    writer.add_scalar(f"{m.group}/{m.key}", value, step)
        flat = flatten({k: v for k, v in metrics.items() if k != "series"})
        hp_metrics = {f"metrics/{k}": _number(flat.get(k))
                      for k in schema.tensorboard_scalars("training")}
        hp_metrics = {k: v for k, v in hp_metrics.items() if v is not None}
        for name, value in hp_metrics.items():
            writer.add_scalar(name, value, 0)
        _write_hparams(writer, record["config"])
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


# ----------------------------------------------------------------------------- sweeps

SWEEP_RUN = "sweep"  # the sweep-level run's folder, beside the runs of a sweep
SWEEP_X = "problem.alpha"  # the curves' abscissa when it is swept


def _hparam_info(name: str, values: list, swept: bool):
    """The experiment's entry for one field: its type, the values seen, whether it differs."""
    from google.protobuf import struct_pb2
    from tensorboard.plugins.hparams import api_pb2

    values = [v for v in values if v is not None]
    info = api_pb2.HParamInfo(name=name, differs=swept)
    if all(isinstance(v, bool) for v in values):
        info.type = api_pb2.DATA_TYPE_BOOL
        info.domain_discrete.extend(struct_pb2.Value(bool_value=v) for v in sorted(set(values)))
    elif all(isinstance(v, (int, float)) for v in values):
        info.type = api_pb2.DATA_TYPE_FLOAT64
        info.domain_interval.min_value = float(min(values))
        info.domain_interval.max_value = float(max(values))
    else:
        info.type = api_pb2.DATA_TYPE_STRING
        info.domain_discrete.extend(struct_pb2.Value(string_value=str(v))
                                    for v in sorted({str(v) for v in values}))
    return info


def _x_field(swept: list[str], table) -> str | None:
    """The curves' abscissa: ``problem.alpha`` when swept, else the first numeric swept field
    other than ``seed`` and ``problem.N``, else ``problem.N`` when swept."""
    import pandas as pd

    numeric = [k for k in swept if k != "seed" and pd.api.types.is_numeric_dtype(table[k])
               and not pd.api.types.is_bool_dtype(table[k])]
    order = [SWEEP_X] + [k for k in numeric if k != "problem.N"] + ["problem.N"]
    return next((k for k in order if k in numeric), None)


def log_sweep(sweep_dir: str | Path, fields=None) -> Path | None:
    """Write the sweep-level run ``<sweep_dir>/sweep`` from the ok records below ``sweep_dir``;
    returns its folder, or None when there is no ok record.

    Swept: the identifying fields (:func:`hparam_values`) whose value differs between the runs.
    The HParams experiment lists the swept fields of ``fields`` (every swept field when
    ``fields`` is None), marked as differing, then the other fields of ``fields`` (what the
    command line set), and the runs' ``metrics/*`` scalars.

    Curves, against x (:func:`_x_field`): one run per value of ``problem.N`` and of the other
    swept fields (``seed`` aside), with ``sweep/<metric>_vs_<x>`` the mean over seeds and
    ``sweep_stderr/<metric>_vs_<x>`` its standard error (0 for one seed); the run ``theory``
    the N = infinity prediction of the records (:func:`bbp_torch.metrics.theory_of`) where
    there is one. The step is x for an integer field, ``round(1000 x)`` for a float one (as
    ``bbp-theory curves``); the image ``sweep/figure`` draws the same against x itself. The
    metrics are those :mod:`bbp_torch.metrics` marks for TensorBoard, of either kind of record.
    """
    import pandas as pd
    from tensorboard.plugins.hparams import api_pb2, metadata

    sweep_dir = Path(sweep_dir)
    out = sweep_dir / SWEEP_RUN
    records = [r for r in (read_record(path) for path in find_records([sweep_dir]))
               if r.get("status") == "ok"]
    if not records:
        return None
    hparams = [hparam_values(r["config"]) for r in records]
    table = pd.DataFrame(hparams)
    flat = [flatten(r["metrics"]) for r in records]
    scalars = _unique(schema.tensorboard_scalars("study") + schema.tensorboard_scalars("training"))
    measured = _unique(schema.measured_scalars("study") + schema.measured_scalars("training"))
    theory_of = schema.theory_of("study")
    names = [m for m in _unique(measured + tuple(theory_of.values()))
             if any(_number(f.get(m)) is not None for f in flat)]
    metrics = pd.DataFrame([{m: _number(f.get(m)) for m in names} for f in flat], dtype=float)
    swept = [k for k in table.columns if table[k].astype(str).nunique() > 1]
    listed = [k for k in swept if fields is None or k in fields]
    listed += sorted(k for k in (fields or ()) if k in table.columns and k not in listed)
    experiment = api_pb2.Experiment(
        hparam_infos=[_hparam_info(k, [h.get(k) for h in hparams], k in swept)
                      for k in listed],
        metric_infos=[api_pb2.MetricInfo(name=api_pb2.MetricName(tag=f"metrics/{m}"))
                      for m in names if m in scalars])
    for path in out.rglob("events.out.tfevents.*"):  # a sweep's end rewrites its run
        path.unlink()
    writer = _writer(out)
    try:
        writer.file_writer.add_summary(_hparams_summary(metadata.EXPERIMENT_TAG,
                                                        experiment=experiment))
        x = _x_field([k for k in swept if k in listed], table)
        if x is not None:
            _write_curves(out, writer, table.join(metrics), x, swept, listed,
                          [m for m in names if m in measured], theory_of)
    finally:
        writer.close()
    return out


def _write_curves(out: Path, writer, data, x: str, swept: list[str], listed: list[str],
                  measured: list[str], theory_of: dict[str, str]) -> None:
    """The curves of :func:`log_sweep`: scalars per group and the theory's (``theory_of``:
    measured -> prediction), the figure, a note on how to read them (into ``writer``, the
    sweep-level run)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    short = x.rsplit(".", 1)[-1]
    scale = 1 if pd.api.types.is_integer_dtype(data[x]) else 1000
    groups = ["problem.N"] * (x != "problem.N") + [
        k for k in swept if k not in ("seed", x, "problem.N")]
    # a run is named by its group's listed fields (and N), by all of them where that is not
    # enough to tell the groups apart
    shown = [k for k in groups if k in listed or k == "problem.N"]
    if groups and (not shown or data.groupby(shown).ngroups != data.groupby(groups).ngroups):
        shown = groups

    def name(keys, values, first="") -> str:
        parts = [first] * bool(first) + [f"{k}={v}" for k, v in zip(keys, values, strict=True)
                                          if k in shown]
        return ",".join(parts) or "measured"

    scalars: dict[str, list[tuple[str, float, int]]] = {}  # run -> (tag, value, step)

    def write(run: str, prefix: str, column: str, series) -> None:
        scalars.setdefault(run, []).extend(
            (f"{prefix}/{column}_vs_{short}", float(y), int(round(scale * value)))
            for value, y in series.dropna().items())

    cols = min(3, len(measured))
    rows = -(-len(measured) // cols)
    fig, grid = plt.subplots(rows, cols, figsize=(3.8 * cols, 3.0 * rows), squeeze=False)
    for ax in grid.ravel()[len(measured):]:
        ax.set_visible(False)
    panels = grid.ravel()[:len(measured)]  # one per metric
    for key, part in (data.groupby(groups) if groups else [((), data)]):
        key = key if isinstance(key, tuple) else (key,)
        by_x = part.groupby(x)[measured]
        mean, sem = by_x.mean(), by_x.sem().fillna(0.0)
        for ax, m in zip(panels, measured, strict=True):
            write(name(groups, key), "sweep", m, mean[m])
            write(name(groups, key), "sweep_stderr", m, sem[m])
            ax.errorbar(mean.index, mean[m], yerr=sem[m], marker="o", ms=3, capsize=2,
                        label=name(groups, key))
    theory_groups = [k for k in groups if k != "problem.N"]
    for key, part in (data.groupby(theory_groups) if theory_groups else [((), data)]):
        key = key if isinstance(key, tuple) else (key,)
        for ax, m in zip(panels, measured, strict=True):
            if theory_of.get(m) in part.columns:
                curve = part.groupby(x)[theory_of[m]].mean()
                write(name(theory_groups, key, "theory"), "sweep", m, curve)
                ax.plot(curve.index, curve.values, "k--", lw=1,
                        label=name(theory_groups, key, "theory (N = inf)"))
    for run, rows in scalars.items():
        sub = _writer(out / run)
        try:
            for tag, y, step in rows:
                sub.add_scalar(tag, y, step)
        finally:
            sub.close()
    for ax, m in zip(panels, measured, strict=True):
        ax.set_xlabel(x)
        ax.set_title(m, fontsize=9)
    panels[0].legend(fontsize=7)
    fig.tight_layout()
    writer.add_figure("sweep/figure", fig, 0)
    plt.close(fig)
    step = short if scale == 1 else f"round(1000 {short})"
    writer.add_text("sweep/about", (
        f"Each metric against `{x}`, step = {step}: one run per {', '.join(shown) or 'sweep'}, "
        "the mean over seeds of the ok runs (`sweep/`) and its standard error "
        "(`sweep_stderr/`); the run `theory` holds the N = infinity prediction."), 0)


class FigureLog:
    """Figures as TensorBoard images under their names, in ``log_dir``."""

    def __init__(self, log_dir: str | Path):
        self.writer = _writer(log_dir)

    def add(self, name: str, fig) -> None:
        self.writer.add_figure(name, fig, global_step=0, close=False)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
