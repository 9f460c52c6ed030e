// float32 math written to vectorise: no branches, no calls, no float-to-int
// conversion, so that the compiler turns loops over it into SIMD code under
// the library's plain -O3 flags (std::exp does not vectorise without
// -ffast-math). Bounds are in docs/numerics.md.
#pragma once

#include <cstdint>

#include "runnel/half.h"

namespace runnel::cpu_backend {

// c ? a : b on the bits. A plain ?: between floats can leave a branch
// behind: the compiler moves later arithmetic into both arms, and with
// -ftrapping-math (the default) it may not then merge arms that compute.
inline float select_f32(bool c, float a, float b) {
  using detail::bit_cast;
  const uint32_t m = 0u - static_cast<uint32_t>(c);
  return bit_cast<float>((bit_cast<uint32_t>(a) & m) |
                         (bit_cast<uint32_t>(b) & ~m));
}

// e^x within 1 ulp of the correctly rounded result over the whole float
// range (docs/numerics.md measures every float). NaN stays NaN, results past
// FLT_MAX are inf and those below the subnormals 0.
inline float exp_f32(float x) {
  using detail::bit_cast;
  constexpr float kLog2e = 1.44269504088896341f;
  // ln 2 in two parts: the high one has 16 significant bits, so n * kLn2Hi
  // is exact for the |n| <= 150 that reach here.
  constexpr float kLn2Hi = 0.693145751953125f;
  constexpr float kLn2Lo = 1.428606820309417232e-6f;
  // 1.5 * 2^23: adding it rounds a float of magnitude below 2^22 to an
  // integer, which then sits in the low mantissa bits.
  constexpr float kShifter = 12582912.0f;
  // (e^r - 1 - r) / r^2 on [-ln2/2, ln2/2]: a degree-4 fit of relative error
  // 3.1e-9 (coefficients fitted for runnel with numpy and mpmath).
  constexpr float kC0 = 0x1.fffffcp-2f;
  constexpr float kC1 = 0x1.555492p-3f;
  constexpr float kC2 = 0x1.5558f4p-5f;
  constexpr float kC3 = 0x1.123980p-7f;
  constexpr float kC4 = 0x1.6a20fep-10f;

  // e^-104 rounds to 0 and e^89 to inf; NaN fails both tests and stays.
  x = select_f32(x < -104.0f, -104.0f, x);
  x = select_f32(x > 89.0f, 89.0f, x);
  const float t = x * kLog2e + kShifter;
  const float n = t - kShifter;  // round(x / ln 2)
  // The same integer from the bits (unsigned: no overflow, even for NaN).
  const auto ni = static_cast<int32_t>(bit_cast<uint32_t>(t) -
                                       bit_cast<uint32_t>(kShifter));
  const float r = (x - n * kLn2Hi) - n * kLn2Lo;
  float q = kC4;
  q = q * r + kC3;
  q = q * r + kC2;
  q = q * r + kC1;
  q = q * r + kC0;
  const float p = 1.0f + (r + (r * r) * q);
  // 2^n in two factors, each a normal float, so that results that are
  // subnormal round once and those past the range become inf.
  const int32_t n1 = ni >> 1;
  const int32_t n2 = ni - n1;
  const float s1 = bit_cast<float>(static_cast<uint32_t>(n1 + 127) << 23);
  const float s2 = bit_cast<float>(static_cast<uint32_t>(n2 + 127) << 23);
  return (p * s1) * s2;
}

// 1 / (1 + e^-x) from e = e^-|x|, as scalar::Sigmoid: 1 / (1 + e) for x >= 0,
// e / (1 + e) below, so that neither side overflows (docs/numerics.md has
// the bound).
inline float sigmoid_f32(float x) {
  using detail::bit_cast;
  const float ax = bit_cast<float>(bit_cast<uint32_t>(x) & 0x7fffffffu);
  const float e = exp_f32(-ax);
  return select_f32(x >= 0.0f, 1.0f, e) / (1.0f + e);
}

}  // namespace runnel::cpu_backend
