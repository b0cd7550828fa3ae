"""Run records: one ``record.json`` per run, written atomically, and tables of many of them.

A record is a JSON object ``{"status", "config", "metrics", "timings", "versions", "device", ...}``.
``status`` is one of

* ``"ok"``: finished, and every returned eigenpair met ``solver.tol``;
* ``"unconverged"``: finished, but some pair missed its tolerance (``warning`` says which,
  ``metrics.relative_residuals`` by how much); tables leave it out of means unless asked;
* ``"error"``: the run failed; ``error_kind`` is ``config`` (the input), ``numerical`` (no valid
  number came out) or ``exception`` (anything else), ``error`` the message, ``traceback`` where.

Records are written to a temporary file in the same folder and renamed, so a reader never sees
half a record.
"""

from __future__ import annotations

import json
import math
import os
import platform
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

RECORD_NAME = "record.json"


def _jsonable(obj: Any, finite: bool = True) -> Any:
    """Numbers, tensors and arrays as plain JSON values (NaN/inf become None if ``finite``)."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v, finite) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v, finite) for v in obj]
    if hasattr(obj, "tolist"):  # torch tensors, numpy arrays and scalars
        return _jsonable(obj.tolist(), finite)
    if finite and isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_json_atomic(path: str | Path, data: Any, finite: bool = True) -> Path:
    """Write ``data`` as JSON to ``path`` atomically (temporary file + rename); with
    ``finite=False`` NaN and infinities stay numbers (``NaN``, ``Infinity``, as Python's
    ``json`` writes and reads them) instead of becoming null."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(_jsonable(data, finite), f, indent=2, sort_keys=False)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


NAME_MAX = 255  # bytes of one file or folder name, on every common file system


def folder_problem(folder: str | Path, files: Iterable[str] = ()) -> str | None:
    """What stops this process from writing ``files`` into ``folder`` (made when missing), or
    None: a name in the path longer than a file name may be, a file where a folder should be,
    a folder it may not write (read-only, or on a read-only file system), one of ``files``
    there that is not a writable file. The one check of every writer (run and sweep folders,
    ``bbp-collect --out``, ``bbp-theory --out``), made before any work."""
    folder = Path(folder).absolute()
    for part in (*folder.parts, *files):
        if len(os.fsencode(part)) > NAME_MAX:
            return (f"the name {part[:40]}... is {len(os.fsencode(part))} bytes long, more than "
                    f"the {NAME_MAX} a file or folder name may have")
    existing = folder
    while not existing.exists() and not existing.is_symlink():
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is a file where a folder should be"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is not writable (a read-only folder or file system)"
    for name in files if existing == folder else ():
        path = folder / name
        if path.exists() and not (path.is_file() and os.access(path, os.W_OK)):
            what = "a folder" if path.is_dir() else "not writable"
            return f"{path} is {what}, where a writable file should be"
    return None


def write_record(run_dir: str | Path, record: dict) -> Path:
    """Write ``record`` as ``run_dir/record.json`` atomically."""
    return write_json_atomic(Path(run_dir) / RECORD_NAME, record)


STATUSES = ("ok", "unconverged", "error")
FINISHED = ("ok", "unconverged")  # deterministic outcomes: a resumed sweep does not redo them


def new_record(status: str, config: dict, metrics: dict, timings: dict, device: str,
               warning: str | None = None) -> dict:
    """The envelope of a finished run (``status`` ok or unconverged)."""
    record = {"status": status, "config": config, "metrics": metrics, "timings": timings,
              "versions": versions(), "device": device}
    if warning:
        record["warning"] = warning
    return record


def error_record(config: dict, err: BaseException, kind: str) -> dict:
    """A record for a run that failed: the config, the kind of failure, message and traceback."""
    import traceback

    return {
        "status": "error",
        "error_kind": kind,
        "error": f"{type(err).__name__}: {err}" if kind != "config" else str(err),
        "traceback": "".join(traceback.format_exception(type(err), err, err.__traceback__)),
        "config": config,
        "metrics": {},
        "timings": {},
        "versions": versions(),
        "device": None,
    }


class RecordError(ValueError):
    """A file that is not a readable record; the message names the file and what is wrong."""


