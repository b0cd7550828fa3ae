"""The figures of the reproduction, one module per figure, in the paper's numbering.

``FIGURES`` maps a key (``fig1`` ... ``fig10``: the paper's figure of that number; ``extra_*``:
figures of this package that have no counterpart in the paper; the paper's Fig. 5 is not
described in the summaries we have) to its module. Each module has ``NAME`` (its output files
``<out>/<NAME>.png`` and ``.pdf``, and its TensorBoard image), ``PRESETS`` (the presets of
``conf/experiment/`` whose records it reads; none for a theory figure) and ``draw(ctx)``, which
reads the records and the theory, saves the figure and returns its numbers for the summary
file. The modes, the :class:`~bbp_torch.figures.common.Context` and the estimates from a table
are in :mod:`bbp_torch.figures.common`; the presets' grids in :mod:`~bbp_torch.figures.grids`,
their cost in :mod:`~bbp_torch.figures.cost`, the pools and runners in
:mod:`~bbp_torch.figures.executors` and the pool's theory and spectrum tasks in
:mod:`~bbp_torch.figures.tasks`.
"""

from bbp_torch.figures import (
    extra_finite_size,
    extra_gd_hessian,
    extra_gd_protocols,
    extra_phase_diagram,
    extra_spectrum,
    extra_training_success,
    fig1_overlap,
    fig2_alpha_bbp_vs_a,
    fig3_phi,
    fig4_alpha0,
    fig6_wider_teacher,
    fig7_teacher_width,
    fig8_activations,
    fig9_gd_continuous,
    fig10_gd_discontinuous,
)

FIGURES = {
    "fig1": fig1_overlap,
    "fig2": fig2_alpha_bbp_vs_a,
    "fig3": fig3_phi,
    "fig4": fig4_alpha0,
    "fig6": fig6_wider_teacher,
    "fig7": fig7_teacher_width,
    "fig8": fig8_activations,
    "fig9": fig9_gd_continuous,
    "fig10": fig10_gd_discontinuous,
    "extra_spectrum": extra_spectrum,
    "extra_phase_diagram": extra_phase_diagram,
    "extra_finite_size": extra_finite_size,
    "extra_training_success": extra_training_success,
    "extra_gd_protocols": extra_gd_protocols,
    "extra_gd_hessian": extra_gd_hessian,
}

__all__ = ["FIGURES"]
