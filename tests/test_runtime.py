"""The thread rule: one count per run, applied to every pool, recorded, the same alone and in a
sweep; timers."""

from __future__ import annotations

import torch
from threadpoolctl import threadpool_info

from bbp_torch.config import available_cores, parallel_jobs, resolve_threads
from bbp_torch.results import find_records, read_record
from bbp_torch.runtime import Timer, limit_threads


def blas_threads() -> set[int]:
    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


def test_limit_threads_sets_every_pool_and_restores_them():
    before_torch, before_blas = torch.get_num_threads(), blas_threads()
    with limit_threads(1):
        assert torch.get_num_threads() == 1
        assert blas_threads() <= {1}
    assert torch.get_num_threads() == before_torch
    assert blas_threads() == before_blas


def test_the_thread_rule_and_the_parallel_jobs_it_leaves_room_for():
    cores = available_cores()
    assert resolve_threads(None) == cores and resolve_threads(3) == 3
    assert parallel_jobs(None) == 1  # every core to one run: one job at a time
    assert parallel_jobs(1) == cores
    assert parallel_jobs(10 * cores) == 1


def test_timer_records_each_phase():
    timer = Timer("cpu")
    with timer("a"):
        sum(range(1000))
    with timer("b"):
        pass
    assert set(timer.timings) == {"a", "b"} and all(v >= 0 for v in timer.timings.values())


def test_a_run_gives_the_same_numbers_alone_and_inside_a_sweep(command, tmp_path):
    base = ["problem.N=120", "seed=3", "logging.tensorboard=false", "theory=false"]
    for threads in ([], ["threads=1"]):
        tag = "t1" if threads else "all"
        alone = command("bbp", *base, *threads, f"hydra.run.dir=alone_{tag}")
        swept = command("bbp", "-m", *base, "seed=3,4", *threads, f"hydra.sweep.dir=sw_{tag}")
        assert alone.code == 0 and swept.code == 0, alone.err + swept.err
        a = read_record(tmp_path / f"alone_{tag}")
        b = next(read_record(p) for p in find_records([tmp_path / f"sw_{tag}"])
                 if read_record(p)["config"]["seed"] == 3)
        assert a["config"]["threads"] == b["config"]["threads"]
        assert a["config"]["threads"] == (1 if threads else available_cores())
        assert a["metrics"]["bottom_eigenvalues"] == b["metrics"]["bottom_eigenvalues"]
        assert a["metrics"]["overlap"] == b["metrics"]["overlap"]
