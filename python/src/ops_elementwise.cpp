// Elementwise ops and the array's arithmetic, comparison and logical
// operators, as in MLX: a Python scalar beside an array is weak (it takes the
// array's dtype when it fits it).
#include <string_view>

#include "python/src/common.h"

namespace runnel::python {
namespace {

using namespace nb::literals;

using BinaryOp = array (*)(const array&, const array&, StreamOrDevice);
using UnaryOp = array (*)(const array&, StreamOrDevice);

struct Binary {
  const char* name;
  BinaryOp fn;
  const char* doc;
};

struct Unary {
  const char* name;
  UnaryOp fn;
  const char* doc;
};

const Binary kBinary[] = {
    {"add", add,
     "add(a, b, *, stream=None): a + b, elementwise with numpy broadcasting. "
     "A Python scalar beside an array takes the array's dtype when it fits "
     "it, as in MLX; integers wrap."},
    {"subtract", subtract,
     "subtract(a, b, *, stream=None): a - b (broadcasting and scalars as in "
     "add); two bool operands are rejected."},
    {"multiply", multiply,
     "multiply(a, b, *, stream=None): a * b (broadcasting and scalars as in "
     "add)."},
    {"divide", divide,
     "divide(a, b, *, stream=None): true division a / b; integer and bool "
     "operands compute in float32."},
    {"floor_divide", floor_divide,
     "floor_divide(a, b, *, stream=None): a // b rounded toward -inf, as "
     "Python; an integer divided by 0 gives 0."},
    {"remainder", remainder,
     "remainder(a, b, *, stream=None): a % b with the sign of b, as Python; "
     "an integer modulo 0 gives 0."},
    {"power", power,
     "power(a, b, *, stream=None): a ** b; integers wrap, and a negative "
     "integer exponent gives 0 except for bases 1 and -1."},
    {"maximum", maximum,
     "maximum(a, b, *, stream=None): the larger of a and b; NaN propagates."},
    {"minimum", minimum,
     "minimum(a, b, *, stream=None): the smaller of a and b; NaN "
     "propagates."},
    {"arctan2", arctan2,
     "arctan2(a, b, *, stream=None): the angle of the point (b, a); integer "
     "and bool operands compute in float32."},
    {"equal", equal, "equal(a, b, *, stream=None): a == b, a bool array."},
    {"not_equal", not_equal,
     "not_equal(a, b, *, stream=None): a != b, a bool array."},
    {"less", less, "less(a, b, *, stream=None): a < b, a bool array."},
    {"less_equal", less_equal,
     "less_equal(a, b, *, stream=None): a <= b, a bool array."},
    {"greater", greater, "greater(a, b, *, stream=None): a > b, a bool array."},
    {"greater_equal", greater_equal,
     "greater_equal(a, b, *, stream=None): a >= b, a bool array."},
    {"logical_and", logical_and,
     "logical_and(a, b, *, stream=None): a and b elementwise, the operands "
     "taken as bool (nonzero is true)."},
    {"logical_or", logical_or,
     "logical_or(a, b, *, stream=None): a or b elementwise, the operands "
     "taken as bool."},
};

const Unary kUnary[] = {
    {"abs", abs,
     "abs(a, *, stream=None): |a|; the most negative integer stays itself."},
    {"negative", negative,
     "negative(a, *, stream=None): -a, wrapping for integers; bool is "
     "rejected (use logical_not)."},
    {"sign", sign,
     "sign(a, *, stream=None): -1, 0 or 1 in a's dtype; NaN stays NaN."},
    {"square", square, "square(a, *, stream=None): a * a in a's dtype."},
    {"floor", floor,
     "floor(a, *, stream=None): rounded toward -inf; integers as they are."},
    {"ceil", ceil,
     "ceil(a, *, stream=None): rounded toward +inf; integers as they are."},
    {"exp", exp,
     "exp(a, *, stream=None): e ** a; integer and bool inputs compute in "
     "float32."},
    {"expm1", expm1,
     "expm1(a, *, stream=None): e ** a - 1, accurate near 0 (float32 for "
     "integers)."},
    {"log", log,
     "log(a, *, stream=None): the natural logarithm (float32 for integers)."},
    {"log1p", log1p,
     "log1p(a, *, stream=None): log(1 + a), accurate near 0 (float32 for "
     "integers)."},
    {"sqrt", sqrt,
     "sqrt(a, *, stream=None): the square root (float32 for integers)."},
    {"rsqrt", rsqrt,
     "rsqrt(a, *, stream=None): 1 / sqrt(a) (float32 for integers)."},
    {"reciprocal", reciprocal,
     "reciprocal(a, *, stream=None): 1 / a (float32 for integers)."},
    {"sin", sin, "sin(a, *, stream=None): the sine (float32 for integers)."},
    {"cos", cos, "cos(a, *, stream=None): the cosine (float32 for integers)."},
    {"tan", tan, "tan(a, *, stream=None): the tangent (float32 for integers)."},
    {"tanh", tanh,
     "tanh(a, *, stream=None): the hyperbolic tangent (float32 for "
     "integers)."},
    {"sigmoid", sigmoid,
     "sigmoid(a, *, stream=None): 1 / (1 + e ** -a) (float32 for "
     "integers)."},
    {"erf", erf,
     "erf(a, *, stream=None): the error function (float32 for integers)."},
    {"isnan", isnan,
     "isnan(a, *, stream=None): where a is NaN, a bool array (false for "
     "integers and bool)."},
    {"isinf", isinf,
     "isinf(a, *, stream=None): where a is infinite, a bool array (false for "
     "integers and bool)."},
    {"logical_not", logical_not,
     "logical_not(a, *, stream=None): not a elementwise, a taken as bool."},
};

// The unary ops that mlx.core.array also has as methods.
bool is_method(const char* name) {
  for (const char* m : {"abs", "square", "sqrt", "rsqrt", "reciprocal", "exp",
                        "log", "log1p", "sin", "cos"}) {
    if (std::string_view(m) == name) return true;
  }
  return false;
}

// The operand types an operator takes; others give NotImplemented.
bool is_operand(nb::handle h) {
  return nb::isinstance<array>(h) || PyBool_Check(h.ptr()) ||
         PyLong_Check(h.ptr()) || PyFloat_Check(h.ptr()) ||
         nb::hasattr(h, "__array_interface__");
}

template <BinaryOp Op>
nb::object binary(nb::handle a, nb::handle b, const char* fn) {
  if (!is_operand(a) || !is_operand(b)) {
    return nb::borrow(Py_NotImplemented);
  }
  auto [x, y] = to_arrays(a, b, fn);
  return nb::cast(Op(x, y, {}));
}

// a op= b, as MLX: the array object itself takes the result, so every name
// bound to it sees the new value.
template <BinaryOp Op>
nb::object inplace(nb::handle self, nb::handle b, const char* fn) {
  if (!is_operand(b)) return nb::borrow(Py_NotImplemented);
  if constexpr (Op == divide) {
    Dtype d = nb::cast<const array&>(self).dtype();
    if (!is_floating_point(d)) {
      throw std::invalid_argument("[divide] In-place division would turn a " +
                                  std::string(dtype_name(d)) +
                                  " array into float32; use a / b.");
    }
  }
  auto [x, y] = to_arrays(self, b, fn);
  nb::cast<array&>(self) = Op(x, y, {});
  return nb::borrow(self);
}

// The three methods of an arithmetic operator: forward, reflected (a Python
// scalar on the left) and in place. Names are literals: nanobind keeps them.
struct OperatorNames {
  const char* forward;
  const char* reflected;
  const char* in_place;
  const char* fn;  // the op, for errors
};

template <BinaryOp Op>
void def_operator(nb::class_<array>& cls, OperatorNames n, const char* doc) {
  const char* fn = n.fn;
  cls.def(
      n.forward,
      [fn](nb::handle a, nb::handle b) { return binary<Op>(a, b, fn); },
      nb::is_operator(), doc);
  cls.def(
      n.reflected,
      [fn](nb::handle a, nb::handle b) { return binary<Op>(b, a, fn); },
      nb::is_operator(), doc);
  cls.def(
      n.in_place,
      [fn](nb::handle a, nb::handle b) { return inplace<Op>(a, b, fn); },
      nb::is_operator(), doc);
}

template <BinaryOp Op>
void def_comparison(nb::class_<array>& cls, const char* dunder, const char* fn,
                    const char* doc) {
  cls.def(
      dunder, [fn](nb::handle a, nb::handle b) { return binary<Op>(a, b, fn); },
      nb::is_operator(), doc);
}

}  // namespace

void init_ops_elementwise(nb::module_& m) {
  for (const Binary& op : kBinary) {
    m.def(
        op.name,
        [fn = op.fn, name = op.name](nb::handle a, nb::handle b,
                                     nb::handle stream) {
          auto [x, y] = to_arrays(a, b, name);
          return fn(x, y, to_stream_or_device(stream, name));
        },
        "a"_a.none(), "b"_a.none(), nb::kw_only(),
        "stream"_a.none() = nb::none(), op.doc);
  }
  for (const Unary& op : kUnary) {
    m.def(
        op.name,
        [fn = op.fn, name = op.name](nb::handle a, nb::handle stream) {
          return fn(to_array(a, std::nullopt, name),
                    to_stream_or_device(stream, name));
        },
        "a"_a.none(), nb::kw_only(), "stream"_a.none() = nb::none(), op.doc);
  }
  m.def(
      "round",
      [](nb::handle a, nb::handle decimals, nb::handle stream) {
        return round(to_array(a, std::nullopt, "round"),
                     to_int(decimals, "round", "decimals"),
                     to_stream_or_device(stream, "round"));
      },
      "a"_a.none(), "decimals"_a.none() = 0, nb::kw_only(),
      "stream"_a.none() = nb::none(),
      "round(a, decimals=0, *, stream=None): rounded half to even at "
      "10 ** -decimals, as numpy; integers round only for a negative "
      "decimals.");
  m.def(
      "where",
      [](nb::handle condition, nb::handle x, nb::handle y, nb::handle stream) {
        auto [a, b] = to_arrays(x, y, "where");
        return where(to_array(condition, std::nullopt, "where"), a, b,
                     to_stream_or_device(stream, "where"));
      },
      "condition"_a.none(), "x"_a.none(), "y"_a.none(), nb::kw_only(),
      "stream"_a.none() = nb::none(),
      "where(condition, x, y, *, stream=None): x where condition (taken as "
      "bool) is true, else y; the three broadcast together, x and y promote "
      "(a Python scalar beside an array is weak).");
}

void init_array_operators(nb::class_<array>& cls) {
  for (const Unary& op : kUnary) {
    if (!is_method(op.name)) continue;
    cls.def(
        op.name,
        [fn = op.fn, name = op.name](const array& a, nb::handle stream) {
          return fn(a, to_stream_or_device(stream, name));
        },
        nb::kw_only(), "stream"_a.none() = nb::none(), op.doc);
  }
  cls.def(
      "round",
      [](const array& a, nb::handle decimals, nb::handle stream) {
        return round(a, to_int(decimals, "round", "decimals"),
                     to_stream_or_device(stream, "round"));
      },
      "decimals"_a.none() = 0, nb::kw_only(), "stream"_a.none() = nb::none(),
      "a.round(decimals=0, *, stream=None): round(a, decimals).");
  def_operator<add>(cls, {"__add__", "__radd__", "__iadd__", "add"},
                    "a + b (see runnel.add).");
  def_operator<subtract>(cls, {"__sub__", "__rsub__", "__isub__", "subtract"},
                         "a - b (see runnel.subtract).");
  def_operator<multiply>(cls, {"__mul__", "__rmul__", "__imul__", "multiply"},
                         "a * b (see runnel.multiply).");
  def_operator<divide>(
      cls, {"__truediv__", "__rtruediv__", "__itruediv__", "divide"},
      "a / b (see runnel.divide).");
  def_operator<floor_divide>(
      cls, {"__floordiv__", "__rfloordiv__", "__ifloordiv__", "floor_divide"},
      "a // b (see runnel.floor_divide).");
  def_operator<remainder>(cls, {"__mod__", "__rmod__", "__imod__", "remainder"},
                          "a % b (see runnel.remainder).");
  def_operator<power>(cls, {"__pow__", "__rpow__", "__ipow__", "power"},
                      "a ** b (see runnel.power).");
  def_comparison<less>(cls, "__lt__", "less", "a < b, a bool array.");
  def_comparison<less_equal>(cls, "__le__", "less_equal",
                             "a <= b, a bool array.");
  def_comparison<greater>(cls, "__gt__", "greater", "a > b, a bool array.");
  def_comparison<greater_equal>(cls, "__ge__", "greater_equal",
                                "a >= b, a bool array.");
  // == and != give arrays, as in MLX, and are False and True beside what is
  // no operand (None, a string); arrays are so unhashable, as MLX's are.
  cls.def(
         "__eq__",
         [](nb::handle a, nb::handle b) -> nb::object {
           if (!is_operand(b)) return nb::bool_(false);
           return binary<equal>(a, b, "equal");
         },
         nb::is_operator(), "a == b, a bool array.")
      .def(
          "__ne__",
          [](nb::handle a, nb::handle b) -> nb::object {
            if (!is_operand(b)) return nb::bool_(true);
            return binary<not_equal>(a, b, "not_equal");
          },
          nb::is_operator(), "a != b, a bool array.")
      .def(
          "__neg__", [](const array& a) { return negative(a); },
          "-a (see runnel.negative).")
      .def(
          "__abs__", [](const array& a) { return abs(a); },
          "abs(a) (see runnel.abs).")
      .def(
          "__invert__",
          [](const array& a) {
            if (a.dtype() != bool_) {
              throw std::invalid_argument(
                  "[invert] ~ is supported for bool arrays only (logical_not); "
                  "got " +
                  std::string(dtype_name(a.dtype())) + ".");
            }
            return logical_not(a);
          },
          "~a: logical_not for a bool array.")
      .def(
          "__bool__",
          [](array& a) {
            if (a.size() != 1) {
              throw std::invalid_argument(
                  "[array] The truth value of an array of " +
                  std::to_string(a.size()) +
                  " elements is ambiguous; use .item() on one element.");
            }
            return astype(a, bool_).item<bool>();
          },
          nb::call_guard<nb::gil_scoped_release>(),
          "The truth of a one-element array; evaluates and waits.");
  cls.attr("__hash__") = nb::none();
}

}  // namespace runnel::python
