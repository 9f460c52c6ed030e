// Creation ops: arrays from host data, zeros_like / ones_like / full_like,
// linspace, eye and identity, in every dtype, against host references on
// fresh random data; 0-size shapes and the errors.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "runnel/memory/buffer.h"
#include "runnel/runnel.h"
#include "runnel/testing.h"
#include "tests/cpp/test_util.h"

using namespace runnel;
using namespace runnel::test;
namespace hooks = runnel::testing;

namespace {

// What astype to `t` makes of the double v (through runnel itself, checked
// elsewhere against numpy).
double as(Dtype t, double v) { return as_doubles(astype(array(v), t))[0]; }

// Expects `f` to throw std::invalid_argument naming the function `fn`.
template <class F>
void expect_error(const char* fn, F f) {
  expect_invalid(f, std::string("[") + fn + "]");
}

}  // namespace

TEST(Creation, ArraysFromHostData) {
  Seeded s;
  SCOPED_TRACE(s.trace());
  StreamContext ctx{Device(cpu)};
  std::uniform_int_distribution<int> d(-1000, 1000);
  std::vector<int> v(24);
  for (auto& x : v) x = d(s.rng);
  // A vector with a shape, kept or converted.
  array a(v, {2, 3, 4});
  EXPECT_EQ(a.dtype(), int32);
  EXPECT_EQ(a.shape(), (Shape{2, 3, 4}));
  auto av = as_doubles(a);
  for (int i = 0; i < 24; ++i) EXPECT_EQ(av[i], v[i]);
  array f(v, {4, 6}, float16);
  EXPECT_EQ(f.dtype(), float16);
  auto fv = as_doubles(f);
  for (int i = 0; i < 24; ++i) EXPECT_EQ(fv[i], as(float16, v[i]));
  // Initializer lists, 1-d and shaped.
  array b = {1.5f, -2.0f, 3.25f};
  EXPECT_EQ(b.shape(), Shape{3});
  EXPECT_EQ(as_doubles(b), (std::vector<double>{1.5, -2.0, 3.25}));
  array c({1, 2, 3, 4, 5, 6}, {3, 2}, uint8);
  EXPECT_EQ(c.dtype(), uint8);
  EXPECT_EQ(as_doubles(c), (std::vector<double>{1, 2, 3, 4, 5, 6}));
  array bl({true, false, true}, {3});
  EXPECT_EQ(bl.dtype(), bool_);
  // Pointer + shape, with a dtype conversion.
  std::vector<double> dv = {0.5, 1e10, -7.0, 3.0};
  array p(dv.data(), float64, {2, 2}, int64);
  EXPECT_EQ(as_doubles(p), (std::vector<double>{0, 1e10, -7, 3}));
  // Scalars, 0-size.
  array sc(int64_t{-5});
  EXPECT_EQ(sc.shape(), Shape{});
  EXPECT_EQ(sc.item<int64_t>(), -5);
  array e(std::vector<float>{}, {0, 3});
  EXPECT_EQ(e.size(), 0u);
  // The data is copied.
  v[0] = 12345;
  EXPECT_NE(as_doubles(a)[0], 12345);
  expect_error("array", [&] { array(v, {5, 5}); });
  expect_error("array", [&] { array(v, {-24}); });
}

