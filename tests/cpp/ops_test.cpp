// The foundation's ops in every dtype, against a host reference computed in
// double (or exact integer arithmetic with wrap-around) on fresh random data.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "runnel/runnel.h"
#include "tests/cpp/test_util.h"

using namespace runnel;
using namespace runnel::test;

namespace {

// ---- Reference arithmetic ----

// Exact integer arithmetic modulo 2^bits; doubles for floats, rounded to T.
template <class T>
T ref_add(T a, T b) {
  if constexpr (std::is_same_v<T, bool>) {
    return a || b;
  } else if constexpr (kInt<T>) {
    return static_cast<T>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
  } else {
    return T(to_double(a) + to_double(b));
  }
}

template <class T>
T ref_mul(T a, T b) {
  if constexpr (std::is_same_v<T, bool>) {
    return a && b;
  } else if constexpr (kInt<T>) {
    return static_cast<T>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
  } else {
    return T(to_double(a) * to_double(b));
  }
}

template <class T>
T ref_abs(T a) {
  if constexpr (std::is_same_v<T, bool> || std::is_unsigned_v<T>) {
    return a;
  } else if constexpr (kInt<T>) {
    return a < 0 ? static_cast<T>(uint64_t{0} - static_cast<uint64_t>(a)) : a;
  } else {
    return T(std::fabs(to_double(a)));
  }
}

// |got - want| within `ulps` units in the last place of T at `want`.
template <class T>
::testing::AssertionResult near_ulps(T got, double want, double ulps) {
  double g = to_double(got);
  if (std::isnan(want)) {
    if (std::isnan(g)) return ::testing::AssertionSuccess();
  } else if (std::isinf(want) || std::isinf(g)) {
    if (g == want) return ::testing::AssertionSuccess();
  } else {
    double tol =
        ulps * eps_of<T>() * std::max(std::fabs(want), min_normal_of<T>());
    if (std::fabs(g - want) <= tol) return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "got " << g << ", want " << want << " (within " << ulps
         << " ulp of " << dtype_of<T>() << ")";
}

// Exact for integers and bool; within `ulps` for floats.
template <class T>
::testing::AssertionResult same_value(T got, T want, double ulps = 0.5) {
  if constexpr (kFloat<T>) {
    return near_ulps(got, to_double(want), ulps);
  } else {
    if (got == want) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "got " << +got << ", want " << +want
                                         << " (" << dtype_of<T>() << ")";
  }
}

// ---- Typed tests: every dtype ----

template <class T>
class OpsTyped : public ::testing::Test {};
TYPED_TEST_SUITE(OpsTyped, AllTypes, TypeNames);

TYPED_TEST(OpsTyped, ArrayFromDataKeepsValues) {
  using T = TypeParam;
  Seeded s;
  SCOPED_TRACE(s.trace());
  auto h = random_values<T>(24, s.rng);
  // Pointer + shape.
  array a = to_array(h, {2, 3, 4});
  EXPECT_EQ(a.dtype(), dtype_of<T>());
  EXPECT_EQ(a.shape(), (Shape{2, 3, 4}));
  EXPECT_EQ(a.size(), 24u);
  EXPECT_EQ(a.nbytes(), 24 * sizeof(T));
  a.eval();
  EXPECT_EQ(std::memcmp(a.data<T>(), h.data(), 24 * sizeof(T)), 0);
  // A scalar.
  array sc(h[5]);
  EXPECT_EQ(sc.ndim(), 0);
  EXPECT_EQ(sc.dtype(), dtype_of<T>());
  EXPECT_TRUE(same_value(sc.item<T>(), h[5], 0));
  // Initializer lists, 1-d and shaped.
  array l({h[0], h[1], h[2]});
  EXPECT_EQ(l.shape(), (Shape{3}));
  EXPECT_EQ(l.dtype(), dtype_of<T>());
  l.eval();
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(same_value(l.data<T>()[i], h[i], 0));
  array l2({h[0], h[1], h[2], h[3]}, Shape{2, 2});
  EXPECT_EQ(l2.shape(), (Shape{2, 2}));
  l2.eval();
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(same_value(l2.data<T>()[i], h[i], 0));
  }
  // A vector (not for bool: std::vector<bool> has no contiguous storage).
  if constexpr (!std::is_same_v<T, bool>) {
    std::vector<T> v(h.data(), h.data() + 6);
    array va(v, Shape{3, 2});
    va.eval();
    EXPECT_EQ(std::memcmp(va.data<T>(), v.data(), 6 * sizeof(T)), 0);
  }
}

TYPED_TEST(OpsTyped, ArrayFromDataConvertsDtype) {
  using T = TypeParam;
  Seeded s;
  SCOPED_TRACE(s.trace());
  // From int32 values that every dtype holds, and from doubles.
  std::uniform_int_distribution<int> small(std::is_unsigned_v<T> ? 0 : -100,
                                           100);
  std::vector<int> iv(17);
  for (auto& v : iv) v = small(s.rng);
  array a(iv, Shape{17}, dtype_of<T>());
  EXPECT_EQ(a.dtype(), dtype_of<T>());
  a.eval();
  for (size_t i = 0; i < iv.size(); ++i) {
    double want = std::is_same_v<T, bool> ? (iv[i] != 0) : iv[i];
    EXPECT_EQ(to_double(a.data<T>()[i]), want) << i;
  }
  std::uniform_real_distribution<double> u(std::is_unsigned_v<T> ? 0 : -100,
                                           100);
  std::vector<double> dv(17);
  for (auto& v : dv) v = u(s.rng);
  array b(dv, Shape{17}, dtype_of<T>());
  b.eval();
  for (size_t i = 0; i < dv.size(); ++i) {
    if constexpr (std::is_same_v<T, bool>) {
      EXPECT_EQ(b.data<T>()[i], dv[i] != 0) << i;
    } else if constexpr (kInt<T>) {
      EXPECT_EQ(b.data<T>()[i], static_cast<T>(std::trunc(dv[i]))) << i;
    } else {
      EXPECT_TRUE(near_ulps(b.data<T>()[i], dv[i], 0.5)) << i;
    }
  }
  // Initializer list with an explicit dtype.
  array c({1.0f, 2.0f, 3.0f}, dtype_of<T>());
  EXPECT_EQ(c.dtype(), dtype_of<T>());
  ASSERT_EQ(c.size(), 3u);
  c.eval();
  for (int i = 0; i < 3; ++i) {
    double want = std::is_same_v<T, bool> ? 1.0 : i + 1.0;
    EXPECT_EQ(to_double(c.data<T>()[i]), want) << i;
  }
}

TYPED_TEST(OpsTyped, ZerosOnesFull) {
  using T = TypeParam;
  const Dtype d = dtype_of<T>();
  Seeded s;
  SCOPED_TRACE(s.trace());
  array z = zeros({3, 5}, d);
  array o = ones({2, 0, 4}, d);
  array o2 = ones({4, 7}, d);
  auto hv = random_values<T>(1, s.rng);
  array f = full({6, 2}, array(hv[0]));
  // A row broadcast down the rows.
  auto row = random_values<T>(5, s.rng);
  array fr = full({4, 5}, to_array(row, {5}));
  // A value of another dtype, cast.
  array fc = full({3}, array(1.0), d);
  eval(z, o, o2, f, fr, fc);
  EXPECT_EQ(z.dtype(), d);
  EXPECT_EQ(z.shape(), (Shape{3, 5}));
  EXPECT_EQ(o.size(), 0u);
  EXPECT_EQ(f.dtype(), d);
  EXPECT_EQ(fc.dtype(), d);
  for (int i = 0; i < 15; ++i) EXPECT_EQ(to_double(z.data<T>()[i]), 0.0);
  for (int i = 0; i < 28; ++i) EXPECT_EQ(to_double(o2.data<T>()[i]), 1.0);
  for (int i = 0; i < 12; ++i) {
    EXPECT_TRUE(same_value(f.data<T>()[i], hv[0], 0));
  }
  for (int i = 0; i < 20; ++i) {
    EXPECT_TRUE(same_value(fr.data<T>()[i], row[i % 5], 0)) << i;
  }
  for (int i = 0; i < 3; ++i) EXPECT_EQ(to_double(fc.data<T>()[i]), 1.0);
  // Larger than one chunk, so that the pool's helpers write parts of it.
  const int n = 3 << 15;
  array big = full({n}, array(hv[0]));
  big.eval();
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(same_value(big.data<T>()[i], hv[0], 0)) << i;
  }
}

