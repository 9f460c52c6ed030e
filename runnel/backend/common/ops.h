// The scalar semantics of the elementwise ops, shared by every backend so that
// the CPU and the GPU compute the same function: integer arithmetic wraps
// (done in unsigned types), bool add is or and multiply is and, half types
// compute in float, float-to-integer casts send NaN to 0 and saturate.
#pragma once

#include <math.h>

#include <limits>
#include <type_traits>

#include "runnel/half.h"

namespace runnel::ops {

template <class T>
inline constexpr bool kHalf =
    std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>;

// Wide enough that unsigned arithmetic never promotes to (signed) int.
template <class T>
using WrapType = std::conditional_t<(sizeof(T) < sizeof(unsigned)), unsigned,
                                    std::make_unsigned_t<T>>;

struct Add {
  template <class T>
  RUNNEL_HOST_DEVICE T operator()(T a, T b) const {
    if constexpr (std::is_same_v<T, bool>) {
      return a || b;
    } else if constexpr (std::is_integral_v<T>) {
      return static_cast<T>(static_cast<WrapType<T>>(a) +
                            static_cast<WrapType<T>>(b));
    } else {
      return a + b;
    }
  }
};

struct Multiply {
  template <class T>
  RUNNEL_HOST_DEVICE T operator()(T a, T b) const {
    if constexpr (std::is_same_v<T, bool>) {
      return a && b;
    } else if constexpr (std::is_integral_v<T>) {
      return static_cast<T>(static_cast<WrapType<T>>(a) *
                            static_cast<WrapType<T>>(b));
    } else {
      return a * b;
    }
  }
};

struct Exp {
  template <class T>
  RUNNEL_HOST_DEVICE T operator()(T a) const {
    if constexpr (std::is_same_v<T, double>) {
      return ::exp(a);
    } else if constexpr (std::is_same_v<T, float>) {
      return ::expf(a);
    } else {
      return T(::expf(static_cast<float>(a)));
    }
  }
};

struct Abs {
  template <class T>
  RUNNEL_HOST_DEVICE T operator()(T a) const {
    if constexpr (std::is_same_v<T, bool> || std::is_unsigned_v<T>) {
      return a;
    } else if constexpr (std::is_integral_v<T>) {
      using U = std::make_unsigned_t<T>;
      return a < 0 ? static_cast<T>(U(0) - static_cast<U>(a)) : a;
    } else if constexpr (kHalf<T>) {
      T r = a;
      r.bits &= 0x7fff;
      return r;
    } else if constexpr (std::is_same_v<T, float>) {
      return ::fabsf(a);
    } else {
      return ::fabs(a);
    }
  }
};

// numpy's casts, with NaN to 0 and saturation for float to integer.
template <class Out, class In>
RUNNEL_HOST_DEVICE Out cast(In v) {
  if constexpr (kHalf<In>) {
    return cast<Out>(static_cast<float>(v));
  } else if constexpr (kHalf<Out>) {
    return Out(v);
  } else if constexpr (std::is_floating_point_v<In> &&
                       std::is_integral_v<Out> && !std::is_same_v<Out, bool>) {
    if (v != v) return Out(0);
    constexpr double lo = static_cast<double>(std::numeric_limits<Out>::min());
    constexpr double hi = static_cast<double>(std::numeric_limits<Out>::max());
    double d = static_cast<double>(v);
    if (d <= lo) return std::numeric_limits<Out>::min();
    if (d >= hi) return std::numeric_limits<Out>::max();
    return static_cast<Out>(v);
  } else {
    return static_cast<Out>(v);
  }
}

// What a sum of T accumulates in: half precision in float, integers in the
// unsigned type of their width (wrapping, never undefined).
template <class T>
struct SumAcc {
  using type = T;
};
template <class T>
requires std::is_integral_v<T>
struct SumAcc<T> {
  using type = WrapType<T>;
};
template <>
struct SumAcc<float16_t> {
  using type = float;
};
template <>
struct SumAcc<bfloat16_t> {
  using type = float;
};

}  // namespace runnel::ops
