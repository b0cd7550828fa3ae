"""The one job runner: every entry point (``bbp``, ``bbp-train``, the figure runners, the training
figure) runs its jobs through :func:`run_job`.

A job: validate (once) -> take the run folder's lock -> skip a finished run -> run -> log to
TensorBoard (replacing the folder's earlier event files) -> write the record atomically. Any
failure inside the run (the configuration, a numerical failure, an unexpected exception) becomes
an error record with its kind and message; nothing escapes but an interrupt. A job of
``seeds=K`` is K such runs, one per seed ``s`` (the run ``seed=s`` alone, in its own folder:
:func:`seed_runs`); a kind with ``run_batch`` computes several of them at once where its
``batch_size`` rule says so, and each is then logged and recorded as the others.

Outcomes and exit codes (:class:`Outcome`): ``ok`` and ``skipped`` 0, ``unconverged`` 1,
``error`` 1 (``config`` errors 2), ``busy`` (another process holds the folder's lock) 0. A
configuration error outside a sweep leaves no record: the message is the whole answer.
"""

from __future__ import annotations

import fcntl
import os
import socket
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from bbp_torch.config import (
    SEEDS_MAX,
    Config,
    ConfigError,
    Resolved,
    TrainRunConfig,
    run_identity,
    to_schema,
    validate,
)
from bbp_torch.errors import error_kind
from bbp_torch.results import (
    FINISHED,
    RECORD_NAME,
    error_record,
    folder_problem,
    read_record,
    write_record,
)

LOCK_NAME = ".lock"


@dataclass(frozen=True)
class JobKind:
    """What one kind of job is: its command name, schema, pipeline, logger and summary.

    ``run(resolved)`` returns a result with a ``record`` attribute; ``log(run_dir, result)``
    writes its TensorBoard events; ``summary(record, run_dir)`` is the text printed after it.
    """

    name: str
    schema: type
    run: Callable[[Resolved], Any]
    log: Callable[[Path, Any], None]
    summary: Callable[[dict, Path | None], str]
    # several seeds of one job at once (the job's ``seeds``): how many one batch takes, and the
    # batch's results (one per run: a result, or the exception of that run); None: one by one
    batch_size: Callable[[Resolved, int], int] | None = None
    run_batch: Callable[[list[Resolved]], list[Any]] | None = None


def _study_kind() -> JobKind:
    from bbp_torch.batched import run_study_batch, seeds_at_once
    from bbp_torch.study import run_study
    from bbp_torch.summary import study_summary
    from bbp_torch.tensorboard import log_run

    return JobKind("bbp", Config, run_study, log_run, study_summary, seeds_at_once,
                   run_study_batch)


def _training_kind() -> JobKind:
    from bbp_torch.study import run_training
    from bbp_torch.summary import training_summary
    from bbp_torch.tensorboard import log_training

    return JobKind("bbp-train", TrainRunConfig, run_training, log_training, training_summary)


def job_kind(name: str) -> JobKind:
    """``bbp`` (the core study) or ``bbp-train`` (gradient descent from the initialization)."""
    kinds = {"bbp": _study_kind, "bbp-train": _training_kind}
    return kinds[name]()


@dataclass
class Outcome:
    """``status``: ok | unconverged | error | skipped | busy; ``kind``: the error kind."""

    status: str
    record: dict | None = None
    kind: str | None = None
    message: str = ""

    @property
    def exit_code(self) -> int:
        if self.status in ("ok", "skipped", "busy"):
            return 0
        return 2 if self.kind == "config" else 1


# ----------------------------------------------------------------------------- the lock


@contextmanager
def run_lock(run_dir: Path):
    """Hold ``run_dir/.lock`` (an exclusive ``flock``) for the body; yields False when another
    process holds it.

    The kernel drops a ``flock`` when its holder dies, so the lock of a crashed or killed
    process is reclaimed by the next one, on this machine and across NFS clients. The file
    keeps the holder's host and pid for the message of the process that finds it taken.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        os.ftruncate(fd, 0)
        os.write(fd, f"{socket.gethostname()} {os.getpid()}\n".encode())
        try:
            yield True
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def lock_holder(run_dir: Path) -> str:
    """``host pid`` of the process holding ``run_dir``'s lock, as it wrote it."""
    try:
        return (run_dir / LOCK_NAME).read_text().strip() or "another process"
    except OSError:
        return "another process"


