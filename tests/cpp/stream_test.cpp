// Streams on the CPU: handles, indices, priorities, default
// streams, stream contexts, ordering, concurrency, release, synchronize and
// the errors it raises.
#include <gtest/gtest.h>
#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <filesystem>
#include <future>
#include <latch>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "runnel/runnel.h"
#include "runnel/scheduler/pool.h"
#include "runnel/scheduler/stream_state.h"
#include "runnel/testing.h"
#include "tests/cpp/test_util.h"

using namespace runnel;
namespace rt = runnel::testing;
using namespace std::chrono_literals;

using runnel::test::eventually;
using runnel::test::random_int;
using runnel::test::rng;

namespace {

std::string random_tag() { return "tag" + std::to_string(rng()()); }

size_t live_cpu_streams() { return detail::streams_of(Device(cpu)).size(); }

int thread_count() {
  int n = 0;
  for ([[maybe_unused]] auto& e :
       std::filesystem::directory_iterator("/proc/self/task")) {
    ++n;
  }
  return n;
}

int pool_threads() { return detail::Pool::get().num_threads(); }

bool stream_alive(int index) {
  try {
    Stream s(index);
    return true;
  } catch (const std::invalid_argument&) {
    return false;
  }
}

// Occupies every pool worker with a host task that holds it until release:
// afterwards nothing else can run until a blocker is released.
class PoolBlockers {
 public:
  PoolBlockers() {
    int n = pool_threads();
    for (int i = 0; i < n; ++i) {
      streams_.push_back(new_stream(cpu));
      flags_.push_back(std::make_unique<std::atomic<bool>>(false));
    }
    for (int i = 0; i < n; ++i) {
      auto* flag = flags_[i].get();
      rt::enqueue(streams_[i], [this, flag] {
        started_.fetch_add(1);
        while (!flag->load()) std::this_thread::yield();
      });
    }
    EXPECT_TRUE(eventually([&] { return started_.load() == n; }))
        << "not every worker took a blocker";
  }
  ~PoolBlockers() { release_all(); }
  void release_one(int i) { flags_[i]->store(true); }
  void release_all() {
    for (auto& f : flags_) f->store(true);
    for (auto& s : streams_) s.synchronize();
  }

 private:
  std::vector<Stream> streams_;
  std::vector<std::unique_ptr<std::atomic<bool>>> flags_;
  std::atomic<int> started_{0};
};

// Appends to a log from stream work; the mutex makes it safe across strands.
struct OrderLog {
  std::mutex mu;
  std::vector<std::string> items;
  void add(std::string s) {
    std::lock_guard lock(mu);
    items.push_back(std::move(s));
  }
  std::vector<std::string> get() {
    std::lock_guard lock(mu);
    return items;
  }
};

}  // namespace

// ---- Handles, indices, printing ----

TEST(Stream, PrintsDeviceAndIndex) {
  Stream s = new_stream(cpu);
  std::ostringstream os;
  os << s;
  EXPECT_EQ(os.str(),
            "Stream(Device(cpu, 0), " + std::to_string(s.index()) + ")");
  EXPECT_EQ(s.device(), Device(cpu, 0));
}

TEST(Stream, IndicesAreUniqueInTheProcess) {
  std::vector<Stream> keep;
  std::set<int> seen;
  int n = random_int(500, 1000);
  for (int i = 0; i < n; ++i) {
    keep.push_back(new_stream(cpu, random_int(-10, 10)));
    EXPECT_TRUE(seen.insert(keep.back().index()).second);
  }
  // Dropped streams' indices are not reused either.
  std::set<int> dropped(seen);
  keep.clear();
  for (int i = 0; i < 100; ++i) {
    EXPECT_FALSE(dropped.count(new_stream(cpu).index()));
  }
}

TEST(Stream, EqualityAndHashFollowIndex) {
  Stream a = new_stream(cpu), b = new_stream(cpu);
  Stream a2 = a;
  EXPECT_EQ(a, a2);
  EXPECT_FALSE(a == b);
  EXPECT_EQ(std::hash<Stream>()(a), std::hash<Stream>()(a2));
}

TEST(Stream, RebuiltFromIndexOfLiveStreamSharesIt) {
  int p = random_int(-5, 0);
  Stream s = new_stream(cpu, p);
  Stream r(s.index());
  EXPECT_EQ(r, s);
  EXPECT_EQ(r.device(), s.device());
  EXPECT_EQ(r.priority(), p);
  EXPECT_EQ(r.state_ptr(), s.state_ptr());
  // Work through either handle lands on the same ordered queue.
  std::vector<int> order;
  test::with_watchdog([&] {
    rt::Gate g = rt::block(s);
    rt::enqueue(s, [&] { order.push_back(1); });
    rt::enqueue(r, [&] { order.push_back(2); });
    EXPECT_FALSE(r.query());
    g.open();
    r.synchronize();
  });
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

TEST(Stream, RebuildFromDeadIndexRaisesInvalidArgument) {
  int index;
  {
    Stream s = new_stream(cpu);
    index = s.index();
  }
  for (int bad : {index, -1, INT_MAX}) {
    try {
      Stream s(bad);
      ADD_FAILURE() << "Stream(" << bad << ") did not throw";
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()),
                "[stream] no stream with index " + std::to_string(bad));
    }
  }
}

// ---- Priorities ----

