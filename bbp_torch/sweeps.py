"""Sweeps: the runs a folder expects, its progress and outcome, and tables of its records.

A sweep folder (``outputs/multirun/<name>/``) holds one subfolder per run, named by the run's
overrides as Hydra names them (``hydra.job.override_dirname``), each with its ``record.json``
once the run has finished (``ok`` or ``unconverged``) or failed (``error``), and the file
``sweeps.jsonl``: one line per sweep, or resumption of one, that wrote into the folder (when,
its overrides, the names of its runs). The runs a folder expects are the union over those
lines, so that two sweeps into one folder (the default folder of unnamed sweeps is shared) are
counted right; runs are counted from their records, so progress and completeness survive
restarts. Folders from before ``sweeps.jsonl`` fall back on Hydra's ``multirun.yaml``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path

from bbp_torch.metrics import means
from bbp_torch.results import (
    FINISHED,
    RECORD_NAME,
    find_records,
    flatten,
    load_table,
    read_record,
)

SWEEP_LOG = "sweeps.jsonl"
SWEEP_FILE = "multirun.yaml"  # Hydra's, rewritten by every sweep into the folder
SUBDIR_TEMPLATE = "${or_default:${hydra.job.override_dirname},run}"


# ----------------------------------------------------------------------------- run names


def job_dirname(job: list[str], exclude_keys: Iterable[str], item_sep: str = ",",
                kv_sep: str = "=") -> str:
    """The folder of one job, as Hydra's ``override_dirname`` names it from the job's overrides
    (``key=value`` strings): sorted, excluded keys left out; ``run`` when nothing is left."""
    exclude = set(exclude_keys)
    lines = sorted(o for o in job if o.split("=", 1)[0].lstrip("+~") not in exclude)
    return item_sep.join(lines).replace("=", kv_sep) or "run"


def sweep_jobs(params: dict, task: list[str]) -> list[list[str]]:
    """Every job of a basic sweep: the product of ``params`` (a preset's
    ``hydra.sweeper.params``) and the command-line ``task`` overrides, the latter winning."""
    import itertools

    from hydra.core.override_parser.overrides_parser import OverridesParser

    lines = [f"{key}={value}" for key, value in params.items()] + list(task)
    choices: dict[str, list[str]] = {}
    for override in OverridesParser.create().parse_overrides(lines):
        key = override.get_key_element()
        if override.is_sweep_override():
            choices[key] = [f"{key}={v}" for v in override.sweep_string_iterator()]
        else:
            choices[key] = [f"{key}={override.get_value_element_as_str()}"]
    return [list(job) for job in itertools.product(*choices.values())]


def sweep_run_names(config) -> list[str]:
    """The run folders of the sweep that ``config`` (composed, with its ``hydra`` node)
    launches; empty when they cannot be told (another sweeper, another folder naming)."""
    from omegaconf import OmegaConf

    hc = config.hydra
    subdir = OmegaConf.to_container(hc.sweep, resolve=False).get("subdir")
    if not str(hc.sweeper.get("_target_", "")).endswith("BasicSweeper") or \
            subdir != SUBDIR_TEMPLATE:
        return []
    naming = hc.job.config.override_dirname
    params = hc.sweeper.get("params")
    params = OmegaConf.to_container(params, resolve=False) if params else {}
    jobs = [seed_job(job, s) for job in sweep_jobs(params, list(hc.overrides.task))
            for s in job_seeds(job, config)]
    return sorted({job_dirname(job, naming.exclude_keys, naming.item_sep, naming.kv_sep)
                   for job in jobs})


def job_seeds(job: list[str], config) -> list[int] | list[None]:
    """The seeds of one job of a sweep (its ``seed`` and ``seeds``, from its overrides or the
    composed ``config``): ``[None]`` for a one-seed job (its folder as it is), else every seed
    from ``seed`` to ``seed + seeds - 1``."""
    given = {o.split("=", 1)[0].lstrip("+~"): o.split("=", 1)[1] for o in job if "=" in o}
    seeds = int(given.get("seeds", config.get("seeds", 1)))
    if seeds == 1:
        return [None]
    seed = int(given.get("seed", config.get("seed", 0)))
    return list(range(seed, seed + seeds))


def seed_job(job: list[str], seed: int | None) -> list[str]:
    """The overrides of the run ``seed=<seed>`` alone, which one seed of a several-seed job
    writes as (its folder is named by them); ``job`` itself when ``seed`` is None."""
    if seed is None:
        return list(job)
    keep = [o for o in job if o.split("=", 1)[0].lstrip("+~") not in ("seed", "seeds")]
    return [*keep, f"seed={seed}"]


def seed_folders(hc):
    """``s -> folder`` of the seeds of a several-seed job of a sweep (``hc``: the job's Hydra
    config): the folder the sweep's run ``seed=s`` has; None for another folder naming (each
    seed then writes into the subfolder ``seed=s`` of the job's folder)."""
    from omegaconf import OmegaConf

    subdir = OmegaConf.to_container(hc.sweep, resolve=False).get("subdir")
    if subdir != SUBDIR_TEMPLATE:
        return None
    naming = hc.job.config.override_dirname
    task, sweep_dir = list(hc.overrides.task), Path(hc.sweep.dir)
    return lambda s: sweep_dir / job_dirname(seed_job(task, s), naming.exclude_keys,
                                             naming.item_sep, naming.kv_sep)


