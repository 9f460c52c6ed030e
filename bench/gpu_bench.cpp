// runnel on the GPU beside raw CUDA runtime calls doing the same thing, in one
// run (issue 5, "bench/"): event record + wait, cross-stream ping-pong,
// synchronize on an idle stream, CPU→GPU and GPU→CPU handoffs, 256 MiB
// transfers, allocation, and GPU i → GPU j where there are two GPUs.
//
// Plain C++ timing (std::chrono on the host: every figure is what a caller
// sees), medians of many repetitions after warm-up. Compiled by nvcc only
// because the raw baselines launch a kernel of their own; librunnel links no
// CUDA. The final table is printed last; with OUT set, the whole report is
// also written to $OUT/gpu_bench.txt.
//
//   build-gpu/bench/gpu_bench
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "bench/sampler.h"
#include "runnel/runnel.h"
#include "runnel/testing.h"

namespace {

using namespace runnel;
using Clock = std::chrono::steady_clock;

// ---- checking, output ----

void check_cuda(cudaError_t e, const char* what, int line) {
  if (e != cudaSuccess) {
    throw std::runtime_error(std::string("CUDA error at gpu_bench.cpp:") +
                             std::to_string(line) + ": " + what + ": " +
                             cudaGetErrorName(e) + " (" +
                             cudaGetErrorString(e) + ")");
  }
}
#define CK(call) check_cuda((call), #call, __LINE__)
#define CK_LAUNCH() check_cuda(cudaGetLastError(), "kernel launch", __LINE__)

std::ostringstream g_report;  // everything printed, for $OUT/gpu_bench.txt

void out(const std::string& s) {
  std::fputs(s.c_str(), stdout);
  std::fflush(stdout);
  g_report << s;
}

template <class... A>
std::string fmt(const char* f, A... a) {
  char buf[512];
  std::snprintf(buf, sizeof(buf), f, a...);
  return buf;
}

// ---- timing ----

double us_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

struct Stats {
  double median = 0, p10 = 0, p90 = 0;
  int n = 0;
};

Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  Stats s;
  s.n = static_cast<int>(v.size());
  auto at = [&](double q) {
    return v[std::min(v.size() - 1,
                      static_cast<size_t>(q * (v.size() - 1) + 0.5))];
  };
  s.median = v.size() % 2 ? v[v.size() / 2]
                          : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  s.p10 = at(0.1);
  s.p90 = at(0.9);
  return s;
}

// Runs `sample` `warm` times unrecorded, then `reps` times; each call returns
// one sample (µs per operation; setup it does outside its timer is free).
Stats measure(int warm, int reps, const std::function<double()>& sample) {
  for (int i = 0; i < warm; ++i) sample();
  std::vector<double> v;
  v.reserve(reps);
  for (int i = 0; i < reps; ++i) v.push_back(sample());
  return stats(std::move(v));
}

void detail(const char* what, const Stats& s, const char* unit = "us") {
  out(fmt("  %-56s median %10.3f %s  (p10 %.3f, p90 %.3f, n=%d)\n", what,
          s.median, unit, s.p10, s.p90, s.n));
}

// ---- the table ----

enum class Kind {
  time,       // µs, lower is better, target runnel/raw <= 1.20
  bandwidth,  // GB/s, higher is better, target runnel/raw >= 0.90
  sync,       // µs, target runnel - raw <= 0.5 µs
  info,       // µs, no target
};

struct Row {
  std::string name;
  double runnel = 0, raw = 0;
  Kind kind = Kind::time;
  std::string skipped;  // non-empty: why not measured
};
std::vector<Row> g_rows;

void row(std::string name, double runnel, double raw, Kind kind) {
  g_rows.push_back(Row{std::move(name), runnel, raw, kind, {}});
}