TYPED_TEST(OpsTyped, ArangeWithDtype) {
  using T = TypeParam;
  const Dtype d = dtype_of<T>();
  if constexpr (std::is_same_v<T, bool>) {
    expect_invalid([&] { arange(0.0, 3.0, 1.0, d); }, "[arange]");
  } else {
    Seeded s;
    SCOPED_TRACE(s.trace());
    std::uniform_int_distribution<int> st(1, 5);
    std::uniform_int_distribution<int> sz(0, 40);
    const double start = std::is_unsigned_v<T> ? 0 : -20;
    const double step = st(s.rng);
    int want = sz(s.rng);
    if constexpr (std::is_integral_v<T> && sizeof(T) == 1) {
      // Stay inside the type: out-of-range values saturate (the op's
      // semantics) where the reference T(x) would not.
      const double hi = static_cast<double>(std::numeric_limits<T>::max());
      want = std::min(want, static_cast<int>((hi - start) / step));
    }
    array a = arange(start, start + step * want, step, d);
    EXPECT_EQ(a.dtype(), d);
    ASSERT_EQ(a.shape(), (Shape{want}));
    a.eval();
    for (int i = 0; i < want; ++i) {
      EXPECT_EQ(to_double(a.data<T>()[i]), to_double(T(start + i * step))) << i;
    }
    // Counting down.
    array b = arange(60.0, 10.0, -step, d);
    int nb = static_cast<int>(std::ceil(50.0 / step));
    ASSERT_EQ(b.size(), static_cast<size_t>(nb));
    b.eval();
    for (int i = 0; i < nb; ++i) {
      EXPECT_EQ(to_double(b.data<T>()[i]), to_double(T(60.0 - i * step)));
    }
    // Empty ranges.
    EXPECT_EQ(arange(5.0, 5.0, 1.0, d).size(), 0u);
    EXPECT_EQ(arange(5.0, 1.0, 1.0, d).size(), 0u);
    EXPECT_EQ(arange(1.0, 5.0, -1.0, d).size(), 0u);
    array e = arange(3.0, 3.0, 1.0, d);
    e.eval();
    EXPECT_EQ(e.shape(), (Shape{0}));
  }
}

