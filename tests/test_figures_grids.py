"""The presets' grids (bbp_torch.figures.grids): a preset's sweep expanded with the command
line's overrides winning, and training presets composed with the train app."""


import os
from pathlib import Path

import pandas as pd

from bbp_torch import theory
from bbp_torch.figures.common import command_line
from bbp_torch.figures.grids import filter_to_grid, grid_points, preset_grid, preset_kind


def test_preset_grid_expands_the_sweep_and_command_line_overrides_win():
    base, swept = preset_grid("fig1_overlap", {"problem.N": "40,80", "seed": "0"})
    assert swept["problem.N"] == [40, 80]
    assert "seed" not in swept and base["seed"] == 0
    assert base["name"] == "fig1_overlap" and base["problem"]["p"] == 2
    points = grid_points(base, swept)
    assert len(points) == 2 * len(swept["problem.a"]) * len(swept["problem.alpha"])
    name, cfg = points[0]
    assert name.startswith("problem.N=40,problem.a=") and cfg["problem"]["N"] == 40

    rows = [{"status": "ok", "config.problem.N": c["problem"]["N"], "config.problem.p": 2,
             "config.problem.p_star": 1, "config.problem.a": c["problem"]["a"],
             "config.problem.alpha": c["problem"]["alpha"], "config.seed": 0,
             "config.hessian.kind": "euclidean", "config.problem.activation": "quadratic"}
            for _, c in points[:3]]
    rows.append(dict(rows[0], **{"config.problem.N": 999}))  # a run from another grid
    rows.append(dict(rows[0], status="error"))
    assert len(filter_to_grid(pd.DataFrame(rows), base, swept)) == 3


def test_training_presets_are_composed_with_the_train_app():
    assert preset_kind("fig9_gd_continuous") == "bbp-train" == preset_kind("train_success")
    assert preset_kind("fig3_phi") == "bbp"
    base, swept = preset_grid("fig10_gd_discontinuous", {"train.steps": "50"})
    assert base["train"]["steps"] == 50 and base["train"]["init"] == "random"
    assert base["problem"]["a"] == 2.0 and base["dtype"] == "float32"
    assert theory.transition_type(1, 1, 2.0) == "discontinuous"
    assert theory.transition_type(1, 1, preset_grid("fig9_gd_continuous")[0]["problem"]["a"]) \
        == "continuous"
    assert command_line("fig9_gd_continuous", {"seed": "range(2)"}) == \
        "bbp-train -m +experiment=fig9_gd_continuous 'seed=range(2)'"


def test_a_run_recorded_in_two_folders_counts_once_with_its_newest_record(tmp_path):
    base, swept = preset_grid("fig1_overlap", {"problem.N": "40", "seed": "0"})
    _, cfg = grid_points(base, swept)[0]
    row = {"status": "ok", "config.problem.N": 40, "config.problem.p": 2,
           "config.problem.p_star": 1, "config.problem.a": cfg["problem"]["a"],
           "config.problem.alpha": cfg["problem"]["alpha"], "config.seed": 0,
           "config.hessian.kind": "euclidean", "config.problem.activation": "quadratic"}
    folders = []
    for name, when in (("problem.N=40", 2_000_000), ("problem.N=40,seed=0", 1_000_000)):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "record.json").write_text("{}")
        os.utime(folder / "record.json", (when, when))
        folders.append(str(folder))
    rows = [dict(row, run_dir=folders[0], **{"metrics.overlap": 0.5}),
            dict(row, run_dir=folders[1], **{"metrics.overlap": 0.1})]
    kept = filter_to_grid(pd.DataFrame(rows), base, swept)
    assert len(kept) == 1 and float(kept["metrics.overlap"].iloc[0]) == 0.5
    os.utime(Path(folders[1]) / "record.json", (3_000_000, 3_000_000))
    kept = filter_to_grid(pd.DataFrame(rows), base, swept)
    assert len(kept) == 1 and float(kept["metrics.overlap"].iloc[0]) == 0.1