std::string table() {
  std::string t;
  t += fmt("%-44s %12s %12s %6s %9s %-16s %s\n", "measure", "runnel", "raw",
           "unit", "ratio", "target", "result");
  t += std::string(110, '-') + "\n";
  for (const Row& r : g_rows) {
    if (!r.skipped.empty()) {
      t += fmt("%-44s %s\n", r.name.c_str(), r.skipped.c_str());
      continue;
    }
    double ratio = r.raw > 0 ? r.runnel / r.raw : NAN;
    std::string target, result;
    const char* unit = "us";
    switch (r.kind) {
      case Kind::time:
        target = "ratio <= 1.20";
        result = ratio <= 1.2 ? "ok" : "MISS";
        break;
      case Kind::bandwidth:
        unit = "GB/s";
        target = "ratio >= 0.90";
        result = ratio >= 0.9 ? "ok" : "MISS";
        break;
      case Kind::sync:
        target = "<= raw + 0.5 us";
        result = (r.runnel - r.raw <= 0.5 ? "ok" : "MISS") +
                 fmt(" (%+.2f us)", r.runnel - r.raw);
        break;
      case Kind::info:
        target = "-";
        result = "-";
        break;
    }
    t += fmt("%-44s %12.3f %12.3f %6s %9.3f %-16s %s\n", r.name.c_str(),
             r.runnel, r.raw, unit, ratio, target.c_str(), result.c_str());
  }
  return t;
}

// ---- raw kernels ----

__global__ void add_one(float* x) { x[0] += 1.0f; }
__global__ void add_one_to(const float* x, float* y) { y[0] = x[0] + 1.0f; }

// Spins on the GPU's global timer: keeps a stream busy for `ns`.
__global__ void spin(uint64_t ns) {
  uint64_t start, now;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(start));
  do {
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
  } while (now - start < ns);
}

volatile float g_sink = 0;  // keeps host work from being optimised away

// ---- the state shared by the sections ----

struct Env {
  Device gpu0{gpu, 0};
  // runnel: two GPU streams and a CPU stream.
  Stream s0 = new_stream(gpu0), s1 = new_stream(gpu0), cpus = new_stream(cpu);
  cudaStream_t r0 = nullptr, r1 = nullptr;  // raw: two non-blocking streams
  // 1.0f, one element, on GPU 0 and on the CPU.
  array one_g = ones({1}, float32, s0), one_c = ones({1}, float32, cpus);
};

// ---- 1. event record + wait host cost ----

void bench_event(Env& e) {
  // The producer's tail does not move between pairs: runnel's stream waits
  // for that point once and elides the repeats (its ledger of waits); raw
  // CUDA issues both calls every time. A wait on a new point each time is
  // the ping-pong's hop below.
  out("\n[event record + wait: host cost of one pair, producer kept busy]\n");
  constexpr int kPairs = 500;
  constexpr int64_t kBusyUs = 50000;  // far longer than kPairs pairs take
  array base = zeros({1}, float32, e.s0);
  eval(base);
  runnel::Event ev;
  bool reached_early = false;
  Stats rn = measure(2, 15, [&] {
    array busy = testing::delay(base, kBusyUs, e.s0);
    async_eval({busy});  // launched now: s0's tail is unreached throughout
    auto t0 = Clock::now();
    for (int i = 0; i < kPairs; ++i) {
      ev.record(e.s0);
      ev.wait(e.s1);
    }
    double us = us_since(t0) / kPairs;
    reached_early |= ev.query();
    synchronize(e.s1);
    synchronize(e.s0);
    return us;
  });
  if (reached_early) out("  note: the producer finished inside a sample\n");
  detail("runnel Event.record(s0) + Event.wait(s1)", rn);

  cudaEvent_t cev;
  CK(cudaEventCreateWithFlags(&cev, cudaEventDisableTiming));
  Stats raw = measure(2, 15, [&] {
    spin<<<1, 1, 0, e.r0>>>(kBusyUs * 1000);
    CK_LAUNCH();
    auto t0 = Clock::now();
    for (int i = 0; i < kPairs; ++i) {
      CK(cudaEventRecord(cev, e.r0));
      CK(cudaStreamWaitEvent(e.r1, cev, 0));
    }
    double us = us_since(t0) / kPairs;
    CK(cudaStreamSynchronize(e.r1));
    CK(cudaStreamSynchronize(e.r0));
    return us;
  });
  detail("raw cudaEventRecord + cudaStreamWaitEvent", raw);
  CK(cudaEventDestroy(cev));
  row("event record + wait, same point (host)", rn.median, raw.median,
      Kind::time);
}

