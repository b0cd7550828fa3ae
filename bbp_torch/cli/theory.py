"""``bbp-theory``: N = infinity predictions from the command line.

    bbp-theory table  --a 0.7 1.5 --p-star 1 --p 1 2 3 4 8 16 inf
        alpha_BBP over p (with the transition type, the pole formula and the large-p expansion)
    bbp-theory curves --p 2 --p-star 1 --a 0.7 --out runs/theory_p2_a0.7
        edge, outlier and overlap vs alpha (theory_curves.csv), the bulk density at the chosen
        alphas (theory_density.csv), a summary (theory_summary.json), and TensorBoard scalars
        under OUT/tensorboard (step = round(1000 alpha) for the curves, the grid index for the
        density), so a simulation run can be drawn against its prediction.

Without a subcommand, ``table`` runs with its defaults.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

import numpy as np

from bbp_torch import theory
from bbp_torch.config import MAX_ALPHA, MAX_LOSS_CONSTANT
from bbp_torch.predictions import FILES, width_label, write_predictions
from bbp_torch.results import folder_problem

MAX_WIDTH = 1e6  # a finite width beyond it is the p -> infinity limit to every printed digit


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def finite(text: str) -> float:
    """A finite number (nan and infinities are refused)."""
    value = _number(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def positive(text: str) -> float:
    """A finite number > 0."""
    value = finite(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return value


def bounded(hi: float, what: str):
    """An argparse type: a finite number in (0, ``hi``], the range ``bbp`` accepts for ``what``
    (so that every number the theory is asked about is one a run can have)."""

    def check(text: str) -> float:
        value = positive(text)
        if value > hi:
            raise argparse.ArgumentTypeError(f"{text!r} must be at most {hi:g}, as {what} in bbp")
        return value

    return check


loss_constant = bounded(MAX_LOSS_CONSTANT, "problem.a")
data_ratio = bounded(MAX_ALPHA, "problem.alpha")


def count(text: str, hi: int = 100_000) -> int:
    """An integer in [1, hi]."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if not 1 <= value <= hi:
        raise argparse.ArgumentTypeError(f"{text!r} must be between 1 and {hi}")
    return value


def _p_value(text: str) -> float:
    """A width: a finite number >= 1, or inf (the p -> infinity limit); not nan."""
    value = text.strip().lower()
    if value in ("inf", "infinity", "oo", "+inf"):
        return math.inf
    p = finite(value)
    if p < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: a width is at least 1 (or inf)")
    if p > MAX_WIDTH:
        raise argparse.ArgumentTypeError(f"{text!r}: a finite width is at most {MAX_WIDTH:g} "
                                         "(write inf for the p -> infinity limit)")
    return p


def teacher_width(text: str) -> float:
    """p*: a finite number in [1, MAX_WIDTH]."""
    p_star = finite(text)
    if not 1 <= p_star <= MAX_WIDTH:
        raise argparse.ArgumentTypeError(f"{text!r}: the teacher width is between 1 and "
                                         f"{MAX_WIDTH:g}")
    return p_star


def format_table(rows, p_star: float) -> str:
    lines = [f"alpha_BBP at N = infinity, p* = {p_star:g} "
             f"(limit p -> inf: p*(a+1)/2; pole: closed form at g = -p/2, exact when "
             f"discontinuous; large-p: to O(1/p^2))"]
    for a in sorted({r["a"] for r in rows}):
        limit = theory.alpha_bbp_large_p(math.inf, p_star, a)
        lines.append(f"\na = {a:g}   (p -> inf limit {limit:.6f})")
        lines.append(f"{'p':>6} {'alpha_BBP':>12} {'transition':>14} {'alpha_pole':>12} "
                     f"{'large-p':>12}")
        for r in (r for r in rows if r["a"] == a):
            lines.append(f"{width_label(r['p']):>6} {r['alpha_bbp']:12.6f} {r['transition']:>14} "
                         f"{r['alpha_pole']:12.6f} {r['alpha_large_p']:12.6f}")
    ps = sorted({r["p"] for r in rows if not math.isinf(r["p"])})
    crit = ", ".join(f"p={width_label(p)}: {_fmt_a(theory.critical_a(p, p_star))}" for p in ps)
    lines.append(f"\ncritical a (continuous below, discontinuous above): {crit}")
    return "\n".join(lines)


def _fmt_a(a_c):
    return "none" if a_c is None else f"{a_c:.4f}"


def run_curves(args) -> dict:
    """``bbp-theory curves``: :func:`bbp_torch.predictions.write_predictions` with the
    command's arguments; returns the summary."""
    return write_predictions(args.out, args.p, args.p_star, args.a,
                             np.linspace(args.alpha_min, args.alpha_max, args.num),
                             density_alphas=args.density_alpha,
                             density_points=args.density_points,
                             tensorboard=not args.no_tensorboard)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bbp-theory", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command")
    t = sub.add_parser("table", help="alpha_BBP over p for given a and p*")
    t.add_argument("--a", type=loss_constant, nargs="+", default=[0.7, 1.5])
    t.add_argument("--p-star", type=teacher_width, default=1.0)
    t.add_argument("--p", type=_p_value, nargs="+",
                   default=[1, 2, 3, 4, 8, 16, math.inf], help="widths; 'inf' allowed")
    t.add_argument("--json", action="store_true", help="print the rows as JSON")
    c = sub.add_parser("curves", help="write theory curves to files and TensorBoard")
    c.add_argument("--p", type=_p_value, required=True)
    c.add_argument("--p-star", type=teacher_width, default=1.0)
    c.add_argument("--a", type=loss_constant, required=True)
    c.add_argument("--alpha-min", type=data_ratio, default=0.1)
    c.add_argument("--alpha-max", type=data_ratio, default=4.0)
    c.add_argument("--num", type=count, default=80, help="alphas on the grid (1 to 100000)")
    c.add_argument("--density-alpha", type=data_ratio, nargs="*", default=[],
                   help="alphas at which to write the bulk density")
    c.add_argument("--density-points", type=count, default=400)
    c.add_argument("--out", required=True, help="output folder")
    c.add_argument("--no-tensorboard", action="store_true")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "curves" and not args.alpha_min < args.alpha_max:
        parser.error(f"argument --alpha-max: {args.alpha_max:g} must exceed --alpha-min "
                     f"{args.alpha_min:g}")
    if args.command == "curves" and (problem := folder_problem(args.out, files=FILES)):
        parser.error(f"argument --out: cannot write {args.out}: {problem}; give a writable "
                     "folder")
    try:
        if args.command == "curves":
            summary = run_curves(args)
            print(json.dumps(summary, indent=2))
            return 0
        if args.command is None:
            args = build_parser().parse_args(["table"])
        rows = theory.alpha_table(args.p, args.p_star, args.a)
        if args.json:
            print(json.dumps([r | {"p": width_label(r["p"])} for r in rows], indent=2))
        else:
            print(format_table(rows, args.p_star))
    except ValueError as exc:
        print(f"bbp-theory: error: {exc}", file=sys.stderr)
        return 2
    return 0


def entry() -> None:  # pragma: no cover - console script
    from bbp_torch.cli import exit_with

    exit_with(main)


if __name__ == "__main__":
    entry()