TYPED_TEST(OpsTyped, AstypeToEveryDtype) {
  using T = TypeParam;
  Seeded s;
  SCOPED_TRACE(s.trace());
  // Integers over their whole range; floats in a range that every integer
  // dtype holds (numpy leaves out-of-range float-to-int casts undefined).
  auto h = random_values<T>(300, s.rng, -100.0, 100.0);
  array a = to_array(h, {300});
  for (int di = 0; di < kNumDtypes; ++di) {
    const Dtype to = static_cast<Dtype>(di);
    SCOPED_TRACE(std::string("to ") + std::string(dtype_name(to)));
    array b = astype(a, to);
    EXPECT_EQ(b.dtype(), to);
    b.eval();
    dispatch_dtype(to, [&]<class U>(std::type_identity<U>) {
      for (size_t i = 0; i < h.n; ++i) {
        U got = b.data<U>()[i];
        if constexpr (std::is_same_v<U, bool>) {
          ASSERT_EQ(got, to_double(h[i]) != 0) << i;
        } else if constexpr (kInt<U>) {
          U want;
          if constexpr (kInt<T> || std::is_same_v<T, bool>) {
            want = static_cast<U>(h[i]);  // modular, as numpy
          } else {
            double v = std::trunc(to_double(h[i]));
            if (std::is_unsigned_v<U> && v < 0) {
              continue;  // negative float to unsigned: undefined in numpy
            }
            want = static_cast<U>(v);
          }
          ASSERT_EQ(got, want) << i << " from " << to_double(h[i]);
        } else {
          // Rounded once to nearest; a double reference may itself round
          // (int64), so allow a hair over half an ulp.
          double want = to_double(h[i]);
          if (std::is_same_v<U, float16_t> && std::fabs(want) >= 65520.0) {
            want = std::copysign(INFINITY, want);  // past float16's range
          }
          ASSERT_TRUE(near_ulps(got, want, 0.5001)) << i;
        }
      }
    });
  }
}