// ---- 2. cross-stream ping-pong ----

// The issue times a measure() loop recorded, less its 2 warm-up samples.
Stats issued(const std::vector<double>& v) {
  return stats(std::vector<double>(v.begin() + 2, v.end()));
}

void bench_pingpong(Env& e) {
  out("\n[ping-pong: x += 1 alternating two GPU streams; a round is two "
      "hops]\n");
  constexpr int kHops = 1000;
  constexpr int kRounds = kHops / 2;
  array x0 = zeros({1}, float32, e.s0);
  eval(x0);
  Stream s[2] = {e.s0, e.s1};
  bool wrong = false;
  auto check_value = [&](array& x, float want) {
    if (x.item<float>() != want) wrong = true;
  };

  // One eval of kHops steps (graph built inside the timer).
  Stats one_eval = measure(2, 15, [&] {
    auto t0 = Clock::now();
    array x = x0;
    for (int i = 0; i < kHops; ++i) x = add(x, e.one_g, s[i & 1]);
    eval(x);
    double us = us_since(t0) / kRounds;
    check_value(x, kHops);
    return us;
  });
  detail("runnel: one eval of 1000 hops, per round", one_eval);

  // async_eval at every hop, one wait at the end.
  std::vector<double> issue;  // the host's part: the loop, before the wait
  Stats each_async = measure(2, 15, [&] {
    auto t0 = Clock::now();
    array x = x0;
    for (int i = 0; i < kHops; ++i) {
      x = add(x, e.one_g, s[i & 1]);
      async_eval({x});
    }
    issue.push_back(us_since(t0) / kRounds);
    eval(x);
    double us = us_since(t0) / kRounds;
    check_value(x, kHops);
    return us;
  });
  detail("runnel: async_eval each hop, per round", each_async);
  detail("  of which issuing the hops", issued(issue));

  float* dx = nullptr;
  CK(cudaMalloc(&dx, sizeof(float)));
  CK(cudaMemset(dx, 0, sizeof(float)));
  cudaStream_t r[2] = {e.r0, e.r1};
  cudaEvent_t evs[2];
  for (auto& v : evs) CK(cudaEventCreateWithFlags(&v, cudaEventDisableTiming));
  issue.clear();
  Stats raw = measure(2, 15, [&] {
    auto t0 = Clock::now();
    for (int i = 0; i < kHops; ++i) {
      add_one<<<1, 1, 0, r[i & 1]>>>(dx);
      CK_LAUNCH();
      CK(cudaEventRecord(evs[i & 1], r[i & 1]));
      CK(cudaStreamWaitEvent(r[(i + 1) & 1], evs[i & 1], 0));
    }
    issue.push_back(us_since(t0) / kRounds);
    CK(cudaStreamSynchronize(r[kHops & 1]));
    return us_since(t0) / kRounds;
  });
  detail("raw: kernel + record + wait per hop, sync at end", raw);
  detail("  of which issuing the hops", issued(issue));

  // A host round trip every round: two hops, then wait.
  constexpr int kTrips = 200;
  Stats rn_trip = measure(1, 9, [&] {
    array x = x0;
    auto t0 = Clock::now();
    for (int i = 0; i < kTrips; ++i) {
      x = add(x, e.one_g, e.s0);
      x = add(x, e.one_g, e.s1);
      eval(x);
    }
    double us = us_since(t0) / kTrips;
    check_value(x, 2 * kTrips);
    return us;
  });
  detail("runnel: two hops + eval each round", rn_trip);
  Stats raw_trip = measure(1, 9, [&] {
    auto t0 = Clock::now();
    for (int i = 0; i < kTrips; ++i) {
      add_one<<<1, 1, 0, e.r0>>>(dx);
      CK_LAUNCH();
      CK(cudaEventRecord(evs[0], e.r0));
      CK(cudaStreamWaitEvent(e.r1, evs[0], 0));
      add_one<<<1, 1, 0, e.r1>>>(dx);
      CK_LAUNCH();
      CK(cudaStreamSynchronize(e.r1));
    }
    return us_since(t0) / kTrips;
  });
  detail("raw: two hops + cudaStreamSynchronize each round", raw_trip);
  if (wrong) out("  WARNING: runnel's ping-pong computed a wrong value\n");

  for (auto& v : evs) CK(cudaEventDestroy(v));
  CK(cudaFree(dx));
  row("ping-pong round, one eval of N hops", one_eval.median, raw.median,
      Kind::time);
  row("ping-pong round, async_eval per hop", each_async.median, raw.median,
      Kind::time);
  row("ping-pong round + host wait each round", rn_trip.median, raw_trip.median,
      Kind::time);
}

