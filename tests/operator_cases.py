"""Shared cases of the operator tests: problem shapes, the operators of every product, and the
relative error they are compared with (that of :mod:`helpers`)."""

from __future__ import annotations

import torch
from helpers import rel_err

from bbp_torch.operators.autograd import AutogradOperator
from bbp_torch.operators.closed_form import HessianOperator

CASES = [  # (N, p, p_star, a, alpha)
    (24, 1, 1, 0.7, 3.0),  # phase retrieval
    (20, 2, 1, 0.7, 2.5),
    (16, 3, 1, 1.5, 4.0),
    (15, 2, 3, 0.3, 3.0),  # p < p*
    (12, 4, 2, 2.0, 1.5),
]

# Every matrix-free operator, by a name for the test ids: (problem, kind) -> operator.
OPERATORS = {
    "closed_form": lambda problem, kind: HessianOperator(problem, kind=kind, chunk_size=7),
    "closed_form_float32": lambda problem, kind: HessianOperator(
        problem, kind=kind, compute_dtype=torch.float32),
    "autograd": lambda problem, kind: AutogradOperator(problem, kind=kind, chunk_size=9),
}


__all__ = ["CASES", "OPERATORS", "rel_err"]
