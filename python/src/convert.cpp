// Python objects to runnel values: streams, devices, dtypes, shapes, arrays.
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "python/src/common.h"
#include "runnel/errors.h"

namespace runnel::python {
namespace {

using namespace nb::literals;

std::string py_type_name(nb::handle h) {
  return nb::type_name(h.type()).c_str();
}

[[noreturn]] void type_error(const char* fn, const std::string& msg) {
  throw nb::type_error((std::string("[") + fn + "] " + msg).c_str());
}

[[noreturn]] void value_error(const char* fn, const std::string& msg) {
  throw std::invalid_argument(std::string("[") + fn + "] " + msg);
}

[[noreturn]] void overflow_error(const char* fn, const std::string& msg) {
  std::string text = std::string("[") + fn + "] " + msg;
  PyErr_SetString(integer_overflow_error(), text.c_str());
  throw nb::python_error();
}

// Python bool and numpy bool, then ints (anything with __index__), then
// floats (anything with __float__); other objects are no scalar.
enum class ScalarKind { none, boolean, integer, floating };

ScalarKind scalar_kind(nb::handle h) {
  PyObject* o = h.ptr();
  if (PyBool_Check(o)) return ScalarKind::boolean;
  if (PyLong_Check(o)) return ScalarKind::integer;
  if (PyFloat_Check(o)) return ScalarKind::floating;
  return ScalarKind::none;
}

// A Python int that may also lie in [2^63, 2^64) (`big`: then `v` holds its
// bits, for uint64), as numpy takes it; ValueError past that.
struct IntValue {
  int64_t v = 0;
  bool big = false;
};
IntValue wide_int_value(nb::handle h, const char* fn) {
  int overflow = 0;
  long long v = PyLong_AsLongLongAndOverflow(h.ptr(), &overflow);
  if (v == -1 && PyErr_Occurred()) throw nb::python_error();
  if (overflow == 0) return {v, false};
  if (overflow > 0) {
    unsigned long long u = PyLong_AsUnsignedLongLong(h.ptr());
    if (!PyErr_Occurred()) return {static_cast<int64_t>(u), true};
    PyErr_Clear();
  }
  value_error(fn, "Python int " + std::string(nb::str(h).c_str()) +
                      " does not fit in 64 bits.");
}

// The value of a Python int; ValueError naming `fn` outside int64.
int64_t int_value(nb::handle h, const char* fn) {
  IntValue iv = wide_int_value(h, fn);
  if (iv.big) {
    value_error(fn, "Python int " + std::string(nb::str(h).c_str()) +
                        " does not fit in 64 bits.");
  }
  return iv.v;
}

bool fits_int32(int64_t v) {
  return v >= std::numeric_limits<int32_t>::min() &&
         v <= std::numeric_limits<int32_t>::max();
}

// Whether `v` is representable in the integer dtype `d` (64-bit ones take
// any value, wrapping as MLX does).
bool fits(int64_t v, Dtype d) {
  return dispatch_dtype(d, [&]<class T>(std::type_identity<T>) {
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool> &&
                  sizeof(T) < 8) {
      return v >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
             v <= static_cast<int64_t>(std::numeric_limits<T>::max());
    } else {
      return true;
    }
  });
}

// A Python scalar as an array. `like`: the dtype of the array beside it in a
// binary op (the scalar is weak), or nullopt.
array scalar_to_array(nb::handle h, ScalarKind kind, std::optional<Dtype> like,
                      const char* fn) {
  switch (kind) {
    case ScalarKind::boolean:
      return array(h.ptr() == Py_True, like.value_or(bool_));
    case ScalarKind::integer: {
      auto [v, big] = wide_int_value(h, fn);
      Dtype own = big ? uint64 : fits_int32(v) ? int32 : int64;
      Dtype out = like.value_or(own);
      if (out == bool_) out = own;
      if (is_integral(out) && (big ? out != uint64 : !fits(v, out))) {
        std::string name(dtype_name(out));
        overflow_error(fn, "Converting " + std::string(nb::str(h).c_str()) +
                               " to " + name + " would result in overflow.");
      }
      return big ? array(static_cast<uint64_t>(v), out) : array(v, out);
    }
    case ScalarKind::floating: {
      double v = PyFloat_AsDouble(h.ptr());
      Dtype out = like.value_or(float32);
      return array(v, is_floating_point(out) ? out : float32);
    }
    case ScalarKind::none:
      break;
  }
  type_error(fn, "expected a scalar, got " + py_type_name(h) + ".");
}

// Nested lists and tuples of Python scalars.
struct ListData {
  Shape shape;
  ScalarKind kind = ScalarKind::none;
  std::vector<double> floats;
  std::vector<int64_t> ints;
  bool wide = false;      // an int outside int32
  bool big = false;       // an int in [2^63, 2^64): read as uint64
  bool negative = false;  // a negative int
};

void walk_list(nb::handle h, size_t depth, ListData& out, const char* fn) {
  bool is_seq = PyList_Check(h.ptr()) || PyTuple_Check(h.ptr());
  if (depth < out.shape.size()) {
    if (!is_seq) {
      value_error(fn, "Initialization encountered non-uniform nesting.");
    }
    size_t n = nb::len(h);
    if (static_cast<int>(n) != out.shape[depth]) {
      value_error(fn, "Initialization encountered non-uniform length.");
    }
    for (nb::handle item : h) walk_list(item, depth + 1, out, fn);
    return;
  }
  if (is_seq)
    value_error(fn, "Initialization encountered non-uniform nesting.");
  ScalarKind kind = scalar_kind(h);
  if (kind == ScalarKind::none) {
    // numpy scalars and other numbers
    if (PyIndex_Check(h.ptr())) {
      kind = ScalarKind::integer;
    } else if (nb::hasattr(h, "__float__")) {
      kind = ScalarKind::floating;
    } else {
      type_error(fn, "Cannot convert a list holding a " + py_type_name(h) +
                         " to an array.");
    }
  }
  if (kind > out.kind) out.kind = kind;
  if (kind == ScalarKind::floating) {
    out.floats.push_back(nb::cast<double>(nb::float_(h)));
    out.ints.push_back(0);
  } else {
    IntValue iv{PyObject_IsTrue(h.ptr()) == 1, false};
    if (kind != ScalarKind::boolean) iv = wide_int_value(nb::int_(h), fn);
    out.wide = out.wide || !fits_int32(iv.v);
    out.big = out.big || iv.big;
    out.negative = out.negative || (!iv.big && iv.v < 0);
    if (out.big && out.negative) {
      value_error(fn,
                  "a list mixes negative ints with ints of 2**63 or "
                  "more: no integer dtype holds both.");
    }
    out.ints.push_back(iv.v);
    out.floats.push_back(iv.big
                             ? static_cast<double>(static_cast<uint64_t>(iv.v))
                             : static_cast<double>(iv.v));
  }
}

array list_to_array(nb::handle h, std::optional<Dtype> dtype, const char* fn) {
  ListData data;
  for (nb::handle cur = h;;) {
    if (!(PyList_Check(cur.ptr()) || PyTuple_Check(cur.ptr()))) break;
    size_t n = nb::len(cur);
    data.shape.push_back(static_cast<int>(n));
    if (n == 0) break;
    cur = cur[0];
  }
  walk_list(h, 0, data, fn);
  switch (data.kind) {
    case ScalarKind::boolean: {
      std::vector<uint8_t> b(data.ints.begin(), data.ints.end());
      return array(b.data(), bool_, data.shape, dtype.value_or(bool_));
    }
    case ScalarKind::integer:
      if (dtype && is_integral(*dtype) && *dtype != bool_) {
        for (size_t i = 0; i < data.ints.size(); ++i) {
          int64_t v = data.ints[i];
          // With `big`, a "negative" v holds the bits of a value >= 2**63.
          bool ok = data.big && v < 0 ? *dtype == uint64 : fits(v, *dtype);
          if (!ok) {
            std::string text = data.big && v < 0
                                   ? std::to_string(static_cast<uint64_t>(v))
                                   : std::to_string(v);
            overflow_error(fn, "Converting " + text + " to " +
                                   std::string(dtype_name(*dtype)) +
                                   " would result in overflow.");
          }
        }
      }
      if (data.big) {
        return array(data.ints.data(), uint64, data.shape,
                     dtype.value_or(uint64));
      }
      return array(data.ints.data(), int64, data.shape,
                   dtype.value_or(data.wide ? int64 : int32));
    default:  // floats, or an empty list: float32 as in MLX
      return array(data.floats.data(), float64, data.shape,
                   dtype.value_or(float32));
  }
}

std::optional<Dtype> from_dlpack_dtype(nb::dlpack::dtype t) {
  using Code = nb::dlpack::dtype_code;
  switch (static_cast<Code>(t.code)) {
    case Code::Bool:
      return bool_;
    case Code::Int:
      return t.bits == 8    ? int8
             : t.bits == 16 ? int16
             : t.bits == 32 ? int32
             : t.bits == 64 ? std::optional<Dtype>(int64)
                            : std::nullopt;
    case Code::UInt:
      return t.bits == 8    ? uint8
             : t.bits == 16 ? uint16
             : t.bits == 32 ? uint32
             : t.bits == 64 ? std::optional<Dtype>(uint64)
                            : std::nullopt;
    case Code::Float:
      return t.bits == 16   ? float16
             : t.bits == 32 ? float32
             : t.bits == 64 ? std::optional<Dtype>(float64)
                            : std::nullopt;
    case Code::Bfloat:
      return t.bits == 16 ? std::optional<Dtype>(bfloat16) : std::nullopt;
    default:
      return std::nullopt;
  }
}

// Anything numpy.asarray takes (numpy arrays and scalars, buffers, objects
// with __array__). float64 data becomes float32 unless `dtype` says
// otherwise, as in MLX.
array numpy_to_array(nb::handle h, std::optional<Dtype> dtype, const char* fn) {
  nb::object np = nb::module_::import_("numpy");
  nb::object nd;
  try {
    nd = np.attr("asarray")(h, "order"_a = "C");
  } catch (nb::python_error&) {
    nd = nb::none();
  }
  std::string kind;
  if (!nd.is_none()) {
    nb::object dt = nd.attr("dtype");
    kind = nb::str(dt).c_str();
  }
  bool bf16 = kind == "bfloat16";  // ml_dtypes: read the bits as uint16
  if (bf16) nd = nd.attr("view")(np.attr("uint16"));
  using Nd = nb::ndarray<nb::ro, nb::c_contig, nb::device::cpu>;
  Nd arr;
  if (nd.is_none() || !nb::try_cast<Nd>(nd, arr, false)) {
    type_error(fn, "Cannot convert an object of type " + py_type_name(h) +
                       (kind.empty() ? "" : " (dtype " + kind + ")") +
                       " to an array.");
  }
  std::optional<Dtype> src =
      bf16 ? std::optional<Dtype>(bfloat16) : from_dlpack_dtype(arr.dtype());
  if (!src) {
    type_error(fn, "Cannot convert numpy dtype " + kind + " to an array.");
  }
  Shape shape;
  for (size_t i = 0; i < arr.ndim(); ++i) {
    if (arr.shape(i) > static_cast<size_t>(std::numeric_limits<int>::max())) {
      value_error(
          fn, "Dimension " + std::to_string(arr.shape(i)) + " is too large.");
    }
    shape.push_back(static_cast<int>(arr.shape(i)));
  }
  Dtype out = dtype.value_or(*src == float64 ? float32 : *src);
  return array(arr.data(), *src, std::move(shape), out);
}

}  // namespace

