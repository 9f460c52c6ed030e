// Reductions, scans and softmax on the CPU, in every dtype they take, against
// host references (exact integer arithmetic with wrap-around; long double
// for floats, with error bounds stated beside each check) on fresh random
// data; every axis set, keepdims, negative axes, 0-size and 0-d inputs,
// strided inputs (transposed, reversed, broadcast, offset), the errors, and
// results that do not depend on the number of workers.
#include "runnel/primitives/reduce.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "runnel/runnel.h"
#include "runnel/scheduler/graph.h"
#include "tests/cpp/test_util.h"

using namespace runnel;
using namespace runnel::test;

namespace {

// ---- Random data and host values ----

template <class T>
long double ld(T v) {
  if constexpr (kHalf<T>) {
    return static_cast<float>(v);
  } else {
    return static_cast<long double>(v);
  }
}

// The spacing of T's subnormals: the absolute rounding of a result too
// small to be normal (float16 below about 6e-5).
template <class T>
double subnormal_step() {
  return min_normal_of<T>() * eps_of<T>();
}

// Small values, so that ties and zeros are frequent: integers (and floats
// with integer values) in [lo, hi], bools half true.
template <class T>
Host<T> small_values(size_t n, std::mt19937& rng, int lo, int hi) {
  Host<T> h(n);
  std::uniform_int_distribution<int> u(lo, hi);
  for (size_t i = 0; i < n; ++i) {
    int v = u(rng);
    if constexpr (kBool<T>) {
      h[i] = (v & 1) != 0;
    } else if constexpr (std::is_unsigned_v<T>) {
      h[i] = static_cast<T>(v - lo);
    } else {
      h[i] = static_cast<T>(v);
    }
  }
  return h;
}

// bool has no std::vector<bool>::data(); read bools as uint8.
std::vector<uint8_t> bool_values(array a) {
  a.eval();
  const bool* p = a.data<bool>();
  std::vector<uint8_t> v(a.size());
  for (size_t i = 0; i < a.size(); ++i) v[i] = p[i] ? 1 : 0;
  return v;
}

// The logical (row-major) values of a strided view of host data.
template <class T>
Host<T> logical(const Host<T>& base, const Shape& shape, const Strides& st,
                int64_t offset) {
  Host<T> out(numel(shape));
  for (size_t i = 0; i < out.n; ++i) {
    int64_t off = offset;
    size_t rem = i;
    for (size_t d = shape.size(); d-- > 0;) {
      off += static_cast<int64_t>(rem % shape[d]) * st[d];
      rem /= shape[d];
    }
    out[i] = base[static_cast<size_t>(off)];
  }
  return out;
}

// ---- Grouping input elements by output ----

// For a reduction of `shape` over `axes` (normalised): the output shape and,
// per output, the flat input indices reduced into it, in row-major order.
struct Groups {
  Shape out_shape;
  std::vector<std::vector<size_t>> members;
};

Groups group_by(const Shape& shape, const std::vector<int>& axes,
                bool keepdims) {
  Groups g;
  std::vector<bool> red(shape.size(), false);
  for (int a : axes) red[a] = true;
  size_t outs = 1;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (!red[d]) {
      g.out_shape.push_back(shape[d]);
      outs *= shape[d];
    } else if (keepdims) {
      g.out_shape.push_back(1);
    }
  }
  g.members.resize(outs);
  const size_t n = numel(shape);
  for (size_t i = 0; i < n; ++i) {
    size_t rem = i, o = 0, mul = 1;
    for (size_t d = shape.size(); d-- > 0;) {
      size_t c = rem % shape[d];
      rem /= shape[d];
      if (!red[d]) {
        o += c * mul;
        mul *= shape[d];
      }
    }
    g.members[o].push_back(i);
  }
  return g;
}

// Every subset of the axes of an ndim array, each axis spelled negative at
// random.
std::vector<std::vector<int>> axis_sets(int ndim, std::mt19937& rng) {
  std::vector<std::vector<int>> out;
  for (int mask = 0; mask < (1 << ndim); ++mask) {
    std::vector<int> axes;
    for (int d = 0; d < ndim; ++d) {
      if (mask & (1 << d)) axes.push_back(rng() & 1 ? d - ndim : d);
    }
    std::shuffle(axes.begin(), axes.end(), rng);
    out.push_back(axes);
  }
  return out;
}

std::vector<int> normalized(std::vector<int> axes, int ndim) {
  for (int& a : axes) a = a < 0 ? a + ndim : a;
  std::sort(axes.begin(), axes.end());
  return axes;
}

std::string axes_str(const std::vector<int>& axes) {
  std::string s = "axes (";
  for (int a : axes) s += std::to_string(a) + ",";
  return s + ")";
}

// ---- Reference checks ----

// |got - want| <= bound, with NaN matching NaN and infinities exactly.
::testing::AssertionResult near(long double got, long double want,
                                long double bound) {
  if (std::isnan(want)) {
    if (std::isnan(got)) return ::testing::AssertionSuccess();
  } else if (std::isinf(want) || std::isinf(got)) {
    if (got == want) return ::testing::AssertionSuccess();
  } else if (std::fabs(got - want) <= bound) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "got " << static_cast<double>(got) << ", want "
         << static_cast<double>(want) << " (bound "
         << static_cast<double>(bound) << ")";
}

// sum: exact with wrap-around for integers (bool counts as int32), and for
// floats within the pairwise bound: (log2(n) + 32) rounding errors of the
// accumulator times sum|x|, plus one rounding to T.
template <class T>
void check_sum(const array& r, const Host<T>& h, const Groups& g) {
  ASSERT_EQ(r.shape(), g.out_shape);
  if constexpr (kBool<T>) {
    ASSERT_EQ(r.dtype(), int32);
    auto v = to_vector<int32_t>(r);
    for (size_t o = 0; o < g.members.size(); ++o) {
      int32_t want = 0;
      for (size_t i : g.members[o]) want += h[i] ? 1 : 0;
      ASSERT_EQ(v[o], want) << "output " << o;
    }
  } else if constexpr (kInt<T>) {
    ASSERT_EQ(r.dtype(), dtype_of<T>());
    auto v = to_vector<T>(r);
    for (size_t o = 0; o < g.members.size(); ++o) {
      uint64_t acc = 0;
      for (size_t i : g.members[o]) acc += static_cast<uint64_t>(h[i]);
      ASSERT_EQ(v[o], static_cast<T>(acc)) << "output " << o;
    }
  } else {
    ASSERT_EQ(r.dtype(), dtype_of<T>());
    auto v = to_vector<T>(r);
    for (size_t o = 0; o < g.members.size(); ++o) {
      long double want = 0, abs_sum = 0;
      for (size_t i : g.members[o]) {
        want += ld(h[i]);
        abs_sum += std::fabs(ld(h[i]));
      }
      double n = std::max<double>(2, g.members[o].size());
      long double bound = (std::log2(n) + 32) * acc_eps<T>() * abs_sum +
                          eps_of<T>() * std::fabs(want);
      ASSERT_TRUE(near(ld(v[o]), want, bound)) << "output " << o;
    }
  }
}

