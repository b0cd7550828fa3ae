"""Matrix-free bottom eigenpairs: thick-restart block Lanczos in torch (CPU and CUDA).

Conventions
-----------
* The operator is anything with ``matvec(V)`` for a block ``V`` of shape ``(n, b)`` (e.g.
  :class:`bbp_torch.hessian.HessianOperator`) or a dense symmetric ``(n, n)`` tensor. Each call
  applies it to a whole block: for the Hessian that is two passes over ``X`` for ``b`` vectors,
  which is what makes a block method faster than one vector per pass.
* Wanted: the ``k`` smallest *algebraic* eigenvalues. Lanczos converges at both ends of the
  spectrum without any shift; Rayleigh-Ritz keeps the smallest Ritz values, so no spectral
  transformation (and no guess of ``||H||``) is needed.
* Convergence: a Ritz pair ``(theta, y)`` is accepted when its residual
  ``||H y - theta y||`` (read off the Lanczos relation) is at most ``tol * scale``, where
  ``scale`` is the largest ``|theta|`` seen so far, a lower bound on ``||H||_2``. ``tol`` is
  therefore a *relative residual*; eigenvalues are then accurate to about
  ``(tol * scale)^2 / gap``.
* Deterministic: the start block comes from a CPU generator seeded with ``seed`` and is moved to
  the device, so a seed gives the same start on every device. When the projected matrix is
  diagonalised (every step, or every few steps when that is expensive next to a product) is
  decided by a flop model and the residual history, never by timings.
* ``iterations`` counts block steps (one operator call on ``block_size`` vectors each);
  ``n_products`` counts single vectors the operator was applied to.
* Mixed precision (:func:`iterative_bottom`, ``mixed_precision=True``): float32 products for the
  bulk of the steps (on two CPU cores at N=16000, p=4: 0.55-0.75 s per product of 4 vectors
  against 1.25 s in float64), then a refinement of the ``k`` Ritz vectors to float64 accuracy
  (:mod:`bbp_torch.spectrum.davidson`: float64 products of the Ritz vectors, float32 ones of
  the corrections). The float32 phase keeps its Lanczos basis in float32
  too (half the memory traffic of its reorthogonalisation), the projected matrix in float64;
  it cannot go below a relative residual of a few ``1e-7`` (its products' error), which is why
  it stops at ``1e-6``.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace

import torch

from bbp_torch.spectrum.davidson import block_davidson
from bbp_torch.spectrum.dense import Complement
from bbp_torch.spectrum.krylov import (
    KrylovResult,
    KrylovState,
    as_block_operator,
    deflate,
    excluded_directions,
    orthogonalize,
    progress_bar,
    seeded_block,
)
from bbp_torch.spectrum.tuning import (
    default_basis_size,
    default_tol,
    refinement_basis_size,
    solver_block_size,
)
from bbp_torch.spectrum.types import Eigenpairs, SolverSettings, residual_norms

# After the Krylov space closes (an invariant subspace, e.g. an eigenvalue more degenerate than the
# block) random directions are added; convergence is not accepted until they have had this many
# steps to bring in further copies of the wanted eigenvalues.
_FRESH_STEPS = 3
# Mixed precision: the float32 phase stops at this relative residual (float32 products are
# accurate to a few 1e-7) or after this many steps without a new low once below
# _FLOAT32_STALL_BELOW. Above it a plateau is slow convergence, not the float32 floor: at
# p = 32, N = 500, k = 36 the largest residual stayed near 5e-3 for 40 steps while a cluster of
# outliers split, and a refinement from there took 245 float64 calls (7381 products) against 20
# from 1e-6.
_FLOAT32_TOL = 1e-6
_FLOAT32_STALL_STEPS = 40
_FLOAT32_STALL_BELOW = 1e-4
# ... and hands the float64 refinement its k Ritz vectors and the next 2k, which join the
# refinement's first expansion (bbp_torch.spectrum.davidson).
_NEXT_RITZ = 2
# At most this many block steps between two Rayleigh-Ritz solves of the projected matrix.
_MAX_INTERVAL = 16
# ... and the Rayleigh-Ritz solves may cost about this share of the steps they cover.
_RITZ_SHARE = 1 / 64


def _lanczos_orthogonalize(W: torch.Tensor, Q: torch.Tensor, lo: int) -> torch.Tensor:
    """``C = Q^T H U`` for ``W = H U`` and ``W <- W - Q C`` in place, ``U`` the last block of
    ``Q``: first against ``Q[:, lo:]``, the columns ``U`` couples to in exact arithmetic (the
    last two blocks; after a restart also the kept Ritz vectors), then one classical
    Gram-Schmidt pass against all of ``Q`` for what rounding left. Two reads of the basis per
    step instead of the four of two full passes."""
    local = Q[:, lo:]
    C_local = (W.T @ local).T
    W -= local @ C_local
    C = orthogonalize(W, Q, passes=1)
    C[lo:] += C_local
    return C


def _next_block(W: torch.Tensor, Q: torch.Tensor, size: float, gen: torch.Generator,
                excluded: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Orthonormal ``U`` (n, b) with ``W = U B`` (up to ``eps^(3/4) size``), ``U`` orthogonal
    to ``Q``; ``size`` estimates ``||H||``.

    ``W`` must already be orthogonal to ``Q``. Directions of ``W`` with singular value at most
    ``eps^(3/4) size`` (an invariant subspace was reached) are replaced by random directions,
    with zero coupling, so the basis keeps growing; they are kept orthogonal to ``excluded``.
    """
    eps = torch.finfo(W.dtype).eps
    rank_tol = eps ** 0.75 * size
    U, S, Vh = torch.linalg.svd(W, full_matrices=False)
    B = S[:, None] * Vh
    weak = S <= rank_tol
    if bool(weak.any()):  # marks the block: the caller sees zero rows of B
        B[weak] = 0.0
        R = torch.randn(W.shape[0], int(weak.sum()), generator=gen, dtype=torch.float64)
        U[:, weak] = deflate(R.to(device=W.device, dtype=W.dtype), excluded)
    if bool(weak.any()) or float(S.min()) < eps ** 0.25 * size:
        # W was small in some direction, so U's orthogonality to Q is only as good as
        # eps ||H|| / S_min there: one more pass against the basis and re-orthonormalise.
        orthogonalize(U, Q)
        U, R = torch.linalg.qr(U)
        signs = torch.sign(torch.diagonal(R))
        signs[signs == 0] = 1.0
        U = U * signs[None, :]
    return U, B


