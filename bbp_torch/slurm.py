"""Sweeps on SLURM (``hydra/launcher=slurm``, one submitit job per run): what is checked before
anything is submitted.

:func:`prepare_sweep` runs in the main process of a ``-m ... hydra/launcher=slurm`` command line,
before Hydra launches anything:

1. The launcher's request (``hydra.launcher.partition``, ``cpus_per_task`` x ``tasks_per_node``,
   ``mem_gb``, ``gpus_per_node``, ``timeout_min``, ``nodes``) is checked against what the
   cluster offers (``sinfo``, :func:`check_request`): SLURM keeps a job that no node can hold
   pending forever, so such a request is refused (:class:`~bbp_torch.config.ConfigError`, exit 2)
   with the field and the largest value that fits.
2. On a cluster that keeps no job accounting, ``sacct`` fails; submitit asks it for the state of
   every job and would print a warning at each poll and, worse, never notice a job that SLURM
   ended without a result (cancelled, preempted, out of time). There the job states are read
   from ``squeue`` instead (:func:`use_squeue_for_job_states`), which is said once.

Not checked: ``mem_per_cpu``, ``mem_per_gpu``, ``gpus_per_task``, ``cpus_per_gpu``, ``gres``,
``constraint``, ``qos`` and ``account`` (SLURM refuses a wrong one when submitting).
"""

from __future__ import annotations

import getpass
import importlib.util
import math
import shutil
import subprocess
import sys
from dataclasses import dataclass

from hydra.errors import HydraException
from omegaconf.errors import OmegaConfBaseException

from bbp_torch.config import CONFIG_DIR, ConfigError

LAUNCHER_OVERRIDE = "hydra/launcher=slurm"
# One line per node and partition: name, partition (``*`` marks the default), CPUs, memory (MB),
# generic resources (GPUs), the partition's time limit.
SINFO_FORMAT = "%N|%P|%c|%m|%G|%l"
SINFO_COMMAND = ["sinfo", "--noheader", "--Node", f"--format={SINFO_FORMAT}"]
# How often (at most, in seconds) submitit asks squeue for the states of a sweep's jobs.
SQUEUE_DELAY_S = 30


# ----------------------------------------------------------------------------- sinfo


@dataclass(frozen=True)
class Node:
    """One line of ``sinfo --Node``: a node as a member of one partition."""

    name: str
    partition: str
    default: bool  # the partition is the cluster's default
    cpus: int
    memory_mb: int
    gpus: int
    time_limit_min: float  # the partition's time limit; inf when it has none


def gpu_count(gres: str) -> int:
    """GPUs in a ``%G`` field: ``gpu:4``, ``gpu:a100:2(S:0-1),gpu:v100:2``, ``(null)``."""
    total = 0
    for item in gres.split(","):
        fields = item.split("(")[0].split(":")
        if fields[0] == "gpu" and len(fields) > 1 and fields[-1].isdigit():
            total += int(fields[-1])
    return total


def minutes(limit: str) -> float:
    """A SLURM time limit in minutes: ``infinite``, ``D-HH:MM:SS``, ``HH:MM:SS``, ``MM:SS``."""
    if not limit or not limit[0].isdigit():  # infinite, UNLIMITED, n/a
        return math.inf
    days, _, clock = limit.rpartition("-")
    parts = [int(p) for p in clock.split(":")]
    h, m, s = ([0] * (3 - len(parts)) + parts) if len(parts) > 1 else (0, parts[0], 0)
    return (int(days) if days else 0) * 1440 + h * 60 + m + s / 60


def parse_sinfo(text: str) -> list[Node]:
    """The nodes in ``sinfo --noheader --Node --format=SINFO_FORMAT`` output."""
    nodes = []
    for line in text.splitlines():
        if not line.strip():
            continue
        name, partition, cpus, memory, gres, limit = line.strip().split("|")
        nodes.append(Node(name=name, partition=partition.rstrip("*"),
                          default=partition.endswith("*"), cpus=int(cpus.rstrip("+")),
                          memory_mb=int(memory.rstrip("+")), gpus=gpu_count(gres),
                          time_limit_min=minutes(limit)))
    return nodes


