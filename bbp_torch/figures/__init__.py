"""The figures of the reproduction, one module per figure, in the paper's numbering.

``FIGURES`` maps a key (``fig1`` ... ``fig10``: the paper's figure of that number; ``extra_*``:
figures of this package that have no counterpart in the paper; the paper's Fig. 5 is not
described in the summaries we have) to its module, in the order of the modules' ``ORDER``. The
registry finds the modules itself: every module of this package with a ``KEY`` is a figure, so
adding a figure is adding its module, its presets and its section in docs/figures.md.

Each figure module has ``KEY``, ``ORDER``, ``NAME`` (its output files ``<out>/<NAME>.png`` and
``.pdf``, and its TensorBoard image), ``PRESETS`` (the presets of ``conf/experiment/`` whose
records it reads; none for a theory figure), optionally ``side_seconds(settings)``, the CPU
seconds of its work besides its sweeps (default: a few theory solves,
:func:`bbp_torch.figures.cost.side_seconds`), and every figure is made in three steps:

* ``Result``: a dataclass of the numbers it draws, in plain lists and dicts (string keys), so
  that it is written as JSON and read back as it was;
* ``compute(ctx) -> Result`` reads the records and the theory (figures that share a computation
  call one function: Figs. 2 and 6, Figs. 9, 10 and ``extra_gd_protocols``);
* ``plot(result, saver) -> dict`` only draws, saves the figure and returns its numbers for the
  summary file;

and ``draw(ctx) = plot(ctx.result(NAME, compute, Result, PRESETS), ctx.saver)``, where
:meth:`~bbp_torch.figures.common.Context.result` writes the Result to
``<out>/tables/<NAME>.json``; ``--no-run`` draws that file again when none of ``PRESETS`` has
records. (The descent figures' ``draw`` also puts their onsets in the summary's ``gd_onset``.)

The modes, the :class:`~bbp_torch.figures.common.Context` and the estimates from a table are in
:mod:`bbp_torch.figures.common`; the presets' grids in :mod:`~bbp_torch.figures.grids`, their
cost in :mod:`~bbp_torch.figures.cost`, the pools and runners in
:mod:`~bbp_torch.figures.executors` and the pool's theory and spectrum tasks in
:mod:`~bbp_torch.figures.tasks`.
"""

import importlib
import pkgutil


def discover() -> dict:
    """Every figure module of this package (those with a ``KEY``), by key, in ``ORDER``."""
    modules = [importlib.import_module(f"{__name__}.{info.name}")
               for info in pkgutil.iter_modules(__path__)]
    figures = sorted((m for m in modules if hasattr(m, "KEY")), key=lambda m: m.ORDER)
    registry = {m.KEY: m for m in figures}
    if len(registry) != len(figures):
        raise ValueError(f"two figure modules share a key: {[m.KEY for m in figures]}")
    return registry


FIGURES = discover()

__all__ = ["FIGURES", "discover"]
