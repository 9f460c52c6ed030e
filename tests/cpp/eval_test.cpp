// eval and async_eval on the CPU: ordering proven with the test hooks (a
// gated or delayed producer), ping-pong between streams (a wait on the right
// point, in one eval and across evals, with the smallest segments),
// concurrent evals of overlapping graphs (each node computed once), large
// graphs, and array status.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "runnel/errors.h"
#include "runnel/primitives/primitive.h"
#include "runnel/runnel.h"
#include "runnel/scheduler/errors.h"
#include "runnel/scheduler/graph.h"
#include "runnel/testing.h"
#include "tests/cpp/test_util.h"

using namespace runnel;
using namespace runnel::test;
namespace hooks = runnel::testing;

namespace {

// Integer arithmetic wraps in runnel, so the host reference wraps too.
int32_t wrap_add(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) +
                              static_cast<uint32_t>(b));
}
int32_t wrap_mul(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) *
                              static_cast<uint32_t>(b));
}

// Restores hooks::max_batch on scope exit.
struct MaxBatch {
  int saved = hooks::max_batch();
  explicit MaxBatch(int n) { hooks::set_max_batch(n); }
  ~MaxBatch() { hooks::set_max_batch(saved); }
};

// Turns off the claim delay on scope exit.
struct ClaimDelay {
  explicit ClaimDelay(int64_t us) { hooks::set_claim_delay(us); }
  ~ClaimDelay() { hooks::set_claim_delay(0); }
};

// Gives a wrong implementation the chance to run too early. The tests do
// not rely on it: they check hooks (gates, counts), not timing.
void let_others_run() {
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

}  // namespace

// ---- ordering across streams, proven with a gate ----

TEST(EvalOrdering, GatedProducerKeepsConsumerOnOtherStreamFromRunning) {
  watchdog_eval(30, [] {
    Stream a = new_stream(cpu), b = new_stream(cpu);
    auto xv = random_floats(1000);
    array x = to_array(xv);
    hooks::Gate gate = hooks::block(a);
    array p = multiply(x, x, a);  // behind the gate
    array c = add(p, x, b);       // reads p on another stream
    uint64_t adds = hooks::execution_count("add");
    uint64_t muls = hooks::execution_count("multiply");
    async_eval({c});
    let_others_run();
    EXPECT_NE(c.status(), ArrayStatus::available);
    EXPECT_NE(p.status(), ArrayStatus::available);
    EXPECT_FALSE(b.query());
    EXPECT_FALSE(a.query());
    EXPECT_EQ(hooks::execution_count("multiply"), muls);
    EXPECT_EQ(hooks::execution_count("add"), adds);
    gate.open();
    eval({c});
    EXPECT_EQ(c.status(), ArrayStatus::available);
    EXPECT_EQ(hooks::execution_count("add"), adds + 1);
    EXPECT_EQ(hooks::execution_count("multiply"), muls + 1);
    for (size_t i = 0; i < xv.size(); ++i) {
      ASSERT_EQ(c.data<float>()[i], xv[i] * xv[i] + xv[i]) << i;
    }
    EXPECT_TRUE(b.query());
  });
}

TEST(EvalOrdering, GatedProducerOrdersAChainOverThreeStreams) {
  watchdog_eval(30, [] {
    Stream s[3] = {new_stream(cpu), new_stream(cpu), new_stream(cpu)};
    auto xv = random_ints(257);
    array x = to_array(xv);
    hooks::Gate gate = hooks::block(s[0]);
    array y = x;
    for (int i = 0; i < 30; ++i) y = add(y, x, s[i % 3]);
    uint64_t adds = hooks::execution_count("add");
    async_eval({y});
    let_others_run();
    // The first add sits behind the gate; every later one waits for it.
    EXPECT_EQ(hooks::execution_count("add"), adds);
    EXPECT_NE(y.status(), ArrayStatus::available);
    for (auto& st : s) EXPECT_FALSE(st.query());
    gate.open();
    eval({y});
    EXPECT_EQ(hooks::execution_count("add"), adds + 30);
    for (size_t i = 0; i < xv.size(); ++i) {
      ASSERT_EQ(y.data<int32_t>()[i], 31 * xv[i]) << i;
    }
  });
}

