// A thread that waits for a CPU stream runs the stream's queued work itself
// when no other strand is ready (CpuStream::help): proven by occupying every
// worker first, so that only the waiting thread can run it.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <random>
#include <thread>
#include <vector>

#include "runnel/runnel.h"
#include "runnel/scheduler/pool.h"
#include "runnel/testing.h"
#include "tests/cpp/test_util.h"

using namespace runnel;
namespace rt = runnel::testing;
using runnel::test::rng;
using runnel::test::with_watchdog;

namespace {

// Holds every pool worker in a task on its own stream until release().
class BusyWorkers {
 public:
  BusyWorkers() : n_(detail::Pool::get().num_threads()), release_(1) {
    for (int i = 0; i < n_; ++i) {
      streams_.push_back(new_stream(cpu));
      rt::enqueue(streams_.back(), [this] {
        started_.fetch_add(1);
        release_.wait();
      });
    }
    while (started_.load() < n_) std::this_thread::yield();
  }
  ~BusyWorkers() {
    release();
    for (auto& s : streams_) synchronize(s);
  }
  void release() {
    if (!released_.exchange(true)) release_.count_down();
  }

 private:
  const int n_;
  std::latch release_;
  std::atomic<int> started_{0};
  std::atomic<bool> released_{false};
  std::vector<Stream> streams_;
};

}  // namespace

TEST(Help, SynchronizeRunsTheQueuedWorkOnTheWaitingThread) {
  with_watchdog([] {
    BusyWorkers busy;
    Stream s = new_stream(cpu);
    std::thread::id ran_on;
    rt::enqueue(s, [&] { ran_on = std::this_thread::get_id(); });
    synchronize(s);  // every worker is busy: only this thread can run it
    EXPECT_EQ(ran_on, std::this_thread::get_id());
  });
}

// eval runs the ops it waits for and stops there: work queued after them
// stays for the pool (it runs once a worker is free), and the values are
// right.
TEST(Help, EvalStopsAtWhatItWaitsFor) {
  with_watchdog([] {
    BusyWorkers busy;
    Stream s = new_stream(cpu);
    std::uniform_real_distribution<float> u(-10.0f, 10.0f);
    std::vector<float> a(64), b(64);
    for (int i = 0; i < 64; ++i) a[i] = u(rng()), b[i] = u(rng());
    array x = multiply(add(array(a, {64}), array(b, {64}), s), array(2.0f), s);
    async_eval({x});
    std::atomic<bool> later_ran{false};
    std::thread::id later_on;
    rt::enqueue(s, [&] {
      later_on = std::this_thread::get_id();
      later_ran.store(true);
    });
    eval(x);
    for (int i = 0; i < 64; ++i) {
      ASSERT_EQ(x.data<float>()[i], (a[i] + b[i]) * 2.0f) << i;
    }
    EXPECT_FALSE(later_ran.load());  // queued behind x: left to the pool
    busy.release();
    synchronize(s);
    EXPECT_TRUE(later_ran.load());
  });
}

// Another strand ready too keeps its turn: the waiting thread does not
// jump the queue but waits for a worker to run its stream.
TEST(Help, AnotherReadyStrandKeepsItsTurn) {
  with_watchdog([] {
    BusyWorkers busy;
    Stream first = new_stream(cpu), mine = new_stream(cpu);
    std::thread::id mine_on;
    rt::enqueue(first, [] {});
    rt::enqueue(mine, [&] { mine_on = std::this_thread::get_id(); });
    std::thread opener([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      busy.release();
    });
    synchronize(mine);
    opener.join();
    EXPECT_NE(mine_on, std::this_thread::get_id());
    synchronize(first);
  });
}