// ---- 3. synchronize on an idle stream ----

void bench_sync_idle(Env& e) {
  out("\n[synchronize on an idle stream]\n");
  constexpr int kCalls = 10000;
  synchronize(e.s0);
  CK(cudaStreamSynchronize(e.r0));
  Stats rn = measure(2, 21, [&] {
    auto t0 = Clock::now();
    for (int i = 0; i < kCalls; ++i) synchronize(e.s0);
    return us_since(t0) / kCalls;
  });
  detail("runnel synchronize(s)", rn);
  Stats raw = measure(2, 21, [&] {
    auto t0 = Clock::now();
    for (int i = 0; i < kCalls; ++i) CK(cudaStreamSynchronize(e.r0));
    return us_since(t0) / kCalls;
  });
  detail("raw cudaStreamSynchronize", raw);
  row("synchronize(idle stream)", rn.median, raw.median, Kind::sync);
}

// ---- 4. CPU→GPU and GPU→CPU handoffs ----

void bench_handoff(Env& e) {
  out("\n[handoffs: one-element ops, issue to result seen by the host]\n");
  constexpr int kReps = 300;
  array xc = ones({1}, float32, e.cpus);
  array xg = ones({1}, float32, e.s0);
  eval(xc, xg);

  // CPU→GPU: a CPU stream op, then a GPU stream op reading it.
  Stats rn_cg = measure(20, kReps, [&] {
    auto t0 = Clock::now();
    array c = add(xc, e.one_c, e.cpus);
    array g = add(c, e.one_g, e.s0);
    eval(g);
    return us_since(t0);
  });
  detail("runnel CPU op -> GPU op, eval", rn_cg);

  float* dx = nullptr;
  float* dy = nullptr;
  CK(cudaMalloc(&dx, sizeof(float)));
  CK(cudaMalloc(&dy, sizeof(float)));
  std::vector<float> host(1, 1.0f);  // pageable, as runnel's CPU arrays
  Stats raw_cg = measure(20, kReps, [&] {
    auto t0 = Clock::now();
    host[0] = host[0] + 1.0f;  // the host's work
    CK(cudaMemcpyAsync(dx, host.data(), sizeof(float), cudaMemcpyHostToDevice,
                       e.r0));
    add_one_to<<<1, 1, 0, e.r0>>>(dx, dy);
    CK_LAUNCH();
    CK(cudaStreamSynchronize(e.r0));
    return us_since(t0);
  });
  detail("raw host write -> memcpy H2D -> kernel -> stream sync", raw_cg);

  // GPU→CPU: a GPU stream op, then a CPU stream op reading it.
  Stats rn_gc = measure(20, kReps, [&] {
    auto t0 = Clock::now();
    array g = add(xg, e.one_g, e.s0);
    array c = add(g, e.one_c, e.cpus);
    eval(c);
    return us_since(t0);
  });
  detail("runnel GPU op -> CPU op, eval", rn_gc);

  cudaEvent_t ev;
  CK(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming));
  Stats raw_gc = measure(20, kReps, [&] {
    auto t0 = Clock::now();
    add_one_to<<<1, 1, 0, e.r0>>>(dx, dy);
    CK_LAUNCH();
    CK(cudaEventRecord(ev, e.r0));
    CK(cudaEventSynchronize(ev));
    CK(cudaMemcpy(host.data(), dy, sizeof(float), cudaMemcpyDeviceToHost));
    g_sink = host[0] + 1.0f;  // the host's work
    return us_since(t0);
  });
  detail("raw kernel -> event sync -> memcpy D2H -> host work", raw_gc);
  CK(cudaEventDestroy(ev));
  CK(cudaFree(dx));
  CK(cudaFree(dy));
  row("CPU->GPU handoff (round trip)", rn_cg.median, raw_cg.median, Kind::time);
  row("GPU->CPU handoff (round trip)", rn_gc.median, raw_gc.median, Kind::time);
}

