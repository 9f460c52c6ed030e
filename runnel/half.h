// 16-bit floating-point value types: IEEE binary16 (float16_t) and bfloat16
// (bfloat16_t). Storage only: arithmetic is done in float and rounded back.
#pragma once

#include <concepts>
#include <cstdint>
#include <iosfwd>
#include <type_traits>

#if defined(__CUDACC__)
#define RUNNEL_HOST_DEVICE __host__ __device__
#else
#define RUNNEL_HOST_DEVICE
#endif

namespace runnel {

namespace detail {

// __builtin_bit_cast rather than std::bit_cast: it is constexpr on GCC,
// Clang, MSVC and nvcc alike, and usable in device code without
// --expt-relaxed-constexpr.
template <class To, class From>
RUNNEL_HOST_DEVICE constexpr To bit_cast(const From& from) {
  static_assert(sizeof(To) == sizeof(From));
  return __builtin_bit_cast(To, from);
}

// Number of bits needed to hold x (0 for 0).
RUNNEL_HOST_DEVICE constexpr int bit_width(uint64_t x) {
  int n = 0;
  for (int s = 32; s > 0; s >>= 1) {
    if (x >> s) {
      x >>= s;
      n += s;
    }
  }
  return n + static_cast<int>(x);
}

// Bit pattern of the 16-bit float with kExp exponent and kMant fraction bits
// nearest to (-1)^neg * sig * 2^exp, ties to even; sig must be nonzero.
// Overflow gives infinity, underflow a subnormal or a signed zero.
template <int kExp, int kMant>
RUNNEL_HOST_DEVICE constexpr uint16_t round_to_bits(bool neg, int exp,
                                                    uint64_t sig) {
  constexpr int kBias = (1 << (kExp - 1)) - 1;
  // Exponent of the smallest subnormal, the finest quantum of the format.
  constexpr int kMinQuantumExp = 1 - kBias - kMant;
  constexpr uint16_t kInf = ((1u << kExp) - 1) << kMant;
  const uint16_t sign = neg ? static_cast<uint16_t>(1u << (kExp + kMant)) : 0;
  const int top = bit_width(sig) - 1;         // sig is in [2^top, 2^(top+1)).
  if (exp + top > kBias) return sign | kInf;  // |value| >= 2^(kBias+1).
  // The quantum keeps kMant bits below the leading one, but is never finer
  // than the subnormal quantum.
  int q_exp = exp + top - kMant;
  if (q_exp < kMinQuantumExp) q_exp = kMinQuantumExp;
  const int shift = q_exp - exp;
  uint64_t q = 0;
  if (shift <= 0) {
    q = sig << -shift;  // Exact: fewer than kMant + 1 significant bits.
  } else if (shift <= 64) {
    q = shift == 64 ? 0 : sig >> shift;
    const uint64_t rem = shift == 64 ? sig : sig & ((uint64_t{1} << shift) - 1);
    const uint64_t half = uint64_t{1} << (shift - 1);
    if (rem > half || (rem == half && (q & 1))) ++q;
  }  // shift > 64: sig < 2^64 <= half a quantum, so it rounds to zero.
  // Valid for subnormals too, and a rounding carry out of the fraction
  // correctly bumps the exponent (to infinity at the top).
  const uint64_t enc =
      (static_cast<uint64_t>(q_exp - kMinQuantumExp) << kMant) + q;
  if (enc >= kInf) return sign | kInf;
  return sign | static_cast<uint16_t>(enc);
}

// Converts an IEEE float or double to the 16-bit format (general path).
// NaNs stay NaN (quieted, sign and top payload bits kept).
template <int kExp, int kMant, class F>
RUNNEL_HOST_DEVICE constexpr uint16_t ieee_to_bits(F f) {
  using U = std::conditional_t<sizeof(F) == 4, uint32_t, uint64_t>;
  constexpr int kSrcMant = sizeof(F) == 4 ? 23 : 52;
  constexpr int kSrcExp = sizeof(F) == 4 ? 8 : 11;
  constexpr int kSrcBias = (1 << (kSrcExp - 1)) - 1;
  constexpr U kFracMask = (U{1} << kSrcMant) - 1;
  constexpr uint16_t kInf = ((1u << kExp) - 1) << kMant;
  const U x = bit_cast<U>(f);
  const bool neg = (x >> (kSrcExp + kSrcMant)) != 0;
  const uint16_t sign = neg ? static_cast<uint16_t>(1u << (kExp + kMant)) : 0;
  const int biased =
      static_cast<int>((x >> kSrcMant) & ((U{1} << kSrcExp) - 1));
  const U frac = x & kFracMask;
  if (biased == (1 << kSrcExp) - 1) {
    if (frac == 0) return sign | kInf;
    const uint16_t payload =
        static_cast<uint16_t>(frac >> (kSrcMant - kMant)) & ((1u << kMant) - 1);
    return sign | kInf | static_cast<uint16_t>(1u << (kMant - 1)) | payload;
  }
  if (biased == 0) {
    if (frac == 0) return sign;
    return round_to_bits<kExp, kMant>(neg, 1 - kSrcBias - kSrcMant, frac);
  }
  return round_to_bits<kExp, kMant>(neg, biased - kSrcBias - kSrcMant,
                                    frac | (U{1} << kSrcMant));
}

// float -> binary16, the hot path: branchy but loop-free bit manipulation.
RUNNEL_HOST_DEVICE constexpr uint16_t float_to_half_bits(float f) {
  const uint32_t x = bit_cast<uint32_t>(f);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  uint32_t ax = x & 0x7fffffffu;
  if (ax >= 0x7f800000u) {  // Inf or NaN.
    if (ax == 0x7f800000u) return sign | 0x7c00u;
    return sign | 0x7e00u | static_cast<uint16_t>((ax >> 13) & 0x3ffu);
  }
  // 65520 is halfway between 65504 (odd, the largest half) and 2^16.
  if (ax >= 0x477ff000u) return sign | 0x7c00u;
  if (ax >= 0x38800000u) {  // Normal half: |f| >= 2^-14.
    ax += 0xfffu + ((ax >> 13) & 1u);
    return sign | static_cast<uint16_t>((ax - (112u << 23)) >> 13);
  }
  // 2^-25 is halfway between 0 (even) and the smallest subnormal 2^-24.
  if (ax <= 0x33000000u) return sign;
  // Subnormal half: round |f| / 2^-24 to an integer.
  const uint32_t sig = (ax & 0x7fffffu) | 0x800000u;
  const uint32_t shift = 126u - (ax >> 23);  // In [14, 24].
  uint32_t q = sig >> shift;
  const uint32_t rem = sig & ((1u << shift) - 1);
  const uint32_t half = 1u << (shift - 1);
  if (rem > half || (rem == half && (q & 1u))) ++q;
  return sign | static_cast<uint16_t>(q);
}

// float -> bfloat16: bfloat16 is the top half of a float, so rounding is one
// add. The carry handles subnormals and overflow to infinity.
RUNNEL_HOST_DEVICE constexpr uint16_t float_to_bfloat16_bits(float f) {
  uint32_t x = bit_cast<uint32_t>(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) {
    return static_cast<uint16_t>((x >> 16) | 0x40u);  // Quiet NaN.
  }
  x += 0x7fffu + ((x >> 16) & 1u);
  return static_cast<uint16_t>(x >> 16);
}

RUNNEL_HOST_DEVICE constexpr float half_bits_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t mant = h & 0x3ffu;
  if (exp == 0x1f) return bit_cast<float>(sign | 0x7f800000u | (mant << 13));
  if (exp == 0) {
    // Subnormal: mant * 2^-24, exact in float (and a normal float).
    const float v = static_cast<float>(mant) * 5.9604644775390625e-8f;
    return sign ? -v : v;
  }
  return bit_cast<float>(sign | ((exp + 112u) << 23) | (mant << 13));
}

RUNNEL_HOST_DEVICE constexpr float bfloat16_bits_to_float(uint16_t b) {
  return bit_cast<float>(static_cast<uint32_t>(b) << 16);
}

// Integers, float and double: the types a 16-bit float converts from.
template <class T>
concept HalfSource =
    std::is_integral_v<T> || std::same_as<T, float> || std::same_as<T, double>;

// Any value -> the 16-bit format, rounded once (never via an intermediate
// rounding to float, which could double-round).
template <int kExp, int kMant, HalfSource T>
RUNNEL_HOST_DEVICE constexpr uint16_t to_bits(T v) {
  if constexpr (std::same_as<T, float> && kExp == 5 && kMant == 10) {
    return float_to_half_bits(v);
  } else if constexpr (std::same_as<T, float> && kExp == 8 && kMant == 7) {
    return float_to_bfloat16_bits(v);
  } else if constexpr (std::is_floating_point_v<T>) {
    return ieee_to_bits<kExp, kMant>(v);
  } else if constexpr (sizeof(T) <= 2) {
    return ieee_to_bits<kExp, kMant>(static_cast<float>(v));  // Exact.
  } else {
    if (v == 0) return 0;
    uint64_t mag = static_cast<uint64_t>(v);
    bool neg = false;
    if constexpr (std::is_signed_v<T>) {
      neg = v < 0;
      if (neg) mag = uint64_t{0} - mag;
    }
    return round_to_bits<kExp, kMant>(neg, 0, mag);
  }
}

}  // namespace detail