TEST(EvalOrdering, IndependentWorkOnConsumerStreamRunsWhileProducerGated) {
  watchdog_eval(30, [] {
    Stream a = new_stream(cpu), b = new_stream(cpu);
    auto xv = random_floats(64);
    array x = to_array(xv);
    hooks::Gate gate = hooks::block(a);
    array p = multiply(x, x, a);
    async_eval({p});
    // Nothing here reads stream a's work: it must finish with the gate shut.
    array q = add(x, x, b);
    eval({q});
    for (size_t i = 0; i < xv.size(); ++i) {
      ASSERT_EQ(q.data<float>()[i], xv[i] + xv[i]);
    }
    EXPECT_TRUE(b.query());
    EXPECT_NE(p.status(), ArrayStatus::available);
    gate.open();
    eval({p});
  });
}

TEST(EvalOrdering, ConsumerDoesNotWaitForWorkSubmittedLaterToProducerStream) {
  watchdog_eval(30, [] {
    Stream a = new_stream(cpu), b = new_stream(cpu);
    auto xv = random_ints(100);
    array x = to_array(xv);
    array p = multiply(x, x, a);
    async_eval({p});
    hooks::Gate gate = hooks::block(a);  // after p, on p's stream
    array c = add(p, x, b);
    eval({c});  // needs p only, never the gate
    for (size_t i = 0; i < xv.size(); ++i) {
      ASSERT_EQ(c.data<int32_t>()[i], wrap_add(wrap_mul(xv[i], xv[i]), xv[i]));
    }
    EXPECT_FALSE(a.query());
    gate.open();
    a.synchronize();
  });
}

namespace {

// An identity op on float32 that holds its worker until `g_release` is set
// (at most 30 s): the work after it on its stream cannot run meanwhile.
std::atomic<bool> g_release{false};
class Held final : public Primitive {
 public:
  const char* name() const override { return "held"; }
  void eval_cpu(const std::vector<array>& in,
                std::vector<array>& out) override {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!g_release.load() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    out[0].node().data = detail::allocate(out[0].nbytes(), Device(cpu));
    std::copy_n(in[0].data<float>(), in[0].size(), out[0].data<float>());
  }
};
array held(const array& x, Stream s) {
  return array::make_arrays({x.shape()}, {float32}, std::make_shared<Held>(),
                            {x}, s)[0];
}

}  // namespace

