"""Figure primitives shared by the figure scripts (matplotlib, Agg backend).

Every figure is saved as PNG and PDF into one folder and logged to TensorBoard (an image under
its name) through :class:`FigureSaver`; axes are labelled, curves carry legend entries and the
parameters go into the titles.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

SIZE_COLORS = ("C0", "C1", "C2", "C3", "C4", "C5")


class FigureSaver:
    """Saves figures as ``<out>/<name>.png`` and ``.pdf`` and logs them to TensorBoard.

    The TensorBoard events go to ``<out>/tensorboard`` (``tensorboard --logdir`` on it shows
    every figure under the IMAGES tab); ``dpi`` is the PNG's resolution (the figure's own for
    TensorBoard). Use as a context manager so the writer is closed.
    """

    def __init__(self, out_dir: str | Path, tensorboard: bool = True, dpi: int = 150):
        self.out_dir = Path(out_dir)
        self.dpi = dpi
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.writer = None
        if tensorboard:
            from bbp_torch.tensorboard import FigureLog

            self.writer = FigureLog(self.out_dir / "tensorboard")
        self.saved: list[Path] = []

    def save(self, fig, name: str) -> list[Path]:
        """Write ``fig`` as PNG and PDF, log it to TensorBoard, close it; returns the files."""
        paths = [self.out_dir / f"{name}.png", self.out_dir / f"{name}.pdf"]
        fig.savefig(paths[0], dpi=self.dpi)
        fig.savefig(paths[1])
        if self.writer is not None:
            self.writer.add(name, fig)
        plt.close(fig)
        self.saved.extend(paths)
        return paths

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def figure(nrows: int = 1, ncols: int = 1, width: float = 5.0, height: float = 3.8, **kw):
    """``(fig, axes)`` with panels of ``width x height`` inches; ``axes`` is always 2-D."""
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows),
                             squeeze=False, **kw)
    return fig, axes


def main_and_side(n_side: int = 3, width: float = 11.0, height: float = 6.4,
                  ratio: float = 2.2):
    """``(fig, main, side)``: a large panel on the left and ``n_side`` small ones stacked on
    its right (the paper's insets, drawn beside the main panel so that no curve is hidden)."""
    fig = plt.figure(figsize=(width, height))
    grid = fig.add_gridspec(n_side, 2, width_ratios=(ratio, 1))
    main = fig.add_subplot(grid[:, 0])
    side = [fig.add_subplot(grid[i, 1]) for i in range(n_side)]
    return fig, main, side


TYPE_STYLE = {  # how a point shows its transition type (apart from the colours of curves)
    "continuous": {"color": "k", "marker": "o", "label": "continuous"},
    "discontinuous": {"color": "0.35", "marker": "s", "mfc": "white", "label": "discontinuous"},
}


def split_at(x, y, x_switch: float | None, y_switch: float | None = None):
    """``((x, y) below, (x, y) above)`` of a curve cut at ``x_switch``, the point
    ``(x_switch, y_switch)`` inserted into both halves (``y`` interpolated when ``y_switch`` is
    None) so that they join; with no switch inside the curve everything is "below"."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x_switch is None or not np.isfinite(x_switch) or not x[0] < x_switch < x[-1]:
        return (x, y), (x[:0], y[:0])
    if y_switch is None:
        y_switch = float(np.interp(x_switch, x, y))
    left, right = x < x_switch, x > x_switch
    return ((np.r_[x[left], x_switch], np.r_[y[left], y_switch]),
            (np.r_[x_switch, x[right]], np.r_[y_switch, y[right]]))


def params_text(**params) -> str:
    """``p=2, p*=1, a=0.7``: keyword ``p_star`` is written ``p*``; floats shortened."""
    parts = []
    for key, value in params.items():
        label = "p*" if key == "p_star" else key
        parts.append(f"{label}={value:.4g}" if isinstance(value, float) else f"{label}={value}")
    return ", ".join(parts)


def errorbar_curves(ax, curves: dict, xlabel: str, ylabel: str, fmt: str = "o-") -> None:
    """One error-bar curve per legend label: ``curves[label] = (x, y, yerr)``."""
    for i, (label, (x, y, yerr)) in enumerate(curves.items()):
        ax.errorbar(x, y, yerr=yerr, fmt=fmt, ms=3.5, lw=1.0, capsize=2,
                    color=SIZE_COLORS[i % len(SIZE_COLORS)], label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)


def theory_curve_with_jump(ax, x, y, jump_at: float | None, **style) -> None:
    """Plot ``y(x)`` as one line, broken at ``jump_at`` so a discontinuity is not bridged."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if jump_at is None:
        ax.plot(x, y, **style)
        return
    left = x <= jump_at
    ax.plot(x[left], y[left], **style)
    style.pop("label", None)
    ax.plot(x[~left], y[~left], **style)


def vline(ax, x: float | None, label: str | None = None, **style) -> None:
    """A labelled vertical marker (skipped when ``x`` is None or not finite)."""
    if x is None or not np.isfinite(x):
        return
    style = {"color": "k", "ls": "--", "lw": 1.0, **style}
    ax.axvline(x, label=label, **style)


def rug(ax, values, height: float = 0.04, label: str | None = None, **style) -> None:
    """Short ticks at the bottom of ``ax`` at ``values`` (axes-fraction height)."""
    style = {"color": "C3", "lw": 1.0, **style}
    transform = ax.get_xaxis_transform()
    for i, v in enumerate(np.asarray(values, dtype=float)):
        ax.plot([v, v], [0, height], transform=transform, label=label if i == 0 else None,
                **style)


def histogram_density(values, lo: float, hi: float, bins: int, total: int | None = None):
    """``(centers, density)`` of ``values`` on ``[lo, hi]``, normalised by ``total`` values.

    With ``total`` the count of all values (also those outside the window) the density of a
    zoomed window keeps the normalisation of the whole spectrum, so it compares with the
    theory density directly.
    """
    values = np.asarray(values, dtype=float)
    counts, edges = np.histogram(values, bins=bins, range=(lo, hi))
    total = len(values) if total is None else total
    width = edges[1] - edges[0]
    return 0.5 * (edges[1:] + edges[:-1]), counts / (total * width)


def legend(ax, **kw) -> None:
    """``ax.legend(**kw)`` when the axes hold labelled artists (an empty panel gets none)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**kw)


def small_labels(axes, ticks: float = 6.5, labels: float = 7) -> None:
    """Tick labels of ``ticks`` points and axis labels of ``labels`` points on every axes of
    ``axes``: the dense panels of the many-column extra figures."""
    for ax in axes:
        ax.tick_params(labelsize=ticks)
        ax.xaxis.label.set_size(labels)
        ax.yaxis.label.set_size(labels)


def note(ax, text: str, loc: str = "upper left", fontsize: int = 7) -> None:
    """A small text box inside the axes."""
    x, ha = (0.03, "left") if "left" in loc else (0.97, "right")
    y, va = (0.97, "top") if "upper" in loc else (0.03, "bottom")
    ax.text(x, y, text, transform=ax.transAxes, ha=ha, va=va, fontsize=fontsize,
            bbox={"boxstyle": "round", "fc": "white", "ec": "0.7", "alpha": 0.85})
