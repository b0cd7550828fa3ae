"""The teacher-student problem (bbp_torch.model): seeded streams, shapes, the student module."""

import pytest
import torch
from helpers import rel_err

from bbp_torch.hessian import gradient
from bbp_torch.model import (
    Student,
    fresh_data,
    loss_from_output,
    make_problem,
    n_samples,
    resample_student,
)


def test_streams_are_independent():
    p1 = make_problem(50, 2, 1, 2.0, 0.7, seed=1)
    p2 = resample_student(p1, seed=2)
    assert torch.equal(p1.X, p2.X) and torch.equal(p1.W_star, p2.W_star)
    assert not torch.equal(p1.W, p2.W)
    assert torch.equal(p2.W, make_problem(50, 2, 1, 2.0, 0.7, seed=2).W)
    assert torch.allclose(p1.W.norm(dim=1), torch.full((2,), 50**0.5, dtype=torch.float64))
    assert p1.M == 100
    p32 = make_problem(50, 2, 1, 2.0, 0.7, seed=1, dtype="float32")
    assert p32.W.dtype == torch.float32 and torch.allclose(p32.W.double(), p1.W, atol=1e-6)


def test_labels_are_the_teacher_output_and_samples_round():
    problem = make_problem(30, 2, 3, 1.5, 0.7, seed=4)
    assert problem.M == n_samples(30, 1.5) == 45 and n_samples(30, 0.01) == 0
    h_star = problem.X @ problem.W_star.T / 30**0.5
    assert torch.allclose(problem.y, h_star.pow(2).mean(dim=1), rtol=1e-12)
    X, y = fresh_data(problem, 200, seed=4)
    assert X.shape == (200, 30) and not torch.equal(X[:45], problem.X)
    assert torch.allclose(y, (X @ problem.W_star.T / 30**0.5).pow(2).mean(dim=1), rtol=1e-12)
    with pytest.raises(ValueError, match="alpha"):
        make_problem(30, 2, 1, 0.01, 0.7)  # M = round(0.3) = 0


def test_student_module_matches_problem():
    problem = make_problem(25, 3, 1, 2.0, 0.7, seed=10)
    student = Student(problem.W)
    yhat = student(problem.X)
    assert torch.allclose(yhat, problem.output())
    loss = loss_from_output(yhat, problem.y, problem.a)
    loss.backward()
    assert rel_err(student.weight.grad, gradient(problem)) < 1e-10
