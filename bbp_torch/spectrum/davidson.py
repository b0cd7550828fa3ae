"""Refinement of approximate bottom eigenpairs: block Davidson with exact residuals.

The float64 phase of a mixed-precision solve (:func:`bbp_torch.spectrum.lanczos.iterative_bottom`)
starts from ``k`` Ritz vectors that float32 products brought to a relative residual of about
``1e-6``. A block Lanczos run from them applies the operator to all ``k`` of them at every step
until the last pair converges. Here each step applies it only to the residuals of the pairs
that have not converged yet (the wanted eigenvectors' directions that are still missing), so
pairs that converge early stop costing products: at N = 2000, p = 4, k = 8, from ``1e-6`` to
``1e-8`` it took 208 float64 products against 376 for block Lanczos.

Inexact expansions (``expansion_op``, e.g. the same operator with float32 products): a Ritz
vector is ``y = V s``, and an error ``e_j`` in the product of the basis column ``j`` puts
``sum_j s_j e_j`` into its residual. The first block of a basis (the start vectors, whose
coefficients stay near 1) is applied with the exact operator; every later column (the
corrections, whose coefficients are about the start's error, ``1e-3`` or less) may be applied
with products of relative error ``eta``: they add about ``eta |s_j|`` to the residual, far
below ``tol`` for float32 products (``eta`` about ``1e-7``). The projected matrix couples each
new column to the older ones through the older ones' products (``A_old^T v_new``), so that the
start vectors' couplings are exact. The estimated residuals are confirmed before convergence
is declared: the ``k`` Ritz vectors become a new basis, applied with the exact operator (one
call), and the iteration goes on from them unless every true residual meets ``tol``. At
N = 2000, p = 4, k = 8 from ``1e-6`` this took the same 40-51 calls as float64 expansions,
in 0.55-0.8 s against 1.0-1.25 s (docs/large_n.md).

Conventions
-----------
* The basis ``V`` (n, m) is orthonormal and its products ``A = H V`` are kept, so the Ritz
  pairs of ``V^T H V`` come with their residuals ``H y - theta y = A s - theta V s`` (up to
  rounding, and to the expansions' product error): convergence is judged on residuals from
  kept products, not on a recurrence, and confirmed with exact products.
* ``tol`` is a relative residual: a pair is converged when ``||H y - theta y|| <= tol * scale``,
  ``scale`` the largest ``|theta|`` seen (at least the ``scale`` passed in), as in
  :mod:`bbp_torch.spectrum.lanczos`.
* ``iterations`` counts operator calls, ``n_products`` the vectors they were applied to.
* No randomness: the start vectors decide everything.
"""

from __future__ import annotations

import time

import torch

from bbp_torch.spectrum.krylov import (
    KrylovResult,
    KrylovState,
    as_block_operator,
    deflate,
    excluded_directions,
    orthogonalize,
    progress_bar,
)
from bbp_torch.spectrum.tuning import default_basis_size, refinement_basis_size

# A thick restart keeps the k wanted Ritz vectors and at most this many of the next ones.
_RESTART_EXTRA = 64


def _orthonormal_new(W: torch.Tensor, V: torch.Tensor, size: float) -> torch.Tensor:
    """The directions of ``W`` orthogonal to ``V`` (two classical Gram-Schmidt passes), made
    orthonormal; directions with singular value at most ``eps^(3/4) size`` are dropped (they
    are already in the basis, to rounding)."""
    orthogonalize(W, V)
    U, S, _ = torch.linalg.svd(W, full_matrices=False)
    strong = S > torch.finfo(W.dtype).eps ** 0.75 * size
    U = U[:, strong]
    if U.shape[1]:  # one more pass: U's orthogonality to V is only as good as eps size / S
        orthogonalize(U, V, passes=1)
        U, _ = torch.linalg.qr(U)
    return U


