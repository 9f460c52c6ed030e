#!/usr/bin/env bash
# Copies GoogleTest (headers and static libraries, from Debian's libgtest-dev)
# and Google Benchmark (libbenchmark-dev)
# into .deps/ for the GPU machine, which has no network. .deps/ is ignored by
# git and named in the device tool's `carry`.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .deps
mkdir -p .deps/include .deps/lib
cp -r /usr/include/gtest .deps/include/
cp /usr/lib/x86_64-linux-gnu/libgtest.a /usr/lib/x86_64-linux-gnu/libgtest_main.a .deps/lib/
# Google Benchmark for the CPU benchmarks (bench/scheduler_bench.cpp), laid
# out as Debian installs it so that its CMake package finds itself.
mkdir -p .deps/lib/x86_64-linux-gnu/cmake
cp -r /usr/include/benchmark .deps/include/
cp -a /usr/lib/x86_64-linux-gnu/libbenchmark.so* /usr/lib/x86_64-linux-gnu/libbenchmark_main.a \
  .deps/lib/x86_64-linux-gnu/
cp -r /usr/lib/x86_64-linux-gnu/cmake/benchmark .deps/lib/x86_64-linux-gnu/cmake/
du -sh .deps
