"""Stochastic Lanczos quadrature (bbp_torch.spectrum.slq) against exact spectra: known matrices
and dense Hessians."""

import numpy as np
import pytest
import torch

from bbp_torch.hessian import HessianOperator
from bbp_torch.model import make_problem
from bbp_torch.observables import spectral_histogram
from bbp_torch.spectrum.slq import lanczos_quadrature, rademacher_probes, slq_density

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def empirical_cdf(values, x):
    return np.searchsorted(np.sort(values), x, side="right") / len(values)


def test_probes_are_unit_rademacher_and_seeded():
    Z = rademacher_probes(100, 3, seed=4, dtype=torch.float64, device=torch.device("cpu"))
    assert torch.allclose(Z.norm(dim=0), torch.ones(3, dtype=torch.float64))
    assert set(np.unique(np.abs(Z.numpy()) * 10).round(12)) == {1.0}
    assert torch.equal(Z, rademacher_probes(100, 3, 4, torch.float64, torch.device("cpu")))


def test_known_spectrum_cdf_and_weights():
    gen = torch.Generator().manual_seed(0)
    n = 600
    values = torch.cat([torch.linspace(0.0, 1.0, n - 100), 3.0 + torch.rand(100, generator=gen)])
    Q, _ = torch.linalg.qr(torch.randn(n, n, generator=gen, dtype=torch.float64))
    A = (Q * values.double()[None, :]) @ Q.T
    quad = lanczos_quadrature(A, probes=10, steps=40, seed=1)
    for w in quad.weights:
        assert abs(w.sum() - 1.0) < 1e-10
    lo, hi = quad.support()
    assert lo >= float(values.min()) - 1e-10 and hi <= float(values.max()) + 1e-10
    x = np.linspace(-0.1, 4.1, 300)
    assert np.abs(quad.cdf(x) - empirical_cdf(values.numpy(), x)).max() < 0.06
    # the gap (1, 3) holds no mass
    assert abs(quad.cdf(2.9) - quad.cdf(1.1)) < 0.02


def test_closing_krylov_space_stops_the_probe():
    A = torch.diag(torch.tensor([1.0, 2.0, 3.0] * 20, dtype=torch.float64))
    quad = lanczos_quadrature(A, probes=2, steps=30, seed=0)
    assert all(len(x) == 3 for x in quad.nodes)
    assert np.allclose(np.sort(quad.nodes[0]), [1.0, 2.0, 3.0])


@pytest.mark.parametrize("kind", ["euclidean", "spherical"])
def test_slq_matches_dense_histogram(kind, device):
    problem = make_problem(300, 2, 1, 3.0, 0.7, seed=2, device=device)
    op = HessianOperator(problem, kind=kind)
    values = torch.linalg.eigvalsh(op.dense()).cpu().numpy()
    quad = lanczos_quadrature(op, probes=8, steps=60, seed=0)
    x = np.linspace(values.min(), values.max(), 500)
    assert np.abs(quad.cdf(x) - empirical_cdf(values, x)).max() < 0.06
    edges, dense = spectral_histogram(values, bins=40)
    edges2, slq = quad.histogram(bins=40, range_=(edges[0], edges[-1]), sigma=None)
    assert np.allclose(edges, edges2)
    assert abs((slq * np.diff(edges)).sum() - 1.0) < 1e-12
    assert (np.abs(slq - dense) * np.diff(edges)).sum() < 0.25  # L1 distance of densities
    e3, d3 = slq_density(op, bins=40, probes=8, steps=60, seed=0)
    assert len(e3) == 41 and len(d3) == 40
    # the same probes give the same quadrature: slq_density is its broadened histogram
    e4, d4 = quad.histogram(bins=40, sigma=None)
    assert np.allclose(e3, e4) and np.allclose(d3, d4)
    assert (np.abs(d3 - np.interp(0.5 * (e3[1:] + e3[:-1]), 0.5 * (edges[1:] + edges[:-1]),
                                  dense)) * np.diff(e3)).sum() < 0.3
    assert quad.n_products == 8 * 60


@pytest.mark.gpu
@cuda
def test_cuda_density_matches_cpu():
    cpu = make_problem(200, 2, 1, 3.0, 0.7, seed=2)
    gpu = make_problem(200, 2, 1, 3.0, 0.7, seed=2, device="cuda")
    a = lanczos_quadrature(HessianOperator(cpu), probes=4, steps=30, seed=0)
    b = lanczos_quadrature(HessianOperator(gpu), probes=4, steps=30, seed=0)
    for x, y in zip(a.nodes, b.nodes, strict=True):
        assert np.allclose(x, y, atol=1e-8)