def query_sinfo() -> str:
    """What ``sinfo`` reports about the cluster's nodes (refused when SLURM cannot be asked)."""
    if shutil.which("sbatch") is None or shutil.which("sinfo") is None:
        raise ConfigError(f"{LAUNCHER_OVERRIDE} submits with sbatch, and SLURM's commands are "
                          "not on PATH here: run the sweep on the cluster's login node (or try "
                          "a local SLURM: scripts/local_slurm.sh start), or drop "
                          f"{LAUNCHER_OVERRIDE} to run the sweep on this machine.")
    proc = subprocess.run(SINFO_COMMAND, capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise ConfigError(f"sinfo failed ({proc.stderr.strip() or proc.returncode}): SLURM's "
                          "controller cannot be reached from here, so nothing was submitted.")
    return proc.stdout


# ----------------------------------------------------------------------------- the check


def _where(partition: str | None, names: list[str]) -> str:
    label = "partition" if len(names) == 1 else "partitions"
    default = "the default " if partition is None else ""
    return f"{default}{label} {','.join(names)}"


def _summary(nodes: list[Node]) -> str:
    """``Partition gpu: 4 nodes, up to 64 CPUs, 500 GB, 8 GPUs a node, time limit 2880 min.``"""
    lines = []
    for partition in dict.fromkeys(n.partition for n in nodes):
        own = [n for n in nodes if n.partition == partition]
        limit = own[0].time_limit_min
        lines.append(f"Partition {partition}{' (default)' if own[0].default else ''}: "
                     f"{len({n.name for n in own})} node(s), up to {max(n.cpus for n in own)} "
                     f"CPUs, {max(n.memory_mb for n in own) // 1024} GB, "
                     f"{max(n.gpus for n in own)} GPUs a node, time limit "
                     f"{'none' if math.isinf(limit) else f'{int(limit)} min'}.")
    return " ".join(lines)


def _largest(offer: float) -> str:
    return "unlimited" if math.isinf(offer) else str(math.floor(offer))


def check_request(launcher, sinfo_text: str) -> None:
    """Refuse a launcher request (``cfg.hydra.launcher``) that no node in ``sinfo_text`` can
    hold; the message names the ``hydra.launcher.*`` field and the largest value that fits."""
    nodes = parse_sinfo(sinfo_text)
    if not nodes:
        raise ConfigError("sinfo lists no nodes: this SLURM cluster cannot run the sweep.")
    partition = launcher.get("partition")
    known = list(dict.fromkeys(n.partition for n in nodes))
    if partition is None:
        names = [n.partition for n in nodes if n.default][:1]
        if not names:
            raise ConfigError("hydra.launcher.partition=null, but this cluster has no default "
                              f"partition: set hydra.launcher.partition to one of "
                              f"{', '.join(known)}.")
    else:
        names = [p.strip() for p in str(partition).split(",")]
        unknown = [p for p in names if p not in known]
        if unknown:
            raise ConfigError(f"hydra.launcher.partition={partition}: no partition "
                              f"{', '.join(unknown)} on this cluster; it has {', '.join(known)}. "
                              f"{_summary(nodes)}")
    rows = [n for n in nodes if n.partition in names]
    where = _where(partition, names)

    tasks = int(launcher.get("tasks_per_node") or 1)
    cpus = int(launcher.get("cpus_per_task") or 1)
    # (field, requested value, what it asks for, what a node offers for that field)
    limits = [
        ("cpus_per_task", cpus, f"{cpus * tasks} CPUs on one node (cpus_per_task={cpus} x "
         f"tasks_per_node={tasks})", lambda n: n.cpus // tasks),
        ("mem_gb", launcher.get("mem_gb"), f"{launcher.get('mem_gb')} GB of memory on one node",
         lambda n: n.memory_mb // 1024),
        ("gpus_per_node", launcher.get("gpus_per_node"),
         f"{launcher.get('gpus_per_node')} GPUs on one node", lambda n: n.gpus),
        ("timeout_min", launcher.get("timeout_min"),
         f"{launcher.get('timeout_min')} minutes a job", lambda n: n.time_limit_min),
    ]
    limits = [limit for limit in limits if limit[1]]  # null or 0: nothing asked

    def fits(node: Node, but: str | None = None) -> bool:
        return all(value <= offer(node) for field, value, _, offer in limits if field != but)

    if not any(fits(n) for n in rows):
        # Name the field whose value alone keeps the jobs off the nodes that meet the others.
        for field, value, asks, offer in limits:
            others = [n for n in rows if fits(n, but=field)]
            if others:
                best = _largest(max(offer(n) for n in others))
                raise ConfigError(
                    f"hydra.launcher.{field}={value} asks for {asks}, more than any node of "
                    f"{where} offers (SLURM would refuse the jobs or keep them pending "
                    f"forever); the largest value that fits is hydra.launcher.{field}={best}. "
                    f"{_summary(rows)}")
        largest = ", ".join(f"hydra.launcher.{field}={_largest(max(offer(n) for n in rows))}"
                            for field, _, _, offer in limits)
        raise ConfigError(f"No node of {where} has all that a job asks for ("
                          f"{'; '.join(asks for _, _, asks, _ in limits)}); the largest values "
                          f"that fit, one field at a time: {largest}. {_summary(rows)}")
    wanted = int(launcher.get("nodes") or 1)
    able = len({n.name for n in rows if fits(n)})
    if wanted > able:
        raise ConfigError(f"hydra.launcher.nodes={wanted} asks for {wanted} nodes, but {where} "
                          f"has {able} that can hold such a job; the largest value that fits is "
                          f"hydra.launcher.nodes={able}. {_summary(rows)}")


# ----------------------------------------------------------------------------- job states


def accounting_error() -> str | None:
    """Why ``sacct`` cannot tell job states on this cluster, or None when it can."""
    try:
        proc = subprocess.run(["sacct", "--noheader", "--allocations", "--format=JobID",
                               "--starttime=now"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as err:
        return str(err)
    if proc.returncode != 0:
        return (proc.stderr or proc.stdout).strip() or f"exit status {proc.returncode}"
    return None


def squeue_watcher(delay_s: int = SQUEUE_DELAY_S):
    """A submitit job watcher that reads job states from ``squeue``: a job that squeue lists is
    still queued or running; one that it no longer lists has ended (a job that ended with a
    result is seen by its result file first, so one seen as ended here ended without one)."""
    from submitit.slurm.slurm import SlurmInfoWatcher

    class SqueueWatcher(SlurmInfoWatcher):
        reads_squeue = True

        def _make_command(self) -> list[str] | None:
            if not self._registered - self._finished:
                return None
            return ["squeue", "--noheader", "--array", f"--user={getpass.getuser()}",
                    "--format=%i|%T"]

        def read_info(self, string: bytes | str) -> dict[str, dict[str, str]]:
            text = string.decode() if isinstance(string, bytes) else string
            listed = dict(line.strip().split("|", 1) for line in text.splitlines() if "|" in line)
            states = {}
            for job_id in self._registered - self._finished:
                state = listed.get(job_id)
                # Pending stays pending; any other listed state (running, completing,
                # suspended, ...) is a job still in the queue.
                shown = "ENDED" if state is None else "PENDING" if state == "PENDING" \
                    else "RUNNING"
                states[job_id] = {"JobID": job_id, "State": shown}
            return states

    return SqueueWatcher(delay_s=delay_s)


def use_squeue_for_job_states() -> None:
    """On a cluster without accounting, read the states of submitit's SLURM jobs from squeue
    (in this process), and say so once."""
    from submitit.slurm.slurm import SlurmJob

    if getattr(SlurmJob.watcher, "reads_squeue", False):
        return
    reason = accounting_error()
    if reason is None:
        return
    SlurmJob.watcher = squeue_watcher()
    print(f"[slurm] this cluster keeps no job accounting (sacct: {reason}); job states are read "
          "from squeue instead.", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- entry


def submits_to_slurm(args) -> bool:
    """Whether a parsed Hydra command line (``args``) launches a sweep through SLURM."""
    overrides = [o.replace(" ", "") for o in args.overrides]
    return bool(args.multirun) and not args.cfg and not args.info and \
        LAUNCHER_OVERRIDE in overrides


def compose_launcher(config_name: str, overrides: list[str]):
    """The composed config of a command line (``hydra`` node included), its sweeps left out:
    the launcher is one for the whole sweep."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(list(overrides))
    fixed = [o.input_line for o in parsed if not o.is_sweep_override()]
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
            return compose(config_name=config_name, overrides=fixed, return_hydra_config=True)
    finally:
        GlobalHydra.instance().clear()


def prepare_sweep(config_name: str, overrides: list[str]) -> None:
    """Before a SLURM sweep is submitted: refuse a request no node can hold (ConfigError) and
    read job states from squeue where sacct cannot tell them."""
    if importlib.util.find_spec("hydra_plugins.hydra_submitit_launcher") is None:
        raise ConfigError(f"{LAUNCHER_OVERRIDE} needs the optional dependency "
                          "hydra-submitit-launcher: pip install -e '.[slurm]'.")
    try:
        cfg = compose_launcher(config_name, overrides)
    except (HydraException, OmegaConfBaseException) as err:  # e.g. hydra.launcher.<typo>=...
        raise ConfigError(f"Cannot compose the sweep: {err}") from None
    launcher = cfg.hydra.launcher
    check_request(launcher, query_sinfo())
    threads, cpus = cfg.get("threads"), launcher.get("cpus_per_task") or 1
    if threads is not None and threads != cpus:
        print(f"[slurm] threads={threads} while each job gets hydra.launcher.cpus_per_task={cpus} "
              "CPUs; threads=null makes every run use exactly the CPUs SLURM gives it.",
              file=sys.stderr, flush=True)
    use_squeue_for_job_states()


__all__ = ["Node", "check_request", "parse_sinfo", "prepare_sweep", "query_sinfo",
           "submits_to_slurm"]
