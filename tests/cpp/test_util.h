// What the C++ tests share: a hang turned into a failure that names the test
// and prints every thread's stack; stress counts scaled by RUNNEL_TEST_SCALE;
// random data, fresh per run or replayed from the seed a failure printed
// (RUNNEL_TEST_SEED); host copies of arrays and readers of their values;
// dtype traits and typed-test type lists; float tolerances; and small
// fixtures (the CPU as default device, a memory limit, GPU skips, this test
// binary run again in a child).
#pragma once

#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "runnel/runnel.h"
#include "runnel/scheduler/graph.h"
#include "runnel/testing.h"

namespace runnel::test {

// Every thread's stack, on stderr, by gdb when it is installed (a hang's
// report should say where each thread waits).
inline void print_all_stacks() {
  std::fflush(stderr);
  prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY);  // Yama: let gdb attach to us
  const std::string cmd =
      "command -v gdb >/dev/null && gdb -p " + std::to_string(getpid()) +
      " -batch -nx -ex 'thread apply all bt 30' 1>&2 2>/dev/null";
  if (std::system(cmd.c_str()) != 0) {
    std::fprintf(stderr, "[watchdog] (no stacks: gdb missing or refused)\n");
  }
}

// Runs `fn` on its own thread and waits for it at most `seconds`. When it is
// not done in time, reports a failure naming `what` and ends the process with
// status 1: a hang must fail the test, never stall the run. Exceptions from
// `fn` propagate to the caller.
template <class F>
void with_watchdog(F&& fn, double seconds = 10.0,
                   const std::string& what = "test body") {
  auto fut = std::async(std::launch::async, std::forward<F>(fn));
  auto limit = std::chrono::duration<double>(seconds);
  if (fut.wait_for(limit) != std::future_status::ready) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    ADD_FAILURE() << "watchdog: " << what << " did not finish in " << seconds
                  << " s";
    std::fprintf(stderr, "\n[watchdog] %s.%s: %s hung for %.1f s; exiting\n",
                 info ? info->test_suite_name() : "?",
                 info ? info->name() : "?", what.c_str(), seconds);
    print_all_stacks();
    std::fflush(stderr);
    std::fflush(stdout);
    std::_Exit(1);
  }
  fut.get();
}

// RUNNEL_TEST_SCALE (default 1.0) times `n`, at least `at_least`.
inline long scaled(double n, long at_least = 1) {
  static const double scale = [] {
    const char* env = std::getenv("RUNNEL_TEST_SCALE");
    double s = env ? std::atof(env) : 1.0;
    return s > 0 ? s : 1.0;
  }();
  long v = static_cast<long>(n * scale);
  return v < at_least ? at_least : v;
}

// with_watchdog with the limit first, for bodies written inline.
template <class F>
void watchdog_eval(double seconds, F&& body) {
  with_watchdog(std::forward<F>(body), seconds);
}

// Fresh random data for every test run: one generator per thread.
inline std::mt19937& rng() {
  thread_local std::mt19937 r(std::random_device{}());
  return r;
}

inline int random_int(int lo, int hi) {
  return std::uniform_int_distribution<int>(lo, hi)(rng());
}

inline std::vector<float> random_floats(size_t n) {
  std::uniform_real_distribution<float> d(-4.0f, 4.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng());
  return v;
}

inline std::vector<int32_t> random_ints(size_t n, int lo = -1000,
                                        int hi = 1000) {
  std::uniform_int_distribution<int32_t> d(lo, hi);
  std::vector<int32_t> v(n);
  for (auto& x : v) x = d(rng());
  return v;
}

// ---- Random data that a failure can replay ----

// The seed RUNNEL_TEST_SEED names, when it is set: one that a failure
// printed, to run the tests again on the same data.
inline std::optional<uint64_t> replay_seed() {
  const char* env = std::getenv("RUNNEL_TEST_SEED");
  if (!env) return std::nullopt;
  return std::strtoull(env, nullptr, 10);
}

