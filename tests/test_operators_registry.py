"""The registry of Hessian kinds and products (bbp_torch.operators.registry) and the names that
bbp_torch.hessian keeps offering."""

import subprocess
import sys

import pytest

from bbp_torch.model import make_problem
from bbp_torch.operators.autograd import AutogradOperator
from bbp_torch.operators.closed_form import HessianOperator
from bbp_torch.operators.registry import (
    KINDS,
    PRODUCTS,
    check_kind,
    hessian_operator,
    operator_class,
)


def test_each_product_names_its_operator_and_unknown_names_are_refused():
    assert KINDS == ("euclidean", "spherical") and PRODUCTS == ("closed_form", "autograd")
    assert operator_class("closed_form") is HessianOperator
    assert operator_class("autograd") is AutogradOperator
    problem = make_problem(8, 2, 1, 3.0, 0.7, seed=0)
    for product in PRODUCTS:
        for kind in KINDS:
            op = hessian_operator(problem, kind=kind, product=product, chunk_size=5)
            assert isinstance(op, operator_class(product))
            assert (op.kind, op.chunk_size) == (kind, 5)
    with pytest.raises(ValueError, match="hessian.product 'fd'.*closed_form, autograd"):
        hessian_operator(problem, product="fd")
    with pytest.raises(ValueError, match="hessian.kind 'flat'.*euclidean, spherical"):
        check_kind("flat")
    with pytest.raises(ValueError, match="hessian.kind"):
        HessianOperator(problem, kind="flat")


def test_reading_the_names_imports_no_torch():
    code = ("import sys; from bbp_torch.operators.registry import KINDS, PRODUCTS; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_bbp_torch_hessian_keeps_its_names():
    import bbp_torch.hessian as hessian
    import bbp_torch.operators as operators

    for name in hessian.__all__:
        assert getattr(hessian, name) is getattr(operators, name)
    assert {"HessianOperator", "AutogradOperator", "SampleWeights", "dense_hessian",
            "autograd_hessian", "gradient", "hessian_operator", "lagrange_multipliers",
            "radial_projector_apply", "radial_directions", "module_loss", "KINDS",
            "PRODUCTS"} <= set(hessian.__all__)