// IEEE 754 binary16: 1 sign, 5 exponent, 10 fraction bits.
struct float16_t {
  uint16_t bits;

  float16_t() = default;
  // Rounds to nearest, ties to even.
  template <detail::HalfSource T>
  RUNNEL_HOST_DEVICE constexpr float16_t(T v)  // NOLINT: implicit by design.
      : bits(detail::to_bits<5, 10>(v)) {}
  RUNNEL_HOST_DEVICE static constexpr float16_t from_bits(uint16_t b) {
    float16_t h;
    h.bits = b;
    return h;
  }
  // Exact.
  RUNNEL_HOST_DEVICE constexpr operator float() const {  // NOLINT
    return detail::half_bits_to_float(bits);
  }
};

// bfloat16: 1 sign, 8 exponent, 7 fraction bits (the top half of a float).
struct bfloat16_t {
  uint16_t bits;

  bfloat16_t() = default;
  // Rounds to nearest, ties to even.
  template <detail::HalfSource T>
  RUNNEL_HOST_DEVICE constexpr bfloat16_t(T v)  // NOLINT: implicit by design.
      : bits(detail::to_bits<8, 7>(v)) {}
  RUNNEL_HOST_DEVICE static constexpr bfloat16_t from_bits(uint16_t b) {
    bfloat16_t h;
    h.bits = b;
    return h;
  }
  // Exact.
  RUNNEL_HOST_DEVICE constexpr operator float() const {  // NOLINT
    return detail::bfloat16_bits_to_float(bits);
  }
};

