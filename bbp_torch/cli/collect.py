"""``bbp-collect DIR... [--out FILE] [--include-unconverged]``: records -> one table.

Exit codes: 0 when every expected run has an ok record; 1 when some run failed, did not
converge, is unreadable or missing, or no record was read (nothing is written then); 2 when
the input was refused (no such folder, an --out that cannot be written).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bbp_torch.results import folder_problem
from bbp_torch.sweeps import read_sweeps, summarize, tally, write_table

OUT_SUFFIXES = (".csv", ".parquet")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bbp-collect",
        description="Collect the record.json files of one or more sweep (or run) folders into "
                    "one table (CSV, or parquet with --out FILE.parquet) and print the counts "
                    "(ok, unconverged, failed, unreadable, missing) and the means over seeds.")
    parser.add_argument("dirs", nargs="+", help="sweep (or run) folders")
    parser.add_argument("--out", default=None,
                        help="output file (.csv or .parquet), the only file written; default "
                             "DIR/table.csv")
    parser.add_argument("--include-unconverged", action="store_true",
                        help="count unconverged runs in the means (left out by default)")
    return parser


def out_problem(out: Path) -> str | None:
    """What is wrong with ``--out`` (a place that cannot be written, its format, pyarrow for
    parquet), or None."""
    if problem := folder_problem(out.parent, files=(out.name,)):
        return f"cannot write --out {out}: {problem}. Give --out a file in a writable folder."
    if out.suffix not in OUT_SUFFIXES:
        return f"--out {str(out)!r} must end in .csv or .parquet."
    if out.suffix == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            return "--out *.parquet needs pyarrow (pip install -e '.[parquet]'); or write .csv."
    return None


def main(argv: list[str] | None = None) -> int:
    """Console script ``bbp-collect``; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    missing = [d for d in args.dirs if not Path(d).is_dir()]
    if missing:
        print(f"bbp-collect: no such folder: {', '.join(missing)}. Give sweep folders, e.g. "
              "outputs/multirun/default.", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out is not None else Path(args.dirs[0]) / "table.csv"
    if problem := out_problem(out):
        print(f"bbp-collect: {problem}", file=sys.stderr)
        return 2
    table, expected, superseded = read_sweeps(args.dirs)
    if not len(table):
        print(f"bbp-collect: no record.json below {', '.join(args.dirs)}; nothing written.",
              file=sys.stderr)
        return 1
    print(summarize(table, expected, superseded, args.include_unconverged))
    print(f"written: {write_table(table, out)}")
    counts = tally(table, expected, superseded)
    complete = counts["missing"] in (0, None)
    return 0 if complete and counts["ok"] == counts["records"] else 1


def entry() -> None:  # pragma: no cover - console script
    from bbp_torch.cli import exit_with

    exit_with(main)


if __name__ == "__main__":
    entry()
