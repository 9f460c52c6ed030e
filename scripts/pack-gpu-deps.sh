#!/usr/bin/env bash
# Copies GoogleTest (headers and static libraries, from Debian's libgtest-dev)
# into .deps/ for the GPU machine, which has no network. .deps/ is ignored by
# git and named in the device tool's `carry`.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .deps
mkdir -p .deps/include .deps/lib
cp -r /usr/include/gtest .deps/include/
cp /usr/lib/x86_64-linux-gnu/libgtest.a /usr/lib/x86_64-linux-gnu/libgtest_main.a .deps/lib/
du -sh .deps