// prod: exact with wrap-around for integers (bool is int32 and), floats
// within (n + 2) rounding errors of the accumulator plus one of T.
template <class T>
void check_prod(const array& r, const Host<T>& h, const Groups& g) {
  ASSERT_EQ(r.shape(), g.out_shape);
  if constexpr (kBool<T>) {
    ASSERT_EQ(r.dtype(), int32);
    auto v = to_vector<int32_t>(r);
    for (size_t o = 0; o < g.members.size(); ++o) {
      int32_t want = 1;
      for (size_t i : g.members[o]) want *= h[i] ? 1 : 0;
      ASSERT_EQ(v[o], want) << "output " << o;
    }
  } else if constexpr (kInt<T>) {
    ASSERT_EQ(r.dtype(), dtype_of<T>());
    auto v = to_vector<T>(r);
    for (size_t o = 0; o < g.members.size(); ++o) {
      uint64_t acc = 1;
      for (size_t i : g.members[o]) acc *= static_cast<uint64_t>(h[i]);
      ASSERT_EQ(v[o], static_cast<T>(acc)) << "output " << o;
    }
  } else {
    ASSERT_EQ(r.dtype(), dtype_of<T>());
    auto v = to_vector<T>(r);
    for (size_t o = 0; o < g.members.size(); ++o) {
      long double want = 1;
      for (size_t i : g.members[o]) want *= ld(h[i]);
      long double bound =
          ((g.members[o].size() + 2) * acc_eps<T>() + eps_of<T>()) *
              std::fabs(want) +
          subnormal_step<T>();
      ASSERT_TRUE(near(ld(v[o]), want, bound)) << "output " << o;
    }
  }
}

// max / min: exactly an element; NaN wins.
template <class T>
void check_extreme(const array& r, const Host<T>& h, const Groups& g,
                   bool is_max) {
  ASSERT_EQ(r.shape(), g.out_shape);
  ASSERT_EQ(r.dtype(), dtype_of<T>());
  if constexpr (kBool<T>) {
    auto v = bool_values(r);
    for (size_t o = 0; o < g.members.size(); ++o) {
      bool want = !is_max;
      for (size_t i : g.members[o]) want = is_max ? want || h[i] : want && h[i];
      ASSERT_EQ(v[o] != 0, want) << "output " << o;
    }
  } else {
    auto v = to_vector<T>(r);
    for (size_t o = 0; o < g.members.size(); ++o) {
      long double want = ld(h[g.members[o][0]]);
      for (size_t i : g.members[o]) {
        long double x = ld(h[i]);
        if (std::isnan(x) || std::isnan(want)) {
          want = std::numeric_limits<long double>::quiet_NaN();
        } else {
          want = is_max ? std::max(want, x) : std::min(want, x);
        }
      }
      ASSERT_TRUE(near(ld(v[o]), want, 0)) << "output " << o;
    }
  }
}

template <class T>
void check_logical(const array& r, const Host<T>& h, const Groups& g,
                   bool is_all) {
  ASSERT_EQ(r.shape(), g.out_shape);
  ASSERT_EQ(r.dtype(), bool_);
  auto v = bool_values(r);
  for (size_t o = 0; o < g.members.size(); ++o) {
    bool want = is_all;
    for (size_t i : g.members[o]) {
      bool nz = ld(h[i]) != 0 || std::isnan(ld(h[i]));
      want = is_all ? want && nz : want || nz;
    }
    ASSERT_EQ(v[o] != 0, want) << "output " << o;
  }
}

// The dtype of mean, var, std and logsumexp.
template <class T>
Dtype float_dtype() {
  return kFloat<T> ? dtype_of<T>() : float32;
}
// Reads a float result of dtype float_dtype<T>() as long doubles.
template <class T>
std::vector<long double> float_values(const array& r) {
  std::vector<long double> out;
  if constexpr (kFloat<T>) {
    for (T x : to_vector<T>(r)) out.push_back(ld(x));
  } else {
    for (float x : to_vector<float>(r)) out.push_back(x);
  }
  return out;
}
// The rounding unit of the result dtype: T's, or float32's for integers.
template <class T>
double out_eps() {
  return kFloat<T> ? eps_of<T>() : std::ldexp(1.0, -23);
}

// mean: the sum's bound over n, plus a rounding (absolute where the mean is
// subnormal).
template <class T>
void check_mean(const array& r, const Host<T>& h, const Groups& g) {
  ASSERT_EQ(r.shape(), g.out_shape);
  ASSERT_EQ(r.dtype(), float_dtype<T>());
  auto v = float_values<T>(r);
  for (size_t o = 0; o < g.members.size(); ++o) {
    const double n = g.members[o].size();
    long double sum = 0, abs_sum = 0;
    for (size_t i : g.members[o]) {
      sum += ld(h[i]);
      abs_sum += std::fabs(ld(h[i]));
    }
    if (n == 0) {
      ASSERT_TRUE(std::isnan(v[o])) << "output " << o;
      continue;
    }
    long double want = sum / n;
    long double bound =
        (std::log2(std::max(n, 2.0)) + 34) * acc_eps<T>() * abs_sum / n +
        2 * out_eps<T>() * std::fabs(want) + subnormal_step<T>();
    ASSERT_TRUE(near(v[o], want, bound)) << "output " << o;
  }
}

// var and std (two-pass reference in long double): the pairwise bound on
// the sum of squares, a rounding of the mean (its error enters squared), and
// the final roundings.
template <class T>
void check_var(const array& r, const Host<T>& h, const Groups& g, int ddof,
               bool is_std) {
  ASSERT_EQ(r.shape(), g.out_shape);
  ASSERT_EQ(r.dtype(), float_dtype<T>());
  auto v = float_values<T>(r);
  for (size_t o = 0; o < g.members.size(); ++o) {
    const double n = g.members[o].size();
    long double mean = 0;
    for (size_t i : g.members[o]) mean += ld(h[i]);
    mean /= n;
    long double ss = 0;
    for (size_t i : g.members[o]) ss += (ld(h[i]) - mean) * (ld(h[i]) - mean);
    long double want = ss / std::max(n - ddof, 0.0);
    if (n - ddof <= 0) want = ss > 0 ? INFINITY : NAN;
    // The mean is off by up to (log2(n) + 4) roundings, which adds its
    // square; results may be subnormal (float16).
    const long double mean_err =
        (std::log2(std::max(n, 2.0)) + 4) * out_eps<T>() * std::fabs(mean);
    const long double sub = subnormal_step<T>();
    long double bound =
        (std::log2(std::max(n, 2.0)) + 34) * acc_eps<T>() * std::fabs(want) +
        4 * out_eps<T>() * std::fabs(want) + 2 * mean_err * mean_err + sub;
    if (is_std) {
      want = std::sqrt(want);
      bound = std::min(bound / (2 * std::max(want, 1e-30L)), std::sqrt(bound)) +
              2 * out_eps<T>() * std::fabs(want) + sub;
    }
    ASSERT_TRUE(near(v[o], want, bound)) << "output " << o << " n=" << n;
  }
}

