"""The teacher-student soft committee (docs/model.md, sections 1 and 6).

Conventions
-----------
* Weights are rows: the student ``W`` is ``(p, N)``, the teacher ``W_star`` is ``(p_star, N)``;
  every row is uniform on the sphere of radius ``sqrt(N)``.
* Data ``X`` is ``(M, N)`` with i.i.d. standard Gaussian entries, ``M = round(alpha * N)``.
* Pre-activations ``h = X W^T / sqrt(N)`` are ``(M, p)``; ``y = mean_l sigma(h*_l)``,
  ``yhat = mean_k sigma(h_k)``, teacher and student sharing the activation ``sigma``
  (:mod:`bbp_torch.activations`; the square by default).
* Loss ``L(W) = 1/2 sum_mu (y_mu - yhat_mu)^2 / (a + y_mu)`` (a sum over samples, not a mean).

All randomness comes from one integer seed, split into three independent generators (teacher,
student, data) so that any one of them can be resampled while the others are held fixed.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from bbp_torch.activations import QUADRATIC, get_activation

# Offsets that turn one seed into three independent streams.
_TEACHER, _STUDENT, _DATA, _FRESH = 0, 1, 2, 3
# Data are drawn in blocks of this many rows (a fixed part of the stream's definition), so that
# float32 storage of a large X never needs a float64 copy of the whole of it.
_DATA_BLOCK = 1024


def resolve_device(device: str | torch.device) -> torch.device:
    """Map ``auto | cpu | cuda | cuda:K`` to a torch device, failing clearly when CUDA is absent."""
    name = str(device)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={name!r} was asked for but CUDA is not available on this machine; "
                "use device=cpu or device=auto."
            )
        return torch.device(name)
    if name == "cpu":
        return torch.device("cpu")
    raise ValueError(f"Unknown device {name!r}: use one of auto, cpu, cuda.")


def resolve_dtype(dtype: str | torch.dtype) -> torch.dtype:
    """Map ``float64 | float32`` (or a torch dtype) to a torch floating dtype."""
    if isinstance(dtype, torch.dtype):
        return dtype
    table = {"float64": torch.float64, "float32": torch.float32}
    if dtype not in table:
        raise ValueError(f"Unknown dtype {dtype!r}: use float64 or float32.")
    return table[dtype]


def make_generator(seed: int, stream: int) -> torch.Generator:
    """A CPU generator for one stream of ``seed`` (teacher, student, data, fresh data).

    Sampling happens on the CPU and is moved to the device afterwards, so the same seed gives the
    same numbers on every device.
    """
    gen = torch.Generator(device="cpu")
    gen.manual_seed(int(seed) * 1_000_003 + stream)
    return gen


def sample_sphere(
    rows: int, N: int, generator: torch.Generator, dtype: torch.dtype = torch.float64
) -> torch.Tensor:
    """``(rows, N)`` matrix of independent rows, uniform on the sphere of radius sqrt(N)."""
    G = torch.randn(rows, N, generator=generator, dtype=torch.float64)
    G = G * (N**0.5 / G.norm(dim=1, keepdim=True))
    return G.to(dtype)


def n_samples(N: int, alpha: float) -> int:
    """``M = round(alpha N)`` (the one place of this rule; it may be 0 for a tiny alpha)."""
    return int(round(alpha * N))


@dataclass
class Problem:
    """One draw of the teacher-student problem.

    Attributes: ``W`` (p, N) student, ``W_star`` (p_star, N) teacher, ``X`` (M, N) data,
    ``y`` (M,) labels, ``a`` the loss constant, ``alpha`` the nominal data ratio,
    ``activation`` the name of the activation both networks use.
    """

    W: torch.Tensor
    W_star: torch.Tensor
    X: torch.Tensor
    y: torch.Tensor
    a: float
    alpha: float
    seed: int = 0
    activation: str = QUADRATIC

    @property
    def N(self) -> int:
        return self.X.shape[1]

    @property
    def M(self) -> int:
        return self.X.shape[0]

    @property
    def p(self) -> int:
        return self.W.shape[0]

    @property
    def p_star(self) -> int:
        return self.W_star.shape[0]

    @property
    def dim(self) -> int:
        """Dimension ``p N`` of the Hessian."""
        return self.p * self.N

    def preactivations(self, W: torch.Tensor | None = None) -> torch.Tensor:
        """``h = X W^T / sqrt(N)``, shape (M, p)."""
        W = self.W if W is None else W
        return (self.X @ W.T.to(self.X.dtype)).to(W.dtype) / self.N**0.5

    def output(self, W: torch.Tensor | None = None) -> torch.Tensor:
        """Student output ``yhat = (1/p) sum_k sigma(h_k)``, shape (M,)."""
        return student_output(self.preactivations(W), self.activation)

    def loss(self, W: torch.Tensor | None = None) -> torch.Tensor:
        """``1/2 sum_mu (y - yhat)^2 / (a + y)``."""
        return loss_from_output(self.output(W), self.y, self.a)

    def with_student(self, W: torch.Tensor) -> Problem:
        """The same data and teacher with another student."""
        return Problem(W=W, W_star=self.W_star, X=self.X, y=self.y, a=self.a,
                       alpha=self.alpha, seed=self.seed, activation=self.activation)


def student_output(h: torch.Tensor, activation: str = QUADRATIC) -> torch.Tensor:
    """Soft committee: the mean over units (last axis) of ``sigma(h)``."""
    if activation == QUADRATIC:
        return (h * h).mean(dim=-1)
    return get_activation(activation).sigma(h).mean(dim=-1)


def loss_from_output(yhat: torch.Tensor, y: torch.Tensor, a: float) -> torch.Tensor:
    """``1/2 sum_mu (y - yhat)^2 / (a + y)``."""
    return 0.5 * ((y - yhat) ** 2 / (a + y)).sum()


def make_problem(
    N: int,
    p: int,
    p_star: int,
    alpha: float,
    a: float,
    seed: int = 0,
    device: str | torch.device = "cpu",
    dtype: str | torch.dtype = torch.float64,
    data_dtype: str | torch.dtype | None = None,
    activation: str = QUADRATIC,
) -> Problem:
    """Draw teacher, student and data from ``seed`` (three independent streams).

    ``dtype`` is the precision of the weights and of all derived quantities; ``data_dtype``
    (default: ``dtype``) is the storage precision of ``X``, which may be float32 to halve memory.
    ``activation`` (:data:`bbp_torch.activations.ACTIVATIONS`) is shared by teacher and student.
    """
    get_activation(activation)
    device = resolve_device(device)
    dtype = resolve_dtype(dtype)
    data_dtype = dtype if data_dtype is None else resolve_dtype(data_dtype)
    M = n_samples(N, alpha)
    if M < 1:
        raise ValueError(f"alpha={alpha!r} gives M = round(alpha N) = {M} samples at N={N}; "
                         f"use alpha >= {1 / N:.3g}.")
    W_star = sample_sphere(p_star, N, make_generator(seed, _TEACHER))
    W = sample_sphere(p, N, make_generator(seed, _STUDENT))
    X, y = gaussian_data(M, N, W_star, make_generator(seed, _DATA), data_dtype, activation)
    return Problem(
        W=W.to(device=device, dtype=dtype),
        W_star=W_star.to(device=device, dtype=dtype),
        X=X.to(device=device),
        y=y.to(device=device, dtype=dtype),
        a=float(a),
        alpha=float(alpha),
        seed=int(seed),
        activation=activation,
    )


def gaussian_data(
    M: int, N: int, W_star: torch.Tensor, generator: torch.Generator, dtype: torch.dtype,
    activation: str = QUADRATIC,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``M`` Gaussian inputs (stored in ``dtype``) and their float64 teacher labels ``y``.

    Drawn on the CPU in float64, block by block, labels computed before any rounding to ``dtype``.
    """
    X = torch.empty(M, N, dtype=dtype)
    y = torch.empty(M, dtype=torch.float64)
    W_star = W_star.to(device="cpu", dtype=torch.float64)
    for start in range(0, M, _DATA_BLOCK):
        stop = min(M, start + _DATA_BLOCK)
        block = torch.randn(stop - start, N, generator=generator, dtype=torch.float64)
        y[start:stop] = student_output(block @ W_star.T / N**0.5, activation)
        X[start:stop] = block.to(dtype)
    return X, y


