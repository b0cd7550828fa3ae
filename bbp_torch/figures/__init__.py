"""The figures of the reproduction, one module per figure.

Each module of :data:`FIGURES` has ``NAME`` (its output files ``<out>/<NAME>.png`` and ``.pdf``),
``SWEEPS`` (the presets it reads, keys of ``common.MODES[mode]["presets"]``) and
``draw(ctx)``, which reads the records and theory, saves the figure and returns its numbers
for the summary file. ``training`` (gradient descent) draws from a table of ``bbp-train``
records instead. The runners and the worker tasks are in :mod:`bbp_torch.figures.runs`.
"""

from bbp_torch.figures import alpha_bbp, finite_size, overlap, phase_diagram, spectrum

FIGURES = {
    "fig1": overlap,
    "fig2": spectrum,
    "fig3": alpha_bbp,
    "fig4": finite_size,
    "fig5": phase_diagram,
}

__all__ = ["FIGURES"]
