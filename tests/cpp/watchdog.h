// Test helpers that turn hangs into failures (TESTING.md, "Turn hangs into
// failures") and scale stress counts (RUNNEL_TEST_SCALE).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <string>
#include <utility>

namespace runnel::test {

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
    std::fflush(stderr);
    std::fflush(stdout);
    std::_Exit(1);
  }
  fut.get();
}

// RUNNEL_TEST_SCALE (default 1.0) times `n`, at least 1.
inline long scaled(long n) {
  static const double scale = [] {
    const char* env = std::getenv("RUNNEL_TEST_SCALE");
    double s = env ? std::atof(env) : 1.0;
    return s > 0 ? s : 1.0;
  }();
  long v = static_cast<long>(static_cast<double>(n) * scale);
  return v < 1 ? 1 : v;
}

}  // namespace runnel::test