// logsumexp: max + log(sum(exp(x - max))); the float exp is within about 2
// ulp, the sum pairwise, then one rounding.
template <class T>
void check_logsumexp(const array& r, const Host<T>& h, const Groups& g) {
  ASSERT_EQ(r.shape(), g.out_shape);
  ASSERT_EQ(r.dtype(), float_dtype<T>());
  auto v = float_values<T>(r);
  for (size_t o = 0; o < g.members.size(); ++o) {
    long double m = -INFINITY;
    for (size_t i : g.members[o]) m = std::max(m, ld(h[i]));
    long double s = 0;
    for (size_t i : g.members[o]) s += std::exp(ld(h[i]) - m);
    long double want = m + std::log(s);
    double n = std::max<double>(2, g.members[o].size());
    long double bound =
        (std::log2(n) + 40) * acc_eps<T>() + 2 * out_eps<T>() * std::fabs(want);
    ASSERT_TRUE(near(v[o], want, bound)) << "output " << o;
  }
}

// softmax: each element of `v` against exp(x - max) / sum(exp(x - max))
// over its group, within `roundings(n)` rounding errors of the accumulator
// and two of T, relative, for a group of n, plus T's subnormal spacing.
template <class T, class R>
void check_softmax(const std::vector<T>& v, const Host<T>& h, const Groups& g,
                   R roundings) {
  for (const auto& m : g.members) {
    long double mx = -INFINITY, sum = 0;
    for (size_t i : m) mx = std::max(mx, ld(h[i]));
    for (size_t i : m) sum += std::exp(ld(h[i]) - mx);
    for (size_t i : m) {
      long double want = std::exp(ld(h[i]) - mx) / sum;
      long double bound =
          (roundings(m.size()) * acc_eps<T>() + 2 * eps_of<T>()) * want +
          subnormal_step<T>();
      ASSERT_TRUE(near(ld(v[i]), want, bound)) << "element " << i;
    }
  }
}

// ---- Typed tests: every dtype ----

template <class T>
class ReduceTyped : public ::testing::Test {};
TYPED_TEST_SUITE(ReduceTyped, AllTypes, TypeNames);

template <class T>
class ReduceFloat : public ::testing::Test {};
TYPED_TEST_SUITE(ReduceFloat, FloatTypes, TypeNames);

// The shapes every axis set is tried on: 0-d, 1-d, size-1 axes, a zero-size
// axis, and sizes that are not multiples of any vector width.
const std::vector<Shape> kShapes = {
    {}, {1}, {37}, {2, 3, 4}, {5, 1, 7}, {3, 0, 2}, {3, 2, 5, 4}, {33, 65},
};

template <class F>
void for_each_case(std::mt19937& rng, F&& f) {
  for (const Shape& shape : kShapes) {
    for (const auto& axes : axis_sets(static_cast<int>(shape.size()), rng)) {
      for (bool keepdims : {false, true}) {
        SCOPED_TRACE("shape of " + std::to_string(shape.size()) + " dims (" +
                     std::to_string(numel(shape)) + " elements), " +
                     axes_str(axes) + (keepdims ? " keepdims" : ""));
        f(shape, axes,
          group_by(shape, normalized(axes, static_cast<int>(shape.size())),
                   keepdims),
          keepdims);
      }
    }
  }
}

TYPED_TEST(ReduceTyped, SumOverEveryAxisSet) {
  using T = TypeParam;
  Seeded s;
  SCOPED_TRACE(s.trace());
  StreamContext ctx{Device(cpu)};
  for_each_case(s.rng, [&](const Shape& shape, const std::vector<int>& axes,
                           const Groups& g, bool keepdims) {
    auto h = random_values<T>(numel(shape), s.rng);
    array a = to_array(h, shape);
    check_sum(sum(a, axes, keepdims), h, g);
  });
}

TYPED_TEST(ReduceTyped, ProdOverEveryAxisSet) {
  using T = TypeParam;
  Seeded s;
  SCOPED_TRACE(s.trace());
  StreamContext ctx{Device(cpu)};
  for_each_case(s.rng, [&](const Shape& shape, const std::vector<int>& axes,
                           const Groups& g, bool keepdims) {
    // Floats near 1, so that products of up to 2145 elements stay finite.
    auto h = random_values<T>(numel(shape), s.rng, 0.99, 1.01);
    check_prod(prod(to_array(h, shape), axes, keepdims), h, g);
  });
}

TYPED_TEST(ReduceTyped, MaxAndMinOverEveryAxisSet) {
  using T = TypeParam;
  Seeded s;
  SCOPED_TRACE(s.trace());
  StreamContext ctx{Device(cpu)};
  for_each_case(s.rng, [&](const Shape& shape, const std::vector<int>& axes,
                           const Groups& g, bool keepdims) {
    auto h = random_values<T>(numel(shape), s.rng);
    array a = to_array(h, shape);
    bool empty = false;
    for (const auto& m : g.members) empty = empty || m.empty();
    if (empty) {
      expect_invalid([&] { max(a, axes, keepdims); }, "[max]");
      expect_invalid([&] { min(a, axes, keepdims); }, "[min]");
      return;
    }
    check_extreme(max(a, axes, keepdims), h, g, true);
    check_extreme(min(a, axes, keepdims), h, g, false);
  });
}

TYPED_TEST(ReduceTyped, AllAndAnyOverEveryAxisSet) {
  using T = TypeParam;
  Seeded s;
  SCOPED_TRACE(s.trace());
  StreamContext ctx{Device(cpu)};
  for_each_case(s.rng, [&](const Shape& shape, const std::vector<int>& axes,
                           const Groups& g, bool keepdims) {
    // Zeros in about one element of three.
    auto h = small_values<T>(numel(shape), s.rng, -1, 1);
    if constexpr (kFloat<T>) {
      for (size_t i = 0; i < h.n; i += 5) h[i] = T(0.25f);
    }
    array a = to_array(h, shape);
    check_logical(all(a, axes, keepdims), h, g, true);
    check_logical(any(a, axes, keepdims), h, g, false);
  });
}

