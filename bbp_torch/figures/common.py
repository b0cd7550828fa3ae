"""What the figures share: the parameters, the modes, the :class:`Context` of one invocation and
the per-point estimates read from a table of records.

A figure's ``compute`` reads its simulations through ``ctx.table(preset)`` (run first unless
``run=False``, with the mode's overrides of that preset) and maps theory and spectra over
``ctx.map`` (the process pool); ``ctx.result`` writes its Result to ``tables/`` (or reads it
back for ``--no-run``) and its ``plot`` saves through ``ctx.saver``.

Modes (``MODES``, read from ``conf/figure_modes/<mode>.yaml``): every preset in
``conf/experiment/`` is the *full* recipe (cluster scale); ``paper``, ``quick`` and ``smoke`` run
the same presets on smaller grids, given there as command-line overrides
(``MODES[mode]["overrides"][preset]``), so that each mode is also one
``bbp -m +experiment=<preset> KEY=VALUES ...`` command (:func:`command_line`).
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
from dataclasses import asdict
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

from bbp_torch.config import CONFIG_DIR
from bbp_torch.estimators import (
    ALPHA0_WINDOW,
    CROSSING_LEVEL,
    bootstrap,
    crossing_alpha,
    fit_alpha0,
)
from bbp_torch.figures.executors import run_cli, run_inprocess
from bbp_torch.figures.grids import filter_to_grid, preset_grid, preset_kind
from bbp_torch.results import RECORD_NAME, load_table, write_json_atomic

# The paper's parameters, and ours where the paper's are not known (docs/figures.md).
P, P_STAR = 2, 1  # Fig. 1 (and the extra figures): p = 2, p* = 1
A_CONT, A_DISC = 0.7, 1.5  # p = 2: a continuous and a discontinuous transition (Fig. 1)
A1_CONT, A1_DISC = 0.5, 2.0  # p = p* = 1 (Figs. 3, 9, 10; p = 1 switches type at a = 1.109)
INSET_A = (0.3, 0.7, 1.5)  # the three a of the insets of Figs. 2 and 6
MODES_DIR = Path(CONFIG_DIR) / "figure_modes"


def load_modes(folder: Path = MODES_DIR) -> dict[str, dict]:
    """Every mode of ``folder`` (``conf/figure_modes/<mode>.yaml``), by name, as plain dicts."""
    return {path.stem: OmegaConf.to_container(OmegaConf.load(path))
            for path in sorted(Path(folder).glob("*.yaml"))}


MODES = load_modes()


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
    (``<out>/tables/<preset>.csv.gz``), and a figure without records is drawn from its
    ``<out>/tables/<NAME>.json`` (:meth:`result`). ``summary`` collects what the invocation
    writes to ``summary_<mode>.json``.
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

    def has_records(self, preset: str) -> bool:
        """Whether ``preset``'s sweep folder holds a record."""
        folder = self.runs_root / preset
        return folder.is_dir() and next(folder.rglob(RECORD_NAME), None) is not None

    def result(self, name: str, compute, result_type: type, presets=()):
        """Figure ``name``'s ``result_type`` (a dataclass: the numbers it draws): ``compute(self)``,
        written with the mode to ``<out>/tables/<name>.json`` (NaN and infinities kept). With
        ``run=False`` and no record of any of ``presets`` (a theory figure: none to have), the
        result that file holds for this mode is drawn again instead, when there is one."""
        path = self.out / "tables" / f"{name}.json"
        if not self.run and path.exists() and not any(map(self.has_records, presets)):
            saved = json.loads(path.read_text())
            try:
                if saved.get("mode") == self.mode:
                    result = result_type(**saved["result"])
                    print(f"[{name}] drawn from {path}", flush=True)
                    return result
            except TypeError as err:  # written by another version of the figure
                print(f"[{name}] {path} does not fit its Result ({err}): computed again",
                      flush=True)
        result = compute(self)
        write_json_atomic(path, {"mode": self.mode, "result": asdict(result)}, finite=False)
        return result

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


def estimates_by_a_p(table, n_boot: int) -> dict[tuple[float, int], dict]:
    """:func:`estimates` of every ``(a, p)`` of ``table`` (the records of an alpha_0 preset: one
    N, several a and p), a and then p ascending."""
    a_values = sorted(float(a) for a in table["config.problem.a"].unique())
    ps = sorted(int(p) for p in table["config.problem.p"].unique())
    return {(a, p): estimates(table, {"config.problem.a": a, "config.problem.p": p}, n_boot)
            for a in a_values for p in ps}