def sweep_fields(config, schema: type) -> list[str]:
    """The fields of ``schema`` that a sweep sets (``config``: composed, with its ``hydra``
    node): the keys of its jobs' overrides (a preset's sweeper params and the command line),
    and the fields whose composed value (a preset's included) is not the schema's default;
    ``seeds`` counts as ``seed`` (its jobs write the runs of a sweep over seed); sorted."""
    from dataclasses import asdict

    from omegaconf import OmegaConf

    hc = config.hydra
    params = hc.sweeper.get("params")
    params = OmegaConf.to_container(params, resolve=False) if params else {}
    keys = {o.split("=", 1)[0].lstrip("+~") for job in sweep_jobs(params, list(hc.overrides.task))
            for o in job}
    defaults = flatten(asdict(schema()))
    composed = flatten(OmegaConf.to_container(
        OmegaConf.masked_copy(config, [k for k in config if k != "hydra"]), resolve=True))
    changed = {k for k, v in composed.items() if k in defaults and v != defaults[k]}
    fields = (keys & set(defaults)) | changed
    if "seeds" in fields:  # several seeds per job: the runs are those of a sweep over seed
        fields = (fields - {"seeds"}) | {"seed"}
    return sorted(fields)


def register_sweep(sweep_dir: str | Path, names: list[str], overrides: list[str]) -> None:
    """Append one line to ``sweep_dir/sweeps.jsonl``: this sweep's start and its runs."""
    sweep_dir = Path(sweep_dir)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    line = {"started": time.time(), "overrides": list(overrides), "runs": list(names)}
    with open(sweep_dir / SWEEP_LOG, "a") as f:
        f.write(json.dumps(line) + "\n")


def _sweep_log(sweep_dir: Path) -> list[dict]:
    path = Path(sweep_dir) / SWEEP_LOG
    if not path.exists():
        return []
    entries = []
    for line in path.read_text().splitlines():
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:  # a line cut by a crash: the others still count
            continue
    return entries


def expected_names(sweep_dir: str | Path) -> list[str] | None:
    """The runs every sweep into ``sweep_dir`` launched (union), or None when unknown."""
    entries = _sweep_log(Path(sweep_dir))
    if not entries or any(not e.get("runs") for e in entries):
        return None
    return sorted({name for e in entries for name in e["runs"]})


