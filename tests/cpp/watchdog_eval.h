// Turns hangs into failures (TESTING.md): a test body runs on its own thread
// and, if it is not done in time, the process prints which test hung and
// exits at once instead of hanging the run. Also the stress-count scale.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <string>
#include <utility>

namespace runnel::test {

// RUNNEL_TEST_SCALE (default 1.0) shrinks or grows stress counts.
inline double test_scale() {
  const char* v = std::getenv("RUNNEL_TEST_SCALE");
  double s = v ? std::atof(v) : 1.0;
  return s > 0 ? s : 1.0;
}

// `n` scaled, at least `at_least`.
inline int scaled(double n, int at_least = 1) {
  int v = static_cast<int>(n * test_scale());
  return v < at_least ? at_least : v;
}

// Runs `body` on another thread; if it has not returned after `seconds`,
// names the test that hung on stderr and ends the process with status 1.
// Exceptions from `body` propagate to the caller (the test fails on them).
template <class F>
void watchdog_eval(double seconds, F&& body) {
  auto done = std::async(std::launch::async, std::forward<F>(body));
  auto limit = std::chrono::duration<double>(seconds);
  if (done.wait_for(limit) != std::future_status::ready) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name =
        info ? std::string(info->test_suite_name()) + "." + info->name()
             : std::string("(unknown test)");
    std::fprintf(stderr,
                 "\n[watchdog] %s hung: not done after %.0f s; exiting.\n",
                 name.c_str(), seconds);
    std::fflush(stderr);
    std::_Exit(1);
  }
  done.get();
}

}  // namespace runnel::test
