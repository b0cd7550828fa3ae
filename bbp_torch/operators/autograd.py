"""The Hessian by autograd on the :class:`bbp_torch.model.Student` module: no closed form.

The loss ``L(W) = sum_mu loss(yhat^mu, y^mu; a)`` of the module (docs/model.md, section 1) is
differentiated twice by ``torch.func``, in the flattened weight (unit-major, as every Hessian
here): :func:`autograd_hessian` builds the matrix (the reference of the tests, slow) and
:class:`AutogradOperator` computes products ``H V``, the path of a student a user would write.
For ``kind="spherical"`` the Riemannian correction of :mod:`bbp_torch.operators.spherical` is
applied, with multipliers from the module's autograd gradient (:func:`autograd_multipliers`).
"""

from __future__ import annotations

import torch

from bbp_torch.model import Problem, Student, loss_from_output
from bbp_torch.operators.base import MatrixFreeHessian
from bbp_torch.operators.registry import check_kind
from bbp_torch.operators.spherical import spherical_from_dense

# Rows per chunk of the autograd product: about this many bytes of X per chunk.
_CPU_CHUNK_BYTES = 8 * 2**20


def module_loss(student: Student, problem: Problem, rows: slice = slice(None)):
    """``w -> L(w)`` of the student module (``torch.func.functional_call`` on its ``weight``),
    over the samples ``rows`` of ``problem``."""
    X, y = problem.X[rows], problem.y[rows]

    def loss(w: torch.Tensor) -> torch.Tensor:
        yhat = torch.func.functional_call(student, {"weight": w}, (X,))
        return loss_from_output(yhat, y, problem.a)

    return loss


def autograd_multipliers(problem: Problem, W: torch.Tensor) -> torch.Tensor:
    """``mu_k = w_k . grad_k L / N`` (p,) with the gradient of the module's loss by autograd."""
    grad = torch.func.grad(module_loss(Student.of(problem, W), problem))(W)
    return (W * grad).sum(dim=1) / W.shape[1]


def autograd_hessian(
    problem: Problem, W: torch.Tensor | None = None, kind: str = "euclidean"
) -> torch.Tensor:
    """Reference Hessian ``(pN, pN)``: ``torch.func.hessian`` of the loss of the
    :class:`Student` module in its flattened weight.

    For ``kind="spherical"`` the Riemannian correction is applied to the autograd Euclidean
    Hessian (the multipliers come from the closed-form gradient, checked separately).
    """
    check_kind(kind)
    W = problem.W if W is None else W
    p, N = W.shape
    loss = module_loss(Student.of(problem, W), problem)
    H = torch.func.hessian(lambda w: loss(w.reshape(p, N)))(W.reshape(-1))
    if kind == "spherical":
        H = spherical_from_dense(H, problem, W)
    return H


class AutogradOperator(MatrixFreeHessian):
    """Matrix-free Hessian ``V -> H V`` by autograd on the :class:`Student` module, ``H`` the
    second derivative of its loss in the flattened weight (docs/model.md, section 2): forward-
    over-reverse Hessian-vector products (``torch.func.jvp`` of ``torch.func.grad`` of the
    module's loss through ``functional_call``), vectorised over the block by ``vmap``, in chunks
    of ``chunk_size`` samples (the loss is a sum over samples). The products run in the dtype
    of ``W``; it is the check of the closed-form :class:`HessianOperator`.
    """

    def __init__(self, problem: Problem, W: torch.Tensor | None = None,
                 kind: str = "euclidean", chunk_size: int | None = None):
        super().__init__(problem, W, kind, chunk_size, autograd_multipliers)
        self.student = Student.of(problem, self.W)

    def with_compute_dtype(self, dtype: torch.dtype):
        raise ValueError("the autograd product runs in the dtype of the weights; mixed "
                         "precision needs hessian.product=closed_form.")

    def euclidean_product(self, V: torch.Tensor) -> torch.Tensor:
        out = torch.zeros_like(V)
        rows = max(1, min(self.chunk_size, _CPU_CHUNK_BYTES // (self.N * 8)))
        for start in range(0, self.problem.M, rows):
            grad = torch.func.grad(module_loss(self.student, self.problem,
                                               slice(start, start + rows)))

            def hvp(v, grad=grad):
                return torch.func.jvp(grad, (self.W,), (v,))[1]

            out += torch.vmap(hvp)(V)
        return out

    def dense(self) -> torch.Tensor:
        """The dense matrix by ``torch.func.hessian`` of the module's loss."""
        return autograd_hessian(self.problem, self.W, self.kind)