def _multirun_yaml_count(sweep_dir: Path) -> int | None:
    """Runs of the last sweep, from Hydra's ``multirun.yaml`` (older folders)."""
    from omegaconf import OmegaConf

    path = sweep_dir / SWEEP_FILE
    if not path.exists():
        return None
    try:
        cfg = OmegaConf.load(path)
        params = OmegaConf.select(cfg, "hydra.sweeper.params")
        params = OmegaConf.to_container(params) if params else {}
        task = list(OmegaConf.select(cfg, "hydra.overrides.task") or [])
        return len(sweep_jobs(params, task))
    except Exception:  # a malformed or foreign multirun.yaml: no count, never a crash
        return None


def expected_runs(sweep_dir: str | Path) -> int | None:
    """How many runs ``sweep_dir`` expects (every sweep into it counted once per run)."""
    names = expected_names(sweep_dir)
    return len(names) if names is not None else _multirun_yaml_count(Path(sweep_dir))


# ----------------------------------------------------------------------------- progress


def duration(seconds: float) -> str:
    """``1h02m03s`` / ``2m03s``."""
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s"


def progress_line(sweep_dir: str | Path, names: list[str] | None = None) -> str:
    """``[sweep] 5/24 runs finished, elapsed 1m20s, ETA 5m04s``.

    Counts the runs ``names`` (default: those of the latest sweep into the folder, the one that
    runs now; never the runs of other sweeps sharing the folder) by their record files (ok,
    unconverged or error) without reading them, so the line stays cheap in sweeps of thousands
    of runs; the ETA extrapolates the pace since that sweep started.
    """
    sweep_dir = Path(sweep_dir)
    entries = _sweep_log(sweep_dir)
    if names is None and entries and entries[-1].get("runs"):
        names = entries[-1]["runs"]
    if names is None:
        records = find_records([sweep_dir])
        total = _multirun_yaml_count(sweep_dir)
    else:
        records = [p for p in (sweep_dir / n / RECORD_NAME for n in names) if p.exists()]
        total = len(names)
    finished = len(records)
    text = f"[sweep] {finished}/{total if total else '?'} runs finished"
    if entries:
        started = entries[-1]["started"]
        elapsed = max(0.0, time.time() - started)
        text += f", elapsed {duration(elapsed)}"
        fresh = sum(1 for r in records if r.stat().st_mtime >= started)
        if total and fresh and finished < total:
            text += f", ETA {duration((total - finished) * elapsed / fresh)}"
    return text


def sweep_outcome(sweep_dir: str | Path, names: list[str]) -> dict:
    """Counts over the runs ``names`` of ``sweep_dir``: ok, unconverged, failed (of which
    ``config`` were refused configurations), unreadable (a ``record.json`` that is not a record;
    ``unreadable_why`` names each file and what is wrong) and missing (no record)."""
    counts: dict = {"ok": 0, "unconverged": 0, "failed": 0, "config": 0, "unreadable": 0,
                    "missing": 0, "unreadable_why": []}
    for name in names:
        path = Path(sweep_dir) / name / RECORD_NAME
        if not path.exists():
            counts["missing"] += 1
            continue
        try:
            record = read_record(path)
        except (OSError, ValueError) as err:
            counts["unreadable"] += 1
            counts["unreadable_why"].append(str(err))
            continue
        status = record["status"]
        if status in FINISHED:
            counts[status] += 1
        else:
            counts["failed"] += 1
            counts["config"] += record.get("error_kind") == "config"
    return counts


# ----------------------------------------------------------------------------- tables


def sweep_dirs(roots: list[str | Path]) -> list[Path]:
    """Sweep folders below ``roots``: those holding a ``sweeps.jsonl`` or a ``multirun.yaml``."""
    found = set()
    for root in roots:
        for marker in (SWEEP_LOG, SWEEP_FILE):
            found.update(p.parent for p in Path(root).rglob(marker))
    return sorted(found)


