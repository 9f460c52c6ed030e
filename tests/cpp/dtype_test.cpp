#include "runnel/dtype.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace runnel {
namespace {

constexpr Dtype kAll[kNumDtypes] = {
    bool_, uint8, uint16,  uint32,   uint64,  int8,    int16,
    int32, int64, float16, bfloat16, float32, float64,
};

// ---------------------------------------------------------------- basics

TEST(Dtype, SizesMatchTheCppTypes) {
  for (Dtype d : kAll) {
    const size_t size = dispatch_dtype(
        d, []<class T>(std::type_identity<T>) { return sizeof(T); });
    EXPECT_EQ(size_of(d), size) << d;
  }
  static_assert(size_of(float16) == 2 && size_of(bfloat16) == 2);
  static_assert(size_of(bool_) == 1 && size_of(float64) == 8);
  static_assert(sizeof(float16_t) == 2 && sizeof(bfloat16_t) == 2);
  static_assert(std::is_trivially_copyable_v<float16_t>);
  static_assert(std::is_trivially_copyable_v<bfloat16_t>);
  static_assert(std::is_standard_layout_v<float16_t>);
}

TEST(Dtype, NamesAndPrinting) {
  const char* expected[kNumDtypes] = {
      "bool",  "uint8", "uint16",  "uint32",   "uint64",  "int8",    "int16",
      "int32", "int64", "float16", "bfloat16", "float32", "float64",
  };
  for (int i = 0; i < kNumDtypes; ++i) {
    EXPECT_EQ(dtype_name(kAll[i]), expected[i]);
    std::ostringstream os;
    os << kAll[i];
    EXPECT_EQ(os.str(), expected[i]);
  }
}

TEST(Dtype, ConstantsAreTheEnumeratorsInOrder) {
  for (int i = 0; i < kNumDtypes; ++i) {
    EXPECT_EQ(static_cast<int>(kAll[i]), i);
  }
  static_assert(float32 == Dtype::float32 && bool_ == Dtype::bool_);
}

TEST(Dtype, InvalidDtypeThrowsNamingTheFunction) {
  const Dtype bad = static_cast<Dtype>(kNumDtypes);
  try {
    dtype_name(bad);
    FAIL() << "no throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "[dtype_name] Invalid dtype 13.");
  }
  EXPECT_THROW(promote_types(bad, float32), std::invalid_argument);
  EXPECT_THROW(
      dispatch_dtype(bad, []<class T>(std::type_identity<T>) { return 0; }),
      std::invalid_argument);
}

TEST(Dtype, CategoryPredicatesPartitionTheDtypes) {
  for (Dtype d : kAll) {
    const int kinds = is_bool(d) + is_integral(d) + is_floating_point(d);
    EXPECT_EQ(kinds, 1) << d;
    EXPECT_EQ(is_integral(d), is_signed_integer(d) || is_unsigned_integer(d));
    EXPECT_FALSE(is_signed_integer(d) && is_unsigned_integer(d));
    dispatch_dtype(d, [&]<class T>(std::type_identity<T>) {
      EXPECT_EQ(is_bool(d), (std::is_same_v<T, bool>));
      EXPECT_EQ(is_signed_integer(d),
                (std::is_integral_v<T> && std::is_signed_v<T>));
      EXPECT_EQ(is_unsigned_integer(d),
                (std::is_integral_v<T> && std::is_unsigned_v<T> &&
                 !std::is_same_v<T, bool>));
    });
  }
  EXPECT_TRUE(is_floating_point(bfloat16));
  EXPECT_FALSE(is_integral(bool_));
}

// -------------------------------------------------------- dtype_of, dispatch

TEST(Dtype, DtypeOfMapsEveryElementType) {
  static_assert(dtype_of<bool>() == bool_);
  static_assert(dtype_of<uint8_t>() == uint8);
  static_assert(dtype_of<uint16_t>() == uint16);
  static_assert(dtype_of<uint32_t>() == uint32);
  static_assert(dtype_of<uint64_t>() == uint64);
  static_assert(dtype_of<int8_t>() == int8);
  static_assert(dtype_of<int16_t>() == int16);
  static_assert(dtype_of<int32_t>() == int32);
  static_assert(dtype_of<int64_t>() == int64);
  static_assert(dtype_of<float16_t>() == float16);
  static_assert(dtype_of<bfloat16_t>() == bfloat16);
  static_assert(dtype_of<float>() == float32);
  static_assert(dtype_of<double>() == float64);
  static_assert(dtype_of<dtype_type_t<bfloat16>>() == bfloat16);
}

TEST(Dtype, DtypeOfMapsIntegerTypesByWidthAndIgnoresCv) {
  static_assert(dtype_of<long long>() == int64);
  static_assert(dtype_of<unsigned long long>() == uint64);
  static_assert(dtype_of<long>() == (sizeof(long) == 8 ? int64 : int32));
  static_assert(dtype_of<size_t>() == (sizeof(size_t) == 8 ? uint64 : uint32));
  static_assert(dtype_of<const float>() == float32);
  static_assert(dtype_of<const volatile int16_t>() == int16);
}

TEST(Dtype, DispatchReachesTheTypeOfEveryDtype) {
  for (Dtype d : kAll) {
    const Dtype reached = dispatch_dtype(
        d, []<class T>(std::type_identity<T>) { return dtype_of<T>(); });
    EXPECT_EQ(reached, d);
  }
  // Each case is reached exactly once over all dtypes.
  std::set<std::string> names;
  for (Dtype d : kAll) {
    dispatch_dtype(d, [&]<class T>(std::type_identity<T>) {
      names.insert(typeid(T).name());
    });
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(kNumDtypes));
}

// Tells how it was called.
struct RefQualifiedCall {
  int operator()(auto) && { return 1; }
  int operator()(auto) & { return 2; }
};

TEST(Dtype, DispatchForwardsReferencesAndTheCallable) {
  int counter = 0;
  int& ref = dispatch_dtype(
      int32, [&]<class T>(std::type_identity<T>) -> int& { return counter; });
  ref = 7;
  EXPECT_EQ(counter, 7);
  EXPECT_EQ(dispatch_dtype(float16, RefQualifiedCall{}), 1);
  RefQualifiedCall lvalue;
  EXPECT_EQ(dispatch_dtype(float16, lvalue), 2);
}

// --------------------------------------------------------------- promotion

constexpr Dtype b = bool_, u8 = uint8, u16 = uint16, u32 = uint32, u64 = uint64,
                i8 = int8, i16 = int16, i32 = int32, i64 = int64, f16 = float16,
                bf = bfloat16, f32 = float32, f64 = float64;

// The table in docs/dtypes.md.
// clang-format off
constexpr Dtype kExpected[kNumDtypes][kNumDtypes] = {
//  b    u8   u16  u32  u64  i8   i16  i32  i64  f16  bf   f32  f64
  {b,   u8,  u16, u32, u64, i8,  i16, i32, i64, f16, bf,  f32, f64},  // b
  {u8,  u8,  u16, u32, u64, i16, i16, i32, i64, f16, bf,  f32, f64},  // u8
  {u16, u16, u16, u32, u64, i32, i32, i32, i64, f16, bf,  f32, f64},  // u16
  {u32, u32, u32, u32, u64, i64, i64, i64, i64, f16, bf,  f32, f64},  // u32
  {u64, u64, u64, u64, u64, f32, f32, f32, f32, f16, bf,  f32, f64},  // u64
  {i8,  i16, i32, i64, f32, i8,  i16, i32, i64, f16, bf,  f32, f64},  // i8
  {i16, i16, i32, i64, f32, i16, i16, i32, i64, f16, bf,  f32, f64},  // i16
  {i32, i32, i32, i64, f32, i32, i32, i32, i64, f16, bf,  f32, f64},  // i32
  {i64, i64, i64, i64, f32, i64, i64, i64, i64, f16, bf,  f32, f64},  // i64
  {f16, f16, f16, f16, f16, f16, f16, f16, f16, f16, f32, f32, f64},  // f16
  {bf,  bf,  bf,  bf,  bf,  bf,  bf,  bf,  bf,  f32, bf,  f32, f64},  // bf
  {f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f64},  // f32
  {f64, f64, f64, f64, f64, f64, f64, f64, f64, f64, f64, f64, f64},  // f64
};

// numpy.promote_types for the dtypes numpy has (bfloat16 excluded).
constexpr Dtype kNumpy[kNumDtypes][kNumDtypes] = {
//  b    u8   u16  u32  u64  i8   i16  i32  i64  f16  bf   f32  f64
  {b,   u8,  u16, u32, u64, i8,  i16, i32, i64, f16, bf,  f32, f64},  // b
  {u8,  u8,  u16, u32, u64, i16, i16, i32, i64, f16, bf,  f32, f64},  // u8
  {u16, u16, u16, u32, u64, i32, i32, i32, i64, f32, bf,  f32, f64},  // u16
  {u32, u32, u32, u32, u64, i64, i64, i64, i64, f64, bf,  f64, f64},  // u32
  {u64, u64, u64, u64, u64, f64, f64, f64, f64, f64, bf,  f64, f64},  // u64
  {i8,  i16, i32, i64, f64, i8,  i16, i32, i64, f16, bf,  f32, f64},  // i8
  {i16, i16, i32, i64, f64, i16, i16, i32, i64, f32, bf,  f32, f64},  // i16
  {i32, i32, i32, i64, f64, i32, i32, i32, i64, f64, bf,  f64, f64},  // i32
  {i64, i64, i64, i64, f64, i64, i64, i64, i64, f64, bf,  f64, f64},  // i64
  {f16, f16, f32, f64, f64, f16, f32, f64, f64, f16, bf,  f32, f64},  // f16
  {bf,  bf,  bf,  bf,  bf,  bf,  bf,  bf,  bf,  bf,  bf,  bf,  bf },  // bf
  {f32, f32, f32, f64, f64, f32, f32, f64, f64, f32, bf,  f32, f64},  // f32
  {f64, f64, f64, f64, f64, f64, f64, f64, f64, f64, bf,  f64, f64},  // f64
};
// clang-format on

TEST(Promotion, MatchesTheDocumentedTableForEveryPair) {
  for (int i = 0; i < kNumDtypes; ++i) {
    for (int j = 0; j < kNumDtypes; ++j) {
      EXPECT_EQ(promote_types(kAll[i], kAll[j]), kExpected[i][j])
          << kAll[i] << " with " << kAll[j];
    }
  }
}

TEST(Promotion, IsSymmetric) {
  for (Dtype a : kAll) {
    for (Dtype c : kAll) {
      EXPECT_EQ(promote_types(a, c), promote_types(c, a)) << a << ", " << c;
    }
  }
}

TEST(Promotion, OfADtypeWithItselfIsItself) {
  for (Dtype d : kAll) EXPECT_EQ(promote_types(d, d), d);
}

TEST(Promotion, BoolGivesTheOtherDtype) {
  for (Dtype d : kAll) EXPECT_EQ(promote_types(bool_, d), d);
}

TEST(Promotion, Float64WinsOverEverything) {
  for (Dtype d : kAll) EXPECT_EQ(promote_types(float64, d), float64);
}

TEST(Promotion, KeepsTheKindOfEachSide) {
  for (Dtype a : kAll) {
    for (Dtype c : kAll) {
      const Dtype r = promote_types(a, c);
      if (is_floating_point(a) || is_floating_point(c)) {
        EXPECT_TRUE(is_floating_point(r)) << a << ", " << c;
      }
      if (is_floating_point(a) && is_floating_point(c)) {
        EXPECT_GE(size_of(r), std::max(size_of(a), size_of(c)));
      }
      if (is_integral(a) && is_integral(c) && is_integral(r)) {
        EXPECT_GE(size_of(r), std::max(size_of(a), size_of(c)));
        EXPECT_EQ(is_signed_integer(r),
                  is_signed_integer(a) || is_signed_integer(c));
      }
    }
  }
}

// The pairs where we follow MLX rather than numpy, as docs/dtypes.md lists
// them: uint64 with a signed integer, integers with float16 or float32.
bool FollowsMlxNotNumpy(Dtype a, Dtype c) {
  if (is_signed_integer(a) && is_unsigned_integer(c)) std::swap(a, c);
  if (a == uint64 && is_signed_integer(c)) return true;
  if (is_floating_point(a)) std::swap(a, c);
  if (!is_integral(a)) return false;
  if (c == float16) return size_of(a) >= 2;
  if (c == float32) return size_of(a) >= 4;
  return false;
}

TEST(Promotion, MatchesNumpyExceptTheDocumentedMlxRules) {
  int differences = 0;
  for (int i = 0; i < kNumDtypes; ++i) {
    for (int j = 0; j < kNumDtypes; ++j) {
      if (kAll[i] == bfloat16 || kAll[j] == bfloat16) continue;
      const bool same = promote_types(kAll[i], kAll[j]) == kNumpy[i][j];
      EXPECT_EQ(same, !FollowsMlxNotNumpy(kAll[i], kAll[j]))
          << kAll[i] << " with " << kAll[j];
      differences += !same;
    }
  }
  EXPECT_EQ(differences, 2 * (4 + 6 + 4));  // u64 x int, f16 x int, f32 x int
}

TEST(Promotion, IsNotAssociative) {
  // Documented: n-ary ops must promote in a fixed order.
  EXPECT_EQ(promote_types(promote_types(uint64, int8), float16), float32);
  EXPECT_EQ(promote_types(uint64, promote_types(int8, float16)), float16);
}

// ----------------------------------------------- 16-bit float conversions

struct Format {
  int exp_bits;
  int mant_bits;
  uint16_t sign_bit() const { return uint16_t(1u << (exp_bits + mant_bits)); }
  uint16_t inf_bits() const {
    return uint16_t(((1u << exp_bits) - 1) << mant_bits);
  }
  int bias() const { return (1 << (exp_bits - 1)) - 1; }
  bool is_nan(uint16_t bits) const {
    return (bits & inf_bits()) == inf_bits() &&
           (bits & ((1u << mant_bits) - 1)) != 0;
  }
  // The value of a bit pattern, from the IEEE definition, in double.
  double decode(uint16_t bits) const {
    const int e = (bits >> mant_bits) & ((1 << exp_bits) - 1);
    const int m = bits & ((1 << mant_bits) - 1);
    const double sign = (bits & sign_bit()) ? -1.0 : 1.0;
    if (e == (1 << exp_bits) - 1) {
      return m ? std::numeric_limits<double>::quiet_NaN()
               : sign * std::numeric_limits<double>::infinity();
    }
    if (e == 0) return sign * std::ldexp(m, 1 - bias() - mant_bits);
    return sign * std::ldexp((1 << mant_bits) + m, e - bias() - mant_bits);
  }
};
constexpr Format kHalf{5, 10};
constexpr Format kBf16{8, 7};

// Rounds x to the format by searching the sorted list of its values: an
// implementation independent of runnel's bit manipulation.
class ReferenceRounder {
 public:
  explicit ReferenceRounder(Format f) : f_(f) {
    // values_[bits] for every non-negative finite pattern, then 2^(emax+1),
    // the value that IEEE rounding treats as the next one after the largest
    // finite (rounding to it means overflow to infinity).
    for (uint32_t bits = 0; bits < f.inf_bits(); ++bits) {
      values_.push_back(f.decode(static_cast<uint16_t>(bits)));
    }
    values_.push_back(std::ldexp(1.0, f.bias() + 1));
  }

