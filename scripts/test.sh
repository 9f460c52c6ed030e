#!/usr/bin/env bash
# Builds and runs every test: the C++ suite through ctest, then the Python
# package installed into .venv (created when missing) and its pytest suite.
# Extra CMake arguments for the C++ build come from RUNNEL_CMAKE_ARGS
# (CI: RUNNEL_CMAKE_ARGS=-DRUNNEL_WERROR=ON).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

# shellcheck disable=SC2086 # RUNNEL_CMAKE_ARGS is a list of arguments
cmake -S . -B build -G Ninja ${RUNNEL_CMAKE_ARGS:-}
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure -j "$jobs"

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q pytest pytest-timeout numpy ml_dtypes
.venv/bin/python -m pip install ./
# Run from the tests folder so that `import runnel` is the installed package.
.venv/bin/python -m pytest -c pyproject.toml --rootdir . tests/python
