#!/usr/bin/env bash
# On the lent GPU machine (the device tool), one stage per call on one warm
# machine; logs under $OUT:
#   scripts/gpu-check.sh build   configure and build with all cores
#   scripts/gpu-check.sh test    the C++ suite with the GPU as default device
#   scripts/gpu-check.sh bench   the GPU benchmarks
# GoogleTest travels in .deps/ (scripts/pack-gpu-deps.sh makes it here): the
# machine has no network.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/runnel-gpu-out}
mkdir -p "$OUT"
BUILD=build-gpu
stage=${1:?usage: gpu-check.sh build|test|bench}

case "$stage" in
  build)
    { nvidia-smi --query-gpu=name,compute_cap,driver_version --format=csv
      nvcc --version | tail -1; c++ --version | head -1; cmake --version | head -1
    } 2>&1 | tee "$OUT/machine.txt"
    start=$(date +%s)
    cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DRUNNEL_CUDA=ON -DRUNNEL_BUILD_BENCH=OFF -DGTEST_ROOT="$PWD/.deps" \
      2>&1 | tee "$OUT/configure.log" | tail -3
    ninja -C "$BUILD" -j "$(nproc)" 2>&1 | tee "$OUT/build.log" | grep -E "error|FAILED|warning" | head -40
    rc=${PIPESTATUS[0]}
    echo "build: rc=$rc in $(( $(date +%s) - start )) s" | tee -a "$OUT/build.log"
    exit "$rc"
    ;;
  test)
    export RUNNEL_TEST_SCALE=${RUNNEL_TEST_SCALE:-1}
    ctest --test-dir "$BUILD" --output-on-failure -j 8 --timeout 300 \
      2>&1 | tee "$OUT/test.log" | grep -vE "^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* Passed" | tail -80
    exit "${PIPESTATUS[0]}"
    ;;
  bench)
    echo "no GPU benchmarks yet" | tee "$OUT/bench.log"
    ;;
  *)
    echo "unknown stage $stage" >&2
    exit 2
    ;;
esac