// Host floats converted to integers follow the cast rules (NaN to 0,
// out-of-range values saturate), as astype does, never a C++ cast's
// undefined behaviour; item<T>() on a float array does the same.
TEST(Creation, HostFloatsToIntegersSaturateAndSendNaNToZero) {
  Seeded s;
  SCOPED_TRACE(s.trace());
  StreamContext ctx{Device(cpu)};
  std::uniform_real_distribution<double> d(-1e4, 1e4);
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> v = {std::nan(""), inf, -inf, 1e30, -1e30, 3.7, -3.7};
  for (int i = 0; i < 9; ++i) v.push_back(d(s.rng));
  const int n = static_cast<int>(v.size());
  for (Dtype t : {uint8, uint16, uint32, uint64, int8, int16, int32, int64}) {
    SCOPED_TRACE(std::string(dtype_name(t)));
    for (Dtype src : {float32, float64}) {
      array host = src == float32
                       ? array(std::vector<float>(v.begin(), v.end()), {n})
                       : array(v, {n});
      array want = astype(host, t);  // the op's rules, tested against numpy
      std::vector<float> vf(v.begin(), v.end());
      array got = src == float32 ? array(vf.data(), float32, {n}, t)
                                 : array(v.data(), float64, {n}, t);
      EXPECT_EQ(as_doubles(got), as_doubles(want));
    }
    EXPECT_EQ(as_doubles(array(v.data(), float64, {n}, t))[0], 0.0);  // NaN
  }
  EXPECT_EQ(array(std::nan("")).item<int32_t>(), 0);
  EXPECT_EQ(array(1e30).item<int8_t>(), 127);
  EXPECT_EQ(array(-1e30).item<uint64_t>(), 0u);
}

TEST(Creation, ZerosLikeOnesLikeFullLikeEveryDtype) {
  StreamContext ctx{Device(cpu)};
  for (Dtype t : kAllDtypes) {
    SCOPED_TRACE(std::string(dtype_name(t)));
    array a = astype(arange(0, 12, 1, float32), t);
    for (const Shape& sh : {Shape{}, Shape{3, 4}, Shape{2, 0, 3}}) {
      array x = sh.empty() ? astype(array(7.0f), t) : zeros(sh, t);
      array z = zeros_like(x), o = ones_like(x);
      EXPECT_EQ(z.shape(), sh);
      EXPECT_EQ(z.dtype(), t);
      EXPECT_EQ(o.dtype(), t);
      for (double v : as_doubles(z)) EXPECT_EQ(v, 0.0);
      for (double v : as_doubles(o)) EXPECT_EQ(v, 1.0);
    }
    (void)a;
    // full_like keeps the input's dtype by default, or takes the one given;
    // the value broadcasts.
    array x = zeros({2, 3}, t);
    array f = full_like(x, array(2.75));
    EXPECT_EQ(f.dtype(), t);
    for (double v : as_doubles(f)) EXPECT_EQ(v, as(t, 2.75));
    array g = full_like(x, array({1.0f, 2.0f, 3.0f}), float64);
    EXPECT_EQ(g.dtype(), float64);
    EXPECT_EQ(as_doubles(g), (std::vector<double>{1, 2, 3, 1, 2, 3}));
  }
  expect_error("full_like", [] { full_like(zeros({2, 3}), ones({2})); });
  expect_error("full_like", [] { full_like(zeros({3}), ones({2, 3})); });
}