// One eval: c on b reads a1, and a's later ops (a2, held, then a3) come
// before c in the eval's order. c's segment waits for a1 alone.
TEST(EvalOrdering, ConsumerInTheSameEvalDoesNotWaitForLaterProducerWork) {
  watchdog_eval(60, [] {
    g_release = false;
    Stream a = new_stream(cpu), b = new_stream(cpu);
    auto xv = random_floats(64);
    array x = to_array(xv);
    array a1 = multiply(x, x, a);
    array a3 = add(held(a1, a), x, a);
    array c = add(a1, x, b);
    std::atomic<bool> c_done{false};
    std::thread waiter([&] {
      eval({a3, c});  // orders a1, held, a3, then c
      c_done = true;
    });
    // The waiter's eval returns only once both are done; c alone is polled.
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (c.status() != ArrayStatus::available &&
           std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    const bool c_first = c.status() == ArrayStatus::available;
    const bool a3_held = a3.status() != ArrayStatus::available;
    g_release = true;
    waiter.join();
    EXPECT_TRUE(c_first) << "c waited for work after a1 on stream a";
    EXPECT_TRUE(a3_held);
    EXPECT_TRUE(c_done);
    for (size_t i = 0; i < xv.size(); ++i) {
      ASSERT_EQ(c.data<float>()[i], xv[i] * xv[i] + xv[i]) << i;
      ASSERT_EQ(a3.data<float>()[i], xv[i] * xv[i] + xv[i]) << i;
    }
  });
}

// A buffer read by an op on stream b is donated to an op on stream a only
// once b's op has dropped it: b's values stay right (run under TSan, the
// handoff must be seen as ordered).
TEST(EvalOrdering, DonationAfterAReaderOnAnotherStreamKeepsItsValues) {
  watchdog_eval(60, [] {
    Stream a = new_stream(cpu), b = new_stream(cpu);
    for (int round = 0; round < scaled(300, 30); ++round) {
      auto xv = random_ints(256);
      array x = to_array(xv);
      array sq = multiply(x, x, a);
      eval({sq});
      array read = add(sq, x, b);    // reads sq on b
      array donor = add(sq, sq, a);  // may write into sq's buffer
      sq = array(int32_t{0});        // only the two ops hold it now
      async_eval({read, donor});
      eval({read, donor});
      for (size_t i = 0; i < xv.size(); ++i) {
        const int32_t s = wrap_mul(xv[i], xv[i]);
        ASSERT_EQ(read.data<int32_t>()[i], wrap_add(s, xv[i])) << i;
        ASSERT_EQ(donor.data<int32_t>()[i], wrap_add(s, s)) << i;
      }
    }
  });
}

TEST(EvalOrdering, StatusGoesUnscheduledThenScheduledThenAvailable) {
  watchdog_eval(30, [] {
    Stream a = new_stream(cpu);
    array x = to_array(random_floats(16));
    EXPECT_EQ(x.status(), ArrayStatus::available);  // host data
    hooks::Gate gate = hooks::block(a);
    array y = exp(x, a);
    EXPECT_EQ(y.status(), ArrayStatus::unscheduled);
    async_eval({y});
    EXPECT_EQ(y.status(), ArrayStatus::scheduled);
    let_others_run();
    EXPECT_EQ(y.status(), ArrayStatus::scheduled);
    gate.open();
    eval({y});
    EXPECT_EQ(y.status(), ArrayStatus::available);
  });
}

// ---- delayed producer: the consumer sees the final value ----

TEST(EvalOrdering, DelayedProducerConsumerSeesFinalValue) {
  watchdog_eval(30, [] {
    Stream a = new_stream(cpu), b = new_stream(cpu), c = new_stream(cpu);
    auto xv = random_floats(4096);
    array x = to_array(xv);
    array p = hooks::delay(multiply(x, x, a), 30'000, a);
    array q = hooks::delay(add(p, x, b), 10'000, b);
    array r = add(q, p, c);
    eval({r});
    for (size_t i = 0; i < xv.size(); ++i) {
      float pv = xv[i] * xv[i];
      ASSERT_EQ(r.data<float>()[i], (pv + xv[i]) + pv) << i;
    }
  });
}

TEST(EvalOrdering, DelayedProducerWithAsyncEvalThenConsumerEval) {
  watchdog_eval(30, [] {
    Stream a = new_stream(cpu), b = new_stream(cpu);
    auto xv = random_ints(1000);
    array x = to_array(xv);
    array p = hooks::delay(add(x, x, a), 20'000, a);
    async_eval({p});
    array c = multiply(p, x, b);  // built after p was submitted
    eval({c});
    for (size_t i = 0; i < xv.size(); ++i) {
      ASSERT_EQ(c.data<int32_t>()[i], wrap_mul(wrap_add(xv[i], xv[i]), xv[i]));
    }
  });
}

// ---- ping-pong: each hop waits for the other stream's latest step ----

namespace {

constexpr int kPingPongSteps = 1000;

// x = x + 1 alternating between two streams, in one eval or one per step.
void ping_pong(bool one_eval, int n = 33) {
  Stream s[2] = {new_stream(cpu), new_stream(cpu)};
  auto xv = random_ints(n);
  array x = to_array(xv);
  array one(int32_t{1});
  for (int i = 0; i < kPingPongSteps; ++i) {
    x = add(x, one, s[i % 2]);
    if (!one_eval) eval({x});
  }
  eval({x});
  for (int i = 0; i < n; ++i) {
    ASSERT_EQ(x.data<int32_t>()[i], xv[i] + kPingPongSteps) << i;
  }
}

}  // namespace

TEST(EvalPingPong, OneThousandStepsBetweenTwoStreamsInOneEval) {
  watchdog_eval(60, [] { ping_pong(true); });
}

TEST(EvalPingPong, OneThousandStepsBetweenTwoStreamsInSeparateEvals) {
  watchdog_eval(60, [] { ping_pong(false); });
}

TEST(EvalPingPong, OneThousandStepsInOneEvalWithMaxBatchOne) {
  watchdog_eval(60, [] {
    MaxBatch batch(1);
    ping_pong(true);
  });
}

TEST(EvalPingPong, OneThousandStepsInSeparateEvalsWithMaxBatchOne) {
  watchdog_eval(60, [] {
    MaxBatch batch(1);
    ping_pong(false);
  });
}

TEST(EvalPingPong, OneThousandStepsWithDelayedFirstStep) {
  watchdog_eval(60, [] {
    Stream s[2] = {new_stream(cpu), new_stream(cpu)};
    auto xv = random_floats(50);
    array x = hooks::delay(to_array(xv), 20'000, s[0]);
    array one(1.0f);
    for (int i = 0; i < kPingPongSteps; ++i) x = add(x, one, s[(i + 1) % 2]);
    eval({x});
    for (size_t i = 0; i < xv.size(); ++i) {
      float want = xv[i];
      for (int k = 0; k < kPingPongSteps; ++k) want += 1.0f;
      ASSERT_EQ(x.data<float>()[i], want) << i;
    }
  });
}

namespace {

// Under a tight limit the ping-pong must finish: correct, or out_of_memory
// where the room cannot hold an input and an output (`must_succeed` false).
// With room for three arrays a step never needs more: an allocation that
// would exceed the limit waits for the frees pending behind it instead.
void ping_pong_under_limit(size_t headroom, bool one_eval, bool must_succeed) {
  Stream s[2] = {new_stream(cpu), new_stream(cpu)};
  const int n = 1024;  // 4 KiB per array
  auto xv = random_ints(n);
  array x = to_array(xv);
  array one(int32_t{1});
  bool failed = false;
  {
    MemoryLimit limit(get_active_memory(Device(cpu)) + headroom);
    try {
      for (int i = 0; i < kPingPongSteps; ++i) {
        x = add(x, one, s[i % 2]);
        if (!one_eval) eval({x});
      }
      eval({x});
    } catch (const out_of_memory& e) {
      failed = true;
      EXPECT_NE(std::string(e.what()).find("asked for"), std::string::npos)
          << e.what();
    }
  }
  EXPECT_FALSE(failed && must_succeed)
      << "out of memory with room for three arrays (one_eval " << one_eval
      << ")";
  if (!failed) {
    for (int i = 0; i < n; ++i) {
      ASSERT_EQ(x.data<int32_t>()[i], xv[i] + kPingPongSteps) << i;
    }
  }
  // The streams stay usable; their slots may hold the failure.
  for (auto& st : s) {
    try {
      st.synchronize();
    } catch (const out_of_memory&) {
      EXPECT_TRUE(failed);
    }
    array y = add(to_array(xv), one, st);
    eval({y});
    EXPECT_EQ(y.data<int32_t>()[0], xv[0] + 1);
  }
}

}  // namespace

TEST(EvalPingPong, UnderTinyMemoryLimitFinishesOrRaisesOutOfMemory) {
  watchdog_eval(60, [] {
    for (size_t headroom :
         {size_t{0}, size_t{4096}, size_t{3 * 4096}, size_t{64 * 4096}}) {
      SCOPED_TRACE("headroom " + std::to_string(headroom));
      const bool room = headroom >= 3 * 4096;
      ping_pong_under_limit(headroom, true, room);
      ping_pong_under_limit(headroom, false, room);
    }
  });
}

TEST(EvalPingPong, UnderTinyMemoryLimitWithMaxBatchOne) {
  watchdog_eval(60, [] {
    MaxBatch batch(1);
    for (size_t headroom : {size_t{4096}, size_t{64 * 4096}}) {
      SCOPED_TRACE("headroom " + std::to_string(headroom));
      ping_pong_under_limit(headroom, true, headroom >= 3 * 4096);
    }
  });
}

TEST(EvalPingPong, AmpleLimitStillComputesExactly) {
  watchdog_eval(60, [] {
    // Room for a handful of live arrays: enough for a chain that frees as
    // it goes, so the ping-pong must succeed.
    Stream s[2] = {new_stream(cpu), new_stream(cpu)};
    auto xv = random_ints(1024);
    array x = to_array(xv);
    array one(int32_t{1});
    MemoryLimit limit(get_active_memory(Device(cpu)) + 256 * 1024);
    for (int i = 0; i < kPingPongSteps; ++i) x = add(x, one, s[i % 2]);
    eval({x});
    for (size_t i = 0; i < xv.size(); ++i) {
      ASSERT_EQ(x.data<int32_t>()[i], xv[i] + kPingPongSteps) << i;
    }
  });
}

// ---- concurrent evals: overlapping graphs, each node computed once ----

TEST(EvalConcurrent, SameArrayFromSeveralThreadsRunsOnce) {
  watchdog_eval(60, [] {
    Stream a = new_stream(cpu), b = new_stream(cpu);
    const int kThreads = 8;
    const int rounds = scaled(200, 5);
    for (int r = 0; r < rounds; ++r) {
      auto xv = random_ints(64);
      array x = to_array(xv);
      array m = multiply(x, x, a);
      array c = add(m, x, b);
      uint64_t adds = hooks::execution_count("add");
      uint64_t muls = hooks::execution_count("multiply");
      std::barrier start(kThreads);
      std::vector<std::thread> threads;
      for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
          start.arrive_and_wait();
          if (t % 2) {
            async_eval({c});
          }
          eval({c});
        });
      }
      for (auto& t : threads) t.join();
      ASSERT_EQ(hooks::execution_count("add"), adds + 1);
      ASSERT_EQ(hooks::execution_count("multiply"), muls + 1);
      for (size_t i = 0; i < xv.size(); ++i) {
        ASSERT_EQ(c.data<int32_t>()[i],
                  wrap_add(wrap_mul(xv[i], xv[i]), xv[i]));
      }
    }
  });
}

TEST(EvalConcurrent, ThreadsWaitingOnGatedArrayAllReturnAfterOneRun) {
  watchdog_eval(60, [] {
    Stream a = new_stream(cpu);
    auto xv = random_floats(128);
    array x = to_array(xv);
    hooks::Gate gate = hooks::block(a);
    array y = multiply(x, x, a);
    uint64_t muls = hooks::execution_count("multiply");
    std::atomic<int> returned{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&] {
        eval({y});
        returned.fetch_add(1);
      });
    }
    let_others_run();
    EXPECT_EQ(returned.load(), 0);
    EXPECT_EQ(hooks::execution_count("multiply"), muls);
    gate.open();
    for (auto& t : threads) t.join();
    EXPECT_EQ(returned.load(), 8);
    EXPECT_EQ(hooks::execution_count("multiply"), muls + 1);
    for (size_t i = 0; i < xv.size(); ++i) {
      ASSERT_EQ(y.data<float>()[i], xv[i] * xv[i]);
    }
  });
}

