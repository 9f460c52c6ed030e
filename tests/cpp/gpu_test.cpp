// The GPU runtime: every wait direction, ordering proven with the GPU delay
// (a kernel spinning on the GPU clock) and CPU gates, never by timing; values
// against the CPU backend on fresh random data. Skipped without a GPU.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <thread>
#include <variant>

#include "runnel/errors.h"
#include "runnel/runnel.h"
#include "runnel/scheduler/errors.h"
#include "runnel/testing.h"
#include "tests/cpp/test_util.h"

using namespace runnel;
namespace rt = runnel::testing;
using runnel::test::with_watchdog;

using runnel::test::rng;

namespace {

using Gpu = test::NeedsGpus<1>;

// Random values of dtype `d` (small integers, or floats in [-4, 4]).
array random_array(const Shape& shape, Dtype d) {
  size_t n = 1;
  for (int s : shape) n *= s;
  std::vector<double> v(n);
  std::uniform_real_distribution<double> u(-4.0, 4.0);
  for (auto& x : v) {
    x = u(rng());
    if (!is_floating_point(d)) x = std::round(x * 20);
    if (is_unsigned_integer(d)) x = std::abs(x);
    if (d == bool_) x = x > 0;
  }
  return array(v.data(), float64, shape, d);
}

std::vector<double> values(const array& a) {
  return test::as_doubles(a, Device(cpu));
}

// Equal for integers; within a few units in the last place for floats.
void expect_close(array got, array want, Dtype d) {
  auto g = values(got), w = values(want);
  ASSERT_EQ(g.size(), w.size());
  double tol = d == float16    ? 2e-3
               : d == bfloat16 ? 1.6e-2
               : d == float32  ? 2e-6
               : d == float64  ? 1e-14
                               : 0.0;
  for (size_t i = 0; i < g.size(); ++i) {
    if (std::isnan(w[i])) {
      EXPECT_TRUE(std::isnan(g[i])) << i;
      continue;
    }
    EXPECT_NEAR(g[i], w[i], tol * std::max(1.0, std::abs(w[i])))
        << "element " << i << " of dtype " << d;
  }
}

// A sum's rounding grows with the count and size of its terms, not with the
// result (random signs cancel): within n units in the last place of the sum
// of the magnitudes of `terms`.
void expect_sum_close(array got, array want, array terms, Dtype d) {
  const double ulp = d == float16    ? 9.8e-4
                     : d == bfloat16 ? 7.9e-3
                     : d == float32  ? 1.2e-7
                     : d == float64  ? 2.3e-16
                                     : 0.0;
  double magnitude = 0;
  for (double e : values(abs(terms, Device(cpu)))) magnitude += e;
  const double g = values(got)[0], w = values(want)[0];
  EXPECT_NEAR(g, w, ulp * terms.size() * std::max(1.0, magnitude))
      << "sum of dtype " << d;
}

}  // namespace

TEST_F(Gpu, DeviceInfoHasTheGpuKeys) {
  auto info = device_info(Device(gpu, 0));
  for (const char* k :
       {"device_name", "architecture", "total_memory", "free_memory",
        "compute_capability_major", "compute_capability_minor", "uuid",
        "pci_bus_id", "multiprocessor_count"}) {
    EXPECT_TRUE(info.count(k)) << k;
  }
  EXPECT_EQ(std::get<std::string>(info["architecture"]).rfind("sm_", 0), 0u);
  EXPECT_GT(std::get<int64_t>(info["total_memory"]), 0);
  auto [most, least] = stream_priority_range(Device(gpu, 0));
  EXPECT_LE(most, least);
  Stream s = new_stream(gpu, most - 10);
  EXPECT_EQ(s.priority(), most);
}

