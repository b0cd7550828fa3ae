"""Fig. 10: Fig. 9 for a discontinuous case (p = p* = 1, a = 2.0; preset
``fig10_gd_discontinuous``), drawn by :func:`bbp_torch.figures.fig9_gd_continuous.draw_gd`: the
largest m^2 reached by descent against alpha per N, and the onset of recovery per N with its
N = infinity value next to alpha_BBP."""

from __future__ import annotations

from bbp_torch.figures.common import Context
from bbp_torch.figures.fig9_gd_continuous import draw_gd

KEY = "fig10"
ORDER = 9
NAME = "fig10_gd_discontinuous"
PRESETS = ("fig10_gd_discontinuous",)


def draw(ctx: Context) -> dict:
    """Draw Fig. 10; returns what :func:`draw_gd` returns."""
    return draw_gd(ctx, PRESETS[0], NAME, "10")
