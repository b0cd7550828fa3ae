"""Observables of the bottom of the spectrum (docs/model.md, section 3).

Conventions
-----------
A vector ``v`` in ``R^{pN}`` is cut into ``p`` blocks ``v_k`` (unit-major, as the Hessian).
For reference weights ``R`` (rows ``r_l``, each of norm ``~sqrt(N)``) the block overlap matrix is
``m_kl = v_k . r_l / sqrt(N)`` (``p x rows``), and the overlap is its Frobenius norm. The
reference rows are orthonormalised first, so the overlap is exactly the norm of the projection of
``v`` onto the subspace ``span{e_k (x) r_l}``: it lies in ``[0, 1]`` for a unit ``v`` and is
invariant under any orthogonal mixing ``W -> O W`` of the student's units and under a sign flip
of ``v``. (Orthonormalising changes ``m`` only at order ``1/sqrt(N)`` for random rows.)
"""

from __future__ import annotations

import numpy as np
import torch


def _orthonormal_rows(R: torch.Tensor) -> torch.Tensor:
    """Orthonormal basis (rows) of the row space of ``R`` (rows x N), each row of the same sign
    as the row of ``R`` it comes from (so channel decompositions see ``w_k``, not ``-w_k``)."""
    Q, upper = torch.linalg.qr(R.T)
    signs = torch.sign(torch.diagonal(upper))
    signs[signs == 0] = 1.0  # a dependent row: keep QR's direction rather than zero it
    return (Q * signs).T


def overlap_matrix(v: torch.Tensor, R: torch.Tensor) -> torch.Tensor:
    """``m_kl = v_k . q_l`` with ``q_l`` the orthonormalised rows of ``R``; shape (p, rows).

    For near-orthogonal rows of norm sqrt(N) this is ``v_k . r_l / sqrt(N)`` of docs/model.md.
    """
    N = R.shape[1]
    blocks = v.reshape(-1, N).to(R.dtype)
    return blocks @ _orthonormal_rows(R).T


def frobenius_overlap(v: torch.Tensor, R: torch.Tensor) -> float:
    """``||m||_F`` for a unit vector ``v`` (pN,) against reference rows ``R``; in [0, 1]."""
    return float(overlap_matrix(v, R).norm())


def teacher_overlap(v: torch.Tensor, W_star: torch.Tensor) -> float:
    """The overlap ``m`` (docs/model.md, section 3): Frobenius norm of the ``p x p*`` overlap."""
    return frobenius_overlap(v, W_star)


def student_overlap(v: torch.Tensor, W: torch.Tensor) -> float:
    """Overlap of ``v`` with the student's own ``p^2`` directions ``e_k (x) w_l``."""
    return frobenius_overlap(v, W)


def subspace_overlap(V: torch.Tensor, R: torch.Tensor) -> float:
    """Mean squared projection of the columns of ``V`` (pN, j) on ``span{e_k (x) r_l}``.

    With ``j = p p*`` bottom eigenvectors and ``R`` the teacher this is the second observable of
    docs/model.md: the fraction of the (degenerate at large N) outlier space lying in the teacher
    subspace; 1 when the span of ``V`` is that subspace.
    """
    N = R.shape[1]
    Q = _orthonormal_rows(R)  # (rows, N)
    p = V.shape[0] // N
    blocks = V.T.reshape(-1, p, N).to(R.dtype)  # (j, p, N)
    return float((blocks @ Q.T).pow(2).sum() / V.shape[1])


def teacher_overlaps(V: torch.Tensor, W_star: torch.Tensor) -> torch.Tensor:
    """The overlap ``m`` of every column of ``V`` (pN, j) with the teacher, (j,)."""
    N = W_star.shape[1]
    Q = _orthonormal_rows(W_star)  # (p*, N)
    p = V.shape[0] // N
    blocks = V.T.reshape(-1, p, N).to(W_star.dtype)  # (j, p, N)
    return (blocks @ Q.T).pow(2).sum(dim=(1, 2)).sqrt()


def best_overlap(V: torch.Tensor, W_star: torch.Tensor, scope: str) -> dict:
    """Which column of ``V`` (ascending eigenvalues) has the largest teacher overlap (the
    paper's Fig. 3: phi is the fraction of samples where it is the bottom one, index 0).

    Returns ``best_overlap_index`` (0-based, from the bottom), ``best_overlap`` (its ``m``) and
    ``best_overlap_scope``: ``all`` when ``V`` holds every eigenvector, ``bottom_k`` when only
    the bottom ones were computed (then the index is the best among those).
    """
    m = teacher_overlaps(V, W_star)
    index = int(torch.argmax(m))
    return {"best_overlap_index": index, "best_overlap": float(m[index]),
            "best_overlap_scope": scope}