TEST_F(Gpu, OpsMatchTheCpuInEveryDtype) {
  with_watchdog(
      [] {
        Stream g = new_stream(gpu), c = new_stream(cpu);
        for (Dtype d : test::kAllDtypes) {
          SCOPED_TRACE(::testing::Message() << d);
          array a = random_array({3, 257}, d);
          array b = random_array({257}, d);  // broadcast along rows
          array v = random_array({}, d);
          auto both = [&](auto op) { expect_close(op(g), op(c), d); };
          both([&](Stream s) { return add(a, b, s); });
          both([&](Stream s) { return multiply(a, b, s); });
          both([&](Stream s) { return abs(a, s); });
          if (d == bool_) {
            both([&](Stream s) { return sum(a, s); });
          } else {
            expect_sum_close(sum(a, g), sum(a, c), a, d);
          }
          both([&](Stream s) { return astype(a, float32, s); });
          both([&](Stream s) { return full({4, 5}, v, s); });
          if (is_floating_point(d)) {
            both([&](Stream s) { return exp(a, s); });
          }
          if (d != bool_) {
            both([&](Stream s) { return arange(-3.0, 50.0, 0.5, d, s); });
          }
          both([&](Stream s) { return zeros({7}, d, s); });
          both([&](Stream s) { return ones({2, 3}, d, s); });
        }
      },
      120);
}

// The flat kernels go by 16-byte vectors (2 to 16 elements by dtype) and
// then a tail; a misaligned view takes the element-wise kernel, and a
// one-element operand is read once, on either side.
TEST_F(Gpu, FlatKernelsCoverTailsMisalignedViewsAndOneElementOperands) {
  with_watchdog(
      [] {
        Stream g = new_stream(gpu), c = new_stream(cpu);
        for (Dtype d : test::kAllDtypes) {
          for (int n : {1, 2, 15, 16, 17, 33, 4099}) {
            SCOPED_TRACE(::testing::Message() << d << " n=" << n);
            array x = random_array({n + 1}, d), y = random_array({n + 1}, d);
            array one = random_array({1}, d);
            // Starting at element 1: contiguous, and off 16-byte alignment.
            array xs = slice(x, {1}, {n + 1}, Device(cpu));
            array ys = slice(y, {0}, {n}, Device(cpu));
            auto both = [&](auto op) { expect_close(op(g), op(c), d); };
            both([&](Stream s) { return add(xs, ys, s); });
            both([&](Stream s) { return multiply(one, ys, s); });
            both([&](Stream s) { return add(xs, one, s); });
            both([&](Stream s) { return multiply(ys, one, s); });
            both([&](Stream s) { return abs(xs, s); });
            // Aligned: made on the GPU (pool blocks are aligned).
            array xg = abs(ys, g), yg = add(xs, ys, g);
            both([&](Stream s) { return multiply(xg, yg, s); });
            both([&](Stream s) { return add(one, yg, s); });
            if (is_floating_point(d)) {
              both([&](Stream s) { return exp(xs, s); });
              both([&](Stream s) { return exp(yg, s); });
            }
          }
        }
      },
      120);
}

TEST_F(Gpu, LargeSumIsRightAndTheSameEveryTime) {
  Stream g = new_stream(gpu);
  array x = random_array({1 << 22}, float32);
  array s1 = sum(x, g), s2 = sum(x, g);
  array ref = sum(astype(x, float64, Device(cpu)), Device(cpu));
  eval(s1, s2, ref);
  EXPECT_EQ(s1.item<float>(), s2.item<float>());
  EXPECT_NEAR(s1.item<float>(), ref.item<double>(),
              1e-5 * (1 << 22) * 4 / 1000);
}

