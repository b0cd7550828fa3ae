"""Extra figure: the onset of recovery by gradient descent under several protocols, side by side.

Does any reasonable descent start to recover the teacher at alpha_BBP of the Hessian at
initialization, as the paper states? Beside Figs. 9-10 (spherical GD at lr = 0.1, p = p* = 1,
a = 0.5 and 2.0), four protocols, one preset each: the same descent at a quarter of the
learning rate (``gd_flow_continuous``, the gradient-flow limit), plain GD in weight space
(``gd_plain_continuous``), and the overparametrized student of Fig. 1 (p = 2, p* = 1) at
a = 0.7 and 1.5 (``gd_p2_continuous``, ``gd_p2_discontinuous``).

One panel per protocol: the mean largest m^2 (q, the Gram overlap, for p = 2) against alpha
per N, alpha_BBP and the extrapolated onset (:func:`bbp_torch.figures.fig9_gd_continuous.
gd_onset`); the last panel: every protocol's onsets (Figs. 9-10's included) divided by its
alpha_BBP, against ``1/log N``, with their N = infinity values. The numbers go to the summary
file under ``gd_onset``.
"""

from __future__ import annotations

from dataclasses import dataclass

from bbp_torch import plots
from bbp_torch.figures.common import Context
from bbp_torch.figures.fig9_gd_continuous import (
    Onset,
    gd_onset,
    note_onsets,
    plot_curves,
    plot_extrapolation,
)

KEY = "extra_gd_protocols"
ORDER = 14
NAME = "extra_gd_protocols"
GD_PROTOCOLS = ("gd_flow_continuous", "gd_plain_continuous", "gd_p2_continuous",
                "gd_p2_discontinuous")
PRESETS = (*GD_PROTOCOLS, "fig9_gd_continuous", "fig10_gd_discontinuous")


@dataclass
class Result:
    """The numbers of the figure: ``onsets[preset]``, one :class:`~bbp_torch.figures.
    fig9_gd_continuous.Onset` per preset of :data:`PRESETS` (read back from JSON as dicts)."""

    onsets: dict[str, Onset]

    def __post_init__(self):
        self.onsets = {k: v if isinstance(v, Onset) else Onset(**v)
                       for k, v in self.onsets.items()}


def compute(ctx: Context) -> Result:
    """The onset of recovery of every protocol's preset (Figs. 9-10's included)."""
    return Result(onsets={preset: gd_onset(ctx, preset) for preset in PRESETS})


def label(onset: Onset) -> str:
    """A protocol in a few words: method, lr, p, a."""
    method = "spherical GD" if onset.method == "spherical_gd" else "plain GD"
    return f"{method} lr={onset.lr:g}, p={onset.p}, a={onset.a:g}"


def plot(result: Result, saver) -> dict:
    """Draw the figure; returns ``{preset: onset numbers}`` (as in the summary's gd_onset)."""
    onsets = result.onsets
    fig, axes = plots.figure(2, 3, width=3.7, height=3.0)
    cells = [axes[i // 3, i % 3] for i in range(6)]
    for ax, preset in zip(cells, GD_PROTOCOLS, strict=False):
        onset = onsets[preset]
        plot_curves(ax, onset)
        ext = onset.extrapolated
        ax.set_title(f"{label(onset)} ({onset.transition})\nat most {onset.steps} steps, "
                     f"{onset.seeds}-{onset.seeds_max} seeds per point, "
                     f"{sum(v['not_ok'] for v in onset.per_N.values())} diverged left out"
                     f"\nonset at N=inf ({ext['law']}): {ext['value']:.2f} ± {ext['err']:.2f}",
                     fontsize=7)
        ax.set_ylabel(r"largest $m^2$ by descent")
    # one legend for the four panels, in the empty cell (the onset's value is in each title)
    handles, names = cells[0].get_legend_handles_labels()
    generic = {"GD onset": r"GD onset, $N\to\infty$ (± error)",
               r"$\alpha_{BBP}": r"$\alpha_{BBP}$ at init"}
    names = [next((g for start, g in generic.items() if n.startswith(start)), n) for n in names]
    cells[4].axis("off")
    if handles:
        cells[4].legend(handles, names, loc="center", fontsize=7, frameon=False)
    compared = [onsets[p] for p in PRESETS if onsets[p].N]
    if compared:
        plot_extrapolation(cells[5], compared, relative=True, labels=[label(o) for o in compared])
        plots.legend(cells[5], fontsize=6, loc="upper right")
    cells[5].set_title(r"onset / $\alpha_{BBP}$ against $1/\log N$ (squares: $N=\infty$)",
                       fontsize=8)
    fig.suptitle("Onset of recovery by gradient descent from the random init, per protocol",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    saver.save(fig, NAME)
    return {preset: onset.numbers() for preset, onset in onsets.items()}


def draw(ctx: Context) -> dict:
    """Draw the figure (its numbers written to tables/ and to the summary's ``gd_onset``)."""
    result = ctx.result(NAME, compute, Result, PRESETS)
    note_onsets(ctx, list(result.onsets.values()))
    return plot(result, ctx.saver)