  // Nearest pattern to x, ties to even; NaN is the caller's to check.
  uint16_t operator()(double x) const {
    const uint16_t sign = std::signbit(x) ? f_.sign_bit() : 0;
    const double a = std::fabs(x);
    if (a >= values_.back()) return sign | f_.inf_bits();
    const size_t hi = static_cast<size_t>(
        std::upper_bound(values_.begin(), values_.end(), a) - values_.begin());
    const size_t lo = hi - 1;
    // Both differences are exact in double for float and double inputs.
    const double d_lo = a - values_[lo];
    const double d_hi = values_[hi] - a;
    size_t pick = d_lo < d_hi ? lo : d_hi < d_lo ? hi : (lo % 2 == 0 ? lo : hi);
    return static_cast<uint16_t>(sign | pick);
  }

  const std::vector<double>& values() const { return values_; }

 private:
  Format f_;
  std::vector<double> values_;
};

float FloatFromBits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

template <class H>
constexpr Format FormatOf() {
  return std::is_same_v<H, float16_t> ? kHalf : kBf16;
}

template <class H>
class HalfTypes : public ::testing::Test {};
using HalfTypeList = ::testing::Types<float16_t, bfloat16_t>;
class HalfTypeNames {
 public:
  template <class T>
  static std::string GetName(int) {
    return std::is_same_v<T, float16_t> ? "float16" : "bfloat16";
  }
};
TYPED_TEST_SUITE(HalfTypes, HalfTypeList, HalfTypeNames);

TYPED_TEST(HalfTypes, ToFloatIsExactForAllBitPatterns) {
  using H = TypeParam;
  const Format f = FormatOf<H>();
  for (uint32_t bits = 0; bits <= 0xffff; ++bits) {
    const auto h = static_cast<uint16_t>(bits);
    const float v = H::from_bits(h);
    const double expected = f.decode(h);
    if (f.is_nan(h)) {
      EXPECT_TRUE(std::isnan(v)) << std::hex << bits;
      EXPECT_EQ(std::signbit(v), (h & f.sign_bit()) != 0);
    } else {
      EXPECT_EQ(static_cast<double>(v), expected) << std::hex << bits;
      EXPECT_EQ(std::signbit(v), std::signbit(expected)) << std::hex << bits;
    }
  }
}

TYPED_TEST(HalfTypes, RoundTripsAllBitPatternsThroughFloatAndDouble) {
  using H = TypeParam;
  const Format f = FormatOf<H>();
  for (uint32_t bits = 0; bits <= 0xffff; ++bits) {
    const auto h = static_cast<uint16_t>(bits);
    const float v = H::from_bits(h);
    const H from_float(v);
    const H from_double(static_cast<double>(v));
    if (f.is_nan(h)) {
      // NaN payloads may be quieted; NaN and its sign stay.
      EXPECT_TRUE(f.is_nan(from_float.bits)) << std::hex << bits;
      EXPECT_TRUE(f.is_nan(from_double.bits)) << std::hex << bits;
      EXPECT_EQ(from_float.bits & f.sign_bit(), h & f.sign_bit());
      EXPECT_EQ(from_double.bits & f.sign_bit(), h & f.sign_bit());
    } else {
      EXPECT_EQ(from_float.bits, h) << std::hex << bits;
      EXPECT_EQ(from_double.bits, h) << std::hex << bits;
    }
  }
}

// Checks H(x) against the reference for one float or double x.
template <class H, class F>
::testing::AssertionResult RoundsLikeReference(const ReferenceRounder& ref,
                                               F x) {
  const Format f = FormatOf<H>();
  const uint16_t got = H(x).bits;
  if (std::isnan(x)) {
    if (f.is_nan(got) && ((got & f.sign_bit()) != 0) == std::signbit(x)) {
      return ::testing::AssertionSuccess();
    }
  } else if (got == ref(static_cast<double>(x))) {
    return ::testing::AssertionSuccess();
  }
  std::ostringstream os;
  os.precision(17);
  os << x << " gave 0x" << std::hex << got << ", reference 0x"
     << (std::isnan(x) ? 0 : ref(static_cast<double>(x)));
  return ::testing::AssertionFailure() << os.str();
}

TYPED_TEST(HalfTypes, FromFloatRoundsToNearestEven) {
  using H = TypeParam;
  const ReferenceRounder ref(FormatOf<H>());
  const std::vector<double>& values = ref.values();
  std::mt19937 rng(20261125);
  int checked = 0;
  auto check = [&](float x) {
    EXPECT_TRUE(RoundsLikeReference<H>(ref, x));
    EXPECT_TRUE(RoundsLikeReference<H>(ref, -x));
    checked += 2;
  };

  // Every exact tie between neighbours (including the one between the
  // largest finite value and overflow), the float on either side of it, and
  // each value itself; the ties are exact in float.
  for (size_t i = 0; i + 1 < values.size(); ++i) {
    const auto mid = static_cast<float>((values[i] + values[i + 1]) / 2);
    ASSERT_EQ(static_cast<double>(mid), (values[i] + values[i + 1]) / 2);
    check(mid);
    check(std::nextafter(mid, 0.0f));
    check(std::nextafter(mid, std::numeric_limits<float>::infinity()));
    check(static_cast<float>(values[i]));
  }
  // Random bit patterns: every exponent, NaNs with any payload, infinities,
  // float subnormals.
  for (int i = 0; i < 2'000'000; ++i) check(FloatFromBits(rng()));
  // Random floats in and around the 16-bit subnormal range and near overflow.
  std::uniform_real_distribution<float> unit(1.0f, 2.0f);
  const int lo_exp = 1 - FormatOf<H>().bias() - FormatOf<H>().mant_bits - 3;
  for (int e = lo_exp; e < lo_exp + 20; ++e) {
    for (int i = 0; i < 20'000; ++i) check(std::ldexp(unit(rng), e));
  }
  for (int i = 0; i < 100'000; ++i) {
    check(static_cast<float>(values.back()) * unit(rng) / 2.0f);
  }
  // Specials.
  const float inf = std::numeric_limits<float>::infinity();
  for (float x : {0.0f, inf, std::numeric_limits<float>::max(),
                  std::numeric_limits<float>::min(),
                  std::numeric_limits<float>::denorm_min(),
                  std::numeric_limits<float>::quiet_NaN(),
                  std::numeric_limits<float>::signaling_NaN(),
                  FloatFromBits(0x7f800001u), FloatFromBits(0x7fffffffu)}) {
    check(x);
  }
  EXPECT_GT(checked, 4'000'000);
}

TYPED_TEST(HalfTypes, FromDoubleRoundsOnceNotViaFloat) {
  using H = TypeParam;
  const ReferenceRounder ref(FormatOf<H>());
  const std::vector<double>& values = ref.values();
  // Just off each tie: rounding to float first would land on the tie and then
  // round to even, the wrong way for half of these.
  int via_float_differs = 0;
  for (size_t i = 0; i + 1 < values.size(); ++i) {
    const double mid = (values[i] + values[i + 1]) / 2;
    for (double x : {std::nextafter(mid, 0.0), mid,
                     std::nextafter(mid, values[i + 1]), values[i]}) {
      EXPECT_TRUE(RoundsLikeReference<H>(ref, x));
      EXPECT_TRUE(RoundsLikeReference<H>(ref, -x));
      via_float_differs += H(x).bits != H(static_cast<float>(x)).bits;
    }
  }
  EXPECT_GT(via_float_differs, 1000);
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> unit(1.0, 2.0);
  for (int e = -160; e < 140; ++e) {
    for (int i = 0; i < 2000; ++i) {
      EXPECT_TRUE(RoundsLikeReference<H>(ref, std::ldexp(unit(rng), e)));
    }
  }
  const double inf = std::numeric_limits<double>::infinity();
  for (double x : {0.0, inf, std::numeric_limits<double>::max(),
                   std::numeric_limits<double>::denorm_min(),
                   std::numeric_limits<double>::quiet_NaN()}) {
    EXPECT_TRUE(RoundsLikeReference<H>(ref, x));
    EXPECT_TRUE(RoundsLikeReference<H>(ref, -x));
  }
}

TYPED_TEST(HalfTypes, FromIntegersRoundsOnce) {
  using H = TypeParam;
  const ReferenceRounder ref(FormatOf<H>());
  std::mt19937_64 rng(11);
  for (int i = 0; i < 200'000; ++i) {
    const auto v32 = static_cast<int32_t>(rng());
    EXPECT_EQ(H(v32).bits, ref(v32)) << v32;  // int32 is exact in double.
    const auto u32 = static_cast<uint32_t>(rng());
    EXPECT_EQ(H(u32).bits, ref(u32)) << u32;
    // Integers below 2^53 are exact in double.
    const int64_t v53 =
        static_cast<int64_t>(rng() >> (11 + rng() % 50)) * (rng() % 2 ? 1 : -1);
    EXPECT_EQ(H(v53).bits, ref(static_cast<double>(v53))) << v53;
  }
  for (int v = -70000; v <= 70000; ++v) {
    EXPECT_EQ(H(v).bits, ref(v)) << v;
    if (v >= -32768 && v <= 32767) {
      EXPECT_EQ(H(static_cast<int16_t>(v)).bits, ref(v)) << v;
    }
  }
  EXPECT_EQ(H(true).bits, H(1.0f).bits);
  EXPECT_EQ(H(false).bits, 0);
  EXPECT_EQ(H(std::numeric_limits<int8_t>::min()).bits, H(-128.0f).bits);
  EXPECT_EQ(H(std::numeric_limits<uint8_t>::max()).bits, H(255.0f).bits);
}

TEST(Bfloat16, IntegerConversionDoesNotDoubleRound) {
  // 2^25 + 2^17 + 1 rounds up in bfloat16; via float it would become the tie
  // 2^25 + 2^17 and round down to 2^25.
  const int32_t v = (1 << 25) + (1 << 17) + 1;
  EXPECT_EQ(bfloat16_t(v).bits, bfloat16_t(float((1 << 25) + (1 << 18))).bits);
  EXPECT_NE(bfloat16_t(v).bits, bfloat16_t(static_cast<float>(v)).bits);
  // The same with 64-bit integers, where double would be the culprit.
  const int64_t w = (int64_t{1} << 62) + (int64_t{1} << 54) + 1;
  EXPECT_EQ(bfloat16_t(w).bits,
            bfloat16_t(std::ldexp(1.0f, 62) * 1.0078125f).bits);
  EXPECT_EQ(bfloat16_t(-w).bits,
            bfloat16_t(-std::ldexp(1.0f, 62) * 1.0078125f).bits);
  // Extremes.
  EXPECT_EQ(bfloat16_t(std::numeric_limits<int64_t>::min()).bits, 0xdf00);
  EXPECT_EQ(bfloat16_t(std::numeric_limits<uint64_t>::max()).bits, 0x5f80);
  EXPECT_EQ(float16_t(std::numeric_limits<uint64_t>::max()).bits, 0x7c00);
  EXPECT_EQ(float16_t(std::numeric_limits<int64_t>::min()).bits, 0xfc00);
  EXPECT_EQ(float16_t(65519).bits, 0x7bff);
  EXPECT_EQ(float16_t(65520).bits, 0x7c00);  // Tie with 2^16 overflows.
  EXPECT_EQ(float16_t(uint32_t{2049}).bits, float16_t(2048.0f).bits);
  EXPECT_EQ(float16_t(uint64_t{2051}).bits, float16_t(2052.0f).bits);
}

TEST(Float16, KnownValues) {
  EXPECT_EQ(float16_t(1.0f).bits, 0x3c00);
  EXPECT_EQ(float16_t(-2.0f).bits, 0xc000);
  EXPECT_EQ(float16_t(65504.0f).bits, 0x7bff);
  EXPECT_EQ(float16_t(65519.996f).bits, 0x7bff);
  EXPECT_EQ(float16_t(65520.0f).bits, 0x7c00);
  EXPECT_EQ(float16_t(std::ldexp(1.0f, -24)).bits, 0x0001);
  EXPECT_EQ(float16_t(std::ldexp(1.0f, -25)).bits, 0x0000);  // Tie to even.
  EXPECT_EQ(float16_t(std::ldexp(1.5f, -25)).bits, 0x0001);
  EXPECT_EQ(float16_t(std::ldexp(3.0f, -25)).bits, 0x0002);  // Tie to even.
  EXPECT_EQ(float16_t(-0.0f).bits, 0x8000);
  EXPECT_EQ(float16_t(-1e-10f).bits, 0x8000);
  EXPECT_EQ(float16_t(1.0009765625f).bits, 0x3c01);
  EXPECT_EQ(float16_t(1.00048828125f).bits, 0x3c00);  // Tie to even.
  EXPECT_EQ(float16_t(1.00146484375f).bits, 0x3c02);  // Tie to even.
  EXPECT_EQ(float16_t(FloatFromBits(0x7f800001u)).bits, 0x7e00);  // Not inf.
}

TEST(Bfloat16, KnownValues) {
  EXPECT_EQ(bfloat16_t(1.0f).bits, 0x3f80);
  EXPECT_EQ(bfloat16_t(-2.0f).bits, 0xc000);
  EXPECT_EQ(bfloat16_t(std::numeric_limits<float>::max()).bits, 0x7f80);
  EXPECT_EQ(bfloat16_t(FloatFromBits(0x7f7f7fffu)).bits, 0x7f7f);
  EXPECT_EQ(bfloat16_t(FloatFromBits(0x7f7f8000u)).bits, 0x7f80);
  EXPECT_EQ(bfloat16_t(FloatFromBits(0x3f808000u)).bits, 0x3f80);  // Tie.
  EXPECT_EQ(bfloat16_t(FloatFromBits(0x3f818000u)).bits, 0x3f82);  // Tie.
  EXPECT_EQ(bfloat16_t(FloatFromBits(0x00008000u)).bits, 0x0000);
  EXPECT_EQ(bfloat16_t(FloatFromBits(0x00018000u)).bits, 0x0002);
  EXPECT_EQ(bfloat16_t(FloatFromBits(0x7f800001u)).bits, 0x7fc0);  // Not inf.
  EXPECT_EQ(bfloat16_t(FloatFromBits(0xffc00000u)).bits, 0xffc0);
}

TEST(HalfConversions, AreConstexpr) {
  static_assert(float16_t(1.0f).bits == 0x3c00);
  static_assert(float16_t(1.0).bits == 0x3c00);
  static_assert(float16_t(-3).bits == 0xc200);
  static_assert(bfloat16_t(1.0f).bits == 0x3f80);
  static_assert(bfloat16_t(3.0).bits == 0x4040);
  static_assert(bfloat16_t(uint64_t{1} << 40).bits == 0x5380);
  static_assert(static_cast<float>(float16_t::from_bits(0x3555)) ==
                0.333251953125f);
  static_assert(static_cast<float>(float16_t::from_bits(0x0001)) ==
                5.9604644775390625e-8f);
  static_assert(static_cast<float>(bfloat16_t::from_bits(0x3f80)) == 1.0f);
  static_assert((float16_t(1.5f) + float16_t(2.0f)).bits == 0x4300);
  static_assert(float16_t(2.0f) < float16_t(3.0f));
  SUCCEED();
}

// ----------------------------------------------------- 16-bit arithmetic

TYPED_TEST(HalfTypes, ArithmeticComputesInFloatAndRoundsOnce) {
  using H = TypeParam;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-100.0f, 100.0f);
  for (int i = 0; i < 10000; ++i) {
    const H a(dist(rng));
    const H c(dist(rng));
    const float fa = a;
    const float fc = c;
    static_assert(std::is_same_v<decltype(a + c), H>);
    EXPECT_EQ((a + c).bits, H(fa + fc).bits);
    EXPECT_EQ((a - c).bits, H(fa - fc).bits);
    EXPECT_EQ((a * c).bits, H(fa * fc).bits);
    EXPECT_EQ((a / c).bits, H(fa / fc).bits);
    H x = a;
    x += c;
    EXPECT_EQ(x.bits, (a + c).bits);
    x = a;
    x -= c;
    EXPECT_EQ(x.bits, (a - c).bits);
    x = a;
    x *= c;
    EXPECT_EQ(x.bits, (a * c).bits);
    x = a;
    x /= c;
    EXPECT_EQ(x.bits, (a / c).bits);
    EXPECT_EQ(a < c, fa < fc);
    EXPECT_EQ(a <= c, fa <= fc);
    EXPECT_EQ(a > c, fa > fc);
    EXPECT_EQ(a >= c, fa >= fc);
    EXPECT_EQ(a == c, fa == fc);
    EXPECT_EQ(a != c, fa != fc);
  }
}

TYPED_TEST(HalfTypes, MixedArithmeticTakesTheWiderFloatType) {
  using H = TypeParam;
  const H h(1.5f);
  static_assert(std::is_same_v<decltype(h + 1.0f), float>);
  static_assert(std::is_same_v<decltype(2.0f * h), float>);
  static_assert(std::is_same_v<decltype(h - 1.0), double>);
  static_assert(std::is_same_v<decltype(1.0 / h), double>);
  static_assert(std::is_same_v<decltype(h + 1), H>);
  static_assert(std::is_same_v<decltype(int64_t{2} * h), H>);
  static_assert(std::is_same_v<decltype(float16_t() + bfloat16_t()), float>);
  EXPECT_EQ(h + 1.0f, 2.5f);
  EXPECT_EQ(1.0 / h, 1.0 / 1.5);
  EXPECT_EQ((h * 2).bits, H(3.0f).bits);
  EXPECT_EQ((3 - h).bits, H(1.5f).bits);
  EXPECT_EQ(float16_t(1.5f) + bfloat16_t(2.0f), 3.5f);

  // Compound assignment with a wider operand rounds once, from the wide sum.
  H x(1.0f);
  x += 1e-3;
  EXPECT_EQ(x.bits, H(1.0 + 1e-3).bits);
  x = H(2.0f);
  x *= bfloat16_t(3.0f);
  EXPECT_EQ(x.bits, H(6.0f).bits);
  x /= 2;
  EXPECT_EQ(x.bits, H(3.0f).bits);

  EXPECT_TRUE(h == 1.5f);
  EXPECT_TRUE(1.5 == h);
  EXPECT_TRUE(h != 2);
  EXPECT_TRUE(h < 2);
  EXPECT_TRUE(1 < h);
  EXPECT_TRUE(h <= 1.5);
  EXPECT_TRUE(2.0f >= h);
  EXPECT_TRUE(h > 1.25f);
  EXPECT_TRUE(1.75f > h);
}

TYPED_TEST(HalfTypes, ComparisonsFollowIeee) {
  using H = TypeParam;
  const H nan(std::numeric_limits<float>::quiet_NaN());
  const H one(1.0f);
  EXPECT_FALSE(nan == nan);
  EXPECT_TRUE(nan != nan);
  EXPECT_FALSE(nan < one);
  EXPECT_FALSE(nan >= one);
  EXPECT_FALSE(nan == 1.0f);
  EXPECT_TRUE(H(0.0f) == H(-0.0f));
  EXPECT_TRUE(H(-std::numeric_limits<float>::infinity()) < H(-65000.0f));
}

TYPED_TEST(HalfTypes, NegationFlipsTheSignBitOnly) {
  using H = TypeParam;
  for (uint32_t bits = 0; bits <= 0xffff; ++bits) {
    const auto h = H::from_bits(static_cast<uint16_t>(bits));
    EXPECT_EQ((-h).bits, bits ^ 0x8000u);
    EXPECT_EQ((+h).bits, bits);
  }
}

TYPED_TEST(HalfTypes, ValueInitialisesToZero) {
  using H = TypeParam;
  EXPECT_EQ(H{}.bits, 0);
  EXPECT_EQ(H(0).bits, 0);
}

TYPED_TEST(HalfTypes, PrintsItsFloatValue) {
  using H = TypeParam;
  std::ostringstream os;
  os << H(1.5f) << " " << H(-0.25f) << " "
     << H(std::numeric_limits<float>::infinity());
  EXPECT_EQ(os.str(), "1.5 -0.25 inf");
}

}  // namespace
}  // namespace runnel
