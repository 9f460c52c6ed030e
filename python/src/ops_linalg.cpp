// matmul, addmm and the array's @ operator.
#include "python/src/common.h"

namespace runnel::python {
namespace {

using namespace nb::literals;

// The operand types @ takes (as the arithmetic operators); others give
// NotImplemented.
bool is_operand(nb::handle h) {
  return nb::isinstance<array>(h) || PyBool_Check(h.ptr()) ||
         PyLong_Check(h.ptr()) || PyFloat_Check(h.ptr()) ||
         nb::hasattr(h, "__array_interface__");
}

nb::object matmul_operator(nb::handle a, nb::handle b) {
  if (!is_operand(a) || !is_operand(b)) return nb::borrow(Py_NotImplemented);
  auto [x, y] = to_arrays(a, b, "matmul");
  return nb::cast(matmul(x, y));
}

}  // namespace

void init_ops_linalg(nb::module_& m) {
  m.def(
      "matmul",
      [](nb::handle a, nb::handle b, nb::handle stream) {
        auto [x, y] = to_arrays(a, b, "matmul");
        return matmul(x, y, to_stream_or_device(stream, "matmul"));
      },
      "a"_a.none(), "b"_a.none(), nb::kw_only(), "stream"_a.none() = nb::none(),
      "matmul(a, b, *, stream=None) -> array: the matrix product with numpy's "
      "rules: a 1-d a is a row and a 1-d b a column (the added axis is "
      "dropped), the leading (batch) axes broadcast. Integers wrap, bool is "
      "an or of ands, float16 and bfloat16 accumulate in float32.");
  m.def(
      "addmm",
      [](nb::handle c, nb::handle a, nb::handle b, nb::handle alpha,
         nb::handle beta, nb::handle stream) {
        return addmm(to_array(c, std::nullopt, "addmm"),
                     to_array(a, std::nullopt, "addmm"),
                     to_array(b, std::nullopt, "addmm"),
                     static_cast<float>(to_float(alpha, "addmm", "alpha")),
                     static_cast<float>(to_float(beta, "addmm", "beta")),
                     to_stream_or_device(stream, "addmm"));
      },
      "c"_a.none(), "a"_a.none(), "b"_a.none(), "alpha"_a.none() = 1.0,
      "beta"_a.none() = 1.0, nb::kw_only(), "stream"_a.none() = nb::none(),
      "addmm(c, a, b, alpha=1.0, beta=1.0, *, stream=None) -> array: alpha * "
      "(a @ b) + beta * c, c broadcast to the product's shape (floating "
      "dtypes; beta 0 ignores c).");
}

void init_array_matmul(nb::class_<array>& cls) {
  cls.def("__matmul__", &matmul_operator, nb::is_operator(), "a @ b")
      .def(
          "__rmatmul__",
          [](nb::handle a, nb::handle b) { return matmul_operator(b, a); },
          nb::is_operator(), "b @ a");
}

}  // namespace runnel::python
