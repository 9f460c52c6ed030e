// The elementwise ops on the CPU: values against references written here
// (exact integer arithmetic, double for floats) on fresh random data in every
// dtype, the edge cases docs/numerics.md defines, broadcasting, errors at the
// call, and buffer donation (memory, and no donation under a gated reader on
// another stream).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
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
#include "runnel/testing.h"
#include "tests/cpp/test_util.h"

using namespace runnel;
using namespace runnel::test;

namespace {

// GPU kernels for these ops come later: run them on the CPU explicitly.
using Elementwise = OnCpu;

// ---- Random data and reading values back ----

// Integers over their whole range with the extremes and small values mixed
// in, floats uniform in [lo, hi), bool at random.
template <class T>
std::vector<T> random_with_edges(size_t n, std::mt19937& rng, double lo = -8.0,
                                 double hi = 8.0) {
  std::vector<T> v(n);
  for (size_t i = 0; i < n; ++i) {
    if constexpr (std::is_same_v<T, bool>) {
      v[i] = (rng() & 1) != 0;
    } else if constexpr (kInt<T>) {
      uint64_t bits = (static_cast<uint64_t>(rng()) << 32) ^ rng();
      switch (rng() % 16) {
        case 0:
          v[i] = std::numeric_limits<T>::min();
          break;
        case 1:
          v[i] = std::numeric_limits<T>::max();
          break;
        case 2:
          v[i] = static_cast<T>(static_cast<int>(rng() % 7) - 3);  // small
          break;
        default:
          v[i] = static_cast<T>(bits);  // modular: the whole range
      }
    } else {
      std::uniform_real_distribution<double> u(lo, hi);
      v[i] = T(u(rng));
    }
  }
  return v;
}

// std::vector<bool> has no data(): arrays come from bytes instead.
template <class T>
array make(const std::vector<T>& v, Shape shape) {
  if constexpr (std::is_same_v<T, bool>) {
    std::vector<uint8_t> b(v.begin(), v.end());
    return array(b.data(), bool_, std::move(shape), bool_);
  } else {
    return array(v.data(), dtype_of<T>(), std::move(shape), dtype_of<T>());
  }
}

// The values of `a`, which holds T.
template <class T>
std::vector<T> values(array a) {
  EXPECT_EQ(a.dtype(), dtype_of<T>());
  return to_vector<T>(std::move(a));
}

// ---- Float tolerance ----

template <class T>
double max_of() {
  if constexpr (std::is_same_v<T, float16_t>) {
    return 65504.0;
  } else if constexpr (std::is_same_v<T, bfloat16_t>) {
    return to_double(bfloat16_t::from_bits(0x7f7f));
  } else {
    return static_cast<double>(std::numeric_limits<T>::max());
  }
}

// Where T's values round to infinity: its largest finite value plus half
// an ulp there.
template <class T>
double overflow_of() {
  return max_of<T>() + std::ldexp(eps_of<T>() / 2, std::ilogb(max_of<T>()));
}

// `got` (of T) within `ulps` units in the last place of T at the exact value
// `want` (long double: references for float64 results are computed wider);
// below the normals, within `ulps` of the smallest normal's ulp. A `want` where
// T overflows must be the infinity of its sign, give or take the tolerance
// around the threshold.
template <class T>
::testing::AssertionResult near_ulps(T got, long double want, double ulps) {
  const long double g = to_double(got);
  const long double tol =
      std::isinf(want)
          ? 0
          : ulps * eps_of<T>() *
                std::max<long double>(std::fabs(want), min_normal_of<T>());
  if (std::isnan(want)) {
    if (std::isnan(g)) return ::testing::AssertionSuccess();
  } else if (std::isinf(g)) {
    if (g == std::copysign(static_cast<long double>(INFINITY), want) &&
        std::fabs(want) + tol >= overflow_of<T>()) {
      return ::testing::AssertionSuccess();
    }
  } else if (std::isinf(want) || std::fabs(want) >= overflow_of<T>()) {
    // Finite: only the largest value, and only within the tolerance.
    if (std::fabs(g) == max_of<T>() && !std::isinf(want) &&
        std::fabs(want) - tol < overflow_of<T>()) {
      return ::testing::AssertionSuccess();
    }
  } else if (!std::isnan(g) && std::fabs(g - want) <= tol) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "got " << static_cast<double>(g) << ", want "
         << static_cast<double>(want) << " (within " << ulps << " ulp of "
         << dtype_of<T>() << ")";
}

// ---- Reference arithmetic, written apart from the kernels' functors ----

// Integers: the exact result reduced modulo 2^bits; Python's floor division
// and modulus with x // 0 == x % 0 == 0.
template <class T>
T wrap(__int128 v) {
  return static_cast<T>(static_cast<unsigned __int128>(v));
}

template <class T>
T ref_int(const std::string& op, T a, T b) {
  const __int128 x = a, y = b;
  if (op == "add") return wrap<T>(x + y);
  if (op == "subtract") return wrap<T>(x - y);
  if (op == "multiply") {
    // The low bits of the product of the values mod 2^64.
    return static_cast<T>(static_cast<uint64_t>(x) * static_cast<uint64_t>(y));
  }
  if (op == "maximum") return a > b ? a : b;
  if (op == "minimum") return a < b ? a : b;
  if (op == "floor_divide" || op == "remainder") {
    if (y == 0) return T(0);
    __int128 q = x / y;
    if (q * y != x && ((x < 0) != (y < 0))) --q;
    return op == "floor_divide" ? wrap<T>(q) : wrap<T>(x - q * y);
  }
  if (op == "power") {
    if (y < 0) {
      if (x == 1) return T(1);
      if (x == -1) return (y % 2 == 0) ? T(1) : wrap<T>(-1);
      return T(0);
    }
    // Left to right over the exponent's bits, modulo 2^64.
    uint64_t r = 1;
    const auto base = static_cast<uint64_t>(x);
    for (int bit = 63; bit >= 0; --bit) {
      r *= r;
      if ((static_cast<unsigned __int128>(y) >> bit) & 1) r *= base;
    }
    return static_cast<T>(r);
  }
  ADD_FAILURE() << "no reference for " << op;
  return T(0);
}

bool ref_bool(const std::string& op, bool a, bool b) {
  if (op == "add" || op == "maximum") return a || b;
  if (op == "multiply" || op == "minimum" || op == "floor_divide") {
    return a && b;
  }
  if (op == "remainder") return false;
  if (op == "power") return a || !b;
  ADD_FAILURE() << "no bool reference for " << op;
  return false;
}

// Floats: the double result of the IEEE operations (correctly rounded, so
// exact for float32 and below after rounding to T, and what float64 gives);
// pow in long double.
long double ref_float(const std::string& op, double a, double b) {
  if (op == "add") return a + b;
  if (op == "subtract") return a - b;
  if (op == "multiply") return a * b;
  if (op == "divide") return a / b;
  if (op == "power") {
    return std::pow(static_cast<long double>(a), static_cast<long double>(b));
  }
  if (op == "maximum") return std::isnan(a) || a > b ? a : b;
  if (op == "minimum") return std::isnan(a) || a < b ? a : b;
  ADD_FAILURE() << "no float reference for " << op;
  return 0;
}

using BinaryFn = array (*)(const array&, const array&, StreamOrDevice);

struct NamedBinary {
  const char* name;
  BinaryFn fn;
};

const NamedBinary kArithmetic[] = {
    {"add", add},
    {"subtract", subtract},
    {"multiply", multiply},
    {"floor_divide", floor_divide},
    {"remainder", remainder},
    {"power", power},
    {"maximum", maximum},
    {"minimum", minimum},
};

// ---- Typed tests: every dtype ----

template <class T>
class ElementwiseTyped : public OnCpu {};
TYPED_TEST_SUITE(ElementwiseTyped, AllTypes, TypeNames);

// Shapes: same, scalar, row, column, outer, 0-size, 0-d, and large enough
// that idle workers take chunks (flat and strided).
const std::pair<Shape, Shape> kShapes[] = {
    {{3, 4, 5}, {3, 4, 5}},
    {{3, 4}, {}},
    {{}, {3, 4}},
    {{3, 4}, {4}},
    {{3, 4}, {3, 1}},
    {{3, 1}, {1, 4}},
    {{2, 1, 5}, {3, 1}},
    {{0, 4}, {4}},
    {{0}, {}},
    {{}, {}},
    {{1}, {}},
    {{3, 1 << 15}, {1 << 15}},
    {{1 << 17}, {1 << 17}},
    {{1 << 17}, {1}},
};

template <class T>
void check_arithmetic(const NamedBinary& op, const Shape& sa, const Shape& sb,
                      std::mt19937& rng) {
  const std::string name = op.name;
  SCOPED_TRACE(name + " shapes a=" + ::testing::PrintToString(sa) +
               " b=" + ::testing::PrintToString(sb));
  auto ha = random_with_edges<T>(numel(sa), rng);
  auto hb = random_with_edges<T>(numel(sb), rng);
  if constexpr (kInt<T>) {
    // Exponents: mostly small, so that results are not all 0 or 1.
    if (name == "power") {
      for (auto& v : hb) v = static_cast<T>(v % 9);
    }
  }
  const array a = make(ha, sa), b = make(hb, sb);
  const array r = op.fn(a, b, {});
  const Shape out = broadcast_shapes(sa, sb, "test");
  ASSERT_EQ(r.shape(), out);
  auto got = values<T>(r);
  for (size_t i = 0; i < got.size(); ++i) {
    const T x = ha[broadcast_index(i, out, sa)];
    const T y = hb[broadcast_index(i, out, sb)];
    if constexpr (std::is_same_v<T, bool>) {
      ASSERT_EQ(got[i], ref_bool(name, x, y)) << i << ": " << x << ", " << y;
    } else if constexpr (kInt<T>) {
      ASSERT_EQ(got[i], ref_int(name, x, y)) << i << ": " << +x << ", " << +y;
    } else if (name == "floor_divide" || name == "remainder") {
      // Checked by their properties here, and against numpy's values in
      // the Python tests.
      const double q = to_double(floor_divide(array(x), array(y)).item<T>());
      const double m = to_double(remainder(array(x), array(y)).item<T>());
      const double xd = to_double(x), yd = to_double(y);
      if (yd == 0) continue;
      ASSERT_EQ(q, std::floor(q)) << xd << " // " << yd;
      ASSERT_TRUE(m == 0 || (m < 0) == (yd < 0)) << xd << " % " << yd;
      // |m| < |b| exactly, but m rounds (as in Python, where -1e-100 % 1e100
      // is 1e100): at most |b|.
      ASSERT_LE(std::fabs(m), std::fabs(yd)) << xd << " % " << yd;
      ASSERT_NEAR(q * yd + m, xd, 4 * eps_of<T>() * (std::fabs(xd) + 1))
          << xd << " vs " << yd;
      ASSERT_EQ(to_double(got[i]), name == "floor_divide" ? q : m);
    } else {
      // One rounding in T (half types: through float, a hair more). pow
      // in the C library is within 1 ulp.
      const double ulps = name == "power" ? 1.0 : kHalf<T> ? 0.51 : 0.5;
      ASSERT_TRUE(
          near_ulps(got[i], ref_float(name, to_double(x), to_double(y)), ulps))
          << i << ": " << to_double(x) << ", " << to_double(y);
    }
  }
}

TYPED_TEST(ElementwiseTyped, ArithmeticMatchesReferenceWithBroadcasting) {
  using T = TypeParam;
  Seeded s;
  SCOPED_TRACE(s.trace());
  for (const NamedBinary& op : kArithmetic) {
    if (std::is_same_v<T, bool> && std::string(op.name) == "subtract") {
      continue;  // rejected, see the errors test
    }
    for (const auto& [sa, sb] : kShapes) {
      if (numel(sa) + numel(sb) > 1000 && std::string(op.name) != "add" &&
          std::string(op.name) != "power") {
        continue;  // large shapes: the loops are shared by every op
      }
      check_arithmetic<T>(op, sa, sb, s.rng);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
}

TYPED_TEST(ElementwiseTyped, DivideAndArcTan2ComputeInAFloat) {
  using T = TypeParam;
  Seeded s;
  SCOPED_TRACE(s.trace());
  auto ha = random_with_edges<T>(300, s.rng),
       hb = random_with_edges<T>(300, s.rng);
  const array a = make(ha, {3, 100}), b = make(hb, {3, 100});
  const Dtype want = kFloat<T> ? dtype_of<T>() : float32;
  const array q = divide(a, b), t = arctan2(a, b);
  ASSERT_EQ(q.dtype(), want);
  ASSERT_EQ(t.dtype(), want);
  ASSERT_EQ((a / b).dtype(), want);
  dispatch_dtype(want, [&]<class U>(std::type_identity<U>) {
    if constexpr (kFloat<U>) {
      auto gq = values<U>(q), gt = values<U>(t);
      for (size_t i = 0; i < gq.size(); ++i) {
        // Integers round to float32 first.
        const double x = to_double(U(to_double(ha[i])));
        const double y = to_double(U(to_double(hb[i])));
        ASSERT_TRUE(near_ulps(gq[i], x / y, kHalf<U> ? 0.51 : 0.5))
            << x << " / " << y;
        ASSERT_TRUE(near_ulps(gt[i],
                              std::atan2(static_cast<long double>(x),
                                         static_cast<long double>(y)),
                              kHalf<U> ? 0.51 : 2))
            << "atan2 " << x << ", " << y;
      }
    }
  });
}

template <class T>
bool ref_compare(const std::string& op, T a, T b) {
  const double x = to_double(a), y = to_double(b);
  if constexpr (kInt<T>) {
    // Exact for 64-bit values, which doubles are not.
    if (op == "equal") return a == b;
    if (op == "not_equal") return a != b;
    if (op == "less") return a < b;
    if (op == "less_equal") return a <= b;
    if (op == "greater") return a > b;
    return a >= b;
  }
  if (op == "equal") return x == y;
  if (op == "not_equal") return x != y;
  if (op == "less") return x < y;
  if (op == "less_equal") return x <= y;
  if (op == "greater") return x > y;
  return x >= y;
}

TYPED_TEST(ElementwiseTyped, ComparisonsAndLogicMatchReference) {
  using T = TypeParam;
  Seeded s;
  SCOPED_TRACE(s.trace());
  const NamedBinary cmp[] = {
      {"equal", equal},     {"not_equal", not_equal},
      {"less", less},       {"less_equal", less_equal},
      {"greater", greater}, {"greater_equal", greater_equal},
  };
  // Values drawn from a few, so that equal pairs are common; NaN and the
  // infinities and signed zeros for floats.
  auto pool = random_with_edges<T>(6, s.rng);
  if constexpr (kFloat<T>) {
    pool.push_back(T(NAN));
    pool.push_back(T(INFINITY));
    pool.push_back(T(-0.0));
    pool.push_back(T(0.0));
  }
  auto pick = [&](size_t n) {
    std::vector<T> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = pool[s.rng() % pool.size()];
    return v;
  };
  for (const auto& [sa, sb] : kShapes) {
    if (numel(sa) + numel(sb) > 1000) continue;
    SCOPED_TRACE("shapes a=" + ::testing::PrintToString(sa) +
                 " b=" + ::testing::PrintToString(sb));
    auto ha = pick(numel(sa)), hb = pick(numel(sb));
    const array a = make(ha, sa), b = make(hb, sb);
    const Shape out = broadcast_shapes(sa, sb, "test");
    for (const NamedBinary& op : cmp) {
      auto got = values<bool>(op.fn(a, b, {}));
      ASSERT_EQ(got.size(), numel(out));
      for (size_t i = 0; i < got.size(); ++i) {
        const T x = ha[broadcast_index(i, out, sa)];
        const T y = hb[broadcast_index(i, out, sb)];
        ASSERT_EQ(got[i], ref_compare(op.name, x, y))
            << op.name << " " << to_double(x) << ", " << to_double(y);
      }
    }
    auto land = values<bool>(logical_and(a, b));
    auto lor = values<bool>(logical_or(a, b));
    auto lnot = values<bool>(logical_not(a));
    for (size_t i = 0; i < land.size(); ++i) {
      const bool x = to_double(ha[broadcast_index(i, out, sa)]) != 0;
      const bool y = to_double(hb[broadcast_index(i, out, sb)]) != 0;
      ASSERT_EQ(land[i], x && y) << i;
      ASSERT_EQ(lor[i], x || y) << i;
    }
    for (size_t i = 0; i < lnot.size(); ++i) {
      ASSERT_EQ(lnot[i], !(to_double(ha[i]) != 0)) << i;  // NaN is true
    }
  }
}

TYPED_TEST(ElementwiseTyped, WhereSelectsWithBroadcasting) {
  using T = TypeParam;
  Seeded s;
  SCOPED_TRACE(s.trace());
  const Shape shapes[][3] = {
      {{4, 5}, {4, 5}, {4, 5}},
      {{4, 1}, {5}, {}},
      {{}, {3, 2}, {2}},
      {{2, 1, 3}, {4, 1}, {3}},
      {{0, 3}, {3}, {1, 3}},
      {{}, {}, {}},
      {{1 << 16}, {1 << 16}, {1 << 16}},
      {{1 << 16}, {1}, {1 << 16}},
  };
  for (const auto& sh : shapes) {
    SCOPED_TRACE(::testing::PrintToString(sh[0]) + " " +
                 ::testing::PrintToString(sh[1]) + " " +
                 ::testing::PrintToString(sh[2]));
    auto hc = random_with_edges<bool>(numel(sh[0]), s.rng);
    auto hx = random_with_edges<T>(numel(sh[1]), s.rng);
    auto hy = random_with_edges<T>(numel(sh[2]), s.rng);
    const array r = where(make(hc, sh[0]), make(hx, sh[1]), make(hy, sh[2]));
    const Shape out =
        broadcast_shapes(broadcast_shapes(sh[0], sh[1], "t"), sh[2], "t");
    ASSERT_EQ(r.shape(), out);
    auto got = values<T>(r);
    for (size_t i = 0; i < got.size(); ++i) {
      const T want = hc[broadcast_index(i, out, sh[0])]
                         ? hx[broadcast_index(i, out, sh[1])]
                         : hy[broadcast_index(i, out, sh[2])];
      ASSERT_TRUE(same_bits<T>(got[i], want)) << i;
    }
  }
  // A condition of another dtype is taken as bool; x and y promote.
  auto hv = random_with_edges<T>(6, s.rng);
  const array c = make(hv, {6});
  const array r = where(c, array(1.5f), array(int8_t{-2}));
  ASSERT_EQ(r.dtype(), float32);
  auto got = values<float>(r);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(got[i], to_double(hv[i]) != 0 ? 1.5f : -2.0f) << i;
  }
}

TYPED_TEST(ElementwiseTyped, UnaryOpsThatKeepTheDtype) {
  using T = TypeParam;
  Seeded s;
  SCOPED_TRACE(s.trace());
  auto h = random_with_edges<T>(2000, s.rng, -100.0, 100.0);
  if constexpr (kFloat<T>) {
    const T special[] = {T(NAN),  T(INFINITY), T(-INFINITY), T(-0.0),
                         T(0.0),  T(0.5),      T(1.5),       T(2.5),
                         T(-0.5), T(-2.5),     T(-1.0),      T(3.0)};
    for (size_t i = 0; i < std::size(special); ++i) h[i] = special[i];
  }
  const array a = make(h, {40, 50});
  auto ab = values<T>(abs(a));
  auto sg = values<T>(sign(a));
  auto sq = values<T>(square(a));
  auto fl = values<T>(floor(a));
  auto ce = values<T>(ceil(a));
  auto rn = values<T>(round(a));
  for (size_t i = 0; i < h.size(); ++i) {
    const T x = h[i];
    const double d = to_double(x);
    if constexpr (std::is_same_v<T, bool>) {
      EXPECT_EQ(ab[i], x);
      EXPECT_EQ(sg[i], x);
      EXPECT_EQ(sq[i], x);
      EXPECT_EQ(fl[i], x);
      EXPECT_EQ(ce[i], x);
      EXPECT_EQ(rn[i], x);
    } else if constexpr (kInt<T>) {
      const __int128 v = x;
      ASSERT_EQ(ab[i], wrap<T>(v < 0 ? -v : v)) << +x;
      ASSERT_EQ(sg[i], static_cast<T>((v > 0) - (v < 0))) << +x;
      ASSERT_EQ(sq[i], static_cast<T>(static_cast<uint64_t>(v) *
                                      static_cast<uint64_t>(v)))
          << +x;
      ASSERT_EQ(fl[i], x);
      ASSERT_EQ(ce[i], x);
      ASSERT_EQ(rn[i], x);
    } else {
      ASSERT_TRUE(near_ulps(ab[i], std::fabs(d), 0)) << d;
      ASSERT_FALSE(std::signbit(to_double(ab[i]))) << d;
      const double want_sign = std::isnan(d) ? NAN
                               : d > 0       ? 1.0
                               : d < 0       ? -1.0
                                             : 0.0;
      ASSERT_TRUE(near_ulps(sg[i], want_sign, 0)) << d;
      ASSERT_FALSE(std::signbit(to_double(sg[i])) && d == 0) << d;
      ASSERT_TRUE(near_ulps(sq[i], d * d, kHalf<T> ? 0.51 : 0.5)) << d;
      ASSERT_TRUE(near_ulps(fl[i], std::floor(d), 0)) << d;
      ASSERT_TRUE(near_ulps(ce[i], std::ceil(d), 0)) << d;
      ASSERT_TRUE(near_ulps(rn[i], std::nearbyint(d), 0)) << d;  // to even
    }
  }
  if constexpr (!std::is_same_v<T, bool>) {
    auto ng = values<T>(negative(a));
    auto op = values<T>(-a);
    for (size_t i = 0; i < h.size(); ++i) {
      if constexpr (kInt<T>) {
        ASSERT_EQ(ng[i], wrap<T>(-__int128{h[i]})) << +h[i];
      } else {
        ASSERT_TRUE(near_ulps(ng[i], -to_double(h[i]), 0));
        ASSERT_EQ(std::signbit(to_double(ng[i])),
                  !std::signbit(to_double(h[i])));
      }
      ASSERT_TRUE(same_bits<T>(ng[i], op[i]));
    }
  }
  // isnan and isinf give bool for every dtype.
  auto in = values<bool>(isnan(a)), ii = values<bool>(isinf(a));
  for (size_t i = 0; i < h.size(); ++i) {
    ASSERT_EQ(in[i], std::isnan(to_double(h[i])));
    ASSERT_EQ(ii[i], std::isinf(to_double(h[i])));
  }
}

// The float functions. Bounds in ulp of the output dtype (docs/numerics.md):
// float32's own exp within 1.02, the C library's functions within 2 (tanh
// 2.5), half types one rounding of a float result.
struct FloatFn {
  const char* name;
  array (*fn)(const array&, StreamOrDevice);
  long double (*ref)(long double);  // wider than float64
  double lo, hi;                    // where to draw inputs
  double ulps;                      // float32 and float64
};

long double sigmoid_ref(long double x) { return 1 / (1 + std::exp(-x)); }
long double rsqrt_ref(long double x) { return 1 / std::sqrt(x); }
long double recip_ref(long double x) { return 1 / x; }

const FloatFn kFloatFns[] = {
    {"exp", exp, [](long double x) { return std::exp(x); }, -110, 95, 1.02},
    {"expm1", expm1, [](long double x) { return std::expm1(x); }, -20, 20, 2},
    {"log", log, [](long double x) { return std::log(x); }, -1, 1e4, 2},
    {"log1p", log1p, [](long double x) { return std::log1p(x); }, -1.5, 50, 2},
    {"sqrt", sqrt, [](long double x) { return std::sqrt(x); }, -1, 1e4, 0.5},
    {"rsqrt", rsqrt, rsqrt_ref, -1, 1e4, 1.5},
    {"reciprocal", reciprocal, recip_ref, -100, 100, 0.5},
    {"sin", sin, [](long double x) { return std::sin(x); }, -50, 50, 2},
    {"cos", cos, [](long double x) { return std::cos(x); }, -50, 50, 2},
    {"tan", tan, [](long double x) { return std::tan(x); }, -5, 5, 2},
    {"tanh", tanh, [](long double x) { return std::tanh(x); }, -12, 12, 2.5},
    {"sigmoid", sigmoid, sigmoid_ref, -110, 110, 2.5},
    {"erf", erf, [](long double x) { return std::erf(x); }, -5, 5, 2},
};

TYPED_TEST(ElementwiseTyped, FloatFunctionsWithinTheirBounds) {
  using T = TypeParam;
  Seeded s;
  SCOPED_TRACE(s.trace());
  using Out = std::conditional_t<kFloat<T>, T, float>;
  for (const FloatFn& f : kFloatFns) {
    SCOPED_TRACE(f.name);
    // Integers: small values (exp of the full range would overflow).
    auto h = random_with_edges<T>(3000, s.rng, f.lo, f.hi);
    if constexpr (kInt<T>) {
      for (auto& v : h) v = static_cast<T>(v % 40);
    }
    if constexpr (kFloat<T>) {
      const T special[] = {T(NAN),  T(INFINITY), T(-INFINITY), T(0.0),
                           T(-0.0), T(1.0),      T(-1.0)};
      for (size_t i = 0; i < std::size(special); ++i) h[i] = special[i];
    }
    const array r = f.fn(make(h, {3000}), {});
    ASSERT_EQ(r.dtype(), dtype_of<Out>());
    auto got = values<Out>(r);
    const double ulps = kHalf<Out> ? 0.51 : f.ulps;
    for (size_t i = 0; i < h.size(); ++i) {
      const double x = to_double(Out(to_double(h[i])));  // as it computes
      ASSERT_TRUE(near_ulps(got[i], f.ref(x), ulps))
          << f.name << "(" << x << ")";
    }
  }
}

// ---- Edge cases of docs/numerics.md ----

template <class T>
class IntegerEdges : public OnCpu {};
using IntTypes = ::testing::Types<uint8_t, uint16_t, uint32_t, uint64_t, int8_t,
                                  int16_t, int32_t, int64_t>;
TYPED_TEST_SUITE(IntegerEdges, IntTypes, TypeNames);

TYPED_TEST(IntegerEdges, DivisionByZeroOverflowAndNegativePowers) {
  using T = TypeParam;
  constexpr T lo = std::numeric_limits<T>::min();
  constexpr T hi = std::numeric_limits<T>::max();
  auto one = [](array x) { return x.item<T>(); };
  // x // 0 and x % 0 are 0.
  for (T x : {lo, hi, T(0), T(7)}) {
    EXPECT_EQ(one(floor_divide(array(x), array(T(0)))), T(0)) << +x;
    EXPECT_EQ(one(remainder(array(x), array(T(0)))), T(0)) << +x;
  }
  if constexpr (std::is_signed_v<T>) {
    // MIN // -1 wraps to MIN; MIN % -1 is 0.
    EXPECT_EQ(one(floor_divide(array(lo), array(T(-1)))), lo);
    EXPECT_EQ(one(remainder(array(lo), array(T(-1)))), T(0));
    EXPECT_EQ(one(negative(array(lo))), lo);
    EXPECT_EQ(one(abs(array(lo))), lo);
    // Python's signs.
    EXPECT_EQ(one(floor_divide(array(T(-7)), array(T(2)))), T(-4));
    EXPECT_EQ(one(remainder(array(T(-7)), array(T(2)))), T(1));
    EXPECT_EQ(one(floor_divide(array(T(7)), array(T(-2)))), T(-4));
    EXPECT_EQ(one(remainder(array(T(7)), array(T(-2)))), T(-1));
    EXPECT_EQ(one(remainder(array(T(-7)), array(T(-2)))), T(-1));
    EXPECT_EQ(one(floor_divide(array(T(-6)), array(T(3)))), T(-2));
    // Negative exponents: 0, except bases 1 and -1.
    EXPECT_EQ(one(power(array(T(2)), array(T(-1)))), T(0));
    EXPECT_EQ(one(power(array(T(0)), array(T(-3)))), T(0));
    EXPECT_EQ(one(power(array(T(1)), array(T(-5)))), T(1));
    EXPECT_EQ(one(power(array(T(-1)), array(T(-5)))), T(-1));
    EXPECT_EQ(one(power(array(T(-1)), array(T(-4)))), T(1));
    EXPECT_EQ(one(power(array(T(-1)), array(lo))), T(1));  // lo is even
    EXPECT_EQ(one(power(array(T(-2)), array(T(3)))), T(-8));
  } else {
    EXPECT_EQ(one(negative(array(T(1)))), hi);  // wraps
  }
  // Wrapping.
  EXPECT_EQ(one(add(array(hi), array(T(1)))), lo);
  EXPECT_EQ(one(subtract(array(lo), array(T(1)))), hi);
  EXPECT_EQ(one(power(array(T(2)), array(T(sizeof(T) * 8)))), T(0));
  EXPECT_EQ(one(power(array(T(3)), array(T(0)))), T(1));
  EXPECT_EQ(one(power(array(T(0)), array(T(0)))), T(1));
  EXPECT_EQ(one(square(array(hi))),
            static_cast<T>(static_cast<uint64_t>(hi) * hi));
  EXPECT_EQ(one(maximum(array(lo), array(hi))), hi);
  EXPECT_EQ(one(minimum(array(lo), array(hi))), lo);
  // Integer round with negative decimals, half to even, in double.
  if constexpr (std::is_signed_v<T>) {
    EXPECT_EQ(one(round(array(T(15)), -1)), T(20));
    EXPECT_EQ(one(round(array(T(25)), -1)), T(20));
    EXPECT_EQ(one(round(array(T(-15)), -1)), T(-20));
    EXPECT_EQ(one(round(array(T(-14)), -1)), T(-10));
  }
  EXPECT_EQ(one(round(array(T(123)), -2)), T(100));
  EXPECT_EQ(one(round(array(T(123)), 3)), T(123));
  EXPECT_EQ(one(round(array(T(100)), -5)), T(0));
  EXPECT_EQ(one(round(array(hi), -100)), T(0));
}

template <class T>
class FloatEdges : public OnCpu {};
TYPED_TEST_SUITE(FloatEdges, FloatTypes, TypeNames);

TYPED_TEST(FloatEdges, NaNZerosInfinitiesAndRounding) {
  using T = TypeParam;
  auto one = [](array x) { return to_double(x.item<T>()); };
  auto A = [](double v) { return array(T(v)); };
  // maximum and minimum propagate NaN from either side.
  EXPECT_TRUE(std::isnan(one(maximum(A(NAN), A(1)))));
  EXPECT_TRUE(std::isnan(one(maximum(A(1), A(NAN)))));
  EXPECT_TRUE(std::isnan(one(minimum(A(NAN), A(1)))));
  EXPECT_TRUE(std::isnan(one(minimum(A(1), A(NAN)))));
  EXPECT_EQ(one(maximum(A(-INFINITY), A(-3))), -3);
  EXPECT_EQ(one(minimum(A(INFINITY), A(-3))), -3);
  // floor_divide and remainder: numpy's values.
  EXPECT_EQ(one(floor_divide(A(1), A(0))), INFINITY);
  EXPECT_EQ(one(floor_divide(A(-1), A(0))), -INFINITY);
  EXPECT_TRUE(std::isnan(one(floor_divide(A(0), A(0)))));
  EXPECT_TRUE(std::isnan(one(remainder(A(1), A(0)))));
  EXPECT_EQ(one(floor_divide(A(-7), A(2))), -4);
  EXPECT_EQ(one(remainder(A(-7), A(2))), 1);
  EXPECT_EQ(one(remainder(A(7), A(-2))), -1);
  EXPECT_EQ(one(remainder(A(-1), A(INFINITY))), INFINITY);  // -1 + inf
  EXPECT_EQ(one(remainder(A(1), A(INFINITY))), 1);
  EXPECT_TRUE(std::signbit(one(remainder(A(4), A(-2)))));   // -0, b's sign
  EXPECT_FALSE(std::signbit(one(remainder(A(-4), A(2)))));  // +0
  EXPECT_TRUE(std::signbit(one(floor_divide(A(-0.0), A(1)))));
  if constexpr (std::is_same_v<T, double>) {
    EXPECT_EQ(one(floor_divide(A(1.0), A(0.1))), 9);  // as Python: 1 // 0.1
    EXPECT_NEAR(one(remainder(A(1.0), A(0.1))), 0.1, 1e-15);
  }
  // sign: NaN stays, both zeros give +0.
  EXPECT_TRUE(std::isnan(one(sign(A(NAN)))));
  EXPECT_FALSE(std::signbit(one(sign(A(-0.0)))));
  EXPECT_EQ(one(sign(A(-INFINITY))), -1);
  // round: half to even, decimals as numpy.
  EXPECT_EQ(one(round(A(0.5))), 0);
  EXPECT_EQ(one(round(A(1.5))), 2);
  EXPECT_EQ(one(round(A(2.5))), 2);
  EXPECT_TRUE(std::signbit(one(round(A(-0.5)))));
  EXPECT_EQ(one(round(A(-2.5))), -2);
  EXPECT_EQ(one(round(A(1234.0), -2)), 1200);
  EXPECT_EQ(one(round(A(1250.0), -2)), 1200);
  EXPECT_EQ(one(round(A(1350.0), -2)), 1400);
  // 0.75 * 10 = 7.5 rounds to 8, 0.125 * 100 = 12.5 to 12; then divided
  // in the computing type.
  using F = std::conditional_t<std::is_same_v<T, double>, double, float>;
  EXPECT_EQ(one(round(A(0.75), 1)), to_double(T(F(8) / F(10))));
  EXPECT_EQ(one(round(A(0.125), 2)), to_double(T(F(12) / F(100))));
  EXPECT_EQ(one(round(A(3.0), 400)), 3);  // 10^400 past every range
  EXPECT_TRUE(std::signbit(one(round(A(-3.0), -400))));
  EXPECT_EQ(one(round(A(INFINITY), -400)), INFINITY);
  EXPECT_TRUE(std::isnan(one(round(A(NAN), 2))));
  // exp at the edges of the range.
  EXPECT_EQ(one(exp(A(INFINITY))), INFINITY);
  EXPECT_EQ(one(exp(A(-INFINITY))), 0);
  EXPECT_TRUE(std::isnan(one(exp(A(NAN)))));
  EXPECT_EQ(one(exp(A(0))), 1);
  EXPECT_EQ(one(sigmoid(A(INFINITY))), 1);
  EXPECT_EQ(one(sigmoid(A(-INFINITY))), 0);
  EXPECT_EQ(one(sigmoid(A(0))), 0.5);
  EXPECT_TRUE(std::isnan(one(sigmoid(A(NAN)))));
  EXPECT_EQ(one(log(A(0))), -INFINITY);
  EXPECT_TRUE(std::isnan(one(log(A(-1)))));
  EXPECT_TRUE(std::isnan(one(sqrt(A(-1)))));
  EXPECT_EQ(one(rsqrt(A(0))), INFINITY);
  EXPECT_EQ(one(reciprocal(A(-0.0))), -INFINITY);
  EXPECT_EQ(one(power(A(0), A(0))), 1);
  EXPECT_EQ(one(power(A(-2), A(3))), -8);
  EXPECT_TRUE(std::isnan(one(power(A(-2), A(0.5)))));
}

TEST_F(Elementwise, ExpFloat32AtTheEdgesOfItsRange) {
  auto e = [](float x) { return exp(array(x)).item<float>(); };
  EXPECT_TRUE(near_ulps(e(88.7228f), std::exp(double{88.7228f}), 1.02));
  EXPECT_TRUE(std::isfinite(e(88.72283f)));
  EXPECT_EQ(e(88.7229f), INFINITY);
  EXPECT_EQ(e(1000.0f), INFINITY);
  EXPECT_EQ(e(-1000.0f), 0.0f);
  EXPECT_EQ(e(-104.0f), 0.0f);
  // Subnormal results: within one subnormal step.
  for (float x : {-87.5f, -90.0f, -100.0f, -103.5f, -103.97f}) {
    EXPECT_LE(std::fabs(e(x) - std::exp(static_cast<double>(x))),
              std::ldexp(1.0, -149))
        << x;
  }
  // Large enough that the pool's idle workers run parts of it.
  Seeded s;
  SCOPED_TRACE(s.trace());
  auto h = random_with_edges<float>(1 << 17, s.rng, -104, 90);
  auto got = values<float>(exp(make(h, {1 << 17})));
  for (size_t i = 0; i < h.size(); ++i) {
    ASSERT_TRUE(near_ulps(got[i], std::exp(double{h[i]}), 1.02)) << h[i];
  }
}

// ---- Promotion ----

TEST_F(Elementwise, PromotionOfTheNewOps) {
  Seeded s;
  SCOPED_TRACE(s.trace());
  for (int i = 0; i < kNumDtypes; ++i) {
    for (int j = 0; j < kNumDtypes; ++j) {
      const Dtype da = static_cast<Dtype>(i), db = static_cast<Dtype>(j);
      SCOPED_TRACE(std::string(dtype_name(da)) + " with " +
                   std::string(dtype_name(db)));
      const array a = astype(array({1, 2, 3}), da);
      const array b = astype(array({3, 2, 1}), db);
      const Dtype p = promote_types(da, db);
      const Dtype f = is_floating_point(p) ? p : float32;
      EXPECT_EQ(maximum(a, b).dtype(), p);
      EXPECT_EQ(power(a, b).dtype(), p);
      EXPECT_EQ(remainder(a, b).dtype(), p);
      EXPECT_EQ(floor_divide(a, b).dtype(), p);
      EXPECT_EQ(divide(a, b).dtype(), f);
      EXPECT_EQ(arctan2(a, b).dtype(), f);
      EXPECT_EQ(where(array(true), a, b).dtype(), p);
      // Comparisons compare in the promoted dtype.
      auto lt = values<bool>(less(a, b));
      auto eq = values<bool>(equal(a, b));
      const bool small_bool = da == bool_ || db == bool_;
      if (!small_bool) {
        EXPECT_EQ(lt, (std::vector<bool>{true, false, false}));
        EXPECT_EQ(eq, (std::vector<bool>{false, true, false}));
      }
      if (p != bool_) {
        EXPECT_EQ(subtract(a, b).dtype(), p);
      }
    }
  }
  // Unary float functions: integers and bool compute in float32.
  for (int i = 0; i < kNumDtypes; ++i) {
    const Dtype d = static_cast<Dtype>(i);
    const Dtype f = is_floating_point(d) ? d : float32;
    const array a = astype(array({1, 0}), d);
    for (const FloatFn& fn : kFloatFns) EXPECT_EQ(fn.fn(a, {}).dtype(), f);
    EXPECT_EQ(isnan(a).dtype(), bool_);
    EXPECT_EQ(logical_not(a).dtype(), bool_);
    EXPECT_EQ(round(a, -1).dtype(), d);
    EXPECT_EQ(floor(a).dtype(), d);
    EXPECT_EQ(sign(a).dtype(), d);
  }
}

// ---- Errors at the call ----

TEST_F(Elementwise, ErrorsNameTheOp) {
  const array a = zeros({2, 3}), b = zeros({4});
  const NamedBinary all[] = {
      {"add", add},
      {"subtract", subtract},
      {"multiply", multiply},
      {"divide", divide},
      {"floor_divide", floor_divide},
      {"remainder", remainder},
      {"power", power},
      {"maximum", maximum},
      {"minimum", minimum},
      {"arctan2", arctan2},
      {"equal", equal},
      {"not_equal", not_equal},
      {"less", less},
      {"less_equal", less_equal},
      {"greater", greater},
      {"greater_equal", greater_equal},
      {"logical_and", logical_and},
      {"logical_or", logical_or},
  };
  for (const NamedBinary& op : all) {
    expect_invalid([&] { op.fn(a, b, {}); },
                   std::string("[") + op.name +
                       "] Shapes (2,3) and (4,) cannot be broadcast.");
    // Mixed dtypes fail the same way, before any cast is built.
    expect_invalid([&] { op.fn(astype(a, int8), astype(b, float16), {}); },
                   std::string("[") + op.name + "]");
  }
  expect_invalid([&] { where(zeros({2}, bool_), a, zeros({3})); }, "[where]");
  expect_invalid([&] { where(zeros({4}, bool_), a, a); }, "[where]");
  const array t = array({true, false});
  expect_invalid([&] { subtract(t, t); }, "[subtract] Not supported for two");
  expect_invalid([&] { negative(t); }, "[negative] Not supported for bool");
  expect_invalid([&] { (void)(-t); }, "[negative]");
  expect_invalid([&] { (void)(t - t); }, "[subtract]");
  // bool with another dtype promotes and is fine.
  EXPECT_EQ(subtract(t, array(1)).dtype(), int32);
  // Nothing is left broken.
  EXPECT_EQ(add(array(1), array(2)).item<int>(), 3);
}

TEST_F(Elementwise, OperatorsAreTheOps) {
  const array a({5, -3, 8}), b({2, 2, -3});
  auto ints = [](array x) { return values<int32_t>(x); };
  auto bools = [](array x) { return values<bool>(x); };
  EXPECT_EQ(ints(a - b), (std::vector<int32_t>{3, -5, 11}));
  EXPECT_EQ(ints(a % b), (std::vector<int32_t>{1, 1, -1}));
  EXPECT_EQ(ints(-a), (std::vector<int32_t>{-5, 3, -8}));
  EXPECT_EQ(values<float>(a / b), (std::vector<float>{2.5f, -1.5f, -8 / 3.0f}));
  EXPECT_EQ(bools(a == b), (std::vector<bool>{false, false, false}));
  EXPECT_EQ(bools(a != b), (std::vector<bool>{true, true, true}));
  EXPECT_EQ(bools(a < b), (std::vector<bool>{false, true, false}));
  EXPECT_EQ(bools(a <= 5), (std::vector<bool>{true, true, false}));
  EXPECT_EQ(bools(a > b), (std::vector<bool>{true, false, true}));
  EXPECT_EQ(bools(a >= 8), (std::vector<bool>{false, false, true}));
  EXPECT_EQ(bools(!(a > 0)), (std::vector<bool>{false, true, false}));
  EXPECT_EQ(bools((a > 0) && (b > 0)), (std::vector<bool>{true, false, false}));
  EXPECT_EQ(bools((a > 0) || (b > 0)), (std::vector<bool>{true, true, true}));
}

TEST_F(Elementwise, ZeroSizeAndScalars) {
  const array e = zeros({0, 3});
  for (const array& r :
       {exp(e), add(e, array(1.0f)), less(e, e), where(e, e, e), round(e, 2),
        power(e, e), logical_not(e), isnan(e)}) {
    EXPECT_EQ(r.shape(), (Shape{0, 3}));
    array c = r;
    c.eval();
  }
  EXPECT_EQ(maximum(array(2.0f), array(3.0f)).item<float>(), 3.0f);
  EXPECT_EQ(where(array(false), array(1), array(2)).item<int>(), 2);
  EXPECT_EQ(power(array(3), array(4)).item<int>(), 81);
  EXPECT_EQ(less(array(2), zeros({2, 0})).shape(), (Shape{2, 0}));
}

// ---- Donation: an op writes into an input no one else refers to ----

// An intermediate nobody else holds gives its buffer to the op that reads
// it; a user handle, a second reader or a broadcast keep it.
TEST_F(Elementwise, DonationOnlyWhenNothingElseRefersToTheInput) {
  Seeded s;
  SCOPED_TRACE(s.trace());
  const int n = 1 << 12;
  auto h = random_with_edges<float>(n, s.rng, -2, 2);
  const array src = make(h, {n});
  {
    // Nothing else: donated.
    array x = exp(src);
    x.eval();
    const void* buf = x.raw_data();
    array y = sin(x);
    x = array(0.0f);  // the only handle goes
    y.eval();
    EXPECT_EQ(y.raw_data(), buf);
    auto got = values<float>(y);
    for (int i = 0; i < n; ++i) {
      ASSERT_NEAR(got[i], std::sin(std::exp(h[i])), 1e-5) << i;
    }
  }
  {
    // A user handle: not donated, and the input keeps its values.
    array x = exp(src);
    x.eval();
    array y = sin(x);
    y.eval();
    EXPECT_NE(y.raw_data(), x.raw_data());
    auto xs = values<float>(x);
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(near_ulps(xs[i], std::exp(double{h[i]}), 1.02)) << i;
    }
  }
  {
    // Two readers, one evaluated first: the second may take the buffer
    // once the first is done, never before.
    array x = exp(src);
    array y = sin(x), z = cos(x);
    x = array(0.0f);
    eval({y, z});
    auto ys = values<float>(y), zs = values<float>(z);
    for (int i = 0; i < n; ++i) {
      ASSERT_NEAR(ys[i], std::sin(std::exp(h[i])), 1e-5) << i;
      ASSERT_NEAR(zs[i], std::cos(std::exp(h[i])), 1e-5) << i;
    }
  }
  {
    // Different element sizes, or an input that does not cover the
    // output: never donated.
    array x = exp(src);
    x.eval();
    const void* buf = x.raw_data();
    array y = add(astype(x, float64), array(1.0));  // the cast is donatable
    array z = add(full({2, n}, x), array(1.0f));
    x = array(0.0f);
    eval({y, z});
    EXPECT_NE(y.raw_data(), buf);
    EXPECT_NE(z.raw_data(), buf);
  }
  {
    // A comparison writes bool: a uint8 input may be donated, a float32
    // one may not.
    array x = astype(src, uint8);
    x.eval();
    const void* buf = x.raw_data();
    array c = less(x, array(uint8_t{3}));
    x = array(0.0f);
    c.eval();
    EXPECT_EQ(c.raw_data(), buf);
  }
}

// A gated reader on stream B still holds the input; the
// op on stream A that would donate it must not, and the reader sees the
// original values.
TEST_F(Elementwise, NoDonationUnderAGatedReaderOnAnotherStream) {
  test::with_watchdog([] {
    Seeded s;
    SCOPED_TRACE(s.trace());
    const int n = 1 << 16;
    auto h = random_with_edges<float>(n, s.rng, -2, 2);
    const array src = make(h, {n});
    Stream a = new_stream(kCpu), b = new_stream(kCpu);
    array x = exp(src, a);
    runnel::testing::Gate gate = runnel::testing::block(b);
    array reader = multiply(x, array(2.0f), b);
    async_eval({reader});  // x runs on a; reader waits behind the gate
    array y = exp(x, a);   // would overwrite x if it took its buffer
    x = array(0.0f);
    y.eval();
    EXPECT_NE(reader.status(), ArrayStatus::available);
    gate.open();
    auto got = values<float>(reader);
    auto gy = values<float>(y);
    for (int i = 0; i < n; ++i) {
      // reader = 2 x exactly: x's values as the reader saw them.
      const double x_seen = got[i] / 2.0;
      ASSERT_TRUE(near_ulps(got[i], 2 * std::exp(double{h[i]}), 1.02)) << i;
      ASSERT_TRUE(near_ulps(gy[i], std::exp(x_seen), 1.02)) << i;
    }
  });
}

// A 100-op chain over a large array, built lazily and evaluated once, holds
// the user's input and about one more array at a time: each op writes into
// the buffer of the intermediate before it.
TEST_F(Elementwise, LongChainPeaksUnderThreeTimesTheArray) {
  test::with_watchdog(
      [] {
        StreamContext cpu_here(kCpu);  // the body runs on the watchdog's thread
        synchronize(kCpu);
        const int n = static_cast<int>(test::scaled(64.0 * kMiB, 1 << 16));
        const size_t bytes = size_t(n) * sizeof(float);
        const array x = full({n}, array(1.5f));
        array(x).eval();
        array y = x;
        for (int i = 0; i < 100; ++i) {
          switch (i % 4) {
            case 0:
              y = add(y, array(0.25f));
              break;
            case 1:
              y = multiply(y, array(0.5f));
              break;
            case 2:
              y = abs(y);
              break;
            default:
              y = maximum(array(0.125f), y);
          }
        }
        synchronize(kCpu);
        reset_peak_memory(kCpu);
        const size_t base = get_active_memory(kCpu);
        y.eval();
        const size_t peak = get_peak_memory(kCpu) - base;
        EXPECT_LT(peak, 2 * bytes)
            << "peak " << peak << " for " << bytes << " bytes";
        float want = 1.5f;
        for (int i = 0; i < 100; ++i) {
          switch (i % 4) {
            case 0:
              want += 0.25f;
              break;
            case 1:
              want *= 0.5f;
              break;
            case 2:
              want = std::fabs(want);
              break;
            default:
              want = std::max(0.125f, want);
          }
        }
        const float* p = y.data<float>();
        for (int i = 0; i < n; i += 4099) ASSERT_EQ(p[i], want) << i;
        ASSERT_EQ(p[n - 1], want);
      },
      120.0);
}

}  // namespace

