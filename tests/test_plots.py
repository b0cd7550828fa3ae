"""The drawing helpers (bbp_torch.plots): a figure saved as PNG, PDF and a TensorBoard image; a
curve cut where the transition changes type, its halves joined; a histogram that keeps the
normalisation of the whole spectrum."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from bbp_torch import plots


def test_a_saved_figure_is_written_and_logged(tmp_path):
    with plots.FigureSaver(tmp_path, dpi=50) as saver:
        fig, ax = plots.figure()
        ax[0, 0].plot([0, 1], [0, 1])
        files = saver.save(fig, "line")
    assert [f.name for f in files] == ["line.png", "line.pdf"] and saver.saved == files
    assert all(f.stat().st_size > 0 for f in files)
    assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))


def test_a_curve_cut_at_a_switch_joins_at_it():
    x, y = np.arange(5.0), np.arange(5.0) ** 2
    (xl, yl), (xr, yr) = plots.split_at(x, y, 2.5)
    assert xl[-1] == xr[0] == 2.5 and yl[-1] == yr[0] == pytest.approx(6.5)  # interpolated
    assert len(xl) + len(xr) == len(x) + 2
    (xl, yl), (xr, _) = plots.split_at(x, y, 9.0)  # no switch inside: everything below
    assert np.array_equal(xl, x) and len(xr) == 0


def test_a_zoomed_histogram_keeps_the_whole_normalisation():
    values = (np.arange(1000) + 0.5) / 1000  # uniform on [0, 1], none on a bin edge
    centers, density = plots.histogram_density(values, 0, 1, 10)
    assert np.sum(density * 0.1) == pytest.approx(1.0)
    _, zoomed = plots.histogram_density(values, 0, 0.5, 5, total=len(values))
    assert np.sum(zoomed * 0.1) == pytest.approx(0.5)  # half the mass lies in the window
    assert centers[0] == pytest.approx(0.05)


def test_params_text_reads_back_each_value():
    text = plots.params_text(p=2, p_star=1, a=0.7)
    assert dict(part.split("=") for part in text.split(", ")) == {"p": "2", "p*": "1",
                                                                     "a": "0.7"}


def test_small_labels_sets_the_tick_and_axis_label_sizes_of_every_axes():
    fig, grid = plots.figure(1, 2)
    axes = grid[0]
    for ax in axes:
        ax.set_xlabel("x")
        ax.set_ylabel("y")
    plots.small_labels(axes, ticks=5, labels=6)
    for ax in axes:
        assert ax.xaxis.label.get_size() == 6 and ax.yaxis.label.get_size() == 6
        assert ax.xaxis.get_major_ticks()[0].label1.get_size() == 5
    plt.close(fig)
