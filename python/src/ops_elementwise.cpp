// Elementwise ops and the array's arithmetic and comparison operators.
#include "python/src/common.h"

namespace runnel::python {
namespace {

using namespace nb::literals;

// The operand types an operator takes; others give NotImplemented.
bool is_operand(nb::handle h) {
  return nb::isinstance<array>(h) || PyBool_Check(h.ptr()) ||
         PyLong_Check(h.ptr()) || PyFloat_Check(h.ptr()) ||
         nb::hasattr(h, "__array_interface__");
}

template <array (*Op)(const array&, const array&, StreamOrDevice)>
nb::object binary(nb::handle a, nb::handle b, const char* fn) {
  if (!is_operand(a) || !is_operand(b)) {
    return nb::borrow(Py_NotImplemented);
  }
  auto [x, y] = to_arrays(a, b, fn);
  return nb::cast(Op(x, y, {}));
}

}  // namespace

void init_ops_elementwise(nb::module_& m) {
  m.def(
      "add",
      [](nb::handle a, nb::handle b, nb::handle stream) {
        auto [x, y] = to_arrays(a, b, "add");
        return add(x, y, to_stream_or_device(stream, "add"));
      },
      "a"_a, "b"_a, nb::kw_only(), "stream"_a.none() = nb::none(),
      "a + b, elementwise with numpy broadcasting. A Python scalar beside an "
      "array takes the array's dtype when it fits it, as in MLX.");
  m.def(
      "multiply",
      [](nb::handle a, nb::handle b, nb::handle stream) {
        auto [x, y] = to_arrays(a, b, "multiply");
        return multiply(x, y, to_stream_or_device(stream, "multiply"));
      },
      "a"_a, "b"_a, nb::kw_only(), "stream"_a.none() = nb::none(),
      "a * b, elementwise with numpy broadcasting (scalars as in add).");
  m.def(
      "exp",
      [](nb::handle a, nb::handle stream) {
        return exp(to_array(a, std::nullopt, "exp"),
                   to_stream_or_device(stream, "exp"));
      },
      "a"_a, nb::kw_only(), "stream"_a.none() = nb::none(),
      "e**a, elementwise; integer and bool inputs compute in float32.");
  m.def(
      "abs",
      [](nb::handle a, nb::handle stream) {
        return abs(to_array(a, std::nullopt, "abs"),
                   to_stream_or_device(stream, "abs"));
      },
      "a"_a, nb::kw_only(), "stream"_a.none() = nb::none(),
      "|a|, elementwise; the most negative integer stays itself.");
}

void init_array_operators(nb::class_<array>& cls) {
  cls.def(
         "__add__",
         [](nb::handle a, nb::handle b) { return binary<add>(a, b, "add"); },
         nb::is_operator(), "a + b")
      .def(
          "__radd__",
          [](nb::handle a, nb::handle b) { return binary<add>(b, a, "add"); },
          nb::is_operator(), "b + a")
      .def(
          "__mul__",
          [](nb::handle a, nb::handle b) {
            return binary<multiply>(a, b, "multiply");
          },
          nb::is_operator(), "a * b")
      .def(
          "__rmul__",
          [](nb::handle a, nb::handle b) {
            return binary<multiply>(b, a, "multiply");
          },
          nb::is_operator(), "b * a");
}

}  // namespace runnel::python