// A generator with a fresh seed per test, or RUNNEL_TEST_SEED's to replay a
// failure; SCOPED_TRACE(trace()) prints the seed with every failure in its
// scope.
struct Seeded {
  uint32_t seed = [] {
    const std::optional<uint64_t> replay = replay_seed();
    return replay ? static_cast<uint32_t>(*replay) : std::random_device{}();
  }();
  std::mt19937 rng{seed};
  std::string trace() const { return "seed=" + std::to_string(seed); }
  int uniform(int lo, int hi) {  // [lo, hi]
    return std::uniform_int_distribution<int>(lo, hi)(rng);
  }
};

// The same for runnel's own generator: a 64-bit seed for random::key, fresh
// per test or RUNNEL_TEST_SEED's.
struct KeySeed {
  uint64_t seed = [] {
    const std::optional<uint64_t> replay = replay_seed();
    return replay ? *replay
                  : (static_cast<uint64_t>(std::random_device{}()) << 32) |
                        std::random_device{}();
  }();
  std::string trace() const { return "key seed=" + std::to_string(seed); }
  array key() const { return random::key(seed); }
};

// ---- Dtypes and their C++ types ----

// Every dtype, in the order of the enumeration.
inline constexpr Dtype kAllDtypes[] = {
    bool_, uint8, uint16,  uint32,   uint64,  int8,    int16,
    int32, int64, float16, bfloat16, float32, float64,
};
static_assert(std::size(kAllDtypes) == kNumDtypes);

template <class T>
inline constexpr bool kHalf =
    std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>;
template <class T>
inline constexpr bool kFloat = kHalf<T> || std::is_floating_point_v<T>;
template <class T>
inline constexpr bool kInt = std::is_integral_v<T> && !std::is_same_v<T, bool>;
template <class T>
inline constexpr bool kBool = std::is_same_v<T, bool>;

// The C++ type of every dtype, and of every float dtype, for typed tests;
// TypeNames names each instance after its dtype.
using AllTypes = ::testing::Types<bool, uint8_t, uint16_t, uint32_t, uint64_t,
                                  int8_t, int16_t, int32_t, int64_t, float16_t,
                                  bfloat16_t, float, double>;
using FloatTypes = ::testing::Types<float16_t, bfloat16_t, float, double>;

struct TypeNames {
  template <class T>
  static std::string GetName(int) {
    return std::string(dtype_name(dtype_of<T>()));
  }
};

// A value as double (the half types through float; exact but for 64-bit
// integers past 2^53).
template <class T>
double to_double(T v) {
  if constexpr (kHalf<T>) {
    return static_cast<float>(v);
  } else {
    return static_cast<double>(v);
  }
}

// ---- Host data ----

// The number of elements of a shape.
inline size_t numel(const Shape& s) {
  size_t n = 1;
  for (int d : s) n *= static_cast<size_t>(d);
  return n;
}

// Host storage that works for bool too (std::vector<bool> has no data()).
template <class T>
struct Host {
  std::unique_ptr<T[]> p;
  size_t n = 0;
  explicit Host(size_t size) : p(new T[size > 0 ? size : 1]()), n(size) {}
  T& operator[](size_t i) { return p[i]; }
  const T& operator[](size_t i) const { return p[i]; }
  const T* data() const { return p.get(); }
};

// Random values of T: integers over their whole range (every bit pattern),
// floats uniform in [lo, hi), bools half true.
template <class T>
Host<T> random_values(size_t n, std::mt19937& rng, double lo = -8.0,
                      double hi = 8.0) {
  Host<T> h(n);
  std::uniform_real_distribution<double> u(lo, hi);
  for (size_t i = 0; i < n; ++i) {
    if constexpr (kBool<T>) {
      h[i] = (rng() & 1) != 0;
    } else if constexpr (kInt<T>) {
      uint64_t bits = (static_cast<uint64_t>(rng()) << 32) ^ rng();
      h[i] = static_cast<T>(bits);  // modular: the whole range
    } else {
      h[i] = T(u(rng));
    }
  }
  return h;
}