// ---- 5. transfers of 256 MiB ----

constexpr int kBig = 64 << 20;  // floats: 256 MiB
constexpr double kBigBytes = 4.0 * kBig;

double gbps(double us) { return kBigBytes / (us * 1e3); }

void bench_transfers(Env& e) {
  out("\n[transfers of 256 MiB; runnel stages through pageable memory]\n");
  constexpr int kWarm = 2, kReps = 9;
  const size_t bytes = static_cast<size_t>(kBigBytes);
  std::vector<float> pageable(kBig, 1.5f);
  float* pinned = nullptr;
  float* dbuf = nullptr;
  CK(cudaMallocHost(&pinned, bytes));
  std::memcpy(pinned, pageable.data(), bytes);
  CK(cudaMalloc(&dbuf, bytes));

  // The op that pulls the host array over (abs) costs a kernel too: timed
  // alone on a resident array and taken off.
  array resident = zeros({kBig}, float32, e.s0);
  eval(resident);
  Stats kernel = measure(kWarm, kReps, [&] {
    auto t0 = Clock::now();
    array r = abs(resident, e.s0);
    eval(r);
    return us_since(t0);
  });
  detail("runnel abs() of a resident 256 MiB array (taken off)", kernel);
  Stats rn_h2d = measure(kWarm, kReps, [&] {
    array a(pageable.data(), float32, Shape{kBig}, float32);  // on the CPU
    auto t0 = Clock::now();
    array r = abs(a, e.s0);
    eval(r);
    return us_since(t0);
  });
  detail("runnel host array -> abs() on the GPU, eval", rn_h2d);
  double rn_h2d_us = std::max(rn_h2d.median - kernel.median, 1.0);

  Stats raw_h2d = measure(kWarm, kReps, [&] {
    auto t0 = Clock::now();
    CK(cudaMemcpy(dbuf, pinned, bytes, cudaMemcpyHostToDevice));
    return us_since(t0);
  });
  detail("raw cudaMemcpy H2D from pinned", raw_h2d);
  Stats raw_h2d_pg = measure(kWarm, kReps, [&] {
    auto t0 = Clock::now();
    CK(cudaMemcpy(dbuf, pageable.data(), bytes, cudaMemcpyHostToDevice));
    return us_since(t0);
  });
  detail("raw cudaMemcpy H2D from pageable (for reference)", raw_h2d_pg);

  Stats rn_d2h = measure(kWarm, kReps, [&] {
    array g = full({kBig}, array(2.5f), float32, e.s0);
    eval(g);
    auto t0 = Clock::now();
    const float* p = g.data<float>();
    double us = us_since(t0);
    g_sink = p[kBig - 1];
    return us;
  });
  detail("runnel GPU array .data<float>()", rn_d2h);
  Stats raw_d2h = measure(kWarm, kReps, [&] {
    auto t0 = Clock::now();
    CK(cudaMemcpy(pinned, dbuf, bytes, cudaMemcpyDeviceToHost));
    return us_since(t0);
  });
  detail("raw cudaMemcpy D2H to pinned", raw_d2h);
  Stats raw_d2h_pg = measure(kWarm, kReps, [&] {
    auto t0 = Clock::now();
    CK(cudaMemcpy(pageable.data(), dbuf, bytes, cudaMemcpyDeviceToHost));
    return us_since(t0);
  });
  detail("raw cudaMemcpy D2H to pageable (for reference)", raw_d2h_pg);

  CK(cudaFree(dbuf));
  CK(cudaFreeHost(pinned));
  out(fmt(
      "  GB/s: runnel H2D %.2f (net of the kernel), D2H %.2f; raw pinned "
      "%.2f / %.2f; raw pageable %.2f / %.2f\n",
      gbps(rn_h2d_us), gbps(rn_d2h.median), gbps(raw_h2d.median),
      gbps(raw_d2h.median), gbps(raw_h2d_pg.median), gbps(raw_d2h_pg.median)));
  row("H2D 256 MiB (vs pinned cudaMemcpy)", gbps(rn_h2d_us),
      gbps(raw_h2d.median), Kind::bandwidth);
  row("D2H 256 MiB (vs pinned cudaMemcpy)", gbps(rn_d2h.median),
      gbps(raw_d2h.median), Kind::bandwidth);
}