TYPED_TEST(ReduceTyped, MeanVarStdOverEveryAxisSet) {
  using T = TypeParam;
  Seeded s;
  SCOPED_TRACE(s.trace());
  StreamContext ctx{Device(cpu)};
  for_each_case(s.rng, [&](const Shape& shape, const std::vector<int>& axes,
                           const Groups& g, bool keepdims) {
    // Integers small enough that float32 holds every sum exactly.
    auto h = kFloat<T> ? random_values<T>(numel(shape), s.rng)
                       : small_values<T>(numel(shape), s.rng, -100, 100);
    array a = to_array(h, shape);
    check_mean(mean(a, axes, keepdims), h, g);
    for (int ddof : {0, 1}) {
      SCOPED_TRACE("ddof=" + std::to_string(ddof));
      check_var(var(a, axes, keepdims, ddof), h, g, ddof, false);
      check_var(runnel::std(a, axes, keepdims, ddof), h, g, ddof, true);
    }
  });
}

TYPED_TEST(ReduceTyped, LogsumexpOverEveryAxisSet) {
  using T = TypeParam;
  Seeded s;
  SCOPED_TRACE(s.trace());
  StreamContext ctx{Device(cpu)};
  for_each_case(s.rng, [&](const Shape& shape, const std::vector<int>& axes,
                           const Groups& g, bool keepdims) {
    auto h = kFloat<T> ? random_values<T>(numel(shape), s.rng)
                       : small_values<T>(numel(shape), s.rng, -20, 20);
    array a = to_array(h, shape);
    bool empty = false;
    for (const auto& m : g.members) empty = empty || m.empty();
    if (empty) {
      expect_invalid([&] { logsumexp(a, axes, keepdims); }, "[logsumexp]");
      return;
    }
    check_logsumexp(logsumexp(a, axes, keepdims), h, g);
  });
}

// The first largest / smallest along each axis and over the flattened array;
// few distinct values, so that ties are common.
TYPED_TEST(ReduceTyped, ArgmaxArgminTakeTheFirstExtreme) {
  using T = TypeParam;
  Seeded s;
  SCOPED_TRACE(s.trace());
  StreamContext ctx{Device(cpu)};
  for (const Shape& shape : kShapes) {
    const int nd = static_cast<int>(shape.size());
    auto h = small_values<T>(numel(shape), s.rng, -2, 2);
    array a = to_array(h, shape);
    for (bool is_max : {true, false}) {
      auto better = [&](size_t i, size_t j) {
        return is_max ? ld(h[i]) > ld(h[j]) : ld(h[i]) < ld(h[j]);
      };
      for (bool keepdims : {false, true}) {
        SCOPED_TRACE(std::string(is_max ? "argmax" : "argmin") + " over " +
                     std::to_string(nd) + " dims" +
                     (keepdims ? " keepdims" : ""));
        // Flattened.
        if (numel(shape) == 0) {
          expect_invalid(
              [&] { is_max ? argmax(a, keepdims) : argmin(a, keepdims); },
              is_max ? "[argmax]" : "[argmin]");
        } else {
          array r = is_max ? argmax(a, keepdims) : argmin(a, keepdims);
          EXPECT_EQ(r.dtype(), uint32);
          EXPECT_EQ(r.shape(), keepdims ? Shape(nd, 1) : Shape{});
          size_t best = 0;
          for (size_t i = 1; i < h.n; ++i) {
            if (better(i, best)) best = i;
          }
          EXPECT_EQ(r.item<uint32_t>(), best);
        }
        for (int ax = 0; ax < nd; ++ax) {
          SCOPED_TRACE("axis " + std::to_string(ax));
          const int spelled = (s.rng() & 1) ? ax - nd : ax;
          if (shape[ax] == 0) {
            expect_invalid([&] { argmax(a, spelled, keepdims); }, "[argmax]");
            continue;
          }
          array r = is_max ? argmax(a, spelled, keepdims)
                           : argmin(a, spelled, keepdims);
          Groups g = group_by(shape, {ax}, keepdims);
          ASSERT_EQ(r.dtype(), uint32);
          ASSERT_EQ(r.shape(), g.out_shape);
          auto v = to_vector<uint32_t>(r);
          for (size_t o = 0; o < g.members.size(); ++o) {
            size_t best = 0;
            for (size_t k = 1; k < g.members[o].size(); ++k) {
              if (better(g.members[o][k], g.members[o][best])) best = k;
            }
            ASSERT_EQ(v[o], best) << "output " << o;
          }
        }
      }
    }
  }
}

// cumsum and cumprod along every axis and flattened, every direction and
// inclusiveness, against sequential host scans.
TYPED_TEST(ReduceTyped, CumsumAndCumprodMatchSequentialScans) {
  using T = TypeParam;
  Seeded s;
  SCOPED_TRACE(s.trace());
  StreamContext ctx{Device(cpu)};
  for (const Shape& shape : kShapes) {
    const int nd = static_cast<int>(shape.size());
    for (bool is_prod : {false, true}) {
      auto h = is_prod ? random_values<T>(numel(shape), s.rng, 0.9, 1.1)
                       : random_values<T>(numel(shape), s.rng);
      array a = to_array(h, shape);
      for (int ax = -1; ax < nd; ++ax) {  // -1: flattened
        for (bool reverse : {false, true}) {
          for (bool inclusive : {true, false}) {
            SCOPED_TRACE(
                std::string(is_prod ? "cumprod" : "cumsum") +
                " dims=" + std::to_string(nd) + " axis=" + std::to_string(ax) +
                (reverse ? " reverse" : "") + (inclusive ? "" : " exclusive"));
            const int spelled = (s.rng() & 1) ? ax - nd : ax;
            array r = ax < 0
                          ? (is_prod ? cumprod(a, reverse, inclusive)
                                     : cumsum(a, reverse, inclusive))
                          : (is_prod ? cumprod(a, spelled, reverse, inclusive)
                                     : cumsum(a, spelled, reverse, inclusive));
            // Lines: the flat indices along the scanned axis.
            Shape line_shape =
                ax < 0 ? Shape{static_cast<int>(numel(shape))} : shape;
            ASSERT_EQ(r.shape(), line_shape);
            Dtype want_dtype = !is_prod && kBool<T> ? int32 : dtype_of<T>();
            ASSERT_EQ(r.dtype(), want_dtype);
            // Each output of a reduction along the axis has the line's
            // elements as its members, in order.
            Groups lines = group_by(line_shape, {ax < 0 ? 0 : ax}, false);
            // Floats as long doubles; integers (bool as int32 or bool)
            // exactly, as uint64 modulo 2^64.
            std::vector<long double> got;
            std::vector<uint64_t> igot;
            if constexpr (kFloat<T>) {
              for (T x : to_vector<T>(r)) got.push_back(ld(x));
            } else if constexpr (kBool<T>) {
              if (is_prod) {
                for (uint8_t x : bool_values(r)) igot.push_back(x);
              } else {
                for (int32_t x : to_vector<int32_t>(r)) igot.push_back(x);
              }
            } else {
              for (T x : to_vector<T>(r)) {
                igot.push_back(static_cast<uint64_t>(x));
              }
            }
            for (const auto& line : lines.members) {
              const size_t n = line.size();
              long double acc = is_prod ? 1 : 0, abs_acc = 0;
              uint64_t iacc = is_prod ? 1 : 0;
              for (size_t t = 0; t < n; ++t) {
                const size_t i = line[reverse ? n - 1 - t : t];
                const long double x = ld(h[i]);
                long double want = 0;
                uint64_t iwant = 0;
                if (!inclusive) {
                  want = acc;
                  iwant = iacc;
                }
                acc = is_prod ? acc * x : acc + x;
                abs_acc += std::fabs(x);
                if constexpr (!kFloat<T>) {  // a float cast could be UB
                  iacc = is_prod ? iacc * static_cast<uint64_t>(h[i])
                                 : iacc + static_cast<uint64_t>(h[i]);
                }
                if (inclusive) {
                  want = acc;
                  iwant = iacc;
                }
                if constexpr (kFloat<T>) {
                  // Plus the spacing of T's subnormals: long products can
                  // drift below the normal range of float16.
                  long double bound =
                      (is_prod ? ((n + 2) * acc_eps<T>() + eps_of<T>()) *
                                     std::fabs(want)
                               : (n + 2) * acc_eps<T>() * abs_acc +
                                     eps_of<T>() * std::fabs(want)) +
                      subnormal_step<T>();
                  ASSERT_TRUE(near(got[i], want, bound)) << "element " << i;
                } else if constexpr (kBool<T>) {
                  ASSERT_EQ(igot[i], is_prod ? uint64_t{iwant != 0} : iwant)
                      << "element " << i;
                } else {
                  ASSERT_EQ(igot[i],
                            static_cast<uint64_t>(static_cast<T>(iwant)))
                      << "element " << i;
                }
              }
            }
          }
        }
      }
    }
  }
}