TEST(EvalConcurrent, EvalNeedingOpsClaimedByAnotherEvalDoesNotDeadlock) {
  // Thread Y evaluates b = add(deep chain, a) and claims b first, then walks
  // the long chain; meanwhile thread X evaluates {p = add(b, 1), a}, sees b
  // claimed and claims a before Y gets to it. X must submit a (which needs
  // nothing Y holds) before it waits for b, or both wait forever.
  const int rounds = scaled(100, 10);
  watchdog_eval(60, [&] {
    Stream s1 = new_stream(cpu), s2 = new_stream(cpu);
    array one(int32_t{1});
    for (int round = 0; round < rounds; ++round) {
      array c = one;
      for (int i = 0; i < 2000; ++i) c = add(c, one, s2);
      array a = add(one, one, s1);
      array b = add(c, a, s2);
      array p = add(b, one, s1);
      uint64_t adds = hooks::execution_count("add");
      std::barrier start(2);
      std::thread y([&] {
        start.arrive_and_wait();
        eval({b});
      });
      start.arrive_and_wait();
      std::this_thread::sleep_for(std::chrono::microseconds(round % 50));
      eval({p, a});
      y.join();
      ASSERT_EQ(hooks::execution_count("add"), adds + 2003) << round;
      ASSERT_EQ(p.item<int32_t>(), 2001 + 2 + 1) << round;
      ASSERT_EQ(a.item<int32_t>(), 2) << round;
    }
  });
}

