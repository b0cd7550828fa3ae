"""The solvers' defaults (bbp_torch.spectrum.tuning): how many pairs, to which tolerance, which
solver, and the block and basis sizes, each within the bounds its rule states."""

import pytest

from bbp_torch.spectrum.tuning import (
    default_basis_size,
    default_block_size,
    default_k,
    default_tol,
    refinement_basis_size,
    smallest_tol,
    solver_block_size,
    solver_for,
)


@pytest.mark.parametrize("p, p_star", [(1, 1), (2, 1), (4, 2), (8, 3)])
def test_the_default_k_holds_the_outlier_multiplet_and_fits_the_operator(p, p_star):
    assert default_k(p, p_star, 10_000) > p * p_star
    assert default_k(p, p_star, 5) == 5


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_default_tolerance_is_one_the_precision_can_meet(dtype):
    assert smallest_tol(dtype) < default_tol(dtype) < 1e-4
    assert smallest_tol("float64") < smallest_tol("float32")


def test_auto_picks_dense_up_to_its_size_and_a_name_is_kept():
    assert solver_for("auto", 100, 100) == "dense"
    assert solver_for("auto", 101, 100) == "iterative"
    assert solver_for("lanczos", 10, 100) == "lanczos"


@pytest.mark.parametrize("p", [1, 2, 3, 4, 8])
def test_a_cpu_block_applies_x_to_about_16_columns(p):
    b = default_block_size("cpu", p)
    assert b >= 4 and (16 - p < b * p <= 16 or b == 4)  # about 16: within one unit
    assert default_block_size("cpu", p, float32_products=True) >= b
    assert default_block_size("cuda", p) == 16


def test_a_spherical_block_holds_every_radial_direction_and_a_given_size_wins():
    assert solver_block_size(None, "cpu", "spherical", p=20) >= 20
    assert solver_block_size(3, "cpu", "spherical", p=20) == 3


def test_the_basis_leaves_room_for_the_pairs_and_two_blocks():
    for k, b in [(8, 4), (20, 16)]:
        assert default_basis_size(k, b) >= max(3 * k, k + 2 * b)
        assert default_basis_size(k, b, n=100) <= max(k + 2 * b, 50)
        assert refinement_basis_size(default_basis_size(k, b), k) >= 5 * k
