"""What the figures share: the parameters, the modes, the :class:`Context` of one invocation and
the per-point estimates read from a table of records.

A figure module reads its simulations through ``ctx.table(preset)`` (run first unless
``run=False``, with the mode's overrides of that preset), maps theory and spectra over
``ctx.map`` (the process pool) and saves through ``ctx.saver``.

Modes (``MODES``): every preset in ``conf/experiment/`` is the *full* recipe (cluster scale);
``paper``, ``quick`` and ``smoke`` run the same presets on smaller grids, given here as
command-line overrides (``MODES[mode]["overrides"][preset]``), so that each mode is also one
``bbp -m +experiment=<preset> KEY=VALUES ...`` command (:func:`command_line`).
"""

from __future__ import annotations

import argparse
import math
import shlex
from pathlib import Path

import numpy as np

from bbp_torch.estimators import (
    ALPHA0_WINDOW,
    CROSSING_LEVEL,
    bootstrap,
    crossing_alpha,
    fit_alpha0,
)
from bbp_torch.figures.runs import (
    filter_to_grid,
    preset_grid,
    preset_kind,
    run_cli,
    run_inprocess,
)
from bbp_torch.results import load_table

# The paper's parameters, and ours where the paper's are not known (docs/figures.md).
P, P_STAR = 2, 1  # Fig. 1 (and the extra figures): p = 2, p* = 1
A_CONT, A_DISC = 0.7, 1.5  # p = 2: a continuous and a discontinuous transition (Fig. 1)
A1_CONT, A1_DISC = 0.5, 2.0  # p = p* = 1 (Figs. 3, 9, 10; p = 1 switches type at a = 1.109)
INSET_A = (0.3, 0.7, 1.5)  # the three a of the insets of Figs. 2 and 6

SEEDS20 = "range(20)"
NO_THEORY = {"theory": "false"}  # smoke: the records skip the N = infinity predictions
ALPHAS_FIG1_PAPER = "0.3,0.6,0.8,1.0,1.2,1.4,1.7,2.0,2.5,3.0"
ALPHAS_FIG1_QUICK = "0.25,0.5,0.75,1.0,1.25,1.5,1.75,2.0,2.25,2.5,2.75,3.0"
ALPHAS_PHI = "0.6,0.8,1.0,1.2,1.4,1.6,1.8,2.0,2.3,2.6,3.0"
ALPHAS_ALPHA0 = "0.3,0.45,0.6,0.75,0.9,1.05,1.2,1.35,1.5,1.65,1.8,1.95,2.1,2.4,2.7"
ALPHAS_ALPHA0_PSTAR2 = "0.6,0.9,1.2,1.5,1.8,2.1,2.4,2.8,3.2,3.8,4.5,5.5,6.5,8.0"
ALPHAS_ACTIVATIONS = "0.25,0.5,0.75,1.0,1.5,2.0,3.0,4.0,6.0"
# The descents (Figs. 9-10 and the protocols beside them): the paper mode places the onset of
# recovery on a grid of 0.25 (p = 1) around the onsets measured at N = 250-1000, 4000 steps at
# most (a stalled descent stops earlier: train.plateau_tol in the presets), N = 2000 for the
# two figures of the paper and N <= 1000 for the other protocols (docs/figures.md).
ALPHAS_GD_PAPER = "1.5,2.0,2.25,2.5,2.75,3.0,3.25,3.5,3.75,4.0,4.5"
ALPHAS_GD_DISC_PAPER = "2.0,2.5,2.75,3.0,3.25,3.5,3.75,4.0,4.25,4.5,5.0"
ALPHAS_GD_P2_PAPER = "1.0,1.5,1.75,2.0,2.25,2.5,2.75,3.0,3.5,4.0"
ALPHAS_GD_QUICK = "1.5,2.0,2.5,3.0,3.5,4.0"
GD_PAPER = {"problem.N": "250,500,1000,2000", "problem.alpha": ALPHAS_GD_PAPER, "seed": "range(6)",
            "train.steps": "4000"}
GD_PROTOCOL_PAPER = {"problem.N": "250,500,1000", "problem.alpha": ALPHAS_GD_PAPER,
                     "seed": "range(4)", "train.steps": "4000"}
GD_QUICK = "1.5,2.0,2.5,3.0,3.5,4.0"
GD_PAPER = {"problem.N": "250,500,1000,2000", "problem.alpha": ALPHAS_GD_PAPER, "seed": "range(6)",
            "train.steps": "4000"}
