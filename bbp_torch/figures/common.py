"""What the figures share: the modes, the :class:`Context` of one invocation, the estimates.

A figure module reads its simulations through ``ctx.table(key)`` (``key``: the preset of
``MODES[mode]["presets"]``, run first unless ``run=False``), maps theory and spectra over
``ctx.map`` (the process pool) and saves through ``ctx.saver``.
"""

from __future__ import annotations

import argparse
import math
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
    PROJECT_ROOT,
    filter_to_grid,
    preset_grid,
    run_cli,
    run_inprocess,
)
from bbp_torch.results import load_table

P, P_STAR = 2, 1  # figures 1, 2 and 4 (a, b)
A_CONT, A_DISC = 0.7, 1.5  # p = 2: a continuous and a discontinuous transition

MODES = {
    "full": {
        "presets": {"fig1": "fig1_overlap", "fig3": "fig3_alpha_bbp",
                    "fig4": "fig4_finite_size"},
        "overrides": {},
        "runner": "cli",
        "fig2_N": 2000, "fig2_seeds": 10, "density_points": (160, 80),
        "fig3_p": [1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 16, 24, 32, 48, 64, 96, 128],
        "fig3_a": [0.1, 0.3, 0.7, 1.0, 1.5],
        "fig5_p": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 16, 24, 32, 48, 64, 128],
        "fig5_a": [round(0.05 * i, 2) for i in range(1, 41)],
        "n_boot": 400,
    },
    "quick": {
        "presets": {"fig1": "fig1_overlap_quick", "fig3": "fig3_alpha_bbp_quick",
                    "fig4": "fig4_finite_size_quick"},
        "overrides": {},
        "runner": "inprocess",
        "fig2_N": 500, "fig2_seeds": 4, "density_points": (70, 40),
        "fig3_p": [1, 2, 3, 4, 6, 8, 12, 16, 32, 64],
        "fig3_a": [0.1, 0.3, 0.7, 1.0, 1.5],
        "fig5_p": [1, 2, 3, 4, 6, 8, 12, 16, 32, 64],
        "fig5_a": [round(0.1 * i, 1) for i in range(1, 21)],
        "n_boot": 200,
    },
    "smoke": {  # the quick presets shrunk to seconds: for the tests, not for reading
        "presets": {"fig1": "fig1_overlap_quick", "fig3": "fig3_alpha_bbp_quick",
                    "fig4": "fig4_finite_size_quick"},
        "overrides": {
            "fig1": {"problem.N": "40,80", "problem.alpha": "0.5,1.5,2.5", "seed": "range(2)"},
            "fig3": {"problem.N": "60", "problem.p": "1,2", "problem.a": "0.7,1.5",
                     "problem.alpha": "0.3,0.9,1.5,2.1,2.7", "seed": "range(2)"},
            "fig4": {"problem.N": "40,80", "problem.alpha": "0.4,0.8,1.2,1.6,2.0,2.4",
                     "seed": "range(2)"},
        },
        "runner": "inprocess",
        "fig2_N": 60, "fig2_seeds": 1, "density_points": (12, 8),
        "fig3_p": [1, 2, 4],
        "fig3_a": [0.7, 1.5],
        "fig5_p": [1, 2, 4],
        "fig5_a": [0.5, 1.0, 1.5],
        "n_boot": 20,
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


class Context:
    """One invocation: its mode and settings, the runner, the pool, the saver, cached tables.

    ``runner``: ``auto`` (the mode's), ``cli`` or ``inprocess``. ``runs``: the folder of the
    sweeps (default ``outputs/multirun`` for ``cli``, ``<out>/runs`` for ``inprocess``).
    ``run=False``: no simulation, the records that exist are read. ``summary`` collects what
    the invocation writes to ``summary_<mode>.json``.
    """

    def __init__(self, mode: str, out: str | Path, executor, saver, *, runner: str = "auto",
                 runs: str | Path | None = None, jobs: int = 1, run: bool = True):
        self.mode = mode
        self.settings = MODES[mode]
        self.runner = self.settings["runner"] if runner == "auto" else runner
        self.out = Path(out)
        default_runs = (PROJECT_ROOT / "outputs" / "multirun" if self.runner == "cli"
                        else self.out / "runs")
        self.runs_root = Path(runs) if runs else default_runs
        self.jobs = jobs
        self.run = run
        self.executor = executor
        self.saver = saver
        self.summary: dict = {"mode": self.mode, "runner": self.runner, "jobs": self.jobs}
        self._tables: dict = {}

    def grid(self, key: str):
        """``(preset name, overrides, base, swept)`` of preset ``key`` in this mode."""
        name = self.settings["presets"][key]
        overrides = self.settings["overrides"].get(key, {})
        return name, overrides, *preset_grid(name, overrides)

    def table(self, key: str):
        """The ok records of preset ``key`` (running its sweep first unless ``run=False``)."""
        if key not in self._tables:
            name, overrides, base, swept = self.grid(key)
            folder = self.runs_root / name
            if self.run and self.runner == "cli":
                run_cli(name, overrides, folder, self.jobs)
            elif self.run:
                task = [f"+experiment={name}", *(f"{k}={v}" for k, v in overrides.items())]
                run_inprocess(self.executor, name, base, swept, self.runs_root, overrides=task)
            table = load_table([folder]) if folder.exists() else load_table([])
            self._tables[key] = filter_to_grid(table, base, swept)
            print(f"[{name}] {len(self._tables[key])} finished runs read from {folder}",
                  flush=True)
        return self._tables[key]

    def map(self, func, items) -> list:
        return list(self.executor.map(func, items))


# ----------------------------------------------------------------------------- estimates


def samples(table, mask_keys: dict, metric: str = "metrics.overlap"):
    """``(alphas, [per-seed values at each alpha])`` of the rows matching ``mask_keys``."""
    sub = table
    for key, value in mask_keys.items():
        sub = sub[np.isclose(sub[key].astype(float), value)]
    alphas = np.sort(sub["config.problem.alpha"].astype(float).unique())
    values = []
    for alpha in alphas:
        v = sub[np.isclose(sub["config.problem.alpha"].astype(float), alpha)][metric]
        values.append(v.astype(float).to_numpy())
    return alphas, values


def estimates(table, mask_keys: dict, n_boot: int) -> dict:
    """Crossing and alpha_0 estimates (with bootstrap errors over seeds) for one curve."""
    alphas, m = samples(table, mask_keys)
    m2 = [v**2 for v in m]
    if len(alphas) < 2:
        return {"crossing": math.nan, "crossing_err": math.nan, "alpha0": math.nan,
                "alpha0_err": math.nan}
    mean_m = np.array([v.mean() for v in m])
    mean_m2 = np.array([v.mean() for v in m2])

    def cross(means):
        return crossing_alpha(alphas, means, CROSSING_LEVEL)

    def alpha0(means):
        return fit_alpha0(alphas, means, ALPHA0_WINDOW)[0]

    return {"crossing": cross(mean_m), "crossing_err": bootstrap(m, cross, n_boot),
            "alpha0": alpha0(mean_m2), "alpha0_err": bootstrap(m2, alpha0, n_boot)}
