// The CPU reduction engine shared by the reduce, scan and softmax kernels:
// a reduction's layout (kept and reduced axes, simplified), the one entry
// point that reduces into raw memory, and a vectorisable float exp.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <limits>
#include <vector>

#include "runnel/array.h"
#include "runnel/backend/cpu/clones.h"
#include "runnel/backend/cpu/iterate.h"

namespace runnel::cpu_backend {

// An input seen as kept axes (one output element per combination, in
// row-major order) and reduced axes. Size-1 axes are dropped and adjacent
// axes merged where their strides allow; the reduced axes are also reordered
// (broadcast axes outermost, then by decreasing stride) and negative strides
// flipped into `base`, since the order of a reduction is ours to choose.
struct ReduceLayout {
  Shape kept_shape;
  Strides kept_strides;
  Shape red_shape;
  Strides red_strides;
  int64_t base = 0;       // element offset added to the input pointer
  int64_t kept_size = 1;  // number of outputs
  int64_t red_size = 1;   // elements reduced into each output
};

// The element offset of row-major index `i` of `shape` laid out by `strides`.
inline int64_t offset_of(int64_t i, const Shape& shape,
                         const Strides& strides) {
  int64_t off = 0;
  for (size_t d = shape.size(); d-- > 0;) {
    off += (i % shape[d]) * strides[d];
    i /= shape[d];
  }
  return off;
}

// Runs f(begin, end) over [0, items), helped by idle workers when the work
// (about work_per_item elements each) is large. For independent items: how
// they are split never changes a result.
template <class F>
void parallel_items(int64_t items, int64_t work_per_item, F&& f) {
  if (items <= 0) return;
  work_per_item = std::max<int64_t>(work_per_item, 1);
  if (items == 1 || items * work_per_item <= kGrain) {
    f(int64_t{0}, items);
    return;
  }
  detail::Pool::get().parallel_for(
      items, std::max<int64_t>(1, kGrain / work_per_item), f);
}

// y[i] = exp_f32(x[i] - c): the exponentials of softmax and logsumexp.
void exp_shifted(const float* x, float c, float* y, int64_t n);
// y[i] = exp_f32(x[i] - c[i]).
void exp_diff(const float* x, const float* c, float* y, int64_t n);

// `axes` sorted, distinct and in range.
ReduceLayout reduce_layout(const Shape& shape, const Strides& strides,
                           const std::vector<int>& axes);

enum class ReduceKind : uint8_t {
  sum,
  prod,
  max,
  min,
  all,
  any,
  mean,       // sum * scale
  var,        // sum((x - c)^2) * scale
  std,        // sqrt(var)
  logsumexp,  // c + log(sum(exp(x - c))), or c when c is +-inf
  sumexp,     // sum(exp(x - c)) written in the accumulator type (float for
              // half and float inputs, double for double)
};

// Reduces `in` over `axes` into `out`: one element per output, of in's dtype
// (bool for all/any; see sumexp). `center` (var, std, logsumexp, sumexp): one
// element of in's dtype per output. The chunks that split large reductions
// over workers depend only on the layout, so results are deterministic.
void reduce_into(const array& in, const std::vector<int>& axes, ReduceKind kind,
                 double scale, const void* center, void* out);

// Floats as integers in the order of their values (-0 just below +0), and
// back. Max, min and clamps vectorise as integer operations: GCC will not
// turn float comparisons into vector selects while floating-point exceptions
// are honoured (its default -ftrapping-math).
constexpr int32_t order_key(float x) {
  const int32_t b = std::bit_cast<int32_t>(x);
  return b ^ ((b >> 31) & INT32_MAX);
}
constexpr int64_t order_key(double x) {
  const int64_t b = std::bit_cast<int64_t>(x);
  return b ^ ((b >> 63) & INT64_MAX);
}
constexpr float from_order_key(int32_t k) {
  return std::bit_cast<float>(k ^ ((k >> 31) & INT32_MAX));
}
constexpr double from_order_key(int64_t k) {
  return std::bit_cast<double>(k ^ ((k >> 63) & INT64_MAX));
}
// The key of x for a max (kMax) or a min in which NaN wins: NaN maps to the
// largest (smallest) key, which decodes to a NaN again.
template <bool kMax, class F>
auto extreme_key(F x) {
  using K = decltype(order_key(x));
  constexpr K kNaN =
      kMax ? std::numeric_limits<K>::max() : std::numeric_limits<K>::min();
  constexpr K kInf = std::bit_cast<K>(std::numeric_limits<F>::infinity());
  const K b = std::bit_cast<K>(x);
  // A mask rather than a select: GCC vectorises reductions over it.
  const K nan = -static_cast<K>((b & std::numeric_limits<K>::max()) > kInf);
  return (order_key(x) & ~nan) | (kNaN & nan);
}

// e^x in float, about 1 ulp, written to vectorise (integer selects only):
// Cephes' range reduction and polynomial, with the power of two applied in
// two halves so that overflow gives inf, underflow 0 (through subnormals),
// and NaN stays NaN.
inline float exp_f32(float x) {
  // Clamp to [-104, 89] (exp is 0 below, inf above) on order keys.
  constexpr int32_t kLo = order_key(-104.0f);
  constexpr int32_t kHi = order_key(89.0f);
  int32_t k = order_key(x);
  k = k < kLo ? kLo : k;
  k = k > kHi ? kHi : k;
  const float xc = from_order_key(k);
  // n = round(x / ln 2) by the 1.5 * 2^23 trick; t's bits minus the magic
  // number's are n as an integer.
  constexpr float kMagic = 12582912.0f;
  const float t = xc * 1.44269504088896341f + kMagic;
  const float n = t - kMagic;
  // r = x - n ln 2 in two parts (the first exact in float).
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  // 2^n as 2^h * 2^(n - h), each factor a normal float for n in [-150, 129].
  const int32_t ni = std::bit_cast<int32_t>(t) - std::bit_cast<int32_t>(kMagic);
  const int32_t h = ni >> 1;
  const float s1 = std::bit_cast<float>(
      static_cast<int32_t>(static_cast<uint32_t>(h + 127) << 23));
  const float s2 = std::bit_cast<float>(
      static_cast<int32_t>(static_cast<uint32_t>(ni - h + 127) << 23));
  const int32_t res = std::bit_cast<int32_t>(p * s1 * s2);
  const int32_t b = std::bit_cast<int32_t>(x);
  const int32_t nan = -static_cast<int32_t>((b & INT32_MAX) > 0x7f800000);
  return std::bit_cast<float>((res & ~nan) | (b & nan));
}

}  // namespace runnel::cpu_backend