template <class T>
void check_binary(const Shape& sa, const Shape& sb, std::mt19937& rng) {
  SCOPED_TRACE("shapes a=" + ::testing::PrintToString(sa) +
               " b=" + ::testing::PrintToString(sb));
  auto ha = random_values<T>(numel(sa), rng);
  auto hb = random_values<T>(numel(sb), rng);
  array a = to_array(ha, sa), b = to_array(hb, sb);
  array sum_ab = add(a, b);
  array prod = multiply(a, b);
  array op_sum = a + b;
  array op_prod = a * b;
  eval(sum_ab, prod, op_sum, op_prod);
  Shape out = broadcast_shapes(sa, sb, "test");
  ASSERT_EQ(sum_ab.shape(), out);
  ASSERT_EQ(prod.shape(), out);
  ASSERT_EQ(sum_ab.dtype(), dtype_of<T>());
  ASSERT_EQ(prod.dtype(), dtype_of<T>());
  for (size_t i = 0; i < numel(out); ++i) {
    T x = ha[broadcast_index(i, out, sa)];
    T y = hb[broadcast_index(i, out, sb)];
    ASSERT_TRUE(same_value(sum_ab.data<T>()[i], ref_add(x, y))) << "add " << i;
    ASSERT_TRUE(same_value(prod.data<T>()[i], ref_mul(x, y)))
        << "multiply " << i;
    ASSERT_TRUE(same_value(op_sum.data<T>()[i], ref_add(x, y))) << i;
    ASSERT_TRUE(same_value(op_prod.data<T>()[i], ref_mul(x, y))) << i;
  }
}

TYPED_TEST(OpsTyped, AddMultiplyBroadcasting) {
  using T = TypeParam;
  Seeded s;
  SCOPED_TRACE(s.trace());
  check_binary<T>({3, 4, 5}, {3, 4, 5}, s.rng);  // same shape
  check_binary<T>({3, 4}, {}, s.rng);            // 0-d scalar
  check_binary<T>({}, {3, 4}, s.rng);
  check_binary<T>({3, 4}, {4}, s.rng);     // row
  check_binary<T>({3, 4}, {3, 1}, s.rng);  // column
  check_binary<T>({3, 1}, {1, 4}, s.rng);  // outer
  check_binary<T>({2, 1, 5}, {3, 1}, s.rng);
  check_binary<T>({0, 4}, {4}, s.rng);  // 0-size
  check_binary<T>({0}, {}, s.rng);
  check_binary<T>({}, {}, s.rng);  // 0-d with 0-d
  check_binary<T>({1}, {}, s.rng);
  // Large enough that the pool splits it into chunks.
  check_binary<T>({5, 1 << 15}, {1 << 15}, s.rng);
  check_binary<T>({1 << 17}, {1 << 17}, s.rng);
}

TYPED_TEST(OpsTyped, IntegerArithmeticWraps) {
  using T = TypeParam;
  if constexpr (kInt<T>) {
    constexpr T lo = std::numeric_limits<T>::min();
    constexpr T hi = std::numeric_limits<T>::max();
    array a({hi, lo, hi, lo});
    array b({T(1), T(-1), hi, lo});
    array s = add(a, b), p = multiply(a, b), ab = abs(array({lo, hi, T(0)}));
    eval(s, p, ab);
    EXPECT_EQ(s.data<T>()[0], lo);  // MAX + 1 == MIN
    EXPECT_EQ(s.data<T>()[1], hi);  // MIN - 1 == MAX
    EXPECT_EQ(s.data<T>()[2], ref_add(hi, hi));
    EXPECT_EQ(s.data<T>()[3], T(0));
    EXPECT_EQ(p.data<T>()[0], hi);
    EXPECT_EQ(p.data<T>()[2], ref_mul(hi, hi));
    EXPECT_EQ(p.data<T>()[3], ref_mul(lo, lo));
    EXPECT_EQ(ab.data<T>()[0], lo);  // abs(MIN) == MIN
    EXPECT_EQ(ab.data<T>()[1], hi);
    EXPECT_EQ(ab.data<T>()[2], T(0));
  } else if constexpr (std::is_same_v<T, bool>) {
    array a({false, false, true, true}), b({false, true, false, true});
    array s = add(a, b), p = multiply(a, b);
    eval(s, p);
    EXPECT_EQ(s.dtype(), bool_);
    EXPECT_EQ(p.dtype(), bool_);
    const bool want_or[] = {false, true, true, true};
    const bool want_and[] = {false, false, false, true};
    for (int i = 0; i < 4; ++i) {
      EXPECT_EQ(s.data<bool>()[i], want_or[i]) << i;
      EXPECT_EQ(p.data<bool>()[i], want_and[i]) << i;
    }
  } else {
    // Floats overflow to infinity instead.
    T big;
    if constexpr (std::is_same_v<T, float16_t>) {
      big = T::from_bits(0x7bff);  // 65504
    } else if constexpr (std::is_same_v<T, bfloat16_t>) {
      big = T::from_bits(0x7f7f);
    } else {
      big = std::numeric_limits<T>::max();
    }
    array s =
        add(array({big, T(-to_double(big))}), array({big, T(-to_double(big))}));
    s.eval();
    EXPECT_EQ(to_double(s.data<T>()[0]), INFINITY);
    EXPECT_EQ(to_double(s.data<T>()[1]), -INFINITY);
  }
}