# ----------------------------------------------------------------------------- the runner


def finished_record(run_dir: Path, config: dict) -> dict | None:
    """The finished record (ok or unconverged) in ``run_dir`` if it was made from a config
    that gives the same numbers (:func:`bbp_torch.config.run_identity`), else None."""
    path = run_dir / RECORD_NAME
    if not path.exists():
        return None
    try:
        old = read_record(path)
    except (OSError, ValueError):
        return None
    same = run_identity(old.get("config", {})) == run_identity(config)
    return old if old.get("status") in FINISHED and same else None


def _raw_config(cfg: Any, schema: type) -> dict:
    """The config as given, as plain data (for an error record when it does not validate)."""
    from omegaconf import DictConfig, OmegaConf

    try:
        if isinstance(cfg, DictConfig):
            data = OmegaConf.to_container(cfg, resolve=True)
        elif isinstance(cfg, dict):
            data = dict(cfg)
        else:
            data = asdict(to_schema(cfg, schema))
    except Exception:  # an unresolvable config still gets its error record
        data = {}
    data.pop("hydra", None)
    return data


def say(kind: JobKind, text: str, quiet: bool = False) -> None:
    if not quiet:
        print(f"{kind.name}: {text}", file=sys.stderr, flush=True)


def run_job(kind: JobKind, cfg: Any, run_dir: str | Path, *, in_sweep: bool = False,
            quiet: bool = False, seed_dir: SeedFolder | None = None) -> Outcome:
    """Run one job of ``kind`` for ``cfg`` into ``run_dir``; never raises but an interrupt.

    ``in_sweep``: a configuration error leaves an error record (kind ``config``) so that the
    sweep accounts for it; outside a sweep it leaves nothing. ``quiet``: no summary and no
    messages (the figure runners print their own progress). A job of ``seeds > 1`` is one run
    per seed (:func:`seed_runs`, each in ``seed_dir(s)``), written as the run ``seed=s`` alone.
    """
    try:
        checked = preflight(kind, cfg, run_dir, in_sweep=in_sweep, quiet=quiet,
                            seed_dir=seed_dir)
        if isinstance(checked, Outcome):
            return checked
        runs = seed_runs(checked, run_dir, seed_dir)
        if len(runs) == 1:
            return _locked_run(kind, checked, Path(run_dir), in_sweep, quiet)
        return _run_seeds(kind, runs, in_sweep, quiet)
    except Exception as err:  # a bug or the environment: an outcome, never a raise
        say(kind, f"run failed (exception: {type(err).__name__}: {err}).", quiet)
        return Outcome("error", kind="exception", message=f"{type(err).__name__}: {err}")


def preflight(kind: JobKind, cfg: Any, run_dir: str | Path, *, in_sweep: bool = False,
              quiet: bool = False, seed_dir: SeedFolder | None = None) -> Resolved | Outcome:
    """What a job checks before any work: the config validates (else an ``error`` outcome of
    kind ``config``, and in a sweep its error record), the folder does not already hold a
    finished record of it (else ``skipped``: a finished run in a read-only folder is just
    that), the folder can be written (else ``error`` of kind ``config`` naming the path); for
    ``seeds > 1`` the same of every seed's folder (skipped when all are finished).
    Returns the resolved config when the job may go ahead."""
    run_dir = Path(run_dir)
    try:
        resolved = validate(cfg, kind.schema)
    except ConfigError as err:
        say(kind, f"configuration error. {err}", quiet)
        if in_sweep:
            raw = _raw_config(cfg, kind.schema)
            for folder in _config_error_folders(raw, run_dir, seed_dir):
                _write_error(kind, folder, error_record(raw, err, "config"), quiet)
        return Outcome("error", kind="config", message=str(err))
    runs = seed_runs(resolved, run_dir, seed_dir)
    old = [_finished(r, folder) for r, folder in runs]
    if all(record is not None for record in old):
        where = run_dir if len(runs) == 1 else f"every seed's folder ({runs[0][1]}, ...)"
        say(kind, f"{where} already holds a finished record of this config; skipped "
            "(force=true recomputes).", quiet)
        return Outcome("skipped", record=old[0] if len(runs) == 1 else None)
    for _, folder in runs:
        if problem := folder_problem(folder, files=(LOCK_NAME, RECORD_NAME)):
            message = (f"cannot write the run folder {folder}: {problem}. Make it writable, or "
                       "write elsewhere (name=..., hydra.run.dir=... or hydra.sweep.dir=...).")
            say(kind, message, quiet)
            return Outcome("error", kind="config", message=message)
    return resolved


