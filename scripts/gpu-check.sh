#!/usr/bin/env bash
# On the lent GPU machine (the device tool), one stage per call on one warm
# machine; logs under $OUT:
#   scripts/gpu-check.sh build   configure and build with all cores
#   scripts/gpu-check.sh test    the C++ suite with the GPU as default device
#   scripts/gpu-check.sh bench   the GPU benchmarks (builds the CPU ones too)
#   scripts/gpu-check.sh cpubench  the CPU scheduler benchmarks (after bench)
#   scripts/gpu-check.sh profile [loops]  where a runnel loop's host time
#                                goes (after bench)
#   scripts/gpu-check.sh python  the Python package (with the CUDA backend)
#                                and its pytest suite
#   scripts/gpu-check.sh timeline  GPU-side timeline of a ping-pong (after
#                                python)
# GoogleTest and Google Benchmark travel in .deps/ (scripts/pack-gpu-deps.sh makes it here): the
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
    # The same build dir with the benchmarks on (Google Benchmark from
    # .deps/): gpu_bench and runnel_bench are added, nothing else rebuilt.
    # gpu_bench writes its report to $OUT/gpu_bench.txt; the console goes to
    # gpu_bench.log, the summary table last.
    export OUT
    start=$(date +%s)
    cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DRUNNEL_CUDA=ON -DRUNNEL_BUILD_BENCH=ON -DGTEST_ROOT="$PWD/.deps" \
      -DCMAKE_PREFIX_PATH="$PWD/.deps" \
      >"$OUT/bench-configure.log" 2>&1 || { tail -20 "$OUT/bench-configure.log"; exit 1; }
    ninja -C "$BUILD" -j "$(nproc)" gpu_bench runnel_bench >"$OUT/bench-build.log" 2>&1
    rc=$?
    echo "bench build: rc=$rc in $(( $(date +%s) - start )) s"
    if [[ $rc != 0 ]]; then
      grep -E "error|FAILED" "$OUT/bench-build.log" | head -40
      exit "$rc"
    fi
    timeout 240 "$BUILD/bench/gpu_bench" 2>&1 | tee "$OUT/gpu_bench.log"
    rc=${PIPESTATUS[0]}
    exit "$rc"
    ;;
  profile)
    # Where the host time of one runnel loop goes (after bench): a SIGPROF
    # sampler in gpu_bench (bench/sampler.h); loops: pingpong handoff_cg
    # handoff_gc alloc d2h.
    for loop in ${2:-pingpong handoff_cg alloc}; do
      GPU_BENCH_PROFILE=$loop timeout 60 "$BUILD/bench/gpu_bench" 2>&1 \
        | tee "$OUT/profile_$loop.log" | grep -m1 "^profile"
    done
    ;;
  timeline)
    # The GPU-side timeline of a cross-stream ping-pong, runnel's against
    # PyTorch's (CUPTI through torch.profiler; after python).
    timeout 120 python3 bench/gpu_timeline.py --json "$OUT" 2>&1 | tee "$OUT/timeline.log"
    exit "${PIPESTATUS[0]}"
    ;;
  cpubench)
    # The scheduler benchmarks (CPU streams) on this machine's cores.
    export OUT
    { echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
      echo "load: $(cat /proc/loadavg)"; date
      timeout 300 "$BUILD/bench/runnel_bench" --benchmark_min_time=0.5
    } 2>&1 | tee "$OUT/cpu_bench.log" | tail -30
    exit "${PIPESTATUS[0]}"
    ;;
  python)
    # No network there: build with the machine's nanobind and
    # scikit-build-core.
    python3 -m pip install -q --no-build-isolation --no-deps \
      -C cmake.define.RUNNEL_CUDA=ON . 2>&1 | tee "$OUT/pip.log" | tail -5
    cd tests/python && python3 -m pytest -q -p no:cacheprovider \
      --rootdir=../.. -c ../../pyproject.toml . 2>&1 | tee "$OUT/pytest.log" | tail -30
    exit "${PIPESTATUS[0]}"
    ;;
  *)
    echo "unknown stage $stage" >&2
    exit 2
    ;;
esac