TYPED_TEST(OpsTyped, ExpAndAbs) {
  using T = TypeParam;
  Seeded s;
  SCOPED_TRACE(s.trace());
  // exp over a range where it is neither 0 nor inf, and over the whole range.
  auto small = random_values<T>(1000, s.rng, -10.0, 10.0);
  if constexpr (kInt<T>) {
    for (size_t i = 0; i < small.n; ++i) {
      small[i] = static_cast<T>(static_cast<T>(small[i] % 21) -
                                (std::is_signed_v<T> ? 10 : 0));
    }
  }
  auto wide = random_values<T>(1 << 16, s.rng, -100.0, 100.0);
  const Dtype out_t = kFloat<T> ? dtype_of<T>() : float32;
  for (const Host<T>* h : {&small, &wide}) {
    array a = to_array(*h, {static_cast<int>(h->n)});
    array e = exp(a);
    array m = abs(a);
    eval(e, m);
    EXPECT_EQ(e.dtype(), out_t);
    EXPECT_EQ(m.dtype(), dtype_of<T>());
    dispatch_dtype(out_t, [&]<class U>(std::type_identity<U>) {
      if constexpr (kFloat<U>) {
        for (size_t i = 0; i < h->n; ++i) {
          // Integers compute in float32: the input rounds to float first.
          double x =
              kFloat<T>
                  ? to_double((*h)[i])
                  : static_cast<double>(static_cast<float>(to_double((*h)[i])));
          double want = std::exp(x);
          if (want > to_double(std::numeric_limits<float>::max()) &&
              !std::is_same_v<U, double>) {
            want = INFINITY;
          }
          if constexpr (std::is_same_v<U, float16_t>) {
            if (want >= 65520.0) want = INFINITY;
          }
          // Subnormal results of float32 and half types: absolute tolerance.
          double got = to_double(e.data<U>()[i]);
          if (want < min_normal_of<U>() && std::isfinite(want)) {
            ASSERT_LE(std::fabs(got - want), min_normal_of<U>()) << x;
          } else {
            ASSERT_TRUE(near_ulps(e.data<U>()[i], want, 2.0))
                << "exp(" << x << ")";
          }
        }
      }
    });
    for (size_t i = 0; i < h->n; ++i) {
      ASSERT_TRUE(same_value(m.data<T>()[i], ref_abs((*h)[i]), 0)) << i;
    }
  }
  if constexpr (kFloat<T>) {
    array z = abs(array({T(-0.0), T(-2.5)}));
    z.eval();
    EXPECT_FALSE(std::signbit(to_double(z.data<T>()[0])));
    EXPECT_EQ(to_double(z.data<T>()[1]), 2.5);
  }
}

// The reference sum in long double, compensated (Neumaier), and sum |x|.
template <class T>
std::pair<double, double> reference_sum(const Host<T>& h) {
  long double s = 0, c = 0, abs_sum = 0;
  for (size_t i = 0; i < h.n; ++i) {
    long double x = to_double(h[i]);
    long double t = s + x;
    c += std::fabs(s) >= std::fabs(x) ? (s - t) + x : (x - t) + s;
    s = t;
    abs_sum += std::fabs(x);
  }
  return {static_cast<double>(s + c), static_cast<double>(abs_sum)};
}

