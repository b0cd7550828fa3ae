"""Shared fixtures: the devices present, Hydra composition of either app, the commands run
in-process, and a seeded random orthogonal matrix."""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass

import pytest
import torch

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
CONFIG_NAMES = {"bbp": "config", "bbp-train": "train"}


@pytest.fixture(params=DEVICES)
def device(request) -> str:
    """Each device present (``cpu``, and ``cuda`` where there is a GPU)."""
    return request.param


@pytest.fixture
def compose():
    """``compose(overrides=(), app="bbp", hydra=False)``: the app's config as Hydra composes it
    (the schema from the ConfigStore, the groups, the presets), with ``hydra=True`` its
    ``hydra`` node too. GlobalHydra is cleared before and after."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from bbp_torch.config import CONFIG_DIR, register_configs

    register_configs()

    def make(overrides=(), app: str = "bbp", hydra: bool = False):
        GlobalHydra.instance().clear()
        try:
            with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
                return hydra_compose(config_name=CONFIG_NAMES[app], overrides=list(overrides),
                                     return_hydra_config=hydra)
        finally:
            GlobalHydra.instance().clear()

    return make


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def command(tmp_path, monkeypatch):
    """``command("bbp", *args)``: run a command in-process in ``tmp_path`` (its outputs/ go
    there), one BLAS thread; returns ``Result(code, out, err)``. Commands: bbp, bbp-train,
    bbp-theory, bbp-collect."""
    from bbp_torch.cli import bbp, collect, theory, train

    mains = {"bbp": bbp.main, "bbp-train": train.main, "bbp-theory": theory.main,
             "bbp-collect": collect.main}
    monkeypatch.chdir(tmp_path)

    def run(name: str, *args: str) -> Result:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = mains[name](list(args))
            except SystemExit as exc:  # argparse refusals
                code = exc.code if isinstance(exc.code, int) else 1
        return Result(code, out.getvalue(), err.getvalue())

    return run


@pytest.fixture
def subprocess_env():
    """Environment for commands run as subprocesses: one BLAS thread, unbuffered output."""
    return dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")


@pytest.fixture
def random_orthogonal():
    """``make(p, seed)``: a seeded random orthogonal ``p x p`` matrix (float64)."""

    def make(p: int, seed: int) -> torch.Tensor:
        gen = torch.Generator().manual_seed(seed)
        Q, _ = torch.linalg.qr(torch.randn(p, p, generator=gen, dtype=torch.float64))
        return Q

    return make


@pytest.fixture
def spherical_chart():
    """``make(problem) -> (B, H_chart)``: an orthonormal basis ``B`` (pN, p(N-1)) of the tangent
    space of the product of spheres ``|w_k|^2 = N`` at the student ``W``, and the autograd
    Hessian of ``c -> L(R(W, B c))`` at ``c = 0``, with the loss written out by hand and the
    metric-projection retraction ``R(W, V)_k = sqrt(N) (w_k + v_k) / |w_k + v_k|``.

    That retraction is second order, so the Hessian of ``L`` in its chart at 0 is the Riemannian
    Hessian in the basis ``B`` at any point, critical or not: an independent reference for the
    spherical Hessian (``B H_chart B^T``, zero on the radial directions)."""

    def make(problem):
        W, X, y, a = problem.W, problem.X.to(problem.W.dtype), problem.y, problem.a
        p, N = W.shape
        blocks = []
        for k in range(p):  # complete QR of w_k: the first column spans w_k, the rest its
            Q, _ = torch.linalg.qr(W[k][:, None], mode="complete")  # complement
            blocks.append(Q[:, 1:])
        B = torch.block_diag(*blocks)

        def chart_loss(c):
            V = (B @ c).reshape(p, N)
            moved = W + V
            R = N**0.5 * moved / moved.norm(dim=1, keepdim=True)
            yhat = ((X @ R.T) / N**0.5).pow(2).mean(dim=1)
            return 0.5 * ((y - yhat).pow(2) / (a + y)).sum()

        c0 = torch.zeros(B.shape[1], dtype=W.dtype, device=W.device)
        return B, torch.func.hessian(chart_loss)(c0)

    return make


@pytest.fixture
def matrix_with_spectrum(random_orthogonal):
    """``make(values, seed=0)``: ``Q diag(values) Q^T`` with a seeded random orthogonal ``Q``."""

    def make(values: torch.Tensor, seed: int = 0) -> torch.Tensor:
        Q = random_orthogonal(len(values), seed)
        return (Q * values[None, :]) @ Q.T

    return make