// ---- Floats: softmax, NaN, accuracy ----

TYPED_TEST(ReduceFloat, SoftmaxOverEveryAxisSet) {
  using T = TypeParam;
  Seeded s;
  SCOPED_TRACE(s.trace());
  StreamContext ctx{Device(cpu)};
  for_each_case(s.rng, [&](const Shape& shape, const std::vector<int>& axes,
                           const Groups& g, bool keepdims) {
    if (keepdims) return;
    auto h = random_values<T>(numel(shape), s.rng, -20, 20);
    for (bool precise : {false, true}) {
      array r = softmax(to_array(h, shape), axes, precise);
      ASSERT_EQ(r.shape(), shape);
      ASSERT_EQ(r.dtype(), dtype_of<T>());
      check_softmax(to_vector<T>(r), h, g, [](size_t n) {
        return std::log2(std::max<double>(2, n)) + 40;
      });
    }
  });
}

TYPED_TEST(ReduceFloat, NaNPropagatesAndArgFindsTheFirstNaN) {
  using T = TypeParam;
  Seeded s;
  SCOPED_TRACE(s.trace());
  StreamContext ctx{Device(cpu)};
  const T nan = T(std::numeric_limits<float>::quiet_NaN());
  for (int n : {5, 37, 300, 70000}) {
    SCOPED_TRACE("n=" + std::to_string(n));
    auto h = random_values<T>(n, s.rng);
    const int first = static_cast<int>(s.rng() % n);
    h[first] = nan;
    h[std::min(n - 1, first + 1 + static_cast<int>(s.rng() % 3))] = nan;
    array a = to_array(h, {n});
    EXPECT_TRUE(std::isnan(ld(max(a).item<T>())));
    EXPECT_TRUE(std::isnan(ld(min(a).item<T>())));
    EXPECT_TRUE(std::isnan(ld(sum(a).item<T>())));
    EXPECT_TRUE(std::isnan(ld(logsumexp(a).item<T>())));
    EXPECT_EQ(argmax(a).item<uint32_t>(), static_cast<uint32_t>(first));
    EXPECT_EQ(argmin(a).item<uint32_t>(), static_cast<uint32_t>(first));
    EXPECT_TRUE(all(a).item<bool>() ==
                (std::count_if(h.data(), h.data() + n,
                               [](T x) { return ld(x) == 0; }) == 0));
    // Along axis 0 of (n, 3) (the column kernels) and axis 1 of (3, n).
    auto col = random_values<T>(static_cast<size_t>(n) * 3, s.rng);
    col[static_cast<size_t>(first) * 3 + 1] = nan;
    array c = to_array(col, {n, 3});
    auto mx = to_vector<T>(max(c, 0));
    EXPECT_FALSE(std::isnan(ld(mx[0])));
    EXPECT_TRUE(std::isnan(ld(mx[1])));
    auto am = to_vector<uint32_t>(argmax(c, 0));
    EXPECT_EQ(am[1], static_cast<uint32_t>(first));
    auto an = to_vector<uint32_t>(argmin(c, 0));
    EXPECT_EQ(an[1], static_cast<uint32_t>(first));
  }
  // Infinities: logsumexp of +inf is +inf; of only -inf is -inf.
  const T inf = T(std::numeric_limits<float>::infinity());
  array pinf = array({T(1), inf, T(2)});
  EXPECT_EQ(ld(logsumexp(pinf).item<T>()), INFINITY);
  const T minf = T(-std::numeric_limits<float>::infinity());
  array ninf = array({minf, minf});
  EXPECT_EQ(ld(logsumexp(ninf).item<T>()), -INFINITY);
}

// Large reductions along each axis: positive values, where a running sum
// would drift far outside the pairwise bound; shapes that take the chunked
// paths (more than 2^15 elements per output, or many rows of few columns).
TYPED_TEST(ReduceFloat, LargeSumsStayWithinThePairwiseBound) {
  using T = TypeParam;
  Seeded s;
  SCOPED_TRACE(s.trace());
  StreamContext ctx{Device(cpu)};
  // float16 sums of up to 2^18 values stay finite below 1/4.
  const double hi = std::is_same_v<T, float16_t> ? 0.25 : 1.0;
  for (Shape shape : {Shape{3, 70001}, Shape{70001, 3}, Shape{257, 1031},
                      Shape{1031, 257}, Shape{9, 40000, 2}}) {
    auto h = random_values<T>(numel(shape), s.rng, 0.0, hi);
    array a = to_array(h, shape);
    const int nd = static_cast<int>(shape.size());
    for (int ax = 0; ax < nd; ++ax) {
      SCOPED_TRACE("axis " + std::to_string(ax) + " of " +
                   std::to_string(numel(shape)));
      Groups g = group_by(shape, {ax}, false);
      check_sum(sum(a, ax), h, g);
      check_mean(mean(a, ax), h, g);
      check_var(var(a, ax), h, g, 0, false);
      check_logsumexp(logsumexp(a, ax), h, g);
    }
    Groups all_g = group_by(shape, {0, 1}, false);
    if (nd == 2) check_sum(sum(a, std::vector<int>{0, 1}), h, all_g);
  }
}