template <class T>
void check_sum(size_t n, std::mt19937& rng, double lo, double hi) {
  SCOPED_TRACE("n=" + std::to_string(n) + " range [" + std::to_string(lo) +
               ", " + std::to_string(hi) + ")");
  auto h = random_values<T>(n, rng, lo, hi);
  array a = to_array(h, {static_cast<int>(n)});
  array r = sum(a);
  EXPECT_EQ(r.ndim(), 0);
  if constexpr (std::is_same_v<T, bool>) {
    ASSERT_EQ(r.dtype(), int32);
    int32_t count = 0;
    for (size_t i = 0; i < n; ++i) count += h[i] ? 1 : 0;
    EXPECT_EQ(r.item<int32_t>(), count);
  } else if constexpr (kInt<T>) {
    ASSERT_EQ(r.dtype(), dtype_of<T>());
    uint64_t acc = 0;
    for (size_t i = 0; i < n; ++i) acc += static_cast<uint64_t>(h[i]);
    EXPECT_EQ(r.item<T>(), static_cast<T>(acc));  // wraps
  } else {
    ASSERT_EQ(r.dtype(), dtype_of<T>());
    auto [want, abs_sum] = reference_sum(h);
    // Pairwise summation: error at most about (log2(n) + 32) rounding errors
    // of the accumulator (float for half types) times sum |x|; then one
    // rounding to T.
    using Acc = std::conditional_t<kHalf<T>, float, T>;
    double levels = std::log2(static_cast<double>(std::max<size_t>(n, 2)));
    double bound =
        (levels + 32) * eps_of<Acc>() * abs_sum + eps_of<T>() * std::fabs(want);
    double got = to_double(r.item<T>());
    EXPECT_LE(std::fabs(got - want), bound)
        << "got " << got << " want " << want << " sum|x| " << abs_sum;
  }
}

TYPED_TEST(OpsTyped, SumFullReduction) {
  using T = TypeParam;
  Seeded s;
  SCOPED_TRACE(s.trace());
  for (size_t n : {size_t{0}, size_t{1}, size_t{7}, size_t{129}, size_t{1000},
                   size_t{(1 << 15) + 3}}) {
    check_sum<T>(n, s.rng, -4.0, 4.0);
  }
  // 2^20 + a bit: positive values make a naive running sum drift far outside
  // the pairwise bound. float16 would overflow at 2^19: smaller values.
  const size_t big = (size_t{1} << 20) + 77;
  const double hi = std::is_same_v<T, float16_t> ? 1.0 / 32 : 1.0;
  check_sum<T>(big, s.rng, 0.0, hi);
  check_sum<T>(big, s.rng, -hi, hi);
  // A 0-d array sums to itself.
  auto one = random_values<T>(1, s.rng);
  array r = sum(array(one[0]));
  if constexpr (std::is_same_v<T, bool>) {
    EXPECT_EQ(r.item<int32_t>(), one[0] ? 1 : 0);
  } else {
    EXPECT_TRUE(same_value(r.item<T>(), one[0], 0));
  }
  // A broadcast operand (full) sums like its materialised values.
  if constexpr (!std::is_same_v<T, bool>) {
    array f = sum(full({100, 3}, array(T(1))));
    EXPECT_EQ(to_double(f.item<T>()), to_double(static_cast<T>(300)));
  }
}

// ---- Promotion across every pair of dtypes ----

// Reads any array's values as doubles (exact for every dtype's small values).
std::vector<double> as_doubles(const array& x) {
  array d = astype(x, float64);
  d.eval();
  return std::vector<double>(d.data<double>(), d.data<double>() + d.size());
}

// op(x, y) computed in dtype `t` on the host: exact integer arithmetic with
// wrap-around, doubles rounded to t for floats. One dispatch, not one per
// dtype pair, to keep the build fast.
double ref_in(Dtype t, double x, double y, bool multiply) {
  return dispatch_dtype(t, [&]<class P>(std::type_identity<P>) {
    auto cast = [](double v) {
      if constexpr (std::is_same_v<P, bool>) {
        return v != 0;
      } else {
        return static_cast<P>(v);  // exact: small values
      }
    };
    return to_double(multiply ? ref_mul(cast(x), cast(y))
                              : ref_add(cast(x), cast(y)));
  });
}

