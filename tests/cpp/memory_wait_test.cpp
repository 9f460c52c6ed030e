// An allocation over the memory limit waits for frees that work in flight
// will make (the strand parks; no worker blocks), and fails with
// out_of_memory when nothing in flight can free memory.
#include <gtest/gtest.h>

#include <future>

#include "runnel/errors.h"
#include "runnel/runnel.h"
#include "runnel/scheduler/errors.h"
#include "runnel/scheduler/pool.h"
#include "runnel/testing.h"
#include "tests/cpp/test_util.h"

using namespace runnel;
using runnel::test::MemoryLimit;
using runnel::test::watchdog_eval;

namespace {

constexpr int kN = 1 << 20;  // 4 MiB of float32

}  // namespace

TEST(MemoryWait, AllocationWaitsForAFreeThatWorkInFlightWillMake) {
  if (detail::Pool::get().num_threads() < 2) GTEST_SKIP() << "needs 2 workers";
  watchdog_eval(30, [] {
    Stream a = new_stream(cpu), b = new_stream(cpu);
    clear_cache(Device(cpu));
    array big = astype(arange(kN, a), float32, a);
    eval(big);
    size_t base = get_active_memory(Device(cpu));
    // Room for one more array of kN floats (plus small ones), not two.
    MemoryLimit limit(base + kN * sizeof(float) + (1 << 16));
    // On a: hold `big` for 200 ms, then sum it; afterwards only the queued
    // work holds it, and it is freed when the sum has run.
    array s = sum(runnel::testing::delay(big, 200'000, a), a);
    async_eval({s});
    big = array(0.0f);
    // On b: two arrays of kN floats at once: the second fits only after
    // a's work drops `big`.
    array x = ones({kN}, float32, b);
    array y = sum(add(x, x, b), b);
    eval({y, s});
    EXPECT_EQ(y.item<float>(), 2.0f * kN);
    EXPECT_GT(s.item<float>(), 0.0f);
  });
}

TEST(MemoryWait, NothingInFlightFailsWithOutOfMemoryNamingTheSize) {
  watchdog_eval(30, [] {
    Stream a = new_stream(cpu);
    clear_cache(Device(cpu));
    size_t base = get_active_memory(Device(cpu));
    MemoryLimit limit(base + (1 << 20));
    array x = ones({kN}, float32, a);  // 4 MiB > 1 MiB of room
    try {
      eval(x);
      FAIL() << "expected out_of_memory";
    } catch (const out_of_memory& e) {
      EXPECT_NE(std::string(e.what()).find("4.00 MiB asked for"),
                std::string::npos)
          << e.what();
    }
    // Reported through x: the stream's slot does not raise it again, and
    // the stream is usable.
    EXPECT_NO_THROW(a.synchronize());
    EXPECT_EQ(sum(ones({4}, float32, a), a).item<float>(), 4.0f);
  });
}
