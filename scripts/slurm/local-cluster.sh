#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for trying scripts/slurm/submit.sh and for the
# test that runs it (tests/slurm.rs). Real daemons: munged, slurmctld, slurmd.
#
#   scripts/slurm/local-cluster.sh start DIR   # install when missing, configure, start, wait
#   export SLURM_CONF=DIR/slurm.conf           # then sbatch, squeue, submit.sh use it
#   scripts/slurm/local-cluster.sh stop DIR    # stop the daemons start launched (by pid)
#
# Everything lives under DIR: slurm.conf, the munge key and socket, state, spool, logs, pids.
# Installing needs root and Debian's packages (slurmctld slurmd slurm-client munge).
set -euo pipefail

cmd=${1:-}
dir=${2:-}
if [[ -z "$cmd" || -z "$dir" ]]; then
  echo "usage: $0 start|stop DIR" >&2
  exit 2
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

stop() {
  for name in slurmd slurmctld munged; do
    local pidfile="$dir/$name.pid"
    if [[ -f "$pidfile" ]]; then
      local pid
      pid=$(cat "$pidfile")
      if kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
      fi
      rm -f "$pidfile"
    fi
  done
}

fail() {
  echo "local-cluster: $1" >&2
  for log in "$dir"/*.log; do
    [[ -f "$log" ]] && { echo "--- $log" >&2; tail -n 30 "$log" >&2; }
  done
  stop
  exit 1
}

if [[ "$cmd" == stop ]]; then
  stop
  exit 0
fi
[[ "$cmd" == start ]] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

# Install what is missing (Debian), quietly.
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
   || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  command -v apt-get >/dev/null || fail "Slurm is not installed and there is no apt-get to install it"
  [[ $(id -u) == 0 ]] || fail "Slurm is not installed; installing it needs root"
  export DEBIAN_FRONTEND=noninteractive
  pkgs="slurmctld slurmd slurm-client munge"
  apt-get install -y -q --no-install-recommends $pkgs > "$dir/apt.log" 2>&1 \
    || { apt-get update -q >> "$dir/apt.log" 2>&1 \
         && apt-get install -y -q --no-install-recommends $pkgs >> "$dir/apt.log" 2>&1; } \
    || fail "could not install $pkgs (see $dir/apt.log)"
fi

host=$(hostname -s)
cpus=$(nproc)
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2 ))
user=$(id -un)
mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
chmod 700 "$dir/munge"
# Ports of their own, so that a cluster already on this machine is left alone.
port=$(( 16817 + RANDOM % 2000 ))

head -c 1024 /dev/urandom > "$dir/munge/munge.key"
chmod 400 "$dir/munge/munge.key"
socket="$dir/munge/munge.socket"

cat > "$dir/slurm.conf" <<CONF
ClusterName=telescope-local
SlurmctldHost=$host
SlurmctldPort=$port
SlurmdPort=$(( port + 1 ))
SlurmUser=$user
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.daemon.pid
SlurmdPidFile=$dir/slurmd.daemon.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SlurmdTimeout=60
InactiveLimit=0
MinJobAge=60
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$dir/slurm.conf"

start_daemon() {
  local name=$1; shift
  "$@" > "$dir/$name.out" 2>&1 &
  echo $! > "$dir/$name.pid"
}

start_daemon munged munged --foreground --force --key-file="$dir/munge/munge.key" \
  --socket="$socket" --pid-file="$dir/munge/munged.pid" --seed-file="$dir/munge/munge.seed" \
  --log-file="$dir/munged.log"
for _ in $(seq 100); do [[ -S "$socket" ]] && break; sleep 0.1; done
[[ -S "$socket" ]] || fail "munged did not open its socket"

start_daemon slurmctld slurmctld -D -i -f "$SLURM_CONF"
start_daemon slurmd slurmd -D -f "$SLURM_CONF"

# Up when the node takes jobs: idle (or mixed) in sinfo, within 60 s.
for _ in $(seq 120); do
  for name in munged slurmctld slurmd; do
    kill -0 "$(cat "$dir/$name.pid")" 2>/dev/null || fail "$name exited"
  done
  state=$(sinfo -h -N -o '%t' 2>/dev/null | head -n 1 || true)
  if [[ "$state" == idle* || "$state" == mix* ]]; then
    echo "export SLURM_CONF=$SLURM_CONF"
    exit 0
  fi
  sleep 0.5
done
fail "the node did not come up within 60 s (sinfo: ${state:-no answer})"