# ----------------------------------------------------------------------------- several seeds

SeedFolder = Callable[[int], Path]


def seed_folder(run_dir: str | Path, seed: int) -> Path:
    """Seed ``seed``'s folder of a several-seed job outside a sweep: ``run_dir/seed=<seed>``."""
    return Path(run_dir) / f"seed={seed}"


def seed_runs(resolved: Resolved, run_dir: str | Path,
              seed_dir: SeedFolder | None = None) -> list[tuple[Resolved, Path]]:
    """The runs of a job with their folders: itself in ``run_dir`` when ``seeds=1``; else one
    per seed ``s`` from ``seed`` to ``seed + seeds - 1``, with the config of the run ``seed=s``
    alone (``seeds=1``), in ``seed_dir(s)`` (default :func:`seed_folder`)."""
    c = resolved.config
    if c.seeds == 1:
        return [(resolved, Path(run_dir))]
    where = seed_dir or (lambda s: seed_folder(run_dir, s))
    return [(replace(resolved, config=replace(c, seed=s, seeds=1)), Path(where(s)))
            for s in range(c.seed, c.seed + c.seeds)]


def _config_error_folders(raw: dict, run_dir: Path, seed_dir: SeedFolder | None) -> list[Path]:
    """Where a refused config's error record goes: ``run_dir``, or each seed's folder when
    ``seed`` and ``seeds`` can be read (so that the sweep counts every seed of the job)."""
    try:
        seed, seeds = int(raw.get("seed", 0)), int(raw.get("seeds", 1))
    except (TypeError, ValueError):
        return [run_dir]
    if not 1 < seeds <= SEEDS_MAX:
        return [run_dir]
    where = seed_dir or (lambda s: seed_folder(run_dir, s))
    return [Path(where(s)) for s in range(seed, seed + seeds)]


def _run_seeds(kind: JobKind, runs: list[tuple[Resolved, Path]], in_sweep: bool,
               quiet: bool) -> Outcome:
    """Each seed as its own run (skipped when finished, locked, its record and events), in
    batches of ``kind.batch_size`` seeds computed together, else one by one."""
    outcomes, pending = [], []
    for r, folder in runs:
        if (old := _finished(r, folder)) is not None:
            say(kind, f"{folder} already holds a finished record; skipped.", quiet)
            outcomes.append(Outcome("skipped", record=old))
        else:
            pending.append((r, folder))
    size = kind.batch_size(runs[0][0], len(pending)) if kind.run_batch and pending else 1
    for start in range(0, len(pending), size):
        group = pending[start:start + size]
        if len(group) == 1:
            outcomes.append(_locked_run(kind, *group[0], in_sweep, quiet))
        else:
            outcomes += _locked_batch(kind, group, in_sweep, quiet)
    return _combined(outcomes)


def _locked_batch(kind: JobKind, group: list[tuple[Resolved, Path]], in_sweep: bool,
                  quiet: bool) -> list[Outcome]:
    """Several seeds under their folders' locks, solved by one ``kind.run_batch``; each then
    goes through :func:`_compute` as a run of its own (a seed's failure is its error record)."""
    outcomes, held = [], []
    with ExitStack() as stack:
        for r, folder in group:
            if not stack.enter_context(run_lock(folder)):
                holder = lock_holder(folder)
                say(kind, f"{folder} is being computed by {holder}; skipped.", quiet)
                outcomes.append(Outcome("busy", message=f"locked by {holder}"))
            elif (old := _finished(r, folder)) is not None:
                outcomes.append(Outcome("skipped", record=old))
            else:
                held.append((r, folder))
        try:
            results = kind.run_batch([r for r, _ in held]) if held else []
        except Exception as err:  # the batch as a whole failed: every seed of it says why
            results = [err] * len(held)
        for (r, folder), result in zip(held, results, strict=True):
            outcomes.append(_compute(kind, r, folder, asdict(r.config), in_sweep, quiet,
                                     run=_given(result)))
    return outcomes


