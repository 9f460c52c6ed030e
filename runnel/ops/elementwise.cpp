#include "runnel/ops/elementwise.h"

#include <algorithm>
#include <sstream>
#include <stdexcept>
#include <string>

#include "runnel/ops/creation.h"
#include "runnel/primitives/elementwise.h"

namespace runnel {
namespace {

// The dtype float functions compute in: floats keep theirs, the rest float32.
Dtype at_least_float(Dtype d) { return is_floating_point(d) ? d : float32; }

// `a` as dtype `t` (itself when it has it: no stream handle copied for
// the common case).
array cast_to(const array& a, Dtype t, const Stream& st) {
  return a.dtype() == t ? a : astype(a, t, st);
}

// A primitive's node over `inputs` cast to `in_dtype`, with `out_dtype`.
// The inputs move into the node (a braced list would copy them).
template <class P>
array binary_node(const array& a, const array& b, Dtype in_dtype,
                  Dtype out_dtype, const StreamOrDevice& s, const char* fn) {
  Shape shape = broadcast_shapes(a.shape(), b.shape(), fn);
  Stream st = to_stream(s);
  Inputs in;
  in.push_back(cast_to(a, in_dtype, st));
  in.push_back(cast_to(b, in_dtype, st));
  return array(std::move(shape), out_dtype, shared_primitive<P>(),
               std::move(in), std::move(st));
}

// Computes in the promoted dtype and gives it.
template <class P>
array arithmetic(const array& a, const array& b, const StreamOrDevice& s,
                 const char* fn) {
  Dtype t = promote_types(a.dtype(), b.dtype());
  return binary_node<P>(a, b, t, t, s, fn);
}

// Computes in the promoted dtype, at least float32.
template <class P>
array float_binary(const array& a, const array& b, const StreamOrDevice& s,
                   const char* fn) {
  Dtype t = at_least_float(promote_types(a.dtype(), b.dtype()));
  return binary_node<P>(a, b, t, t, s, fn);
}

// Compares in the promoted dtype; bool out.
template <class P>
array comparison(const array& a, const array& b, const StreamOrDevice& s,
                 const char* fn) {
  return binary_node<P>(a, b, promote_types(a.dtype(), b.dtype()), bool_, s,
                        fn);
}

template <class P>
array logical(const array& a, const array& b, const StreamOrDevice& s,
              const char* fn) {
  return binary_node<P>(a, b, bool_, bool_, s, fn);
}

template <class P>
array unary_node(const array& a, Dtype in_dtype, Dtype out_dtype,
                 const StreamOrDevice& s) {
  Stream st = to_stream(s);
  Inputs in;
  in.push_back(cast_to(a, in_dtype, st));
  return array(a.shape(), out_dtype, shared_primitive<P>(), std::move(in),
               std::move(st));
}

template <class P>
array same_dtype(const array& a, const StreamOrDevice& s) {
  return unary_node<P>(a, a.dtype(), a.dtype(), s);
}

template <class P>
array float_unary(const array& a, const StreamOrDevice& s) {
  Dtype t = at_least_float(a.dtype());
  return unary_node<P>(a, t, t, s);
}

void reject_bool(const array& a, const char* fn, const char* instead) {
  if (a.dtype() == bool_) {
    throw std::invalid_argument(std::string("[") + fn +
                                "] Not supported for bool; use " + instead +
                                " instead.");
  }
}

}  // namespace

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* fn) {
  if (a == b) return a;
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int da = i < a.size() ? a[a.size() - 1 - i] : 1;
    int db = i < b.size() ? b[b.size() - 1 - i] : 1;
    if (da != db && da != 1 && db != 1) {
      throw std::invalid_argument(std::string("[") + fn + "] Shapes " +
                                  shape_str(a) + " and " + shape_str(b) +
                                  " cannot be broadcast.");
    }
    out[n - 1 - i] = da == 1 ? db : da;
  }
  return out;
}

array add(const array& a, const array& b, StreamOrDevice s) {
  return arithmetic<Add>(a, b, s, "add");
}

array subtract(const array& a, const array& b, StreamOrDevice s) {
  if (a.dtype() == bool_ && b.dtype() == bool_) {
    throw std::invalid_argument(
        "[subtract] Not supported for two bool arrays; use not_equal (or "
        "logical_xor) instead.");
  }
  return arithmetic<Subtract>(a, b, s, "subtract");
}

array multiply(const array& a, const array& b, StreamOrDevice s) {
  return arithmetic<Multiply>(a, b, s, "multiply");
}

array divide(const array& a, const array& b, StreamOrDevice s) {
  return float_binary<Divide>(a, b, s, "divide");
}

array floor_divide(const array& a, const array& b, StreamOrDevice s) {
  return arithmetic<FloorDivide>(a, b, s, "floor_divide");
}

array remainder(const array& a, const array& b, StreamOrDevice s) {
  return arithmetic<Remainder>(a, b, s, "remainder");
}

array power(const array& a, const array& b, StreamOrDevice s) {
  return arithmetic<Power>(a, b, s, "power");
}

array maximum(const array& a, const array& b, StreamOrDevice s) {
  return arithmetic<Maximum>(a, b, s, "maximum");
}

array minimum(const array& a, const array& b, StreamOrDevice s) {
  return arithmetic<Minimum>(a, b, s, "minimum");
}

