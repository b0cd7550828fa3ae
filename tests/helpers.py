"""Helpers shared by the test modules (fixtures are in conftest.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent


def rel_err(A: torch.Tensor, B: torch.Tensor) -> float:
    """``max|A - B| / max|B|``: the relative error of ``A`` against the reference ``B``."""
    return float((A - B).abs().max() / B.abs().max())


def subspace_overlap(A: torch.Tensor, B: torch.Tensor) -> float:
    """``||A^T B||_F^2 / k`` for orthonormal (n, k) columns: 1 when the spans coincide."""
    return float((A.T @ B).pow(2).sum() / A.shape[1])


def load_module(path: str | Path):
    """The Python file at ``path`` (a script or an example, not a package module), imported."""
    path = Path(path)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The small problems the tests run: a run of ``bbp`` in about a second, and a sweep of three
# seeds of a smaller one (no theory, no TensorBoard, in this process) for the sweep machinery.
SMALL_RUN = ("problem.N=60", "problem.alpha=2.0", "logging.figures=false")
SMALL_SWEEP = ("-m", "problem.N=40", "seed=0,1,2", "theory=false", "logging.tensorboard=false",
               "logging.progress=false", "hydra/launcher=basic")


def printed_numbers(text: str, label: str) -> list[float]:
    """The first number after ``label`` on each printed line that holds it (how a test reads a
    value back from a printed summary without pinning its layout)."""
    import re

    number = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?inf|nan")
    found = []
    for line in text.splitlines():
        if label in line and (match := number.search(line.split(label, 1)[1])):
            found.append(float(match.group()))
    return found