def student_channels(v: torch.Tensor, W: torch.Tensor) -> dict[str, float]:
    """Split the squared student overlap of ``v`` into the O(p) channels of the ``p x p`` matrix.

    ``S = m`` against the student (``p x p``): trace part ``tr(S)^2 / p``, symmetric traceless
    part and antisymmetric part; the three add up to ``student_overlap(v, W)^2``. The trace
    channel is the radial (norm) direction of all units together, the antisymmetric channel the
    rotations ``W -> O W`` that leave ``yhat`` invariant.
    """
    S = overlap_matrix(v, W)
    p = S.shape[0]
    trace = torch.trace(S) ** 2 / p
    sym = 0.5 * (S + S.T)
    sym_traceless = sym - torch.eye(p, dtype=S.dtype, device=S.device) * torch.trace(S) / p
    anti = 0.5 * (S - S.T)
    return {
        "trace": float(trace),
        "symmetric": float(sym_traceless.pow(2).sum()),
        "antisymmetric": float(anti.pow(2).sum()),
    }


def edge_index(p: int, p_star: int) -> int:
    """Index (0-based, ascending) of the eigenvalue taken as the finite-N bulk edge: ``p p*``.

    The teacher outlier is ``p p*``-fold degenerate at large N, so the first ``p p*`` eigenvalues
    may be outliers; the next one is the smallest eigenvalue that is certainly bulk.
    """
    return p * p_star


def bulk_edge_estimate(values: torch.Tensor | np.ndarray, p: int, p_star: int) -> float:
    """Finite-N estimate of the bulk's left edge ``lambda_-``: the ``(p p* + 1)``-th eigenvalue.

    Below the transition it is one of the edge eigenvalues (biased slightly inwards, by the
    Tracy-Widom-like spacing ``O(N^(-2/3))`` at a square-root edge); above it, it is the first
    eigenvalue after the outlier multiplet. ``values`` must hold at least ``p p* + 1`` eigenvalues.
    """
    j = edge_index(p, p_star)
    values = np.sort(np.asarray(values, dtype=float))
    if len(values) <= j:
        raise ValueError(
            f"The bulk-edge estimate needs at least {j + 1} bottom eigenvalues (p*p_star + 1); "
            f"got {len(values)}: raise solver.k."
        )
    return float(values[j])


def spectral_histogram(values, bins: int = 60, range_=None) -> tuple[np.ndarray, np.ndarray]:
    """Normalised eigenvalue histogram: ``(bin_edges, density)`` with ``sum(density*width)=1``."""
    density, edges = np.histogram(np.asarray(values, dtype=float), bins=bins, range=range_,
                                  density=True)
    return edges, density


def measure(values: torch.Tensor, vectors: torch.Tensor, W: torch.Tensor,
            W_star: torch.Tensor) -> dict:
    """All observables of the bottom eigenpairs ``values`` (k,), ``vectors`` (pN, k).

    Returns a flat dict of floats/lists: ``lambda_min``, ``lambda_edge``, ``gap``, ``overlap``
    (teacher, bottom vector), ``overlap_subspace`` (bottom ``p p*`` vectors; None, with
    ``overlap_subspace_note`` saying why, when fewer than ``p p*`` were computed),
    ``overlap_student`` (bottom vector) with its O(p) channels, ``bottom_eigenvalues``, the
    teacher overlap of each of the bottom vectors, and :func:`best_overlap` among them
    (scope ``bottom_k``).
    """
    p, p_star = W.shape[0], W_star.shape[0]
    v0 = vectors[:, 0]
    lam = values.detach().cpu().double().numpy()
    edge = bulk_edge_estimate(lam, p, p_star) if len(lam) > edge_index(p, p_star) else None
    j = p * p_star
    channels = student_channels(v0, W)
    overlaps = [teacher_overlap(vectors[:, i], W_star) for i in range(vectors.shape[1])]
    best = max(range(len(overlaps)), key=overlaps.__getitem__)
    return {
        "lambda_min": float(lam[0]),
        "lambda_edge": edge,
        "gap": None if edge is None else edge - float(lam[0]),
        "overlap": teacher_overlap(v0, W_star),
        "overlap_subspace": subspace_overlap(vectors[:, :j], W_star)
        if vectors.shape[1] >= j else None,
        "overlap_student": student_overlap(v0, W),
        "overlap_student_channels": channels,
        "bottom_eigenvalues": [float(x) for x in lam],
        "bottom_overlaps": overlaps,
        "best_overlap_index": best,
        "best_overlap": overlaps[best],
        "best_overlap_scope": "bottom_k",
    } | ({} if vectors.shape[1] >= j else {"overlap_subspace_note": (
        f"not computed: it needs the bottom p*p_star={j} vectors and {vectors.shape[1]} were "
        f"computed; set solver.k >= {j} (or null)")})
