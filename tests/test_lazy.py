"""Names loaded on first use (bbp_torch.lazy): read from their submodule once, unknown names
refused, listed by dir()."""

import types

import pytest

from bbp_torch.lazy import lazy_exports


def test_a_name_is_read_from_its_submodule_once_and_unknown_names_are_refused():
    namespace: dict = {}
    getattr_, dir_ = lazy_exports("bbp_torch", {"KINDS": "operators.registry"}, namespace)
    from bbp_torch.operators.registry import KINDS

    assert getattr_("KINDS") is KINDS and namespace["KINDS"] is KINDS
    assert "KINDS" in dir_()
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        getattr_("nothing")


def test_the_packages_that_use_it_give_their_names():
    import bbp_torch.operators as operators
    import bbp_torch.spectrum as spectrum

    assert isinstance(operators, types.ModuleType)
    assert callable(spectrum.bottom_eigenpairs) and "bottom_eigenpairs" in dir(spectrum)
    assert "euclidean" in operators.KINDS and "KINDS" in dir(operators)
