"""The kinds of failure a run can end in, as the records name them.

``config`` (:class:`bbp_torch.config.ConfigError`: the user's input), ``numerical``
(:class:`NumericalError` and the floating-point and linear-algebra errors of numpy, scipy and
torch: a computation that produced no valid number) and ``exception`` (anything else: a bug or
the environment).
"""

from __future__ import annotations


class NumericalError(ArithmeticError):
    """A computation produced non-finite numbers or could not be carried out in floating point."""


def error_kind(err: BaseException) -> str:
    """``config``, ``numerical`` or ``exception`` for an exception raised inside a run."""
    import numpy as np
    import torch

    from bbp_torch.config import ConfigError

    if isinstance(err, ConfigError):
        return "config"
    numerical = (ArithmeticError, FloatingPointError, np.linalg.LinAlgError,
                 torch.linalg.LinAlgError)
    try:
        import scipy.linalg

        numerical += (scipy.linalg.LinAlgError,)
    except ImportError:  # pragma: no cover
        pass
    return "numerical" if isinstance(err, numerical) else "exception"