GD_PROTOCOL_PAPER = {"problem.N": "250,500,1000", "problem.alpha": ALPHAS_GD_PAPER,
                     "seed": "range(4)", "train.steps": "4000"}
GD_QUICK = {"problem.N": "250,500", "problem.alpha": ALPHAS_GD_QUICK, "seed": "range(4)",
            "train.steps": "2000"}
GD_SMOKE = {"problem.N": "40,80", "problem.alpha": "1.0,3.0", "seed": "range(2)",
            "train.steps": "100", **NO_THEORY}
GD_PROTOCOLS = ("gd_flow_continuous", "gd_plain_continuous", "gd_p2_continuous",
                "gd_p2_discontinuous")


def _protocols(common: dict, p2_alphas: str | None = None, steps_per_lr: bool = True) -> dict:
    """The overrides of the protocol presets in one mode: ``common``, with the step budget
    scaled by 0.1 / lr (the same time as lr = 0.1) and the p = 2 grid where given."""
    lrs = {"gd_flow_continuous": 0.05, "gd_plain_continuous": 0.05}
    out = {}
    for preset in GD_PROTOCOLS:
        o = dict(common)
        if steps_per_lr and preset in lrs:
            o["train.steps"] = str(round(int(common["train.steps"]) * 0.1 / lrs[preset]))
        if p2_alphas and preset.startswith("gd_p2"):
            o["problem.alpha"] = p2_alphas
        out[preset] = o
    return out

