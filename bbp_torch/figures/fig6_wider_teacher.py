"""Fig. 6: Fig. 2 for a wider teacher, p* = 2 (theory at N = infinity, finite-N alpha_0).

alpha_BBP vs a for several p with the p -> infinity line p*(a+1)/2 = a + 1, the minimum of each
curve and the a where its type switches; right, alpha_BBP vs p at three a with the finite-N
alpha_0 of preset ``fig6_alpha0_pstar2`` (computed and drawn by Fig. 2's
:func:`~bbp_torch.figures.fig2_alpha_bbp_vs_a.compute_alpha_bbp_vs_a` and
:func:`~bbp_torch.figures.fig2_alpha_bbp_vs_a.plot_alpha_bbp_vs_a`).
"""

from __future__ import annotations

from bbp_torch.figures.common import Context
from bbp_torch.figures.fig2_alpha_bbp_vs_a import (
    Result,
    compute_alpha_bbp_vs_a,
    plot_alpha_bbp_vs_a,
)
from bbp_torch.figures.fig2_alpha_bbp_vs_a import side_seconds as side_seconds  # Fig. 2's theory

KEY = "fig6"
ORDER = 5
NAME = "fig6_alpha_bbp_vs_a_pstar2"
PRESETS = ("fig6_alpha0_pstar2",)
A_RANGE = (0.05, 5.0)  # p = 1 switches type at a_c = 2.17 when p* = 2


def compute(ctx: Context) -> Result:
    """The theory of Fig. 6 (p* = 2) in the mode's grid, and alpha_0 of its preset."""
    return compute_alpha_bbp_vs_a(ctx, p_star=2, preset=PRESETS[0], a_range=A_RANGE)


def plot(result: Result, saver) -> dict:
    """Draw Fig. 6; returns what Fig. 2's plot returns."""
    return plot_alpha_bbp_vs_a(result, saver, name=NAME, number="6")


def draw(ctx: Context) -> dict:
    """Draw Fig. 6 (its numbers written to tables/); returns its summary."""
    return plot(ctx.result(NAME, compute, Result, PRESETS), ctx.saver)