// ---- 6. allocation ----

void bench_alloc(Env& e) {
  out("\n[allocation: 1 MiB outputs, per op, stream-ordered, with a final "
      "sync]\n");
  constexpr int kOps = 2000;
  constexpr int kFloats = 1 << 18;  // 1 MiB
  const size_t bytes = sizeof(float) * kFloats;
  Stats rn = measure(2, 11, [&] {
    auto t0 = Clock::now();
    for (int i = 0; i < kOps; ++i) {
      array z = zeros({kFloats}, float32, e.s0);
      async_eval({z});
    }
    synchronize(e.s0);
    return us_since(t0) / kOps;
  });
  detail("runnel zeros(1 MiB) + async_eval, dropped", rn);
  // zeros uploads its scalar each time; abs of a resident array does not.
  array src = zeros({kFloats}, float32, e.s0);
  eval(src);
  Stats rn_abs = measure(2, 11, [&] {
    auto t0 = Clock::now();
    for (int i = 0; i < kOps; ++i) {
      array z = abs(src, e.s0);
      async_eval({z});
    }
    synchronize(e.s0);
    return us_since(t0) / kOps;
  });
  detail("runnel abs(resident 1 MiB) + async_eval, dropped", rn_abs);
  Stats raw = measure(2, 11, [&] {
    auto t0 = Clock::now();
    for (int i = 0; i < kOps; ++i) {
      void* p = nullptr;
      CK(cudaMallocAsync(&p, bytes, e.r0));
      CK(cudaMemsetAsync(p, 0, bytes, e.r0));
      CK(cudaFreeAsync(p, e.r0));
    }
    CK(cudaStreamSynchronize(e.r0));
    return us_since(t0) / kOps;
  });
  detail("raw cudaMallocAsync + cudaMemsetAsync + cudaFreeAsync", raw);
  Stats pair = measure(2, 11, [&] {
    auto t0 = Clock::now();
    for (int i = 0; i < kOps; ++i) {
      void* p = nullptr;
      CK(cudaMallocAsync(&p, bytes, e.r0));
      CK(cudaFreeAsync(p, e.r0));
    }
    CK(cudaStreamSynchronize(e.r0));
    return us_since(t0) / kOps;
  });
  detail("raw cudaMallocAsync + cudaFreeAsync (the pair alone)", pair);
  row("zeros 1 MiB op (vs malloc+memset+free)", rn.median, raw.median,
      Kind::time);
  row("abs 1 MiB op (vs malloc+memset+free)", rn_abs.median, raw.median,
      Kind::time);
  row("abs 1 MiB op (vs malloc+free pair)", rn_abs.median, pair.median,
      Kind::info);
}

// ---- 7. GPU i → GPU j ----