TEST(Creation, LinspaceEveryDtype) {
  Seeded s;
  SCOPED_TRACE(s.trace());
  StreamContext ctx{Device(cpu)};
  std::uniform_real_distribution<double> u(-100, 100);
  for (Dtype t : kAllDtypes) {
    SCOPED_TRACE(std::string(dtype_name(t)));
    const double start = u(s.rng), stop = u(s.rng);
    for (int num : {0, 1, 2, 7, 50, 100'001}) {
      array l = linspace(start, stop, num, t);
      EXPECT_EQ(l.shape(), Shape{num});
      EXPECT_EQ(l.dtype(), t);
      auto v = as_doubles(l);
      const double step = num > 1 ? (stop - start) / (num - 1) : 0;
      for (int i = 0; i < num; i += (num > 100 ? 997 : 1)) {
        const double want = i == num - 1 && num > 1 ? stop : start + i * step;
        ASSERT_EQ(v[i], as(t, want)) << i;
      }
      if (num > 1) {
        EXPECT_EQ(v.back(), as(t, stop));
      }
      if (num > 0) {
        EXPECT_EQ(v.front(), as(t, start));
      }
    }
  }
  auto d = as_doubles(linspace(0, 1, 5));
  EXPECT_EQ(d, (std::vector<double>{0, 0.25, 0.5, 0.75, 1}));
  EXPECT_EQ(linspace(0, 1).size(), 50u);
  EXPECT_EQ(linspace(0, 1).dtype(), float32);
  expect_error("linspace", [] { linspace(0, 1, -1); });
  expect_error("linspace",
               [] { linspace(0, std::numeric_limits<double>::infinity(), 3); });
}

TEST(Creation, EyeAndIdentityEveryDtype) {
  StreamContext ctx{Device(cpu)};
  for (Dtype t : kAllDtypes) {
    SCOPED_TRACE(std::string(dtype_name(t)));
    const std::vector<std::array<int, 3>> cases = {
        {4, 4, 0},  {3, 5, 1}, {5, 3, -2}, {3, 4, 7},
        {3, 4, -3}, {0, 3, 0}, {3, 0, 0},  {400, 300, -50}};
    for (auto [n, m, k] : cases) {
      array e = eye(n, m, k, t);
      EXPECT_EQ(e.shape(), (Shape{n, m}));
      EXPECT_EQ(e.dtype(), t);
      auto v = as_doubles(e);
      for (int i = 0; i < n; ++i) {
        for (int j = 0; j < m; ++j) {
          ASSERT_EQ(v[size_t(i) * m + j], j - i == k ? 1.0 : 0.0)
              << n << "x" << m << " k=" << k << " at " << i << "," << j;
        }
      }
    }
    auto id = as_doubles(identity(3, t));
    EXPECT_EQ(id, (std::vector<double>{1, 0, 0, 0, 1, 0, 0, 0, 1}));
  }
  EXPECT_EQ(eye(3).dtype(), float32);
  EXPECT_EQ(eye(3).shape(), (Shape{3, 3}));
  EXPECT_EQ(identity(2).dtype(), float32);
  expect_error("eye", [] { eye(-1, 2, 0); });
  expect_error("eye", [] { eye(2, -1, 0); });
  expect_error("identity", [] { identity(-3); });
}

// detail::adopt, from_dlpack's import of GPU memory (here on a CPU stream):
// the array takes the buffer when its op runs, in order on its stream, with
// the strides and offset given, and holds it until the last reader is done.
TEST(Creation, AdoptedBufferBecomesTheArraysDataWhenItsOpRuns) {
  Seeded r;
  SCOPED_TRACE(r.trace());
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> host(12);  // a (3, 4) row-major block
  for (float& x : host) x = u(r.rng);
  auto released = std::make_shared<std::atomic<int>>(0);
  auto buf = std::make_shared<detail::Buffer>(
      host.data(), host.size() * sizeof(float), Device(cpu),
      [released](const detail::Buffer&) { ++*released; });
  Stream s = new_stream(Device(cpu));
  const uint64_t runs = hooks::execution_count("from_dlpack");
  {
    // Columns 1 and 3 of the block, as a (3, 2) view.
    array a = detail::adopt(buf, {3, 2}, {4, 2}, 1, float32, s);
    buf.reset();
    hooks::Gate gate = hooks::block(s);
    array b = multiply(a, array(2.0f), s);
    async_eval({b});
    EXPECT_EQ(a.status(), ArrayStatus::scheduled);  // behind the gate
    gate.open();
    b.eval();
    EXPECT_EQ(hooks::execution_count("from_dlpack"), runs + 1);
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 2; ++j) {
        EXPECT_EQ(b.data<float>()[2 * i + j], 2 * host[1 + 4 * i + 2 * j]);
      }
    }
    EXPECT_EQ(a.strides(), Strides({4, 2}));
    EXPECT_EQ(a.data<float>(), host.data() + 1);
    EXPECT_EQ(released->load(), 0);
  }
  // The stream's worker lets go of the op's inputs a moment after it ends.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (released->load() == 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(released->load(), 1);
}
