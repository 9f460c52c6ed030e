#!/usr/bin/env bash
# Builds runnel's benchmarks in Release, runs them (Google Benchmark output,
# then a summary table of ratios against the bare-thread floors), and counts
# the instructions per op of a build + eval chain under callgrind.
#
#   bench/run.sh [extra runnel_bench flags, e.g. --benchmark_min_time=0.5]
#
# Environment: BUILD_DIR (default build-release), CHAIN_OPS (default 10000),
# SKIP_CALLGRIND=1 to skip the callgrind step.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-release}
CHAIN_OPS=${CHAIN_OPS:-10000}

cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DRUNNEL_CUDA=OFF -DRUNNEL_BUILD_TESTS=OFF -DRUNNEL_BUILD_EXAMPLES=OFF \
  -DRUNNEL_BUILD_BENCH=ON >/dev/null
ninja -C "$BUILD_DIR" runnel_bench >/dev/null
BENCH="$BUILD_DIR/bench/runnel_bench"

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "date: $(date)"
"$BENCH" --benchmark_color=false "$@"

if [[ "${SKIP_CALLGRIND:-0}" == 1 ]]; then exit 0; fi
if ! command -v valgrind >/dev/null; then
  echo "valgrind not found: skipping the callgrind count"
  exit 0
fi
# Instrumentation is on only around the chain (CALLGRIND_START/STOP in the
# binary): build CHAIN_OPS adds, eval once, drop the chain. Every thread's
# instructions count, workers included.
out=$(mktemp -d)
valgrind --tool=callgrind --instr-atstart=no \
  --callgrind-out-file="$out/callgrind.out" \
  "$BENCH" --callgrind-chain "$CHAIN_OPS" 2>"$out/log" >/dev/null
annotated=$(callgrind_annotate "$out/callgrind.out" 2>/dev/null)
ir=$(echo "$annotated" | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}')
echo
echo "callgrind: chain of $CHAIN_OPS ops (build + one eval + drop):" \
  "$ir instructions, $((ir / CHAIN_OPS)) per op"
echo "top functions by self cost:"
echo "$annotated" | sed -n '/file:function/,$p' | head -22 | cut -c1-160
rm -rf "$out"