void bench_peer(Env& e) {
  out("\n[GPU 0 -> GPU 1, 256 MiB]\n");
  if (device_count(gpu) < 2) {
    out("  skipped: one GPU\n");
    g_rows.push_back(Row{"GPU 0 -> GPU 1 256 MiB", 0, 0, Kind::bandwidth,
                         "skipped: one GPU"});
    return;
  }
  constexpr int kWarm = 2, kReps = 9;
  const size_t bytes = static_cast<size_t>(kBigBytes);
  Stream t1 = new_stream(Device(gpu, 1));
  array on1 = zeros({kBig}, float32, t1);
  eval(on1);
  Stats kernel = measure(kWarm, kReps, [&] {
    auto t0 = Clock::now();
    array r = abs(on1, t1);
    eval(r);
    return us_since(t0);
  });
  detail("runnel abs() of a resident array on GPU 1 (taken off)", kernel);
  Stats rn = measure(kWarm, kReps, [&] {
    array a = zeros({kBig}, float32, e.s0);
    eval(a);
    auto t0 = Clock::now();
    array r = abs(a, t1);
    eval(r);
    return us_since(t0);
  });
  detail("runnel GPU 0 array -> abs() on GPU 1, eval", rn);
  double rn_us = std::max(rn.median - kernel.median, 1.0);

  float* d0 = nullptr;
  float* d1 = nullptr;
  CK(cudaSetDevice(0));
  CK(cudaMalloc(&d0, bytes));
  CK(cudaMemset(d0, 0, bytes));
  CK(cudaSetDevice(1));
  CK(cudaMalloc(&d1, bytes));
  auto copy = [&] {
    auto t0 = Clock::now();
    CK(cudaMemcpyPeer(d1, 1, d0, 0, bytes));
    return us_since(t0);
  };
  Stats raw = measure(kWarm, kReps, copy);
  detail("raw cudaMemcpyPeer (peer access not enabled)", raw);
  int can = 0;
  CK(cudaDeviceCanAccessPeer(&can, 1, 0));
  if (can) {
    // Enabled last: it changes the context runnel shares too.
    cudaError_t pe = cudaDeviceEnablePeerAccess(0, 0);
    if (pe == cudaErrorPeerAccessAlreadyEnabled) {
      (void)cudaGetLastError();
    } else {
      CK(pe);
    }
    Stats raw_p = measure(kWarm, kReps, copy);
    detail("raw cudaMemcpyPeer (peer access enabled, reference)", raw_p);
  }
  CK(cudaFree(d1));
  CK(cudaSetDevice(0));
  CK(cudaFree(d0));
  out(fmt("  GB/s: runnel %.2f (net of the kernel), raw %.2f\n", gbps(rn_us),
          gbps(raw.median)));
  row("GPU 0 -> GPU 1 256 MiB (vs cudaMemcpyPeer)", gbps(rn_us),
      gbps(raw.median), Kind::bandwidth);
}

std::string header() {
  std::string h;
  std::time_t now = std::time(nullptr);
  char date[64];
  std::strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&now));
  DeviceInfo info = device_info(Device(gpu, 0));
  auto str = [&](const char* k) -> std::string {
    auto it = info.find(k);
    if (it == info.end()) return "?";
    if (auto* s = std::get_if<std::string>(&it->second)) return *s;
    return std::to_string(std::get<int64_t>(it->second));
  };
  int drv = 0, rt = 0;
  CK(cudaDriverGetVersion(&drv));
  CK(cudaRuntimeGetVersion(&rt));
  std::string cpu_model = "?";
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      cpu_model = line.substr(line.find(':') + 2);
      break;
    }
  }
  h += fmt(
      "machine: %s (%s, %.1f GiB), %d GPU(s); CUDA driver %d, runtime "
      "%d\n",
      str("device_name").c_str(), str("architecture").c_str(),
      std::stod(str("total_memory")) / (1 << 30), device_count(gpu), drv, rt);
  h += fmt("host: %s, %u threads\n", cpu_model.c_str(),
           std::thread::hardware_concurrency());
  h += fmt("date: %s\n", date);
  return h;
}

}  // namespace