def _step_flops(op, n: int, b: int, m: int) -> float:
    """Cost of one block step in float64 flops: the product (the operator's
    ``product_flops`` per vector, e.g. ``4 M N p`` for the closed-form Hessian; ``2 n^2``, a
    dense matrix's, when it has none; half of that for float32 products, which run about twice
    as fast) plus the reorthogonalisation against ``m`` basis columns (``4 n m`` per vector)."""
    per_vector = float(getattr(op, "product_flops", None) or 2.0 * n * n)
    if getattr(op, "compute_dtype", None) == torch.float32:
        per_vector *= 0.5
    return b * per_vector + 4.0 * n * m * b


def _check_interval(op, n: int, b: int, m: int) -> int:
    """Most block steps between two Rayleigh-Ritz solves: ``eigh`` of the ``m x m`` projected
    matrix costs about as much as ``10 m^3`` flops of a product (measured at m = 160-1000 on
    two CPU cores), and may take ``_RITZ_SHARE`` of the time of the steps it covers (1/16: at
    N = 2000, p = 4 it saved 0.2-0.3 s of 6 s against 1/8, with the same 222 steps; 1/64, with
    mixed precision, 106 -> 74 solves and 0.1-0.15 s of 2.6 s there, 186 -> 107 solves and
    0.3 s of 9.5 s at N = 4000, p = 2, the same steps); never more than ``_MAX_INTERVAL`` steps."""
    ratio = 10.0 * m**3 / _step_flops(op, n, b, m)
    return int(min(_MAX_INTERVAL, max(1, math.ceil(ratio / _RITZ_SHARE))))


