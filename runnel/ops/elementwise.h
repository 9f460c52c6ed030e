// Elementwise ops with numpy broadcasting. The inputs of a binary op are
// promoted to promote_types(a, b) (docs/dtypes.md); the values each op gives,
// edge cases included, are in docs/numerics.md: integer arithmetic wraps, an
// integer division by zero gives 0, float16 and bfloat16 compute in float32.
#pragma once

#include "runnel/array.h"

namespace runnel {

// The shape `a` and `b` broadcast to; std::invalid_argument naming `fn`
// when they do not.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* fn);

// ---- Arithmetic: the output has the promoted dtype ----

array add(const array& a, const array& b, StreamOrDevice s = {});
// bool is rejected, as in numpy (use not_equal).
array subtract(const array& a, const array& b, StreamOrDevice s = {});
array multiply(const array& a, const array& b, StreamOrDevice s = {});
// True division: integer and bool operands compute in float32 (as MLX).
array divide(const array& a, const array& b, StreamOrDevice s = {});
// Rounded toward -inf, Python's signs; integer x // 0 is 0.
array floor_divide(const array& a, const array& b, StreamOrDevice s = {});
// The sign of the divisor, as Python's %; integer x % 0 is 0.
array remainder(const array& a, const array& b, StreamOrDevice s = {});
// a ** b; integers wrap, and a negative integer exponent gives 0 except for
// bases 1 and -1.
array power(const array& a, const array& b, StreamOrDevice s = {});
// NaN propagates from either operand, as numpy's.
array maximum(const array& a, const array& b, StreamOrDevice s = {});
array minimum(const array& a, const array& b, StreamOrDevice s = {});
// The angle of (b, a); integer and bool operands compute in float32.
array arctan2(const array& a, const array& b, StreamOrDevice s = {});

// ---- Comparisons and logic: bool outputs ----

array equal(const array& a, const array& b, StreamOrDevice s = {});
array not_equal(const array& a, const array& b, StreamOrDevice s = {});
array less(const array& a, const array& b, StreamOrDevice s = {});
array less_equal(const array& a, const array& b, StreamOrDevice s = {});
array greater(const array& a, const array& b, StreamOrDevice s = {});
array greater_equal(const array& a, const array& b, StreamOrDevice s = {});
// The operands are taken as bool (nonzero is true).
array logical_and(const array& a, const array& b, StreamOrDevice s = {});
array logical_or(const array& a, const array& b, StreamOrDevice s = {});
array logical_not(const array& a, StreamOrDevice s = {});
// Elements of x where condition (as bool) is true, else of y; the three
// broadcast together and x and y promote.
array where(const array& condition, const array& x, const array& y,
            StreamOrDevice s = {});
// Floating dtypes test their values; integers and bool give false.
array isnan(const array& a, StreamOrDevice s = {});
array isinf(const array& a, StreamOrDevice s = {});

// ---- Unary ops that keep the dtype ----

// |a|; the most negative integer stays itself, as in numpy.
array abs(const array& a, StreamOrDevice s = {});
// -a, wrapping for integers; bool is rejected (use logical_not).
array negative(const array& a, StreamOrDevice s = {});
// -1, 0 or 1 (bool: a); NaN stays NaN.
array sign(const array& a, StreamOrDevice s = {});
// a * a, wrapping for integers.
array square(const array& a, StreamOrDevice s = {});
// Integers and bool are returned as they are.
array floor(const array& a, StreamOrDevice s = {});
array ceil(const array& a, StreamOrDevice s = {});
// Half to even at 10^-decimals, as numpy's round; integers round only for a
// negative `decimals`.
array round(const array& a, int decimals, StreamOrDevice s = {});
array round(const array& a, StreamOrDevice s = {});

// ---- Float functions: integer and bool inputs compute in float32 ----

array exp(const array& a, StreamOrDevice s = {});
// e^a - 1, accurate near 0.
array expm1(const array& a, StreamOrDevice s = {});
array log(const array& a, StreamOrDevice s = {});
// log(1 + a), accurate near 0.
array log1p(const array& a, StreamOrDevice s = {});
array sqrt(const array& a, StreamOrDevice s = {});
// 1 / sqrt(a).
array rsqrt(const array& a, StreamOrDevice s = {});
// 1 / a.
array reciprocal(const array& a, StreamOrDevice s = {});
array sin(const array& a, StreamOrDevice s = {});
array cos(const array& a, StreamOrDevice s = {});
array tan(const array& a, StreamOrDevice s = {});
array tanh(const array& a, StreamOrDevice s = {});
// 1 / (1 + e^-a).
array sigmoid(const array& a, StreamOrDevice s = {});
array erf(const array& a, StreamOrDevice s = {});

// ---- Operators, as in MLX ----

array operator+(const array& a, const array& b);
array operator-(const array& a, const array& b);
array operator*(const array& a, const array& b);
array operator/(const array& a, const array& b);
array operator%(const array& a, const array& b);
array operator-(const array& a);
array operator!(const array& a);  // logical_not
array operator&&(const array& a, const array& b);
array operator||(const array& a, const array& b);
// Elementwise comparisons: arrays of bool, not bool.
array operator==(const array& a, const array& b);
array operator!=(const array& a, const array& b);
array operator<(const array& a, const array& b);
array operator<=(const array& a, const array& b);
array operator>(const array& a, const array& b);
array operator>=(const array& a, const array& b);

}  // namespace runnel