namespace {

// A node of a random graph with its host reference value (one element per
// node is enough to check; arrays have kLen elements).
struct RefNode {
  array value;
  std::vector<int32_t> want;
  bool is_add = false;
};

constexpr int kLen = 8;

RefNode make_op(const RefNode& l, const RefNode& r, bool is_add,
                const Stream& s) {
  RefNode n{is_add ? add(l.value, r.value, s) : multiply(l.value, r.value, s),
            std::vector<int32_t>(kLen), is_add};
  for (int i = 0; i < kLen; ++i) {
    n.want[i] = is_add ? wrap_add(l.want[i], r.want[i])
                       : wrap_mul(l.want[i], r.want[i]);
  }
  return n;
}

bool matches(const array& a, const std::vector<int32_t>& want) {
  const int32_t* d = a.data<int32_t>();
  for (int i = 0; i < kLen; ++i) {
    if (d[i] != want[i]) return false;
  }
  return true;
}

}  // namespace

// Concurrent evals of random graphs over three shared
// streams under a memory limit that cannot hold every thread's graph at
// once. Allocations wait for each other's frees or raise out_of_memory;
// nothing hangs (the watchdog) and every value computed is right.
TEST(EvalConcurrent, SoakUnderMemoryPressureNeverHangs) {
  const int kThreads = 4;
  const int kRounds = scaled(150, 10);
  const int kN = 4096;  // 16 KiB per array
  std::atomic<int> ok{0}, oom{0}, wrong{0};
  watchdog_eval(120, [&] {
    std::vector<Stream> streams = {new_stream(cpu), new_stream(cpu),
                                   new_stream(cpu)};
    // Room for 40 arrays; each thread's graph holds up to 24.
    MemoryLimit limit(get_active_memory(Device(cpu)) + 40 * kN * 4);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        std::mt19937 r(std::random_device{}() + t);
        for (int round = 0; round < kRounds; ++round) {
          try {
            std::vector<array> v;
            std::vector<std::vector<int32_t>> want;
            for (int k = 0; k < 4; ++k) {
              want.push_back(random_ints(kN, -100, 100));
              v.push_back(to_array(want.back()));
            }
            for (int k = 0; k < 20; ++k) {
              size_t i = r() % v.size(), j = r() % v.size();
              const Stream& s = streams[r() % streams.size()];
              const bool is_add = r() % 2;
              v.push_back(is_add ? add(v[i], v[j], s)
                                 : multiply(v[i], v[j], s));
              std::vector<int32_t> w(kN);
              for (int e = 0; e < kN; ++e) {
                w[e] = is_add ? wrap_add(want[i][e], want[j][e])
                              : wrap_mul(want[i][e], want[j][e]);
              }
              want.push_back(std::move(w));
            }
            std::vector<array> outs = {v.back(), v[4 + r() % 20]};
            eval(outs);
            for (size_t k = 4; k < v.size(); ++k) {
              if (v[k].status() != ArrayStatus::available) continue;
              const int32_t* d = v[k].data<int32_t>();
              if (!std::equal(d, d + kN, want[k].begin())) wrong.fetch_add(1);
            }
            ok.fetch_add(1);
          } catch (const out_of_memory&) {
            oom.fetch_add(1);
          }
        }
      });
    }
    for (auto& th : threads) th.join();
    for (auto& s : streams) {
      try {
        s.synchronize();
      } catch (const out_of_memory&) {
      }
    }
  });
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(ok.load() + oom.load(), kThreads * kRounds);
  std::printf("[soak] %d rounds computed, %d out of memory\n", ok.load(),
              oom.load());
}