TEST(StreamPriority, CpuRangeIsMinusFiveToZero) {
  auto [most, least] = stream_priority_range(cpu);
  EXPECT_EQ(most, -5);
  EXPECT_EQ(least, 0);
  EXPECT_EQ(stream_priority_range(Device(cpu, 0)), std::make_pair(-5, 0));
}

TEST(StreamPriority, ClampedToRange) {
  auto [most, least] = stream_priority_range(cpu);
  EXPECT_EQ(new_stream(cpu).priority(), 0);
  EXPECT_EQ(default_stream(cpu).priority(), 0);
  EXPECT_EQ(new_stream(cpu, most - random_int(1, 1000)).priority(), most);
  EXPECT_EQ(new_stream(cpu, least + random_int(1, 1000)).priority(), least);
  EXPECT_EQ(new_stream(cpu, INT_MIN).priority(), most);
  EXPECT_EQ(new_stream(cpu, INT_MAX).priority(), least);
  for (int p = most; p <= least; ++p) {
    EXPECT_EQ(new_stream(cpu, p).priority(), p);
  }
}

// With every worker busy, a ready urgent strand is taken before a less
// urgent one queued earlier.
TEST(StreamPriority, UrgentStreamRunsFirstWhenAWorkerFrees) {
  OrderLog log;
  test::with_watchdog([&] {
    Stream low = new_stream(cpu, 0);
    Stream urgent = new_stream(cpu, -5);
    Stream mid = new_stream(cpu, -2);
    PoolBlockers blockers;
    rt::enqueue(low, [&] { log.add("low"); });
    rt::enqueue(mid, [&] { log.add("mid"); });
    rt::enqueue(urgent, [&] { log.add("urgent"); });
    blockers.release_one(0);
    // Polled: a synchronize could run the last ready strand on this thread
    // while the worker runs the one before it.
    for (Stream* s : {&low, &mid, &urgent}) {
      EXPECT_TRUE(eventually([&] { return s->query(); }));
    }
  });
  EXPECT_EQ(log.get(), (std::vector<std::string>{"urgent", "mid", "low"}));
}

// A ready strand that has waited for a worker gains one level per 10 ms: a
// least-urgent strand that waited 150 ms (15 levels) beats a fresh urgent one.
TEST(StreamPriority, WaitingStrandAgesPastFreshUrgentOne) {
  OrderLog log;
  test::with_watchdog([&] {
    Stream low = new_stream(cpu, 0);
    Stream urgent = new_stream(cpu, -5);
    PoolBlockers blockers;
    rt::enqueue(low, [&] { log.add("low"); });
    std::this_thread::sleep_for(150ms);
    rt::enqueue(urgent, [&] { log.add("urgent"); });
    blockers.release_one(0);
    low.synchronize();
    urgent.synchronize();
  });
  EXPECT_EQ(log.get(), (std::vector<std::string>{"low", "urgent"}));
}

// A strand that an urgent one waits for runs at the waiter's priority.
TEST(StreamPriority, StrandAwaitedByUrgentOneInheritsItsPriority) {
  OrderLog log;
  test::with_watchdog([&] {
    Stream other = new_stream(cpu, 0);
    Stream awaited = new_stream(cpu, 0);
    Stream urgent = new_stream(cpu, -5);
    PoolBlockers blockers;
    rt::enqueue(other, [&] { log.add("other"); });
    rt::enqueue(awaited, [&] { log.add("awaited"); });
    Event e;
    e.record(awaited);
    e.wait(urgent);
    rt::enqueue(urgent, [&] { log.add("urgent"); });
    blockers.release_one(0);
    // Polled: a synchronize could run a stream on this thread (once
    // `awaited` runs, `other` is the one ready strand, which a waiting
    // thread runs itself).
    for (Stream* s : {&other, &awaited, &urgent}) {
      EXPECT_TRUE(eventually([&] { return s->query(); }));
    }
  });
  EXPECT_EQ(log.get(),
            (std::vector<std::string>{"awaited", "urgent", "other"}));
}

// Inheritance passes down a chain of waits: urgent waits for middle, which
// is parked on bottom; bottom runs before an earlier-queued strand of its
// own level.
TEST(StreamPriority, InheritancePassesDownAChainOfWaits) {
  OrderLog log;
  test::with_watchdog([&] {
    Stream other = new_stream(cpu, 0);
    Stream bottom = new_stream(cpu, 0);
    Stream middle = new_stream(cpu, 0);
    Stream urgent = new_stream(cpu, -5);
    PoolBlockers blockers;
    rt::enqueue(other, [&] { log.add("other"); });
    rt::enqueue(bottom, [&] { log.add("bottom"); });
    Event b;
    b.record(bottom);
    b.wait(middle);  // middle parks on bottom
    rt::enqueue(middle, [&] { log.add("middle"); });
    Event m;
    m.record(middle);
    m.wait(urgent);  // urgent parks on middle: both inherit -5
    rt::enqueue(urgent, [&] { log.add("urgent"); });
    blockers.release_one(0);
    // Polled: a synchronize could run a stream on this thread.
    for (Stream* s : {&other, &bottom, &middle, &urgent}) {
      EXPECT_TRUE(eventually([&] { return s->query(); }));
    }
  });
  EXPECT_EQ(log.get(),
            (std::vector<std::string>{"bottom", "middle", "urgent", "other"}));
}

// ---- Ordering and concurrency ----

