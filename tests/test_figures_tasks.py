"""The figures' pool tasks (bbp_torch.figures.tasks): each returns what the theory or a dense
solve gives for its argument tuple, and a theory failure at one point loses that point only."""

import math

import numpy as np
import pytest

from bbp_torch import theory
from bbp_torch.figures import tasks


def test_a_spectrum_is_every_eigenvalue_of_one_draw_in_order():
    values = tasks.spectrum_task((30, 2, 1, 0.7, 2.0, 0))
    assert values.shape == (60,) and np.all(np.diff(values) >= 0)
    assert np.array_equal(values, tasks.spectrum_task((30, 2, 1, 0.7, 2.0, 0)))


def test_the_theory_tasks_are_the_theory():
    alpha, kind = tasks.threshold_task((2, 1, 0.7))
    assert alpha == pytest.approx(theory.alpha_bbp(2, 1, 0.7), rel=1e-12)
    assert kind == theory.transition_type(2, 1, 0.7)
    assert tasks.alpha_bbp_curve_task((2, 1, [0.7, 1.5])) == [
        tasks.threshold_task((2, 1, 0.7)), tasks.threshold_task((2, 1, 1.5))]
    assert tasks.overlap_curve_task((2, 1, 0.7, [3.0]))[0] == pytest.approx(
        theory.overlap(2, 1, 0.7, 3.0), rel=1e-12)


def test_a_theory_failure_loses_the_point_not_the_figure(monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("no root")

    monkeypatch.setattr(theory, "threshold", lambda *a, **k: {"error": "no root"})
    alpha, kind = tasks.threshold_task((2, 1, 0.7))
    assert math.isnan(alpha) and kind == "error"
    monkeypatch.setattr(theory, "critical_a", broken)
    assert tasks.type_switch_task((2, 1)) == {"a_switch": None, "alpha_switch": None}
