// What the C++ tests share: a hang turned into a failure that names the test
// and prints every thread's stack, stress counts scaled by RUNNEL_TEST_SCALE,
// fresh random data.
#pragma once

#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "runnel/runnel.h"

namespace runnel::test {

// Every thread's stack, on stderr, by gdb when it is installed (a hang's
// report should say where each thread waits).
inline void print_all_stacks() {
  std::fflush(stderr);
  prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY);  // Yama: let gdb attach to us
  const std::string cmd =
      "command -v gdb >/dev/null && gdb -p " + std::to_string(getpid()) +
      " -batch -nx -ex 'thread apply all bt 30' 1>&2 2>/dev/null";
  if (std::system(cmd.c_str()) != 0) {
    std::fprintf(stderr, "[watchdog] (no stacks: gdb missing or refused)\n");
  }
}

// Runs `fn` on its own thread and waits for it at most `seconds`. When it is
// not done in time, reports a failure naming `what` and ends the process with
// status 1: a hang must fail the test, never stall the run. Exceptions from
// `fn` propagate to the caller.
template <class F>
void with_watchdog(F&& fn, double seconds = 10.0,
                   const std::string& what = "test body") {
  auto fut = std::async(std::launch::async, std::forward<F>(fn));
  auto limit = std::chrono::duration<double>(seconds);
  if (fut.wait_for(limit) != std::future_status::ready) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    ADD_FAILURE() << "watchdog: " << what << " did not finish in " << seconds
                  << " s";
    std::fprintf(stderr, "\n[watchdog] %s.%s: %s hung for %.1f s; exiting\n",
                 info ? info->test_suite_name() : "?",
                 info ? info->name() : "?", what.c_str(), seconds);
    print_all_stacks();
    std::fflush(stderr);
    std::fflush(stdout);
    std::_Exit(1);
  }
  fut.get();
}

// RUNNEL_TEST_SCALE (default 1.0) times `n`, at least `at_least`.
inline long scaled(double n, long at_least = 1) {
  static const double scale = [] {
    const char* env = std::getenv("RUNNEL_TEST_SCALE");
    double s = env ? std::atof(env) : 1.0;
    return s > 0 ? s : 1.0;
  }();
  long v = static_cast<long>(n * scale);
  return v < at_least ? at_least : v;
}

// with_watchdog with the limit first, for bodies written inline.
template <class F>
void watchdog_eval(double seconds, F&& body) {
  with_watchdog(std::forward<F>(body), seconds);
}

// Fresh random data for every test run: one generator per thread.
inline std::mt19937& rng() {
  thread_local std::mt19937 r(std::random_device{}());
  return r;
}

inline int random_int(int lo, int hi) {
  return std::uniform_int_distribution<int>(lo, hi)(rng());
}

inline std::vector<float> random_floats(size_t n) {
  std::uniform_real_distribution<float> d(-4.0f, 4.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng());
  return v;
}

inline std::vector<int32_t> random_ints(size_t n, int lo = -1000,
                                        int hi = 1000) {
  std::uniform_int_distribution<int32_t> d(lo, hi);
  std::vector<int32_t> v(n);
  for (auto& x : v) x = d(rng());
  return v;
}

// ---- Random data that a failure can replay ----

// The seed RUNNEL_TEST_SEED names, when it is set: one that a failure
// printed, to run the tests again on the same data.
inline std::optional<uint64_t> replay_seed() {
  const char* env = std::getenv("RUNNEL_TEST_SEED");
  if (!env) return std::nullopt;
  return std::strtoull(env, nullptr, 10);
}

// A generator with a fresh seed per test, or RUNNEL_TEST_SEED's to replay a
// failure; SCOPED_TRACE(trace()) prints the seed with every failure in its
// scope.
struct Seeded {
  uint32_t seed = [] {
    const std::optional<uint64_t> replay = replay_seed();
    return replay ? static_cast<uint32_t>(*replay) : std::random_device{}();
  }();
  std::mt19937 rng{seed};
  std::string trace() const { return "seed=" + std::to_string(seed); }
  int uniform(int lo, int hi) {  // [lo, hi]
    return std::uniform_int_distribution<int>(lo, hi)(rng);
  }
};

// The same for runnel's own generator: a 64-bit seed for random::key, fresh
// per test or RUNNEL_TEST_SEED's.
struct KeySeed {
  uint64_t seed = [] {
    const std::optional<uint64_t> replay = replay_seed();
    return replay ? *replay
                  : (static_cast<uint64_t>(std::random_device{}()) << 32) |
                        std::random_device{}();
  }();
  std::string trace() const { return "key seed=" + std::to_string(seed); }
  array key() const { return random::key(seed); }
};

}  // namespace runnel::test
