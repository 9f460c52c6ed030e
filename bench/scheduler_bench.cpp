#include <benchmark/benchmark.h>

#include "runnel/runnel.h"

BENCHMARK_MAIN();
