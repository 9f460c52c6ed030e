// Memory figures and limits on the CPU, and large ops split over the pool.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "runnel/errors.h"
#include "runnel/memory/allocator.h"
#include "runnel/runnel.h"
#include "runnel/scheduler/errors.h"
#include "runnel/scheduler/pool.h"
#include "runnel/testing.h"
#include "tests/cpp/test_util.h"

using namespace runnel;
using namespace runnel::test;
namespace hooks = runnel::testing;

namespace {

// These tests are about the CPU's memory: ops without a stream run there
// also on a machine whose default device is a GPU.
using Memory = OnCpu;
using MemoryParallel = OnCpu;

// Waits up to 5 s for `pred`: frees may land a moment after the work that
// held the buffer finishes.
template <class P>
bool soon(P pred) {
  return eventually(pred, std::chrono::seconds(5),
                    std::chrono::milliseconds(1));
}

uint32_t bits_of(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

// A cached block up to a quarter larger may serve a request and counts in
// full: tests that compare active memory start with an empty cache.
TEST_F(Memory, AllocationsAreCountedAndFreedArraysReturnMemory) {
  synchronize(kCpu);
  clear_cache(kCpu);
  const size_t base = get_active_memory(kCpu);
  {
    std::vector<float> host(4 * kMiB / 4, 1.5f);
    array a(host, Shape{static_cast<int>(host.size())});
    EXPECT_GE(get_active_memory(kCpu), base + a.nbytes());
    array b = zeros({static_cast<int>(2 * kMiB / 4)}, float32);
    b.eval();
    EXPECT_GE(get_active_memory(kCpu), base + a.nbytes() + b.nbytes());
    EXPECT_EQ(get_active_memory(), get_active_memory(kCpu));
  }
  EXPECT_TRUE(soon([&] { return get_active_memory(kCpu) <= base; }))
      << get_active_memory(kCpu) << " still active, " << base << " before";
}

TEST_F(Memory, IntermediatesOfAnEvaluatedChainAreFreed) {
  synchronize(kCpu);
  clear_cache(kCpu);
  const int n = static_cast<int>(kMiB);  // 4 MiB per float32 array
  const size_t base = get_active_memory(kCpu);
  array x = ones({n});
  array y = x;
  for (int i = 0; i < 20; ++i) y = add(y, x);
  y.eval();
  EXPECT_EQ(y.data<float>()[n - 1], 21.0f);
  // x and y are held; the 19 intermediates (76 MiB) are not.
  const size_t held = 2 * static_cast<size_t>(n) * 4;
  EXPECT_TRUE(soon([&] {
    return get_active_memory(kCpu) <= base + held + 64 * 1024;
  })) << get_active_memory(kCpu) - base
      << " bytes active above the start";
}

TEST_F(Memory, PeakTracksTheHighWaterMarkAndResets) {
  synchronize(kCpu);
  clear_cache(kCpu);
  reset_peak_memory(kCpu);
  const size_t base = get_active_memory(kCpu);
  EXPECT_EQ(get_peak_memory(kCpu), base);
  {
    array a = zeros({static_cast<int>(8 * kMiB / 4)});
    a.eval();
  }
  ASSERT_TRUE(soon([&] { return get_active_memory(kCpu) <= base; }));
  EXPECT_GE(get_peak_memory(kCpu), base + 8 * kMiB);
  reset_peak_memory(kCpu);
  EXPECT_LT(get_peak_memory(kCpu), base + 8 * kMiB);
  EXPECT_EQ(get_peak_memory(kCpu), get_active_memory(kCpu));
}

TEST_F(Memory, CacheKeepsFreedBlocksAndClearCacheReturnsThem) {
  synchronize(kCpu);
  clear_cache(kCpu);
  EXPECT_EQ(get_cache_memory(kCpu), 0u);
  const size_t size = 6 * kMiB;
  {
    array a = zeros({static_cast<int>(size / 4)});
    a.eval();
  }
  ASSERT_TRUE(soon([&] { return get_cache_memory(kCpu) >= size; }));
  const size_t cached = get_cache_memory(kCpu);
  // A block of the same size comes from the cache.
  {
    array b = ones({static_cast<int>(size / 4)});
    b.eval();
    EXPECT_LE(get_cache_memory(kCpu), cached - size);
    EXPECT_EQ(b.data<float>()[size / 4 - 1], 1.0f);
  }
  ASSERT_TRUE(soon([&] { return get_cache_memory(kCpu) >= size; }));
  clear_cache(kCpu);
  EXPECT_EQ(get_cache_memory(kCpu), 0u);
}

// Blocks of 2 MiB and more are their own mappings, aligned for huge pages,
// whatever their size; they are unmapped when the cache lets them go.
TEST_F(Memory, LargeBlocksAreHugePageAlignedAndGoBackOnClearCache) {
  synchronize(kCpu);
  clear_cache(kCpu);
  const size_t base = get_active_memory(kCpu);
  for (int n : {static_cast<int>(2 * kMiB / 4), static_cast<int>(kMiB) + 7,
                static_cast<int>(9 * kMiB / 4) - 3}) {
    array a = full({n}, 2.5f);
    a.eval();
    const auto* p = a.data<float>();
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % (2 * kMiB), 0u) << n;
    EXPECT_EQ(p[0], 2.5f);
    EXPECT_EQ(p[n - 1], 2.5f);
  }
  ASSERT_TRUE(soon([&] { return get_active_memory(kCpu) <= base; }));
  clear_cache(kCpu);
  EXPECT_EQ(get_cache_memory(kCpu), 0u);
}

TEST_F(Memory, LimitIsEnforcedWithOutOfMemoryNamingTheSize) {
  synchronize(kCpu);
  clear_cache(kCpu);
  const size_t before = get_memory_limit(kCpu);
  {
    MemoryLimit guard(get_active_memory(kCpu) + 4 * kMiB);
    EXPECT_EQ(guard.old(), before);
    EXPECT_EQ(get_memory_limit(kCpu), get_active_memory(kCpu) + 4 * kMiB);
    // Eager: copying host data allocates at the call.
    std::vector<float> host(16 * kMiB / 4);
    try {
      array a(host, Shape{static_cast<int>(host.size())});
      ADD_FAILURE() << "16 MiB array above a 4 MiB limit";
    } catch (const out_of_memory& e) {
      EXPECT_NE(std::string(e.what()).find("16.00 MiB"), std::string::npos)
          << e.what();
    }
    // Lazy: the op fails when it runs; eval raises it.
    Stream s = new_stream(cpu);
    array z = zeros({static_cast<int>(32 * kMiB / 4)}, float32, s);
    try {
      z.eval();
      ADD_FAILURE() << "32 MiB op above a 4 MiB limit";
    } catch (const out_of_memory& e) {
      EXPECT_NE(std::string(e.what()).find("32.00 MiB"), std::string::npos)
          << e.what();
    }
    // Reported through z: the stream's slot does not raise it again.
    EXPECT_NO_THROW(synchronize(s));
    // Small work still fits.
    array ok = add(arange(10, s), array(1), s);
    EXPECT_EQ(sum(ok, s).item<int>(), 55);
    synchronize(s);
  }
  EXPECT_EQ(get_memory_limit(kCpu), before);
  // With the limit restored the same allocation succeeds.
  array big = zeros({static_cast<int>(32 * kMiB / 4)});
  big.eval();
  EXPECT_EQ(big.data<float>()[0], 0.0f);
}

// Free and reuse across three streams. A buffer made
// on A is read by a gated reader on B and by C; the host drops it before A
// runs. Once C has read it, B's queued read is its only use left. A and C
// then allocate and free many buffers of the same size (the allocator's
// cache hands a freed block to the next request of its size), writing other
// values, while B's gate stays closed: had the block been reused before B's
// read, B would compute from the churn's values.
TEST_F(Memory, BufferReadByAGatedStreamIsNotReusedByChurnOnTwoOthers) {
  test::with_watchdog(
      [] {
        Stream sa = new_stream(kCpu), sb = new_stream(kCpu),
               sc = new_stream(kCpu);
        const int n = 1 << 16;  // 256 KiB of int32
        synchronize(kCpu);
        clear_cache(kCpu);
        hooks::Gate gate_b = hooks::block(sb);
        hooks::Gate gate_a = hooks::block(sa);
        array p = add(multiply(arange(0, n, 1, sa), array(7), sa), array(1),
                      sa);  // 7i + 1
        array from_b = multiply(p, array(3), sb);
        array from_c = add(p, array(5), sc);
        async_eval({from_b, from_c});
        p = array(0);  // the host lets go before the producer runs
        gate_a.open();
        from_c.eval();
        for (int i = 0; i < n; ++i) {
          ASSERT_EQ(from_c.data<int32_t>()[i], 7 * i + 6) << i;
        }
        const long rounds = test::scaled(200, 20);
        for (long r = 0; r < rounds; ++r) {
          Stream s = r % 2 ? sa : sc;
          std::vector<array> held;
          for (int k = 0; k < 4; ++k) {
            const int off = -1000000 - static_cast<int>(4 * r + k);
            held.push_back(add(arange(0, n, 1, s), array(off), s));
          }
          eval(held);
          for (int k = 0; k < 4; ++k) {
            const int off = -1000000 - static_cast<int>(4 * r + k);
            ASSERT_EQ(held[k].data<int32_t>()[n - 1], n - 1 + off);
          }
        }
        EXPECT_EQ(from_b.status(), ArrayStatus::scheduled);
        EXPECT_FALSE(sb.query());
        gate_b.open();
        from_b.eval();
        for (int i = 0; i < n; ++i) {
          ASSERT_EQ(from_b.data<int32_t>()[i], 3 * (7 * i + 1)) << i;
        }
      },
      60.0);
}

// Memory that is not the allocator's (a DLPack import) is given back by a
// Release that waits for the buffer's uses through after_uses: only once
// every stream that used it has passed its point, whichever passes last, on
// whichever thread gets there.
TEST_F(Memory, ReleaseAfterUsesWaitsForEveryStreamThatUsedTheBuffer) {
  test::with_watchdog([] {
    for (bool a_first : {true, false}) {
      SCOPED_TRACE(a_first ? "stream a passes first" : "stream b passes first");
      Stream sa = new_stream(kCpu), sb = new_stream(kCpu);
      hooks::Gate gate_a = hooks::block(sa);
      hooks::Gate gate_b = hooks::block(sb);
      auto released = std::make_shared<std::atomic<int>>(0);
      alignas(64) static char memory[64];
      auto b = std::make_shared<detail::Buffer>(
          memory, sizeof(memory), kCpu, [released](const detail::Buffer& buf) {
            detail::after_uses(buf.uses(), [released] { ++*released; });
          });
      b->add_use(sa.state().tail());
      b->add_use(sb.state().tail());
      b.reset();
      EXPECT_EQ(released->load(), 0);
      (a_first ? gate_a : gate_b).open();
      synchronize(a_first ? sa : sb);
      EXPECT_EQ(released->load(), 0);  // the other stream still uses it
      (a_first ? gate_b : gate_a).open();
      synchronize(a_first ? sb : sa);
      EXPECT_TRUE(soon([&] { return released->load() == 1; }));
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      EXPECT_EQ(released->load(), 1);  // once only
    }
  });
}

TEST_F(Memory, AfterUsesRunsAtOnceWhenEveryUseIsReached) {
  Stream s = new_stream(kCpu);
  array x = add(array(1), array(2), s);
  x.eval();
  int runs = 0;
  detail::after_uses({}, [&runs] { ++runs; });
  EXPECT_EQ(runs, 1);
  detail::after_uses({s.state().tail(), detail::Dep{}}, [&runs] { ++runs; });
  EXPECT_EQ(runs, 2);  // on this thread, before it returned
}

// The poison switch (RUNNEL_POISON=1, testing::set_poison): a new CPU
// buffer holds 0xA5 bytes before any kernel writes it; off, nothing is
// written.
TEST_F(Memory, PoisonFillsNewBuffersWhenOn) {
  const bool was = hooks::poison();
  hooks::set_poison(true);
  {
    auto b = detail::allocate(1000, kCpu);
    const auto* bytes = static_cast<const unsigned char*>(b->ptr());
    for (int i = 0; i < 1000; ++i) ASSERT_EQ(bytes[i], hooks::kPoisonByte) << i;
    std::memset(b->ptr(), 0, 1000);
  }
  hooks::set_poison(false);
  {
    // The same size class again: the cached block comes back as it was left.
    auto b = detail::allocate(1000, kCpu);
    const auto* bytes = static_cast<const unsigned char*>(b->ptr());
    int poisoned = 0;
    for (int i = 0; i < 1000; ++i) poisoned += bytes[i] == hooks::kPoisonByte;
    EXPECT_LT(poisoned, 1000);
  }
  hooks::set_poison(was);
}

TEST_F(Memory, DefaultLimitIsPhysicalMemory) {
  const size_t phys = static_cast<size_t>(sysconf(_SC_PHYS_PAGES)) *
                      static_cast<size_t>(sysconf(_SC_PAGE_SIZE));
  EXPECT_EQ(get_memory_limit(kCpu), phys);
  const size_t old = set_memory_limit(phys / 2, kCpu);
  EXPECT_EQ(old, phys);
  EXPECT_EQ(set_memory_limit(old, kCpu), phys / 2);
  EXPECT_EQ(get_memory_limit(kCpu), phys);
}

TEST_F(Memory, MemoryFunctionsRejectUnavailableDevices) {
  if (device_count(gpu) > 0) GTEST_SKIP() << "a GPU is present";
  EXPECT_THROW(get_active_memory(Device(gpu)), std::invalid_argument);
  EXPECT_THROW(set_memory_limit(1, Device(gpu)), std::invalid_argument);
  EXPECT_THROW(get_active_memory(Device(cpu, 1)), std::invalid_argument);
}

// ---- Large ops over the pool ----

constexpr int kLarge = 1 << 22;

// Floats in [-1, 1) made from `seed` (the same in a child process).
std::vector<float> large_floats(uint32_t seed) {
  return floats_from_seed(kLarge, seed, -1.0f, 1.0f);
}

TEST_F(MemoryParallel, LargeElementwiseOpsAreCorrectAcrossChunks) {
  const Seeded s;
  SCOPED_TRACE(s.trace());
  auto h = large_floats(s.seed);
  array a(h, Shape{kLarge});
  array b = add(multiply(a, a), array(1.0f));
  array e = exp(a);
  eval(b, e);
  for (int i = 0; i < kLarge; ++i) {
    ASSERT_EQ(b.data<float>()[i], h[i] * h[i] + 1.0f) << i;
  }
  for (int i = 0; i < kLarge; i += 97) {
    ASSERT_NEAR(e.data<float>()[i], std::exp(static_cast<double>(h[i])),
                4e-7 * std::exp(static_cast<double>(h[i])))
        << i;
  }
}

// The sum of 2^22 floats is the same bits whether every worker helps or the
// strand's own worker does it all.
TEST_F(MemoryParallel, LargeSumIsIdenticalWithBusyOrIdleWorkers) {
  const Seeded seeded;
  SCOPED_TRACE(seeded.trace());
  array a(large_floats(seeded.seed), Shape{kLarge});
  a.eval();
  Stream s = new_stream(cpu);
  const uint32_t idle = bits_of(sum(a, s).item<float>());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(bits_of(sum(a, s).item<float>()), idle);
  }
  // Keep every other worker asleep in a delay, then sum again.
  const int workers = detail::Pool::get().num_threads();
  std::vector<array> sleepers;
  for (int w = 0; w < workers - 1; ++w) {
    sleepers.push_back(
        runnel::testing::delay(array(w), 300'000, new_stream(cpu)));
  }
  async_eval(sleepers);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  const uint32_t busy = bits_of(sum(a, s).item<float>());
  EXPECT_EQ(busy, idle) << "workers=" << workers;
  eval(sleepers);
}

// The child side of the next test: prints the sum's bits for a seed.
TEST(MemoryChild, PrintSumBits) {
  const char* seed = std::getenv("RUNNEL_SUM_SEED");
  if (!seed) GTEST_SKIP() << "run by LargeSumIsIdenticalForAnyPoolSize";
  array a(large_floats(static_cast<uint32_t>(std::atoll(seed))), Shape{kLarge});
  float f = sum(a).item<float>();
  array d = astype(a, float64);
  double g = sum(d).item<double>();
  std::printf("SUMBITS=%08x %.17g\n", bits_of(f), g);
}

TEST_F(MemoryParallel, LargeSumIsIdenticalForAnyPoolSize) {
  const Seeded s;
  SCOPED_TRACE(s.trace());
  expect_same_line_for_pool_sizes({1, 2, 3, 8},
                                  "RUNNEL_SUM_SEED=" + std::to_string(s.seed),
                                  "MemoryChild.PrintSumBits", "SUMBITS=");
}

}  // namespace
