"""The exact Hessian of the loss at the student's weights (docs/model.md, sections 2 and 6).

Conventions
-----------
``H`` is ``(pN, pN)``, flattened unit-major: entry ``k*N + i`` is component ``i`` of unit ``k``.
Block ``(k, l)`` is

    H_kl = (1/N) sum_mu x^mu x^mu^T c_kl^mu,
    c_kl^mu = [ (1/p^2) sigma'(h_k) sigma'(h_l) + (1/p) (yhat - y) sigma''(h_k) delta_kl ]
              / (a + y),

i.e. ``C^mu = diag(beta_k) + rank_one g g^T`` with ``g_k = sigma'(h_k)``, ``rank_one =
(1/p^2)/(a + y)`` and ``beta_k = (1/p)(yhat - y) sigma''(h_k)/(a + y)``. For the square
(``sigma' = 2h``, ``sigma'' = 2``) this is ``C = beta I_p + (4/p^2) h h^T/(a + y)`` with one
``beta = (2/p)(yhat - y)/(a + y)`` for every unit, which the code keeps written out (the fast
path: its numbers are those of the square alone).

Five implementations, which the tests hold to each other and to finite differences:

* :func:`dense_hessian` - the closed form by matrix products (the upper triangle of each
  independent block by panel products, no loop over samples);
* :func:`autograd_hessian` - ``torch.func.hessian`` of the loss of the :class:`Student` module
  (the reference, slow);
* :class:`HessianOperator` - the matrix-free product ``H V`` from the closed form, two passes
  over ``X`` per block of vectors, ``O(M N p b)`` work and ``O(M p b + N p b)`` extra memory;
* :class:`AutogradOperator` - the same product by autograd (Hessian-vector products of the
  module's loss through ``torch.func``): the path of a student without a closed form;
* the Riemannian Hessian on the product of spheres ``|w_k|^2 = N`` (``kind="spherical"``):
  ``P (H - diag(mu_k) (x) I_N) P`` with ``mu_k = w_k . grad_k L / N`` and ``P`` the projector
  that removes ``w_k`` from block ``k``. It acts on the tangent space of the spheres, of
  dimension ``p(N - 1)``: the ``p`` radial directions are mapped to zero but are not
  eigenvectors of the landscape, so every operator names them
  (:meth:`_Operator.excluded_directions`) and the solvers work on their orthogonal complement
  (:mod:`bbp_torch.spectrum`): they never appear among the reported eigenpairs.
"""

from __future__ import annotations

import copy

import torch

from bbp_torch import layouts
from bbp_torch.activations import QUADRATIC, get_activation
from bbp_torch.model import Problem, Student, loss_from_output, student_output

KINDS = ("euclidean", "spherical")
PRODUCTS = ("closed_form", "autograd")
# The matrix-free product takes X in chunks of about this many bytes on the CPU (large enough
# for efficient products, small enough to be partly reused from the cache by the second pass),
# and casts each chunk into a buffer of at most _CAST_CHUNK_BYTES when X is stored in another
# dtype than the products run in (every device).
_PRODUCT_CHUNK_BYTES = 64 * 2**20
_CAST_CHUNK_BYTES = 256 * 2**20
# Rows per chunk of the autograd product: about this many bytes of X per chunk.
_CPU_CHUNK_BYTES = 8 * 2**20


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"Unknown hessian.kind {kind!r}: use one of {', '.join(KINDS)}.")


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


def lagrange_multipliers(problem: Problem, W: torch.Tensor | None = None) -> torch.Tensor:
    """``mu_k = w_k . grad_k L / N`` (p,), the multipliers of the constraints ``|w_k|^2 = N``."""
    W = problem.W if W is None else W
    return (W * gradient(problem, W)).sum(dim=1) / problem.N


def radial_projector_apply(W: torch.Tensor, V: torch.Tensor) -> torch.Tensor:
    """Remove from each block ``V[..., k, :]`` its component along ``w_k``. ``V``: (..., p, N)."""
    N = W.shape[1]
    return V - (V * W).sum(dim=-1, keepdim=True) * W / N


