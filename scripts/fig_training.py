"""Success probability of gradient descent vs alpha, random vs spectral start (issue 6).

    python scripts/fig_training.py                          # reads outputs/multirun/train_success
    python scripts/fig_training.py SWEEP_DIR [SWEEP_DIR ...]
    python scripts/fig_training.py --quick                  # runs a tiny sweep itself (~1-2 min)

The full data come from ``bbp-train -m +experiment=train_success``. One panel per (a, p): the
fraction of seeds whose final generalization error is below ``train.gen_tol`` (binomial error
bars) from the random start and from the spectral warm start, the mean teacher overlap ``m`` of
the bottom Hessian eigenvector at the random initialization (grey), and the N = infinity
``alpha_BBP`` at initialization (dashed; from the records, else from bbp_torch.theory).
``--quick`` runs the grid below through the Python API (``run_training``), one record per run
under ``outputs/multirun/fig_training_quick/`` (finished runs are reused), then draws it.
Figures: ``outputs/figures/fig_training[_quick].png`` and ``.pdf``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from bbp_torch import plots
from bbp_torch.results import RECORD_NAME, load_table, read_record, write_record
from bbp_torch.training import run_training, theory_at_init

ROOT = Path(__file__).resolve().parent.parent
QUICK = {
    "name": "fig_training_quick",
    "base": {"problem": {"N": 50, "p_star": 1}, "device": "cpu",
             "train": {"method": "spherical_gd", "lr": 0.1, "steps": 1500, "track_every": 100,
                       "hessian_every": 0, "n_test": 2000}},
    "p": (1, 2, 4),
    "a": (0.7,),
    "alpha": (0.5, 1.0, 2.0, 3.0, 4.0, 6.0),
    "init": ("random", "spectral"),
    "seeds": (0, 1, 2),
}


def run_quick(out_root: Path) -> Path:
    """Run the ``QUICK`` grid in-process; one ``record.json`` per run. Returns the sweep dir."""
    torch.set_num_threads(1)  # tiny problems: threads only add overhead
    sweep = out_root / QUICK["name"]
    start, done = time.perf_counter(), 0
    for p in QUICK["p"]:
        for a in QUICK["a"]:
            for alpha in QUICK["alpha"]:
                for init in QUICK["init"]:
                    for seed in QUICK["seeds"]:
                        run_dir = sweep / (f"problem.a={a},problem.alpha={alpha},problem.p={p},"
                                           f"seed={seed},train.init={init}")
                        if (run_dir / RECORD_NAME).exists() and \
                                read_record(run_dir).get("status") == "ok":
                            continue
                        cfg = {**QUICK["base"], "seed": seed,
                               "problem": {**QUICK["base"]["problem"], "p": p, "a": a,
                                           "alpha": alpha},
                               "train": {**QUICK["base"]["train"], "init": init}}
                        write_record(run_dir, run_training(cfg).record)
                        done += 1
    print(f"quick sweep: {done} runs in {time.perf_counter() - start:.0f}s into {sweep}")
    return sweep


def success_table(table):
    """Per (p, a, init, alpha): success fraction, its binomial error, count, mean m at init."""
    ok = table[table["status"] == "ok"].copy()
    ok["metrics.success"] = ok["metrics.success"].astype(float)
    keys = ["config.problem.p", "config.problem.a", "config.train.init", "config.problem.alpha"]
    grouped = ok.groupby(keys)
    out = grouped.agg(success=("metrics.success", "mean"), n=("metrics.success", "size"),
                      m_init=("metrics.init.overlap", "mean")).reset_index()
    out["err"] = np.sqrt(out["success"] * (1 - out["success"]) / out["n"])
    return out


def draw(table, saver: plots.FigureSaver, name: str):
    stats = success_table(table)
    ps = sorted(stats["config.problem.p"].unique())
    aa = sorted(stats["config.problem.a"].unique())
    p_star = int(table["config.problem.p_star"].iloc[0])
    Ns = sorted(table["config.problem.N"].unique())
    fig, axes = plots.figure(len(aa), len(ps), width=3.2, height=2.7, sharex=True, sharey=True)
    styles = {"random": {"fmt": "o-", "color": "C0", "label": "GD, random start"},
              "spectral": {"fmt": "s--", "color": "C3", "label": "GD, spectral start"}}
    for i, a in enumerate(aa):
        for j, p in enumerate(ps):
            ax = axes[i, j]
            panel = stats[(stats["config.problem.p"] == p) & (stats["config.problem.a"] == a)]
            for init, style in styles.items():
                rows = panel[panel["config.train.init"] == init].sort_values(
                    "config.problem.alpha")
                if len(rows):
                    ax.errorbar(rows["config.problem.alpha"], rows["success"], yerr=rows["err"],
                                ms=3.5, lw=1.0, capsize=2, **style)
            rows = panel.groupby("config.problem.alpha")["m_init"].mean()
            ax.plot(rows.index, rows.values, color="0.6", lw=1.0,
                    label="m of bottom eigvec at init")
            plots.vline(ax, _alpha_bbp(table, p, a, p_star), label=r"$\alpha_{BBP}$ at init")
            ax.set_title(plots.params_text(p=int(p), p_star=p_star, a=float(a)), fontsize=9)
            ax.set_ylim(-0.05, 1.05)
            if i == len(aa) - 1:
                ax.set_xlabel(r"$\alpha = M/N$")
            if j == 0:
                ax.set_ylabel("success probability")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8, frameon=False)
    seeds = int(stats["n"].max())
    fig.suptitle(f"Gradient descent from the initialization: N={','.join(map(str, Ns))}, "
                 f"up to {seeds} seeds per point", fontsize=10)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return saver.save(fig, name)


def _alpha_bbp(table, p, a, p_star) -> float | None:
    col = "metrics.theory.alpha_bbp"
    if col in table:
        rows = table[(table["config.problem.p"] == p) & (table["config.problem.a"] == a)]
        values = rows[col].dropna()
        if len(values):
            return float(values.iloc[0])
    return theory_at_init(int(p), p_star, float(a))["alpha_bbp"]  # None (no marker) on failure


def main(argv=None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="*", help="sweep folders holding record.json files")
    parser.add_argument("--quick", action="store_true", help="run a tiny sweep, then draw it")
    parser.add_argument("--out", default=str(ROOT / "outputs" / "figures"))
    parser.add_argument("--runs", default=str(ROOT / "outputs" / "multirun"),
                        help="where --quick writes its records")
    args = parser.parse_args(argv)
    if args.quick:
        dirs = [run_quick(Path(args.runs))] + [Path(d) for d in args.dirs]
        name = "fig_training_quick"
    else:
        dirs = [Path(d) for d in args.dirs] or [ROOT / "outputs" / "multirun" / "train_success"]
        name = "fig_training"
    table = load_table(dirs)
    if not len(table) or "metrics.success" not in table:
        raise SystemExit(f"No training records under {', '.join(map(str, dirs))}: run "
                         "bbp-train -m +experiment=train_success first, or use --quick.")
    with plots.FigureSaver(args.out, tensorboard=False) as saver:
        paths = draw(table, saver, name)
    for path in paths:
        print(f"wrote {path}")
    return paths


if __name__ == "__main__":
    main()
