"""A small sweep, run as on the command line (``bbp -m``), read back in Python as a pandas
table: the mean overlap m over seeds against alpha, next to the N = infinity theory.

    python examples/sweep_table.py                          # 6 alphas x 4 seeds at N = 200
    python examples/sweep_table.py --N 400 --seeds 8 --out /tmp/example
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from bbp_torch import collect, theory


def main(argv: list[str] | None = None):
    """Run the sweep into ``<out>/sweep`` (finished runs are skipped when run again), collect
    it; returns the table of means per alpha (``mean``, ``sem``, ``runs``, ``theory``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--N", type=int, default=200)
    parser.add_argument("--alphas", default="0.5,1,1.5,2,3,4")
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--out", default="outputs/examples")
    args = parser.parse_args(argv)

    sweep = Path(args.out).resolve() / "sweep"
    overrides = [f"problem.N={args.N}", f"problem.alpha={args.alphas}",
                 f"seed=range({args.seeds})", f"hydra.sweep.dir={sweep}",
                 "logging.progress=false"]
    print("+ bbp -m " + " ".join(overrides), flush=True)
    # The command itself (python -m bbp_torch is bbp), so that the sweep is exactly what a user
    # runs: one folder per run, resumable, each with its record.json.
    subprocess.run([sys.executable, "-m", "bbp_torch", "-m", *overrides], check=True)

    table, counts = collect([sweep])  # one row per run (config.*, metrics.*), as bbp-collect
    print(counts)
    ok = table[table["status"] == "ok"]
    means = (ok.groupby("config.problem.alpha")["metrics.overlap"]
             .agg(mean="mean", sem="sem", runs="count"))
    first = ok.iloc[0]  # the fixed parameters of the sweep (the schema's defaults here)
    p, p_star, a = (first[f"config.problem.{k}"] for k in ("p", "p_star", "a"))
    means["theory"] = [theory.overlap(p, p_star, a, alpha) for alpha in means.index]
    print(f"\noverlap m at N = {args.N}, p = {p}, p* = {p_star}, a = {a} "
          f"(theory alpha_BBP = {theory.alpha_bbp(p, p_star, a):.3f}):")
    print(means.to_string(float_format="%.4f"))
    return means


if __name__ == "__main__":
    main()
