"""Spectral density without the dense Hessian: stochastic Lanczos quadrature (SLQ).

Conventions
-----------
The target is the empirical spectral measure ``mu = (1/n) sum_i delta(lambda - lambda_i)`` of a
symmetric ``n x n`` operator (``n = pN`` for the Hessian), the measure whose normalised histogram
``observables.spectral_histogram`` draws from a full spectrum. For a unit probe ``z`` with
i.i.d. Rademacher entries (``+-1/sqrt(n)``), ``E[z^T f(H) z] = (1/n) tr f(H)``; ``s`` Lanczos steps
from ``z`` give the Gauss quadrature ``z^T f(H) z ~ sum_j tau_j f(theta_j)`` with nodes ``theta_j``
(Ritz values) and weights ``tau_j`` (squared first components of the tridiagonal's
eigenvectors, summing to 1). Averaging over probes gives a discrete measure of total mass 1 that
matches the moments of ``mu`` up to degree ``2s - 1`` (in expectation).

All probes advance together, so each Lanczos step is one operator call on a block of
``probes`` vectors (one pair of passes over ``X``). Probes are drawn from a seeded CPU
generator, so a seed gives the same density on every device. An operator with excluded
directions (the spherical Hessian: its tangent space) has its probes projected on their
complement and renormalised, so the measure is that of its ``n - c`` eigenvalues there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from bbp_torch.spectrum.krylov import as_block_operator, deflate, excluded_directions


@dataclass
class Quadrature:
    """SLQ nodes and weights: ``nodes[i]``, ``weights[i]`` (1-D) for probe ``i``.

    Each probe's weights sum to 1; the density is the average over probes of the discrete
    measures. ``n`` is the operator size, ``n_products`` the vectors the operator was applied to.
    """

    nodes: list[np.ndarray]
    weights: list[np.ndarray]
    n: int
    n_products: int

    @property
    def probes(self) -> int:
        return len(self.nodes)

    def flat(self) -> tuple[np.ndarray, np.ndarray]:
        """All nodes and their weights, the weights normalised to total mass 1."""
        nodes = np.concatenate(self.nodes)
        weights = np.concatenate(self.weights) / self.probes
        return nodes, weights

    def support(self) -> tuple[float, float]:
        """Smallest and largest node (Ritz values: inside the spectrum, tight at its ends)."""
        nodes, _ = self.flat()
        return float(nodes.min()), float(nodes.max())

    def cdf(self, x) -> np.ndarray:
        """Estimated fraction of eigenvalues ``<= x``."""
        nodes, weights = self.flat()
        order = np.argsort(nodes)
        cum = np.cumsum(weights[order])
        idx = np.searchsorted(nodes[order], np.asarray(x, dtype=float), side="right")
        return np.where(idx > 0, cum[np.maximum(idx - 1, 0)], 0.0)

    def histogram(self, bins: int = 60, range_=None, sigma: float | None = 0.0
                  ) -> tuple[np.ndarray, np.ndarray]:
        """``(bin_edges, density)`` with ``sum(density * width) = 1``, like a dense histogram.

        ``sigma = 0``: histogram of the weighted nodes. ``sigma > 0``: each node is a Gaussian of
        width ``sigma`` and each bin gets its exact mass; ``sigma=None`` picks the bin width.
        Mass outside ``range_`` (default: the nodes' support) is dropped before normalising.
        """
        nodes, weights = self.flat()
        lo, hi = self.support() if range_ is None else (float(range_[0]), float(range_[1]))
        edges = np.linspace(lo, hi, bins + 1)
        if sigma is None:
            sigma = (hi - lo) / bins
        if sigma <= 0:
            mass, _ = np.histogram(nodes, bins=edges, weights=weights)
        else:
            z = (edges[None, :] - nodes[:, None]) / (sigma * math.sqrt(2.0))
            cdf = 0.5 * (1.0 + _erf(z))
            mass = (weights[:, None] * np.diff(cdf, axis=1)).sum(axis=0)
        total = mass.sum()
        density = mass / (total * np.diff(edges)) if total > 0 else mass
        return edges, density


def _erf(z: np.ndarray) -> np.ndarray:
    return torch.special.erf(torch.from_numpy(np.ascontiguousarray(z))).numpy()


def rademacher_probes(n: int, probes: int, seed: int, dtype: torch.dtype,
                      device: torch.device) -> torch.Tensor:
    """``(n, probes)`` unit columns with entries ``+-1/sqrt(n)`` from a seeded CPU generator."""
    gen = torch.Generator(device="cpu")
    gen.manual_seed(int(seed))
    signs = torch.randint(0, 2, (n, probes), generator=gen, dtype=torch.int8)
    return ((2.0 * signs.to(torch.float64) - 1.0) / math.sqrt(n)).to(device=device, dtype=dtype)


def lanczos_quadrature(op, probes: int = 8, steps: int = 60, seed: int = 0,
                       reorthogonalize: bool = True) -> Quadrature:
    """Run ``steps`` Lanczos steps from ``probes`` Rademacher probes at once.

    ``op`` has ``matvec`` on ``(n, b)`` blocks, or is a dense tensor. With ``reorthogonalize``
    each probe's new vector is orthogonalised (twice) against that probe's earlier vectors, which
    keeps the nodes free of spurious copies; it stores ``steps * probes`` vectors of size ``n``.
    A probe whose Krylov space closes early (invariant subspace) stops there.
    """
    apply, n, dtype, device = as_block_operator(op)
    if probes < 1 or steps < 1:
        raise ValueError(f"probes={probes} and steps={steps} must be positive.")
    steps = min(steps, n)
    q = rademacher_probes(n, probes, seed, dtype, device)
    excluded = excluded_directions(op)
    if excluded is not None:
        q = deflate(q, excluded)
        q = q / q.norm(dim=0, keepdim=True)
    q_prev = torch.zeros_like(q)
    beta_prev = torch.zeros(probes, dtype=dtype, device=device)
    alphas = torch.zeros(steps, probes, dtype=torch.float64)
    betas = torch.zeros(steps, probes, dtype=torch.float64)
    lengths = np.full(probes, steps)
    active = torch.ones(probes, dtype=torch.bool, device=device)
    # (probes, steps, n): one batch of earlier vectors per probe, for batched products
    basis = (torch.empty(probes, steps, n, dtype=dtype, device=device) if reorthogonalize
             else None)
    scale = 0.0
    n_products = 0
    for j in range(steps):
        if basis is not None:
            basis[:, j] = q.T
        w = apply(q).to(dtype)
        n_products += probes
        alpha = (q * w).sum(dim=0)
        w = w - alpha * q - beta_prev * q_prev
        if basis is not None:
            Qs = basis[:, :j + 1]  # (probes, j + 1, n)
            wt = w.T[:, None, :]  # (probes, 1, n)
            for _ in range(2):
                wt = wt - torch.bmm(torch.bmm(wt, Qs.transpose(1, 2)), Qs)
            w = wt[:, 0, :].T
        beta = w.norm(dim=0)
        alphas[j] = alpha.double().cpu()
        betas[j] = beta.double().cpu()
        scale = max(scale, float(alpha.abs().max()), float(beta.max()))
        closed = (beta <= 100 * torch.finfo(dtype).eps * scale) & active
        for i in torch.nonzero(closed).flatten().tolist():
            lengths[i] = j + 1
        active &= ~closed
        if not bool(active.any()):
            break
        safe = torch.where(active, beta, torch.ones_like(beta))
        q_prev, q, beta_prev = q, w / safe, beta
    nodes, weights = [], []
    for i in range(probes):
        s = int(lengths[i])
        T = torch.diag(alphas[:s, i]) + torch.diag(betas[:s - 1, i], 1) + torch.diag(
            betas[:s - 1, i], -1)
        theta, S = torch.linalg.eigh(T)
        nodes.append(theta.numpy())
        weights.append((S[0] ** 2).numpy())
    return Quadrature(nodes=nodes, weights=weights, n=n, n_products=n_products)


def slq_density(op, bins: int = 60, probes: int = 8, steps: int = 60, seed: int = 0,
                range_=None, sigma: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """SLQ estimate of the spectral density as ``(bin_edges, density)``.

    The counterpart of ``observables.spectral_histogram(all_eigenvalues, bins)`` for operators
    too large to diagonalise; ``sigma`` as in :meth:`Quadrature.histogram` (default: Gaussian
    broadening by one bin width).
    """
    quad = lanczos_quadrature(op, probes=probes, steps=steps, seed=seed)
    return quad.histogram(bins=bins, range_=range_, sigma=sigma)


def density_record(quad: Quadrature, bins: int = 60, sigma: float | None = None) -> dict:
    """JSON-able summary of an SLQ density for a run record (edges, density and settings)."""
    edges, density = quad.histogram(bins=bins, sigma=sigma)
    return {
        "method": "slq",
        "n": quad.n,
        "probes": quad.probes,
        "steps": int(max(len(x) for x in quad.nodes)),
        "n_products": quad.n_products,
        "support": list(quad.support()),
        "edges": [float(x) for x in edges],
        "density": [float(x) for x in density],
    }


def run_density(op, probes: int, steps: int, seed: int = 0, bins: int = 60) -> dict:
    """The SLQ density of a run as :func:`density_record` (what ``run_study`` stores)."""
    return density_record(lanczos_quadrature(op, probes=probes, steps=steps, seed=seed),
                          bins=bins)