def drop_superseded(table):
    """Leave out the error rows of runs that also have an ok row (the same config, e.g. a
    failure redone in another folder): a failure that a later success replaced is not one.
    Returns the table and the run folders of the rows left out (accounted for, not missing)."""
    if not len(table) or "config_identity" not in table:
        return table, []
    done = set(table.loc[table["status"] == "ok", "config_identity"])
    superseded = (table["status"] == "error") & table["config_identity"].isin(done)
    return (table[~superseded].reset_index(drop=True),
            list(table.loc[superseded, "run_dir"]))


SWEEP_COLUMNS = ("config.problem.N", "config.problem.p", "config.problem.p_star",
                 "config.problem.a", "config.problem.alpha", "config.hessian.kind",
                 "config.train.method", "config.train.init", "config.train.lr")
# the two kinds of record, told apart by the train group of their config; each its own means
# (the metrics bbp_torch.metrics marks ``mean``)
RECORD_KINDS = {"bbp": "study", "bbp-train": "training"}


def record_kinds(table):
    """``bbp`` or ``bbp-train`` per row (None for an unreadable record)."""
    import pandas as pd

    if not len(table):
        return pd.Series([], dtype=object)
    train = table["config.train.method"].notna() if "config.train.method" in table else False
    study = table["status"] != "unreadable"
    kinds = pd.Series([None] * len(table), index=table.index, dtype=object)
    kinds[study] = "bbp"
    kinds[study & train] = "bbp-train"
    return kinds


def tally(table, expected: list[str] | int | None, superseded: list[str] = ()) -> dict:
    """The counts of a table of records: ``records``, ``ok``, ``unconverged``, ``failed``,
    ``unreadable``, ``superseded``, ``missing`` and ``expected`` (None when the folders do not
    say how many runs they expect). Completeness is ``missing == 0``, never a reading of text.

    ``expected``: the run folders the sweeps launched (or their number); ``superseded``: the run
    folders of failures that a success of the same config replaced (not missing, not failed).
    """
    status = table["status"] if len(table) else None
    n = {s: int((status == s).sum()) if len(table) else 0
         for s in ("ok", "unconverged", "unreadable")}
    counts = {"records": len(table), **n, "failed": len(table) - sum(n.values()),
              "superseded": len(superseded), "missing": None, "expected": None}
    if isinstance(expected, list):
        have = (set(table["run_dir"]) if len(table) else set()) | set(superseded)
        counts["missing"] = len([name for name in expected if name not in have])
        counts["expected"] = len(expected)
    elif expected is not None:
        counts["missing"] = max(0, expected - len(table) - len(superseded))
        counts["expected"] = expected
    return counts


def _counts_text(counts: dict) -> str:
    text = (f"{counts['records']} records: {counts['ok']} ok, {counts['unconverged']} "
            f"unconverged, {counts['failed']} failed, {counts['unreadable']} unreadable")
    if counts["missing"] is not None:
        text += f", {counts['missing']} missing (of {counts['expected']} expected)"
    return text