// ---- Views as inputs (strided, offset, negative and zero strides) ----

namespace views {

// The view kinds: each gives an array of shape (6, 10) reading `base`
// (shape (12, 24)) through strides that are not row-major.
std::vector<std::pair<std::string, array>> views_of(const array& base) {
  return {
      {"transpose", slice(transpose(base), {0, 0}, {6, 10})},
      {"step 2", slice(base, {0, 1}, {12, 21}, {2, 2})},
      {"negative steps", slice(base, {11, 23}, {5, 13}, {-1, -1})},
      {"offset rows", slice(base, {4, 2}, {10, 12})},
      {"broadcast", broadcast_to(slice(base, {3, 0}, {4, 10}), {6, 10})},
  };
}

template <class T>
void check_views(std::mt19937& rng) {
  auto h = random_with_edges<T>(288, rng, -3, 3);
  const array base = make(h, {12, 24});
  const array other = make(random_with_edges<T>(60, rng, -3, 3), {6, 10});
  for (auto& [kind, v] : views_of(base)) {
    SCOPED_TRACE(kind + " of " + std::string(dtype_name(dtype_of<T>())));
    ASSERT_EQ(v.shape(), (Shape{6, 10}));
    const array c = copy(v);  // the same values, contiguous
    auto same = [&](const array& from_view, const array& from_copy) {
      if (from_view.dtype() == float32 || from_view.dtype() == float16) {
        // exp's flat float32 loop may be built with fused multiply-adds.
        auto a = values<float>(astype(from_view, float32));
        auto b = values<float>(astype(from_copy, float32));
        for (size_t i = 0; i < a.size(); ++i) {
          ASSERT_TRUE(near_ulps(a[i], b[i], 2.5)) << i;
        }
        return;
      }
      dispatch_dtype(from_view.dtype(), [&]<class U>(std::type_identity<U>) {
        auto a = values<U>(from_view), b = values<U>(from_copy);
        ASSERT_EQ(a.size(), b.size());
        for (size_t i = 0; i < a.size(); ++i) {
          ASSERT_TRUE(same_bits<U>(a[i], b[i])) << i;
        }
      });
    };
    same(abs(v), abs(c));
    same(exp(v), exp(c));
    same(round(v, 1), round(c, 1));
    same(isnan(v), isnan(c));
    same(logical_not(v), logical_not(c));
    same(add(v, other), add(c, other));
    same(maximum(other, v), maximum(other, c));
    same(less(v, other), less(c, other));
    same(power(v, v), power(c, c));
    same(add(v, array(T(1))), add(c, array(T(1))));
    same(where(greater(v, other), v, other),
         where(greater(c, other), c, other));
    same(where(v, other, v), where(c, other, c));
    if (::testing::Test::HasFatalFailure()) return;
  }
}

}  // namespace views

