"""The grids of the figure presets (``conf/experiment/``): a preset's kind (``bbp`` or
``bbp-train``), its grid read from its ``hydra.sweeper.params`` (command-line style overrides
take precedence, as in a Hydra multirun), the grid's points (its jobs) as a sweep names them,
the runs they write, and the rows of a table of records that belong to a grid.

A job of ``seeds = K`` (a preset's or mode's ``seed: 0`` + ``seeds: K`` instead of
``seed: range(K)``) writes K runs, one per seed, each in the folder and with the record of the
run ``seed=s`` alone (:func:`bbp_torch.sweeps.seed_job`): :func:`grid_runs` lists them."""

from __future__ import annotations

import itertools
from pathlib import Path

from bbp_torch.config import CONFIG_DIR
from bbp_torch.results import RECORD_NAME
from bbp_torch.sweeps import job_dirname, seed_job

# Config keys that identify a run in a figure table.
RUN_KEYS = ("problem.N", "problem.p", "problem.p_star", "problem.a", "problem.alpha", "seed",
            "hessian.kind", "problem.activation")
KINDS = {"bbp": ("config", "bbp_torch"), "bbp-train": ("train", "bbp_torch.cli.train")}


def preset_kind(name: str) -> str:
    """``bbp-train`` for a preset that sets the ``train`` group, else ``bbp`` (the rule of the
    commands' ``--help``)."""
    from omegaconf import OmegaConf

    preset = OmegaConf.load(Path(CONFIG_DIR) / "experiment" / f"{name}.yaml")
    return "bbp-train" if "train" in preset else "bbp"


def preset_grid(name: str, overrides: dict[str, str] | None = None,
                config_name: str | None = None) -> tuple[dict, dict]:
    """``(base, swept)`` of preset ``name``: the composed config (no ``hydra`` key) and the
    swept keys with their values, ``overrides`` (key -> override string) taking precedence.
    ``config_name``: ``config`` for ``bbp`` presets, ``train`` for ``bbp-train`` ones (default:
    from :func:`preset_kind`).
    """
    config_name = config_name or KINDS[preset_kind(name)][0]
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import OmegaConf

    from bbp_torch.config import register_configs

    register_configs()

    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
            cfg = compose(config_name=config_name, overrides=[f"+experiment={name}"],
                          return_hydra_config=True)
    finally:
        GlobalHydra.instance().clear()
    params = dict(OmegaConf.select(cfg, "hydra.sweeper.params") or {})
    params.update(overrides or {})
    lines = [f"{key}={value}" for key, value in params.items()]
    base = OmegaConf.to_container(cfg, resolve=False)
    base.pop("hydra")
    swept: dict[str, list] = {}
    for override in OverridesParser.create().parse_overrides(lines):
        key = override.get_key_element()
        if override.is_sweep_override():
            swept[key] = list(override.sweep_iterator())
        else:
            _set(base, key, override.value())
    return base, swept


def _set(cfg: dict, dotted: str, value) -> None:
    *parents, leaf = dotted.split(".")
    for part in parents:
        cfg = cfg.setdefault(part, {})
    cfg[leaf] = value


def _get(cfg: dict, dotted: str):
    for part in dotted.split("."):
        cfg = cfg[part]
    return cfg


def grid_points(base: dict, swept: dict) -> list[tuple[str, dict]]:
    """Every ``(folder name, config)`` of the grid, one per job; the folder name is Hydra's
    ``override_dirname`` of the point (``k=v,...``, sorted), as a sweep would name it (a job of
    several seeds writes its runs in the folders of :func:`job_runs` instead)."""
    return [(name, cfg) for name, cfg, _ in _jobs(base, swept)]


def _jobs(base: dict, swept: dict) -> list[tuple[str, dict, list[str]]]:
    import copy

    keys = sorted(swept)
    points = []
    for values in itertools.product(*(swept[k] for k in keys)):
        cfg = copy.deepcopy(base)
        for key, value in zip(keys, values, strict=True):
            _set(cfg, key, value)
        job = [f"{k}={v}" for k, v in zip(keys, values, strict=True)]
        points.append((job_dirname(job, ()), cfg, job))
    return points


