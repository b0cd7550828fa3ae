"""Fig. 10: Fig. 9 for a discontinuous case (p = p* = 1, a = 2.0; preset
``fig10_gd_discontinuous``), computed and drawn by Fig. 9's
:func:`~bbp_torch.figures.fig9_gd_continuous.gd_onset` and
:func:`~bbp_torch.figures.fig9_gd_continuous.plot_gd`: the largest m^2 reached by descent against
alpha per N, and the onset of recovery per N with its N = infinity value next to alpha_BBP."""

from __future__ import annotations

from bbp_torch.figures.common import Context
from bbp_torch.figures.fig9_gd_continuous import Result, gd_onset, note_onsets, plot_gd

KEY = "fig10"
ORDER = 9
NAME = "fig10_gd_discontinuous"
PRESETS = ("fig10_gd_discontinuous",)


def compute(ctx: Context) -> Result:
    """The onset of recovery of preset ``fig10_gd_discontinuous``."""
    return gd_onset(ctx, PRESETS[0])


def plot(result: Result, saver) -> dict:
    """Draw Fig. 10; returns what Fig. 9's :func:`plot_gd` returns."""
    return plot_gd(result, saver, NAME, "10")


def draw(ctx: Context) -> dict:
    """Draw Fig. 10 (its numbers written to tables/ and to the summary's ``gd_onset``)."""
    result = ctx.result(NAME, compute, Result, PRESETS)
    note_onsets(ctx, [result])
    return plot(result, ctx.saver)