def radial_directions(W: torch.Tensor) -> torch.Tensor:
    """The ``p`` orthonormal radial directions of the spheres at ``W``, ``(pN, p)``: column
    ``k`` is ``w_k / |w_k|`` in block ``k`` and zero elsewhere."""
    p, N = W.shape
    U = torch.zeros(p * N, p, dtype=W.dtype, device=W.device)
    for k in range(p):
        U[k * N:(k + 1) * N, k] = W[k] / W[k].norm()
    return U


def dense_hessian(
    problem: Problem, W: torch.Tensor | None = None, kind: str = "euclidean"
) -> torch.Tensor:
    """The closed-form ``(pN, pN)`` Hessian, built block by block with matrix products.

    Every block ``X^T diag(c_kl) X / N`` is itself symmetric and ``H_lk = H_kl``: only the
    ``p(p+1)/2`` blocks with ``k <= l`` are computed, each from its upper triangle, all of them
    together (:func:`_weighted_grams`).
    """
    _check_kind(kind)
    s = SampleWeights(problem, W)
    p, N = s.W.shape
    X = problem.X.to(s.h.dtype)
    pairs = [(k, m) for k in range(p) for m in range(k, p)]
    weights = []
    for k, m in pairs:
        c = s.rank_one * s.g[:, k] * s.g[:, m]
        if k == m:
            c = c + s.diagonal(k)
        weights.append(c / N)
    H = torch.empty(p * N, p * N, dtype=s.h.dtype, device=s.h.device)
    blocks = [H[k * N:(k + 1) * N, m * N:(m + 1) * N] for k, m in pairs]
    _weighted_grams(X, torch.stack(weights, dim=1), blocks)
    for (k, m), block in zip(pairs, blocks, strict=True):
        if m != k:
            H[m * N:(m + 1) * N, k * N:(k + 1) * N] = block  # X^T diag(c) X is symmetric
    if kind == "spherical":
        H = _spherical_from_dense(H, problem, s.W)
    return H