def resample_student(problem: Problem, seed: int) -> Problem:
    """The same teacher and data with a student drawn from the student stream of ``seed``."""
    W = sample_sphere(problem.p, problem.N, make_generator(seed, _STUDENT))
    return problem.with_student(W.to(device=problem.W.device, dtype=problem.W.dtype))


def fresh_data(problem: Problem, M: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``M`` new samples ``(X, y)`` from the teacher (for generalization errors)."""
    X, y = gaussian_data(M, problem.N, problem.W_star, make_generator(seed, _FRESH),
                         problem.W.dtype, problem.activation)
    return X.to(problem.W.device), y.to(device=problem.W.device, dtype=problem.W.dtype)


class Student(torch.nn.Module):
    """The student network as a module: ``forward(X) = mean_k sigma(w_k . x / sqrt(N))``.

    Its single parameter ``weight`` is ``(p, N)`` (rows are units), the layout of ``Problem.W``;
    ``activation`` names sigma. It is the reference the closed forms are checked against
    (:func:`bbp_torch.hessian.autograd_hessian`, :class:`bbp_torch.hessian.AutogradOperator`).
    """

    def __init__(self, W: torch.Tensor, activation: str = QUADRATIC):
        super().__init__()
        get_activation(activation)
        self.activation = activation
        self.weight = torch.nn.Parameter(W.clone())

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        N = self.weight.shape[1]
        return student_output(X.to(self.weight.dtype) @ self.weight.T / N**0.5, self.activation)

    @classmethod
    def of(cls, problem: Problem, W: torch.Tensor | None = None) -> Student:
        """The student of ``problem`` (at ``W``, default ``problem.W``) as a module."""
        return cls(problem.W if W is None else W, problem.activation)
