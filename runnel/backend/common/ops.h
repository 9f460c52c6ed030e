// The scalar semantics of the elementwise ops, shared by every backend so that
// the CPU and the GPU compute the same function: integer arithmetic wraps
// (done in unsigned types), bool add is or and multiply is and, half types
// compute in float, float-to-integer casts send NaN to 0 and saturate.
// scalar::Add is the function on two elements; runnel::Add is the primitive.
#pragma once

#include <math.h>

#include <limits>
#include <type_traits>

#include "runnel/half.h"

namespace runnel::scalar {

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

// ---- The ops added with the elementwise family (docs/numerics.md) ----

template <class T>
inline constexpr bool kInteger =
    std::is_integral_v<T> && !std::is_same_v<T, bool>;

// A float function applied to T: half types compute in float and round once.
// D supplies static f(float) and f(double).
template <class D>
struct FloatUnary {
  template <class T>
  RUNNEL_HOST_DEVICE T operator()(T a) const {
    if constexpr (kHalf<T>) {
      return T(D::f(static_cast<float>(a)));
    } else {
      return D::f(a);
    }
  }
};

template <class D>
struct FloatBinary {
  template <class T>
  RUNNEL_HOST_DEVICE T operator()(T a, T b) const {
    if constexpr (kHalf<T>) {
      return T(D::f(static_cast<float>(a), static_cast<float>(b)));
    } else {
      return D::f(a, b);
    }
  }
};

struct Subtract {
  template <class T>
  RUNNEL_HOST_DEVICE T operator()(T a, T b) const {
    if constexpr (kInteger<T>) {
      return static_cast<T>(static_cast<WrapType<T>>(a) -
                            static_cast<WrapType<T>>(b));
    } else {
      return a - b;  // bool never gets here: the op rejects it
    }
  }
};

struct Negative {
  template <class T>
  RUNNEL_HOST_DEVICE T operator()(T a) const {
    if constexpr (kInteger<T>) {
      return static_cast<T>(WrapType<T>(0) - static_cast<WrapType<T>>(a));
    } else {
      return -a;
    }
  }
};

// -1, 0 or 1; NaN stays NaN, and both zeros give +0 (numpy).
struct Sign {
  template <class T>
  RUNNEL_HOST_DEVICE T operator()(T a) const {
    if constexpr (std::is_same_v<T, bool> || std::is_unsigned_v<T>) {
      return static_cast<T>(a != T(0));
    } else if constexpr (kInteger<T>) {
      return static_cast<T>((a > 0) - (a < 0));
    } else {
      return a > T(0) ? T(1) : a < T(0) ? T(-1) : a == T(0) ? T(0) : a;
    }
  }
};

struct Square {
  template <class T>
  RUNNEL_HOST_DEVICE T operator()(T a) const {
    return Multiply{}(a, a);
  }
};

// Division of floating values (the op promotes integers to float32).
struct Divide {
  template <class T>
  RUNNEL_HOST_DEVICE T operator()(T a, T b) const {
    return a / b;
  }
};

struct Reciprocal {
  template <class T>
  RUNNEL_HOST_DEVICE T operator()(T a) const {
    if constexpr (kHalf<T>) {
      return T(1.0f / static_cast<float>(a));
    } else {
      return T(1) / a;
    }
  }
};

// Python's division of floats: the quotient rounded toward -inf, computed
// from fmod so that q * b + r == a holds as closely as floats allow; a zero
// divisor gives a / b (inf or NaN), as numpy.
template <class F>
RUNNEL_HOST_DEVICE F float_floor_div(F a, F b) {
  if (b == F(0)) return a / b;
  F r = ::fmod(a, b);
  F q = (a - r) / b;
  if (r != F(0) && ((b < F(0)) != (r < F(0)))) q -= F(1);
  if (q == F(0)) return ::copysign(F(0), a / b);
  F fq = ::floor(q);
  return q - fq > F(0.5) ? fq + F(1) : fq;
}

// Python's modulus of floats: the sign of the divisor; a zero divisor gives
// NaN, as numpy.
template <class F>
RUNNEL_HOST_DEVICE F float_mod(F a, F b) {
  F r = ::fmod(a, b);
  if (b == F(0)) return r;
  if (r == F(0)) return ::copysign(F(0), b);
  return (b < F(0)) != (r < F(0)) ? r + b : r;
}

// Integers: rounded toward -inf as in Python; x // 0 is 0 and
// MIN // -1 is MIN (it wraps). bool: a && b (1 // 1 == 1, x // 0 == 0).
struct FloorDivide {
  template <class T>
  RUNNEL_HOST_DEVICE T operator()(T a, T b) const {
    if constexpr (std::is_same_v<T, bool>) {
      return a && b;
    } else if constexpr (std::is_unsigned_v<T>) {
      return b == 0 ? T(0) : static_cast<T>(a / b);
    } else if constexpr (kInteger<T>) {
      if (b == 0) return T(0);
      if (b == T(-1)) return Negative{}(a);
      T q = static_cast<T>(a / b);
      if (static_cast<T>(a % b) != 0 && ((a < 0) != (b < 0))) --q;
      return q;
    } else if constexpr (kHalf<T>) {
      return T(float_floor_div(static_cast<float>(a), static_cast<float>(b)));
    } else {
      return float_floor_div(a, b);
    }
  }
};

// Integers: the sign of the divisor, as in Python; x % 0 is 0. bool: false.
struct Remainder {
  template <class T>
  RUNNEL_HOST_DEVICE T operator()(T a, T b) const {
    if constexpr (std::is_same_v<T, bool>) {
      return false;
    } else if constexpr (std::is_unsigned_v<T>) {
      return b == 0 ? T(0) : static_cast<T>(a % b);
    } else if constexpr (kInteger<T>) {
      if (b == 0 || b == T(-1)) return T(0);
      T r = static_cast<T>(a % b);
      if (r != 0 && ((r < 0) != (b < 0))) r = static_cast<T>(r + b);
      return r;
    } else if constexpr (kHalf<T>) {
      return T(float_mod(static_cast<float>(a), static_cast<float>(b)));
    } else {
      return float_mod(a, b);
    }
  }
};

// Integers: repeated squaring, wrapping; a negative exponent gives 0 except
// for bases 1 (1) and -1 (+-1 by parity). bool: a || !b (x**0 == 1).
struct Power {
  template <class T>
  RUNNEL_HOST_DEVICE T operator()(T a, T b) const {
    if constexpr (std::is_same_v<T, bool>) {
      return a || !b;
    } else if constexpr (kInteger<T>) {
      using U = WrapType<T>;
      if constexpr (std::is_signed_v<T>) {
        if (b < 0) {
          if (a == 1) return T(1);
          if (a == T(-1)) return (b & 1) ? T(-1) : T(1);
          return T(0);
        }
      }
      // Zero-extended: only the low bits matter modulo 2^bits.
      U base = static_cast<U>(static_cast<std::make_unsigned_t<T>>(a)), r = 1;
      for (auto e = static_cast<std::make_unsigned_t<T>>(b); e != 0; e >>= 1) {
        if (e & 1) r = static_cast<U>(r * base);
        base = static_cast<U>(base * base);
      }
      return static_cast<T>(r);
    } else if constexpr (kHalf<T>) {
      return T(::powf(static_cast<float>(a), static_cast<float>(b)));
    } else if constexpr (std::is_same_v<T, float>) {
      return ::powf(a, b);
    } else {
      return ::pow(a, b);
    }
  }
};

// NaN propagates (either operand), as numpy's maximum and minimum.
struct Maximum {
  template <class T>
  RUNNEL_HOST_DEVICE T operator()(T a, T b) const {
    if constexpr (std::is_integral_v<T>) {
      return a > b ? a : b;
    } else {
      return (a > b || a != a) ? a : b;
    }
  }
};

struct Minimum {
  template <class T>
  RUNNEL_HOST_DEVICE T operator()(T a, T b) const {
    if constexpr (std::is_integral_v<T>) {
      return a < b ? a : b;
    } else {
      return (a < b || a != a) ? a : b;
    }
  }
};

struct ArcTan2 : FloatBinary<ArcTan2> {
  RUNNEL_HOST_DEVICE static float f(float a, float b) { return ::atan2f(a, b); }
  RUNNEL_HOST_DEVICE static double f(double a, double b) {
    return ::atan2(a, b);
  }
};

struct Expm1 : FloatUnary<Expm1> {
  RUNNEL_HOST_DEVICE static float f(float x) { return ::expm1f(x); }
  RUNNEL_HOST_DEVICE static double f(double x) { return ::expm1(x); }
};
struct Log : FloatUnary<Log> {
  RUNNEL_HOST_DEVICE static float f(float x) { return ::logf(x); }
  RUNNEL_HOST_DEVICE static double f(double x) { return ::log(x); }
};
struct Log1p : FloatUnary<Log1p> {
  RUNNEL_HOST_DEVICE static float f(float x) { return ::log1pf(x); }
  RUNNEL_HOST_DEVICE static double f(double x) { return ::log1p(x); }
};
struct Sqrt : FloatUnary<Sqrt> {
  RUNNEL_HOST_DEVICE static float f(float x) { return ::sqrtf(x); }
  RUNNEL_HOST_DEVICE static double f(double x) { return ::sqrt(x); }
};
struct Rsqrt : FloatUnary<Rsqrt> {
  RUNNEL_HOST_DEVICE static float f(float x) { return 1.0f / ::sqrtf(x); }
  RUNNEL_HOST_DEVICE static double f(double x) { return 1.0 / ::sqrt(x); }
};
struct Sin : FloatUnary<Sin> {
  RUNNEL_HOST_DEVICE static float f(float x) { return ::sinf(x); }
  RUNNEL_HOST_DEVICE static double f(double x) { return ::sin(x); }
};
struct Cos : FloatUnary<Cos> {
  RUNNEL_HOST_DEVICE static float f(float x) { return ::cosf(x); }
  RUNNEL_HOST_DEVICE static double f(double x) { return ::cos(x); }
};
struct Tan : FloatUnary<Tan> {
  RUNNEL_HOST_DEVICE static float f(float x) { return ::tanf(x); }
  RUNNEL_HOST_DEVICE static double f(double x) { return ::tan(x); }
};
struct Tanh : FloatUnary<Tanh> {
  RUNNEL_HOST_DEVICE static float f(float x) { return ::tanhf(x); }
  RUNNEL_HOST_DEVICE static double f(double x) { return ::tanh(x); }
};
// 1 / (1 + e^-x) from e = e^-|x|, so that neither side overflows:
// 1 / (1 + e) for x >= 0, e / (1 + e) below.
struct Sigmoid : FloatUnary<Sigmoid> {
  template <class F>
  RUNNEL_HOST_DEVICE static F g(F x, F e) {
    return (x >= F(0) ? F(1) : e) / (F(1) + e);
  }
  RUNNEL_HOST_DEVICE static float f(float x) {
    return g(x, ::expf(-::fabsf(x)));
  }
  RUNNEL_HOST_DEVICE static double f(double x) {
    return g(x, ::exp(-::fabs(x)));
  }
};
struct Erf : FloatUnary<Erf> {
  RUNNEL_HOST_DEVICE static float f(float x) { return ::erff(x); }
  RUNNEL_HOST_DEVICE static double f(double x) { return ::erf(x); }
};

// Integers and bool are whole already.
struct Floor {
  template <class T>
  RUNNEL_HOST_DEVICE T operator()(T a) const {
    if constexpr (std::is_integral_v<T>) {
      return a;
    } else if constexpr (kHalf<T>) {
      return T(::floorf(static_cast<float>(a)));
    } else if constexpr (std::is_same_v<T, float>) {
      return ::floorf(a);
    } else {
      return ::floor(a);
    }
  }
};

struct Ceil {
  template <class T>
  RUNNEL_HOST_DEVICE T operator()(T a) const {
    if constexpr (std::is_integral_v<T>) {
      return a;
    } else if constexpr (kHalf<T>) {
      return T(::ceilf(static_cast<float>(a)));
    } else if constexpr (std::is_same_v<T, float>) {
      return ::ceilf(a);
    } else {
      return ::ceil(a);
    }
  }
};

// Half to even at 10^-decimals, as numpy's round: floats scale by 10^d,
// round and scale back in their own type (half types in float); integers
// (decimals < 0) in double, saturating back. Integers with decimals >= 0 and
// bool are returned as they are. Where 10^|d| passes the type's range, a
// positive d keeps x and a negative one gives a signed zero (numpy would
// give NaN and 0).
struct Round {
  int decimals = 0;
  double scale = 1;  // 10^|decimals|, inf past double's range

