"""``bbp-collect DIR... [--out FILE] [--include-unconverged]``: records -> one table.

Exit codes: 0 when every expected run has an ok record; 1 when some run failed, did not
converge or is missing; 2 when the input was refused (no such folder, a bad --out).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bbp_torch.sweeps import collect

OUT_SUFFIXES = (".csv", ".parquet")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bbp-collect",
        description="Collect the record.json files of one or more sweep (or run) folders into "
                    "one table (CSV, and parquet when pyarrow is installed) and print the "
                    "counts (ok, unconverged, failed, missing) and the means over seeds.")
    parser.add_argument("dirs", nargs="+", help="sweep (or run) folders")
    parser.add_argument("--out", default=None,
                        help="output file (.csv or .parquet); default DIR/table.csv")
    parser.add_argument("--include-unconverged", action="store_true",
                        help="count unconverged runs in the means (left out by default)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Console script ``bbp-collect``; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    missing = [d for d in args.dirs if not Path(d).is_dir()]
    if missing:
        print(f"bbp-collect: no such folder: {', '.join(missing)}. Give sweep folders, e.g. "
              "outputs/multirun/default.", file=sys.stderr)
        return 2
    if args.out is not None and Path(args.out).suffix not in OUT_SUFFIXES:
        print(f"bbp-collect: --out {args.out!r} must end in .csv or .parquet.", file=sys.stderr)
        return 2
    if args.out is not None and Path(args.out).suffix == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            print("bbp-collect: --out *.parquet needs pyarrow (pip install -e '.[parquet]'); "
                  "or write .csv.", file=sys.stderr)
            return 2
    table, text = collect(args.dirs, args.out, args.include_unconverged)
    if not len(table):
        print(f"bbp-collect: no record.json below {', '.join(args.dirs)}", file=sys.stderr)
        return 1
    print(text)
    complete = "0 missing" in text or "missing" not in text
    all_ok = bool((table["status"] == "ok").all())
    return 0 if all_ok and complete else 1


def entry() -> None:  # pragma: no cover - console script
    from bbp_torch.cli import exit_with

    exit_with(main)


if __name__ == "__main__":
    entry()
