"""The figure runners with jobs of several seeds (``seed: 0`` + ``seeds: K``): the in-process
runner writes the same runs, folders and table as ``seed: range(K)``, resumes them, and the
cost model counts every seed of a job."""

import pandas as pd
import pytest

from bbp_torch.figures.common import write_table
from bbp_torch.figures.cost import grid_cost, point_cost
from bbp_torch.figures.executors import InlineExecutor, run_inprocess
from bbp_torch.figures.grids import filter_to_grid, grid_points, grid_runs, job_runs, preset_grid
from bbp_torch.results import RECORD_NAME, load_table

PRESET = "extra_sample_variability_p2_cont"  # p = 2, p* = 1, four alphas
SMALL = {"problem.N": "20", "problem.alpha": "1.035,1.725", "theory": "false"}


def grid(seeds: dict):
    return preset_grid(PRESET, {**SMALL, **seeds})


def test_a_job_of_seeds_names_its_runs_as_the_sweep_over_seed():
    base, swept = grid({"seed": "0", "seeds": "3"})
    jobs = job_runs(base, swept)
    assert len(jobs) == 2 and all(len(runs) == 3 for _, _, runs in jobs)
    runs = sorted(name for name, _ in grid_runs(base, swept))
    single = sorted(name for name, _ in grid_runs(*grid({"seed": "range(3)", "seeds": "1"})))
    assert runs == single and all(cfg["seeds"] == 1 for _, cfg in grid_runs(base, swept))


def test_seeds_in_one_job_give_the_table_of_one_seed_per_job(tmp_path):
    """Same runs, folders and numbers (to rounding) as seed=range(3); a second pass skips
    every finished seed."""
    tables = {}
    for label, seeds in (("batched", {"seed": "0", "seeds": "3"}),
                         ("single", {"seed": "range(3)", "seeds": "1"})):
        base, swept = grid(seeds)
        root = tmp_path / label
        with InlineExecutor() as executor:
            folder = run_inprocess(executor, PRESET, base, swept, root)
        table = filter_to_grid(load_table([folder]), base, swept)
        assert len(table) == 6 and set(table["config.seeds"]) == {1}
        tables[label] = pd.read_csv(write_table(table, tmp_path / f"{label}.csv.gz"))
        names = sorted(p.parent.name for p in folder.rglob(RECORD_NAME))
        assert names == sorted(name for name, _ in grid_runs(base, swept))
        stamps = {p: p.stat().st_mtime_ns for p in folder.rglob(RECORD_NAME)}
        with InlineExecutor() as executor:  # resume: nothing left to run
            run_inprocess(executor, PRESET, base, swept, root)
        assert {p: p.stat().st_mtime_ns for p in folder.rglob(RECORD_NAME)} == stamps
    batched, single = tables["batched"], tables["single"]
    assert list(batched.columns) == list(single.columns)
    numeric = [c for c in single.columns if c.startswith("metrics.")
               and pd.api.types.is_numeric_dtype(single[c])]
    assert "metrics.overlap" in numeric
    pd.testing.assert_frame_equal(batched[numeric], single[numeric], rtol=1e-6, atol=1e-8)


def test_the_cost_model_counts_every_seed_of_a_job():
    base, swept = grid({"seed": "0", "seeds": "4"})
    runs, solvers, seconds = grid_cost(grid_points(base, swept), "inprocess")
    assert runs == 8 and solvers == {"dense_batched": 8}  # pN = 40: one batched eigh
    single = grid_cost(grid_points(*grid({"seed": "range(4)", "seeds": "1"})), "inprocess")
    assert single[:2] == (8, {"dense": 8}) and seconds > 0 and single[2] > 0


def test_the_iterative_cost_grows_with_the_block_and_falls_with_the_tolerance():
    base, _ = preset_grid("extra_large_width", {"problem.N": "1000", "problem.a": "0.7",
                                                "problem.alpha": "0.9", "seed": "0"})
    cost = {}
    for p in (16, 64):
        for tol in (1e-6, 1e-3):
            cfg = {**base, "problem": {**base["problem"], "p": p},
                   "solver": {**base["solver"], "tol": tol}}
            solver, cost[p, tol] = point_cost(cfg, "inprocess")
            assert solver == "iterative"
    assert cost[64, 1e-6] > 10 * cost[16, 1e-6]  # the block of p + 4 pairs: ~ n k^2
    assert cost[64, 1e-3] == pytest.approx(cost[64, 1e-6] / 4, rel=0.05)
