#!/usr/bin/env bash
# Runs the three size sweeps of issue 19 and draws docs/images/size_sweep.png from them: the
# tiny model's (bench/svi_size_sweep) in a double build, the BNN's and the VAE's
# (bench/bnn_size_sweep, bench/vae_size_sweep) in a float build. Builds what it runs (-j2),
# writes each sweep's JSON lines, with the load average before and after, to the output
# directory, then plots them.
#
#   bash bench/run_size_sweep.sh [double build dir (build)] [float build dir (build-float)] \
#        [output dir (size_sweep)]
#
# The float build must exist: cmake -S . -B build-float -DVESTA_SCALAR=float
# -DCMAKE_BUILD_TYPE=Release.
set -euo pipefail
cd "$(dirname "$0")/.."
double=${1:-build}
float=${2:-build-float}
out=${3:-size_sweep}
mkdir -p "$out" docs/images
cmake --build "$double" -j2 --target svi_size_sweep plot_size_sweep
cmake --build "$float" -j2 --target bnn_size_sweep vae_size_sweep
run() {  # name, program
  echo "load before: $(cat /proc/loadavg)" > "$out/$1.load"
  "$2" > "$out/$1.jsonl"
  echo "load after: $(cat /proc/loadavg)" >> "$out/$1.load"
  cat "$out/$1.load"
}
run svi_size_sweep "$double/bench/svi_size_sweep"
run bnn_size_sweep "$float/bench/bnn_size_sweep"
run vae_size_sweep "$float/bench/vae_size_sweep"
"$double/bench/plot_size_sweep" docs/images/size_sweep.png \
  "$out/svi_size_sweep.jsonl" "$out/bnn_size_sweep.jsonl" "$out/vae_size_sweep.jsonl"
echo "wrote docs/images/size_sweep.png from $out/*.jsonl"