// The operators below are templates so that overload resolution never weighs
// them against the built-in float operators through the implicit conversions:
// h + h stays 16-bit, h + 1.0f is float, h + 1.0 is double, h + 2 (any
// integer) stays 16-bit, and float16_t + bfloat16_t is float.
template <class T>
concept Half16 = std::same_as<T, float16_t> || std::same_as<T, bfloat16_t>;

namespace detail {
template <class T>
concept Arithmetic = std::is_arithmetic_v<T>;

// Type a 16-bit float H computes in with T, and the type of the result.
template <class H, class T>
using ComputeType = std::conditional_t<std::is_integral_v<T>, float,
                                       std::common_type_t<float, T>>;
template <class H, class T>
using ResultType =
    std::conditional_t<std::is_integral_v<T>, H, std::common_type_t<float, T>>;
}  // namespace detail

template <Half16 H>
RUNNEL_HOST_DEVICE constexpr H operator+(H a) {
  return a;
}
// Flips the sign bit: exact, and keeps NaN payloads.
template <Half16 H>
RUNNEL_HOST_DEVICE constexpr H operator-(H a) {
  return H::from_bits(static_cast<uint16_t>(a.bits ^ 0x8000u));
}

template <Half16 H>
RUNNEL_HOST_DEVICE constexpr H operator+(H a, H b) {
  return H(static_cast<float>(a) + static_cast<float>(b));
}
template <Half16 H>
RUNNEL_HOST_DEVICE constexpr H operator-(H a, H b) {
  return H(static_cast<float>(a) - static_cast<float>(b));
}
template <Half16 H>
RUNNEL_HOST_DEVICE constexpr H operator*(H a, H b) {
  return H(static_cast<float>(a) * static_cast<float>(b));
}
template <Half16 H>
RUNNEL_HOST_DEVICE constexpr H operator/(H a, H b) {
  return H(static_cast<float>(a) / static_cast<float>(b));
}

template <Half16 H, detail::Arithmetic T>
RUNNEL_HOST_DEVICE constexpr detail::ResultType<H, T> operator+(H a, T b) {
  using C = detail::ComputeType<H, T>;
  return detail::ResultType<H, T>(static_cast<C>(a) + static_cast<C>(b));
}
template <Half16 H, detail::Arithmetic T>
RUNNEL_HOST_DEVICE constexpr detail::ResultType<H, T> operator+(T a, H b) {
  using C = detail::ComputeType<H, T>;
  return detail::ResultType<H, T>(static_cast<C>(a) + static_cast<C>(b));
}
template <Half16 H, detail::Arithmetic T>
RUNNEL_HOST_DEVICE constexpr detail::ResultType<H, T> operator-(H a, T b) {
  using C = detail::ComputeType<H, T>;
  return detail::ResultType<H, T>(static_cast<C>(a) - static_cast<C>(b));
}
template <Half16 H, detail::Arithmetic T>
RUNNEL_HOST_DEVICE constexpr detail::ResultType<H, T> operator-(T a, H b) {
  using C = detail::ComputeType<H, T>;
  return detail::ResultType<H, T>(static_cast<C>(a) - static_cast<C>(b));
}
template <Half16 H, detail::Arithmetic T>
RUNNEL_HOST_DEVICE constexpr detail::ResultType<H, T> operator*(H a, T b) {
  using C = detail::ComputeType<H, T>;
  return detail::ResultType<H, T>(static_cast<C>(a) * static_cast<C>(b));
}
template <Half16 H, detail::Arithmetic T>
RUNNEL_HOST_DEVICE constexpr detail::ResultType<H, T> operator*(T a, H b) {
  using C = detail::ComputeType<H, T>;
  return detail::ResultType<H, T>(static_cast<C>(a) * static_cast<C>(b));
}
template <Half16 H, detail::Arithmetic T>
RUNNEL_HOST_DEVICE constexpr detail::ResultType<H, T> operator/(H a, T b) {
  using C = detail::ComputeType<H, T>;
  return detail::ResultType<H, T>(static_cast<C>(a) / static_cast<C>(b));
}
template <Half16 H, detail::Arithmetic T>
RUNNEL_HOST_DEVICE constexpr detail::ResultType<H, T> operator/(T a, H b) {
  using C = detail::ComputeType<H, T>;
  return detail::ResultType<H, T>(static_cast<C>(a) / static_cast<C>(b));
}

