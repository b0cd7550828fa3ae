"""The Hessian of the loss: its operators live in :mod:`bbp_torch.operators`; this module
re-exports the names it has always offered."""

from bbp_torch.operators.autograd import AutogradOperator, autograd_hessian, module_loss
from bbp_torch.operators.closed_form import HessianOperator
from bbp_torch.operators.dense import dense_hessian
from bbp_torch.operators.registry import KINDS, PRODUCTS, hessian_operator
from bbp_torch.operators.spherical import (
    lagrange_multipliers,
    radial_directions,
    radial_projector_apply,
)
from bbp_torch.operators.weights import SampleWeights, gradient

__all__ = [
    "KINDS", "PRODUCTS", "AutogradOperator", "HessianOperator", "SampleWeights",
    "autograd_hessian", "dense_hessian", "gradient", "hessian_operator", "lagrange_multipliers",
    "module_loss", "radial_directions", "radial_projector_apply",
]
