"""The Hessian of the loss at the student's weights as operators (docs/model.md, sections 2
and 6), each a :class:`bbp_torch.spectrum.types.Operator` (``shape``, ``dtype``, ``device``,
``matvec`` on a block, ``excluded_directions()``) that any solver of :mod:`bbp_torch.spectrum`
takes.

Conventions: ``H`` is ``(pN, pN)``, flattened unit-major (entry ``k*N + i`` is component ``i``
of unit ``k``); ``hessian.kind`` is ``euclidean`` or ``spherical`` (the Riemannian Hessian on
``|w_k|^2 = N``), ``hessian.product`` ``closed_form`` or ``autograd`` (:mod:`.registry`, the one
list of both). Modules: :mod:`.weights` (the per-sample weights ``C^mu`` and the gradient),
:mod:`.spherical` (multipliers, projector, radial directions), :mod:`.dense` (the closed form as
a matrix), :mod:`.closed_form` (the matrix-free product from it), :mod:`.autograd` (the
reference and products by autograd on the student module), :mod:`.base` (what the matrix-free
operators share). The tests hold every path to the others and to finite differences. Names
are loaded on first use, so that reading :mod:`.registry` imports no torch.
"""

from __future__ import annotations

from bbp_torch.lazy import lazy_exports

_PUBLIC = {
    "KINDS": "registry", "PRODUCTS": "registry", "check_kind": "registry",
    "hessian_operator": "registry", "operator_class": "registry",
    "SampleWeights": "weights", "gradient": "weights",
    "lagrange_multipliers": "spherical", "radial_directions": "spherical",
    "radial_projector_apply": "spherical", "spherical_from_dense": "spherical",
    "Sphere": "spherical",
    "dense_hessian": "dense",
    "MatrixFreeHessian": "base",
    "HessianOperator": "closed_form", "product_data": "closed_form",
    "AutogradOperator": "autograd", "autograd_hessian": "autograd",
    "autograd_multipliers": "autograd", "module_loss": "autograd",
}
__all__ = sorted(_PUBLIC)

__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC, globals())
