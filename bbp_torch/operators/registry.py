"""The Hessian kinds and products, by name: the one place that lists them.

``hessian.kind`` picks the landscape (docs/model.md, section 2): ``euclidean`` (the Hessian in
weight space) or ``spherical`` (the Riemannian Hessian on the product of spheres
``|w_k|^2 = N``). ``hessian.product`` picks how ``H V`` is computed: ``closed_form``
(:class:`bbp_torch.operators.closed_form.HessianOperator`) or ``autograd``
(:class:`bbp_torch.operators.autograd.AutogradOperator`). The operator classes are named by
path and imported on first use, so that reading the names imports no torch (the configuration
reads its choices here).
"""

from __future__ import annotations

from importlib import import_module

KINDS = ("euclidean", "spherical")
_PRODUCTS = {
    "closed_form": "bbp_torch.operators.closed_form:HessianOperator",
    "autograd": "bbp_torch.operators.autograd:AutogradOperator",
}
PRODUCTS = tuple(_PRODUCTS)


def check_kind(kind: str) -> None:
    """A ValueError naming ``hessian.kind`` and its choices unless ``kind`` is one of them."""
    if kind not in KINDS:
        raise ValueError(f"Unknown hessian.kind {kind!r}: use one of {', '.join(KINDS)}.")


def operator_class(product: str) -> type:
    """The operator class of ``hessian.product``; a ValueError naming the choices otherwise."""
    if product not in _PRODUCTS:
        raise ValueError(f"Unknown hessian.product {product!r}: use one of "
                         f"{', '.join(PRODUCTS)}.")
    module, name = _PRODUCTS[product].split(":")
    return getattr(import_module(module), name)


def hessian_operator(problem, W=None, kind: str = "euclidean", product: str = "closed_form",
                     chunk_size: int | None = None):
    """The matrix-free Hessian of ``problem`` at ``W`` (default: its student) of the given
    ``kind``, its products computed by ``product``, over samples in chunks of ``chunk_size``."""
    return operator_class(product)(problem, W, kind=kind, chunk_size=chunk_size)
