"""Shared test helpers."""

import pytest
import torch


@pytest.fixture
def random_orthogonal():
    """``make(p, seed)``: a seeded random orthogonal ``p x p`` matrix (float64)."""

    def make(p: int, seed: int) -> torch.Tensor:
        gen = torch.Generator().manual_seed(seed)
        Q, _ = torch.linalg.qr(torch.randn(p, p, generator=gen, dtype=torch.float64))
        return Q

    return make