// Compound assignment: computes a op b as above, then rounds once into a.
template <Half16 H, class T>
RUNNEL_HOST_DEVICE constexpr H& operator+=(H& a, T b) {
  return a = H(a + b);
}
template <Half16 H, class T>
RUNNEL_HOST_DEVICE constexpr H& operator-=(H& a, T b) {
  return a = H(a - b);
}
template <Half16 H, class T>
RUNNEL_HOST_DEVICE constexpr H& operator*=(H& a, T b) {
  return a = H(a * b);
}
template <Half16 H, class T>
RUNNEL_HOST_DEVICE constexpr H& operator/=(H& a, T b) {
  return a = H(a / b);
}

// Comparisons follow IEEE (NaN compares unequal to everything, -0 == +0).
template <Half16 H>
RUNNEL_HOST_DEVICE constexpr bool operator==(H a, H b) {
  return static_cast<float>(a) == static_cast<float>(b);
}
template <Half16 H>
RUNNEL_HOST_DEVICE constexpr bool operator<(H a, H b) {
  return static_cast<float>(a) < static_cast<float>(b);
}
template <Half16 H>
RUNNEL_HOST_DEVICE constexpr bool operator<=(H a, H b) {
  return static_cast<float>(a) <= static_cast<float>(b);
}
template <Half16 H>
RUNNEL_HOST_DEVICE constexpr bool operator>(H a, H b) {
  return static_cast<float>(a) > static_cast<float>(b);
}
template <Half16 H>
RUNNEL_HOST_DEVICE constexpr bool operator>=(H a, H b) {
  return static_cast<float>(a) >= static_cast<float>(b);
}

template <Half16 H, detail::Arithmetic T>
RUNNEL_HOST_DEVICE constexpr bool operator==(H a, T b) {
  using C = detail::ComputeType<H, T>;
  return static_cast<C>(a) == static_cast<C>(b);
}
template <Half16 H, detail::Arithmetic T>
RUNNEL_HOST_DEVICE constexpr bool operator<(H a, T b) {
  using C = detail::ComputeType<H, T>;
  return static_cast<C>(a) < static_cast<C>(b);
}
template <Half16 H, detail::Arithmetic T>
RUNNEL_HOST_DEVICE constexpr bool operator<(T a, H b) {
  using C = detail::ComputeType<H, T>;
  return static_cast<C>(a) < static_cast<C>(b);
}
template <Half16 H, detail::Arithmetic T>
RUNNEL_HOST_DEVICE constexpr bool operator<=(H a, T b) {
  using C = detail::ComputeType<H, T>;
  return static_cast<C>(a) <= static_cast<C>(b);
}
template <Half16 H, detail::Arithmetic T>
RUNNEL_HOST_DEVICE constexpr bool operator<=(T a, H b) {
  using C = detail::ComputeType<H, T>;
  return static_cast<C>(a) <= static_cast<C>(b);
}
template <Half16 H, detail::Arithmetic T>
RUNNEL_HOST_DEVICE constexpr bool operator>(H a, T b) {
  return b < a;
}
template <Half16 H, detail::Arithmetic T>
RUNNEL_HOST_DEVICE constexpr bool operator>(T a, H b) {
  return b < a;
}
template <Half16 H, detail::Arithmetic T>
RUNNEL_HOST_DEVICE constexpr bool operator>=(H a, T b) {
  return b <= a;
}
template <Half16 H, detail::Arithmetic T>
RUNNEL_HOST_DEVICE constexpr bool operator>=(T a, H b) {
  return b <= a;
}

// Prints the value as a float would print.
std::ostream& operator<<(std::ostream& os, float16_t h);
std::ostream& operator<<(std::ostream& os, bfloat16_t h);

}  // namespace runnel
