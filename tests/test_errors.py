"""The kinds of failure a record names (bbp_torch.errors): the user's input, a computation that
produced no valid number, anything else."""

import numpy as np
import pytest
import scipy.linalg
import torch

from bbp_torch.config import ConfigError
from bbp_torch.errors import NumericalError, error_kind


@pytest.mark.parametrize("err", [
    NumericalError("nan in the Hessian"), ZeroDivisionError(), FloatingPointError(),
    np.linalg.LinAlgError(), scipy.linalg.LinAlgError(), OverflowError(),
])
def test_failed_computations_are_numerical(err):
    assert error_kind(err) == "numerical"


def test_a_real_eigh_failure_is_numerical():
    with pytest.raises(Exception) as info:
        torch.linalg.cholesky(-torch.eye(3, dtype=torch.float64))
    assert error_kind(info.value) == "numerical"


def test_refused_input_is_config_and_anything_else_an_exception():
    assert error_kind(ConfigError("problem.a must be positive")) == "config"
    for err in (ValueError("bug"), KeyError("x"), RuntimeError("out of memory"), OSError()):
        assert error_kind(err) == "exception"