// A fault armed for the scope (runnel::testing::set_fault): cleared at the
// end, also when a test failed before the fault fired.
struct Fault {
  explicit Fault(const std::string& spec) { runnel::testing::set_fault(spec); }
  ~Fault() { runnel::testing::set_fault(""); }
};

// An array of `shape` holding the host values, row-major.
template <class T>
array to_array(const Host<T>& h, Shape shape) {
  return array(h.data(), dtype_of<T>(), std::move(shape), dtype_of<T>());
}
// A 1-d array of the values (not for bool: see Host).
template <class T>
array to_array(const std::vector<T>& v) {
  return array(v, Shape{static_cast<int>(v.size())});
}

// A view of the evaluated `base`: its buffer read with another shape,
// strides and offset (in elements, from base's first), as the view ops
// make them; for strided inputs without going through those ops.
inline array view_of(array base, Shape shape, Strides strides, int64_t offset) {
  base.eval();
  auto n = std::make_shared<detail::ArrayNode>();
  n->size = numel(shape);
  n->shape = std::move(shape);
  n->strides = std::move(strides);
  n->offset = base.node().offset + offset;
  n->dtype = base.dtype();
  n->data = base.node().data;
  return array(std::move(n));
}

// ---- Reading values back ----

// The evaluated elements of `a` as T, row-major (outputs are contiguous).
template <class T>
std::vector<T> to_vector(array a) {
  a.eval();
  const T* p = a.data<T>();
  return std::vector<T>(p, p + a.size());
}

// Every element of `a` as double, cast by runnel on `s`.
inline std::vector<double> as_doubles(const array& a, StreamOrDevice s = {}) {
  array f = astype(a, float64, s);
  f.eval();
  const double* p = f.data<double>();
  return std::vector<double>(p, p + f.size());
}

// Bitwise equality: exact for every dtype, NaN payloads and signed zeros
// included.
template <class T>
bool same_bits(const T& a, const T& b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;  // NOLINT: bits on purpose
}

// ---- Float tolerances ----

// The spacing of T's values at 1 (machine epsilon); for an integer T,
// float32's, the dtype integers compute in when an op promotes them.
template <class T>
double eps_of() {
  if constexpr (std::is_same_v<T, float16_t>) {
    return std::ldexp(1.0, -10);
  } else if constexpr (std::is_same_v<T, bfloat16_t>) {
    return std::ldexp(1.0, -7);
  } else if constexpr (std::is_floating_point_v<T>) {
    return std::numeric_limits<T>::epsilon();
  } else {
    return std::ldexp(1.0, -23);
  }
}
// T's smallest normal value; for an integer T, float32's.
template <class T>
double min_normal_of() {
  if constexpr (std::is_same_v<T, float16_t>) {
    return std::ldexp(1.0, -14);
  } else if constexpr (std::is_same_v<T, bfloat16_t>) {
    return std::ldexp(1.0, -126);
  } else if constexpr (std::is_same_v<T, double>) {
    return std::numeric_limits<double>::min();
  } else {
    return std::numeric_limits<float>::min();
  }
}
// The epsilon of the accumulator T's arithmetic runs in: float32's for the
// half types, float32 and integers, float64's for float64.
template <class T>
double acc_eps() {
  return std::is_same_v<T, double> ? std::ldexp(1.0, -52)
                                   : std::ldexp(1.0, -23);
}

// ---- Shapes and errors ----

// The flat index into an input of `in_shape` broadcast to `out_shape`, of
// the element at `flat` in the output.
inline size_t broadcast_index(size_t flat, const Shape& out_shape,
                              const Shape& in_shape) {
  size_t idx = 0, stride = 1;
  const size_t off = out_shape.size() - in_shape.size();
  for (size_t d = out_shape.size(); d-- > 0;) {
    const size_t coord = flat % static_cast<size_t>(out_shape[d]);
    flat /= static_cast<size_t>(out_shape[d]);
    if (d >= off) {
      const size_t id = d - off;
      if (in_shape[id] != 1) idx += coord * stride;
      stride *= static_cast<size_t>(in_shape[id]);
    }
  }
  return idx;
}

