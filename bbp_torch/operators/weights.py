"""The per-sample weights of the Hessian and the gradient (docs/model.md, sections 2 and 6).

Block ``(k, l)`` of the Hessian is ``H_kl = (1/N) sum_mu x^mu x^mu^T c_kl^mu`` with

    c_kl^mu = [ (1/p^2) sigma'(h_k) sigma'(h_l) + (1/p) (yhat - y) sigma''(h_k) delta_kl ]
              / (a + y),

i.e. ``C^mu = diag(beta_k) + rank_one g g^T`` with ``g_k = sigma'(h_k)``, ``rank_one =
(1/p^2)/(a + y)`` and ``beta_k = (1/p)(yhat - y) sigma''(h_k)/(a + y)``. For the square
(``sigma' = 2h``, ``sigma'' = 2``) this is ``C = beta I_p + (4/p^2) h h^T/(a + y)`` with one
``beta = (2/p)(yhat - y)/(a + y)`` for every unit, which is kept written out (the fast path:
its numbers are those of the square alone). Every Hessian path reads ``C^mu`` from here.
"""

from __future__ import annotations

import torch

from bbp_torch.activations import QUADRATIC, get_activation
from bbp_torch.model import Problem, student_output


class SampleWeights:
    """Per-sample quantities that define ``C^mu`` (and the gradient) at a given student ``W``.

    ``h`` (M, p) pre-activations; ``g`` (M, p) the vectors of the rank-one part, ``rank_one``
    (M,) its factor; ``beta`` the diagonal weight, (M,) for the square (one for every unit) and
    (M, p) otherwise; ``grad_coeff`` (M, p) the factor of ``x / sqrt(N)`` in ``grad_k L``.
    The square: ``g = h``, ``rank_one = (4/p^2)/(a+y)``, ``beta = (2/p)(yhat-y)/(a+y)``,
    ``grad_coeff = (2/p) (yhat-y)/(a+y) h``. Any other sigma: ``g = sigma'(h)``,
    ``rank_one = (1/p^2)/(a+y)``, ``beta_k = (1/p)(yhat-y) sigma''(h_k)/(a+y)``,
    ``grad_coeff = (1/p)(yhat-y)/(a+y) sigma'(h)``.
    """

    def __init__(self, problem: Problem, W: torch.Tensor | None = None):
        W = problem.W if W is None else W
        p = W.shape[0]
        self.W = W
        self.h = problem.preactivations(W)
        residual = student_output(self.h, problem.activation) - problem.y
        denom = problem.a + problem.y
        self.residual_weight = residual / denom  # (yhat - y)/(a + y)
        if problem.activation == QUADRATIC:
            self.g = self.h
            self.beta = (2.0 / p) * self.residual_weight
            self.rank_one = (4.0 / p**2) / denom
            self.grad_coeff = (2.0 / p) * self.residual_weight[:, None] * self.h
        else:
            act = get_activation(problem.activation)
            self.g = act.d1(self.h)
            self.beta = (1.0 / p) * self.residual_weight[:, None] * act.d2(self.h)
            self.rank_one = (1.0 / p**2) / denom
            self.grad_coeff = (1.0 / p) * self.residual_weight[:, None] * self.g

    def diagonal(self, k: int) -> torch.Tensor:
        """``beta`` of unit ``k``, (M,)."""
        return self.beta if self.beta.dim() == 1 else self.beta[:, k]


def gradient(problem: Problem, W: torch.Tensor | None = None) -> torch.Tensor:
    """``grad L`` as a ``(p, N)`` matrix: ``(1/p)/sqrt(N) sum_mu (yhat-y)/(a+y) sigma'(h_k) x``."""
    coeff = SampleWeights(problem, W).grad_coeff  # (M, p)
    return (coeff.T @ problem.X.to(coeff.dtype)) / problem.N**0.5
