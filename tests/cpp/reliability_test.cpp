// Stream promises under faults and races, one test per defect a review of
// the runtime found: each failed before its fix.
#include <gtest/gtest.h>

#include <atomic>
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
using runnel::test::random_floats;
using runnel::test::with_watchdog;

using runnel::test::Fault;
using runnel::test::to_array;

// A failure that reached the user through its array (eval, item) is not
// raised again by a later synchronize of its stream or device: it was
// raised twice before (once by eval, again by the next synchronize).
TEST(ReliabilityErrors, FailureRaisedThroughItsArrayIsNotRaisedAgainBySync) {
  with_watchdog([] {
    Stream a = new_stream(cpu);
    array x = to_array(random_floats(64));
    array m = multiply(x, x, a);
    {
      Fault fault("op:multiply:1");
      EXPECT_THROW(eval({m}), std::runtime_error);
    }
    EXPECT_NO_THROW(synchronize(a));
    EXPECT_NO_THROW(synchronize(Device(cpu)));
    // The array keeps raising it: its value does not exist.
    EXPECT_THROW(eval({m}), std::runtime_error);
    EXPECT_THROW(sum(m, a).item<float>(), std::runtime_error);
    EXPECT_THROW(eval({add(m, x, a)}), std::runtime_error);
    EXPECT_NO_THROW(synchronize(a));
  });
}

// A failure nobody waited for through an array is raised by the stream's
// synchronize exactly once, and a device-wide synchronize after it finds
// nothing left.
TEST(ReliabilityErrors, UnwaitedFailureIsRaisedOnceAcrossStreamAndDeviceSync) {
  with_watchdog([] {
    Stream a = new_stream(cpu);
    array x = to_array(random_floats(64));
    array m = multiply(x, x, a);
    {
      Fault fault("op:multiply:1");
      async_eval({m});
      EXPECT_THROW(synchronize(a), std::runtime_error);
    }
    EXPECT_NO_THROW(synchronize(a));
    EXPECT_NO_THROW(synchronize(Device(cpu)));
  });
}

// The registry must not drop a stream's last handle under its own lock: a
// stream dropped by its owner while streams_of held a handle to it used to
// run the state's destructor (which takes the registry lock) inside
// streams_of, and the thread deadlocked on itself.
TEST(ReliabilityRegistry, ListingStreamsWhileOthersAreDroppedDoesNotDeadlock) {
  with_watchdog(
      [] {
        std::atomic<bool> stop{false};
        std::thread dropper([&] {
          const long rounds = runnel::test::scaled(2000);
          std::vector<Stream> batch;
          for (long r = 0; r < rounds; ++r) {
            for (int i = 0; i < 256; ++i) batch.push_back(new_stream(cpu));
            batch.clear();  // each stream's last handle, while listed
          }
          stop = true;
        });
        // Another device's streams: every CPU stream seen is dropped here.
        int64_t listed = 0;
        while (!stop.load()) {
          listed +=
              static_cast<int64_t>(detail::streams_of(Device(gpu, 0)).size());
        }
        dropper.join();
        EXPECT_EQ(listed, 0);
      },
      30.0, "streams_of racing with dropped streams");
}

// An urgent stream's op starts at the next op boundary of the work in its
// way: with every worker busy on long segments of less urgent streams, it
// used to wait until a worker finished a whole segment.
TEST(ReliabilityPriority, UrgentOpRunsAtTheNextOpBoundaryOfBusyWorkers) {
  with_watchdog(
      [] {
        const int workers = detail::Pool::get().num_threads();
        constexpr int kOps = 60;  // 2 ms each: a segment of 120 ms
        const uint64_t before = runnel::testing::execution_count("delay");
        std::vector<Stream> busy;
        std::vector<array> outs;
        for (int i = 0; i < 2 * workers; ++i) {
          busy.push_back(new_stream(cpu));
          array x = zeros({4}, float32, busy.back());
          for (int k = 0; k < kOps; ++k) {
            x = runnel::testing::delay(x, 2000, busy.back());
          }
          outs.push_back(x);
        }
        async_eval(outs);
        // Every worker is inside a segment once delays have started running
        // on each of them.
        while (runnel::testing::execution_count("delay") - before <
               static_cast<uint64_t>(workers)) {
          std::this_thread::yield();
        }
        Stream urgent = new_stream(cpu, stream_priority_range(cpu).first);
        array y = add(to_array(random_floats(4)), array(1.0f), urgent);
        eval({y});
        const uint64_t ran = runnel::testing::execution_count("delay") - before;
        // At an op boundary each busy worker ran one more delay or a few;
        // behind a whole segment it would be kOps or more.
        EXPECT_LT(ran, static_cast<uint64_t>(kOps)) << workers << " workers";
        for (const Stream& s : busy) synchronize(s);
      },
      60.0, "an urgent op behind busy workers");
}

// A queued strand that an urgent one waits for moves to the urgent level
// with its one ready entry: a second entry inflated the ready count that
// run_here and the allocator read.
TEST(ReliabilityPriority, LendingPriorityKeepsOneReadyEntryPerStrand) {
  with_watchdog(
      [] {
        detail::Pool& pool = detail::Pool::get();
        const int workers = pool.num_threads();
        // Every worker inside one long op: no op boundary for 300 ms.
        std::vector<Stream> busy;
        std::vector<array> long_ops;
        for (int i = 0; i < workers; ++i) {
          busy.push_back(new_stream(cpu));
          long_ops.push_back(runnel::testing::delay(
              zeros({4}, float32, busy.back()), 300000, busy.back()));
        }
        async_eval(long_ops);
        while (pool.running() < workers || pool.ready_count() > 0) {
          std::this_thread::yield();
        }
        Stream a = new_stream(cpu);
        array x = add(to_array(random_floats(8)), array(1.0f), a);
        async_eval({x});  // queued: no worker is free
        const int ready = pool.ready_count();
        Stream urgent = new_stream(cpu, stream_priority_range(cpu).first);
        array y = multiply(x, x, urgent);
        async_eval({y});  // parks on a's work and lends it its priority
        EXPECT_EQ(pool.ready_count(), ready);
        eval({y});
        for (const Stream& s : busy) synchronize(s);
      },
      60.0, "lending priority to a queued strand");
}
