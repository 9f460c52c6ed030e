// The foundation ops: creation, elementwise, reduce. Each takes keyword
// `stream=`: None, a Stream, a Device or a DeviceType.
#include <nanobind/stl/optional.h>

#include "python/src/common.h"

namespace runnel::python {
namespace {

using namespace nb::literals;

// A number for arange: an int or a float (bool counts as an int).
bool is_float_arg(nb::handle h, const char* fn) {
  if (PyFloat_Check(h.ptr())) return true;
  if (PyLong_Check(h.ptr())) return false;
  throw nb::type_error((std::string("[") + fn +
                        "] expected an int or a float, not " +
                        nb::type_name(h.type()).c_str() + ".")
                           .c_str());
}

}  // namespace

void init_ops(nb::module_& m) {
  m.def(
      "zeros",
      [](nb::handle shape, nb::handle dtype, nb::handle stream) {
        return zeros(to_shape(shape, "zeros"),
                     to_dtype(dtype, "zeros").value_or(float32),
                     to_stream_or_device(stream, "zeros"));
      },
      "shape"_a.none(), "dtype"_a.none() = nb::none(), nb::kw_only(),
      "stream"_a.none() = nb::none(),
      "zeros(shape, dtype=float32, *, stream=None): an array of zeros; shape "
      "is an int or a sequence of ints.");
  m.def(
      "ones",
      [](nb::handle shape, nb::handle dtype, nb::handle stream) {
        return ones(to_shape(shape, "ones"),
                    to_dtype(dtype, "ones").value_or(float32),
                    to_stream_or_device(stream, "ones"));
      },
      "shape"_a.none(), "dtype"_a.none() = nb::none(), nb::kw_only(),
      "stream"_a.none() = nb::none(),
      "ones(shape, dtype=float32, *, stream=None): an array of ones.");
  m.def(
      "full",
      [](nb::handle shape, nb::handle vals, nb::handle dtype,
         nb::handle stream) {
        Shape sh = to_shape(shape, "full");
        auto d = to_dtype(dtype, "full");
        // A Python int is converted to the dtype: OverflowError when it does
        // not fit (numpy's), rather than wrapping.
        bool py_int = PyLong_Check(vals.ptr()) && !PyBool_Check(vals.ptr());
        array v = to_array(vals, py_int ? d : std::nullopt, "full");
        StreamOrDevice s = to_stream_or_device(stream, "full");
        return d ? full(std::move(sh), v, *d, s) : full(std::move(sh), v, s);
      },
      "shape"_a.none(), "vals"_a.none(), "dtype"_a.none() = nb::none(),
      nb::kw_only(), "stream"_a.none() = nb::none(),
      "full(shape, vals, dtype=None, *, stream=None): an array of the shape "
      "filled with vals (broadcast), as dtype (default: vals' dtype).");
  m.def(
      "arange",
      [](nb::handle start, nb::handle stop, nb::handle step, nb::handle dtype,
         nb::handle stream) {
        if (stop.is_none()) std::swap(start, stop);
        bool floating = is_float_arg(stop, "arange");
        double lo = 0, st = 1;
        if (!start.is_none()) {
          floating = is_float_arg(start, "arange") || floating;
          lo = nb::cast<double>(start);
        }
        if (!step.is_none()) {
          floating = is_float_arg(step, "arange") || floating;
          st = nb::cast<double>(step);
        }
        Dtype d =
            to_dtype(dtype, "arange").value_or(floating ? float32 : int32);
        return arange(lo, nb::cast<double>(stop), st, d,
                      to_stream_or_device(stream, "arange"));
      },
      "start"_a.none(), "stop"_a.none() = nb::none(),
      "step"_a.none() = nb::none(), "dtype"_a.none() = nb::none(),
      nb::kw_only(), "stream"_a.none() = nb::none(),
      "arange(start, stop, step=1, dtype=None, *, stream=None) or "
      "arange(stop, ...): values from start (default 0, inclusive) to stop "
      "(exclusive) by step. The dtype is int32 when every bound is an int, "
      "else float32.");
  m.def(
      "zeros_like",
      [](nb::handle a, nb::handle stream) {
        return zeros_like(to_array(a, std::nullopt, "zeros_like"),
                          to_stream_or_device(stream, "zeros_like"));
      },
      "a"_a.none(), nb::kw_only(), "stream"_a.none() = nb::none(),
      "zeros_like(a, *, stream=None): zeros of a's shape and dtype.");
  m.def(
      "ones_like",
      [](nb::handle a, nb::handle stream) {
        return ones_like(to_array(a, std::nullopt, "ones_like"),
                         to_stream_or_device(stream, "ones_like"));
      },
      "a"_a.none(), nb::kw_only(), "stream"_a.none() = nb::none(),
      "ones_like(a, *, stream=None): ones of a's shape and dtype.");
  m.def(
      "full_like",
      [](nb::handle a, nb::handle vals, nb::handle dtype, nb::handle stream) {
        array x = to_array(a, std::nullopt, "full_like");
        auto d = to_dtype(dtype, "full_like");
        // A Python float stays exact (float64) until cast to the dtype.
        bool py_int = PyLong_Check(vals.ptr()) && !PyBool_Check(vals.ptr());
        array v = PyFloat_Check(vals.ptr())
                      ? array(PyFloat_AsDouble(vals.ptr()))
                      : to_array(vals,
                                 py_int ? d.value_or(x.dtype())
                                        : std::optional<Dtype>(),
                                 "full_like");
        return full_like(x, v, d.value_or(x.dtype()),
                         to_stream_or_device(stream, "full_like"));
      },
      "a"_a.none(), "vals"_a.none(), "dtype"_a.none() = nb::none(),
      nb::kw_only(), "stream"_a.none() = nb::none(),
      "full_like(a, vals, dtype=None, *, stream=None): an array of a's shape "
      "filled with vals (broadcast), as dtype (default: a's dtype).");
  m.def(
      "linspace",
      [](nb::handle start, nb::handle stop, nb::handle num, nb::handle dtype,
         nb::handle stream) {
        is_float_arg(start, "linspace");
        is_float_arg(stop, "linspace");
        return linspace(nb::cast<double>(start), nb::cast<double>(stop),
                        to_int(num, "linspace", "num"),
                        to_dtype(dtype, "linspace").value_or(float32),
                        to_stream_or_device(stream, "linspace"));
      },
      "start"_a.none(), "stop"_a.none(), "num"_a.none() = 50,
      "dtype"_a.none() = nb::none(), nb::kw_only(),
      "stream"_a.none() = nb::none(),
      "linspace(start, stop, num=50, dtype=float32, *, stream=None): num "
      "evenly spaced values from start to stop, both included; computed in "
      "float64 and cast to dtype (integers round toward zero).");
  m.def(
      "eye",
      [](nb::handle n, nb::handle m_, nb::handle k, nb::handle dtype,
         nb::handle stream) {
        int rows = to_int(n, "eye", "n");
        return eye(rows, to_optional_int(m_, "eye", "m").value_or(rows),
                   to_int(k, "eye", "k"),
                   to_dtype(dtype, "eye").value_or(float32),
                   to_stream_or_device(stream, "eye"));
      },
      "n"_a.none(), "m"_a.none() = nb::none(), "k"_a.none() = 0,
      "dtype"_a.none() = nb::none(), nb::kw_only(),
      "stream"_a.none() = nb::none(),
      "eye(n, m=None, k=0, dtype=float32, *, stream=None): an (n, m) matrix "
      "(m defaults to n) with ones on diagonal k (> 0 above the main one, < 0 "
      "below) and zeros elsewhere.");
  m.def(
      "identity",
      [](nb::handle n, nb::handle dtype, nb::handle stream) {
        return identity(to_int(n, "identity", "n"),
                        to_dtype(dtype, "identity").value_or(float32),
                        to_stream_or_device(stream, "identity"));
      },
      "n"_a.none(), "dtype"_a.none() = nb::none(), nb::kw_only(),
      "stream"_a.none() = nb::none(),
      "identity(n, dtype=float32, *, stream=None): the (n, n) identity "
      "matrix.");
  m.def(
      "astype",
      [](nb::handle a, nb::handle dtype, nb::handle stream) {
        auto d = to_dtype(dtype, "astype");
        if (!d) throw nb::type_error("[astype] dtype is required.");
        return astype(to_array(a, std::nullopt, "astype"), *d,
                      to_stream_or_device(stream, "astype"));
      },
      "a"_a.none(), "dtype"_a.none(), nb::kw_only(),
      "stream"_a.none() = nb::none(),
      "A copy of a as dtype (numpy's casting of values).");
}

}  // namespace runnel::python
