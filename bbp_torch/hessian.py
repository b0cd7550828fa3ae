"""The Hessian operators moved to :mod:`bbp_torch.operators`; this module re-exports them."""
from bbp_torch.operators.closed_form import *  # noqa: F401,F403
from bbp_torch.operators.closed_form import _check_kind, _spherical_from_dense  # noqa: F401
