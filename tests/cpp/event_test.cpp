// Events on the CPU: record, wait, synchronize, query and
// elapsed_time across CPU streams, with orderings made visible by gates.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "runnel/runnel.h"
#include "runnel/testing.h"
#include "tests/cpp/test_util.h"

using namespace runnel;
namespace rt = runnel::testing;
using namespace std::chrono_literals;

using runnel::test::eventually;
using runnel::test::random_int;

TEST(Event, QueryIsTrueAndSynchronizeReturnsBeforeAnyRecord) {
  test::with_watchdog([] {
    Event e;
    EXPECT_TRUE(e.query());
    e.synchronize();
    Event t(true);
    EXPECT_TRUE(t.query());
  });
}

TEST(Event, WaitBeforeAnyRecordIsANoOp) {
  test::with_watchdog([] {
    Stream s = new_stream(cpu);
    std::atomic<bool> ran{false};
    Event e;
    e.wait(s);
    e.wait();  // the default stream
    rt::enqueue(s, [&] { ran = true; });
    s.synchronize();
    EXPECT_TRUE(ran.load());
    // Recording later does not reach back to the earlier wait.
    rt::Gate g = rt::block(s);
    e.record(s);
    EXPECT_FALSE(e.query());
    g.open();
    e.synchronize();
    EXPECT_TRUE(e.query());
  });
}

TEST(Event, QueryFalseUntilGatedWorkFinishes) {
  test::with_watchdog([] {
    Stream s = new_stream(cpu, random_int(-5, 0));
    std::atomic<bool> ran{false};
    rt::Gate g = rt::block(s);
    rt::enqueue(s, [&] { ran = true; });
    Event e;
    e.record(s);
    EXPECT_FALSE(e.query());
    auto f = std::async(std::launch::async, [&] { e.synchronize(); });
    EXPECT_EQ(f.wait_for(20ms), std::future_status::timeout);
    EXPECT_FALSE(e.query());
    EXPECT_FALSE(ran.load());
    g.open();
    f.get();
    EXPECT_TRUE(ran.load());
    EXPECT_TRUE(e.query());
  });
}

// An event marks the work submitted so far, not what comes after.
TEST(Event, RecordMarksWorkSubmittedSoFarOnly) {
  test::with_watchdog([] {
    Stream s = new_stream(cpu);
    std::atomic<int> step{0};
    rt::Gate g1 = rt::block(s);
    rt::enqueue(s, [&] { step = 1; });
    Event e;
    e.record(s);
    rt::Gate g2 = rt::block(s);
    rt::enqueue(s, [&] { step = 2; });
    g1.open();
    e.synchronize();  // g2 is still closed
    EXPECT_TRUE(e.query());
    EXPECT_EQ(step.load(), 1);
    EXPECT_FALSE(s.query());
    g2.open();
    s.synchronize();
    EXPECT_EQ(step.load(), 2);
  });
}

TEST(Event, ReRecordMovesThePoint) {
  test::with_watchdog([] {
    Stream a = new_stream(cpu), b = new_stream(cpu);
    Event e;
    e.record(a);
    EXPECT_TRUE(eventually([&] { return e.query(); }));
    rt::Gate g = rt::block(b);
    e.record(b);
    EXPECT_FALSE(e.query());
    g.open();
    e.synchronize();
    EXPECT_TRUE(e.query());
  });
}

TEST(Event, RecordTakesDefaultStreamOrDevice) {
  test::with_watchdog([] {
    StreamContext on_cpu{Device(cpu)};  // record() takes the default device's
    Stream d = default_stream(cpu);
    rt::Gate g = rt::block(d);
    Event e1, e2;
    e1.record();
    e2.record(Device(cpu));
    EXPECT_FALSE(e1.query());
    EXPECT_FALSE(e2.query());
    g.open();
    e1.synchronize();
    e2.synchronize();
    EXPECT_TRUE(e1.query() && e2.query());
  });
}

