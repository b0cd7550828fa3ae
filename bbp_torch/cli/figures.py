"""``bbp-figures``: regenerate the figures, in the paper's numbering, into outputs/figures/ (PNG,
PDF, the tables they are drawn from, TensorBoard).

    bbp-figures --smoke          # seconds: checks the pipeline (tests)
    bbp-figures --quick          # every figure in ~7 min on 2 cores
    bbp-figures --paper          # every figure in ~52 min on 2 cores
    bbp-figures                  # full: the presets as they are
    bbp-figures --launcher slurm --launcher-override hydra.launcher.partition=cpu
                                 # full, the sweeps on SLURM
    bbp-figures --paper --only fig3 fig9 --out /tmp/figs
    bbp-figures --paper --estimate   # runs, solvers, time; no work
    bbp-figures --paper --no-run     # redraw from the records there, else from OUT/tables/

Each figure is one module of bbp_torch/figures/ (registry ``bbp_torch.figures.FIGURES``: fig1 ...
fig10 are the paper's figures of those numbers, extra_* are this package's own). Its simulations
are presets of conf/experiment/ (the full recipe); the other modes run the same presets with the
overrides of ``conf/figure_modes/<mode>.yaml`` (printed as a ``bbp -m`` command line for each
preset). smoke, quick and paper run every grid point in-process through the job runner, in a
pool of ``--jobs`` processes (records in OUT/runs/<mode>/<preset>/); the full mode runs each
preset as ``bbp -m +experiment=<preset>`` (``bbp-train`` for training presets) into
outputs/multirun/<preset>/ of the current folder, on this machine or, with ``--launcher slurm``,
on SLURM. Finished runs are skipped, so an interrupted invocation resumes. Every figure's
records are also written as OUT/tables/<preset>.csv.gz, from which ``--no-run`` redraws when
the records are gone. docs/figures.md says what each figure shows.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback

from bbp_torch import plots
from bbp_torch.figures import FIGURES
from bbp_torch.figures.common import MODES, Context, command_line, positive_int
from bbp_torch.figures.cost import grid_cost
from bbp_torch.figures.cost import side_seconds as figure_side_seconds
from bbp_torch.figures.executors import make_executor
from bbp_torch.figures.grids import grid_points, preset_kind
from bbp_torch.figures.summary import merge_summary
from bbp_torch.sweeps import duration

DEFAULT_OUT = "outputs/figures"  # relative: below the folder the command runs in


def side_seconds(key: str, s: dict) -> float:
    """Rough CPU seconds of figure ``key``'s work besides its sweeps (its module's estimate)."""
    return figure_side_seconds(FIGURES[key], s)


def estimate(ctx: Context, figures: list[str]) -> dict:
    """Print, per preset, the runs, the solver chosen for them and a CPU-time estimate, the
    equivalent command line, and the mode's total; returns the numbers (CPU seconds)."""
    presets = sorted({p for f in figures for p in FIGURES[f].PRESETS})
    sweep_s, out = 0.0, {}
    for preset in presets:
        overrides, base, swept = ctx.grid(preset)
        kind = preset_kind(preset)
        runs, solvers, seconds = grid_cost(grid_points(base, swept), ctx.runner, kind)
        sweep_s += seconds
        out[preset] = seconds
        used = ", ".join(f"{name} {n}" for name, n in sorted(solvers.items()))
        print(f"[estimate] {preset}: {runs} runs ({used}), ~{duration(seconds)} of CPU"
              f"\n           {command_line(preset, overrides)}")
    side_s = sum(side_seconds(f, ctx.settings) for f in figures)
    total = (sweep_s + side_s) / ctx.jobs
    print(f"[estimate] mode {ctx.mode}: sweeps ~{duration(sweep_s)} of CPU, theory and spectra "
          f"~{duration(side_s)}: ~{duration(total)} on {ctx.jobs} job(s) of idle cores (cores "
          "shared with other work take longer; finished runs are skipped)", flush=True)
    return {"sweeps_cpu_s": out, "side_cpu_s": side_s, "wall_s": total}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="bbp-figures", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--smoke", action="store_true",
                      help="tiny grids (seconds); checks the pipeline, not the physics")
    size.add_argument("--quick", action="store_true",
                      help="every figure in minutes on two CPU cores: a first look")
    size.add_argument("--paper", action="store_true",
                      help="every figure in hours on two CPU cores (--estimate says how long): "
                           ">= 20 seeds per point, N up to 2000 where a figure has several N")
    parser.add_argument("--only", nargs="+", choices=list(FIGURES), default=list(FIGURES),
                        metavar="FIG", help=f"figures to make (default: all): {', '.join(FIGURES)}")
    parser.add_argument("--jobs", type=positive_int, default=os.cpu_count() or 1,
                        help="parallel jobs, one thread each, >= 1 (default: all cores)")
    parser.add_argument("--out", default=DEFAULT_OUT,
                        help=f"output folder (default: {DEFAULT_OUT} in the current folder)")
    parser.add_argument("--runner", choices=("auto", "cli", "inprocess"), default="auto",
                        help="cli: bbp -m sweeps (the full mode's); inprocess: the job runner "
                             "in a pool (the other modes')")
    parser.add_argument("--launcher", choices=("local", "slurm"), default="local",
                        help="slurm: hand every sweep to the SLURM launcher (cli runner)")
    parser.add_argument("--launcher-override", action="append", default=[], metavar="KEY=VALUE",
                        help="a Hydra override added to every sweep, e.g. "
                             "hydra.launcher.partition=cpu (repeatable)")
    parser.add_argument("--runs", default=None,
                        help="folder of the sweeps (default: outputs/multirun for the cli "
                             "runner, OUT/runs/MODE for inprocess)")
    parser.add_argument("--no-run", action="store_true",
                        help="run no simulation; plot the records that exist, else the tables "
                             "of an earlier invocation (OUT/tables/)")
    parser.add_argument("--estimate", action="store_true",
                        help="print the runs, solvers and a time estimate, and stop")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    mode = ("smoke" if args.smoke else "quick" if args.quick else "paper" if args.paper
            else "full")
    start = time.time()
    timings = {}
    figures = [key for key in FIGURES if key in args.only]
    saver = plots.FigureSaver(args.out, dpi=MODES[mode]["dpi"])
    with make_executor(args.jobs) as executor, saver:
        ctx = Context(mode, args.out, executor, saver, runner=args.runner, runs=args.runs,
                      jobs=args.jobs, run=not args.no_run, launcher=args.launcher,
                      launcher_overrides=tuple(args.launcher_override))
        print(f"bbp-figures: mode={ctx.mode} runner={ctx.runner} launcher={ctx.launcher} "
              f"jobs={ctx.jobs} out={ctx.out}", flush=True)
        if ctx.run or args.estimate:
            ctx.summary["estimate"] = estimate(ctx, figures)
        if args.estimate:
            return 0
        failed = {}
        for key in figures:
            t0 = time.time()
            try:
                ctx.summary[key] = FIGURES[key].draw(ctx)
            except Exception as err:  # one figure's failure does not cost the others
                traceback.print_exc()
                failed[key] = f"{type(err).__name__}: {err}"
                print(f"[{key}] FAILED after {time.time() - t0:.1f}s: {failed[key]} (its finished "
                      f"runs are kept; redraw with --only {key} --no-run)", flush=True)
                continue
            timings[key] = time.time() - t0
            print(f"[{key}] done in {timings[key]:.1f}s", flush=True)
        ctx.summary["timings_s"] = timings
        ctx.summary["total_s"] = time.time() - start
        summary_path = ctx.out / f"summary_{ctx.mode}.json"
        merge_summary(summary_path, ctx.summary, figures, timings, failed, FIGURES)
    print(f"figures: {', '.join(str(p) for p in saver.saved if p.suffix == '.png')}")
    print(f"summary: {summary_path}; tensorboard --logdir {ctx.out / 'tensorboard'}")
    print(f"total {time.time() - start:.1f}s")
    if failed:
        print(f"bbp-figures: {len(failed)} of {len(figures)} figures failed: "
              f"{', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def entry() -> None:  # pragma: no cover - console script
    sys.exit(main())


if __name__ == "__main__":
    entry()