// `h` as a Python int (bool refused), or TypeError "[fn] what must be ...".
static nb::object as_index(nb::handle h, const char* fn, const char* what) {
  if (PyBool_Check(h.ptr()) || !PyIndex_Check(h.ptr())) {
    type_error(fn, std::string(what) + " must be an int, not " +
                       py_type_name(h) + ".");
  }
  nb::object i = nb::steal(PyNumber_Index(h.ptr()));
  if (!i.is_valid()) {
    // A numpy array of several elements (or of objects) has __index__ but
    // refuses it.
    PyErr_Clear();
    type_error(fn, std::string(what) + " must be an int, not " +
                       py_type_name(h) + ".");
  }
  return i;
}

// A sequence to iterate (a list, a tuple, a numpy array of one or more
// dimensions), not a str or an int.
static bool is_sequence(nb::handle h) {
  PyObject* o = h.ptr();
  if (PyLong_Check(o) || PyUnicode_Check(o) || PyBytes_Check(o) ||
      !PySequence_Check(o)) {
    return false;
  }
  if (PyObject_Length(o) < 0) {  // a 0-d numpy array
    PyErr_Clear();
    return false;
  }
  return true;
}

int to_int(nb::handle h, const char* fn, const char* what) {
  nb::object i = as_index(h, fn, what);
  int overflow = 0;
  long long v = PyLong_AsLongLongAndOverflow(i.ptr(), &overflow);
  if (v == -1 && PyErr_Occurred()) throw nb::python_error();
  if (overflow != 0 || !fits_int32(v)) {
    value_error(
        fn, std::string(what) + " " + nb::str(i).c_str() + " is out of range.");
  }
  return static_cast<int>(v);
}