TEST(OpsPromotion, AddAndMultiplyFollowPromoteTypesForEveryPair) {
  Seeded s;
  SCOPED_TRACE(s.trace());
  // Small values that every dtype holds (up to rounding of the fractions,
  // which the reference reads back), so the reference is unambiguous.
  auto values = [&](Dtype d, int n, Shape shape) {
    std::uniform_int_distribution<int> u(-100, 100);
    std::vector<double> v(n);
    for (auto& x : v) {
      int i = u(s.rng);
      x = is_bool(d) ? (i & 1) : is_unsigned_integer(d) ? std::abs(i) : i;
      if (is_floating_point(d)) x += 0.25;
    }
    return array(v, std::move(shape), d);
  };
  for (int i = 0; i < kNumDtypes; ++i) {
    for (int j = 0; j < kNumDtypes; ++j) {
      const Dtype da = static_cast<Dtype>(i), db = static_cast<Dtype>(j);
      SCOPED_TRACE(std::string(dtype_name(da)) + " with " +
                   std::string(dtype_name(db)));
      const Dtype pt = promote_types(da, db);
      array a = values(da, 12, {3, 4}), b = values(db, 4, {4});
      array sm = add(a, b), pr = multiply(a, b);
      ASSERT_EQ(sm.dtype(), pt);
      ASSERT_EQ(pr.dtype(), pt);
      ASSERT_EQ(sm.shape(), (Shape{3, 4}));
      auto ha = as_doubles(a), hb = as_doubles(b);
      auto got_s = as_doubles(sm), got_p = as_doubles(pr);
      for (int k = 0; k < 12; ++k) {
        double ws = ref_in(pt, ha[k], hb[k % 4], false);
        double wp = ref_in(pt, ha[k], hb[k % 4], true);
        ASSERT_EQ(got_s[k], ws) << k << ": " << ha[k] << " + " << hb[k % 4];
        ASSERT_EQ(got_p[k], wp) << k << ": " << ha[k] << " * " << hb[k % 4];
      }
    }
  }
}

TEST(OpsPromotion, MixedExamples) {
  array a({1, 2, 3});  // int32
  array h({1.5f, 2.5f, -3.0f}, float16);
  array r = add(a, h);
  EXPECT_EQ(r.dtype(), float16);
  r.eval();
  EXPECT_EQ(static_cast<float>(r.data<float16_t>()[0]), 2.5f);
  EXPECT_EQ(static_cast<float>(r.data<float16_t>()[2]), 0.0f);
  EXPECT_EQ(add(array(uint64_t{1}), array(int8_t{1})).dtype(), float32);
  EXPECT_EQ(add(array(uint8_t{1}), array(int8_t{1})).dtype(), int16);
  EXPECT_EQ(multiply(array(true), array(2.0)).dtype(), float64);
  EXPECT_EQ(add(array(float16_t(1.0f)), array(bfloat16_t(1.0f))).dtype(),
            float32);
  EXPECT_EQ(sum(array({true, true, false})).item<int>(), 2);
}

// ---- Ints and floats: the arange forms ----

TEST(OpsArange, IntAndFloatForms) {
  array a = arange(10);
  EXPECT_EQ(a.dtype(), int32);
  a.eval();
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a.data<int32_t>()[i], i);
  array b = arange(2, 11, 3);
  ASSERT_EQ(b.shape(), (Shape{3}));
  b.eval();
  EXPECT_EQ(b.data<int32_t>()[0], 2);
  EXPECT_EQ(b.data<int32_t>()[2], 8);
  array c = arange(10, -3, -4);  // 10 6 2 -2
  ASSERT_EQ(c.shape(), (Shape{4}));
  c.eval();
  EXPECT_EQ(c.data<int32_t>()[3], -2);
  EXPECT_EQ(arange(3, 3).size(), 0u);
  EXPECT_EQ(arange(5, 3).size(), 0u);
  EXPECT_EQ(arange(3, 5, -1).size(), 0u);
  EXPECT_EQ(arange(-4).size(), 0u);
  array f = arange(0.5, 2.0, 0.25);
  EXPECT_EQ(f.dtype(), float32);
  ASSERT_EQ(f.shape(), (Shape{6}));
  f.eval();
  for (int i = 0; i < 6; ++i) EXPECT_EQ(f.data<float>()[i], 0.5f + 0.25f * i);
  array g = arange(5.0);
  EXPECT_EQ(g.dtype(), float32);
  EXPECT_EQ(g.size(), 5u);
  array n = arange(1.0, -1.0, -0.5);  // 1 0.5 0 -0.5
  ASSERT_EQ(n.size(), 4u);
  n.eval();
  EXPECT_EQ(n.data<float>()[3], -0.5f);
  // A fractional step that does not divide the range: ceil.
  EXPECT_EQ(arange(0.0, 1.0, 0.3).size(), 4u);
  EXPECT_EQ(arange(0.0, 1.0, 0.3, float64).dtype(), float64);
}