MODES = {
    "full": {  # the presets as they are: cluster scale
        "runner": "cli",
        "dpi": 150,
        "overrides": {},
        "n_boot": 400,
        "fig2_p": [1, 2, 3, 4, 8, 16, 32], "fig2_a_points": 60, "fig7_a_points": 60,
        "inset_p": [1, 2, 3, 4, 5, 6, 8, 12, 16, 24, 32, 64], "min_xatol": 1e-4,
        "fig7_p_star": [1, 2, 3, 4],
        "curve_points": 160,
        "spectrum_N": 2000, "spectrum_seeds": 10, "density_points": (160, 80),
        "phase_p": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 16, 24, 32, 48, 64, 128],
        "phase_a": [round(0.05 * i, 2) for i in range(1, 41)],
    },
    "paper": {  # every figure in ~75 min on two idle cores: >= 20 seeds, N up to 2000
        "runner": "inprocess",
        "dpi": 150,
        "overrides": {
            "fig1_overlap": {"problem.N": "250,500,1000,2000", "problem.alpha": ALPHAS_FIG1_PAPER,
                             "seed": SEEDS20},
            "fig3_phi": {"problem.N": "250,500,1000,2000", "problem.alpha": ALPHAS_PHI,
                         "seed": SEEDS20},
            "fig4_alpha0": {"problem.N": "400", "problem.p": "1,2,3,4",
                            "problem.alpha": ALPHAS_ALPHA0, "seed": SEEDS20},
            "fig6_alpha0_pstar2": {"problem.N": "300", "problem.p": "1,2,3,4",
                                   "problem.alpha": ALPHAS_ALPHA0_PSTAR2, "seed": SEEDS20},
            "fig8_sigmoid": {"problem.N": "250,500,1000,2000",
                             "problem.alpha": ALPHAS_ACTIVATIONS, "seed": SEEDS20},
            "fig8_tanh": {"problem.N": "250,500,1000,2000", "problem.alpha": ALPHAS_ACTIVATIONS,
                          "seed": SEEDS20},
            "fig9_gd_continuous": GD_PAPER,
            "fig10_gd_discontinuous": {**GD_PAPER, "problem.alpha": ALPHAS_GD_DISC_PAPER,
                                       "seed": "range(4)"},
            **_protocols(GD_PROTOCOL_PAPER, ALPHAS_GD_P2_PAPER),
            "extra_gd_hessian": {"seed": "range(4)", "train.steps": "6000"},
            "extra_finite_size": {"problem.N": "125", "problem.alpha": ALPHAS_FIG1_PAPER,
                                  "seed": SEEDS20},
            "train_success": {"problem.p": "1,2,4", "problem.a": "0.7",
                              "problem.alpha": "0.5,1,2,3,4,6", "seed": "range(6)"},
        },
        "n_boot": 300,
        "fig2_p": [1, 2, 3, 4, 8, 16], "fig2_a_points": 80, "fig7_a_points": 40,
        "inset_p": [1, 2, 3, 4, 6, 8, 12, 16, 32, 64], "min_xatol": 1e-3,
        "fig7_p_star": [1, 2, 3, 4],
        "curve_points": 120,
        "spectrum_N": 1000, "spectrum_seeds": 6, "density_points": (100, 60),
        "phase_p": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 16, 24, 32, 48, 64, 128],
        "phase_a": [round(0.05 * i, 2) for i in range(1, 41)],
    },
    "quick": {  # every figure in ~7 min on two cores: a look, not numbers to quote
        "runner": "inprocess",
        "dpi": 150,
        "overrides": {
            "fig1_overlap": {"problem.N": "250,500,1000", "problem.alpha": ALPHAS_FIG1_QUICK,
                             "seed": "range(4)"},
            "fig3_phi": {"problem.N": "250,500,1000", "problem.alpha": ALPHAS_PHI,
                         "seed": "range(12)"},
            "fig4_alpha0": {"problem.N": "200", "problem.p": "1,2,3,4",
                            "problem.alpha": ALPHAS_ALPHA0, "seed": "range(6)"},
            "fig6_alpha0_pstar2": {"problem.N": "150", "problem.p": "1,2,3,4",
                                   "problem.alpha": ALPHAS_ALPHA0_PSTAR2, "seed": "range(4)"},
            "fig8_sigmoid": {"problem.N": "250,500,1000", "problem.alpha": ALPHAS_ACTIVATIONS,
                             "seed": "range(4)"},
            "fig8_tanh": {"problem.N": "250,500,1000", "problem.alpha": ALPHAS_ACTIVATIONS,
                          "seed": "range(4)"},
            "fig9_gd_continuous": GD_QUICK,
            "fig10_gd_discontinuous": GD_QUICK,
            **_protocols({**GD_QUICK, "seed": "range(3)"}),
            "extra_gd_hessian": {"problem.N": "500", "seed": "range(2)", "train.steps": "2000"},
            "extra_finite_size": {"problem.N": "125", "problem.alpha": ALPHAS_FIG1_QUICK,
                                  "seed": "range(4)"},
            "train_success": {"problem.N": "50", "problem.p": "1,2,4", "problem.a": "0.7",
                              "problem.alpha": "0.5,1,2,3,4,6", "seed": "range(3)",
                              "train.steps": "1500", "train.n_test": "2000",
                              "logging.tensorboard": "false"},
        },
        "n_boot": 200,
        "fig2_p": [1, 2, 3, 4, 8, 16], "fig2_a_points": 14, "fig7_a_points": 14,
        "inset_p": [1, 2, 3, 4, 6, 8, 16, 32], "min_xatol": 1e-2,
        "fig7_p_star": [1, 2, 3, 4],
        "curve_points": 100,
        "spectrum_N": 500, "spectrum_seeds": 4, "density_points": (70, 40),
        "phase_p": [1, 2, 3, 4, 6, 8, 12, 16, 32, 64],
        "phase_a": [round(0.15 * i, 2) for i in range(1, 13)],
    },
    "smoke": {  # seconds, for the tests: checks the pipeline, not the physics
        "runner": "inprocess",
        "dpi": 50,
        "overrides": {
            "fig1_overlap": {"problem.N": "40,80", "problem.alpha": "0.5,1.5,2.5",
                             "seed": "range(2)", **NO_THEORY},
            "fig3_phi": {"problem.N": "40,80", "problem.alpha": "0.8,1.4,2.0,2.6",
                         "seed": "range(3)", **NO_THEORY},
            "fig4_alpha0": {"problem.N": "40", "problem.p": "1,2",
                            "problem.alpha": "0.4,0.8,1.2,1.6,2.0", "seed": "range(2)",
                            **NO_THEORY},
            "fig6_alpha0_pstar2": {"problem.N": "40", "problem.p": "1,2", "problem.a": "0.7,1.5",
                                   "problem.alpha": "1.0,2.0,3.0,4.0", "seed": "range(2)",
                                   **NO_THEORY},
            "fig8_sigmoid": {"problem.N": "40,80", "problem.alpha": "0.5,2.0,4.0",
                             "seed": "range(2)", **NO_THEORY},
            "fig8_tanh": {"problem.N": "40,80", "problem.alpha": "0.5,2.0,4.0",
                          "seed": "range(2)", **NO_THEORY},
            "fig9_gd_continuous": GD_SMOKE,
            "fig10_gd_discontinuous": GD_SMOKE,
            **_protocols(GD_SMOKE, steps_per_lr=False),
            "extra_gd_hessian": {"problem.N": "60", "seed": "range(1)", "train.steps": "200",
                                 **NO_THEORY},
            "extra_finite_size": {"problem.N": "40", "problem.alpha": "0.6,1.2,1.8",
                                  "seed": "range(2)", **NO_THEORY},
            "train_success": {"problem.N": "30", "problem.p": "1", "problem.a": "0.7",
                              "problem.alpha": "0.5,3.0", "seed": "0", "train.steps": "100",
                              "train.n_test": "500", **NO_THEORY},
        },
        "n_boot": 20,
        "fig2_p": [1, 2], "fig2_a_points": 2, "fig7_a_points": 3,
        "inset_p": [1, 2], "min_xatol": None, "fig7_p_star": [1, 2],
        "curve_points": 24,
        "spectrum_N": 60, "spectrum_seeds": 1, "density_points": (12, 8),
        "phase_p": [1, 2, 4],
        "phase_a": [0.5, 1.0, 1.5],
    },
}


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1 (else a usage error, exit status 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def command_line(preset: str, overrides: dict[str, str]) -> str:
    """The ``bbp -m +experiment=<preset> ...`` (or ``bbp-train``) command of a preset in a
    mode: the same sweep on the local launcher."""
    app = "bbp" if preset_kind(preset) == "bbp" else "bbp-train"
    words = [app, "-m", f"+experiment={preset}", *(f"{k}={v}" for k, v in overrides.items())]
    return " ".join(shlex.quote(w) for w in words)


class Context:
    """One invocation: its mode and settings, the runner, the pool, the saver, cached tables.

    ``runner``: ``auto`` (the mode's), ``cli`` or ``inprocess``. ``runs``: the folder of the
    sweeps (default ``outputs/multirun`` of the current folder for ``cli``,
    ``<out>/runs/<mode>`` for ``inprocess``). ``launcher``: ``local`` or ``slurm`` (cli runner
    only; with ``launcher_overrides`` such as ``hydra.launcher.partition=cpu``). ``run=False``:
    no simulation, the records that exist are read, else the table an earlier invocation wrote
    (``<out>/tables/<preset>.csv.gz``). ``summary`` collects what the invocation writes to
    ``summary_<mode>.json``.
    """

    def __init__(self, mode: str, out: str | Path, executor, saver, *, runner: str = "auto",
                 runs: str | Path | None = None, jobs: int = 1, run: bool = True,
                 launcher: str = "local", launcher_overrides: tuple[str, ...] = ()):
        self.mode = mode
        self.settings = MODES[mode]
        self.runner = self.settings["runner"] if runner == "auto" else runner
        if launcher == "slurm":
            self.runner = "cli"  # SLURM takes Hydra sweeps
        self.launcher = launcher
        self.launcher_overrides = tuple(launcher_overrides)
        self.out = Path(out)
        default_runs = (Path("outputs") / "multirun" if self.runner == "cli"  # as bbp -m's
                        else self.out / "runs" / mode)
        self.runs_root = Path(runs) if runs else default_runs
        self.jobs = jobs
        self.run = run
        self.executor = executor
        self.saver = saver
        self.summary: dict = {"mode": self.mode, "runner": self.runner, "jobs": self.jobs}
        self._tables: dict = {}

    def overrides(self, preset: str) -> dict[str, str]:
        return self.settings["overrides"].get(preset, {})

    def grid(self, preset: str):
        """``(overrides, base, swept)`` of ``preset`` in this mode."""
        overrides = self.overrides(preset)
        return overrides, *preset_grid(preset, overrides)

    def table(self, preset: str):
        """The ok records of ``preset``'s grid (running its sweep first unless ``run=False``;
        with ``run=False`` and no records, the table an earlier invocation wrote)."""
        if preset not in self._tables:
            overrides, base, swept = self.grid(preset)
            kind = preset_kind(preset)
            folder = self.runs_root / preset
            saved = self.out / "tables" / f"{preset}.csv.gz"
            if self.run and self.runner == "cli":
                run_cli(preset, overrides, folder, self.jobs, kind, self.launcher,
                        self.launcher_overrides)
            elif self.run:
                task = [f"+experiment={preset}", *(f"{k}={v}" for k, v in overrides.items())]
                run_inprocess(self.executor, preset, base, swept, self.runs_root, kind=kind,
                              overrides=task)
            table = load_table([folder]) if folder.exists() else load_table([])
            source = folder
            if not self.run and not len(table) and saved.exists():
                table, source = read_table(saved), saved
            self._tables[preset] = filter_to_grid(table, base, swept)
            print(f"[{preset}] {len(self._tables[preset])} finished runs read from {source}",
                  flush=True)
            if len(self._tables[preset]) and source != saved:
                write_table(self._tables[preset], saved)
        return self._tables[preset]

    def map(self, func, items) -> list:
        return list(self.executor.map(func, items))



def write_table(table, path: Path) -> Path:
    """The records a figure is drawn from, as a gzipped CSV: one row per run, the ``config.*``
    columns that are the same kind of value in every row and every scalar ``metrics.*`` column
    (no run paths, timings or lists), sorted by the swept parameters and the seed."""
    keep = [c for c in table.columns
            if (c.startswith("config.") or c.startswith("metrics.") or c == "status")
            and table[c].map(lambda v: v is None or isinstance(v, (bool, int, float, str))).all()]
    order = [c for c in ("config.problem.activation", "config.problem.p_star", "config.problem.p",
                         "config.problem.a", "config.problem.N", "config.problem.alpha",
                         "config.seed") if c in keep]
    frame = table[keep].sort_values(order, kind="stable") if order else table[keep]
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, float_format="%.10g", compression="gzip")
    return path