def block_davidson(
    op,
    start: torch.Tensor,
    k: int,
    *,
    tol: float,
    max_iter: int = 1000,
    basis_size: int | None = None,
    scale: float = 0.0,
    progress: bool = False,
    next_vectors: torch.Tensor | None = None,
    expansion_op=None,
) -> KrylovResult:
    """The ``k`` smallest eigenpairs of a symmetric operator near the columns of ``start``.

    ``start`` (n, s), ``s >= k``: approximations of the wanted eigenvectors (any basis of
    their span). Each step applies ``op`` to the orthonormalised residuals of the wanted Ritz
    pairs that are not yet converged (unpreconditioned block Davidson); when the basis would
    exceed ``basis_size`` columns (default: :func:`bbp_torch.spectrum.tuning.refinement_basis_size`;
    at least ``s + 2k + e``) it is compressed to its ``k + 64`` smallest Ritz vectors and their
    products (thick restart, no extra product). ``next_vectors`` (n, e), e.g. the Ritz vectors
    after the wanted ones from the run that produced ``start``, join the first expansion when
    the pairs of ``start`` have not all converged: the errors of ``start`` lie mostly along
    them. Stops when every wanted pair meets ``tol``, after ``max_iter`` operator calls (the
    first, on ``start``, included), or when no residual adds a new direction (the rounding
    floor: ``converged`` stays false). Every new direction is kept orthogonal to the operator's
    excluded directions (:func:`bbp_torch.spectrum.krylov.excluded_directions`).

    ``expansion_op`` (same shape, dtype and device as ``op``; e.g. ``op`` with float32
    products) applies every block but the first of a basis; the estimated convergence is then
    confirmed by restarting the basis from the ``k`` Ritz vectors with one exact call (the
    module docstring), counted in ``info["anchors"]``; it is also confirmed this way when the
    inexact expansions add no new direction. ``info["compute_dtype_products"]`` counts the
    vectors applied with ``op`` (with ``expansion_op``: the start's and the anchors').
    """
    apply, n, dtype, device = as_block_operator(op)
    expand = apply if expansion_op is None else as_block_operator(expansion_op)[0]
    anchors, compute_dtype_products = 0, 0
    inexact = False  # some column of the basis was applied with expansion_op
    excluded = excluded_directions(op)
    s = start.shape[1]
    if not 1 <= k <= s:
        raise ValueError(f"start has {s} columns, fewer than k={k}.")
    if basis_size is None:
        basis_size = refinement_basis_size(default_basis_size(k, s, n), k)
    e = 0 if next_vectors is None else next_vectors.shape[1]
    m_max = min(n, max(basis_size, s + 2 * k + e))
    keep_max = min(k + _RESTART_EXTRA, m_max - k)
    st = KrylovState.allocate(n, m_max, dtype, device, keep_products=True, scale=scale)
    V, A, G = st.basis, st.products, st.projected  # G = V^T H V, on the CPU

    bar = progress_bar(max_iter, "block Davidson") if progress else None
    new = _anchor(start.to(device=device, dtype=dtype), excluded)
    try:
        while True:
            c, m = new.shape[1], st.m
            step = apply if m == 0 else expand  # a basis' first block: the exact operator
            A[:, m:m + c] = st.apply(step, new)
            inexact = inexact or step is not apply
            compute_dtype_products += c if step is apply else 0
            V[:, m:m + c] = new
            if bar is not None:
                bar.update(1)
            if expansion_op is None:
                # the new columns of V^T H V; (A^T V)^T is MKL's faster layout (as in Lanczos)
                C = (A[:, m:m + c].T @ V[:, :m + c]).T
            else:  # couplings to the older columns through their (more exact) products
                C = torch.cat([A[:, :m].T @ new, new.T @ A[:, m:m + c]])
            C = C.to(device="cpu", dtype=torch.float64)
            G[:m + c, m:m + c] = C
            G[m:m + c, :m + c] = C.T
            st.m = m = m + c
            st.rayleigh_ritz()
            t0 = time.perf_counter()
            theta = st.theta
            Sk = st.ritz[:, :k].to(device=device, dtype=dtype)
            Y = V[:, :m] @ Sk
            R = A[:, :m] @ Sk - Y * theta[:k].to(device=device, dtype=dtype)[None, :]
            st.residuals = R.norm(dim=0).to(device="cpu", dtype=torch.float64)
            st.time_ritz += time.perf_counter() - t0
            active = st.residuals > tol * st.scale
            st.history.append((st.iterations, float(st.residuals.max()) / st.scale))
            if bar is not None:
                bar.set_postfix(converged=f"{k - int(active.sum())}/{k}",
                                lam0=f"{float(theta[0]):.6g}", refresh=False)
            if not bool(active.any()) and not inexact:
                st.converged = True
                break
            if st.iterations >= max_iter:
                break
            new = None
            if bool(active.any()):
                W = R[:, active.to(device)]
                if next_vectors is not None and st.iterations == 1:
                    W = torch.cat([W, next_vectors.to(device=device, dtype=dtype)], dim=1)
                if m + W.shape[1] > m_max:  # thick restart to the smallest Ritz vectors
                    st.thick_restart(min(m, keep_max))
                t0 = time.perf_counter()
                new = _orthonormal_new(deflate(W, excluded), V[:, :st.m],
                                       st.scale)[:, :m_max - st.m]
                st.time_orthogonalize += time.perf_counter() - t0
            if new is None or new.shape[1] == 0:
                if not inexact:  # no new direction: the rounding floor
                    st.stalled = True
                    break
                # estimated convergence, or no new direction from the inexact expansions:
                # confirm with a new basis of the Ritz vectors, applied with the exact operator
                new, st.m, anchors, inexact = _anchor(Y, excluded), 0, anchors + 1, False
    finally:
        if bar is not None:
            bar.close()
    result = st.result(k, Y, s, m_max, "block_davidson")
    result.info.update(anchors=anchors, compute_dtype_products=compute_dtype_products)
    return result


def _anchor(Y: torch.Tensor, excluded: torch.Tensor | None) -> torch.Tensor:
    """An orthonormal basis of the Ritz vectors ``Y``, the first block of a new basis."""
    return torch.linalg.qr(deflate(Y.clone(), excluded))[0]
