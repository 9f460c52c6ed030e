// The foundation ops: creation, elementwise, reduce. Each takes keyword
// `stream=`: None, a Stream, a Device or a DeviceType.
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
      "shape"_a, "dtype"_a.none() = nb::none(), nb::kw_only(),
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
      "shape"_a, "dtype"_a.none() = nb::none(), nb::kw_only(),
      "stream"_a.none() = nb::none(),
      "ones(shape, dtype=float32, *, stream=None): an array of ones.");
  m.def(
      "full",
      [](nb::handle shape, nb::handle vals, nb::handle dtype,
         nb::handle stream) {
        Shape sh = to_shape(shape, "full");
        auto d = to_dtype(dtype, "full");
        array v = to_array(vals, std::nullopt, "full");
        StreamOrDevice s = to_stream_or_device(stream, "full");
        return d ? full(std::move(sh), v, *d, s) : full(std::move(sh), v, s);
      },
      "shape"_a, "vals"_a, "dtype"_a.none() = nb::none(), nb::kw_only(),
      "stream"_a.none() = nb::none(),
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
      "start"_a, "stop"_a.none() = nb::none(), "step"_a.none() = nb::none(),
      "dtype"_a.none() = nb::none(), nb::kw_only(),
      "stream"_a.none() = nb::none(),
      "arange(start, stop, step=1, dtype=None, *, stream=None) or "
      "arange(stop, ...): values from start (default 0, inclusive) to stop "
      "(exclusive) by step. The dtype is int32 when every bound is an int, "
      "else float32.");
  m.def(
      "astype",
      [](nb::handle a, nb::handle dtype, nb::handle stream) {
        auto d = to_dtype(dtype, "astype");
        if (!d) throw nb::type_error("[astype] dtype is required.");
        return astype(to_array(a, std::nullopt, "astype"), *d,
                      to_stream_or_device(stream, "astype"));
      },
      "a"_a, "dtype"_a, nb::kw_only(), "stream"_a.none() = nb::none(),
      "A copy of a as dtype (numpy's casting of values).");
}

}  // namespace runnel::python
