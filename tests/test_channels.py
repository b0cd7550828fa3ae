"""The N = infinity theory against exact diagonalisation of the finite-N Hessian, through the
finite-N counterparts of bbp_torch.channels (spectra, channel resolvents, KS distance).

Finite-N effects set every tolerance below. Two kinds dominate (measured over several seed sets,
see docs/theory.md and scripts/validate_theory.py): the empirical distribution of the M weights
fluctuates at O(N^-1/2), which moves the whole spectrum coherently (a few % at N = 800), and the
bottom eigenvalue fluctuates around the edge on the scale N^(-2/3) (square-root edge) or around the
outlier at O(N^-1/2). All runs are seeded.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest

from bbp_torch import theory
from bbp_torch.channels import channel_resolvents, eigenpairs, ks_distance
from bbp_torch.observables import student_overlap, subspace_overlap, teacher_overlap

P, P_STAR = 2, 1
A_CONT, A_DISC = 0.7, 1.5  # continuous / discontinuous transition at p = 2, p* = 1


@lru_cache(maxsize=64)
def _eig(N, p, p_star, alpha, a, seed, vectors=False):
    """``channels.eigenpairs``, cached: several tests reuse the same spectra."""
    return eigenpairs(N, p, p_star, alpha, a, seed, vectors)


def test_channel_resolvents_match_theory():
    """Schur-complement check of the whole derivation, student channels included.

    At z far below the spectrum, v^T (z - H)^-1 v averaged over each channel (bulk, teacher,
    trace, symmetric, antisymmetric) is compared with ``theory.channel_resolvent``. Measured at
    N = 600-800: within 1-3 % (the coherent weight fluctuation, also seen in the bulk). 5 %.
    """
    alpha, N, z = 2.0, 600, -3.0
    sims = []
    for seed in range(2):
        problem, values, vecs = _eig(N, P, P_STAR, alpha, A_DISC, seed, vectors=True)
        sims.append(channel_resolvents(problem, values, vecs, z))
    for channel in theory.CHANNELS:
        sim = np.mean([s[channel] for s in sims])
        th = theory.channel_resolvent(P, P_STAR, A_DISC, alpha, z, channel)
        assert abs(sim / th - 1) < 0.05, (channel, sim, th)


@pytest.mark.parametrize("a", [A_CONT, pytest.param(A_DISC, marks=pytest.mark.slow)])
def test_density_matches_pooled_spectrum(a):
    """Pooled spectra of 4 seeds (N = 300, 2400 eigenvalues) against the theory CDF.

    Tolerance 0.04 on the Kolmogorov distance: 1.2 x the 99 % value 1.63/sqrt(n) for n iid
    samples (eigenvalues are more rigid than iid draws, but the pooled samples share each seed's
    coherent weight fluctuation). Measured: 0.007-0.024 over two seed sets, 0.003-0.005 at N = 600.
    """
    alpha, N = 2.0, 300
    eigs = np.concatenate([_eig(N, P, P_STAR, alpha, a, s)[1] for s in range(4)])
    assert ks_distance(eigs, P, P_STAR, a, alpha) < 0.04


@pytest.mark.slow
def test_lambda_min_approaches_edge_below_threshold():
    """alpha = 0.6 < alpha_BBP = 0.927 (p = 2, a = 0.7): lambda_min -> lambda_-.

    alpha = 0.6 is far from the threshold (out of the finite-N critical window) and its edge is
    the smooth one at the pole (edge_kind; square-root only for 0.728 < alpha). Mean
    |lambda_min - lambda_-| over 4 seeds: measured 0.21 (N = 100), 0.09 (200), 0.03 (400 and
    800): at N = 800 the coherent O(N^-1/2) shift of the spectrum (sd ~0.02) dominates.
    Asserted: at least halves from N = 100 to N = 800, and below 0.07 at N = 800.
    """
    alpha = 0.6
    assert alpha < theory.alpha_bbp(P, P_STAR, A_CONT)
    edge = theory.edge(P, P_STAR, A_CONT, alpha)
    dev = {N: np.mean([abs(_eig(N, P, P_STAR, alpha, A_CONT, s)[1][0] - edge) for s in range(4)])
           for N in (100, 800)}
    assert dev[800] < 0.5 * dev[100]
    assert dev[800] < 0.07


@pytest.mark.slow
def test_lambda_min_approaches_outlier_above_threshold():
    """alpha = 4 >> alpha_BBP (continuous case): lambda_min -> lambda* < lambda_-.

    The p p* = 2 outlier copies split by O(N^-1/2): measured seed spread ~0.06 at N = 1000, mean
    |lambda_min - lambda*| 0.39 at N = 100. Asserted: a 2x decrease and < 0.15 at N = 1000 (mean
    of 2 seeds), with lambda* - lambda_- = -0.38 so the outlier is clearly resolved.
    """
    alpha = 4.0
    lam_star = theory.outlier(P, P_STAR, A_CONT, alpha)
    assert lam_star < theory.edge(P, P_STAR, A_CONT, alpha) - 0.3
    dev_small = np.mean([abs(_eig(100, P, P_STAR, alpha, A_CONT, s)[1][0] - lam_star)
                         for s in range(4)])
    dev_large = np.mean([abs(_eig(1000, P, P_STAR, alpha, A_CONT, s, True)[1][0] - lam_star)
                         for s in range(2)])
    assert dev_large < 0.5 * dev_small
    assert dev_large < 0.15


@pytest.mark.slow
def test_overlap_at_N1000_matches_theory_above_threshold():
    """Continuous case (p = 2, a = 0.7), alpha = 4: N = 1000 against m = 0.768 (N = inf).

    Measured over 4 seeds: m in [0.746, 0.774] for the bottom vector, and the mean squared
    teacher projection of the 2 bottom vectors in [0.56, 0.59] against m^2 = 0.590. Tolerances:
    0.05 on m, 0.06 on m^2 (mean of 2 seeds). The bottom vector has no student component beyond
    the random level (no student-direction outlier): squared student overlap < 0.05.
    """
    alpha = 4.0
    m_th = theory.overlap(P, P_STAR, A_CONT, alpha)
    ms, msub, mstud = [], [], []
    for seed in range(2):
        problem, _, vecs = _eig(1000, P, P_STAR, alpha, A_CONT, seed, True)
        ms.append(teacher_overlap(vecs[:, 0], problem.W_star))
        msub.append(subspace_overlap(vecs[:, :P * P_STAR], problem.W_star))
        mstud.append(student_overlap(vecs[:, 0], problem.W) ** 2)
    assert abs(np.mean(ms) - m_th) < 0.05
    assert abs(np.mean(msub) - m_th**2) < 0.06
    assert max(mstud) < 0.05


@pytest.mark.parametrize("p", [1, 2, 3, 4])
def test_channel_bases_are_orthonormal_and_complete(p):
    """trace (1), symmetric traceless (p(p+1)/2 - 1) and antisymmetric (p(p-1)/2) matrices: an
    orthonormal basis of all p x p matrices in the Frobenius product."""
    from bbp_torch.channels import channel_matrices

    mats = channel_matrices(p)
    sizes = {name: len(m) for name, m in mats.items()}
    assert sizes == {"trace": 1, "symmetric": p * (p + 1) // 2 - 1,
                     "antisymmetric": p * (p - 1) // 2}
    flat = np.array([m.ravel() for ms in mats.values() for m in ms])
    assert np.allclose(flat @ flat.T, np.eye(p * p), atol=1e-12)
    assert all(abs(np.trace(m)) < 1e-12 for m in mats["symmetric"])
    assert all(np.allclose(m, m.T) for m in mats["symmetric"])
    assert all(np.allclose(m, -m.T) for m in mats["antisymmetric"])