// Softmax over a long last axis (the fused row kernel with its pairwise
// sum) and over the leading axis (the three-pass path).
TYPED_TEST(ReduceFloat, SoftmaxOfLongRowsAndColumns) {
  using T = TypeParam;
  Seeded s;
  SCOPED_TRACE(s.trace());
  StreamContext ctx{Device(cpu)};
  const Shape shape{3, 50000};
  auto h = random_values<T>(numel(shape), s.rng, -5, 5);
  array a = to_array(h, shape);
  for (int ax : {1, 0}) {
    SCOPED_TRACE("axis " + std::to_string(ax));
    Groups g = group_by(shape, {ax}, false);
    check_softmax(to_vector<T>(softmax(a, ax)), h, g,
                  [](size_t n) { return std::log2(n) + 40; });
  }
}

// ---- Strided inputs ----

// Transposed, reversed, broadcast (stride 0) and offset views of one buffer:
// every op reads them as their logical values.
TYPED_TEST(ReduceTyped, StridedInputsReduceAsTheirLogicalValues) {
  using T = TypeParam;
  Seeded s;
  SCOPED_TRACE(s.trace());
  StreamContext ctx{Device(cpu)};
  const int R = 37, C = 300;
  auto base = random_values<T>(R * C + 5, s.rng);
  array b = to_array(base, {R * C + 5});
  struct View {
    const char* what;
    Shape shape;
    Strides strides;
    int64_t offset;
  };
  const std::vector<View> views = {
      {"transposed", {C, R}, {1, C}, 0},
      {"rows reversed", {R, C}, {-C, 1}, static_cast<int64_t>(R - 1) * C},
      {"both reversed", {R, C}, {-C, -1}, static_cast<int64_t>(R) * C - 1},
      {"broadcast rows", {R, C}, {0, 1}, 5},
      {"broadcast columns", {R, C}, {1, 0}, 3},
      {"every other column", {R, C / 2}, {C, 2}, 1},
      {"3-d permuted", {C / 4, R, 4}, {4, C, 1}, 0},
  };
  for (const View& v : views) {
    SCOPED_TRACE(v.what);
    array a = view_of(b, v.shape, v.strides, v.offset);
    auto h = logical(base, v.shape, v.strides, v.offset);
    const int nd = static_cast<int>(v.shape.size());
    for (const auto& axes : axis_sets(nd, s.rng)) {
      if (axes.empty()) continue;
      SCOPED_TRACE(axes_str(axes));
      Groups g = group_by(v.shape, normalized(axes, nd), false);
      check_sum(sum(a, axes), h, g);
      check_extreme(max(a, axes), h, g, true);
      check_logical(any(a, axes), h, g, false);
      if constexpr (kFloat<T>) check_var(var(a, axes), h, g, 0, false);
    }
    // argmax along each axis and flattened.
    for (int ax = 0; ax < nd; ++ax) {
      Groups g = group_by(v.shape, {ax}, false);
      auto r = to_vector<uint32_t>(argmax(a, ax));
      for (size_t o = 0; o < g.members.size(); ++o) {
        size_t best = 0;
        for (size_t k = 1; k < g.members[o].size(); ++k) {
          if (ld(h[g.members[o][k]]) > ld(h[g.members[o][best]])) best = k;
        }
        ASSERT_EQ(r[o], best) << "axis " << ax << " output " << o;
      }
    }
    size_t best = 0;
    for (size_t i = 1; i < h.n; ++i) {
      if (ld(h[i]) < ld(h[best])) best = i;
    }
    EXPECT_EQ(argmin(a).item<uint32_t>(), best);
    // cumsum along the last axis and flattened; softmax along the first.
    if constexpr (kInt<T>) {
      auto flat = to_vector<T>(cumsum(a));
      uint64_t acc = 0;
      for (size_t i = 0; i < h.n; ++i) {
        acc += static_cast<uint64_t>(h[i]);
        ASSERT_EQ(flat[i], static_cast<T>(acc)) << i;
      }
      auto last = to_vector<T>(cumsum(a, -1));
      const size_t w = v.shape.back();
      for (size_t i = 0; i < h.n; ++i) {
        acc = i % w == 0 ? 0 : acc;
        acc += static_cast<uint64_t>(h[i]);
        ASSERT_EQ(last[i], static_cast<T>(acc)) << i;
      }
    }
    if constexpr (kFloat<T>) {
      Groups g = group_by(v.shape, {0}, false);
      check_softmax(to_vector<T>(softmax(a, 0)), h, g,
                    [](size_t) { return 50.0; });
    }
  }
}

// The same through the view ops: transpose, slices with negative steps,
// broadcast_to, moveaxis, against the values of a contiguous copy.
TYPED_TEST(ReduceTyped, ViewsReduceLikeTheirContiguousCopies) {
  using T = TypeParam;
  Seeded s;
  SCOPED_TRACE(s.trace());
  StreamContext ctx{Device(cpu)};
  auto h = random_values<T>(6 * 40 * 33, s.rng);
  array base = to_array(h, {6, 40, 33});
  const std::vector<std::pair<const char*, array>> views = {
      {"transpose", transpose(base)},
      {"moveaxis", moveaxis(base, 2, 0)},
      {"reversed slice",
       slice(base, {5, 38, 30}, {INT_MIN, 1, 2}, {-1, -3, -2})},
      {"strided slice", slice(base, {1, 0, 3}, {6, 40, 33}, {2, 3, 1})},
      {"broadcast",
       broadcast_to(slice(base, {0, 0, 0}, {1, 40, 33}), {7, 40, 33})},
  };
  for (const auto& [what, v] : views) {
    SCOPED_TRACE(what);
    array c = contiguous(v);
    c.eval();
    Host<T> lh(c.size());
    std::copy(c.data<T>(), c.data<T>() + c.size(), lh.p.get());
    const int nd = v.ndim();
    for (const auto& axes : axis_sets(nd, s.rng)) {
      if (axes.empty()) continue;
      SCOPED_TRACE(axes_str(axes));
      Groups g = group_by(v.shape(), normalized(axes, nd), false);
      check_sum(sum(v, axes), lh, g);
      check_extreme(min(v, axes), lh, g, false);
      check_logical(all(v, axes), lh, g, true);
      if constexpr (kFloat<T>) {
        check_var(var(v, axes), lh, g, 0, false);
        check_logsumexp(logsumexp(v, axes), lh, g);
        // Views may take the three-pass path and copies the row path:
        // the same values up to roundings.
        auto got = to_vector<T>(softmax(v, axes));
        auto want = to_vector<T>(softmax(c, axes));
        for (size_t i = 0; i < got.size(); ++i) {
          const long double w = ld(want[i]);
          ASSERT_TRUE(near(
              ld(got[i]), w,
              (60 * acc_eps<T>() + 4 * eps_of<T>()) * w + subnormal_step<T>()))
              << "softmax element " << i;
        }
      }
    }
    for (int ax = -1; ax < nd; ++ax) {
      SCOPED_TRACE("argmax/cumsum axis " + std::to_string(ax));
      array am = ax < 0 ? argmax(v) : argmax(v, ax);
      array am_c = ax < 0 ? argmax(c) : argmax(c, ax);
      EXPECT_EQ(to_vector<uint32_t>(am), to_vector<uint32_t>(am_c));
      if constexpr (kInt<T>) {
        array cs = ax < 0 ? cumsum(v) : cumsum(v, ax, true, false);
        array cs_c = ax < 0 ? cumsum(c) : cumsum(c, ax, true, false);
        EXPECT_EQ(to_vector<T>(cs), to_vector<T>(cs_c));
      }
    }
  }
}