TEST(EvalConcurrent, RandomOverlappingGraphsRunEachPrimitiveExactlyOnce) {
  // 8 threads x 1,000 random graphs over 3 shared streams; each round's
  // graph is shared by every thread, which evaluates random overlapping
  // parts of it and builds its own ops on top; a random sleep between claim
  // and submit widens the races.
  const int kThreads = 8;
  const int kRounds = scaled(1000, 20);
  const int kShared = 24;
  watchdog_eval(120, [&] {
    ClaimDelay claim_delay(40);
    std::vector<Stream> streams = {new_stream(cpu), new_stream(cpu),
                                   new_stream(cpu)};
    std::vector<RefNode> graph;
    std::atomic<int> own_adds{0}, own_muls{0}, wrong{0};
    std::barrier sync(kThreads + 1);
    std::atomic<bool> stop{false};

    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        std::mt19937 r(std::random_device{}() + t);
        for (;;) {
          sync.arrive_and_wait();  // graph built
          if (stop.load()) return;
          {
            std::vector<int> pick;
            int count = 1 + static_cast<int>(r() % 4);
            for (int k = 0; k < count; ++k) {
              // Later nodes are deeper: favour them to overlap more.
              pick.push_back(
                  kShared / 2 +
                  static_cast<int>(r() % (graph.size() - kShared / 2)));
            }
            std::vector<array> outs;
            std::vector<const std::vector<int32_t>*> wants;
            std::vector<RefNode> own;
            for (int i : pick) {
              outs.push_back(graph[i].value);
              wants.push_back(&graph[i].want);
            }
            if (r() % 2) {
              const RefNode& l = graph[r() % graph.size()];
              const RefNode& rr = graph[r() % graph.size()];
              bool is_add = r() % 2;
              own.push_back(make_op(l, rr, is_add, streams[r() % 3]));
              (is_add ? own_adds : own_muls).fetch_add(1);
              outs.push_back(own.back().value);
              wants.push_back(&own.back().want);
            }
            if (r() % 3 == 0) async_eval(outs);
            eval(outs);
            for (size_t k = 0; k < outs.size(); ++k) {
              if (!matches(outs[k], *wants[k])) wrong.fetch_add(1);
            }
          }
          sync.arrive_and_wait();  // round done
        }
      });
    }

    std::mt19937 r(std::random_device{}());
    uint64_t adds0 = hooks::execution_count("add");
    uint64_t muls0 = hooks::execution_count("multiply");
    int built_adds = 0, built_muls = 0;
    for (int round = 0; round < kRounds; ++round) {
      graph.clear();
      for (int i = 0; i < kShared / 2; ++i) {
        auto v = random_ints(kLen, -50, 50);
        graph.push_back(RefNode{to_array(v), v});
      }
      while (static_cast<int>(graph.size()) < kShared) {
        const RefNode& l = graph[r() % graph.size()];
        const RefNode& rr = graph[r() % graph.size()];
        bool is_add = r() % 3 != 0;
        graph.push_back(make_op(l, rr, is_add, streams[r() % 3]));
        (is_add ? built_adds : built_muls)++;
      }
      sync.arrive_and_wait();  // start the round
      sync.arrive_and_wait();  // every thread done
      // Whatever nobody picked runs now, so every node ran exactly once.
      std::vector<array> all;
      for (auto& n : graph) all.push_back(n.value);
      eval(all);
      for (auto& n : graph) ASSERT_TRUE(matches(n.value, n.want));
      uint64_t adds = hooks::execution_count("add") - adds0;
      uint64_t muls = hooks::execution_count("multiply") - muls0;
      ASSERT_EQ(adds, static_cast<uint64_t>(built_adds + own_adds.load()))
          << "round " << round;
      ASSERT_EQ(muls, static_cast<uint64_t>(built_muls + own_muls.load()))
          << "round " << round;
      ASSERT_EQ(wrong.load(), 0) << "round " << round;
    }
    stop.store(true);
    sync.arrive_and_wait();
    for (auto& t : threads) t.join();
  });
}