TEST(StreamOrder, WorkRunsInSubmissionOrder) {
  const int n = static_cast<int>(test::scaled(20000));
  std::vector<int> seen;
  seen.reserve(n);
  std::vector<int> expected(n);
  test::with_watchdog([&] {
    Stream s = new_stream(cpu, random_int(-5, 0));
    rt::Gate g = rt::block(s);  // queue everything first
    for (int i = 0; i < n; ++i) {
      expected[i] = static_cast<int>(rng()());
      int v = expected[i];
      rt::enqueue(s, [&seen, v] { seen.push_back(v); });
      if (i == n / 2) g.open();  // and the rest while it runs
    }
    s.synchronize();
  });
  EXPECT_EQ(seen, expected);
}

TEST(StreamOrder, WorkFromSeveralThreadsKeepsEachThreadsOrder) {
  const int threads = 4;
  const int per = static_cast<int>(test::scaled(5000));
  std::vector<std::pair<int, int>> seen;  // (thread, i); only the strand
  test::with_watchdog([&] {
    Stream s = new_stream(cpu);
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t) {
      ts.emplace_back([&, t] {
        for (int i = 0; i < per; ++i) {
          rt::enqueue(s, [&seen, t, i] { seen.emplace_back(t, i); });
        }
      });
    }
    for (auto& t : ts) t.join();
    synchronize(s);
  });
  ASSERT_EQ(seen.size(), static_cast<size_t>(threads * per));
  std::vector<int> next(threads, 0);
  for (auto [t, i] : seen) {
    EXPECT_EQ(i, next[t]) << "thread " << t;
    next[t] = i + 1;
  }
}

// Waits for `s` by polling query(): a synchronize would let the waiting
// thread run the stream's work itself, and the tests below are about the
// pool's workers.
bool poll_done(const Stream& s) {
  return eventually([&] { return s.query(); }, 20s);
}

// The ids of the threads that ran tasks, checked to be distinct pool
// workers (none of them the test's own threads).
class Runners {
 public:
  void note() {
    std::lock_guard lock(mu_);
    ids_.push_back(std::this_thread::get_id());
  }
  void expect_distinct_workers(const std::vector<std::thread::id>& not_these) {
    std::lock_guard lock(mu_);
    std::set<std::thread::id> distinct(ids_.begin(), ids_.end());
    EXPECT_EQ(distinct.size(), ids_.size()) << "two tasks shared a thread";
    for (auto id : not_these) EXPECT_EQ(distinct.count(id), 0u);
  }

 private:
  std::mutex mu_;
  std::vector<std::thread::id> ids_;
};

// Work on different streams runs concurrently: one task per worker, each
// waiting for all the others to have started, completes on distinct
// workers while the test only polls.
TEST(StreamConcurrency, EveryWorkerRunsAStreamAtOnce) {
  int n = pool_threads();
  if (n < 2) GTEST_SKIP() << "needs a pool of at least 2 threads, has " << n;
  std::atomic<int> arrived{0};
  std::atomic<int> failed{0};
  Runners runners;
  std::thread::id waiter;
  test::with_watchdog([&] {
    waiter = std::this_thread::get_id();
    std::vector<Stream> streams;
    for (int i = 0; i < n; ++i) streams.push_back(new_stream(cpu));
    for (auto& s : streams) {
      rt::enqueue(s, [&] {
        runners.note();
        arrived.fetch_add(1);
        auto until = std::chrono::steady_clock::now() + 8s;
        while (arrived.load() < n) {
          if (std::chrono::steady_clock::now() > until) {
            failed.fetch_add(1);
            return;
          }
          std::this_thread::yield();
        }
      });
    }
    for (auto& s : streams) EXPECT_TRUE(poll_done(s));
  });
  EXPECT_EQ(failed.load(), 0) << "streams did not all run at once";
  runners.expect_distinct_workers({waiter, std::this_thread::get_id()});
}

TEST(StreamConcurrency, TwoStreamsMeetAtARendezvous) {
  if (pool_threads() < 2) {
    GTEST_SKIP() << "needs a pool of at least 2 threads, has " << pool_threads()
                 << " (see the RUNNEL_CPU_THREADS=2 entry)";
  }
  std::latch meet(2);
  std::atomic<bool> a_done{false}, b_done{false};
  Runners runners;
  std::thread::id waiter;
  test::with_watchdog([&] {
    waiter = std::this_thread::get_id();
    Stream a = new_stream(cpu), b = new_stream(cpu, -3);
    rt::enqueue(a, [&] {
      runners.note();
      meet.arrive_and_wait();
      a_done = true;
    });
    rt::enqueue(b, [&] {
      runners.note();
      meet.arrive_and_wait();
      b_done = true;
    });
    EXPECT_TRUE(poll_done(a));
    EXPECT_TRUE(poll_done(b));
  });
  EXPECT_TRUE(a_done && b_done);
  runners.expect_distinct_workers({waiter, std::this_thread::get_id()});
}

