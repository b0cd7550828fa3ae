"""Success probability of gradient descent vs alpha, random vs spectral start (issue 6).

    python scripts/fig_training.py                          # reads outputs/multirun/train_success
    python scripts/fig_training.py SWEEP_DIR [SWEEP_DIR ...]
    python scripts/fig_training.py --quick                  # runs a small grid itself (~1-2 min)

The data come from ``bbp-train -m +experiment=train_success``; the same figure is
``bbp-figures --only extra_training_success`` in every mode. ``--quick`` runs preset
``train_success`` with the quick mode's overrides (bbp_torch/figures/extra_training_success.py,
``QUICK_OVERRIDES``) in this process through the job runner, one record per run under
``outputs/multirun/fig_training_quick/`` (a sweep folder, so ``bbp-collect`` counts it; finished
runs are skipped), then draws it. Figures: ``outputs/figures/fig_training[_quick].png``, ``.pdf``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bbp_torch import plots
from bbp_torch.figures import extra_training_success as training
from bbp_torch.results import load_table

PROJECT_ROOT = Path(__file__).resolve().parent.parent  # the checkout (its outputs/)
DEFAULT_SWEEP = PROJECT_ROOT / "outputs" / "multirun" / "train_success"


def main(argv=None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="*", help="sweep folders holding record.json files")
    parser.add_argument("--quick", action="store_true", help="run a small grid, then draw it")
    parser.add_argument("--out", default=str(PROJECT_ROOT / "outputs" / "figures"))
    parser.add_argument("--runs", default=str(PROJECT_ROOT / "outputs" / "multirun"),
                        help="where --quick writes its records")
    args = parser.parse_args(argv)
    if args.quick:
        dirs = [training.run_quick(args.runs)] + [Path(d) for d in args.dirs]
        name = training.QUICK_NAME
    else:
        dirs = [Path(d) for d in args.dirs] or [DEFAULT_SWEEP]
        name = "fig_training"
    table = load_table(dirs)
    if not len(table) or "metrics.success" not in table:
        raise SystemExit(f"No training records under {', '.join(map(str, dirs))}: run "
                         "bbp-train -m +experiment=train_success first, or use --quick.")
    with plots.FigureSaver(args.out, tensorboard=False) as saver:
        paths = training.draw_table(table, saver, name)
    for path in paths:
        print(f"wrote {path}")
    return paths


if __name__ == "__main__":
    main()
