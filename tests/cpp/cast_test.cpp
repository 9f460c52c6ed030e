// astype against the cast rules of docs/numerics.md, for every source float
// dtype to every integer dtype and bool (NaN to 0, truncation toward zero,
// saturation; NaN is true), and for every integer pair (modulo 2^bits), on
// fresh random values with the edge cases mixed in. The references are
// written here from the rules, not from runnel's own cast.
#include <gtest/gtest.h>

#include <climits>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "runnel/runnel.h"
#include "tests/cpp/test_util.h"

using namespace runnel;
using namespace runnel::test;

namespace {

template <class... T>
struct Types {};

template <class... T, class F>
void each(Types<T...>, F&& f) {
  (f(std::type_identity<T>{}), ...);
}

using Floats = Types<float, double, float16_t, bfloat16_t>;
using Integers = Types<uint8_t, uint16_t, uint32_t, uint64_t, int8_t, int16_t,
                       int32_t, int64_t>;
using IntegersAndBool = Types<bool, uint8_t, uint16_t, uint32_t, uint64_t,
                              int8_t, int16_t, int32_t, int64_t>;

template <class T>
T from_double(double v) {
  if constexpr (std::is_same_v<T, float>) {
    // Rounded once; the values here are within float's range or infinite.
    return static_cast<float>(v);
  } else {
    return T(v);
  }
}

// The rule for a float value `v` cast to To.
template <class To>
To float_rule(double v) {
  if constexpr (std::is_same_v<To, bool>) {
    return v != 0.0;  // NaN != 0: true
  } else {
    if (std::isnan(v)) return To(0);
    constexpr int bits = static_cast<int>(sizeof(To) * CHAR_BIT);
    const double lo = std::is_signed_v<To> ? -std::ldexp(1.0, bits - 1) : 0.0;
    const double hi = std::ldexp(1.0, std::is_signed_v<To> ? bits - 1 : bits);
    const double t = std::trunc(v);
    if (t < lo) return std::numeric_limits<To>::min();
    if (t >= hi) return std::numeric_limits<To>::max();
    if constexpr (std::is_signed_v<To>) {
      return static_cast<To>(static_cast<int64_t>(t));  // in range: exact
    } else {
      return static_cast<To>(static_cast<uint64_t>(t));
    }
  }
}

// The rule for an integer `v` cast to To: its low bits, in two's complement.
template <class To, class From>
To integer_rule(From v) {
  if constexpr (std::is_same_v<To, bool>) {
    return v != 0;
  } else {
    constexpr int bits = static_cast<int>(sizeof(To) * CHAR_BIT);
    uint64_t u = static_cast<uint64_t>(v);  // sign-extended: modular
    if (bits < 64) u &= (uint64_t{1} << bits) - 1;
    if constexpr (std::is_signed_v<To>) {
      if (bits < 64 && u >= (uint64_t{1} << (bits - 1))) {
        return static_cast<To>(static_cast<int64_t>(u) - (int64_t{1} << bits));
      }
    }
    return static_cast<To>(u);
  }
}

// Edge values around every integer type's range, a float type's own
// extremes and random magnitudes from 2^-2 to 2^70 of either sign.
template <class S>
std::vector<S> float_sources(std::mt19937& rng) {
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> v = {
      std::nan(""), -std::nan(""), inf,    -inf,   0.0,   -0.0,  0.5,
      -0.5,         0.999,         -0.999, 1.0,    -1.0,  1.5,   -1.5,
      2.5,          -2.5,          127.9,  -128.9, 255.5, 256.0, -129.0};
  for (int k = 0; k <= 66; ++k) {
    const double p = std::ldexp(1.0, k);
    for (double x : {p, p - 1, p + 1, p - 0.5, p + 0.5}) {
      v.push_back(x);
      v.push_back(-x);
    }
  }
  const double top = to_double(std::numeric_limits<S>::max());
  v.push_back(top);
  v.push_back(-top);
  std::uniform_real_distribution<double> exp2(-2.0, 70.0);
  std::uniform_real_distribution<double> small(-300.0, 300.0);
  for (int i = 0; i < 300; ++i) {
    const double m = std::exp2(exp2(rng));
    v.push_back((rng() & 1) ? m : -m);
    v.push_back(small(rng));
  }
  std::vector<S> out;
  for (double x : v) out.push_back(from_double<S>(x));
  return out;
}

template <class T>
std::vector<T> integer_sources(std::mt19937& rng) {
  using L = std::numeric_limits<T>;
  std::vector<T> v = {L::min(),
                      L::max(),
                      T(0),
                      T(1),
                      static_cast<T>(-1),
                      static_cast<T>(L::min() + 1),
                      static_cast<T>(L::max() - 1)};
  // Every type's boundary values, as T (modulo, when they do not fit).
  for (int k = 0; k < 64; ++k) {
    for (uint64_t x :
         {uint64_t{1} << k, (uint64_t{1} << k) - 1, (uint64_t{1} << k) + 1}) {
      v.push_back(static_cast<T>(x));
      v.push_back(static_cast<T>(uint64_t{0} - x));
    }
  }
  std::uniform_int_distribution<uint64_t> bits;
  for (int i = 0; i < 300; ++i) v.push_back(static_cast<T>(bits(rng)));
  return v;
}

// astype of `src` to To, contiguous and through a reversed view (the
// strided kernel), element by element against `rule`.
template <class To, class S, class Rule>
void expect_cast(const std::vector<S>& v, Rule rule) {
  const int n = static_cast<int>(v.size());
  const array src = to_array(v);
  const array rev = slice(src, {n - 1}, {INT_MIN}, {-1});
  array flat = astype(src, dtype_of<To>());
  // (astype to the same dtype returns the view itself: read it row-major.)
  array strided = contiguous(astype(rev, dtype_of<To>()));
  eval({flat, strided});
  ASSERT_EQ(flat.dtype(), dtype_of<To>());
  const To* f = flat.data<To>();
  const To* r = strided.data<To>();
  for (int i = 0; i < n; ++i) {
    const To want = rule(v[i]);
    ASSERT_EQ(f[i], want) << "element " << i << " = " << to_double(v[i]);
    ASSERT_EQ(r[n - 1 - i], want) << "reversed, element " << i;
  }
}

}  // namespace