// ---- Shapes, dtypes, errors ----

TEST(ReduceOps, OutputShapesAndDtypes) {
  StreamContext ctx{Device(cpu)};
  array a = ones({2, 3, 4}, int8);
  EXPECT_EQ(sum(a).shape(), Shape{});
  EXPECT_EQ(sum(a, true).shape(), (Shape{1, 1, 1}));
  EXPECT_EQ(sum(a, 1).shape(), (Shape{2, 4}));
  EXPECT_EQ(sum(a, -1, true).shape(), (Shape{2, 3, 1}));
  EXPECT_EQ(sum(a, {0, 2}).shape(), Shape{3});
  EXPECT_EQ(sum(a, {2, 0}, true).shape(), (Shape{1, 3, 1}));
  EXPECT_EQ(sum(a).dtype(), int8);
  EXPECT_EQ(sum(ones({3}, bool_)).dtype(), int32);
  EXPECT_EQ(prod(ones({3}, bool_)).dtype(), int32);
  EXPECT_EQ(prod(a).dtype(), int8);
  EXPECT_EQ(max(a).dtype(), int8);
  EXPECT_EQ(mean(a).dtype(), float32);
  EXPECT_EQ(mean(ones({3}, float16)).dtype(), float16);
  EXPECT_EQ(var(a).dtype(), float32);
  EXPECT_EQ(runnel::std(ones({3}, float64)).dtype(), float64);
  EXPECT_EQ(logsumexp(a).dtype(), float32);
  EXPECT_EQ(all(a).dtype(), bool_);
  EXPECT_EQ(any(ones({3}, float32), 0).dtype(), bool_);
  EXPECT_EQ(argmax(a).dtype(), uint32);
  EXPECT_EQ(argmin(a, 1, true).shape(), (Shape{2, 1, 4}));
  EXPECT_EQ(cumsum(ones({3}, bool_)).dtype(), int32);
  EXPECT_EQ(cumprod(ones({3}, bool_)).dtype(), bool_);
  EXPECT_EQ(cumsum(a).shape(), Shape{24});
  EXPECT_EQ(cumsum(a, 1).shape(), (Shape{2, 3, 4}));
  EXPECT_EQ(softmax(a, -1).dtype(), float32);
  EXPECT_EQ(softmax(ones({2, 2}, bfloat16)).dtype(), bfloat16);
  // Reducing nothing gives the input (in the output dtype).
  EXPECT_TRUE(sum(a, std::vector<int>{}).is(a));
  EXPECT_EQ(all(a, std::vector<int>{}).dtype(), bool_);
  EXPECT_EQ(all(a, std::vector<int>{}).shape(), (Shape{2, 3, 4}));
}

TEST(ReduceOps, SumOverEveryAxisBuildsTheSumAllPrimitive) {
  StreamContext ctx{Device(cpu)};
  array a = ones({4, 5}, float32);
  for (array r : {sum(a), sum(a, true), sum(a, {1, 0}), sum(a, {-1, -2}, true),
                  sum(array(2.0f))}) {
    ASSERT_TRUE(r.node().op);
    EXPECT_TRUE(dynamic_cast<SumAll*>(r.node().op->primitive.get()));
    EXPECT_STREQ(r.node().op->primitive->name(), "sum");
  }
  // Over some axes: Reduce, named "sum" too.
  array some = sum(a, 0);
  EXPECT_TRUE(dynamic_cast<Reduce*>(some.node().op->primitive.get()));
  EXPECT_STREQ(some.node().op->primitive->name(), "sum");
  EXPECT_EQ(sum(a, {0, 1}, true).item<float>(), 20.0f);
}

TEST(ReduceOps, ZeroSizeReductions) {
  StreamContext ctx{Device(cpu)};
  array e = zeros({0, 3}, float32);
  EXPECT_EQ(sum(e).item<float>(), 0.0f);
  EXPECT_EQ(prod(e).item<float>(), 1.0f);
  EXPECT_TRUE(all(e).item<bool>());
  EXPECT_FALSE(any(e).item<bool>());
  EXPECT_TRUE(std::isnan(mean(e).item<float>()));
  EXPECT_TRUE(std::isnan(var(e).item<float>()));
  EXPECT_EQ(to_vector<float>(sum(e, 0)), std::vector<float>(3, 0.0f));
  EXPECT_EQ(to_vector<float>(prod(e, 0)), std::vector<float>(3, 1.0f));
  // Reducing a nonzero axis of an empty array: an empty result, no error.
  EXPECT_EQ(max(e, 1).shape(), Shape{0});
  EXPECT_EQ(argmax(e, 1).shape(), Shape{0});
  EXPECT_EQ(cumsum(e, 0).shape(), (Shape{0, 3}));
  EXPECT_EQ(softmax(e, 1).shape(), (Shape{0, 3}));
  to_vector<float>(softmax(e, 1));
  to_vector<float>(cumsum(e));
  // A zero-size reduction without an identity raises, as in numpy.
  expect_invalid([&] { max(e); }, "[max]");
  expect_invalid([&] { min(e, 0); }, "[min]");
  expect_invalid([&] { argmax(e); }, "[argmax]");
  expect_invalid([&] { argmin(e, 0); }, "[argmin]");
  expect_invalid([&] { logsumexp(e, 0); }, "[logsumexp]");
  // var with n - ddof <= 0: inf (or NaN for 0 / 0), as numpy.
  array two = array({1.0f, 2.0f});
  EXPECT_EQ(var(two, false, 2).item<float>(), INFINITY);
  EXPECT_TRUE(std::isnan(var(array({1.0f, 1.0f}), false, 2).item<float>()));
}

