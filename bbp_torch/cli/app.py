"""The Hydra plumbing of ``bbp`` and ``bbp-train``: help, the command-line check, the job
function, sweep accounting and exit codes.

:func:`run_command` runs one command line and returns what it did (:class:`CommandOutcome`:
the exit code, a single run's outcome, a sweep's counts):

1. ``--help``: the command's own help (its purpose, its groups, its presets, every field).
2. The overrides are checked against the app's schema (unknown keys, ``+key=`` included, wrong
   types, non-finite numbers, values outside a field's range, every value of a sweep), before
   Hydra composes anything: a refusal exits 2 and leaves nothing on disk.
3. Hydra composes and runs the job(s); each job is :func:`bbp_torch.jobs.run_job`. Before
   Hydra makes a folder, :class:`SweepAccounting` checks a single run as its job will
   (:func:`bbp_torch.jobs.preflight`) and a sweep's folders, so a refusal leaves nothing. A
   sweep registers its runs with :func:`bbp_torch.sweeps.register_sweep` when it starts and
   ends with the line ``[sweep] N ok, N failed, N unconverged`` (after Ctrl-C too).

Exit codes: 0 when every run is ok (or was already finished); 1 when a run failed or did not
converge; 2 when the input was refused (Hydra's own composition errors included); 130 when
interrupted (Ctrl-C).

Nothing outlives a call, and ``sys.argv`` is left alone (Hydra reads the command line given).
Hydra builds the callbacks from the config by name, so they reach the command line's
:class:`_Invocation` through a context variable that :func:`run_command` sets for the call only.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import MISSING, dataclass
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from bbp_torch.config import (
    CONFIG_DIR,
    FIELDS,
    GROUP_OPTIONS,
    ConfigError,
    check_field,
    register_configs,
    schema_fields,
)
from bbp_torch.jobs import Outcome, job_kind, preflight, run_job
from bbp_torch.results import find_records, folder_problem
from bbp_torch.slurm import prepare_sweep, submits_to_slurm
from bbp_torch.sweeps import (
    SWEEP_FILE,
    SWEEP_LOG,
    progress_line,
    register_sweep,
    seed_folders,
    sweep_outcome,
    sweep_run_names,
)

register_configs()

# Groups that select a config (``solver=iterative``), not fields.
SELECTORS = ("solver", "hessian", "experiment")


@dataclass(frozen=True)
class App:
    """One Hydra command: its name, primary config, purpose and examples."""

    name: str  # the command, also the job kind: bbp | bbp-train
    config_name: str  # conf/<config_name>.yaml
    purpose: str
    examples: tuple[str, ...]

    @property
    def schema(self) -> type:
        return job_kind(self.name).schema

    def run(self, argv: list[str] | None = None) -> CommandOutcome:
        """Run one command line (default ``sys.argv[1:]``); returns what it did."""
        return run_command(self, argv)

    def main(self, argv: list[str] | None = None) -> int:
        """Run one command line (default ``sys.argv[1:]``); returns the exit code."""
        return self.run(argv).exit_code

    def entry(self) -> None:  # pragma: no cover - console script
        """The console script: run ``sys.argv`` and exit with its code."""
        from bbp_torch.cli import exit_with

        exit_with(self.main)


@dataclass(frozen=True)
class SweepResult:
    """A sweep's folder, its run names and their counts (:func:`bbp_torch.sweeps.sweep_outcome`)."""

    folder: Path
    names: list[str]
    counts: dict


@dataclass(frozen=True)
class CommandOutcome:
    """What one command line did: its exit code; a single run's :class:`~bbp_torch.jobs.Outcome`
    (its record) when it ran in this process; a sweep's :class:`SweepResult` once counted."""

    exit_code: int
    run: Outcome | None = None
    sweep: SweepResult | None = None


@dataclass
class _Invocation:
    """What the main process learns while Hydra runs one command line (one per call)."""

    app: str  # the command (and job kind) running
    started: bool = False  # a job or a sweep began: Hydra accepted the command line
    run: Outcome | None = None  # a single run's outcome
    sweep: tuple[Path, list[str]] | None = None  # (folder, run names) of a sweep begun
    counted: SweepResult | None = None  # the sweep's counts, once its [sweep] line is printed
    exit_code: int = 0

    def account(self) -> int:
        """Print the sweep's ``[sweep]`` line (once) and return its exit code."""
        if self.counted is None:
            self.counted, code = count_sweep(*self.sweep)
            self.exit_code = code
        return self.exit_code


_INVOCATION: ContextVar[_Invocation | None] = ContextVar("bbp_invocation", default=None)


@contextmanager
def _invocation(app: str):
    """The command line's :class:`_Invocation`, visible to the job and the callbacks for the
    body only."""
    state = _Invocation(app)
    token = _INVOCATION.set(state)
    try:
        yield state
    finally:
        _INVOCATION.reset(token)