// A stream parked on a gate holds no worker: with one worker per pool thread
// parked streams can outnumber workers and others still run.
TEST(StreamConcurrency, GatedStreamsHoldNoWorker) {
  int n = pool_threads() * 4;
  std::atomic<int> ran{0};
  test::with_watchdog([&] {
    std::vector<Stream> gated;
    std::vector<rt::Gate> gates;
    for (int i = 0; i < n; ++i) {
      gated.push_back(new_stream(cpu));
      gates.push_back(rt::block(gated.back()));
      rt::enqueue(gated.back(), [&] { ran.fetch_add(1); });
    }
    Stream free = new_stream(cpu);
    std::atomic<bool> free_ran{false};
    rt::enqueue(free, [&] { free_ran = true; });
    free.synchronize();
    EXPECT_TRUE(free_ran.load());
    EXPECT_EQ(ran.load(), 0);
    for (auto& s : gated) EXPECT_FALSE(s.query());
    for (auto& g : gates) g.open();
    for (auto& s : gated) s.synchronize();
  });
  EXPECT_EQ(ran.load(), n);
}

// ---- Default streams ----

TEST(DefaultStream, SameOnOneThreadDifferentAcrossThreads) {
  Stream a = default_stream(cpu);
  EXPECT_EQ(default_stream(cpu), a);
  EXPECT_EQ(default_stream(Device(cpu, 0)), a);
  EXPECT_EQ(a.device(), Device(cpu));
  std::vector<int> other(2, -1);
  test::with_watchdog([&] {
    std::thread t1([&] {
      other[0] = default_stream(cpu).index();
      EXPECT_EQ(default_stream(cpu).index(), other[0]);
    });
    std::thread t2([&] { other[1] = default_stream(cpu).index(); });
    t1.join();
    t2.join();
  });
  EXPECT_NE(other[0], a.index());
  EXPECT_NE(other[1], a.index());
  EXPECT_NE(other[0], other[1]);
}

TEST(DefaultStream, ThreadsDoNotSerialiseEachOther) {
  if (pool_threads() < 2) GTEST_SKIP() << "needs a pool of at least 2";
  std::latch meet(2);
  Runners runners;
  std::vector<std::thread::id> waiters(2);
  test::with_watchdog([&] {
    auto body = [&](int i) {
      waiters[i] = std::this_thread::get_id();
      rt::enqueue(default_stream(cpu), [&] {
        runners.note();
        meet.arrive_and_wait();
      });
      EXPECT_TRUE(poll_done(default_stream(cpu)));
    };
    std::thread t1(body, 0), t2(body, 1);
    t1.join();
    t2.join();
  });
  runners.expect_distinct_workers(waiters);
}

TEST(DefaultStream, ReleasedAtThreadExit) {
  int index = -1;
  test::with_watchdog([&] {
    std::thread t([&] {
      Stream s = default_stream(cpu);
      index = s.index();
      rt::enqueue(s, [] {});
      synchronize();
    });
    t.join();
  });
  EXPECT_TRUE(eventually([&] { return !stream_alive(index); }))
      << "Stream " << index << " outlived its thread";
}

TEST(DefaultStream, SetDefaultStreamChangesOnlyThisThreadsDefault) {
  Stream original = default_stream(cpu);
  Device device_before = default_device();
  Stream s = new_stream(cpu, random_int(-5, 0));
  set_default_stream(s);
  EXPECT_EQ(default_stream(cpu), s);
  // Ops with no stream run on it where the CPU is the default device.
  if (device_before == Device(cpu)) {
    EXPECT_EQ(to_stream({}), s);
  }
  EXPECT_EQ(to_stream(Device(cpu)), s);
  EXPECT_EQ(default_device(), device_before);
  int other = -1;
  test::with_watchdog([&] {
    std::thread t([&] { other = default_stream(cpu).index(); });
    t.join();
  });
  EXPECT_NE(other, s.index());
  // Ops with no stream run on it: synchronize() waits for it.
  std::atomic<bool> ran{false};
  test::with_watchdog([&] {
    rt::Gate g = rt::block(s);
    rt::enqueue(s, [&] { ran = true; });
    auto f = std::async(std::launch::async, [&] { s.synchronize(); });
    EXPECT_EQ(f.wait_for(20ms), std::future_status::timeout);
    g.open();
    f.get();
  });
  EXPECT_TRUE(ran.load());
  set_default_stream(original);
  EXPECT_EQ(default_stream(cpu), original);
}

TEST(DefaultStream, ClearStreamsForgetsDefaultsButWorkStillCompletes) {
  std::atomic<bool> ran{false};
  int old_index;
  rt::Gate g = [&] {
    Stream s = default_stream(cpu);
    old_index = s.index();
    rt::Gate gate = rt::block(s);
    rt::enqueue(s, [&] { ran = true; });
    return gate;
  }();
  clear_streams();
  Stream fresh = default_stream(cpu);
  EXPECT_NE(fresh.index(), old_index);
  EXPECT_TRUE(stream_alive(old_index));  // its pending work holds it
  EXPECT_FALSE(ran.load());
  g.open();
  EXPECT_TRUE(eventually([&] { return ran.load(); }));
  EXPECT_TRUE(eventually([&] { return !stream_alive(old_index); }));
}

TEST(DefaultStream, ClearStreamsErrorsSurfaceAtWaitsOnItsArrays) {
  array a = array({1.0f, 2.0f, 3.0f});
  array c = a;
  rt::set_fault("op:add:1");
  {
    c = add(a, a);  // on this thread's default stream
    async_eval({c});
  }
  clear_streams();
  test::with_watchdog([&] {
    EXPECT_THROW(eval(c), std::runtime_error);
    EXPECT_THROW(eval(c), std::runtime_error);  // an array's error stays
  });
  rt::set_fault("");
}

