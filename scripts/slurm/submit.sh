#!/usr/bin/env bash
# Maps SCRIPT.rhai in N shards on a Slurm cluster, then merges them in a job that starts when
# every shard has succeeded.
#
#   scripts/slurm/submit.sh SCRIPT.rhai N [sbatch options...] [-- script arguments...]
#   scripts/slurm/submit.sh examples/slurm_sk.rhai 8 --gres=gpu:1 --time=2:00:00
#
# The array tasks run `telescope run SCRIPT.rhai RUN_DIR shard ARGS...`, the merge job
# `telescope run SCRIPT.rhai RUN_DIR merge ARGS...`: the script writes its shard's map under
# RUN_DIR/maps/ and, as the merge job, merges them (examples/slurm_sk.rhai shows the pattern). Array task I of N sees SHARD = #{index: I,
# count: N} and draws its default seeds from its own stream. The sbatch options (GPUs, time,
# partition, account) go to both jobs. Logs and maps go under one run folder,
# $TELESCOPE_RUNS/<date>-<pid> (TELESCOPE_RUNS defaults to ./runs), printed with the job ids.
# TELESCOPE names the binary (default: telescope on PATH, else this checkout's release build).
set -euo pipefail

if [[ $# -lt 2 ]]; then
  echo "usage: $0 SCRIPT.rhai N [sbatch options...]" >&2
  exit 2
fi
script=$1
shards=$2
shift 2
sbatch_opts=()
while [[ $# -gt 0 && "$1" != -- ]]; do sbatch_opts+=("$1"); shift; done
[[ $# -gt 0 ]] && shift
script_args=""
for a in "$@"; do script_args+=" $(printf '%q' "$a")"; done
[[ -f "$script" ]] || { echo "submit.sh: no script $script" >&2; exit 2; }
[[ "$shards" =~ ^[1-9][0-9]*$ ]] || { echo "submit.sh: N must be a positive count, got $shards" >&2; exit 2; }
command -v sbatch >/dev/null || { echo "submit.sh: sbatch not found: is this a Slurm login node?" >&2; exit 2; }

repo=$(cd "$(dirname "$0")/../.." && pwd)
telescope=${TELESCOPE:-$(command -v telescope || echo "$repo/target/release/telescope")}
[[ -x "$telescope" ]] || { echo "submit.sh: no telescope binary at $telescope (make build, or set TELESCOPE)" >&2; exit 2; }
script=$(cd "$(dirname "$script")" && pwd)/$(basename "$script")
runs=${TELESCOPE_RUNS:-$PWD/runs}
run="$runs/$(date +%Y%m%d-%H%M%S)-$$"
mkdir -p "$run/maps" "$run/logs"

# One libtorch thread per CPU Slurm gives the task.
threads='export TELESCOPE_THREADS=${SLURM_CPUS_PER_TASK:-1} OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1};'
array=$(sbatch --parsable --job-name=telescope-map --array=0-$((shards - 1)) \
  --output="$run/logs/shard-%a.log" "${sbatch_opts[@]}" \
  --wrap "$threads exec '$telescope' run '$script' '$run' shard$script_args")
array=${array%%;*}
merge=$(sbatch --parsable --job-name=telescope-merge --dependency=afterok:"$array" \
  --kill-on-invalid-dep=yes --output="$run/logs/merge.log" "${sbatch_opts[@]}" \
  --wrap "$threads exec '$telescope' run '$script' '$run' merge$script_args")
merge=${merge%%;*}
echo "run $run"
echo "shards job $array ($shards array tasks), merge job $merge (after all succeed)"