def _current(config: DictConfig) -> _Invocation:
    """The running command line's :class:`_Invocation` (a throwaway one when Hydra runs the
    callbacks outside :func:`run_command`)."""
    return _INVOCATION.get() or _Invocation(str(config.hydra.job.name))


# ----------------------------------------------------------------------------- help


def _field_type(f) -> tuple[str, bool]:
    """``(int | float | str | bool, optional)`` of a schema field (annotations are strings)."""
    text = str(f.type)
    return text.replace(" | None", "").replace("None | ", ""), "None" in text


def _default(f):
    return f.default_factory() if f.default_factory is not MISSING else f.default


def presets(schema: type) -> dict[str, str]:
    """``{name: one-line description}`` of this app's presets in ``conf/experiment/``.

    A preset belongs to ``bbp-train`` when it sets the ``train`` group, to ``bbp`` otherwise
    (its keys must be fields of the schema); its description is its first comment line.
    """
    from bbp_torch.config import TrainRunConfig

    top = {name.split(".")[0] for name, _ in schema_fields(schema)}
    training = issubclass(schema, TrainRunConfig)
    out = {}
    for path in sorted((Path(CONFIG_DIR) / "experiment").glob("*.yaml")):
        keys = set(OmegaConf.load(path).keys()) - {"hydra", "defaults"}
        if keys <= top and ("train" in keys) == training:
            lines = [line[1:].strip() for line in path.read_text().splitlines()
                     if line.startswith("#") and "@package" not in line]
            out[path.stem] = lines[0] if lines else ""
    return out


def help_text(app: App) -> str:
    """The command's help: purpose, usage, groups, presets, fields, exit codes."""
    lines = [f"{app.name}: {app.purpose}", "", "Usage:"]
    lines += [f"  {example}" for example in app.examples]
    lines += ["", "Groups (GROUP=OPTION):"]
    for group, options in GROUP_OPTIONS.items():
        lines.append(f"  {group}={'|'.join(options)}  (default {next(iter(options))})")
    lines.append("  hydra/launcher=local|slurm  (sweeps: this machine, or SLURM via submitit)")
    lines += ["", "Experiment presets (-m +experiment=NAME):"]
    found = presets(app.schema)
    width = max((len(n) for n in found), default=0)
    lines += [f"  {name:<{width}}  {text}" for name, text in found.items()] or ["  (none)"]
    lines += ["", "Fields (KEY=VALUE; the default after '='):"]
    for name, f in schema_fields(app.schema):
        default = _default(f)
        shown = "null" if default is None else str(default).lower() if isinstance(
            default, bool) else default
        lines.append(f"  {name + '=' + str(shown):<30} {FIELDS[name].doc}")
    lines += ["", "Exit codes: 0 every run ok (or already finished); 1 a run failed or did not "
              "converge; 2 the input was refused.",
              f"Hydra's own options (--cfg job, --info, ...): {app.name} --hydra-help"]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- the check


def _check_value(name: str, value, type_name: str, optional: bool) -> None:
    if value is None:
        if not optional:
            raise ConfigError(f"Invalid {name}=null: this field needs a value. "
                              f"{FIELDS[name].fix}".rstrip())
        return
    ok = {"int": isinstance(value, int) and not isinstance(value, bool),
          "float": isinstance(value, (int, float)) and not isinstance(value, bool),
          "bool": isinstance(value, bool),
          "str": isinstance(value, (str, int, float)) and not isinstance(value, bool)}
    if not ok.get(type_name, True):
        word = {"int": "an integer", "float": "a number", "bool": "true or false",
                "str": "a string"}[type_name]
        raise ConfigError(f"Invalid {name}={value!r}: must be {word}. "
                          f"{FIELDS[name].fix}".rstrip())
    check_field(name, float(value) if type_name == "float" else value)


def _check_selection(app: App, group: str, override) -> None:
    """``solver=...``, ``hessian=...``, ``+experiment=...``: the option must exist (for this
    app: a preset of bbp-train is refused by bbp and the other way round)."""
    options = list(presets(app.schema)) if group == "experiment" else list(GROUP_OPTIONS[group])
    values = (list(override.sweep_iterator()) if override.is_sweep_override()
              and override.is_discrete_sweep() else [override.value()])
    for value in values:
        if value not in options:
            raise ConfigError(f"Unknown option {group}={value}: {app.name} has "
                              f"{', '.join(options) or 'none'}. {app.name} --help describes "
                              "each.")