  RUNNEL_HOST_DEVICE explicit Round(int d = 0) : decimals(d) {
    for (int64_t i = 0, n = d < 0 ? -int64_t{d} : d; i < n && i < 400; ++i) {
      scale *= 10;
    }
  }
  template <class F>
  RUNNEL_HOST_DEVICE static F rint(F x) {
    if constexpr (std::is_same_v<F, float>) {
      return ::rintf(x);
    } else {
      return ::rint(x);
    }
  }
  template <class F>
  RUNNEL_HOST_DEVICE F scaled(F x) const {
    if (decimals == 0) return rint(x);
    const F f = static_cast<F>(scale);
    if (f - f != F(0)) {  // 10^|d| is infinite in F
      if (decimals > 0 || x - x != F(0)) return x;
      return ::copysign(F(0), x);
    }
    return decimals > 0 ? rint(x * f) / f : rint(x / f) * f;
  }
  template <class T>
  RUNNEL_HOST_DEVICE T operator()(T a) const {
    if constexpr (std::is_same_v<T, bool>) {
      return a;
    } else if constexpr (kInteger<T>) {
      if (decimals >= 0) return a;
      return cast<T>(scaled(static_cast<double>(a)));
    } else if constexpr (kHalf<T>) {
      return T(scaled(static_cast<float>(a)));
    } else {
      return scaled(a);
    }
  }
};

// ---- Ops that give bool ----

struct IsNan {
  template <class T>
  RUNNEL_HOST_DEVICE bool operator()(T a) const {
    if constexpr (std::is_integral_v<T>) {
      return false;
    } else {
      return !(a == a);
    }
  }
};
struct IsInf {
  template <class T>
  RUNNEL_HOST_DEVICE bool operator()(T a) const {
    if constexpr (std::is_integral_v<T>) {
      return false;
    } else if constexpr (std::is_same_v<T, double>) {
      constexpr double kInf = std::numeric_limits<double>::infinity();
      return a == kInf || a == -kInf;
    } else {
      constexpr float kInf = std::numeric_limits<float>::infinity();
      const float f = static_cast<float>(a);  // half: exact
      return f == kInf || f == -kInf;
    }
  }
};
struct Equal {
  template <class T>
  RUNNEL_HOST_DEVICE bool operator()(T a, T b) const {
    return a == b;
  }
};
struct NotEqual {
  template <class T>
  RUNNEL_HOST_DEVICE bool operator()(T a, T b) const {
    return !(a == b);
  }
};
struct Less {
  template <class T>
  RUNNEL_HOST_DEVICE bool operator()(T a, T b) const {
    return a < b;
  }
};
struct LessEqual {
  template <class T>
  RUNNEL_HOST_DEVICE bool operator()(T a, T b) const {
    return a <= b;
  }
};
struct Greater {
  template <class T>
  RUNNEL_HOST_DEVICE bool operator()(T a, T b) const {
    return a > b;
  }
};
struct GreaterEqual {
  template <class T>
  RUNNEL_HOST_DEVICE bool operator()(T a, T b) const {
    return a >= b;
  }
};
// The logical ops take bool (the op casts to it).
struct LogicalNot {
  RUNNEL_HOST_DEVICE bool operator()(bool a) const { return !a; }
};
struct LogicalAnd {
  RUNNEL_HOST_DEVICE bool operator()(bool a, bool b) const { return a && b; }
};
struct LogicalOr {
  RUNNEL_HOST_DEVICE bool operator()(bool a, bool b) const { return a || b; }
};
struct Select {
  template <class T>
  RUNNEL_HOST_DEVICE T operator()(bool c, T a, T b) const {
    return c ? a : b;
  }
};

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

}  // namespace runnel::scalar