TEST(Cast, FloatsToEveryIntegerAndBoolSendNaNToZeroTruncateAndSaturate) {
  StreamContext ctx{Device(cpu)};
  Seeded s;
  SCOPED_TRACE(s.trace());
  each(Floats{}, [&]<class S>(std::type_identity<S>) {
    SCOPED_TRACE("from " + std::string(dtype_name(dtype_of<S>())));
    const std::vector<S> v = float_sources<S>(s.rng);
    each(IntegersAndBool{}, [&]<class To>(std::type_identity<To>) {
      SCOPED_TRACE("to " + std::string(dtype_name(dtype_of<To>())));
      expect_cast<To>(v, [](S x) { return float_rule<To>(to_double(x)); });
    });
  });
}

// The documented examples, literally.
TEST(Cast, DocumentedFloatToIntegerExamples) {
  StreamContext ctx{Device(cpu)};
  EXPECT_EQ(astype(array(1e10f), int32).item<int32_t>(), INT32_MAX);
  EXPECT_EQ(astype(array(-1.5f), uint8).item<uint8_t>(), 0);
  EXPECT_EQ(astype(array(-1e30), uint64).item<uint64_t>(), 0u);
  EXPECT_EQ(astype(array(2.9), int8).item<int8_t>(), 2);
  EXPECT_EQ(astype(array(-2.9), int8).item<int8_t>(), -2);
  EXPECT_EQ(astype(array(std::nanf("")), int64).item<int64_t>(), 0);
  EXPECT_EQ(astype(array(float16_t(-INFINITY)), int16).item<int16_t>(),
            INT16_MIN);
  EXPECT_EQ(astype(array(bfloat16_t(3e38f)), uint32).item<uint32_t>(),
            UINT32_MAX);
  EXPECT_TRUE(astype(array(std::nan("")), bool_).item<bool>());
  EXPECT_FALSE(astype(array(-0.0f), bool_).item<bool>());
}

TEST(Cast, IntegersToEveryIntegerAndBoolWrapModulo2PowBits) {
  StreamContext ctx{Device(cpu)};
  Seeded s;
  SCOPED_TRACE(s.trace());
  each(Integers{}, [&]<class S>(std::type_identity<S>) {
    SCOPED_TRACE("from " + std::string(dtype_name(dtype_of<S>())));
    const std::vector<S> v = integer_sources<S>(s.rng);
    each(IntegersAndBool{}, [&]<class To>(std::type_identity<To>) {
      SCOPED_TRACE("to " + std::string(dtype_name(dtype_of<To>())));
      expect_cast<To>(v, [](S x) { return integer_rule<To>(x); });
    });
  });
  // Negative to unsigned wraps for integer sources (floats saturate to 0).
  EXPECT_EQ(astype(array(int8_t{-1}), uint8).item<uint8_t>(), 255);
  EXPECT_EQ(astype(array(int32_t{-2}), uint64).item<uint64_t>(),
            UINT64_MAX - 1);
  EXPECT_EQ(astype(array(int64_t{300}), int8).item<int8_t>(), 44);
  EXPECT_EQ(astype(array(uint32_t{0x80000000u}), int32).item<int32_t>(),
            INT32_MIN);
}

TEST(Cast, BoolToEveryIntegerIsZeroOrOne) {
  StreamContext ctx{Device(cpu)};
  Seeded s;
  SCOPED_TRACE(s.trace());
  std::vector<bool> bits;
  for (int i = 0; i < 97; ++i) bits.push_back((s.rng() & 1) != 0);
  std::vector<uint8_t> bytes(bits.begin(), bits.end());
  const array b = astype(to_array(bytes), bool_);
  each(Integers{}, [&]<class To>(std::type_identity<To>) {
    array out = astype(b, dtype_of<To>());
    out.eval();
    for (size_t i = 0; i < bits.size(); ++i) {
      ASSERT_EQ(out.data<To>()[i], To(bits[i] ? 1 : 0)) << i;
    }
  });
}