// Expects `fn` to throw std::invalid_argument whose message starts with
// `prefix`.
template <class F>
void expect_invalid(F&& fn, const std::string& prefix) {
  try {
    fn();
    ADD_FAILURE() << "no std::invalid_argument; expected \"" << prefix
                  << "...\"";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).rfind(prefix, 0), 0u)
        << "message: " << e.what() << "\nexpected to start with: " << prefix;
  }
}

// ---- Fixtures ----

inline const Device kCpu(cpu);
inline constexpr size_t kMiB = size_t{1} << 20;

// Runs its tests with the CPU as the default device: ops without a stream run
// there also on a machine whose default device is a GPU.
class OnCpu : public ::testing::Test {
  StreamContext on_cpu_{kCpu};
};

// A fixture whose tests skip on a machine with fewer than kGpus GPUs.
template <int kGpus>
class NeedsGpus : public ::testing::Test {
 protected:
  void SetUp() override {
    const int n = device_count(gpu);
    if (n < kGpus) {
      GTEST_SKIP() << "needs " << kGpus << " GPU(s); this machine has " << n;
    }
  }
};

// Sets a device's memory limit for its scope and restores the one before.
class MemoryLimit {
 public:
  explicit MemoryLimit(size_t limit, Device device = kCpu)
      : device_(device), old_(set_memory_limit(limit, device)) {}
  ~MemoryLimit() { set_memory_limit(old_, device_); }
  MemoryLimit(const MemoryLimit&) = delete;
  MemoryLimit& operator=(const MemoryLimit&) = delete;
  size_t old() const { return old_; }

 private:
  Device device_;
  size_t old_;
};

// Waits until `pred` holds, checking it every `poll`; false when `limit`
// passes first.
template <class P>
bool eventually(
    P pred, std::chrono::milliseconds limit = std::chrono::seconds(10),
    std::chrono::microseconds poll = std::chrono::microseconds(100)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(poll);
  }
  return true;
}

// ---- This test binary in a child process ----

// `n` floats uniform in [lo, hi) from a generator seeded with `seed`: the
// same data in every process given the same seed.
inline std::vector<float> floats_from_seed(size_t n, uint32_t seed, float lo,
                                           float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

struct ChildOutput {
  int status = -1;     // as pclose gives it; -1 when the child did not start
  std::string output;  // stdout and stderr together
};

// Runs this test binary again with `env` ("NAME=value ...") in front of the
// command, on the tests `filter` names, and waits for it.
inline ChildOutput run_this_binary(const std::string& env,
                                   const std::string& filter) {
  ChildOutput child;
  char self[4096];
  const ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (len <= 0) {
    child.output = "readlink /proc/self/exe failed";
    return child;
  }
  self[len] = 0;
  const std::string cmd =
      env + " '" + self + "' --gtest_filter=" + filter + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) {
    child.output = "popen failed: " + cmd;
    return child;
  }
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof(buf), p)) {
    child.output.append(buf, n);
  }
  child.status = pclose(p);
  return child;
}

// Runs the tests `filter` names in a child for each pool size in `threads`
// (RUNNEL_CPU_THREADS, with `env` besides) and expects the line each child
// prints from `marker` on to be the same for all.
inline void expect_same_line_for_pool_sizes(std::initializer_list<int> threads,
                                            const std::string& env,
                                            const std::string& filter,
                                            const std::string& marker) {
  std::string first;
  for (int n : threads) {
    const ChildOutput child = run_this_binary(
        "RUNNEL_CPU_THREADS=" + std::to_string(n) + " " + env, filter);
    ASSERT_EQ(child.status, 0) << child.output;
    const size_t at = child.output.find(marker);
    ASSERT_NE(at, std::string::npos) << child.output;
    const std::string line =
        child.output.substr(at, child.output.find('\n', at) - at);
    if (first.empty()) first = line;
    EXPECT_EQ(line, first) << "with " << n << " workers";
  }
}

}  // namespace runnel::test