// GPU_BENCH_PROFILE=<loop>: instead of the benchmark, runs one runnel loop
// for about 6 s under the sampling profiler and prints where the host time
// goes (bench/sampler.h). Loops: pingpong, handoff_cg, handoff_gc, alloc, d2h.
int profile(Env& e, const std::string& what) {
  std::function<void()> body;
  array xc = ones({1}, float32, e.cpus), xg = ones({1}, float32, e.s0);
  array x0 = zeros({1}, float32, e.s0), src = zeros({1 << 18}, float32, e.s0);
  eval(xc, xg, x0, src);
  if (what == "pingpong") {
    body = [&] {
      array x = x0;
      for (int i = 0; i < 1000; ++i) x = add(x, e.one_g, i & 1 ? e.s1 : e.s0);
      eval(x);
    };
  } else if (what == "handoff_cg") {
    body = [&] {
      array g = add(add(xc, e.one_c, e.cpus), e.one_g, e.s0);
      eval(g);
    };
  } else if (what == "handoff_gc") {
    body = [&] {
      array c = add(add(xg, e.one_g, e.s0), e.one_c, e.cpus);
      eval(c);
    };
  } else if (what == "alloc") {
    body = [&] {
      for (int i = 0; i < 100; ++i) {
        array z = abs(src, e.s0);
        async_eval({z});
      }
      synchronize(e.s0);
    };
  } else if (what == "d2h") {
    body = [&] {
      array g = full({1 << 26}, array(2.5f), float32, e.s0);
      eval(g);
      g_sink = g.data<float>()[0];
    };
  } else {
    std::fprintf(stderr, "gpu_bench: unknown profile loop %s\n", what.c_str());
    return 2;
  }
  for (int i = 0; i < 20; ++i) body();
  bench::Sampler sampler;
  sampler.start(4000);
  auto t0 = Clock::now();
  int n = 0;
  for (; us_since(t0) < 6e6; ++n) body();
  const double us = us_since(t0);
  std::printf("profile %s: %d iterations, %.2f us each\n", what.c_str(), n,
              us / n);
  sampler.stop_and_report(stdout);
  return 0;
}

int main() {
  auto start = Clock::now();
  try {
    if (device_count(gpu) < 1) {
      std::fprintf(stderr, "gpu_bench: no GPU\n");
      return 1;
    }
    const std::string head = header();
    out("runnel GPU bench: runnel beside raw CUDA runtime calls\n" + head);

    Env e;
    CK(cudaSetDevice(0));
    CK(cudaStreamCreateWithFlags(&e.r0, cudaStreamNonBlocking));
    CK(cudaStreamCreateWithFlags(&e.r1, cudaStreamNonBlocking));
    eval(e.one_g, e.one_c);
    // Warm-up: both streams made, kernels loaded, on both sides.
    for (int i = 0; i < 10; ++i) {
      array w = add(add(e.one_g, e.one_g, e.s0), e.one_g, e.s1);
      eval(w);
    }
    spin<<<1, 1, 0, e.r0>>>(1000);
    CK_LAUNCH();
    CK(cudaStreamSynchronize(e.r0));
    if (const char* p = std::getenv("GPU_BENCH_PROFILE")) return profile(e, p);

    bench_event(e);
    bench_pingpong(e);
    bench_sync_idle(e);
    bench_handoff(e);
    bench_transfers(e);
    bench_alloc(e);
    bench_peer(e);
    synchronize(e.gpu0);

    out(fmt("\nran in %.1f s\n\n", us_since(start) / 1e6));
    out("== gpu_bench summary ==\n" + head +
        "ratio: runnel/raw (times: lower is better; GB/s: higher is better)\n" +
        table());
    CK(cudaStreamDestroy(e.r0));
    CK(cudaStreamDestroy(e.r1));
  } catch (const std::exception& ex) {
    out(std::string("\ngpu_bench FAILED: ") + ex.what() + "\n");
    if (!g_rows.empty()) out("partial table:\n" + table());
    if (const char* dir = std::getenv("OUT")) {
      std::ofstream(std::string(dir) + "/gpu_bench.txt") << g_report.str();
    }
    return 1;
  }
  if (const char* dir = std::getenv("OUT")) {
    std::ofstream f(std::string(dir) + "/gpu_bench.txt");
    f << g_report.str();
    if (!f) {
      std::fprintf(stderr, "gpu_bench: could not write %s/gpu_bench.txt\n",
                   dir);
    }
  }
  return 0;
}