TEST_F(Gpu, GpuToGpuConsumerWaitsForADelayedProducer) {
  with_watchdog([] {
    Stream a = new_stream(gpu), b = new_stream(gpu);
    array x = random_array({1000}, float32);
    array y = rt::delay(x, 300'000, a);  // spins 300 ms on the GPU
    array z = add(y, array(1.0f), b);
    async_eval({z});
    EXPECT_FALSE(b.query());
    EXPECT_NE(z.status(), ArrayStatus::available);
    eval(z);
    expect_close(z, add(x, array(1.0f), Device(cpu)), float32);
    EXPECT_TRUE(a.query());
  });
}

// A stream waits once for a point of another stream: its later readers of
// that point (or of earlier ones) are behind the wait in stream order, and
// every one of them still sees the delayed producer's values.
TEST_F(Gpu, LaterReadersBehindOneWaitSeeTheDelayedProducer) {
  with_watchdog([] {
    Stream a = new_stream(gpu), b = new_stream(gpu);
    array x = random_array({1000}, float32);
    array early = multiply(x, array(3.0f), a);
    array y = rt::delay(add(x, array(0.0f), a), 300'000, a);
    array first = add(y, array(1.0f), b);
    async_eval({first});                         // b waits for y
    array second = multiply(y, array(2.0f), b);  // behind that wait
    array third = add(early, y, b);              // an earlier point of a
    async_eval({second, third});
    EXPECT_FALSE(b.query());
    eval(first, second, third);
    expect_close(first, add(x, array(1.0f), Device(cpu)), float32);
    expect_close(second, multiply(x, array(2.0f), Device(cpu)), float32);
    expect_close(third, multiply(x, array(4.0f), Device(cpu)), float32);
  });
}

// Once a GPU is in use, runnel's host memory is pinned and a copy to the GPU
// runs after its launch returns: the host buffer must outlive the copy even
// when its last handle goes at once, and new CPU arrays must not be given
// its memory meanwhile.
TEST_F(Gpu, HostBufferOutlivesItsCopyToTheGpu) {
  with_watchdog([] {
    Stream g = new_stream(gpu);
    const int n = 1 << 20;
    // The copies queue behind 1 s of spinning.
    array zero = rt::delay(array(0.0f), 1'000'000, g);
    std::vector<array> outs;
    std::vector<std::vector<double>> want;
    for (int i = 0; i < 4; ++i) {
      array x = add(random_array({n}, float32), array(0.0f), Device(cpu));
      eval(x);
      want.push_back(values(x));
      outs.push_back(add(x, zero, g));
      async_eval({outs.back()});
      x = array(0.0f);  // the last handle: its buffer goes once copied
      // Same-sized CPU arrays would take that buffer from the cache.
      array junk = full({n}, array(-7.0f), float32, Device(cpu));
      eval(junk);
    }
    EXPECT_FALSE(g.query());  // the copies were still queued
    for (int i = 0; i < 4; ++i) {
      auto got = values(outs[i]);
      ASSERT_EQ(got.size(), want[i].size());
      for (int k = 0; k < n; ++k) {
        ASSERT_EQ(got[k], want[i][k]) << "array " << i << " element " << k;
      }
    }
  });
}

// A host array's copy on the GPU is made once, by the first stream that
// reads it, and cached on the array: a reader on another stream must wait
// for that copy, which here is queued behind 300 ms of spinning. (Seen as a
// wrong value in LifetimeThreads.ManyShortLivedThreadsEvaluatingLeaveNothing-
// Behind, where threads read one host array on their default streams.)
TEST_F(Gpu, CachedCopyOfAHostArrayIsWaitedForByAnotherStream) {
  with_watchdog([] {
    Stream a = new_stream(gpu), b = new_stream(gpu);
    for (Dtype d : {float32, int64}) {
      array x = random_array({1 << 18}, d);  // host data
      array late = add(x, rt::delay(zeros({1}, d, a), 300'000, a), a);
      async_eval({late});  // launched: x's copy is made on a, behind the spin
      array early = add(x, ones({1}, d, b), b);
      eval(early);
      expect_close(early, add(x, ones({1}, d, Device(cpu)), Device(cpu)), d);
      expect_close(late, x, d);
    }
  });
}

TEST_F(Gpu, CpuToGpuWorkWaitsForAGatedCpuProducerWithoutBlockingTheHost) {
  with_watchdog([] {
    Stream c = new_stream(cpu), g = new_stream(gpu);
    array x = random_array({512}, int32);
    auto gate = rt::block(c);
    array y = add(x, x, c);       // behind the gate
    array z = multiply(y, y, g);  // deferred on the GPU stream
    async_eval({z});              // returns: nothing parked on the device
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_FALSE(g.query());
    EXPECT_NE(z.status(), ArrayStatus::available);
    gate.open();
    eval(z);
    expect_close(
        z,
        multiply(add(x, x, Device(cpu)), add(x, x, Device(cpu)), Device(cpu)),
        int32);
  });
}

TEST_F(Gpu, GpuToCpuStrandParksUntilTheGpuIsDone) {
  with_watchdog([] {
    Stream g = new_stream(gpu), c = new_stream(cpu);
    array x = random_array({4096}, float32);
    array y = rt::delay(multiply(x, x, g), 200'000, g);
    array z = sum(y, c);  // a CPU strand waiting for GPU work
    eval(z);
    array ref = sum(multiply(x, x, Device(cpu)), Device(cpu));
    EXPECT_NEAR(z.item<float>(), ref.item<float>(),
                1e-4 * std::abs(ref.item<float>()));
  });
}

TEST_F(Gpu, WatcherWakesACpuStrandThatNoThreadWaitsFor) {
  // Nobody waits on the host: only the device's watcher (reading the pinned
  // counter the GPU writes) can see the GPU work end and wake the strand.
  with_watchdog([] {
    Stream g = new_stream(gpu), c = new_stream(cpu);
    array x = random_array({4096}, float32);
    array y = rt::delay(multiply(x, x, g), 100'000, g);
    array z = sum(y, c);
    async_eval({z});
    for (int i = 0; i < 10'000 && z.status() != ArrayStatus::available; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_EQ(z.status(), ArrayStatus::available);
    array ref = sum(multiply(x, x, Device(cpu)), Device(cpu));
    EXPECT_NEAR(z.item<float>(), ref.item<float>(),
                1e-4 * std::abs(ref.item<float>()));
  });
}

TEST_F(Gpu, WatcherWakesACpuStrandParkedOnAStreamThatHasLaunchedNothing) {
  // The GPU stream's first work waits for a gated CPU stream, so the CPU
  // strand parks on the GPU stream before it has a CUDA stream. The host
  // waits only on the last CPU stream, which is parked on a CPU stream: the
  // watcher alone can see the GPU work end.
  with_watchdog([] {
    Stream c0 = new_stream(cpu), g = new_stream(gpu);
    Stream c1 = new_stream(cpu), c2 = new_stream(cpu);
    array x = random_array({4096}, float32);
    auto gate = rt::block(c0);
    array a = multiply(x, x, c0);
    array y = abs(a, g);
    array z = add(sum(y, c1), array(1.0f), c2);
    async_eval({z});
    gate.open();
    eval(z);
    array ref = add(sum(multiply(x, x, Device(cpu)), Device(cpu)), array(1.0f),
                    Device(cpu));
    EXPECT_NEAR(z.item<float>(), ref.item<float>(),
                1e-4 * std::abs(ref.item<float>()));
  });
}

TEST_F(Gpu, CpuWorkThatAGpuWaitForIsRunByTheWaitingThreadOrAWorker) {
  // eval of a CPU -> GPU -> CPU -> GPU chain, over and over: the waiting
  // thread runs the CPU links itself where the pool is idle.
  with_watchdog([] {
    Stream c = new_stream(cpu), g = new_stream(gpu);
    array x = random_array({256}, float32);
    array want = x;
    array got = x;
    for (int i = 0; i < 200; ++i) {
      got = add(multiply(add(got, array(1.0f), c), array(0.5f), g), array(2.0f),
                c);
      got = multiply(got, array(1.0f), g);
      eval(got);
      want = add(multiply(add(want, array(1.0f), Device(cpu)), array(0.5f),
                          Device(cpu)),
                 array(2.0f), Device(cpu));
      eval(want);
    }
    expect_close(got, want, float32);
  });
}

TEST_F(Gpu, FreedBlockIsReusedByItsStreamOnlyAfterItsReads) {
  // A block freed while its stream still reads it is cached for that
  // stream: the next allocation there takes it, and writes it only after
  // the reads (stream order).
  with_watchdog([] {
    Device d(gpu, 0);
    Stream s = new_stream(d);
    const int n = 1 << 20;
    array src = random_array({n}, float32);
    array a = multiply(src, array(1.0f), s);
    eval(a);
    array b = add(rt::delay(a, 200'000, s), a, s);  // reads a 200 ms later
    async_eval({b});
    a = array(0.0f);  // a's last handle
    EXPECT_GE(get_cache_memory(d), size_t{4} << 20);
    std::vector<array> later;
    for (int i = 0; i < 4; ++i) {
      later.push_back(full({n}, array(-3.0f), float32, s));
    }
    eval(later);
    eval(b);
    expect_close(b, multiply(src, array(2.0f), Device(cpu)), float32);
    for (array& l : later) {
      expect_close(l, full({n}, array(-3.0f), float32, Device(cpu)), float32);
    }
    later.clear();
    b = array(0.0f);
    synchronize(d);
    // The pool keeps chunks that live arrays (src's copy) still use, so the
    // figure need not reach 0; runnel's own cache goes back to the pool.
    const size_t before = get_cache_memory(d);
    clear_cache(d);
    EXPECT_LE(get_cache_memory(d), before);
  });
}

TEST_F(Gpu, DeferredWorkKeepsItsStreamOrder) {
  // Work behind a gated CPU producer on GPU stream G, then
  // independent work on G from another thread: the later work waits.
  with_watchdog([] {
    Stream c = new_stream(cpu), g = new_stream(gpu);
    auto gate = rt::block(c);
    array x = random_array({64}, float32);
    array early = add(add(x, x, c), array(1.0f), g);
    async_eval({early});
    array later(0.0f);
    std::thread([&] {
      later = multiply(x, array(3.0f), g);
      async_eval({later});
    }).join();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_NE(later.status(), ArrayStatus::available);
    EXPECT_FALSE(g.query());
    gate.open();
    synchronize(g);
    EXPECT_EQ(early.status(), ArrayStatus::available);
    EXPECT_EQ(later.status(), ArrayStatus::available);
    expect_close(later, multiply(x, array(3.0f), Device(cpu)), float32);
  });
}

TEST_F(Gpu, ChainAcrossCpuAndSixteenGpuStreamsWithAFirstLaunchInTheMiddle) {
  // CPU->GPU->CPU->GPU over 16 GPU streams; `abs` runs on the
  // GPU for the first time in the middle (lazy module loading).
  with_watchdog(
      [] {
        std::vector<Stream> gs;
        for (int i = 0; i < 16; ++i) gs.push_back(new_stream(gpu));
        Stream c = new_stream(cpu);
        array x = random_array({1000}, int32);
        array ref = x;
        array v = x;
        for (int i = 0; i < 16; ++i) {
          v = add(v, array(1), gs[i]);
          ref = add(ref, array(1), Device(cpu));
          if (i == 8) {
            v = abs(multiply(v, array(-1), gs[i]), gs[(i + 1) % 16]);
            ref = abs(multiply(ref, array(-1), Device(cpu)), Device(cpu));
          }
          v = add(v, array(2), c);
          ref = add(ref, array(2), Device(cpu));
        }
        eval(v);
        expect_close(v, ref, int32);
      },
      60);
}

TEST_F(Gpu, PingPongBetweenTwoGpuStreamsInOneEval) {
  // A wait on an event record not made yet would read too early (CUDA takes
  // it as complete).
  with_watchdog(
      [] {
        for (int batch : {0, 1}) {
          rt::set_max_batch(batch);
          Stream a = new_stream(gpu), b = new_stream(gpu);
          array x = array(0);
          for (int i = 0; i < 1000; ++i) x = add(x, array(1), i % 2 ? a : b);
          EXPECT_EQ(x.item<int>(), 1000);
        }
        rt::set_max_batch(0);
      },
      60);
}

TEST_F(Gpu, EventsOrderGpuStreams) {
  with_watchdog([] {
    Stream a = new_stream(gpu), b = new_stream(gpu);
    array x = random_array({100}, float32);
    array y = rt::delay(x, 200'000, a);
    async_eval({y});
    Event e;
    e.record(a);
    EXPECT_FALSE(e.query());
    e.wait(b);
    array z = multiply(y, array(2.0f), b);
    eval(z);
    EXPECT_TRUE(e.query());
    expect_close(z, multiply(x, array(2.0f), Device(cpu)), float32);
    e.synchronize();
  });
}

// Timing on a GPU stream uses the GPU's clock: 100 ms of spinning between
// two records measures about 100 ms, whatever the host did meanwhile.
TEST_F(Gpu, EventTimingMeasuresGpuTime) {
  with_watchdog([] {
    Stream g = new_stream(gpu);
    Event a(true), b(true);
    a.record(g);
    array y = rt::delay(array(1.0f), 100'000, g);
    async_eval({y});
    b.record(g);
    double ms = a.elapsed_time(b);
    EXPECT_GE(ms, 95.0);
    EXPECT_LT(ms, 1000.0);
    // Events of two GPU streams on one device compare too.
    Stream h = new_stream(gpu);
    Event c(true);
    c.record(h);
    EXPECT_NO_THROW(a.elapsed_time(c));
  });
}

TEST_F(Gpu, OutOfMemoryRaisesNamingTheSizeAndTheProcessGoesOn) {
  Device d(gpu, 0);
  Stream g = new_stream(d);
  size_t base = get_active_memory(d);
  size_t old = set_memory_limit(base + (1 << 20), d);
  array x = zeros({1 << 22}, float32, g);  // 16 MiB
  try {
    eval(x);
    ADD_FAILURE() << "expected out_of_memory";
  } catch (const out_of_memory& e) {
    EXPECT_NE(std::string(e.what()).find("16.00 MiB asked for"),
              std::string::npos)
        << e.what();
  }
  set_memory_limit(old, d);
  EXPECT_THROW(g.synchronize(), out_of_memory);
  array y = zeros({1 << 22}, float32, g);
  EXPECT_EQ(sum(y, g).item<float>(), 0.0f);
}

TEST_F(Gpu, MemoryFiguresCountGpuBuffers) {
  Device d(gpu, 0);
  Stream g = new_stream(d);
  synchronize(d);
  // What the pool cannot give back: none in a process of its own; in the
  // whole suite, blocks that share the pool's chunks with live arrays.
  clear_cache(d);
  const size_t base_cache = get_cache_memory(d);
  size_t base = get_active_memory(d);
  {
    array x = ones({1 << 20}, float32, g);
    eval(x);
    EXPECT_GE(get_active_memory(d), base + (4u << 20));
    EXPECT_GE(get_peak_memory(d), base + (4u << 20));
  }
  synchronize(d);
  EXPECT_EQ(get_active_memory(d), base);
  EXPECT_GE(get_cache_memory(d), 4u << 20);  // x's block, kept for reuse
  clear_cache(d);
  EXPECT_LE(get_cache_memory(d), base_cache);
}

TEST_F(Gpu, BufferReadByTwoStreamsIsNotReusedUnderEither) {
  with_watchdog([] {
    Stream p = new_stream(gpu), r1 = new_stream(gpu), r2 = new_stream(gpu);
    array src = random_array({1 << 16}, float32);
    array x = multiply(src, array(1.0f), p);
    eval(x);
    // Two slow readers, then drop x: its memory must wait for both.
    array a = sum(rt::delay(x, 200'000, r1), r1);
    array b = sum(rt::delay(x, 300'000, r2), r2);
    async_eval({a, b});
    x = array(0.0f);
    // New arrays on the producer stream would reuse freed memory at once.
    std::vector<array> junk;
    for (int i = 0; i < 8; ++i) junk.push_back(full({1 << 16}, array(7.0f), p));
    eval(junk);
    array ref = sum(src, Device(cpu));
    eval(a, b, ref);
    EXPECT_NEAR(a.item<float>(), ref.item<float>(), 1e-2);
    EXPECT_NEAR(b.item<float>(), ref.item<float>(), 1e-2);
  });
}

TEST_F(Gpu, TrapMarksTheDeviceLostAndTheCpuGoesOn) {
  // In a child process: a lost device stays lost.
  std::string cmd = std::string(RUNNEL_EXIT_CHILD) + " trap";
  int rc = std::system(cmd.c_str());
  EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0) << "status " << rc;
}

TEST_F(Gpu, StreamsFromManyThreadsAtOnce) {
  // Lazy creation (devices, streams, handles) raced from many threads.
  with_watchdog([] {
    std::vector<std::thread> ts;
    std::atomic<int> ok{0};
    for (int t = 0; t < 8; ++t) {
      ts.emplace_back([&] {
        Stream s = default_stream(Device(gpu));
        Stream n = new_stream(gpu);
        array x = add(arange(100, s), arange(100, n), n);
        if (sum(x, s).item<int>() == 9900) ++ok;
      });
    }
    for (auto& t : ts) t.join();
    EXPECT_EQ(ok.load(), 8);
  });
}

// A stream made from another stream's CUDA handle enqueues on that very
// CUDA stream: its work runs after work queued there before, with no runnel
// dependency between them.
TEST_F(Gpu, ExternalStreamSharesTheCudaStreamOfItsHandle) {
  with_watchdog([] {
    Stream owner = new_stream(gpu);
    array slow = rt::delay(array(1.0f), 300'000, owner);
    async_eval({slow});
    void* handle = owner.cuda_stream();  // the delay is on it now
    ASSERT_NE(handle, nullptr);
    Stream ext = Stream::from_external(handle, Device(gpu));
    EXPECT_NE(ext.index(), owner.index());
    EXPECT_EQ(ext.cuda_stream(), handle);
    array x = random_array({4096}, float32);
    array y = add(x, x, ext);  // no runnel dependency on `slow`
    async_eval({y});
    EXPECT_FALSE(ext.query());  // queued behind the delay on the CUDA stream
    eval(y);
    EXPECT_TRUE(owner.query());
    expect_close(y, add(x, x, Device(cpu)), float32);
  });
}

TEST_F(Gpu, CudaStreamOfACpuStreamAndBadExternalHandlesAreRejected) {
  EXPECT_THROW(new_stream(cpu).cuda_stream(), std::invalid_argument);
  EXPECT_THROW(Stream::from_external(nullptr, Device(gpu)),
               std::invalid_argument);
  EXPECT_THROW(
      Stream::from_external(new_stream(gpu).cuda_stream(), Device(cpu)),
      std::invalid_argument);
}

// Views (transposed, sliced with negative steps and offsets, broadcast) read
// right by every GPU kernel, in every dtype: the kernels that read flat get
// a row-major copy first.
TEST_F(Gpu, KernelsReadViewsInEveryDtype) {
  with_watchdog([] {
    for (Dtype d : test::kAllDtypes) {
      array x = random_array({6, 9}, d);
      std::vector<array> views = {
          transpose(x, Device(cpu)),
          slice(x, {5, 1}, {0, 9}, {-2, 3}, Device(cpu)),
          broadcast_to(slice(x, {2, 0}, {3, 9}, Device(cpu)), {4, 9},
                       Device(cpu)),
      };
      for (const array& v : views) {
        auto both = [&](auto f) {
          expect_close(f(Device(gpu)), f(Device(cpu)), d);
        };
        both([&](Device dev) { return abs(v, dev); });
        both([&](Device dev) { return add(v, v, dev); });
        both([&](Device dev) { return astype(v, float32, dev); });
        if (d != bool_) {
          expect_sum_close(sum(v, Device(gpu)), sum(v, Device(cpu)), v, d);
        }
        if (is_floating_point(d)) {
          both([&](Device dev) { return exp(v, dev); });
        }
        // A view taken on the GPU of GPU data.
        array g = abs(x, Device(gpu));
        expect_close(abs(transpose(g, Device(gpu)), Device(gpu)),
                     abs(transpose(x, Device(cpu)), Device(cpu)), d);
      }
    }
  });
}

// copy on the GPU: contiguous copies of views, and reshapes of layouts that
// cannot be views (a copy, then a view).
TEST_F(Gpu, CopiesAndReshapesOfViewsOnTheGpu) {
  with_watchdog([] {
    for (Dtype d : test::kAllDtypes) {
      array x = random_array({5, 7}, d);
      array t = transpose(x, Device(cpu));
      expect_close(contiguous(t, Device(gpu)), contiguous(t, Device(cpu)), d);
      expect_close(reshape(t, {35}, Device(gpu)), reshape(t, {35}, Device(cpu)),
                   d);
      array g = abs(x, Device(gpu));
      expect_close(
          flatten(transpose(g, Device(gpu)), Device(gpu)),
          flatten(transpose(abs(x, Device(cpu)), Device(cpu)), Device(cpu)), d);
    }
  });
}