def _weighted_grams(X: torch.Tensor, C: torch.Tensor, out: list[torch.Tensor]) -> None:
    """Writes ``X^T diag(C[:, j]) X``, exactly symmetric, into ``out[j]`` (``(N, N)`` views).

    ``X`` is ``(M, N)``, ``C`` is ``(M, n)``. On the CPU by row panels of the upper triangles,
    every block in one product per panel: the ``n`` scaled panels ``X[:, a:b] * C[:, j]`` side
    by side, transposed, times ``X[:, a:]``; ``(1 + w/N) M N^2`` flops per block for panels of
    ``w`` rows, against ``2 M N^2`` for a whole product. Each tile on the diagonal is made
    symmetric from its upper triangle and the rest of the lower triangle is mirrored. Stacking
    the blocks gave the products about ``n w`` rows: N = 1000-2000, p = 1-4, 62-81% of the
    machine's float64 matmul rate against 45-59% for one block at a time (side by side, two
    cores). Elsewhere a plain product per block, symmetrised.
    """
    M, N = X.shape
    n = C.shape[1]
    if X.device.type != "cpu":
        for j, block in enumerate(out):
            G = (X * C[:, j, None]).T @ X
            block.copy_(0.5 * (G + G.T))
        return
    width = min(N, max(32, min(128, 384 // n)))
    panels = torch.empty(M, n * width, dtype=X.dtype)
    for a in range(0, N, width):
        b = min(N, a + width)
        left = panels[:, :n * (b - a)]
        torch.mul(X[:, None, a:b], C[:, :, None], out=left.view(M, n, b - a))
        rows = (left.T @ X[:, a:]).view(n, b - a, N - a)  # rows a:b of every block, from a
        for j, block in enumerate(out):
            tile = rows[j, :, :b - a]
            block[a:b, a:b] = torch.triu(tile) + torch.triu(tile, 1).T
            block[a:b, b:] = rows[j, :, b - a:]
            block[b:, a:b] = rows[j, :, b - a:].T


def _spherical_from_dense(H: torch.Tensor, problem: Problem, W: torch.Tensor) -> torch.Tensor:
    """``P (H - diag(mu) (x) I) P`` for a dense Euclidean ``H``."""
    p, N = W.shape
    mu = lagrange_multipliers(problem, W)
    H = H - torch.diag(mu.repeat_interleave(N))
    U = radial_directions(W.to(H.dtype))
    HU = H @ U
    H = H - HU @ U.T - U @ HU.T + U @ (U.T @ HU) @ U.T
    return 0.5 * (H + H.T)


def module_loss(student: Student, problem: Problem, rows: slice = slice(None)):
    """``w -> L(w)`` of the student module (``torch.func.functional_call`` on its ``weight``),
    over the samples ``rows`` of ``problem``."""
    X, y = problem.X[rows], problem.y[rows]

    def loss(w: torch.Tensor) -> torch.Tensor:
        yhat = torch.func.functional_call(student, {"weight": w}, (X,))
        return loss_from_output(yhat, y, problem.a)

    return loss


def autograd_hessian(
    problem: Problem, W: torch.Tensor | None = None, kind: str = "euclidean"
) -> torch.Tensor:
    """Reference Hessian: ``torch.func.hessian`` of the loss of the :class:`Student` module
    in its flattened weight.

    For ``kind="spherical"`` the Riemannian correction is applied to the autograd Euclidean
    Hessian (the multipliers come from the closed-form gradient, checked separately).
    """
    _check_kind(kind)
    W = problem.W if W is None else W
    p, N = W.shape
    loss = module_loss(Student.of(problem, W), problem)
    H = torch.func.hessian(lambda w: loss(w.reshape(p, N)))(W.reshape(-1))
    if kind == "spherical":
        H = _spherical_from_dense(H, problem, W)
    return H


class _Operator:
    """What every matrix-free Hessian shares: shapes, counting, the spherical projection.

    ``matvec`` takes ``(pN,)`` or a block ``(pN, b)`` of column vectors; a subclass supplies
    ``_euclidean(V)`` for blocks ``V`` of shape (b, p, N) and ``dense()``.
    """

    def __init__(self, problem: Problem, W: torch.Tensor | None, kind: str,
                 chunk_size: int | None):
        _check_kind(kind)
        self.problem = problem
        self.kind = kind
        self.W = problem.W if W is None else W
        self.p, self.N = self.W.shape
        self.dtype = self.W.dtype
        self.device = self.W.device
        self.chunk_size = chunk_size or problem.M
        self.n_products = 0  # number of vectors the operator has been applied to
        self.compute_dtype = self.dtype

    @property
    def shape(self) -> tuple[int, int]:
        return (self.p * self.N, self.p * self.N)

    @property
    def product_flops(self) -> float:
        """Flops of one product with one vector (two passes over ``X``: ``4 M N p``), the
        solvers' cost model (:class:`bbp_torch.spectrum.types.Operator`)."""
        return 4.0 * self.problem.M * self.N * self.p

    def excluded_directions(self) -> torch.Tensor | None:
        """Orthonormal directions ``(pN, c)`` outside the operator's domain, or None.

        The spherical Hessian acts on the tangent space of the spheres: its ``p`` radial
        directions (:func:`radial_directions`) are mapped to zero without being eigenvectors of
        the landscape, and the solvers keep every vector orthogonal to them. The Euclidean
        Hessian has none.
        """
        return radial_directions(self.W) if self.kind == "spherical" else None

    def matvec(self, V: torch.Tensor) -> torch.Tensor:
        """``H V`` for ``V`` of shape (pN,) or (pN, b)."""
        single = V.dim() == 1
        cols = V[:, None] if single else V
        b = cols.shape[1]
        blocks = cols.T.reshape(b, self.p, self.N).to(self.dtype)
        if self.kind == "spherical":
            blocks = radial_projector_apply(self.W, blocks)
            out = self._euclidean(blocks) - self.mu[None, :, None] * blocks
            out = radial_projector_apply(self.W, out)
        else:
            out = self._euclidean(blocks)
        self.n_products += b
        out = out.reshape(b, -1).T
        return out[:, 0] if single else out

    __matmul__ = matvec


class HessianOperator(_Operator):
    """Matrix-free Hessian ``V -> H V`` from the closed form; never builds ``H``.

    One call makes two passes over ``X`` for the whole block: ``U = X V_k / sqrt(N)`` per unit,
    then ``(H V)_k = X^T T_k / sqrt(N)`` with ``T_k = beta_k U_k + rank_one g_k (g . U)``.
    Samples are processed in chunks of ``chunk_size`` rows so that the extra memory is
    ``O(chunk p b)``; ``X`` may be stored in a lower precision than the arithmetic (``dtype``),
    each chunk being cast on the fly.

    ``dtype`` (that of ``W``) is the precision of the vectors going in and out; the two passes
    over ``X`` run in ``compute_dtype`` (default ``dtype``). A float32 ``compute_dtype`` on
    float32 ``X`` skips the cast and is faster (docs/large_n.md), at a relative error of a few
    ``1e-7`` per product: :func:`bbp_torch.spectrum.lanczos.iterative_bottom` uses it only for a
    first phase (``mixed_precision``) and finishes and checks every pair with float64 products.
    """

    def __init__(
        self,
        problem: Problem,
        W: torch.Tensor | None = None,
        kind: str = "euclidean",
        chunk_size: int | None = None,
        compute_dtype: torch.dtype | None = None,
    ):
        super().__init__(problem, W, kind, chunk_size)
        self.weights = SampleWeights(problem, self.W)
        self.mu = lagrange_multipliers(problem, self.W) if kind == "spherical" else None
        # the layouts of the two passes in the last product (bbp_torch.layouts)
        self.first_pass: str | None = None
        self.second_pass: str | None = None
        self._set_compute_dtype(compute_dtype or self.dtype)

    def _set_compute_dtype(self, dtype: torch.dtype) -> None:
        """The per-sample weights of the two passes over ``X``, in ``dtype``: ``g`` (M, p),
        ``rank_one * g`` (M, p) and ``beta`` ((M, 1) for the square, else (M, p))."""
        s = self.weights
        self.compute_dtype = dtype
        self._g = s.g.to(dtype).contiguous()
        self._rg = (s.rank_one[:, None] * s.g).to(dtype).contiguous()
        self._beta = (s.beta[:, None] if s.beta.dim() == 1 else s.beta).to(dtype).contiguous()

    def with_compute_dtype(self, dtype: torch.dtype) -> HessianOperator:
        """The same operator (same ``X``, weights and ``dtype``) with products in ``dtype``.

        When ``X`` is stored wider than ``dtype`` (float64 ``X``, float32 products) the new
        operator keeps its own copy of ``X`` in ``dtype`` (``M N`` more numbers of ``dtype``):
        casting every chunk in every product cost more than the narrower products saved
        (measured: docs/large_n.md)."""
        other = copy.copy(self)
        other.n_products = 0
        other._set_compute_dtype(dtype)
        X, copied = self.problem.X, getattr(self, "_X", None)
        if torch.finfo(X.dtype).bits <= torch.finfo(dtype).bits:
            other.__dict__.pop("_X", None)  # back to X itself
        elif copied is None or copied.dtype != dtype:
            other._X = X.to(dtype)
        return other

    def _euclidean(self, V: torch.Tensor) -> torch.Tensor:
        """``H V`` for a block ``V`` of shape (b, p, N); returns (b, p, N).

        Pass one is ``U = X_c V`` (rows of the chunk, one column per (vector, unit)), pass two
        ``out += T^T X_c``, each in the layout that ran fastest on this machine for a large
        ``X`` (:mod:`bbp_torch.layouts`; ``first_pass`` and ``second_pass`` say which). On the
        CPU a chunk holds about ``_PRODUCT_CHUNK_BYTES`` of ``X`` (64 MiB): chunks of 1-16 MiB,
        small enough for the second pass to find them in the cache, lost more in small products
        than they saved in memory traffic, and 64 MiB beat whole-``X`` passes at N = 16000.
        ``chunk_size`` bounds the rows further; when ``X`` is stored in another dtype each chunk
        is cast into one buffer (at most ``_CAST_CHUNK_BYTES``), never into a copy of the whole
        of ``X``.
        """
        b, p, N = V.shape
        dtype = self.compute_dtype
        X = getattr(self, "_X", self.problem.X)  # a narrower copy of X (with_compute_dtype)
        M = X.shape[0]
        cast = X.dtype != dtype
        itemsize = torch.finfo(dtype).bits // 8
        rows = min(self.chunk_size, M)
        if self.device.type == "cpu":
            rows = min(rows, max(1, _PRODUCT_CHUNK_BYTES // (N * itemsize)))
        if cast:
            rows = min(rows, max(1, _CAST_CHUNK_BYTES // (N * itemsize)))
            buffer = torch.empty(rows, N, dtype=dtype, device=self.device)
        V_rows = V.reshape(b * p, N).to(dtype).contiguous()  # (b p, N), row (vector, unit)
        first, second = self._layouts(X, rows, b * p, buffer if cast else None)
        out = second.zeros(b * p, N, dtype, self.device)
        for start in range(0, M, rows):
            stop = min(M, start + rows)
            Xc = buffer[:stop - start].copy_(X[start:stop]) if cast else X[start:stop]
            U = first.run(Xc, V_rows).contiguous().view(stop - start, b, p)  # sqrt(N) U
            g = self._g[start:stop, None, :]  # (m, 1, p)
            gU = (U * g).sum(dim=2, keepdim=True)  # (m, b, 1)
            T = self._beta[start:stop, None, :] * U + self._rg[start:stop, None, :] * gU
            second.add(out, T.reshape(stop - start, b * p), Xc)
        return second.result(out).reshape(b, p, N).to(self.dtype) / N

    def _layouts(self, X: torch.Tensor, rows: int, cols: int,
                 buffer: torch.Tensor | None) -> tuple[layouts.PassOne, layouts.PassTwo]:
        """The layouts of the two passes (:func:`bbp_torch.layouts.choose` on the CPU for a
        large ``X``, else the plain ones), named in ``first_pass`` and ``second_pass``."""
        dtype = self.compute_dtype
        chosen = layouts.PLAIN
        if (self.device.type == "cpu"
                and X.shape[0] * X.shape[1] * torch.finfo(dtype).bits // 8 >= layouts.TUNE_BYTES):
            def chunks() -> list[torch.Tensor]:
                if buffer is None:
                    return [X[a:a + rows] for a in range(0, min(len(X), 2 * rows), rows)]
                # X cast chunk by chunk: time on the one buffer
                return [buffer.copy_(X[:len(buffer)])] * min(2, -(-len(X) // rows))

            chosen = layouts.choose(dtype, X.shape[1], rows, cols, chunks)
        self.first_pass, self.second_pass = chosen[0].name, chosen[1].name
        return chosen

    def dense(self) -> torch.Tensor:
        """The dense matrix (closed form), for small problems and checks."""
        return dense_hessian(self.problem, self.W, self.kind)


class AutogradOperator(_Operator):
    """Matrix-free Hessian ``V -> H V`` by autograd on the :class:`Student` module: forward-
    over-reverse Hessian-vector products (``torch.func.jvp`` of ``torch.func.grad`` of the
    module's loss through ``functional_call``), vectorised over the block by ``vmap``, in chunks
    of ``chunk_size`` samples (the loss is a sum over samples). No closed form is used: it is
    the product of a student a user would write, and the check of :class:`HessianOperator`.
    The spherical multipliers come from the module's autograd gradient.
    """

    def __init__(self, problem: Problem, W: torch.Tensor | None = None,
                 kind: str = "euclidean", chunk_size: int | None = None):
        super().__init__(problem, W, kind, chunk_size)
        self.student = Student.of(problem, self.W)
        if kind == "spherical":
            grad = torch.func.grad(module_loss(self.student, problem))(self.W)
            self.mu = (self.W * grad).sum(dim=1) / self.N
        else:
            self.mu = None

    def with_compute_dtype(self, dtype: torch.dtype):
        raise ValueError("the autograd product runs in the dtype of the weights; mixed "
                         "precision needs hessian.product=closed_form.")

    def _euclidean(self, V: torch.Tensor) -> torch.Tensor:
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


def hessian_operator(problem: Problem, W: torch.Tensor | None = None, kind: str = "euclidean",
                     product: str = "closed_form", chunk_size: int | None = None):
    """The matrix-free Hessian of ``problem``: ``product`` is ``closed_form``
    (:class:`HessianOperator`) or ``autograd`` (:class:`AutogradOperator`)."""
    if product not in PRODUCTS:
        raise ValueError(f"Unknown hessian.product {product!r}: use one of "
                         f"{', '.join(PRODUCTS)}.")
    if product == "autograd":
        return AutogradOperator(problem, W, kind=kind, chunk_size=chunk_size)
    return HessianOperator(problem, W, kind=kind, chunk_size=chunk_size)
