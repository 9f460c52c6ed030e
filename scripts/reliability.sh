#!/usr/bin/env bash
# The figures of RELIABILITY.md on this machine: each family of stress, fault,
# exit and fork tests run again and again (gtest --gtest_repeat, stress counts
# scaled by RUNNEL_TEST_SCALE), each repetition of the whole family in a fresh
# process under a timeout, and a Markdown table of what happened.
#
#   scripts/reliability.sh [BUILD_DIR] [REPEAT]   (defaults: build, 10)
#
# A run counts as a hang when it outlives its timeout, as a crash when it
# ends by a signal, as a failure when a test failed. Prints the table last.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
REPEAT=${2:-10}
BIN=$BUILD/tests/cpp/runnel_tests
[[ -x $BIN ]] || { echo "no $BIN: build first" >&2; exit 2; }
export RUNNEL_TEST_BIN=$BIN

# name | gtest filter | RUNNEL_TEST_SCALE | extra environment
FAMILIES=(
  "random graphs, 8 threads x 3 streams (claim races)|EvalConcurrent.RandomOverlappingGraphs*|1|"
  "random graphs under memory pressure, 4 threads|EvalConcurrent.SoakUnderMemoryPressure*|1|"
  "concurrent evals of shared arrays|EvalConcurrent.*|1|"
  "ping-pong and delayed producers, smallest segments|Eval*PingPong*:Eval*Delayed*|1|RUNNEL_MAX_BATCH=1"
  "streams from many threads, registry races|Stream*:DefaultStream*:ReliabilityRegistry*|1|"
  "injected op and allocation faults, OOM|Errors*:MemoryWait*:ReliabilityErrors*|1|"
  "exit with pending work (5 children each)|LifetimeExit.ExitWith*|1|"
  "fork: fresh pool, busy allocators, pending work|LifetimeExit.Fork*|1|"
  "urgent streams behind busy workers|ReliabilityPriority*|1|"
  "dropping deep graphs, thread exits|LifetimeDrop*:LifetimeThreads*|1|"
)

rows=()
for fam in "${FAMILIES[@]}"; do
  IFS='|' read -r name filter scale extra <<<"$fam"
  pass=0 fail=0 crash=0 hang=0 tests=0
  start=$(date +%s.%N)
  for ((i = 0; i < REPEAT; i++)); do
    out=$(env $extra RUNNEL_TEST_SCALE="$scale" timeout 300 "$BIN" \
      --gtest_filter="$filter" --gtest_brief=1 2>&1)
    rc=$?
    n=$(grep -oE '^\[==========\] [0-9]+ tests? from' <<<"$out" | tail -1 |
      grep -oE '[0-9]+' | head -1)
    tests=$((tests + ${n:-0}))
    if ((rc == 124)); then
      hang=$((hang + 1))
    elif ((rc > 128)); then
      crash=$((crash + 1))
    elif ((rc != 0)); then
      fail=$((fail + 1))
      grep -E '^\[  FAILED  \]|Failure' <<<"$out" | head -5 >&2
    else
      pass=$((pass + 1))
    fi
  done
  secs=$(printf '%.0f' "$(echo "$(date +%s.%N) - $start" | bc)")
  rows+=("| $name | $REPEAT | $tests | $pass | $fail | $crash | $hang | ${secs} s |")
  echo "$name: $pass/$REPEAT passed ($tests test runs, $fail failed, $crash crashed, $hang hung) in ${secs} s" >&2
done

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(date -u '+%Y-%m-%d %H:%M UTC'); commit $(git rev-parse --short HEAD)"
echo
echo "| family | runs | test runs | passed | failed | crashed | hung | time |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
