"""The matrix-free Hessian from the closed form (docs/model.md, sections 2 and 6).

    (H V)_k = (1/N) sum_mu x^mu sum_l c_kl^mu (x^mu . v_l),
    C^mu = diag(beta_k) + rank_one g g^T      (:class:`bbp_torch.operators.weights.SampleWeights`),

for each column ``v`` of a block (unit-major, blocks ``v_k`` of length ``N``). Two passes over
``X`` per block of ``b`` vectors: ``U = X V_k / sqrt(N)`` per unit, then ``(H V)_k = X^T T_k /
sqrt(N)`` with ``T_k = beta_k U_k + rank_one g_k (g . U)``: ``4 M N p b`` flops and
``O(M p b + N p b)`` extra memory, never the ``(pN, pN)`` matrix.
"""

from __future__ import annotations

import torch

from bbp_torch import layouts
from bbp_torch.model import Problem
from bbp_torch.operators.base import MatrixFreeHessian
from bbp_torch.operators.dense import dense_hessian
from bbp_torch.operators.spherical import lagrange_multipliers
from bbp_torch.operators.weights import SampleWeights

# The matrix-free product takes X in chunks of about this many bytes on the CPU (large enough
# for efficient products, small enough to be partly reused from the cache by the second pass),
# and casts each chunk into a buffer of at most _CAST_CHUNK_BYTES when X is stored in another
# dtype than the products run in (every device).
_PRODUCT_CHUNK_BYTES = 64 * 2**20
_CAST_CHUNK_BYTES = 256 * 2**20


def product_data(X: torch.Tensor, dtype: torch.dtype,
                 narrow: torch.Tensor | None = None) -> torch.Tensor:
    """``X`` as the products in ``dtype`` read it: ``X`` itself unless it is stored wider than
    ``dtype`` (float64 ``X``, float32 products), then a copy in ``dtype`` (``narrow`` when it is
    one already): casting every chunk in every product cost more than the narrower products
    saved (docs/large_n.md)."""
    if torch.finfo(X.dtype).bits <= torch.finfo(dtype).bits:
        return X
    return narrow if narrow is not None and narrow.dtype == dtype else X.to(dtype)


class HessianOperator(MatrixFreeHessian):
    """Matrix-free Hessian ``V -> H V`` from the closed form; never builds ``H``.

    ``(H V)_k = (1/N) sum_mu x^mu sum_l c_kl^mu (x^mu . v_l)`` with ``c_kl^mu`` of
    docs/model.md, sections 2 and 6 (the module docstring has the two passes); ``kind``
    ``spherical`` adds the Riemannian correction of :mod:`bbp_torch.operators.spherical`.
    Samples are processed in chunks of ``chunk_size`` rows so that the extra memory is
    ``O(chunk p b)``; ``X`` may be stored in a lower precision than the arithmetic, each chunk
    being cast on the fly.

    ``dtype`` (that of ``W``) is the precision of the vectors going in and out; the two passes
    over ``X`` run in ``compute_dtype`` (default ``dtype``) on ``X`` as :func:`product_data`
    gives it (``data``: ``X`` or a narrower copy already made). A float32 ``compute_dtype`` on
    float32 ``X`` skips the cast and is faster (docs/large_n.md), at a relative error of a few
    ``1e-7`` per product: :func:`bbp_torch.spectrum.lanczos.iterative_bottom` uses it only for a
    first phase and for the refinement's corrections (``mixed_precision``), and applies float64
    products to the refined vectors and to every check of their residuals.
    ``first_pass`` and ``second_pass`` name the layouts of the two passes in the last product
    (:mod:`bbp_torch.layouts`).
    """

    def __init__(
        self,
        problem: Problem,
        W: torch.Tensor | None = None,
        kind: str = "euclidean",
        chunk_size: int | None = None,
        compute_dtype: torch.dtype | None = None,
        *,
        data: torch.Tensor | None = None,
    ):
        super().__init__(problem, W, kind, chunk_size, lagrange_multipliers, compute_dtype)
        self.weights = SampleWeights(problem, self.W)
        self.data = product_data(problem.X, self.compute_dtype, data)
        # The per-sample weights of the two passes in compute_dtype: g (M, p),
        # rank_one * g (M, p) and beta ((M, 1) for the square, else (M, p)).
        s, dtype = self.weights, self.compute_dtype
        self._g = s.g.to(dtype).contiguous()
        self._rg = (s.rank_one[:, None] * s.g).to(dtype).contiguous()
        self._beta = (s.beta[:, None] if s.beta.dim() == 1 else s.beta).to(dtype).contiguous()
        self.first_pass: str | None = None
        self.second_pass: str | None = None

    def with_compute_dtype(self, dtype: torch.dtype) -> HessianOperator:
        """The same operator (same ``X``, ``W``, kind and ``dtype``) with products in ``dtype``,
        its product count at zero. A copy of ``X`` narrower than its storage is made once and
        shared by the operators derived from the one that holds it."""
        return HessianOperator(self.problem, self.W, self.kind, self.chunk_size, dtype,
                               data=self.data)

    def euclidean_product(self, V: torch.Tensor) -> torch.Tensor:
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
        X = self.data
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
            # T = beta U + rank_one g (g . U), in place of U (not needed after)
            T = U.mul_(self._beta[start:stop, None, :]).addcmul_(self._rg[start:stop, None, :], gU)
            second.add(out, T.view(stop - start, b * p), Xc)
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
        """The dense matrix (closed form, :func:`bbp_torch.operators.dense.dense_hessian`)."""
        return dense_hessian(self.problem, self.W, self.kind)