TEST_F(Elementwise, ViewsAsInputsGiveTheValuesOfTheirCopies) {
  Seeded s;
  SCOPED_TRACE(s.trace());
  views::check_views<float>(s.rng);
  views::check_views<double>(s.rng);
  views::check_views<int32_t>(s.rng);
  views::check_views<uint8_t>(s.rng);
  views::check_views<float16_t>(s.rng);
  views::check_views<bool>(s.rng);
}

// A view shares its source's buffer: neither may be donated while the other
// lives, and a full-size reshape of an intermediate nobody else holds may.
TEST_F(Elementwise, ViewsAndDonation) {
  Seeded s;
  SCOPED_TRACE(s.trace());
  auto h = random_with_edges<float>(64, s.rng, -2, 2);
  const array src = make(h, {8, 8});
  {
    array x = exp(src);
    array t = transpose(x);
    array y = negative(x);  // x's buffer is also t's
    x = array(0.0f);
    eval({t, y});
    EXPECT_NE(y.raw_data(), t.raw_data());
    auto tv = values<float>(copy(t));
    for (int i = 0; i < 8; ++i) {
      for (int j = 0; j < 8; ++j) {
        ASSERT_TRUE(
            near_ulps(tv[i * 8 + j], std::exp(double{h[j * 8 + i]}), 1.02));
      }
    }
  }
  {
    array x = exp(src);
    x.eval();
    const void* buf = x.raw_data();
    array y = sin(reshape(x, {64}));
    x = array(0.0f);
    y.eval();
    EXPECT_EQ(y.raw_data(), buf);  // the reshape was the last holder
  }
  {
    array x = exp(src);
    x.eval();
    const void* buf = x.raw_data();
    array y = sin(slice(x, {0, 0}, {4, 8}));  // half the buffer
    x = array(0.0f);
    y.eval();
    EXPECT_NE(y.raw_data(), buf);
  }
}