TEST(OpsArange, StepZeroAndNonFiniteAreErrors) {
  expect_invalid([] { arange(0, 10, 0); }, "[arange]");
  expect_invalid([] { arange(0.0, 1.0, 0.0); }, "[arange]");
  expect_invalid([] { arange(0.0, 1.0, 0.0, int64); }, "[arange]");
  expect_invalid([] { arange(0.0, 1.0, NAN); }, "[arange]");
  expect_invalid([] { arange(0.0, INFINITY, 1.0); }, "[arange]");
  expect_invalid([] { arange(0.0, 1e12, 1.0); }, "[arange]");
}

// ---- Errors at the call ----

TEST(OpsErrors, NonBroadcastableShapes) {
  array a = zeros({2, 3}), b = zeros({4});
  expect_invalid([&] { add(a, b); },
                 "[add] Shapes (2,3) and (4,) cannot be broadcast.");
  expect_invalid([&] { multiply(a, b); },
                 "[multiply] Shapes (2,3) and (4,) cannot be broadcast.");
  expect_invalid([&] { (void)(a + b); }, "[add]");
  expect_invalid([&] { (void)(a * b); }, "[multiply]");
  expect_invalid([&] { add(zeros({0}), zeros({2})); }, "[add]");
  expect_invalid([&] { add(zeros({2, 3, 4}), zeros({3, 3, 4})); }, "[add]");
  // Mixed dtypes fail the same way, before any cast is built.
  expect_invalid(
      [&] {
        add(zeros({2, 3}, int8), zeros({4}, float16));
      },
      "[add] Shapes (2,3) and (4,) cannot be broadcast.");
}

TEST(OpsErrors, NegativeDimensions) {
  expect_invalid([] { zeros({2, -1}); }, "[zeros]");
  expect_invalid([] { ones({-3}); }, "[ones]");
  expect_invalid([] { full({-1, 2}, array(1.0f)); }, "[full]");
  expect_invalid([] { full({-1}, array(1.0f), int32); }, "[full]");
  int v[2] = {1, 2};
  expect_invalid([&] { array(v, int32, Shape{-2}, int32); }, "[array]");
}

TEST(OpsErrors, FullWithNonBroadcastableValue) {
  expect_invalid([] { full({2, 3}, zeros({4})); }, "[full]");
  expect_invalid([] { full({3}, zeros({2, 3})); }, "[full]");
  expect_invalid([] { full({}, zeros({2})); }, "[full]");
  expect_invalid([] { full({2, 3}, zeros({2}), float64); }, "[full]");
}

TEST(OpsErrors, ArrayFromTooFewValues) {
  std::vector<float> v(5);
  expect_invalid([&] { array(v, Shape{2, 3}); }, "[array]");
  expect_invalid([] { array({1, 2, 3}, Shape{2, 2}); }, "[array]");
}

TEST(OpsErrors, ErrorsLeaveNothingBroken) {
  // A bad call does not disturb the stream or later ops.
  expect_invalid([] { add(zeros({2, 3}), zeros({4})); }, "[add]");
  array r = add(arange(4), array(1));
  r.eval();
  for (int i = 0; i < 4; ++i) EXPECT_EQ(r.data<int>()[i], i + 1);
  synchronize();
}

// ---- Chains and streams ----

TEST(OpsChain, LongChainOnOneStreamAndAcrossStreams) {
  Seeded s;
  SCOPED_TRACE(s.trace());
  auto h = random_values<float>(256, s.rng);
  array x = to_array(h, {256});
  Stream a = new_stream(cpu), b = new_stream(cpu);
  const int steps = static_cast<int>(scaled(200, 10));
  array y = x;
  for (int i = 0; i < steps; ++i) {
    y = add(y, array(1.0f), i % 2 ? a : b);
  }
  array z = sum(y, a);
  eval(z);
  double want = 0;
  for (size_t i = 0; i < h.n; ++i) {
    float v = h[i];
    for (int k = 0; k < steps; ++k) v = v + 1.0f;
    EXPECT_EQ(y.data<float>()[i], v) << i;
    want += v;
  }
  EXPECT_TRUE(near_ulps(z.item<float>(), want, 64.0));
}

}  // namespace