// ---- Stream contexts ----

TEST(StreamContext, InsideDefaultsAreTheContextsStream) {
  test::with_watchdog([&] {
    Stream original = default_stream(cpu);
    Stream s = new_stream(cpu);
    {
      StreamContext c(s);
      EXPECT_EQ(default_device(), s.device());
      EXPECT_EQ(default_stream(cpu), s);
      EXPECT_EQ(to_stream({}), s);
      std::atomic<bool> ran{false};
      rt::Gate g = rt::block(s);
      rt::enqueue(s, [&] { ran = true; });
      EXPECT_FALSE(s.query());
      g.open();
      synchronize();  // the default stream of the default device: s
      EXPECT_TRUE(ran.load());
      // Ops given no stream run on it.
      array a = arange(4);
      EXPECT_FALSE(a.status() == ArrayStatus::available);
      rt::Gate g2 = rt::block(s);
      async_eval({a});
      EXPECT_FALSE(s.query());
      g2.open();
      synchronize();
      EXPECT_EQ(a.status(), ArrayStatus::available);
    }
    EXPECT_EQ(default_stream(cpu), original);
  });
}

TEST(StreamContext, DeviceContextUsesThatDevicesDefaultStream) {
  Stream original = default_stream(cpu);
  {
    StreamContext c{Device(cpu)};
    EXPECT_EQ(default_device(), Device(cpu));
    EXPECT_EQ(default_stream(cpu), original);
  }
  {
    StreamContext c(cpu);
    EXPECT_EQ(default_stream(cpu), original);
  }
  EXPECT_EQ(default_stream(cpu), original);
}

TEST(StreamContext, NestingRestoresEachLevel) {
  Stream original = default_stream(cpu);
  Device device_before = default_device();
  Stream s1 = new_stream(cpu), s2 = new_stream(cpu), s3 = new_stream(cpu);
  {
    StreamContext c1(s1);
    EXPECT_EQ(default_stream(cpu), s1);
    {
      StreamContext c2(s2);
      EXPECT_EQ(default_stream(cpu), s2);
      {
        StreamContext c3(s3);
        EXPECT_EQ(default_stream(cpu), s3);
        {
          StreamContext c4(cpu);
          EXPECT_EQ(default_stream(cpu), s3);
        }
        EXPECT_EQ(default_stream(cpu), s3);
      }
      EXPECT_EQ(default_stream(cpu), s2);
    }
    EXPECT_EQ(default_stream(cpu), s1);
  }
  EXPECT_EQ(default_stream(cpu), original);
  EXPECT_EQ(default_device(), device_before);
}

TEST(StreamContext, ExceptionInNestedContextsRestoresExactly) {
  Stream original = default_stream(cpu);
  Device device_before = default_device();
  Stream s1 = new_stream(cpu), s2 = new_stream(cpu);
  std::string tag = random_tag();
  try {
    StreamContext c1(s1);
    StreamContext c2(s2);
    set_default_stream(new_stream(cpu));
    throw std::runtime_error(tag);
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(e.what(), tag);
  }
  EXPECT_EQ(default_stream(cpu), original);
  EXPECT_EQ(default_device(), device_before);
  // And a context that fails to start leaves nothing behind.
  EXPECT_THROW(StreamContext c{StreamOrDevice{}}, std::invalid_argument);
  EXPECT_EQ(default_stream(cpu), original);
}

TEST(StreamContext, SetDefaultStreamInsideIsUndoneAtExit) {
  Stream original = default_stream(cpu);
  Stream s = new_stream(cpu), inner = new_stream(cpu);
  {
    StreamContext c(s);
    set_default_stream(inner);
    EXPECT_EQ(default_stream(cpu), inner);
  }
  EXPECT_EQ(default_stream(cpu), original);
}

TEST(StreamContext, SetDefaultDeviceInsideIsKept) {
  Device before = default_device();
  {
    StreamContext c(new_stream(cpu));
    set_default_device(cpu);
  }
  EXPECT_EQ(default_device(), Device(cpu));
  set_default_device(before);
}

TEST(StreamContext, OtherThreadsAreNeverAffected) {
  Stream main_default = default_stream(cpu);
  Stream s = new_stream(cpu);
  test::with_watchdog([&] {
    // A context here does not change another thread's defaults.
    std::promise<void> entered, checked;
    int other_default = -1, other_in_ctx = -1, other_after = -1;
    std::thread t([&] {
      other_default = default_stream(cpu).index();
      entered.get_future().wait();
      other_in_ctx = default_stream(cpu).index();
      checked.set_value();
    });
    {
      StreamContext c(s);
      entered.set_value();
      checked.get_future().wait();
      EXPECT_EQ(default_stream(cpu), s);
    }
    t.join();
    EXPECT_EQ(other_in_ctx, other_default);
    EXPECT_NE(other_in_ctx, s.index());

    // And a context on another thread does not change ours.
    std::promise<void> in_ctx, done;
    std::thread u([&] {
      StreamContext c(s);
      in_ctx.set_value();
      done.get_future().wait();
      other_after = default_stream(cpu).index();
    });
    in_ctx.get_future().wait();
    EXPECT_NE(default_stream(cpu), s);
    done.set_value();
    u.join();
    EXPECT_EQ(other_after, s.index());
  });
  EXPECT_EQ(default_stream(cpu), main_default);
}

// ---- Release ----

