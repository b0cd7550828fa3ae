"""Regenerate every figure of the reproduction into outputs/figures/ (PNG + PDF + TensorBoard).

    python scripts/reproduce_figures.py                 # full, paper-size (hours on a CPU)
    python scripts/reproduce_figures.py --quick         # all figures in minutes on 2 cores
    python scripts/reproduce_figures.py --only fig1 fig5 --jobs 2
    python scripts/reproduce_figures.py --no-run        # plot the records that already exist

Simulations are the presets of conf/experiment/ (fig1_overlap, fig3_alpha_bbp,
fig4_finite_size; ``--quick`` uses their ``*_quick`` variants). The full mode runs them as
``bbp -m +experiment=<name>`` (runner ``cli``: the same sweeps, resumable, into
outputs/multirun/<name>/); the quick mode runs the same grids in-process through the job runner
(runner ``inprocess``, into <out>/runs/<name>/), which avoids Hydra's per-job cost. Each figure
is one module of bbp_torch/figures/ (the registry ``bbp_torch.figures.FIGURES``); see
docs/figures.md for what each figure shows and bbp_torch/estimators.py for the estimators.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from bbp_torch import plots
from bbp_torch.figures import FIGURES
from bbp_torch.figures.common import Context, positive_int
from bbp_torch.figures.runs import PROJECT_ROOT, grid_points, make_executor, run_seconds
from bbp_torch.results import write_json_atomic


def estimate(ctx: Context, figures: list[str]) -> None:
    """Print the number of simulation runs and a rough single-core time per preset."""
    total = 0.0
    for key in sorted({k for f in figures for k in FIGURES[f].SWEEPS}):
        name, _, base, swept = ctx.grid(key)
        points = grid_points(base, swept)
        seconds = sum(run_seconds(cfg, ctx.runner) for _, cfg in points)
        total += seconds
        print(f"[estimate] {name}: {len(points)} runs, ~{seconds / 3600:.2f} core-hours")
    print(f"[estimate] simulations: ~{total / 3600:.2f} core-hours, ~{total / 60 / ctx.jobs:.0f} "
          f"min on {ctx.jobs} job(s) before finished runs are skipped (a rough model: "
          f"{ctx.runner} runner, (pN)^3 eigensolve); figures 2, 3, 5 add theory and spectra",
          flush=True)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true",
                      help="the *_quick presets: every figure in minutes on two CPU cores")
    size.add_argument("--smoke", action="store_true",
                      help="tiny grids (seconds); checks the pipeline, not the physics")
    parser.add_argument("--only", nargs="+", choices=list(FIGURES), default=list(FIGURES),
                        help="figures to make (default: all)")
    parser.add_argument("--jobs", type=positive_int, default=os.cpu_count() or 1,
                        help="parallel jobs, one thread each, >= 1 (default: all cores)")
    parser.add_argument("--out", default=str(PROJECT_ROOT / "outputs" / "figures"),
                        help="output folder (default: outputs/figures)")
    parser.add_argument("--runner", choices=("auto", "cli", "inprocess"), default="auto",
                        help="cli: bbp -m sweeps (full default); inprocess: the job runner in "
                             "a pool (quick default)")
    parser.add_argument("--runs", default=None,
                        help="folder of the sweeps (default: outputs/multirun for the cli "
                             "runner, OUT/runs for inprocess)")
    parser.add_argument("--no-run", action="store_true",
                        help="run no simulation; plot the records that exist")
    parser.add_argument("--estimate", action="store_true",
                        help="print the number of runs and a time estimate, and stop")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    start = time.time()
    timings = {}
    with make_executor(args.jobs) as executor, plots.FigureSaver(args.out) as saver:
        ctx = Context(mode, args.out, executor, saver, runner=args.runner, runs=args.runs,
                      jobs=args.jobs, run=not args.no_run)
        print(f"reproduce_figures: mode={ctx.mode} runner={ctx.runner} jobs={ctx.jobs} "
              f"out={ctx.out}", flush=True)
        if ctx.run or args.estimate:
            estimate(ctx, args.only)
        if args.estimate:
            return 0
        for key, figure in FIGURES.items():
            if key in args.only:
                t0 = time.time()
                ctx.summary[key] = figure.draw(ctx)
                timings[key] = time.time() - t0
                print(f"[{key}] done in {timings[key]:.1f}s", flush=True)
        ctx.summary["timings_s"] = timings
        ctx.summary["total_s"] = time.time() - start
        summary_path = ctx.out / f"summary_{ctx.mode}.json"
        summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
        summary.update(ctx.summary)  # --only redraws some figures; keep the others' numbers
        write_json_atomic(summary_path, summary)
    print(f"figures: {', '.join(str(p) for p in saver.saved if p.suffix == '.png')}")
    print(f"summary: {summary_path}; tensorboard --logdir {ctx.out / 'tensorboard'}")
    print(f"total {time.time() - start:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