def record_problem(data: Any) -> str | None:
    """What makes ``data`` (a parsed ``record.json``) not a record, or None: the envelope is a
    JSON object with a known ``status`` and ``config`` and ``metrics`` objects (``timings``,
    when present, an object too)."""
    if not isinstance(data, dict):
        return f"it holds a JSON {type(data).__name__}, not a record object"
    status = data.get("status")
    if status not in STATUSES:
        return ("it has no status" if status is None else
                f"its status {status!r} is none of {', '.join(STATUSES)}")
    for key in ("config", "metrics"):
        if not isinstance(data.get(key), dict):
            return f"its {key} is {'missing' if key not in data else 'not an object'}"
    if not isinstance(data.get("timings", {}), dict):
        return "its timings is not an object"
    return None


def read_record(path: str | Path) -> dict:
    """Read one record (``path`` is the file or its run folder); every reader of records (resume,
    sweep accounting, tables, figures) reads through here, and an old record comes back with
    today's keys (:func:`upgrade_record`).

    Raises :class:`RecordError` (a ``ValueError``) naming the file and what is wrong when it is
    not JSON or not a record (:func:`record_problem`), ``OSError`` when it cannot be read.
    """
    path = Path(path)
    if path.is_dir():
        path = path / RECORD_NAME
    with open(path, "rb") as f:
        raw = f.read()
    try:
        data = json.loads(raw)
    except ValueError as err:  # not JSON (a cut write, a stray file), or not text
        raise RecordError(f"{path}: not JSON ({err})") from None
    problem = record_problem(data)
    if problem:
        raise RecordError(f"{path}: not a record: {problem}")
    return upgrade_record(data)


def upgrade_record(record: dict) -> dict:
    """A training record written before a key was renamed (:data:`bbp_torch.metrics.RENAMED`:
    the Gram cosine was ``overlap``) with its keys renamed, in place; other records unchanged.
    A key is renamed only where the record has the old name and not the new one."""
    from bbp_torch.metrics import RENAMED

    if not isinstance(record["config"].get("train"), dict):
        return record  # a study record: its overlap is the eigenvector's m
    for old, new in RENAMED.items():  # each within its object: series.overlap -> gram_overlap
        *path, old_key = old.split(".")
        new_key = new.rsplit(".", 1)[-1]
        holder = record["metrics"]
        for part in path:
            holder = holder.get(part) if isinstance(holder, dict) else None
        if isinstance(holder, dict) and old_key in holder and new_key not in holder:
            holder[new_key] = holder.pop(old_key)
    return record


def versions() -> dict[str, str]:
    """Versions of Python and of the libraries a result depends on."""
    import numpy
    import scipy
    import torch

    import bbp_torch

    return {
        "bbp_torch": bbp_torch.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
    }


def find_records(roots: Iterable[str | Path]) -> list[Path]:
    """Every ``record.json`` below the given folders (or the files themselves), sorted."""
    found: list[Path] = []
    for root in roots:
        root = Path(root)
        if root.is_file():
            found.append(root)
        else:
            found.extend(root.rglob(RECORD_NAME))
    return sorted(set(found))


def flatten(d: dict, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}} -> {"a.b": 1}``; lists are kept as values."""
    out: dict[str, Any] = {}
    for key, value in d.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def record_row(record: dict, path: str | Path | None = None) -> dict[str, Any]:
    """One table row: ``config.*`` and ``metrics.*`` columns, timings, status and the run path."""
    row: dict[str, Any] = {"status": record["status"]}
    row.update(flatten(record.get("config", {}), "config."))
    row.update(flatten(record.get("metrics", {}), "metrics."))
    row.update(flatten(record.get("timings", {}), "timings."))
    row["device"] = record.get("device")
    for key in ("error", "error_kind", "warning"):
        if key in record:
            row[key] = record[key]
    if path is not None:
        row["run_dir"] = str(Path(path).parent)
    return row


def load_table(roots: Iterable[str | Path], identity: bool = False):
    """All records below ``roots`` as a pandas DataFrame (one row per run).

    Unreadable records (not JSON, e.g. truncated by a crash of an older version, or JSON that
    is not a record: :func:`read_record`) become rows with ``status="unreadable"`` and the
    reason in ``error``, so a table is always produced. ``identity`` adds the column
    ``config_identity``: the part of the config that decides the run's numbers, as JSON.
    """
    import pandas as pd

    from bbp_torch.config import run_identity

    rows = []
    for path in find_records(roots):
        try:
            record = read_record(path)
            rows.append(record_row(record, path))
            if identity:
                rows[-1]["config_identity"] = json.dumps(run_identity(record["config"]),
                                                         sort_keys=True)
        except (OSError, ValueError) as err:
            rows.append({"status": "unreadable", "error": str(err), "run_dir": str(path.parent)})
    return pd.DataFrame(rows)