def block_lanczos(
    op,
    k: int,
    *,
    block_size: int | None = None,
    basis_size: int | None = None,
    tol: float | None = None,
    max_iter: int = 1000,
    seed: int = 0,
    start: torch.Tensor | None = None,
    progress: bool = False,
    stall_steps: int | None = None,
    stall_below: float = math.inf,
    scale: float = 0.0,
    next_ritz: int = 0,
    units: int = 1,
    basis_dtype: torch.dtype | None = None,
) -> KrylovResult:
    """The ``k`` smallest eigenpairs of a symmetric operator by thick-restart block Lanczos.

    Full reorthogonalisation (the local couplings, then one classical Gram-Schmidt pass:
    :func:`_lanczos_orthogonalize`) against a basis of at most ``basis_size`` columns; when it
    is full, the basis is compressed to the smallest Ritz
    vectors (thick restart, keeping ``k`` plus half of the unwanted ones) and the last block of
    Lanczos vectors. The projected matrix is diagonalised after every step while that is cheap
    next to a product, else every few steps (:func:`_check_interval`; closer together as the
    residuals approach ``tol``) and at every restart. ``max_iter`` bounds the number of block
    steps. ``start`` (n, b) replaces the seeded random start block. The basis is kept
    orthogonal to the operator's excluded directions (:func:`excluded_directions`), so its
    eigenpairs are those of the operator on their complement. Raises nothing on
    non-convergence: ``converged`` says so. ``stall_steps`` stops early (``info["stalled"]``)
    when the largest wanted residual has not reached a new low for that many steps (the floor
    of an inexact operator), once that low is at most ``stall_below`` (relative). ``scale``
    is a known lower bound on ``||H||_2`` (e.g. from an
    earlier run); the tolerance's scale starts there. ``next_ritz`` also returns the Ritz
    vectors after the ``k`` wanted ones, at most that many (``next_vectors``). ``units`` (the
    Hessian's ``p``: columns of ``X`` per vector of a product) sets the default block size
    (:func:`bbp_torch.spectrum.tuning.solver_block_size`). ``basis_dtype`` stores the basis
    (and returns the vectors) in another dtype than the operator's, e.g. float32 with float32
    products; the projected matrix stays float64.
    """
    apply, n, dtype, device = as_block_operator(op)
    tol = default_tol(str(dtype).removeprefix("torch.")) if tol is None else tol
    dtype = basis_dtype or dtype
    excluded = excluded_directions(op)
    if excluded is not None:
        excluded = excluded.to(device=device, dtype=dtype)
    dim = n - (0 if excluded is None else excluded.shape[1])
    if not 1 <= k <= dim:
        raise ValueError(f"k={k} must be between 1 and the operator's dimension {dim}.")
    b = _block_size(op, block_size, device, units, excluded,
                    float32_products=getattr(op, "compute_dtype", None) == torch.float32)
    m_max = basis_size or default_basis_size(k, b, n)
    if _too_small(dim, k, b, m_max):
        return _small_problem(apply, n, k, dtype, device, excluded)
    if m_max < k + 2 * b:
        raise ValueError(f"basis_size={m_max} must be at least k + 2*block_size = {k + 2 * b}.")
    gen = torch.Generator(device="cpu")
    gen.manual_seed(int(seed) + 7919)

    st = KrylovState.allocate(n, m_max + b, dtype, device, scale=scale)
    Q, T = st.basis, st.projected  # T: projected matrix, on the CPU (rows m_max + b unused)
    V0 = seeded_block(n, b, seed, dtype, device) if start is None else start.to(device, dtype)
    if V0.shape != (n, b):
        raise ValueError(f"start must have shape ({n}, {b}), got {tuple(V0.shape)}.")
    Q[:, :b], _ = torch.linalg.qr(deflate(V0.clone(), excluded))

    # st.m: processed columns; Q[:, m:m+b] is the next block to apply the operator to
    lo = 0  # first column the next block couples to in exact arithmetic
    bar = progress_bar(max_iter, "block Lanczos") if progress else None
    since_fresh = _FRESH_STEPS  # steps since random directions entered the basis
    best, best_step = math.inf, 0
    next_check = 1  # block step of the next Rayleigh-Ritz solve
    try:
        while st.iterations < max_iter:
            m = st.m
            W = st.apply(apply, Q[:, m:m + b])
            t0 = time.perf_counter()
            # (m + b, b): column block of Q^T H Q
            C = _lanczos_orthogonalize(W, Q[:, :m + b], lo).to(device="cpu", dtype=torch.float64)
            lo = m
            T[:m + b, m:m + b] = C
            T[m:m + b, :m] = C[:m].T
            T[m:m + b, m:m + b] = 0.5 * (C[m:] + C[m:].T)
            # Until Ritz values exist, the size of H Q_j stands in for ||H||.
            size = max(st.scale, float(C.abs().max()), float(W.norm()) / math.sqrt(b), 1e-300)
            U, B = _next_block(W, Q[:, :m + b], size, gen, excluded)
            Q[:, m + b:m + 2 * b] = U
            st.time_orthogonalize += time.perf_counter() - t0
            since_fresh = 0 if bool((B.abs().sum(dim=1) == 0).any()) else since_fresh + 1
            st.m = m = m + b
            restart = st.iterations < max_iter and m + b > m_max
            if bar is not None:
                bar.update(1)
            if not (restart or st.iterations >= max_iter or st.iterations >= next_check):
                continue
            st.rayleigh_ritz()
            theta = st.theta
            st.residuals = (B.to(device="cpu", dtype=torch.float64) @ st.ritz[m - b:m, :]
                            ).norm(dim=0)[:k]
            n_conv = int((st.residuals <= tol * st.scale).sum())
            worst = float(st.residuals.max()) / st.scale
            if bar is not None:
                bar.set_postfix(converged=f"{n_conv}/{k}", lam0=f"{float(theta[0]):.6g}",
                                refresh=False)
            if n_conv == k and since_fresh >= _FRESH_STEPS:
                st.history.append((st.iterations, worst))
                st.converged = True
                break
            next_check = st.iterations + _next_interval(st.history, st.iterations, worst, tol,
                                                        _check_interval(op, n, b, m))
            st.history.append((st.iterations, worst))
            if worst < best:
                best, best_step = worst, st.iterations
            if (stall_steps is not None and best <= stall_below
                    and st.iterations - best_step >= stall_steps):
                st.stalled = True
                break
            if restart:  # thick restart
                keep = min(m - b, k + (m - k) // 2)
                st.thick_restart(keep)
                Q[:, keep:keep + b] = Q[:, m:m + b]
                lo = 0
    finally:
        if bar is not None:
            bar.close()
    m = st.m
    ritz = Q[:, :m] @ st.ritz[:, :k + min(next_ritz, m - k)].to(device=device, dtype=dtype)
    return st.result(k, ritz[:, :k], b, m_max, "block_lanczos",
                     next_vectors=ritz[:, k:] if next_ritz > 0 else None)


def _block_size(op, block_size: int | None, device: torch.device, units: int,
                excluded: torch.Tensor | None, float32_products: bool) -> int:
    """:func:`bbp_torch.spectrum.tuning.solver_block_size` for ``op``: an operator with
    excluded directions is treated as the spherical Hessian (a block holds all of them)."""
    kind = "euclidean" if excluded is None else "spherical"
    units = max(units, 0 if excluded is None else excluded.shape[1])
    return solver_block_size(block_size, device.type, kind, units,
                             float32_products=float32_products)


def _too_small(dim: int, k: int, b: int, m_max: int) -> bool:
    """An operator of dimension ``dim`` is diagonalised whole rather than by a Krylov basis
    of ``m_max`` columns and blocks of ``b`` for ``k`` pairs."""
    return dim < max(m_max + b, 4 * (k + b))


def _next_interval(history: list, step: int, worst: float, tol: float, most: int) -> int:
    """Block steps to the next Rayleigh-Ritz solve: ``most``, or fewer when the decay of the
    largest wanted residual since the last solve predicts it meets ``tol`` sooner (half the
    predicted steps, so the solve lands near the first step that converges)."""
    if not history:
        return 1
    if most == 1:
        return 1
    last_step, last = history[-1]
    if not (0 < worst < last):
        return most
    rate = math.log(last / worst) / (step - last_step)  # per block step
    ahead = math.log(max(worst / tol, 1.0)) / rate
    return int(min(most, max(1, math.floor(0.5 * ahead))))


def _small_problem(apply, n: int, k: int, dtype, device,
                   excluded: torch.Tensor | None = None) -> KrylovResult:
    """Operators too small for a Krylov basis: apply to the identity and diagonalise (on the
    complement of ``excluded``)."""
    Hd = apply(torch.eye(n, dtype=dtype, device=device)).to(torch.float64)
    Hd = 0.5 * (Hd + Hd.T)
    complement = Complement(excluded.to(torch.float64)) if excluded is not None else None
    if complement is not None:
        Hd = complement.restrict(Hd)
    theta, S = torch.linalg.eigh(Hd)
    if complement is not None:
        S = complement.lift(S[:, :k])
    return KrylovResult(
        values=theta[:k].to(dtype),
        vectors=S[:, :k].to(dtype),
        residual_estimates=torch.zeros(k, dtype=torch.float64, device=device),
        iterations=1,
        n_products=n,
        restarts=0,
        converged=True,
        scale=float(theta.abs().max()),
        block_size=n,
        basis_size=n,
        info={"small_problem": True},
    )


def _phase_summary(r: KrylovResult, op, compute_dtype: torch.dtype, tol: float,
                   seconds: float, expansion_op=None) -> dict:
    """One phase of :func:`iterative_bottom` for the record; ``first_pass`` and ``second_pass``
    are the layouts of the product's two passes (:mod:`bbp_torch.layouts`), else None;
    ``expansion_dtype`` the products' dtype after the first block of a basis (block Davidson
    with inexact expansions, :mod:`bbp_torch.spectrum.davidson`), ``anchors`` the exact calls
    that confirmed its estimated convergence and ``compute_dtype_products`` the vectors applied
    in ``compute_dtype`` (in a Davidson phase the first blocks of its bases, in a Lanczos phase
    all)."""
    expansion = expansion_op.compute_dtype if expansion_op is not None else compute_dtype
    return {"method": r.info.get("method", "block_lanczos"),
            "compute_dtype": str(compute_dtype).removeprefix("torch."), "tol": tol,
            "expansion_dtype": str(expansion).removeprefix("torch."),
            "anchors": r.info.get("anchors", 0),
            "compute_dtype_products": r.info.get("compute_dtype_products", r.n_products),
            "iterations": r.iterations, "n_products": r.n_products, "restarts": r.restarts,
            "block_size": r.block_size, "basis_size": r.basis_size,
            "converged": r.converged, "scale": r.scale,
            "stalled": bool(r.info.get("stalled", False)), "seconds": seconds,
            "first_pass": getattr(op, "first_pass", None),
            "second_pass": getattr(op, "second_pass", None)}


def iterative_bottom(op, settings: SolverSettings, seed: int = 0,
                     progress: bool = False, start: torch.Tensor | None = None,
                     units: int = 1) -> Eigenpairs:
    """Bottom ``settings.k`` eigenpairs of a Hessian operator by block Lanczos.

    ``settings``: :class:`bbp_torch.spectrum.types.SolverSettings` or any object with its
    fields (the app's solver group as its validation resolved it: ``k``, ``tol``,
    ``block_size`` and ``basis_size`` set; unset ones take the rules of
    :mod:`bbp_torch.spectrum.tuning`, the block size for ``units`` columns per vector).
    ``settings.mixed_precision=True`` (an operator with ``with_compute_dtype``; an
    ``auto`` that the app's validation has not decided runs as false) runs the
    Lanczos iteration first on float32 products (``compute_dtype``), down to a relative
    residual of ``max(tol, 1e-6)`` or until it stops improving, then refines its ``k`` Ritz
    vectors down to ``tol`` (:func:`bbp_torch.spectrum.davidson.block_davidson`, which applies
    the operator only to the residuals of the pairs not yet converged, and at first to the next
    ``2k`` Ritz vectors): float64 products for the Ritz vectors, float32 ones for the
    corrections (their error enters the residuals scaled by the corrections' small
    coefficients), convergence confirmed by float64 products; the returned pairs, their
    residuals and ``converged`` are float64 results.
    ``settings.max_iter`` bounds the operator calls of both phases together.

    ``start`` (n, s >= 1), e.g. the eigenvectors of the Hessian a few descent steps earlier,
    warm-starts the solve: block Davidson from its first ``k`` columns on the operator's own
    products (no float32 phase), with ``block_size`` seeded random vectors joining the first
    expansion unless ``start`` has already converged (a direction that ``start`` misses is
    still found). Along a descent (N = 2000, p = 1, alpha = 2, every 100 of 2000 steps, one
    thread, tol 1e-5) the 19 solves between the first and the last took 0.52x the descent's
    CPU time warm-started this way, 0.77x by block Lanczos from a start block of 8 holding
    ``start``, and 1.84x by block Lanczos from a random block (1.13x, 1.57x, 2.53x at 1e-6).

    Residuals are recomputed with one more operator call (true ``||H v - lambda v||``, not the
    Lanczos estimate). ``info`` holds the relative residuals, the product count, restarts,
    whether the iteration met the tolerance, the phases, and timings.
    """
    k, max_iter = settings.k, settings.max_iter
    tol = settings.tol if settings.tol is not None else default_tol(
        str(op.dtype).removeprefix("torch."))
    basis_size = settings.basis_size
    mixed = settings.mixed_precision is True
    float32_products = mixed or getattr(op, "compute_dtype", None) == torch.float32
    block_size = _block_size(op, settings.block_size, op.device, units,
                             excluded_directions(op), float32_products)
    t_start = time.perf_counter()
    phases, first, start_block, steps_left, op32 = [], None, None, max_iter, None
    n = op.shape[0]
    warm = start is not None and not _too_small(
        n, k, block_size, basis_size or default_basis_size(k, block_size, n))
    if warm:
        start_block = start[:, :k].to(device=op.device, dtype=op.dtype)
    elif mixed:
        if not hasattr(op, "with_compute_dtype"):
            raise ValueError("solver.mixed_precision needs the matrix-free Hessian operator "
                             "(it computes products in float32); use it without that option.")
        tol_low = max(tol, _FLOAT32_TOL)
        op32 = op.with_compute_dtype(torch.float32)
        first = block_lanczos(op32, k, block_size=block_size, basis_size=basis_size,
                              tol=tol_low, max_iter=max_iter, seed=seed, progress=progress,
                              stall_steps=_FLOAT32_STALL_STEPS,
                              stall_below=_FLOAT32_STALL_BELOW, next_ritz=_NEXT_RITZ * k,
                              units=units, basis_dtype=torch.float32)
        phases.append(_phase_summary(first, op32, torch.float32, tol_low,
                                     time.perf_counter() - t_start))
        if not first.info.get("small_problem"):
            start_block = first.vectors
            steps_left = max(1, max_iter - first.iterations)
    t_phase = time.perf_counter()
    expansion_op = op32 if start_block is not None else None
    if start_block is not None:  # refine a warm start, or the float32 Ritz vectors
        lanczos_basis = (first.basis_size if first is not None
                         else basis_size or default_basis_size(k, block_size, n))
        r = block_davidson(op, start_block, k, tol=tol, max_iter=steps_left,
                           basis_size=refinement_basis_size(lanczos_basis, k),
                           scale=first.scale if first is not None else 0.0, progress=progress,
                           next_vectors=first.next_vectors if first is not None else
                           seeded_block(n, block_size, seed, op.dtype, op.device),
                           expansion_op=expansion_op)
    else:
        r = block_lanczos(op, k, block_size=block_size, basis_size=basis_size, tol=tol,
                          max_iter=steps_left, seed=seed, progress=progress, units=units)
    phases.append(_phase_summary(r, op, getattr(op, "compute_dtype", r.values.dtype), tol,
                                 time.perf_counter() - t_phase, expansion_op))
    t_solve = time.perf_counter() - t_start
    earlier = [first] if first is not None else []
    residuals = residual_norms(op, r.values, r.vectors)
    pairs = Eigenpairs(values=r.values, vectors=r.vectors, residuals=residuals,
                       solver="iterative", tol=tol, scale=r.scale,
                       iterations=sum(x.iterations for x in earlier) + r.iterations)
    pairs.info = {
        "method": "+".join(dict.fromkeys(p["method"] for p in phases)),
        "tol": tol,
        "converged": pairs.converged,
        "lanczos_converged": r.converged,
        "relative_residuals": pairs.relative_residuals,
        "scale": r.scale,
        "n_products": sum(x.n_products for x in earlier) + r.n_products + k,
        "restarts": sum(x.restarts for x in earlier) + r.restarts,
        "ritz_solves": sum(x.info.get("ritz_solves", 0) for x in [*earlier, r]),
        "block_size": r.block_size,
        "basis_size": r.basis_size,
        "mixed_precision": mixed,
        "phases": phases,
        "small_problem": bool(r.info.get("small_problem", False)),
        "history": [h for x in [*earlier, r] for h in x.info.get("history", [])],
        "timings": {"lanczos": t_solve,
                    "apply": sum(x.info.get("time_apply", 0.0) for x in [*earlier, r]),
                    "ritz": sum(x.info.get("time_ritz", 0.0) for x in [*earlier, r]),
                    "orthogonalize": sum(x.info.get("time_orthogonalize", 0.0)
                                         for x in [*earlier, r]),
                    "residuals": time.perf_counter() - t_start - t_solve},
    }
    if not pairs.converged:
        met = sum(x <= tol for x in pairs.relative_residuals)
        pairs.info["warning"] = (
            f"the iterative solver stopped after {pairs.iterations} operator calls "
            f"(solver.max_iter={max_iter}) with {met}/{k} pairs at relative residual <= "
            f"solver.tol={tol:g}; raise solver.max_iter or solver.tol.")
    return pairs


def solve(op, settings, *, k: int, tol: float, seed: int = 0, progress: bool = False,
          start: torch.Tensor | None = None, units: int = 1) -> Eigenpairs:
    """The registered ``iterative`` solver (:mod:`bbp_torch.spectrum.registry`)."""
    return iterative_bottom(op, replace(settings, k=k, tol=tol), seed=seed, progress=progress,
                            start=start, units=units)
