// What an urgent CPU stream buys: the latency of a tiny op on the most urgent
// stream while four streams run chains of large elementwise ops (more work
// than the cores), and what it costs the background. Targets: the tiny op
// answers within 10 ms; the background's total time grows by at most 5%.
//
//   urgent_bench [rounds]     (prints a table; RUNNEL_CPU_THREADS as usual)
//
// No peer has stream priorities on the CPU (MLX's CPU streams are threads of
// equal standing; PyTorch and numpy have no CPU streams), so the comparison
// is with the same background run without probes, in the same process.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "runnel/runnel.h"
#include "runnel/testing.h"

using namespace runnel;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kStreams = 4;
constexpr int kChain = 24;       // ops per background stream
constexpr int kElems = 1 << 24;  // 64 MiB of float32 per op: past the caches

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Builds and starts the background: each stream a chain of large ops, then
// a host task that stamps the time the stream finished (in stream order).
struct Background {
  std::vector<array> outs;
  std::atomic<int> left{kStreams};
  std::atomic<int64_t> end_ns{0};
};

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             Clock::now().time_since_epoch())
      .count();
}

void start_background(Background& b, const std::vector<Stream>& streams,
                      const array& seed) {
  b.outs.clear();
  b.left = kStreams;
  for (const Stream& s : streams) {
    array x = add(seed, array(0.5f), s);
    for (int i = 0; i < kChain; ++i) {
      x = i % 2 ? multiply(x, array(1.0001f), s) : add(x, array(-0.25f), s);
    }
    b.outs.push_back(x);
  }
  async_eval(b.outs);
  for (const Stream& s : streams) {
    testing::enqueue(s, [&b] {
      int64_t t = now_ns();
      int64_t seen = b.end_ns.load();
      while (t > seen && !b.end_ns.compare_exchange_weak(seen, t)) {
      }
      b.left.fetch_sub(1);
    });
  }
}

void finish(const std::vector<Stream>& streams) {
  for (const Stream& s : streams) synchronize(s);
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 5;
  const int probe_ms = argc > 2 ? std::atoi(argv[2]) : 10;
  std::vector<Stream> bg;
  for (int i = 0; i < kStreams; ++i) bg.push_back(new_stream(cpu));
  const auto [most_urgent, least] = stream_priority_range(Device(cpu));
  Stream urgent = new_stream(cpu, most_urgent);
  std::vector<float> host(kElems);
  for (int i = 0; i < kElems; ++i) host[i] = static_cast<float>(i % 1000) / 7;
  array seed(host, Shape{kElems});
  array small({1.0f, 2.0f, 3.0f, 4.0f}, Shape{4});
  eval({seed, small});

  // Warm-up: the allocator's cache, the pool's threads.
  Background b;
  start_background(b, bg, seed);
  finish(bg);

  std::vector<double> alone, with_probes, latencies;
  for (int r = 0; r < rounds; ++r) {
    int64_t t0 = now_ns();
    start_background(b, bg, seed);
    finish(bg);
    alone.push_back((b.end_ns.load() - t0) / 1e6);

    // A probe every probe_ms while the background runs; the background's
    // time is its own end stamp, whatever this thread does.
    t0 = now_ns();
    start_background(b, bg, seed);
    while (b.left.load() > 0) {
      auto p0 = Clock::now();
      array y = add(small, array(1.0f), urgent);
      eval({y});
      latencies.push_back(ms_since(p0));
      std::this_thread::sleep_until(p0 + std::chrono::milliseconds(probe_ms));
    }
    finish(bg);
    with_probes.push_back((b.end_ns.load() - t0) / 1e6);
  }

  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double q) {
    return latencies.empty()
               ? 0.0
               : latencies[std::min(latencies.size() - 1,
                                    static_cast<size_t>(q * latencies.size()))];
  };
  const double a = median(alone), w = median(with_probes);
  std::printf(
      "urgent stream under load: %d streams x %d ops of %d floats, "
      "%u CPUs, %d rounds, %zu probes\n",
      kStreams, kChain, kElems, std::thread::hardware_concurrency(), rounds,
      latencies.size());
  std::printf("%-34s %10s %10s\n", "", "value", "target");
  std::printf("%-34s %8.2f ms %10s\n", "urgent 4-element op, median", pct(0.5),
              "");
  std::printf("%-34s %8.2f ms %10s\n", "urgent 4-element op, p95", pct(0.95),
              "");
  std::printf("%-34s %8.2f ms %7s ms\n", "urgent 4-element op, max",
              latencies.empty() ? 0.0 : latencies.back(), "<= 10");
  std::printf("%-34s %8.1f ms %10s\n", "background alone (median)", a, "");
  std::printf("%-34s %8.1f ms %10s\n", "background with probes (median)", w,
              "");
  std::printf("%-34s %9.3fx %9s\n", "background with / alone", w / a,
              "<= 1.05");
  return 0;
}