def read_table(path: Path):
    """A table of :func:`write_table`, as the figures read records (``pandas.read_csv``)."""
    import pandas as pd

    return pd.read_csv(path)


# ----------------------------------------------------------------------------- estimates


def select(table, mask_keys: dict):
    """The rows of ``table`` whose columns equal ``mask_keys`` (numbers compared as floats)."""
    sub = table
    for key, value in mask_keys.items():
        if isinstance(value, str):
            sub = sub[sub[key] == value]
        else:
            sub = sub[np.isclose(sub[key].astype(float), value)]
    return sub


def samples(table, mask_keys: dict, metric: str = "metrics.overlap"):
    """``(alphas, [per-seed values at each alpha])`` of the rows matching ``mask_keys``."""
    sub = select(table, mask_keys) if len(table) else table
    if not len(sub):
        return np.array([]), []
    alphas = np.sort(sub["config.problem.alpha"].astype(float).unique())
    values = []
    for alpha in alphas:
        v = sub[np.isclose(sub["config.problem.alpha"].astype(float), alpha)][metric]
        values.append(v.astype(float).to_numpy())
    return alphas, values


def mean_curve(alphas, values) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(alpha, mean, standard error)`` over seeds at each alpha."""
    mean = np.array([v.mean() for v in values])
    sem = np.array([v.std(ddof=1) / math.sqrt(len(v)) if len(v) > 1 else 0.0 for v in values])
    return np.asarray(alphas), mean, sem


def estimates(table, mask_keys: dict, n_boot: int) -> dict:
    """Crossing and alpha_0 estimates (with bootstrap errors over seeds) for one curve, and
    the points of the alpha_0 fit (``fit_alphas``)."""
    alphas, m = samples(table, mask_keys)
    nan = {"crossing": math.nan, "crossing_err": math.nan, "alpha0": math.nan,
           "alpha0_err": math.nan, "slope": math.nan, "seeds": 0}
    if len(alphas) < 2:
        return nan
    m2 = [v**2 for v in m]
    mean_m = np.array([v.mean() for v in m])
    mean_m2 = np.array([v.mean() for v in m2])

    def cross(means):
        return crossing_alpha(alphas, means, CROSSING_LEVEL)

    def alpha0(means):
        return fit_alpha0(alphas, means, ALPHA0_WINDOW)[0]

    value, slope = fit_alpha0(alphas, mean_m2, ALPHA0_WINDOW)
    return {"crossing": cross(mean_m), "crossing_err": bootstrap(m, cross, n_boot),
            "alpha0": value, "alpha0_err": bootstrap(m2, alpha0, n_boot), "slope": slope,
            "seeds": int(min(len(v) for v in m))}