std::optional<int> to_optional_int(nb::handle h, const char* fn,
                                   const char* what) {
  if (h.is_none()) return std::nullopt;
  return to_int(h, fn, what);
}

uint64_t to_uint64(nb::handle h, const char* fn, const char* what) {
  nb::object i = as_index(h, fn, what);
  unsigned long long v = PyLong_AsUnsignedLongLong(i.ptr());
  if (v == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {
    PyErr_Clear();  // negative, or 2**64 and above
    value_error(fn, std::string(what) + " " + nb::str(i).c_str() +
                        " is out of range: it must lie in [0, 2**64).");
  }
  return v;
}

double to_float(nb::handle h, const char* fn, const char* what) {
  if (PyBool_Check(h.ptr()) || PyUnicode_Check(h.ptr()) ||
      PyBytes_Check(h.ptr()) ||
      !(PyFloat_Check(h.ptr()) || PyIndex_Check(h.ptr()) ||
        nb::hasattr(h, "__float__"))) {
    type_error(fn, std::string(what) + " must be a float, not " +
                       py_type_name(h) + ".");
  }
  double v = PyFloat_AsDouble(h.ptr());
  if (v == -1.0 && PyErr_Occurred()) {
    if (!PyErr_ExceptionMatches(PyExc_OverflowError)) {
      throw nb::python_error();
    }
    PyErr_Clear();  // an int past the doubles
    value_error(
        fn, std::string(what) + " " + nb::str(h).c_str() + " is out of range.");
  }
  return v;
}

bool to_bool(nb::handle h, const char* fn, const char* what) {
  if (!PyBool_Check(h.ptr())) {
    type_error(fn, std::string(what) + " must be a bool, not " +
                       py_type_name(h) + ".");
  }
  return h.ptr() == Py_True;
}

std::string to_str(nb::handle h, const char* fn, const char* what) {
  if (!PyUnicode_Check(h.ptr())) {
    type_error(
        fn, std::string(what) + " must be a str, not " + py_type_name(h) + ".");
  }
  return nb::cast<std::string>(h);
}

// A device given as `stream=` must exist: the error names `fn`, not the
// default_stream lookup that would find out later.
static Device available(Device d, const char* fn) {
  if (!is_available(d)) value_error(fn, to_string(d) + " is not available.");
  return d;
}

StreamOrDevice to_stream_or_device(nb::handle h, const char* fn) {
  if (h.is_none()) return std::monostate{};
  if (nb::isinstance<Stream>(h)) return nb::cast<Stream>(h);
  if (nb::isinstance<Device>(h)) return available(nb::cast<Device>(h), fn);
  if (nb::isinstance<DeviceType>(h)) {
    return available(Device(nb::cast<DeviceType>(h)), fn);
  }
  if (nb::hasattr(h, "__runnel_stream__")) {
    return to_stream(h.attr("__runnel_stream__")(), fn);
  }
  type_error(fn,
             "stream must be None, a Stream, a Device or a DeviceType, "
             "not " +
                 py_type_name(h) + ".");
}

Stream to_stream(nb::handle h, const char* fn) {
  if (nb::isinstance<Stream>(h)) return nb::cast<Stream>(h);
  if (nb::hasattr(h, "__runnel_stream__")) {
    return to_stream(h.attr("__runnel_stream__")(), fn);
  }
  type_error(fn, "expected a Stream, not " + py_type_name(h) + ".");
}

Device to_device(nb::handle h, const char* fn) {
  if (nb::isinstance<Device>(h)) return nb::cast<Device>(h);
  if (nb::isinstance<DeviceType>(h)) return Device(nb::cast<DeviceType>(h));
  type_error(fn,
             "expected a Device or a DeviceType, not " + py_type_name(h) + ".");
}

Device to_device_or_default(nb::handle h, const char* fn) {
  return h.is_none() ? default_device() : to_device(h, fn);
}

std::optional<Dtype> to_dtype(nb::handle h, const char* fn) {
  if (h.is_none()) return std::nullopt;
  if (nb::isinstance<Dtype>(h)) return nb::cast<Dtype>(h);
  type_error(fn, "dtype must be a runnel Dtype (such as runnel.float32), not " +
                     py_type_name(h) + ".");
}

Shape to_shape(nb::handle h, const char* fn) {
  auto dim = [&](nb::handle d) {
    if (PyBool_Check(d.ptr()) || !PyIndex_Check(d.ptr())) {
      type_error(fn, "shape must be an int or a sequence of ints, got a " +
                         py_type_name(d) + ".");
    }
    int64_t v = int_value(as_index(d, fn, "shape"), fn);
    if (v > std::numeric_limits<int>::max()) {
      value_error(fn, "Dimension " + std::to_string(v) + " is too large.");
    }
    return static_cast<int>(v);
  };
  if (!is_sequence(h) && PyIndex_Check(h.ptr())) return Shape{dim(h)};
  if (!is_sequence(h)) {
    type_error(fn, "shape must be an int or a sequence of ints, not " +
                       py_type_name(h) + ".");
  }
  Shape shape;
  for (nb::handle d : h) shape.push_back(dim(d));
  return shape;
}

array to_array(nb::handle h, std::optional<Dtype> dtype, const char* fn) {
  if (nb::isinstance<array>(h)) {
    const array& a = nb::cast<const array&>(h);
    return dtype && *dtype != a.dtype() ? astype(a, *dtype) : a;
  }
  if (ScalarKind kind = scalar_kind(h); kind != ScalarKind::none) {
    // A Python float given a float dtype is rounded once, from its double.
    if (kind == ScalarKind::floating && dtype && is_floating_point(*dtype)) {
      return array(PyFloat_AsDouble(h.ptr()), *dtype);
    }
    // A Python int given an integer dtype must fit it (numpy's
    // OverflowError), not wrap.
    bool int_into_int = kind == ScalarKind::integer && dtype &&
                        is_integral(*dtype) && *dtype != bool_;
    array a = scalar_to_array(
        h, kind, int_into_int ? dtype : std::optional<Dtype>(), fn);
    return dtype && *dtype != a.dtype() ? astype(a, *dtype) : a;
  }
  if (PyList_Check(h.ptr()) || PyTuple_Check(h.ptr())) {
    return list_to_array(h, dtype, fn);
  }
  return numpy_to_array(h, dtype, fn);
}

std::pair<array, array> to_arrays(nb::handle a, nb::handle b, const char* fn) {
  bool a_arr = nb::isinstance<array>(a), b_arr = nb::isinstance<array>(b);
  if (a_arr && !b_arr) {
    const array& x = nb::cast<const array&>(a);
    if (ScalarKind k = scalar_kind(b); k != ScalarKind::none) {
      return {x, scalar_to_array(b, k, x.dtype(), fn)};
    }
  } else if (b_arr && !a_arr) {
    const array& y = nb::cast<const array&>(b);
    if (ScalarKind k = scalar_kind(a); k != ScalarKind::none) {
      return {scalar_to_array(a, k, y.dtype(), fn), y};
    }
  }
  return {to_array(a, std::nullopt, fn), to_array(b, std::nullopt, fn)};
}

void set_python_error() {
  try {
    throw;
  } catch (nb::python_error& e) {
    e.restore();
  } catch (const out_of_memory& e) {
    PyErr_SetString(PyExc_MemoryError, e.what());
  } catch (const std::bad_alloc& e) {
    PyErr_SetString(PyExc_MemoryError, e.what());
  } catch (const std::invalid_argument& e) {
    PyErr_SetString(PyExc_ValueError, e.what());
  } catch (const std::out_of_range& e) {
    PyErr_SetString(PyExc_IndexError, e.what());
  } catch (const nb::builtin_exception& e) {
    PyErr_SetString(e.type() == nb::exception_type::type_error
                        ? PyExc_TypeError
                        : PyExc_RuntimeError,
                    e.what());
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
  } catch (...) {
    PyErr_SetString(PyExc_RuntimeError, "unknown C++ exception");
  }
}

}  // namespace runnel::python