// docs/numerics.md, casts: float to integer sends NaN to 0 and saturates;
// to bool, NaN is true; to float16, past 65520 is inf.
TEST_F(Elementwise, AstypeSendsNaNToZeroAndSaturates) {
  const array f({NAN, INFINITY, -INFINITY, 1e10f, -1e10f, 3.7f, -3.7f, -0.5f,
                 9.3e18f, 2e19f});
  EXPECT_EQ(values<int32_t>(astype(f, int32)),
            (std::vector<int32_t>{0, INT32_MAX, INT32_MIN, INT32_MAX, INT32_MIN,
                                  3, -3, 0, INT32_MAX, INT32_MAX}));
  EXPECT_EQ(values<uint8_t>(astype(f, uint8)),
            (std::vector<uint8_t>{0, 255, 0, 255, 0, 3, 0, 0, 255, 255}));
  EXPECT_EQ(
      values<int64_t>(astype(f, int64)),
      (std::vector<int64_t>{0, INT64_MAX, INT64_MIN, 10000000000, -10000000000,
                            3, -3, 0, INT64_MAX, INT64_MAX}));
  EXPECT_EQ(values<uint64_t>(astype(f, uint64))[9], UINT64_MAX);
  EXPECT_EQ(values<bool>(astype(f, bool_)),
            (std::vector<bool>{true, true, true, true, true, true, true, true,
                               true, true}));
  const array d({std::nan(""), 1e300, -2147483648.9, 2147483647.9});
  EXPECT_EQ(values<int32_t>(astype(d, int32)),
            (std::vector<int32_t>{0, INT32_MAX, INT32_MIN, INT32_MAX}));
  EXPECT_EQ(astype(array(1e300), float32).item<float>(), INFINITY);
  EXPECT_EQ(to_double(astype(array(65520.0f), float16).item<float16_t>()),
            INFINITY);
  EXPECT_EQ(to_double(astype(array(65519.0f), float16).item<float16_t>()),
            65504.0);
  const array h = astype(array({NAN, 70000.0f, -3.5f}), float16);
  EXPECT_EQ(values<int16_t>(astype(h, int16)),
            (std::vector<int16_t>{0, INT16_MAX, -3}));
}
