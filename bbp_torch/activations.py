"""The activations that teacher and student share (docs/model.md, sections 1 and 6).

Each is one small named object: ``sigma``, its first and second derivatives ``d1``, ``d2``
(elementwise on tensors) and its range ``(lower, upper)``. The labels
``y = (1/p*) sum_l sigma(h*_l)`` lie in that range, so the loss ``1/(a + y)`` stays bounded
exactly when ``a > -lower`` (:meth:`Activation.smallest_a`). Adding an activation is a few lines:
an entry of :data:`ACTIVATIONS`.

The square (``quadratic``, the default) is the model of the theory; its Hessian keeps the fast
path of :mod:`bbp_torch.hessian` (``sigma' = 2h``, ``sigma'' = 2`` written out), so its numbers
do not change. ReLU's ``sigma''`` is 0 away from its kink (and taken as 0 at it), as autograd
also has it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Activation:
    """``sigma``, ``d1 = sigma'``, ``d2 = sigma''`` and the range ``(lower, upper)`` of sigma."""

    name: str
    sigma: Callable[[torch.Tensor], torch.Tensor]
    d1: Callable[[torch.Tensor], torch.Tensor]
    d2: Callable[[torch.Tensor], torch.Tensor]
    lower: float
    upper: float

    def smallest_a(self) -> float:
        """The loss constant must exceed this for ``a + y > 0`` at every possible label."""
        return max(0.0, -self.lower)

    def range_text(self) -> str:
        lo = "-inf" if math.isinf(self.lower) else f"{self.lower:g}"
        hi = "inf" if math.isinf(self.upper) else f"{self.upper:g}"
        return f"({lo}, {hi})"


def _sigmoid_d1(h):
    s = torch.sigmoid(h)
    return s * (1 - s)


def _sigmoid_d2(h):
    s = torch.sigmoid(h)
    return s * (1 - s) * (1 - 2 * s)


def _tanh_d1(h):
    return 1 - torch.tanh(h) ** 2


def _tanh_d2(h):
    t = torch.tanh(h)
    return -2 * t * (1 - t * t)


_ERF_SCALE = 2 / math.sqrt(math.pi)


def _erf_d1(h):
    return _ERF_SCALE * torch.exp(-h * h)


def _erf_d2(h):
    return -2 * h * _erf_d1(h)


ACTIVATIONS: dict[str, Activation] = {
    "quadratic": Activation("quadratic", lambda h: h * h, lambda h: 2 * h,
                            lambda h: torch.full_like(h, 2.0), 0.0, math.inf),
    "tanh": Activation("tanh", torch.tanh, _tanh_d1, _tanh_d2, -1.0, 1.0),
    "sigmoid": Activation("sigmoid", torch.sigmoid, _sigmoid_d1, _sigmoid_d2, 0.0, 1.0),
    "relu": Activation("relu", torch.relu, lambda h: (h > 0).to(h.dtype), torch.zeros_like,
                       0.0, math.inf),
    "erf": Activation("erf", torch.special.erf, _erf_d1, _erf_d2, -1.0, 1.0),
}
QUADRATIC = "quadratic"


def get_activation(name: str) -> Activation:
    """The activation called ``name`` (one of :data:`ACTIVATIONS`)."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"Unknown activation {name!r}: use one of "
                         f"{', '.join(ACTIVATIONS)}.") from None