def job_seeds(cfg: dict) -> list[int]:
    """The seeds a job's config runs: ``seed`` to ``seed + seeds - 1``."""
    seed, seeds = int(cfg.get("seed", 0)), int(cfg.get("seeds", 1))
    return list(range(seed, seed + seeds))


def job_runs(base: dict, swept: dict) -> list[tuple[str, dict, dict[int, str]]]:
    """Every job of the grid as ``(folder name, config, {seed: run folder name})``: one run in
    the job's folder for ``seeds = 1``, else the folder of each seed's run ``seed=s`` alone, as
    a Hydra sweep names it (:func:`bbp_torch.sweeps.seed_job`)."""
    out = []
    for name, cfg, job in _jobs(base, swept):
        seeds = job_seeds(cfg)
        if len(seeds) == 1:
            out.append((name, cfg, {seeds[0]: name}))
        else:
            out.append((name, cfg, {s: job_dirname(seed_job(job, s), ()) for s in seeds}))
    return out


def grid_runs(base: dict, swept: dict) -> list[tuple[str, dict]]:
    """Every ``(folder name, config)`` of the runs the grid's jobs write: a job of several
    seeds gives one run per seed, with the config of the run ``seed=s`` alone (``seeds: 1``)."""
    import copy

    runs = []
    for _, cfg, folders in job_runs(base, swept):
        for seed, folder in folders.items():
            one = copy.deepcopy(cfg)
            one["seed"], one["seeds"] = seed, 1
            runs.append((folder, one))
    return runs


def _run_key(cfg: dict) -> list:
    """The :data:`RUN_KEYS` values a grid point's record will hold: a descent's Hessian kind
    is its resolved ``train.track_hessian`` (:func:`bbp_torch.config.tracked_hessian_kind`)."""
    from bbp_torch.config import tracked_hessian_kind

    values = [_get(cfg, k) for k in RUN_KEYS]
    train = cfg.get("train")
    if train:
        values[RUN_KEYS.index("hessian.kind")] = tracked_hessian_kind(
            train.get("track_hessian", "auto"), train["method"], cfg["hessian"]["kind"])
    return values


def filter_to_grid(table, base: dict, swept: dict):
    """The ``ok`` rows of ``table`` that belong to the grid (a sweep folder may hold others),
    one per run (its :data:`RUN_KEYS` and the grid's swept fields): a run recorded in two
    folders (e.g. ``...,p=64`` by a sweep that did not sweep ``seed`` and ``...,p=64,seed=0`` by
    one that did) counts once, with its most recently written record (counted twice it would
    weigh double in every mean over seeds)."""
    if not len(table):
        return table
    import pandas as pd

    def key_of(values):
        return tuple(round(float(v), 9) if isinstance(v, (int, float)) else v for v in values)

    wanted = {key_of(_run_key(cfg)) for _, cfg in grid_runs(base, swept)}
    columns = [f"config.{k}" for k in RUN_KEYS]
    ok = table[table["status"] == "ok"]
    if ok.empty or any(c not in ok.columns for c in columns):
        return ok.iloc[0:0]
    # a run is its RUN_KEYS and the grid's swept fields (e.g. train.init: two runs of one point)
    same_run = columns + [f"config.{k}" for k in swept
                          if k not in RUN_KEYS and k != "seeds" and f"config.{k}" in ok]
    keys = pd.Series([key_of(row) for row in ok[same_run].itertuples(index=False)],
                     index=ok.index, dtype=object)
    inside = ok[[key[:len(columns)] in wanted for key in keys]]
    keys = keys[inside.index]
    if "run_dir" in inside.columns and keys.duplicated().any():  # newest record last
        written = pd.Series([_written(d) for d in inside["run_dir"]], index=inside.index)
        order = written.sort_values(kind="stable").index
        inside, keys = inside.loc[order], keys[order]
    return inside[~keys.duplicated(keep="last").to_numpy()].sort_index()


def _written(run_dir) -> float:
    """When the record of ``run_dir`` was written (its file's mtime; 0 when unknown)."""
    try:
        return (Path(str(run_dir)) / RECORD_NAME).stat().st_mtime
    except OSError:
        return 0.0

