"""Sweeps: how many runs a Hydra multirun expects, its progress, and ``bbp-collect``.

A sweep folder (``outputs/multirun/<name>/``) holds Hydra's ``multirun.yaml`` and one subfolder
per run, named by the run's overrides, each with a ``record.json`` once the run has finished (or
failed: then the record's ``status`` is ``"error"``). Runs are counted from the records, so the
progress of a sweep and the completeness of a collected table survive restarts.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

from bbp_torch.results import find_records, load_table

SWEEP_FILE = "multirun.yaml"


def expected_runs(sweep_dir: str | Path) -> int | None:
    """Number of runs the sweep in ``sweep_dir`` launches (from its ``multirun.yaml``).

    The product, over swept keys, of the number of values; command-line overrides take
    precedence over ``hydra.sweeper.params`` of a preset. None when it cannot be told.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import OmegaConf

    path = Path(sweep_dir) / SWEEP_FILE
    if not path.exists():
        return None
    try:
        cfg = OmegaConf.load(path)
        params = OmegaConf.select(cfg, "hydra.sweeper.params") or {}
        task = list(OmegaConf.select(cfg, "hydra.overrides.task") or [])
        lines = [f"{key}={value}" for key, value in params.items()] + task
        counts: dict[str, int] = {}
        for override in OverridesParser.create().parse_overrides(lines):
            if override.is_sweep_override():
                counts[override.get_key_element()] = len(list(override.sweep_string_iterator()))
            else:
                counts.pop(override.get_key_element(), None)
        return math.prod(counts.values()) if counts else 1
    except Exception:  # a malformed or foreign multirun.yaml: no count, never a crash
        return None


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s"


def progress_line(sweep_dir: str | Path) -> str:
    """``[sweep] 5/24 runs finished, elapsed 1m20s, ETA 5m04s``.

    Runs are counted by their record files (ok or error) without reading them, so the line stays
    cheap in sweeps of thousands of runs; ``bbp-collect`` tells ok from failed. The ETA
    extrapolates the pace since the sweep (or its latest resumption) started.
    """
    sweep_dir = Path(sweep_dir)
    records = find_records([sweep_dir])
    finished = len(records)
    total = expected_runs(sweep_dir)
    text = f"[sweep] {finished}/{total if total else '?'} runs finished"
    marker = sweep_dir / SWEEP_FILE
    if marker.exists():
        # Hydra rewrites multirun.yaml when a sweep is (re)started: the pace counts only the
        # records written since then, not those of an earlier attempt.
        started = marker.stat().st_mtime
        elapsed = max(0.0, time.time() - started)
        text += f", elapsed {_duration(elapsed)}"
        fresh = sum(1 for r in records if r.stat().st_mtime >= started)
        if total and fresh and finished < total:
            text += f", ETA {_duration((total - finished) * elapsed / fresh)}"
    return text


def sweep_dirs(roots: list[str | Path]) -> list[Path]:
    """Sweep folders below ``roots``: those holding a ``multirun.yaml``."""
    found = []
    for root in roots:
        root = Path(root)
        found.extend(p.parent for p in root.rglob(SWEEP_FILE))
    return sorted(set(found))


SWEEP_COLUMNS = ("config.problem.N", "config.problem.p", "config.problem.p_star",
                 "config.problem.a", "config.problem.alpha", "config.hessian.kind")


def summarize(table, expected: int | None) -> str:
    """Counts of ok / failed / missing runs and mean metrics over seeds per swept point."""
    lines = []
    n_ok = int((table["status"] == "ok").sum()) if len(table) else 0
    n_failed = len(table) - n_ok
    missing = None if expected is None else max(0, expected - len(table))
    lines.append(f"{len(table)} records: {n_ok} ok, {n_failed} failed or unreadable"
                 + ("" if missing is None else f", {missing} missing (of {expected} expected)"))
    if n_failed:
        bad = table[table["status"] != "ok"]
        for _, row in bad.head(5).iterrows():
            lines.append(f"  failed: {row.get('run_dir')}: {str(row.get('error'))[:120]}")
    ok = table[table["status"] == "ok"] if len(table) else table
    metrics = [m for m in ("metrics.lambda_min", "metrics.gap", "metrics.overlap")
               if m in ok.columns]
    if len(ok) and metrics:
        keys = [c for c in SWEEP_COLUMNS if c in ok.columns and ok[c].nunique() > 1]
        if keys:
            grouped = ok.groupby(keys)[metrics].mean()
            grouped.insert(0, "runs", ok.groupby(keys).size())
            lines.append("mean over seeds:")
            lines.append(grouped.to_string(float_format=lambda x: f"{x:.4g}"))
        else:
            lines.append(ok[metrics].describe().loc[["mean", "std"]].to_string())
    return "\n".join(lines)


def collect(roots: list[str | Path], out: str | Path | None = None):
    """Read every record below ``roots`` into one table; write it; return ``(table, summary)``.

    ``out`` ending in ``.parquet`` writes parquet (when pyarrow is present), otherwise CSV; by
    default ``<first root>/table.csv`` (and ``table.parquet`` when possible).
    """
    table = load_table(roots)
    expected = [expected_runs(d) for d in sweep_dirs(roots)]
    total = sum(expected) if expected and None not in expected else None
    text = summarize(table, total)
    out = Path(out) if out else Path(roots[0]) / "table.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    written = []
    if out.suffix == ".parquet":
        table.to_parquet(out)
        written.append(out)
    else:
        table.to_csv(out, index=False)
        written.append(out)
        try:
            table.to_parquet(out.with_suffix(".parquet"))
            written.append(out.with_suffix(".parquet"))
        except (ImportError, ValueError):
            pass
    return table, text + "\nwritten: " + ", ".join(str(w) for w in written)


def collect_main(argv=None) -> int:
    """Console script ``bbp-collect DIR... [--out FILE]``."""
    parser = argparse.ArgumentParser(
        prog="bbp-collect",
        description="Collect the record.json files of one or more multirun folders into a table.")
    parser.add_argument("dirs", nargs="+", help="multirun (or run) folders")
    parser.add_argument("--out", default=None,
                        help="output file (.csv or .parquet); default DIR/table.csv")
    args = parser.parse_args(argv)
    missing = [d for d in args.dirs if not Path(d).exists()]
    if missing:
        print(f"bbp-collect: no such folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    table, text = collect(args.dirs, args.out)
    if not len(table):
        print(f"bbp-collect: no record.json below {', '.join(args.dirs)}", file=sys.stderr)
        return 1
    print(text)
    return 0


def main() -> None:  # pragma: no cover - console script
    sys.exit(collect_main())
