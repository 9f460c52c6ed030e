// Dispatch costs of CPU streams, each beside a floor measured in the same
// binary: per-op cost of a chain, synchronize on an idle stream, and the
// latency of a value crossing from one CPU stream to another, against a bare
// std::thread handoff through a mutex/condition_variable queue, through
// std::atomic::wait, and through a spinning atomic. A summary table of ratios
// follows Google Benchmark's output.
//
//   runnel_bench [benchmark flags]      the benchmarks and the summary
//   runnel_bench --callgrind-chain N    one N-op chain (build + eval), with
//                                       callgrind instrumentation around it
#include <benchmark/benchmark.h>
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else  // no valgrind headers: the whole run is counted
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#endif

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "runnel/runnel.h"

using namespace runnel;

namespace {

constexpr int kChain = 10'000;
constexpr int kBig = 1 << 24;

// Reports seconds per item, where an iteration does `items_per_iter` items.
void per_item(benchmark::State& state, double items_per_iter) {
  state.counters["per_item"] = benchmark::Counter(
      items_per_iter * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

array one_element(float v) { return array({v}); }

// (a) A 10,000-op chain of 1-element adds: build, then one eval.
void BM_ChainBuildEval(benchmark::State& state) {
  Stream s = new_stream(cpu);
  array one = one_element(1.0f);
  for (auto _ : state) {
    array x = one_element(0.0f);
    for (int i = 0; i < kChain; ++i) x = add(x, one, s);
    eval(x);
    benchmark::DoNotOptimize(x.data<float>()[0]);
  }
  per_item(state, kChain);
}
BENCHMARK(BM_ChainBuildEval)->UseRealTime()->Unit(benchmark::kMillisecond);

// (a) The same with an eval after every op.
void BM_ChainEvalEachOp(benchmark::State& state) {
  Stream s = new_stream(cpu);
  array one = one_element(1.0f);
  array x = one_element(0.0f);
  for (auto _ : state) {
    x = add(x, one, s);
    eval(x);
  }
  per_item(state, 1);
}
BENCHMARK(BM_ChainEvalEachOp)->UseRealTime();

// (b) synchronize on an idle stream.
void BM_SynchronizeIdle(benchmark::State& state) {
  Stream s = new_stream(cpu);
  eval(add(one_element(1.0f), one_element(2.0f), s));
  for (auto _ : state) synchronize(s);
  per_item(state, 1);
}
BENCHMARK(BM_SynchronizeIdle)->UseRealTime();

// (c) A value crossing streams inside one eval: a chain alternating between
// streams A and B, each op reading the previous; every op is a handoff.
void BM_CrossStreamChain(benchmark::State& state) {
  Stream a = new_stream(cpu), b = new_stream(cpu);
  array one = one_element(1.0f);
  const int n = 1000;
  for (auto _ : state) {
    array x = one_element(0.0f);
    for (int i = 0; i < n; ++i) x = add(x, one, i % 2 ? b : a);
    eval(x);
  }
  per_item(state, n);
}
BENCHMARK(BM_CrossStreamChain)->UseRealTime();

// (c) Ping-pong with an eval each round: producer on A, consumer on B, the
// host waiting for B; two handoffs (A to B, B to host) a round.
void BM_CrossStreamPingPong(benchmark::State& state) {
  Stream a = new_stream(cpu), b = new_stream(cpu);
  array one = one_element(1.0f);
  array x = one_element(0.0f);
  for (auto _ : state) {
    array y = add(x, one, a);
    x = add(y, one, b);
    eval(x);
  }
  per_item(state, 2);
}
BENCHMARK(BM_CrossStreamPingPong)->UseRealTime();

// ---- Floors: bare threads doing the same handoffs ----

// A queue of ints through std::mutex and std::condition_variable.
struct MutexQueue {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<int> q;
  void push(int v) {
    {
      std::lock_guard lock(mu);
      q.push_back(v);
    }
    cv.notify_one();
  }
  int pop() {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return !q.empty(); });
    int v = q.front();
    q.pop_front();
    return v;
  }
};

// Round trips host -> thread -> host; two one-way handoffs each.
void BM_FloorMutexQueue(benchmark::State& state) {
  MutexQueue to, back;
  std::thread t([&] {
    for (;;) {
      int v = to.pop();
      if (v < 0) return;
      back.push(v + 1);
    }
  });
  int v = 0;
  for (auto _ : state) {
    to.push(v);
    v = back.pop();
  }
  to.push(-1);
  t.join();
  per_item(state, 2);
}
BENCHMARK(BM_FloorMutexQueue)->UseRealTime();

// The same through std::atomic::wait / notify_one (futex on Linux).
void BM_FloorAtomicWait(benchmark::State& state) {
  std::atomic<int64_t> turn{0};  // odd: the thread's turn; -1: stop
  std::thread t([&] {
    int64_t seen = 0;
    for (;;) {
      turn.wait(seen, std::memory_order_acquire);
      int64_t v = turn.load(std::memory_order_acquire);
      if (v < 0) return;
      turn.store(v + 1, std::memory_order_release);
      turn.notify_one();
      seen = v + 1;
    }
  });
  int64_t v = 0;
  for (auto _ : state) {
    turn.store(v + 1, std::memory_order_release);
    turn.notify_one();
    turn.wait(v + 1, std::memory_order_acquire);
    v += 2;
  }
  turn.store(-1);
  turn.notify_one();
  t.join();
  per_item(state, 2);
}
BENCHMARK(BM_FloorAtomicWait)->UseRealTime();

// The same with both sides spinning.
void BM_FloorSpin(benchmark::State& state) {
  alignas(64) std::atomic<int64_t> turn{0};
  std::thread t([&] {
    int64_t want = 1;
    for (;;) {
      int64_t v;
      while ((v = turn.load(std::memory_order_acquire)) != want && v >= 0) {
        __builtin_ia32_pause();
      }
      if (v < 0) return;
      turn.store(v + 1, std::memory_order_release);
      want = v + 2;
    }
  });
  int64_t v = 0;
  for (auto _ : state) {
    turn.store(v + 1, std::memory_order_release);
    while (turn.load(std::memory_order_acquire) != v + 2) {
      __builtin_ia32_pause();
    }
    v += 2;
  }
  turn.store(-1);
  t.join();
  per_item(state, 2);
}
BENCHMARK(BM_FloorSpin)->UseRealTime();

// ---- Informational: plain C++ loops against runnel on 2^24 float32 ----

std::vector<float> random_host(int n, unsigned seed) {
  std::vector<float> v(n);
  uint32_t x = seed;
  for (auto& f : v) {
    x = x * 1664525u + 1013904223u;
    f = static_cast<float>(x >> 8) / 16777216.0f - 0.5f;
  }
  return v;
}

void BM_PlainAdd(benchmark::State& state) {
  auto a = random_host(kBig, 1), b = random_host(kBig, 2);
  std::vector<float> c(kBig);
  for (auto _ : state) {
    for (int i = 0; i < kBig; ++i) c[i] = a[i] + b[i];
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  per_item(state, kBig);
}
BENCHMARK(BM_PlainAdd)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_RunnelAdd(benchmark::State& state) {
  array a(random_host(kBig, 1), Shape{kBig}),
      b(random_host(kBig, 2), Shape{kBig});
  Stream s = new_stream(cpu);
  for (auto _ : state) {
    array c = add(a, b, s);
    eval(c);
  }
  per_item(state, kBig);
}
BENCHMARK(BM_RunnelAdd)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_PlainExp(benchmark::State& state) {
  auto a = random_host(kBig, 1);
  std::vector<float> c(kBig);
  for (auto _ : state) {
    for (int i = 0; i < kBig; ++i) c[i] = std::exp(a[i]);
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  per_item(state, kBig);
}
BENCHMARK(BM_PlainExp)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_RunnelExp(benchmark::State& state) {
  array a(random_host(kBig, 1), Shape{kBig});
  Stream s = new_stream(cpu);
  for (auto _ : state) {
    array c = exp(a, s);
    eval(c);
  }
  per_item(state, kBig);
}
BENCHMARK(BM_RunnelExp)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_PlainSum(benchmark::State& state) {
  auto a = random_host(kBig, 1);
  for (auto _ : state) {
    float acc[8] = {};
    for (int i = 0; i < kBig; i += 8) {
      for (int j = 0; j < 8; ++j) acc[j] += a[i + j];
    }
    float r = 0;
    for (float v : acc) r += v;
    benchmark::DoNotOptimize(r);
  }
  per_item(state, kBig);
}
BENCHMARK(BM_PlainSum)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_RunnelSum(benchmark::State& state) {
  array a(random_host(kBig, 1), Shape{kBig});
  Stream s = new_stream(cpu);
  for (auto _ : state) {
    array c = sum(a, s);
    benchmark::DoNotOptimize(c.item<float>());
  }
  per_item(state, kBig);
}
BENCHMARK(BM_RunnelSum)->UseRealTime()->Unit(benchmark::kMillisecond);

// ---- The summary ----

// Keeps each benchmark's seconds per item as it is reported.
class Collector : public benchmark::ConsoleReporter {
 public:
  std::map<std::string, double> ns;  // ns per item, by benchmark name
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& r : runs) {
      auto it = r.counters.find("per_item");
      if (it != r.counters.end() && !r.error_occurred) {
        ns[r.run_name.function_name] = it->second.value * 1e9;
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
};

void print_summary(const std::map<std::string, double>& ns) {
  auto get = [&](const char* name) {
    auto it = ns.find(name);
    return it == ns.end() ? NAN : it->second;
  };
  const double mutex1 = get("BM_FloorMutexQueue");
  const double atomic1 = get("BM_FloorAtomicWait");
  const double spin1 = get("BM_FloorSpin");
  std::printf(
      "\nSummary (ns per op or per one-way handoff; ratio = runnel / "
      "floor)\n");
  std::printf("%-44s %10s %10s %10s %10s  %s\n", "measurement", "runnel",
              "mutex/cv", "atomic", "spin", "target");
  auto row = [&](const char* what, double v, const char* target) {
    std::printf("%-44s %10.1f %10.1f %10.1f %10.1f  %s\n", what, v, mutex1,
                atomic1, spin1, target);
    std::printf("%-44s %10s %9.2fx %9.2fx %9.2fx\n", "  ratio", "", v / mutex1,
                v / atomic1, v / spin1);
  };
  const double chain = get("BM_ChainBuildEval");
  const double each = get("BM_ChainEvalEachOp");
  const double sync = get("BM_SynchronizeIdle");
  const double cross = get("BM_CrossStreamChain");
  const double ping = get("BM_CrossStreamPingPong");
  row("(a) 10k-op chain, build + one eval, per op", chain, "< 1000 ns");
  row("(a) eval after every op, per op", each, "-");
  row("(b) synchronize, idle stream", sync, "< 500 ns");
  row("(c) cross-stream chain A,B,A,.. per handoff", cross,
      "<= 0.25x mutex/cv");
  row("(c) ping-pong A->B->host, eval/round, /2", ping, "<= 0.25x mutex/cv");
  std::printf(
      "\nTargets: per-op %s, synchronize %s, handoff %s "
      "(chain %.2fx, ping-pong %.2fx of the mutex/cv queue)\n",
      chain < 1000 ? "met" : "MISSED", sync < 500 ? "met" : "MISSED",
      std::min(cross, ping) <= 0.25 * mutex1 ? "met" : "MISSED", cross / mutex1,
      ping / mutex1);
  std::printf("\n2^24 float32, ms per op (informational)\n");
  std::printf("%-6s %10s %10s %8s\n", "op", "plain C++", "runnel", "ratio");
  for (const char* op : {"Add", "Exp", "Sum"}) {
    double p = get((std::string("BM_Plain") + op).c_str()) * kBig / 1e6;
    double r = get((std::string("BM_Runnel") + op).c_str()) * kBig / 1e6;
    std::printf("%-6s %10.2f %10.2f %7.2fx\n", op, p, r, r / p);
  }
}

// One chain of n adds under callgrind: instrumentation only around it.
int callgrind_chain(int n) {
  Stream s = new_stream(cpu);
  array one = one_element(1.0f);
  {  // warm up as the timed benchmark's loop is: pool, stream, caches
    array x = one_element(0.0f);
    for (int i = 0; i < n; ++i) x = add(x, one, s);
    eval(x);
  }
  array x = one_element(0.0f);
  CALLGRIND_START_INSTRUMENTATION;
  for (int i = 0; i < n; ++i) x = add(x, one, s);
  eval(x);
  x = array(0.0f);  // dropping the chain is part of the cost
  CALLGRIND_STOP_INSTRUMENTATION;
  std::printf("chain of %d ops done\n", n);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--callgrind-chain") == 0) {
    return callgrind_chain(std::atoi(argv[2]));
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  Collector collector;
  benchmark::RunSpecifiedBenchmarks(&collector);
  print_summary(collector.ns);
  benchmark::Shutdown();
  return 0;
}