// ---- large graphs, re-evaluation, item ----

TEST(EvalGraph, HundredThousandNodeGraphOfWideAndDeepParts) {
  watchdog_eval(120, [] {
    const int kNodes = scaled(100'000, 1000);
    const int kLanes = 100;
    Stream s[3] = {new_stream(cpu), new_stream(cpu), new_stream(cpu)};
    std::mt19937 r(std::random_device{}());
    std::vector<array> lanes;
    std::vector<int32_t> want;
    for (int i = 0; i < kLanes; ++i) {
      int32_t v = static_cast<int32_t>(r() % 100);
      lanes.emplace_back(v);
      want.push_back(v);
    }
    array deep(int32_t{0});
    int32_t deep_want = 0;
    for (int n = 0; n < kNodes; ++n) {
      const Stream& st = s[r() % 3];
      if (n % 5 == 0) {
        // One long chain through every stream.
        int j = static_cast<int>(r() % kLanes);
        deep = add(deep, lanes[j], st);
        deep_want = wrap_add(deep_want, want[j]);
      } else {
        int i = static_cast<int>(r() % kLanes);
        int j = static_cast<int>(r() % kLanes);
        if (r() % 4 == 0) {
          lanes[i] = multiply(lanes[i], lanes[j], st);
          want[i] = wrap_mul(want[i], want[j]);
        } else {
          lanes[i] = add(lanes[i], lanes[j], st);
          want[i] = wrap_add(want[i], want[j]);
        }
      }
    }
    std::vector<array> outs = lanes;
    outs.push_back(deep);
    eval(outs);
    for (int i = 0; i < kLanes; ++i) {
      ASSERT_EQ(lanes[i].item<int32_t>(), want[i]) << i;
    }
    EXPECT_EQ(deep.item<int32_t>(), deep_want);
  });
}

TEST(EvalGraph, EvalOfAvailableArraysIsCheapAndRunsNothing) {
  watchdog_eval(60, [] {
    Stream a = new_stream(cpu);
    auto xv = random_floats(100);
    array x = to_array(xv);
    array y = add(multiply(x, x, a), x, a);
    eval({y});
    uint64_t adds = hooks::execution_count("add");
    uint64_t muls = hooks::execution_count("multiply");
    const int n = scaled(10'000, 100);
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) eval({y, x});
    double per_eval_us = std::chrono::duration<double, std::micro>(
                             std::chrono::steady_clock::now() - t0)
                             .count() /
                         n;
    EXPECT_EQ(hooks::execution_count("add"), adds);
    EXPECT_EQ(hooks::execution_count("multiply"), muls);
    // Generous (sanitizer builds): an available array costs a walk of one
    // node and a check of its timeline.
    EXPECT_LT(per_eval_us, 200.0);
    for (size_t i = 0; i < xv.size(); ++i) {
      ASSERT_EQ(y.data<float>()[i], xv[i] * xv[i] + xv[i]);
    }
  });
}

TEST(EvalGraph, EvalOfHostDataAndEmptyListReturnAtOnce) {
  watchdog_eval(30, [] {
    auto xv = random_ints(10);
    array x = to_array(xv);
    eval({x});
    eval(std::vector<array>{});
    async_eval({x});
    EXPECT_EQ(x.status(), ArrayStatus::available);
    EXPECT_EQ(x.data<int32_t>()[3], xv[3]);
  });
}

TEST(EvalGraph, SameArrayListedTwiceRunsOnce) {
  watchdog_eval(30, [] {
    Stream a = new_stream(cpu);
    auto xv = random_ints(10);
    array x = to_array(xv);
    array y = add(x, x, a);
    uint64_t adds = hooks::execution_count("add");
    eval({y, y, add(y, y, a)});
    EXPECT_EQ(hooks::execution_count("add"), adds + 2);
    EXPECT_EQ(y.data<int32_t>()[9], wrap_add(xv[9], xv[9]));
  });
}

TEST(EvalGraph, ItemOfMultiElementArrayThrowsInvalidArgument) {
  watchdog_eval(30, [] {
    Stream a = new_stream(cpu);
    array x = add(to_array(random_floats(3)), array(1.0f), a);
    EXPECT_THROW(x.item<float>(), std::invalid_argument);
    try {
      x.item<float>();
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()).rfind("[item]", 0), 0u) << e.what();
    }
    float v = random_floats(1)[0];
    array one = add(array(v), array(2.0f), a);
    EXPECT_EQ(one.item<float>(), v + 2.0f);
    EXPECT_EQ(one.item<double>(), static_cast<double>(v + 2.0f));
  });
}

TEST(EvalGraph, DataOfUnevaluatedArrayThrowsInvalidArgument) {
  watchdog_eval(30, [] {
    Stream a = new_stream(cpu);
    array x = add(to_array(random_floats(3)), array(1.0f), a);
    EXPECT_THROW(x.data<float>(), std::invalid_argument);
    eval({x});
    EXPECT_NO_THROW(x.data<float>());
  });
}
