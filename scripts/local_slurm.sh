#!/usr/bin/env bash
# A single-node SLURM cluster on this machine, to try (and test) `hydra/launcher=slurm`.
#
#   sudo scripts/local_slurm.sh start    # install slurm-wlm and munge when missing, start, wait
#   scripts/local_slurm.sh status        # the daemons and what sinfo reports
#   sudo scripts/local_slurm.sh stop     # cancel its jobs, end the daemons it started
#
# `start` installs Debian's slurm-wlm and munge with apt-get when they are missing, writes
# /etc/slurm/slurm.conf for this host (its name, cores and memory as slurmd detects them; one
# partition `local`; no accounting) and starts munged, slurmctld and slurmd, then waits until the
# node is idle. Running it again changes nothing. `stop` ends only the daemons that `start`
# started, by their pid files in the state folder. It needs root (apt-get, the daemons). It
# refuses to replace a slurm.conf it did not write, so it never touches a real cluster's setup.
#
# Environment: LOCAL_SLURM_DIR (state, spool, logs, pid files; default /var/lib/local-slurm),
# LOCAL_SLURM_WAIT (seconds to wait for the node, default 60).
set -euo pipefail

STATE=${LOCAL_SLURM_DIR:-/var/lib/local-slurm}
WAIT=${LOCAL_SLURM_WAIT:-60}
CONF_DIR=/etc/slurm
CONF=$CONF_DIR/slurm.conf
MARK="# Written by scripts/local_slurm.sh (a single-node test cluster)."
PARTITION=local
MUNGE_KEY=/etc/munge/munge.key

say() { echo "local_slurm: $*"; }
die() { echo "local_slurm: $*" >&2; exit 1; }

need_root() {
  [ "$(id -u)" -eq 0 ] || die "$1 needs root (apt-get and the daemons): run it with sudo."
}

# The pid in a pid file, when that process is alive; empty otherwise.
live_pid() {
  local file=$1 pid
  [ -s "$file" ] || return 0
  pid=$(tr -dc '0-9' <"$file")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    echo "$pid"
  fi
}

install_packages() {
  local missing=()
  command -v munged >/dev/null || missing+=(munge)
  command -v slurmctld >/dev/null && command -v slurmd >/dev/null &&
    command -v sbatch >/dev/null || missing+=(slurm-wlm)
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

write_conf() {
  local node host cpus
  host=$(hostname -s)
  # slurmd -C prints this node as slurmd sees it: NodeName=... CPUs=... RealMemory=...
  node=$(slurmd -C | head -n 1)
  cpus=$(sed -n 's/.* CPUs=\([0-9]*\).*/\1/p' <<<"$node")
  if [ -f "$CONF" ] && ! grep -qF "$MARK" "$CONF"; then
    die "$CONF exists and was not written by this script (a real cluster's?); not replacing it."
  fi
  mkdir -p "$CONF_DIR" "$STATE/slurmctld" "$STATE/slurmd"
  cat >"$CONF.new" <<EOF
$MARK
# Node $host: $cpus CPUs. Remove this file (with the daemons stopped) to undo.
ClusterName=local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/slurmctld
SlurmdSpoolDir=$STATE/slurmd
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MpiDefault=none
ReturnToService=2
KillWait=5
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=$PARTITION Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  mv "$CONF.new" "$CONF"
}

start_munge() {
  if [ -n "$(live_pid "$STATE/munged.pid")" ]; then
    return 0
  fi
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    say "munged is already running (not started here; stop leaves it alone)"
    return 0
  fi
  if [ ! -s "$MUNGE_KEY" ]; then
    mkdir -p "$(dirname "$MUNGE_KEY")"
    dd if=/dev/urandom of="$MUNGE_KEY" bs=1024 count=1 status=none
  fi
  chown munge:munge "$MUNGE_KEY" /etc/munge
  chmod 400 "$MUNGE_KEY"
  mkdir -p /run/munge /var/lib/munge /var/log/munge
  chown munge:munge /run/munge /var/lib/munge /var/log/munge
  touch "$STATE/munged.pid"
  chown munge:munge "$STATE/munged.pid"
  runuser -u munge -- munged --pid-file="$STATE/munged.pid"
}

start_daemon() {  # slurmctld | slurmd: each writes its own pid file (see slurm.conf)
  local name=$1
  if [ -n "$(live_pid "$STATE/$name.pid")" ]; then
    return 0
  fi
  "$name"
}

node_state() {
  sinfo --noheader --nodes="$(hostname -s)" --format=%t 2>/dev/null | head -n 1
}

wait_idle() {
  local state="" waited=0
  while [ "$waited" -lt "$WAIT" ]; do
    state=$(node_state)
    case $state in
      idle | mix | alloc) return 0 ;;
      down* | drain* | drng*)
        scontrol update nodename="$(hostname -s)" state=resume 2>/dev/null || true ;;
    esac
    sleep 1
    waited=$((waited + 1))
  done
  die "the node is not idle after ${WAIT}s (state: ${state:-none}); see $STATE/*.log"
}

start() {
  need_root start
  mkdir -p "$STATE"
  install_packages
  if [ -z "$(live_pid "$STATE/slurmctld.pid")" ] && [ -z "$(live_pid "$STATE/slurmd.pid")" ]; then
    write_conf
  fi
  start_munge
  start_daemon slurmctld
  start_daemon slurmd
  wait_idle
  say "running: $(sinfo --noheader --format='partition %P, node %N: %c CPUs, %m MB, %t')"
}

stop_pid_file() {
  local name=$1 file=$STATE/$1.pid pid tries=0
  pid=$(live_pid "$file")
  if [ -n "$pid" ]; then
    kill "$pid"
    while kill -0 "$pid" 2>/dev/null && [ "$tries" -lt 50 ]; do
      sleep 0.2
      tries=$((tries + 1))
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    say "stopped $name (pid $pid)"
  fi
  rm -f "$file"
}

stop() {
  need_root stop
  local jobs tries=0
  if [ -n "$(live_pid "$STATE/slurmctld.pid")" ]; then
    # End this cluster's jobs first, so that no job's processes outlive the daemons.
    jobs=$(squeue --noheader --format=%A 2>/dev/null || true)
    if [ -n "$jobs" ]; then
      # shellcheck disable=SC2086  # one job id per word
      scancel $jobs 2>/dev/null || true
      while [ -n "$(squeue --noheader --format=%A 2>/dev/null)" ] && [ "$tries" -lt 30 ]; do
        sleep 0.5
        tries=$((tries + 1))
      done
    fi
  fi
  stop_pid_file slurmd
  stop_pid_file slurmctld
  stop_pid_file munged
}

status() {
  local name pid code=0
  for name in munged slurmctld slurmd; do
    pid=$(live_pid "$STATE/$name.pid")
    if [ -n "$pid" ]; then
      say "$name running (pid $pid)"
    else
      say "$name not running (no live pid file in $STATE)"
      [ "$name" = munged ] || code=3
    fi
  done
  if [ "$code" -eq 0 ]; then
    sinfo
  fi
  return "$code"
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
