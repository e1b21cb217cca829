#!/usr/bin/env bash
# The prepared GPU check (issue: paper-scale mapping on a GPU), run on a machine with a CUDA
# device from a binary built by ../shared/device/build-for-device.sh into .device/:
#   scripts/device_check.sh OUT_DIR
# It writes into OUT_DIR: gpu_check.txt (every area on cuda against the CPU), bench_*.txt (the
# benchmarks on cuda and on the CPU), ivy_map.txt (a full ivy-size latent map on cuda, timed)
# and nvidia-smi.txt. Each step has its own time limit, so one slow step cannot eat the rest.
set -uo pipefail
out=${1:?usage: scripts/device_check.sh OUT_DIR}
mkdir -p "$out"
run=.device/run.sh
nvidia-smi > "$out/nvidia-smi.txt" 2>&1
step() { # step NAME SECONDS ARGS...
  local name=$1 secs=$2; shift 2
  local t0=$(date +%s)
  timeout "$secs" "$run" "$@" > "$out/$name.txt" 2>&1
  echo "$name: exit $? after $(( $(date +%s) - t0 )) s" | tee -a "$out/summary.txt"
}
# About 12 minutes in all, inside a 15-minute device budget that also pays for the start.
step gpu_check 150 run scripts/gpu_check.rhai cuda "$out"
step bench_cuda 180 bench --device cuda samplers ad adelm latent image
step ivy_map 360 run scripts/ivy_latent_map.rhai 300 cuda "$out"
