"""The pieces the Krylov solvers share (bbp_torch.spectrum.krylov): Gram-Schmidt against a basis
and against excluded directions, the seeded start block, the in-place rotation of a restart, and
any operator (a dense tensor, an object with matvec) seen as a block product."""

import pytest
import torch

from bbp_torch.spectrum.krylov import (
    as_block_operator,
    deflate,
    orthogonalize,
    rotate_in_place,
    seeded_block,
)


def orthonormal(n, k, seed):
    return torch.linalg.qr(seeded_block(n, k, seed, torch.float64, torch.device("cpu")))[0]


def test_orthogonalize_removes_the_basis_and_returns_the_coefficients():
    Q = orthonormal(50, 5, 0)
    W = seeded_block(50, 3, 1, torch.float64, torch.device("cpu"))
    before = W.clone()
    C = orthogonalize(W, Q)
    assert float((Q.T @ W).abs().max()) < 1e-13
    assert torch.allclose(W + Q @ C, before, atol=1e-12)


def test_deflate_keeps_vectors_off_the_excluded_directions():
    excluded = orthonormal(40, 2, 2)
    V = seeded_block(40, 4, 3, torch.float64, torch.device("cpu"))
    assert float((excluded.T @ deflate(V, excluded)).abs().max()) < 1e-13
    assert deflate(V.clone(), None).equal(V)


def test_the_start_block_depends_on_the_seed_alone():
    a = seeded_block(30, 2, 7, torch.float32, torch.device("cpu"))
    assert a.dtype == torch.float32 and a.shape == (30, 2)
    assert a.equal(seeded_block(30, 2, 7, torch.float32, torch.device("cpu")))
    assert not a.equal(seeded_block(30, 2, 8, torch.float32, torch.device("cpu")))


def test_rotate_in_place_equals_the_product_block_by_block():
    Q = seeded_block(25, 6, 4, torch.float64, torch.device("cpu"))
    S = seeded_block(5, 3, 5, torch.float64, torch.device("cpu"))
    expected = Q[:, :5] @ S
    rotate_in_place(Q, 5, S, rows=7)  # blocks of rows that do not divide 25
    assert torch.allclose(Q[:, :3], expected, atol=1e-13)


def test_a_dense_tensor_or_a_matvec_is_a_block_operator():
    A = torch.diag(torch.arange(1.0, 5.0, dtype=torch.float64))
    apply, n, dtype, _ = as_block_operator(A)
    V = torch.ones(4, 2, dtype=torch.float64)
    assert (n, dtype) == (4, torch.float64) and apply(V).equal(A @ V)

    class Op:
        shape = (4, 4)

        def matvec(self, V):
            return 2 * V

    apply, n, dtype, _ = as_block_operator(Op())
    assert n == 4 and apply(V).equal(2 * V)
    with pytest.raises(ValueError, match="square"):
        as_block_operator(torch.ones(3, 4))
