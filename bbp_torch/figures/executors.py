"""Where the figure presets' runs execute: the process pools, and two runners that produce the
same records from a preset's grid (:mod:`bbp_torch.figures.grids`):

* ``cli``: ``python -m bbp_torch -m +experiment=<name>`` (``bbp``; ``bbp-train`` for a preset
  that sets the ``train`` group) in a subprocess: the very same sweep, with its resume, error
  records and progress lines, one BLAS thread per job, on the local launcher or handed to SLURM
  (``hydra/launcher=slurm``). Records go to ``<sweep dir>/<override_dirname>/record.json``.
* ``inprocess``: every grid point through the job runner (:func:`bbp_torch.jobs.run_job`) in a
  process pool. Much faster for many small runs (a Hydra job costs about half a second of
  composition on top of the run itself). Records go to ``<runs dir>/<name>/<key=value,...>/``,
  the folder is registered as a sweep (``sweeps.jsonl``, so ``bbp-collect`` counts it); the job
  runner skips finished records of the same config and leaves an error record for a failed run.
  A job of several seeds (``seeds: K``) writes each seed's run in the folder the sweep over
  ``seed`` would give it (:func:`bbp_torch.figures.grids.job_runs`), batched where the job
  runner's rule says so.

Either way the figures read the records back with :func:`bbp_torch.results.load_table`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bbp_torch.figures.cost import run_seconds
from bbp_torch.figures.grids import KINDS, job_runs
from bbp_torch.sweeps import duration, register_sweep

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class InlineExecutor:
    """The ``map``/context interface of an executor, running everything in this process with
    one torch thread (restored on exit), like one job of the pool."""

    def map(self, func, items, chunksize: int = 1):
        return map(func, items)

    def __enter__(self):
        import torch

        self._threads = torch.get_num_threads()
        torch.set_num_threads(1)
        return self

    def __exit__(self, *exc):
        import torch

        torch.set_num_threads(self._threads)
        return False


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


def make_executor(jobs: int):
    """A pool of ``jobs`` spawned processes with one thread each (inline when jobs=1).

    Parallel jobs with several threads each oversubscribe the cores and slow the eigensolvers
    down by an order of magnitude (two processes of two BLAS threads each on two cores slowed
    eigensolvers 10-20x).
    """
    if jobs <= 1:
        return InlineExecutor()
    import multiprocessing

    for var in THREAD_VARS:  # read by OpenBLAS/MKL when a spawned worker loads them
        os.environ[var] = "1"
    return ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker)


# ----------------------------------------------------------------------------- runners


def run_point(args: tuple) -> str:
    """Run one grid point ``(config, run_dir, job kind[, {seed: run folder}])`` through the job
    runner (the folders of a job of several seeds: each seed's run in its own).

    Returns the outcome's status (of a job of several seeds: the worst of its seeds'): ``ok``,
    ``unconverged``, ``error`` (an error record is written), ``skipped`` (a finished record of
    it exists) or ``busy``.
    """
    from bbp_torch.jobs import job_kind, run_job

    cfg, run_dir, kind, *rest = args
    folders = rest[0] if rest else None
    seed_dir = (lambda s: Path(folders[s])) if folders and len(folders) > 1 else None
    return run_job(job_kind(kind), cfg, run_dir, in_sweep=True, quiet=True,
                   seed_dir=seed_dir).status


def run_inprocess(executor, name: str, base: dict, swept: dict, runs_root: Path,
                  kind: str = "bbp", overrides: list[str] | None = None) -> Path:
    """Run the grid ``(base, swept)`` in ``executor`` as ``kind`` jobs (``bbp`` or
    ``bbp-train``) into ``runs_root/name``; returns that folder, registered as a sweep
    (``sweeps.jsonl``) with ``overrides`` as its overrides (default ``+experiment=<name>``)."""
    folder = Path(runs_root) / name
    jobs = job_runs(base, swept)
    register_sweep(folder, [run for _, _, runs in jobs for run in runs.values()],
                   [f"+experiment={name}"] if overrides is None else overrides)
    # Longest jobs first, so that the pool is not left waiting for one big job at the end.
    jobs.sort(key=lambda item: -run_seconds(item[1], "inprocess", kind))
    tasks = [(cfg, str(folder / dirname), kind,
              {s: str(folder / run) for s, run in runs.items()}) for dirname, cfg, runs in jobs]
    seeds = sum(len(runs) for _, _, runs in jobs)
    what = "runs" if seeds == len(jobs) else f"jobs of {seeds} runs; a job's status: its worst"
    start = time.time()
    counts = {"ok": 0, "skipped": 0, "error": 0, "unconverged": 0, "busy": 0}
    step = max(1, len(tasks) // 5)
    for i, status in enumerate(executor.map(run_point, tasks, chunksize=1), start=1):
        counts[status] += 1
        if i % step == 0 or i == len(tasks):
            elapsed = time.time() - start
            fresh = i - counts["skipped"]
            eta = (len(tasks) - i) * elapsed / fresh if fresh else 0.0
            print(f"[{name}] {i}/{len(tasks)} {what} ({counts['skipped']} skipped, "
                  f"{counts['error']} failed, {counts['unconverged']} unconverged), elapsed "
                  f"{duration(elapsed)}, ETA {duration(eta)}", flush=True)
    return folder


def sweep_command(name: str, overrides: dict[str, str], sweep_dir: Path, jobs: int,
                  kind: str = "bbp", launcher: str = "local",
                  launcher_overrides: tuple[str, ...] = ()) -> list[str]:
    """The ``bbp -m +experiment=<name>`` (or ``bbp-train``) command line of the cli runner.

    ``launcher="local"``: ``jobs`` parallel jobs on this machine; ``"slurm"``: the sweep is
    handed to the SLURM launcher (one job per run; ``launcher_overrides`` such as
    ``hydra.launcher.partition=cpu`` follow it).
    """
    cmd = [sys.executable, "-m", KINDS[kind][1], "-m", f"+experiment={name}",
           f"hydra.sweep.dir={sweep_dir}"]
    if launcher == "slurm":
        cmd += ["hydra/launcher=slurm", *launcher_overrides]
    else:
        cmd += [f"hydra.launcher.n_jobs={jobs}", *launcher_overrides]
    return cmd + [f"{key}={value}" for key, value in (overrides or {}).items()]


def run_cli(name: str, overrides: dict[str, str], sweep_dir: Path, jobs: int,
            kind: str = "bbp", launcher: str = "local",
            launcher_overrides: tuple[str, ...] = ()) -> Path:
    """Run the preset as a Hydra multirun in a subprocess (one BLAS thread per job); returns
    when the sweep has finished (with SLURM: when its jobs have)."""
    env = dict(os.environ, **{var: "1" for var in THREAD_VARS})
    cmd = sweep_command(name, overrides, sweep_dir, jobs, kind, launcher, launcher_overrides)
    print("+ " + " ".join(cmd[1:]), flush=True)
    proc = subprocess.run(cmd, env=env)
    if proc.returncode != 0:
        print(f"warning: the sweep {name} exited with status {proc.returncode}; plotting the "
              "records that exist.", file=sys.stderr)
    return Path(sweep_dir)