// wait(s) makes s wait on the device side: the host returns at once, and
// s's later work does not run until the recorded point is reached.
TEST(Event, WaitOrdersAnotherStreamWithoutBlockingHost) {
  std::atomic<bool> produced{false};
  std::atomic<int> consumer_saw{-1};
  test::with_watchdog([&] {
    Stream a = new_stream(cpu), b = new_stream(cpu, random_int(-5, 0));
    rt::Gate g = rt::block(a);
    rt::enqueue(a, [&] { produced = true; });
    Event e;
    e.record(a);
    e.wait(b);  // returns although a is gated
    rt::enqueue(b, [&] { consumer_saw = produced ? 1 : 0; });
    // Unrelated work on a third stream runs meanwhile.
    Stream c = new_stream(cpu);
    std::atomic<bool> c_ran{false};
    rt::enqueue(c, [&] { c_ran = true; });
    c.synchronize();
    EXPECT_TRUE(c_ran.load());
    EXPECT_FALSE(b.query());
    EXPECT_EQ(consumer_saw.load(), -1);
    g.open();
    b.synchronize();
  });
  EXPECT_EQ(consumer_saw.load(), 1);
}

// The waiting stream waits for the point, not for a's later work.
TEST(Event, WaitDoesNotWaitForLaterWorkOfRecordedStream) {
  test::with_watchdog([] {
    Stream a = new_stream(cpu), b = new_stream(cpu);
    Event e;
    rt::enqueue(a, [] {});
    e.record(a);
    rt::Gate later = rt::block(a);
    e.wait(b);
    std::atomic<bool> ran{false};
    rt::enqueue(b, [&] { ran = true; });
    b.synchronize();
    EXPECT_TRUE(ran.load());
    EXPECT_FALSE(a.query());
    later.open();
    a.synchronize();
  });
}

TEST(Event, WaitOnRecordedStreamItselfIsInOrder) {
  test::with_watchdog([] {
    Stream s = new_stream(cpu);
    std::vector<int> order;
    rt::Gate g = rt::block(s);
    rt::enqueue(s, [&] { order.push_back(1); });
    Event e;
    e.record(s);
    e.wait(s);
    rt::enqueue(s, [&] { order.push_back(2); });
    g.open();
    s.synchronize();
    EXPECT_EQ(order, (std::vector<int>{1, 2}));
  });
}

// Ping-pong between two streams through events: every step must see the
// step before it, whichever worker runs it.
TEST(Event, PingPongAcrossStreamsKeepsOrder) {
  const int rounds = static_cast<int>(test::scaled(1000));
  std::vector<int> seen;  // touched only by the ordered chain of work
  test::with_watchdog([&] {
    Stream s[2] = {new_stream(cpu), new_stream(cpu, -5)};
    rt::Gate g = rt::block(s[0]);
    for (int i = 0; i < 2 * rounds; ++i) {
      Stream& cur = s[i % 2];
      if (i > 0) {
        Event e;
        e.record(s[(i + 1) % 2]);
        e.wait(cur);
      }
      rt::enqueue(cur, [&seen, i] { seen.push_back(i); });
    }
    g.open();
    s[0].synchronize();
    s[1].synchronize();
  });
  ASSERT_EQ(seen.size(), static_cast<size_t>(2 * rounds));
  for (int i = 0; i < 2 * rounds; ++i) ASSERT_EQ(seen[i], i);
}

// An event recorded on one thread can be waited on and synchronized from
// others.
TEST(Event, UsableFromAnyThread) {
  std::atomic<bool> produced{false}, consumed_after{false};
  test::with_watchdog([&] {
    Stream a = new_stream(cpu), b = new_stream(cpu);
    Event e;
    rt::Gate g = rt::block(a);
    std::thread recorder([&] {
      rt::enqueue(a, [&] { produced = true; });
      e.record(a);
    });
    recorder.join();
    std::thread waiter([&] {
      e.wait(b);
      rt::enqueue(b, [&] { consumed_after = produced.load(); });
    });
    waiter.join();
    auto sync = std::async(std::launch::async, [&] { e.synchronize(); });
    EXPECT_EQ(sync.wait_for(10ms), std::future_status::timeout);
    g.open();
    sync.get();
    b.synchronize();
  });
  EXPECT_TRUE(consumed_after.load());
}

// One event waited on by many streams releases them all.
TEST(Event, ManyStreamsWaitOnOneEvent) {
  const int n = random_int(8, 32);
  std::atomic<int> ran{0};
  test::with_watchdog([&] {
    Stream src = new_stream(cpu);
    rt::Gate g = rt::block(src);
    Event e;
    e.record(src);
    std::vector<Stream> waiters;
    for (int i = 0; i < n; ++i) {
      waiters.push_back(new_stream(cpu, random_int(-5, 0)));
      e.wait(waiters.back());
      rt::enqueue(waiters.back(), [&] { ran.fetch_add(1); });
    }
    for (auto& w : waiters) EXPECT_FALSE(w.query());
    EXPECT_EQ(ran.load(), 0);
    g.open();
    for (auto& w : waiters) w.synchronize();
  });
  EXPECT_EQ(ran.load(), n);
}