TEST(StreamRelease, MillionStreamsLeaveCountAndMemoryFlat) {
  const long n = test::scaled(1'000'000);
  // Warm up lazily created singletons.
  { eval(add(arange(8, new_stream(cpu)), array(1))); }
  size_t streams_before = live_cpu_streams();
  size_t memory_before = get_active_memory(cpu);
  // The heap too: stream states, timelines and registry entries are not in
  // runnel's accounting. (Sanitizer builds have their own allocator, which
  // mallinfo2 does not see; their leak checks cover it.)
  const size_t heap_before = mallinfo2().uordblks;
  test::with_watchdog(
      [&] {
        for (long i = 0; i < n; ++i) {
          Stream s = new_stream(cpu, static_cast<int>(i % 7) - 6);
          if (i % 1000 == 0) {
            array a = add(arange(64, s), array(static_cast<int>(i)), s);
            eval(a);
            ASSERT_EQ(a.data<int>()[63], 63 + static_cast<int>(i));
          } else if (i % 100 == 0) {
            rt::enqueue(s, [] {});
          }
        }
      },
      120.0);
  EXPECT_TRUE(eventually([&] { return live_cpu_streams() <= streams_before; }))
      << live_cpu_streams() << " streams live, " << streams_before << " before";
  EXPECT_TRUE(eventually([&] {
    return get_active_memory(cpu) <= memory_before;
  })) << get_active_memory(cpu)
      << " bytes active, " << memory_before << " before";
  // A million leaked states would be hundreds of MiB; 8 MiB leaves room for
  // caches that grew to the peak (per-thread block lists, the registry).
  const size_t heap_after = mallinfo2().uordblks;
  EXPECT_LT(heap_after, heap_before + (8u << 20))
      << "heap grew from " << heap_before << " to " << heap_after << " bytes";
}

TEST(StreamRelease, PendingWorkKeepsStateAliveUntilDone) {
  int index;
  std::atomic<bool> ran{false};
  rt::Gate g = [&] {
    Stream s = new_stream(cpu);
    index = s.index();
    rt::Gate gate = rt::block(s);
    rt::enqueue(s, [&] { ran = true; });
    return gate;
  }();
  EXPECT_TRUE(stream_alive(index));
  EXPECT_FALSE(ran.load());
  g.open();
  EXPECT_TRUE(eventually([&] { return ran.load(); }));
  EXPECT_TRUE(eventually([&] { return !stream_alive(index); }));
}

TEST(StreamRelease, ArrayBoundToStreamKeepsItAlive) {
  int index;
  array a = array(0);
  {
    Stream s = new_stream(cpu);
    index = s.index();
    a = arange(16, s);
  }
  EXPECT_TRUE(stream_alive(index));
  {
    Stream back(index);
    EXPECT_EQ(back.index(), index);
  }
  a = array(0);
  EXPECT_TRUE(eventually([&] { return !stream_alive(index); }));
}

TEST(StreamRelease, TenThousandStreamsMakeNoMoreThreadsThanThePool) {
  const int n = static_cast<int>(test::scaled(10'000));
  pool_threads();  // the pool exists before the baseline
  const int before = thread_count();
  const int bound = std::max(before, 1 + pool_threads()) + 3;
  std::atomic<int> ran{0};
  int peak = before;
  test::with_watchdog(
      [&] {
        std::vector<Stream> streams;
        std::vector<rt::Gate> gates;
        for (int i = 0; i < n; ++i) {
          streams.push_back(new_stream(cpu, random_int(-5, 0)));
          if (i % 2 == 0) gates.push_back(rt::block(streams.back()));
          rt::enqueue(streams.back(), [&] { ran.fetch_add(1); });
          if (i % 1000 == 0) peak = std::max(peak, thread_count());
        }
        peak = std::max(peak, thread_count());
        for (auto& g : gates) g.open();
        for (auto& s : streams) s.synchronize();
        peak = std::max(peak, thread_count());
      },
      60.0);
  EXPECT_EQ(ran.load(), n);
  // One more thread than the baseline: the watchdog's own.
  EXPECT_LE(peak, bound + 1) << "pool has " << pool_threads() << " threads";
}

TEST(StreamRelease, StreamsCreatedFromManyThreadsAtOnce) {
  const int threads = 8;
  const int per = static_cast<int>(test::scaled(2000));
  std::vector<std::vector<int>> indices(threads);
  std::atomic<int> ran{0};
  test::with_watchdog([&] {
    std::latch start(threads);
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t) {
      ts.emplace_back([&, t] {
        start.arrive_and_wait();
        indices[t].push_back(default_stream(cpu).index());
        std::vector<Stream> mine;
        for (int i = 0; i < per; ++i) {
          mine.push_back(new_stream(cpu, random_int(-5, 0) * (i & 1)));
          indices[t].push_back(mine.back().index());
          rt::enqueue(mine.back(), [&] { ran.fetch_add(1); });
        }
        for (auto& s : mine) s.synchronize();
        synchronize();
      });
    }
    for (auto& t : ts) t.join();
  });
  std::set<int> all;
  for (auto& v : indices) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(threads * (per + 1)));
  EXPECT_EQ(ran.load(), threads * per);
}

// ---- Synchronize and query ----