def check_overrides(app: App, overrides: list[str]) -> None:
    """Refuse unknown keys and bad values on the command line (every value of a sweep)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    known = dict(schema_fields(app.schema))
    other = job_kind("bbp-train" if app.name == "bbp" else "bbp").schema
    parser = OverridesParser.create()
    other_sweeper = any(text.lstrip("+").startswith("hydra/sweeper=") for text in overrides)
    for text in overrides:
        try:
            (override,) = parser.parse_overrides([text])
        except OverrideParseException as err:
            raise ConfigError(f"Cannot read the override {text!r}: {err}. Write key=value, "
                              "key=a,b,c for a sweep (with -m).") from None
        key = override.key_or_group
        if key.startswith("hydra"):
            continue
        if key in SELECTORS:
            _check_selection(app, key, override)
            continue
        if key not in known:
            hint = (f"it is a field of {'bbp-train' if app.name == 'bbp' else 'bbp'}, not of "
                    f"{app.name}" if key in dict(schema_fields(other)) else
                    f"{app.name} --help lists every field")
            raise ConfigError(f"Unknown field {key} in {text!r}: {hint}.")
        if override.is_delete():
            raise ConfigError(f"Cannot delete {key} ({text!r}): every field has a value; set "
                              f"{key}=... instead.")
        type_name, optional = _field_type(known[key])
        if override.is_sweep_override():
            if not override.is_discrete_sweep():
                if other_sweeper:
                    continue  # a sampling sweeper's; the job checks the values it draws
                raise ConfigError(f"Cannot sweep {text!r}: the default sweeper runs lists of "
                                  f"values, not an interval; write {key}=a,b,c or "
                                  f"'{key}=range(start,stop,step)' (with -m).")
            values = list(override.sweep_iterator())
        else:
            values = [override.value()]
        for value in values:
            _check_value(key, value, type_name, optional)


# ----------------------------------------------------------------------------- Hydra


@dataclass(frozen=True)
class _Job:
    """The task function Hydra runs for each job (a plain object: a launcher may pickle it to a
    worker process, where no command line is running)."""

    app: str

    def __call__(self, cfg: DictConfig) -> int:
        state = _INVOCATION.get() or _Invocation(self.app)
        state.started = True
        hc = HydraConfig.get()
        run_dir = Path(hc.runtime.output_dir)
        multirun = hc.mode == RunMode.MULTIRUN
        outcome = run_job(job_kind(self.app), cfg, run_dir, in_sweep=multirun,
                          seed_dir=seed_folders(hc) if multirun else None)
        if multirun:
            print(progress_line(hc.sweep.dir), flush=True)
        else:
            state.run, state.exit_code = outcome, outcome.exit_code
        return outcome.exit_code


class SweepAccounting(Callback):
    """Checks a run or a sweep before Hydra makes its folders (a refusal raises SystemExit
    with the exit code, and leaves nothing); registers a sweep's runs when it starts and
    counts their records when it ends."""

    def on_run_start(self, config: DictConfig, **kwargs) -> None:
        """A single run: the job's own checks (:func:`bbp_torch.jobs.preflight`), before Hydra
        makes the run folder, so that a refused config or folder leaves no empty folders."""
        checked = preflight(job_kind(_current(config).app), config,
                            Path(config.hydra.run.dir))
        if isinstance(checked, Outcome):
            raise SystemExit(checked.exit_code)

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        state = _current(config)
        state.started = True
        sweep_dir = Path(config.hydra.sweep.dir)
        names = sweep_run_names(config)
        state.sweep = (sweep_dir, names)
        problem = folder_problem(sweep_dir, files=(SWEEP_LOG, SWEEP_FILE)) or next(
            (p for p in (folder_problem(sweep_dir / name) for name in names) if p), None)
        if problem:
            counts = sweep_outcome(sweep_dir, names)
            if names and counts["ok"] + counts["unconverged"] == len(names):
                print(f"{state.app}: {problem}; every run of the sweep has finished:",
                      file=sys.stderr, flush=True)
                raise SystemExit(state.account())
            state.sweep = None
            print(f"{state.app}: configuration error. Cannot write the sweep's folders: "
                  f"{problem}. Make the folder writable or write elsewhere (name=... or "
                  "hydra.sweep.dir=...); a run folder is named by the overrides, so a name too "
                  "long needs fewer of them (a field at its default need not be set).",
                  file=sys.stderr, flush=True)
            raise SystemExit(2)
        register_sweep(sweep_dir, names, list(config.hydra.overrides.task))

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        state = _current(config)
        if state.sweep is None:  # outside run_command: Hydra's config names the sweep
            state.sweep = (Path(config.hydra.sweep.dir), sweep_run_names(config))
        state.account()


def count_sweep(sweep_dir: Path, names: list[str]) -> tuple[SweepResult, int]:
    """Count a sweep's records and print its ``[sweep] N ok, N failed, N unconverged`` line;
    returns the counts and the sweep's exit code (2: a run's config was refused, 1: a run did
    not succeed or has no record, 0: all ok)."""
    # an unknown naming (another sweeper): every run folder of the sweep's folder
    names = names or sorted(p.parent.name for p in find_records([sweep_dir]))
    counts = sweep_outcome(sweep_dir, names)
    line = (f"[sweep] {counts['ok']} ok, {counts['failed']} failed, "
            f"{counts['unconverged']} unconverged")
    if counts["unreadable"]:
        line += f", {counts['unreadable']} unreadable"
    if counts["missing"]:
        line += f", {counts['missing']} without a record (in progress elsewhere, or lost)"
    print(f"{line} ({sweep_dir}); bbp-collect {sweep_dir} for the table", flush=True)
    for why in counts["unreadable_why"][:5]:
        print(f"  unreadable: {why}", flush=True)
    result = SweepResult(Path(sweep_dir), list(names), counts)
    if counts["config"]:
        return result, 2
    if any(counts[k] for k in ("failed", "unconverged", "unreadable", "missing")):
        return result, 1
    return result, 0


def account_sweep(sweep_dir: Path, names: list[str]) -> int:
    """Print a sweep's ``[sweep]`` line (:func:`count_sweep`); returns its exit code."""
    return count_sweep(sweep_dir, names)[1]