TEST(EventTiming, ElapsedTimeCoversADelay) {
  const int64_t us = random_int(15'000, 30'000);
  double ms = 0;
  test::with_watchdog([&] {
    Stream s = new_stream(cpu);
    Event start(true), end(true);
    array x = arange(8, s);
    start.record(s);
    array y = rt::delay(x, us, s);
    async_eval({y});
    end.record(s);
    ms = start.elapsed_time(end);  // waits for both points
    EXPECT_TRUE(end.query());
    EXPECT_EQ(y.status(), ArrayStatus::available);
  });
  EXPECT_GE(ms, static_cast<double>(us) / 1000.0 * 0.999);
  EXPECT_LT(ms, 10'000.0);
}

TEST(EventTiming, ElapsedTimeIsSignedAndSmallForEmptySpan) {
  test::with_watchdog([] {
    Stream s = new_stream(cpu);
    Event a(true), b(true);
    a.record(s);
    b.record(s);
    double ab = a.elapsed_time(b);
    double ba = b.elapsed_time(a);
    EXPECT_GE(ab, 0.0);
    EXPECT_LE(ba, 0.0);
    EXPECT_NEAR(ab, -ba, 1e-9);
  });
}

TEST(EventTiming, ElapsedTimeAcrossCpuStreams) {
  const int64_t us = random_int(10'000, 20'000);
  double ms = 0;
  test::with_watchdog([&] {
    Stream a = new_stream(cpu), b = new_stream(cpu);
    Event start(true), end(true);
    start.record(a);
    start.wait(b);
    rt::enqueue(b, [us] {
      std::this_thread::sleep_for(std::chrono::microseconds(us));
    });
    end.record(b);
    ms = start.elapsed_time(end);
  });
  EXPECT_GE(ms, static_cast<double>(us) / 1000.0 * 0.999);
}

TEST(EventTiming, ElapsedTimeNeedsTimingOnBoth) {
  test::with_watchdog([] {
    Stream s = new_stream(cpu);
    Event plain, timed(true);
    plain.record(s);
    timed.record(s);
    EXPECT_THROW(plain.elapsed_time(timed), std::invalid_argument);
    EXPECT_THROW(timed.elapsed_time(plain), std::invalid_argument);
    EXPECT_THROW(plain.elapsed_time(plain), std::invalid_argument);
    s.synchronize();
  });
}

TEST(EventTiming, ElapsedTimeNeedsBothRecorded) {
  test::with_watchdog([] {
    Stream s = new_stream(cpu);
    Event a(true), b(true);
    EXPECT_THROW(a.elapsed_time(b), std::invalid_argument);
    a.record(s);
    EXPECT_THROW(a.elapsed_time(b), std::invalid_argument);
    EXPECT_THROW(b.elapsed_time(a), std::invalid_argument);
    s.synchronize();
  });
}

TEST(Event, GpuRecordAndWaitRejectedWithoutGpu) {
  if (device_count(gpu) > 0) GTEST_SKIP() << "a GPU is present";
  Event e;
  for (auto fn : {+[](Event& ev) { ev.record(Device(gpu, 0)); },
                  +[](Event& ev) { ev.wait(Device(gpu, 0)); }}) {
    try {
      fn(e);
      ADD_FAILURE() << "expected std::invalid_argument";
    } catch (const std::invalid_argument& ex) {
      EXPECT_NE(std::string(ex.what()).find("Device(gpu, 0)"),
                std::string::npos)
          << ex.what();
    }
  }
}

TEST(EventTiming, ElapsedTimeAcrossDeviceTypesIsRejected) {
  if (device_count(gpu) == 0) GTEST_SKIP() << "needs a GPU";
  test::with_watchdog([] {
    Event c(true), g(true);
    c.record(new_stream(cpu));
    g.record(new_stream(gpu));
    EXPECT_THROW(c.elapsed_time(g), std::invalid_argument);
    EXPECT_THROW(g.elapsed_time(c), std::invalid_argument);
  });
}