array arctan2(const array& a, const array& b, StreamOrDevice s) {
  return float_binary<ArcTan2>(a, b, s, "arctan2");
}

array equal(const array& a, const array& b, StreamOrDevice s) {
  return comparison<Equal>(a, b, s, "equal");
}

array not_equal(const array& a, const array& b, StreamOrDevice s) {
  return comparison<NotEqual>(a, b, s, "not_equal");
}

array less(const array& a, const array& b, StreamOrDevice s) {
  return comparison<Less>(a, b, s, "less");
}

array less_equal(const array& a, const array& b, StreamOrDevice s) {
  return comparison<LessEqual>(a, b, s, "less_equal");
}

array greater(const array& a, const array& b, StreamOrDevice s) {
  return comparison<Greater>(a, b, s, "greater");
}

array greater_equal(const array& a, const array& b, StreamOrDevice s) {
  return comparison<GreaterEqual>(a, b, s, "greater_equal");
}

array logical_and(const array& a, const array& b, StreamOrDevice s) {
  return logical<LogicalAnd>(a, b, s, "logical_and");
}

array logical_or(const array& a, const array& b, StreamOrDevice s) {
  return logical<LogicalOr>(a, b, s, "logical_or");
}

array logical_not(const array& a, StreamOrDevice s) {
  return unary_node<LogicalNot>(a, bool_, bool_, s);
}

array where(const array& condition, const array& x, const array& y,
            StreamOrDevice s) {
  Shape shape =
      broadcast_shapes(broadcast_shapes(condition.shape(), x.shape(), "where"),
                       y.shape(), "where");
  Stream st = to_stream(s);
  Dtype t = promote_types(x.dtype(), y.dtype());
  return array(
      std::move(shape), t, shared_primitive<Select>(),
      {astype(condition, bool_, st), astype(x, t, st), astype(y, t, st)}, st);
}

array isnan(const array& a, StreamOrDevice s) {
  return unary_node<IsNan>(a, a.dtype(), bool_, s);
}

array isinf(const array& a, StreamOrDevice s) {
  return unary_node<IsInf>(a, a.dtype(), bool_, s);
}

array abs(const array& a, StreamOrDevice s) { return same_dtype<Abs>(a, s); }

array negative(const array& a, StreamOrDevice s) {
  reject_bool(a, "negative", "logical_not");
  return same_dtype<Negative>(a, s);
}

array sign(const array& a, StreamOrDevice s) { return same_dtype<Sign>(a, s); }

array square(const array& a, StreamOrDevice s) {
  return same_dtype<Square>(a, s);
}

array floor(const array& a, StreamOrDevice s) {
  return same_dtype<Floor>(a, s);
}

array ceil(const array& a, StreamOrDevice s) { return same_dtype<Ceil>(a, s); }

array round(const array& a, int decimals, StreamOrDevice s) {
  return array(a.shape(), a.dtype(), std::make_shared<Round>(decimals), {a},
               to_stream(s));
}

array round(const array& a, StreamOrDevice s) {
  return round(a, 0, std::move(s));
}

array exp(const array& a, StreamOrDevice s) { return float_unary<Exp>(a, s); }
array expm1(const array& a, StreamOrDevice s) {
  return float_unary<Expm1>(a, s);
}
array log(const array& a, StreamOrDevice s) { return float_unary<Log>(a, s); }
array log1p(const array& a, StreamOrDevice s) {
  return float_unary<Log1p>(a, s);
}
array sqrt(const array& a, StreamOrDevice s) { return float_unary<Sqrt>(a, s); }
array rsqrt(const array& a, StreamOrDevice s) {
  return float_unary<Rsqrt>(a, s);
}
array reciprocal(const array& a, StreamOrDevice s) {
  return float_unary<Reciprocal>(a, s);
}
array sin(const array& a, StreamOrDevice s) { return float_unary<Sin>(a, s); }
array cos(const array& a, StreamOrDevice s) { return float_unary<Cos>(a, s); }
array tan(const array& a, StreamOrDevice s) { return float_unary<Tan>(a, s); }
array tanh(const array& a, StreamOrDevice s) { return float_unary<Tanh>(a, s); }
array sigmoid(const array& a, StreamOrDevice s) {
  return float_unary<Sigmoid>(a, s);
}
array erf(const array& a, StreamOrDevice s) { return float_unary<Erf>(a, s); }

array operator+(const array& a, const array& b) { return add(a, b); }
array operator-(const array& a, const array& b) { return subtract(a, b); }
array operator*(const array& a, const array& b) { return multiply(a, b); }
array operator/(const array& a, const array& b) { return divide(a, b); }
array operator%(const array& a, const array& b) { return remainder(a, b); }
array operator-(const array& a) { return negative(a); }
array operator!(const array& a) { return logical_not(a); }
array operator&&(const array& a, const array& b) { return logical_and(a, b); }
array operator||(const array& a, const array& b) { return logical_or(a, b); }
array operator==(const array& a, const array& b) { return equal(a, b); }
array operator!=(const array& a, const array& b) { return not_equal(a, b); }
array operator<(const array& a, const array& b) { return less(a, b); }
array operator<=(const array& a, const array& b) { return less_equal(a, b); }
array operator>(const array& a, const array& b) { return greater(a, b); }
array operator>=(const array& a, const array& b) { return greater_equal(a, b); }

}  // namespace runnel