class SweepBoard(Callback):
    """At a sweep's end, its sweep-level TensorBoard run beside its runs
    (:func:`bbp_torch.tensorboard.log_sweep`); a failure there is reported, never fatal."""

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        if not config.logging.tensorboard:
            return
        from bbp_torch.sweeps import sweep_fields
        from bbp_torch.tensorboard import log_sweep

        sweep_dir = Path(config.hydra.sweep.dir)
        try:
            out = log_sweep(sweep_dir, sweep_fields(config, job_kind(config.hydra.job.name)
                                                    .schema))
        except Exception as err:  # the runs stand without the sweep's curves
            print(f"[sweep] no sweep-level TensorBoard run ({type(err).__name__}: {err})",
                  file=sys.stderr, flush=True)
            return
        if out is not None:
            print(f"[sweep] tensorboard --logdir {sweep_dir} (the run {out.name}: each metric "
                  "against the swept parameter)", flush=True)


def _run_hydra(app: App, argv: list[str]) -> None:
    """Hydra's own main (what ``hydra.main`` runs) on ``argv``, not on ``sys.argv``."""
    from hydra._internal.utils import _run_hydra as run_hydra
    from hydra._internal.utils import get_args_parser
    from hydra.core.utils import _flush_loggers
    from hydra.main import _get_rerun_conf
    from hydra.version import setbase

    setbase("1.3")
    parser = get_args_parser()
    args = parser.parse_args(argv)
    job = _Job(app.name)
    if args.experimental_rerun is not None:
        job(_get_rerun_conf(args.experimental_rerun, args.overrides))
        _flush_loggers()
        return
    run_hydra(args=args, args_parser=parser, task_function=job, config_path=CONFIG_DIR,
              config_name=app.config_name)


def run_command(app: App, argv: list[str] | None = None) -> CommandOutcome:
    """Run one command line of ``app`` (default ``sys.argv[1:]``); returns what it did."""
    from hydra._internal.utils import get_args_parser

    argv = list(sys.argv[1:] if argv is None else argv)
    if any(arg in ("-h", "--help") for arg in argv):
        print(help_text(app))
        return CommandOutcome(0)
    args = get_args_parser().parse_args(argv)
    try:
        check_overrides(app, args.overrides)
        if submits_to_slurm(args):  # the request against sinfo, before anything is submitted
            prepare_sweep(app.config_name, args.overrides)
    except ConfigError as err:
        print(f"{app.name}: configuration error. {err}", file=sys.stderr)
        return CommandOutcome(2)
    with _invocation(app.name) as state:
        code = _hydra_exit_code(app, argv, state)
    return CommandOutcome(code, run=state.run, sweep=state.counted)


def _hydra_exit_code(app: App, argv: list[str], state: _Invocation) -> int:
    """Run Hydra on ``argv``; the exit code of what it did."""
    try:
        _run_hydra(app, argv)
    except KeyboardInterrupt:
        # Ctrl-C: what finished is recorded, and the same command resumes the rest
        print(f"{app.name}: interrupted.", file=sys.stderr, flush=True)
        if state.sweep is not None:
            state.account()
        return 130
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
        if code != 0:
            if state.sweep is not None and state.counted is None:
                # the launcher stopped the sweep (a lost or cancelled SLURM job): Hydra printed
                # why; the records still say what finished, and a rerun redoes only the rest
                print(f"{app.name}: the sweep stopped before its end; what finished:",
                      file=sys.stderr, flush=True)
                return max(1, state.account())
            return 2 if code == 1 and not state.started else code
    return state.exit_code


def main_for(app: App, argv: list[str] | None = None) -> int:
    """Run one command line of ``app``; returns the exit code."""
    return run_command(app, argv).exit_code