TEST(Synchronize, StreamWaitsForEverythingSubmittedSoFar) {
  Stream s = new_stream(cpu);
  std::atomic<int> done{0};
  test::with_watchdog([&] {
    rt::Gate g = rt::block(s);
    for (int i = 0; i < 10; ++i) rt::enqueue(s, [&] { done++; });
    auto f = std::async(std::launch::async, [&] { synchronize(s); });
    EXPECT_EQ(f.wait_for(20ms), std::future_status::timeout);
    EXPECT_EQ(done.load(), 0);
    g.open();
    f.get();
    EXPECT_EQ(done.load(), 10);
  });
}

TEST(Synchronize, DoesNotWaitForWorkSubmittedAfterIt) {
  Stream s = new_stream(cpu);
  test::with_watchdog([&] {
    rt::Gate g1 = rt::block(s);
    auto f = std::async(std::launch::async, [&] {
      synchronize(s);  // covers g1 only
    });
    // Give the waiter time to start before more work arrives.
    EXPECT_EQ(f.wait_for(100ms), std::future_status::timeout);
    rt::Gate g2 = rt::block(s);
    g1.open();
    if (f.wait_for(5s) != std::future_status::ready) {
      ADD_FAILURE() << "synchronize(s) waited for work submitted after it";
      g2.open();
    }
    f.get();
    EXPECT_FALSE(s.query());
    g2.open();
    s.synchronize();
    EXPECT_TRUE(s.query());
  });
}

TEST(Synchronize, NoArgumentWaitsForDefaultStreamOfDefaultDevice) {
  std::atomic<bool> ran{false};
  test::with_watchdog([&] {
    std::promise<Stream> made;
    std::promise<void> go;
    auto waiter = std::async(std::launch::async, [&] {
      made.set_value(default_stream(default_device()));
      go.get_future().wait();
      synchronize();
    });
    Stream d = made.get_future().get();
    rt::Gate g = rt::block(d);
    rt::enqueue(d, [&] { ran = true; });
    // Another thread's synchronize() waits for its own default stream only.
    synchronize();
    go.set_value();
    EXPECT_EQ(waiter.wait_for(20ms), std::future_status::timeout);
    EXPECT_FALSE(ran.load());
    g.open();
    waiter.get();
    EXPECT_TRUE(ran.load());
  });
}

TEST(Synchronize, DeviceWaitsForEveryStreamOfIt) {
  const int n = random_int(3, 6);
  std::atomic<int> done{0};
  test::with_watchdog([&] {
    std::vector<Stream> streams;
    std::vector<rt::Gate> gates;
    for (int i = 0; i < n; ++i) {
      streams.push_back(new_stream(cpu, random_int(-5, 0)));
      gates.push_back(rt::block(streams.back()));
      rt::enqueue(streams.back(), [&] { done++; });
    }
    auto f = std::async(std::launch::async, [] { synchronize(Device(cpu)); });
    for (int i = 0; i < n; ++i) {
      EXPECT_EQ(f.wait_for(5ms), std::future_status::timeout) << i;
      gates[i].open();
    }
    f.get();
    EXPECT_EQ(done.load(), n);
    for (auto& s : streams) EXPECT_TRUE(s.query());
  });
}

TEST(Synchronize, QueryIsFalseWhileWorkIsPending) {
  Stream s = new_stream(cpu);
  EXPECT_TRUE(s.query());  // nothing submitted
  test::with_watchdog([&] {
    rt::Gate g = rt::block(s);
    rt::enqueue(s, [] {});
    EXPECT_FALSE(s.query());
    EXPECT_FALSE(s.query());
    g.open();
    EXPECT_TRUE(eventually([&] { return s.query(); }));
    s.synchronize();
  });
}

// ---- Errors at synchronize ----

TEST(StreamErrors, RaisedAtSynchronizeExactlyOnce) {
  Stream s = new_stream(cpu);
  std::string tag = random_tag();
  std::atomic<bool> after{false};
  test::with_watchdog([&] {
    rt::enqueue(s, [&] { throw std::runtime_error(tag); });
    // The timeline advances past failed work: later work still runs.
    rt::enqueue(s, [&] { after = true; });
    try {
      synchronize(s);
      ADD_FAILURE() << "synchronize did not raise";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(tag), std::string::npos) << e.what();
    }
    EXPECT_TRUE(after.load());
    EXPECT_NO_THROW(synchronize(s));  // cleared
    // Usable afterwards.
    std::atomic<bool> again{false};
    rt::enqueue(s, [&] { again = true; });
    EXPECT_NO_THROW(s.synchronize());
    EXPECT_TRUE(again.load());
  });
}

TEST(StreamErrors, KindIsKept) {
  Stream s = new_stream(cpu);
  test::with_watchdog([&] {
    rt::enqueue(s, [] { throw std::invalid_argument("bad"); });
    EXPECT_THROW(s.synchronize(), std::invalid_argument);
    rt::enqueue(s, [] { throw std::out_of_range("far"); });
    EXPECT_THROW(s.synchronize(), std::out_of_range);
    EXPECT_NO_THROW(s.synchronize());
  });
}

TEST(StreamErrors, QueryRaisesPendingErrorOnce) {
  Stream s = new_stream(cpu);
  std::string tag = random_tag();
  test::with_watchdog([&] {
    rt::Gate g = rt::block(s);
    rt::enqueue(s, [&] { throw std::runtime_error(tag); });
    EXPECT_FALSE(s.query());  // not done: nothing raised yet
    g.open();
    bool raised = false;
    ASSERT_TRUE(eventually([&] {
      try {
        return s.query();
      } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find(tag), std::string::npos);
        raised = true;
        return true;
      }
    }));
    EXPECT_TRUE(raised);
    EXPECT_TRUE(s.query());
    EXPECT_NO_THROW(s.synchronize());
  });
}