def _given(result: Any) -> Callable[[Resolved], Any]:
    """A ``run`` that returns a result computed in a batch (or raises its exception)."""
    def run(_: Resolved) -> Any:
        if isinstance(result, Exception):
            raise result
        return result

    return run


STATUS_ORDER = ("error", "unconverged", "ok", "busy", "skipped")  # the job's status: the first


def _combined(outcomes: list[Outcome]) -> Outcome:
    """One job's outcome from its seeds': the worst status; the message counts each."""
    worst = min(outcomes, key=lambda o: STATUS_ORDER.index(o.status))
    counts = {status: sum(o.status == status for o in outcomes) for status in STATUS_ORDER}
    message = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
    return Outcome(worst.status, record=worst.record, kind=worst.kind,
                   message=f"{message} (seeds: {len(outcomes)})")


def _finished(resolved: Resolved, run_dir: Path) -> dict | None:
    if resolved.config.force:
        return None
    return finished_record(run_dir, asdict(resolved.config))


def _locked_run(kind: JobKind, resolved: Resolved, run_dir: Path, in_sweep: bool,
                quiet: bool) -> Outcome:
    with run_lock(run_dir) as acquired:
        if not acquired:
            holder = lock_holder(run_dir)
            say(kind, f"{run_dir} is being computed by {holder}; skipped.", quiet)
            return Outcome("busy", message=f"locked by {holder}")
        if (old := _finished(resolved, run_dir)) is not None:  # finished while we looked
            say(kind, f"{run_dir} was finished by another process; skipped.", quiet)
            return Outcome("skipped", record=old)
        return _compute(kind, resolved, run_dir, asdict(resolved.config), in_sweep, quiet)


def _compute(kind: JobKind, resolved: Resolved, run_dir: Path, config: dict, in_sweep: bool,
             quiet: bool, run: Callable[[Resolved], Any] | None = None) -> Outcome:
    start = time.perf_counter()
    try:
        result = (run or kind.run)(resolved)
    except Exception as err:
        what = error_kind(err)
        _write_error(kind, run_dir, error_record(config, err, what), quiet)
        say(kind, f"run failed ({what}: {type(err).__name__}: {err}); error record written to "
            f"{run_dir / RECORD_NAME}" + ("; the sweep goes on." if in_sweep else "."), quiet)
        return Outcome("error", kind=what, message=f"{type(err).__name__}: {err}")
    record = result.record
    record["run_dir"] = str(run_dir)
    if resolved.config.logging.tensorboard:
        t0 = time.perf_counter()
        try:
            clear_events(run_dir)
            kind.log(run_dir, result)
        except Exception as err:  # the measurement stands without its events
            record["tensorboard_error"] = f"{type(err).__name__}: {err}"
            say(kind, f"TensorBoard logging failed ({err}); the record is kept.", quiet)
        record["timings"]["tensorboard"] = time.perf_counter() - t0
    # a batch's result holds its share of the batch's time already
    record["timings"]["total"] = record["timings"].get("total", 0.0) + time.perf_counter() - start
    try:
        write_record(run_dir, record)
    except OSError as err:  # a full disk, a vanished folder: say so, and let the sweep go on
        say(kind, f"could not write {run_dir / RECORD_NAME} ({err}); the run is lost.")
        return Outcome("error", kind="exception", message=f"{type(err).__name__}: {err}")
    if record["status"] == "unconverged":
        say(kind, f"warning: {record.get('warning')}", quiet)
    if record["status"] == "error":
        say(kind, f"run failed ({record['error_kind']}: {record['error']})", quiet)
    if not quiet and (resolved.config.logging.progress or not in_sweep):
        print(kind.summary(record, run_dir), flush=True)
    return Outcome(record["status"], record=record, kind=record.get("error_kind"),
                   message=record.get("error", ""))


def _write_error(kind: JobKind, run_dir: Path, record: dict, quiet: bool) -> None:
    try:
        write_record(run_dir, record)
    except (OSError, TypeError, ValueError) as err:  # the failure is still reported
        say(kind, f"could not write the error record in {run_dir} ({err}).", quiet)


def clear_events(run_dir: Path) -> None:
    """Remove the TensorBoard event files of an earlier attempt, so that a redo replaces them."""
    for path in run_dir.glob("events.out.tfevents.*"):
        path.unlink(missing_ok=True)
