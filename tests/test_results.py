"""Run records (bbp_torch.results): atomic writes, JSON-able values, error records, tables."""

import json

import numpy as np
import pytest
import torch

from bbp_torch.config import ConfigError
from bbp_torch.results import (
    FINISHED,
    STATUSES,
    error_record,
    find_records,
    load_table,
    new_record,
    read_record,
    write_json_atomic,
    write_record,
)


def test_atomic_write_leaves_no_partial_file(tmp_path):
    path = tmp_path / "r.json"
    write_json_atomic(path, {"x": 1.0})

    class Unserialisable:
        pass

    with pytest.raises(TypeError):
        write_json_atomic(path, {"x": Unserialisable()})
    assert json.loads(path.read_text()) == {"x": 1.0}
    assert [f.name for f in tmp_path.iterdir()] == ["r.json"]


def test_tensors_arrays_and_non_finite_numbers_become_plain_json(tmp_path):
    data = {"t": torch.tensor([1.0, 2.5]), "a": np.arange(3), "s": np.float32(0.5),
            "bad": [float("nan"), float("inf")], 3: ("x", 1)}
    write_json_atomic(tmp_path / "r.json", data)
    assert json.loads((tmp_path / "r.json").read_text()) == {
        "t": [1.0, 2.5], "a": [0, 1, 2], "s": 0.5, "bad": [None, None], "3": ["x", 1]}


def test_records_and_the_table_of_a_folder(tmp_path):
    assert set(FINISHED) < set(STATUSES) and "error" not in FINISHED
    config = {"problem": {"N": 10, "p": 2}, "seed": 1, "threads": 4, "name": "x"}
    ok = new_record("ok", config, {"overlap": 0.5, "lambda_min": -1.0}, {"solve": 0.1}, "cpu")
    assert "warning" not in ok and set(ok["versions"]) >= {"bbp_torch", "torch", "numpy"}
    write_record(tmp_path / "a", ok)
    unconverged = new_record("unconverged", config | {"seed": 2}, {"overlap": 0.4}, {}, "cpu",
                             warning="missed solver.tol")
    write_record(tmp_path / "b", unconverged)
    try:
        raise ConfigError("Invalid problem.a=-1: must be positive.")
    except ConfigError as err:
        failed = error_record(config | {"seed": 3}, err, "config")
    assert failed["status"] == "error" and failed["error_kind"] == "config"
    assert failed["error"] == "Invalid problem.a=-1: must be positive."
    assert "Traceback" in failed["traceback"] and failed["metrics"] == {}
    write_record(tmp_path / "c", failed)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "record.json").write_text('{"status": "ok", "conf')  # cut by a crash
    assert read_record(tmp_path / "a") == read_record(tmp_path / "a" / "record.json")
    assert len(find_records([tmp_path])) == 4
    table = load_table([tmp_path], identity=True).set_index("run_dir")
    assert table.loc[str(tmp_path / "a"), "status"] == "ok"
    assert table.loc[str(tmp_path / "a"), "metrics.overlap"] == 0.5
    assert table.loc[str(tmp_path / "b"), "warning"] == "missed solver.tol"
    assert table.loc[str(tmp_path / "c"), "error_kind"] == "config"
    assert table.loc[str(tmp_path / "d"), "status"] == "unreadable"
    # the identity leaves out what does not change the numbers (threads, name), keeps the seed
    ident = json.loads(table.loc[str(tmp_path / "a"), "config_identity"])
    assert ident == {"problem": {"N": 10, "p": 2}, "seed": 1}
