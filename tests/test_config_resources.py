"""The machine and what a run needs of it (bbp_torch.config.resources): devices, physical
memory, the memory models of the dense and matrix-free paths, and the device's memory as the
default limit of validation."""

import pytest
import torch

from bbp_torch.config import ConfigError, validate
from bbp_torch.config.resources import (
    BYTES,
    dense_memory_gb,
    iterative_memory_gb,
    physical_memory_gb,
    resolve_device_name,
    total_memory_gb,
)


def test_devices_resolve_and_the_cpu_has_the_machines_memory():
    assert resolve_device_name("cpu") == "cpu" and resolve_device_name("cuda:1") == "cuda:1"
    assert resolve_device_name("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    assert total_memory_gb("cpu") == physical_memory_gb() > 0


def test_dense_memory_holds_the_hessian_its_workspace_and_the_data():
    """At least H and X; more when every eigenvalue, then every eigenvector, is asked for;
    quadratic in p N, linear in M, in proportion to the bytes per number."""
    N, p, M = 1000, 2, 3000
    bottom, full, vectors = (dense_memory_gb(N, p, M, "float64", full, every)
                             for full, every in [(False, False), (True, False), (True, True)])
    assert ((p * N) ** 2 + M * N) * 8 / 1e9 < bottom < full < vectors
    assert dense_memory_gb(N, p, M, "float32", True) == pytest.approx(full / 2)
    x = M * N * BYTES["float64"] / 1e9
    assert dense_memory_gb(2 * N, p, M, "float64", True) - 2 * x == pytest.approx(4 * (full - x))
    more_data = dense_memory_gb(N, p, 2 * M, "float64", True) - full
    assert more_data == pytest.approx(x)


def test_matrix_free_memory_is_dominated_by_the_data_and_halves_with_float32_storage():
    N, p, M, k, block, basis = 16000, 4, 64000, 8, 4, 328
    x64 = iterative_memory_gb(N, p, M, "float64", "float64", k, block, basis)
    x32 = iterative_memory_gb(N, p, M, "float64", "float32", k, block, basis)
    assert M * N * 8 / 1e9 < x64 < 1.5 * M * N * 8 / 1e9
    assert x32 == pytest.approx(x64 - M * N * 4 / 1e9 + min(256 * 2**20, M * N * 8) / 1e9)
    probes = iterative_memory_gb(N, p, M, "float64", "float64", k, block, basis, 4, 60)
    assert probes - x64 == pytest.approx(4 * 60 * p * N * 8 / 1e9)


def test_the_device_memory_is_the_default_limit(monkeypatch):
    """Without solver.max_memory_gb a run may use 80% of its device's memory, read through the
    resources module (the module to patch)."""
    cfg = {"problem": {"N": 400, "p": 2}, "device": "cpu"}
    assert validate(cfg).config.solver.name == "dense"
    monkeypatch.setattr("bbp_torch.config.resources.total_memory_gb", lambda device: 0.01)
    with pytest.raises(ConfigError, match=r"0\.008 GB allowed"):
        validate(cfg)
    assert validate({**cfg, "solver": {"max_memory_gb": 1.0}}).config.solver.max_memory_gb == 1