def summarize(table, expected: list[str] | int | None, superseded: list[str] = (),
              include_unconverged: bool = False) -> str:
    """Counts of ok / unconverged / failed / unreadable / missing runs (:func:`tally`), each kind
    of record (``bbp``, ``bbp-train``) apart when a folder holds both, and the means of each
    kind's metrics over seeds per point, each saying over how many runs.

    Means are over ``ok`` runs (and ``unconverged`` ones with ``include_unconverged``), of the
    metrics :mod:`bbp_torch.metrics` marks ``mean``.
    """
    counts = tally(table, expected, superseded)
    lines = [_counts_text(counts) + (f"; {len(superseded)} failures superseded by a later "
                                     "success" if superseded else "")]
    if not len(table):
        return lines[0]
    status, kinds = table["status"], record_kinds(table)
    present = [k for k in RECORD_KINDS if (kinds == k).any()]
    if len(present) > 1:
        for kind in present:
            part = table[kinds == kind]
            lines.append(f"  {kind}: " + _counts_text(tally(part, None)))
    for label, mask in (("failed", ~status.isin(["ok", "unconverged"])),
                        ("unconverged", status == "unconverged")):
        for _, row in table[mask].head(5).iterrows():
            why = row.get("error") if label == "failed" else row.get("warning")
            kind = f" [{row.get('error_kind') or row['status']}]" if label == "failed" else ""
            lines.append(f"  {label}{kind}: {row.get('run_dir')}: {str(why)[:160]}")
    keep = ["ok", "unconverged"] if include_unconverged else ["ok"]
    what = "ok and unconverged" if include_unconverged else "ok"
    for kind in present:
        ok = table[status.isin(keep) & (kinds == kind)]
        metrics = [m for m in means(RECORD_KINDS[kind]) if m in ok.columns]
        if not len(ok) or not metrics:
            continue
        label = f"{kind}, {what} runs" if len(present) > 1 else f"{what} runs"
        keys = [c for c in SWEEP_COLUMNS if c in ok.columns and ok[c].nunique() > 1]
        if keys:
            grouped = ok.groupby(keys)[metrics].mean()
            grouped.insert(0, "runs", ok.groupby(keys).size())
            lines.append(f"mean over seeds ({label}; 'runs': how many per point):")
            lines.append(grouped.to_string(float_format=lambda x: f"{x:.4g}"))
        else:
            lines.append(f"mean and std over {len(ok)} runs ({label}):")
            lines.append(ok[metrics].describe().loc[["mean", "std"]].to_string())
    return "\n".join(lines)


def read_sweeps(roots: list[str | Path]):
    """Every record below ``roots`` as a table (:func:`bbp_torch.results.load_table`), with
    failures a later success superseded left out, and the runs the sweep folders expect:
    ``(table, expected, superseded)`` as :func:`summarize` takes them."""
    table = load_table(roots, identity=True)
    table, superseded = drop_superseded(table)
    dirs = sweep_dirs(roots)
    expected: list[str] | int | None = None
    names = [expected_names(d) for d in dirs]
    if dirs and all(n is not None for n in names):
        expected = [str(Path(d, n)) for d, ns in zip(dirs, names, strict=True) for n in ns]
    elif dirs:
        counts = [expected_runs(d) for d in dirs]
        expected = sum(counts) if None not in counts else None
    return table.drop(columns=["config_identity"], errors="ignore"), expected, superseded


def write_table(table, out: str | Path) -> Path:
    """Write ``table`` to ``out``: parquet when it ends in ``.parquet``, else CSV; that file
    alone."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".parquet":
        table.to_parquet(out)
    else:
        table.to_csv(out, index=False)
    return out


def collect(roots: list[str | Path], out: str | Path | None = None,
            include_unconverged: bool = False):
    """Read every record below ``roots`` into one table; write it; return ``(table, summary)``.

    ``out`` ending in ``.parquet`` writes parquet (pyarrow needed), otherwise CSV; by default
    ``<first root>/table.csv``. Nothing is written when no record was read. The table keeps
    every row with its ``status``; the summary's means leave unconverged runs out unless
    ``include_unconverged``.
    """
    table, expected, superseded = read_sweeps(roots)
    text = summarize(table, expected, superseded, include_unconverged)
    if not len(table):
        return table, text + "\nno record read: nothing written"
    written = write_table(table, out if out else Path(roots[0]) / "table.csv")
    return table, text + f"\nwritten: {written}"


__all__ = ["collect", "duration", "expected_names", "expected_runs", "job_dirname",
           "progress_line", "read_sweeps", "register_sweep", "summarize", "sweep_fields",
           "sweep_jobs", "sweep_outcome", "sweep_run_names", "tally", "write_table"]