TEST(StreamErrors, EarliestErrorRaisedOthersAsNotes) {
  Stream s = new_stream(cpu);
  std::string first = random_tag(), second = random_tag();
  test::with_watchdog([&] {
    rt::enqueue(s, [&] { throw std::invalid_argument(first); });
    rt::enqueue(s, [&] { throw std::runtime_error(second); });
    try {
      s.synchronize();
      ADD_FAILURE() << "no error";
    } catch (const std::invalid_argument& e) {
      std::string msg = e.what();
      EXPECT_LT(msg.find(first), msg.find(second)) << msg;
      EXPECT_NE(msg.find(second), std::string::npos) << msg;
    }
    EXPECT_NO_THROW(s.synchronize());
  });
}

TEST(StreamErrors, DeviceSynchronizeRaisesAndClearsEveryStreamsErrors) {
  Stream a = new_stream(cpu), b = new_stream(cpu);
  std::string ta = random_tag(), tb = random_tag();
  test::with_watchdog([&] {
    rt::enqueue(a, [&] { throw std::runtime_error(ta); });
    rt::enqueue(b, [&] { throw std::runtime_error(tb); });
    try {
      synchronize(Device(cpu));
      ADD_FAILURE() << "no error";
    } catch (const std::runtime_error& e) {
      std::string msg = e.what();
      EXPECT_NE(msg.find(ta), std::string::npos) << msg;
      EXPECT_NE(msg.find(tb), std::string::npos) << msg;
    }
    EXPECT_NO_THROW(synchronize(Device(cpu)));
    EXPECT_NO_THROW(a.synchronize());
    EXPECT_NO_THROW(b.synchronize());
  });
}

// Errors of several streams: the one that happened first is raised (with
// its kind), whatever order the registry keeps the streams in.
TEST(StreamErrors, DeviceSynchronizeRaisesTheEarliestError) {
  test::with_watchdog([&] {
    for (int round = 0; round < 6; ++round) {
      std::vector<Stream> streams{new_stream(cpu), new_stream(cpu),
                                  new_stream(cpu)};
      std::shuffle(streams.begin(), streams.end(), rng());
      std::string first = random_tag(), later = random_tag();
      // streams[0] fails first; the others fail once it has.
      rt::enqueue(streams[0], [&] { throw std::invalid_argument(first); });
      ASSERT_TRUE(
          eventually([&] { return !streams[0].state().errors.empty(); }));
      rt::enqueue(streams[1], [&] { throw std::runtime_error(later); });
      rt::enqueue(streams[2], [&] { throw std::out_of_range(later); });
      ASSERT_TRUE(eventually([&] {
        return !streams[1].state().errors.empty() &&
               !streams[2].state().errors.empty();
      }));
      try {
        synchronize(Device(cpu));
        ADD_FAILURE() << "no error";
      } catch (const std::invalid_argument& e) {
        std::string msg = e.what();
        EXPECT_LT(msg.find(first), msg.find(later)) << msg;
        EXPECT_NE(msg.find(later), std::string::npos) << msg;
      } catch (const std::exception& e) {
        ADD_FAILURE() << "a later error was raised first: " << e.what();
      }
      EXPECT_NO_THROW(synchronize(Device(cpu)));
    }
  });
}

TEST(StreamErrors, DefaultSynchronizeRaisesDefaultStreamsError) {
  std::string tag = random_tag();
  test::with_watchdog([&] {
    // synchronize() is about the default device: make that the CPU here.
    StreamContext on_cpu{Device(cpu)};
    rt::enqueue(default_stream(cpu), [&] { throw std::runtime_error(tag); });
    EXPECT_THROW(synchronize(), std::runtime_error);
    EXPECT_NO_THROW(synchronize());
  });
}

TEST(StreamErrors, InjectedOpFaultNamesOpAndStream) {
  Stream s = new_stream(cpu);
  std::vector<float> va(8), vb(8);
  std::uniform_real_distribution<float> dist(-10, 10);
  for (auto& v : va) v = dist(rng());
  for (auto& v : vb) v = dist(rng());
  array a(va, {8}), b(vb, {8});
  rt::set_fault("op:add:1");
  array bad = add(a, b, s);
  array good = array(0.0f);
  test::with_watchdog([&] {
    async_eval({bad});
    try {
      synchronize(s);
      ADD_FAILURE() << "no error";
    } catch (const std::runtime_error& e) {
      std::string msg = e.what();
      std::ostringstream name;
      name << s;
      EXPECT_NE(msg.find("add"), std::string::npos) << msg;
      EXPECT_NE(msg.find(name.str()), std::string::npos) << msg;
    }
    EXPECT_NO_THROW(synchronize(s));
    // The array keeps its error; the stream is usable.
    EXPECT_THROW(eval(bad), std::runtime_error);
    good = add(a, b, s);
    eval(good);
    EXPECT_NO_THROW(synchronize(s));
  });
  rt::set_fault("");
  for (int i = 0; i < 8; ++i) EXPECT_EQ(good.data<float>()[i], va[i] + vb[i]);
}