TEST(ReduceOps, ScalarInputs) {
  StreamContext ctx{Device(cpu)};
  array x(3.5f);
  EXPECT_EQ(sum(x).item<float>(), 3.5f);
  EXPECT_EQ(prod(x).item<float>(), 3.5f);
  EXPECT_EQ(max(x, true).item<float>(), 3.5f);
  EXPECT_EQ(mean(x).item<float>(), 3.5f);
  EXPECT_EQ(var(x).item<float>(), 0.0f);
  EXPECT_FLOAT_EQ(logsumexp(x).item<float>(), 3.5f);
  EXPECT_EQ(argmax(x).item<uint32_t>(), 0u);
  EXPECT_EQ(argmax(x).shape(), Shape{});
  EXPECT_EQ(cumsum(x).shape(), Shape{1});
  EXPECT_EQ(cumsum(x).item<float>(), 3.5f);
  EXPECT_EQ(softmax(x).item<float>(), 1.0f);
  EXPECT_TRUE(all(x).item<bool>());
  expect_invalid([&] { sum(x, 0); }, "[sum]");
  expect_invalid([&] { argmax(x, 0); }, "[argmax]");
  expect_invalid([&] { cumsum(x, 0); }, "[cumsum]");
}

TEST(ReduceOps, BadAxesRaiseNamingTheOp) {
  StreamContext ctx{Device(cpu)};
  array a = ones({2, 3}, float32);
  expect_invalid([&] { sum(a, 2); }, "[sum] axis 2 is out of bounds");
  expect_invalid([&] { sum(a, -3); }, "[sum] axis -3 is out of bounds");
  expect_invalid([&] { sum(a, {0, 0}); }, "[sum] Axis 0 is repeated");
  expect_invalid([&] { sum(a, {1, -1}); }, "[sum] Axis -1 is repeated");
  expect_invalid([&] { prod(a, {0, 5}); }, "[prod]");
  expect_invalid([&] { max(a, 7); }, "[max]");
  expect_invalid([&] { min(a, {1, 1}); }, "[min]");
  expect_invalid([&] { mean(a, -4); }, "[mean]");
  expect_invalid([&] { var(a, {0, 0}); }, "[var]");
  expect_invalid([&] { runnel::std(a, 9); }, "[std]");
  expect_invalid([&] { all(a, 2); }, "[all]");
  expect_invalid([&] { any(a, {-1, 1}); }, "[any]");
  expect_invalid([&] { logsumexp(a, 3); }, "[logsumexp]");
  expect_invalid([&] { argmax(a, 2); }, "[argmax]");
  expect_invalid([&] { argmin(a, -3); }, "[argmin]");
  expect_invalid([&] { cumsum(a, 2); }, "[cumsum]");
  expect_invalid([&] { cumprod(a, -3); }, "[cumprod]");
  expect_invalid([&] { softmax(a, {0, -2}); }, "[softmax]");
  expect_invalid([&] { softmax(a, 2); }, "[softmax]");
}

TEST(ReduceOps, IntegerSumsAndProductsWrap) {
  StreamContext ctx{Device(cpu)};
  EXPECT_EQ(sum(array({int8_t{100}, int8_t{100}})).item<int8_t>(),
            static_cast<int8_t>(200 - 256));
  EXPECT_EQ(prod(array({uint8_t{16}, uint8_t{17}})).item<uint8_t>(),
            static_cast<uint8_t>(16 * 17));
  EXPECT_EQ(sum(array({INT64_MAX, int64_t{1}})).item<int64_t>(), INT64_MIN);
  EXPECT_EQ(to_vector<int16_t>(cumsum(array({int16_t{30000}, int16_t{30000}}))),
            (std::vector<int16_t>{30000, static_cast<int16_t>(60000 - 65536)}));
}

TEST(ReduceOps, ExclusiveAndReverseScans) {
  StreamContext ctx{Device(cpu)};
  array a = array({1, 2, 3, 4});
  EXPECT_EQ(to_vector<int32_t>(cumsum(a)), (std::vector<int32_t>{1, 3, 6, 10}));
  EXPECT_EQ(to_vector<int32_t>(cumsum(a, 0, false, false)),
            (std::vector<int32_t>{0, 1, 3, 6}));
  EXPECT_EQ(to_vector<int32_t>(cumsum(a, 0, true, true)),
            (std::vector<int32_t>{10, 9, 7, 4}));
  EXPECT_EQ(to_vector<int32_t>(cumsum(a, 0, true, false)),
            (std::vector<int32_t>{9, 7, 4, 0}));
  EXPECT_EQ(to_vector<int32_t>(cumprod(a, 0, false, false)),
            (std::vector<int32_t>{1, 1, 2, 6}));
  EXPECT_EQ(to_vector<int32_t>(cumprod(a, 0, true, true)),
            (std::vector<int32_t>{24, 24, 12, 4}));
}

// Ops take the stream they are given and run there; a reduction of an array
// made on another stream waits for it.
TEST(ReduceOps, RunOnTheirStreamAfterTheirInputs) {
  Stream s1 = new_stream(cpu), s2 = new_stream(cpu);
  array x = ones({1000, 10}, float32, s1);
  array r = sum(x, 0, false, s2);
  EXPECT_EQ(r.node().op->stream, s2);
  EXPECT_EQ(to_vector<float>(r), std::vector<float>(10, 1000.0f));
  EXPECT_EQ(argmax(x, 1, false, Device(cpu)).node().op->stream.device(),
            Device(cpu));
}

// ---- Determinism ----

uint64_t hash_bits(const array& r) {
  array c = r;
  c.eval();
  uint64_t h = 1469598103934665603ull;
  const auto* p = static_cast<const unsigned char*>(c.raw_data());
  for (size_t i = 0; i < c.nbytes(); ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

// The child side of the next test: prints hashes of the results' bits.
TEST(ReduceChild, PrintResultBits) {
  const char* seed = std::getenv("RUNNEL_REDUCE_SEED");
  if (!seed) GTEST_SKIP() << "run by ResultsAreIdenticalForAnyPoolSize";
  StreamContext ctx{Device(cpu)};
  const int R = 1500, C = 2100;
  array a(floats_from_seed(static_cast<size_t>(R) * C,
                           static_cast<uint32_t>(std::atoll(seed)), 0.0f, 1.0f),
          Shape{R, C});
  std::printf("BITS=%016llx %016llx %016llx %016llx %016llx %016llx %016llx\n",
              static_cast<unsigned long long>(hash_bits(sum(a, 0))),
              static_cast<unsigned long long>(hash_bits(sum(a, 1))),
              static_cast<unsigned long long>(hash_bits(sum(a, {0, 1}))),
              static_cast<unsigned long long>(hash_bits(var(a, 0))),
              static_cast<unsigned long long>(hash_bits(logsumexp(a, 1))),
              static_cast<unsigned long long>(hash_bits(softmax(a, 0))),
              static_cast<unsigned long long>(hash_bits(mean(a))));
}

TEST(ReduceDeterminism, ResultsAreIdenticalForAnyPoolSize) {
  const Seeded s;
  SCOPED_TRACE(s.trace());
  expect_same_line_for_pool_sizes(
      {1, 2, 3, 8}, "RUNNEL_REDUCE_SEED=" + std::to_string(s.seed),
      "ReduceChild.PrintResultBits", "BITS=");
}

}  // namespace
