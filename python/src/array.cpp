// Dtypes, the array type (construction, properties, reading values, numpy
// conversion through the buffer protocol, operators) and eval/async_eval.
#include <nanobind/stl/string.h>

#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "python/src/common.h"

namespace runnel::python {
namespace {

using namespace nb::literals;

// Evaluates with the GIL released: other Python threads run while we wait.
void eval_nogil(array& a) {
  nb::gil_scoped_release nogil;
  a.eval();
}

// One element as a Python object.
template <class T>
nb::object element(const T& v) {
  if constexpr (std::is_same_v<T, bool>) {
    return nb::bool_(v);
  } else if constexpr (std::is_signed_v<T> && std::is_integral_v<T>) {
    return nb::int_(static_cast<int64_t>(v));
  } else if constexpr (std::is_integral_v<T>) {
    return nb::int_(static_cast<uint64_t>(v));
  } else {
    return nb::float_(static_cast<double>(v));
  }
}

// Views are walked by their strides (in elements, any sign) from element 0.
template <class T>
nb::object to_list(const T* data, const Shape& shape, const Strides& strides,
                   size_t dim) {
  if (dim == shape.size()) return element(*data);
  nb::list out;
  for (int i = 0; i < shape[dim]; ++i) {
    out.append(to_list(data + i * strides[dim], shape, strides, dim + 1));
  }
  return out;
}

nb::object item(array& a) {
  if (a.size() != 1) {
    throw std::invalid_argument(
        "[item] Only one-element arrays can be converted to a scalar.");
  }
  eval_nogil(a);
  return dispatch_dtype(a.dtype(), [&]<class T>(std::type_identity<T>) {
    return element(*a.data<T>());
  });
}

// float(a) and int(a): the one element converted as Python converts it.
nb::object to_python_number(array& a, const char* fn,
                            PyObject* (*convert)(PyObject*)) {
  if (a.size() != 1) {
    throw std::invalid_argument(
        std::string("[") + fn +
        "] Only one-element arrays can be converted to Python scalars, got " +
        std::to_string(a.size()) + " elements.");
  }
  nb::object v = item(a);
  return nb::steal(convert(v.ptr()));  // a null result raises its error
}

// iter(a): the subarrays a[0], a[1], ... along the first axis, as views.
struct ArrayIterator {
  array a;
  int next = 0;
};

nb::object tolist(array& a) {
  eval_nogil(a);
  return dispatch_dtype(a.dtype(), [&]<class T>(std::type_identity<T>) {
    // An empty array has no element 0 to point at.
    const T* data = a.size() ? a.data<T>() : nullptr;
    return to_list(data, a.shape(), a.strides(), 0);
  });
}

// repr: numpy's layout, MLX's header; large arrays show their edges only.
template <class T>
void format_element(std::ostream& os, const T& v) {
  if constexpr (std::is_same_v<T, bool>) {
    os << (v ? "True" : "False");
  } else if constexpr (std::is_integral_v<T>) {
    os << +v;
  } else {
    os << static_cast<double>(v);
  }
}

template <class T>
void format_dim(std::ostream& os, const T* data, const Shape& shape,
                const Strides& strides, size_t dim, int indent,
                bool summarize) {
  if (dim == shape.size()) {
    format_element(os, *data);
    return;
  }
  constexpr int kEdge = 3;
  int n = shape[dim];
  os << "[";
  for (int i = 0; i < n; ++i) {
    if (summarize && n > 2 * kEdge && i == kEdge) {
      os << "...";
      i = n - kEdge - 1;
    } else {
      format_dim(os, data + i * strides[dim], shape, strides, dim + 1,
                 indent + 1, summarize);
    }
    if (i + 1 < n) {
      os << ",";
      if (dim + 1 == shape.size()) {
        os << " ";
      } else {
        os << std::string(shape.size() - dim - 1, '\n')
           << std::string(indent + 1, ' ');
      }
    }
  }
  os << "]";
}

std::string array_repr(array& a) {
  eval_nogil(a);
  std::ostringstream os;
  os << "array(";
  dispatch_dtype(a.dtype(), [&]<class T>(std::type_identity<T>) {
    const T* data = a.size() ? a.data<T>() : nullptr;
    format_dim(os, data, a.shape(), a.strides(), 0, 6, a.size() > 1000);
  });
  os << ", dtype=" << a.dtype() << ")";
  return os.str();
}

// The buffer protocol: a read-only view of the evaluated data with its real
// strides (in bytes, any sign, 0 on broadcast axes) when the consumer takes
// strides; a row-major copy when it asks for a contiguous buffer and the
// array is not one. The view keeps its own handle on the array (and so on
// the memory it shares).
struct BufferInfo {
  array a;
  std::vector<Py_ssize_t> shape, strides;
  std::vector<char> copy;  // the row-major copy, when one was made
};

const char* buffer_format(Dtype d) {
  switch (d) {
    case bool_:
      return "?";
    case uint8:
      return "B";
    case uint16:
      return "H";
    case uint32:
      return "I";
    case uint64:
      return "Q";
    case int8:
      return "b";
    case int16:
      return "h";
    case int32:
      return "i";
    case int64:
      return "q";
    case float16:
      return "e";
    case float32:
      return "f";
    case float64:
      return "d";
    case bfloat16:
      return nullptr;
  }
  return nullptr;
}

int getbuffer(PyObject* obj, Py_buffer* view, int flags) {
  view->obj = nullptr;
  if (flags & PyBUF_WRITABLE) {
    PyErr_SetString(PyExc_BufferError,
                    "[array] runnel arrays export read-only buffers.");
    return -1;
  }
  try {
    array a = nb::cast<array>(nb::handle(obj));
    const char* format = buffer_format(a.dtype());
    if (!format) {
      PyErr_SetString(PyExc_BufferError,
                      "[array] bfloat16 has no buffer format: convert with "
                      "a.astype(runnel.float32), or use numpy.array(a) with "
                      "ml_dtypes installed.");
      return -1;
    }
    eval_nogil(a);
    auto info = std::make_unique<BufferInfo>(BufferInfo{a, {}, {}, {}});
    const Py_ssize_t item = static_cast<Py_ssize_t>(a.itemsize());
    info->shape.assign(a.shape().begin(), a.shape().end());
    info->strides.resize(a.ndim());
    const bool takes_strides = (flags & PyBUF_STRIDES) == PyBUF_STRIDES;
    if ((flags & PyBUF_F_CONTIGUOUS) == PyBUF_F_CONTIGUOUS && a.ndim() > 1) {
      PyErr_SetString(PyExc_BufferError,
                      "[array] runnel arrays export row-major buffers only.");
      return -1;
    }
    const bool wants_contiguous =
        (flags & PyBUF_C_CONTIGUOUS) == PyBUF_C_CONTIGUOUS ||
        (flags & PyBUF_ANY_CONTIGUOUS) == PyBUF_ANY_CONTIGUOUS;
    const bool contiguous = detail::is_row_contiguous(a.shape(), a.strides());
    // Strided export: the memory itself, shared with the array.
    const bool strided =
        a.size() > 0 && !contiguous && takes_strides && !wants_contiguous;
    void* buf = nullptr;
    if (a.size() == 0) {
      // Nothing to point at.
    } else if (contiguous || strided) {
      buf = a.raw_data();
    } else {
      info->copy.resize(a.nbytes());
      {
        nb::gil_scoped_release nogil;
        detail::copy_to_row_major(a, info->copy.data());
      }
      buf = info->copy.data();
    }
    Py_ssize_t stride = item;
    for (int i = a.ndim() - 1; i >= 0; --i) {
      info->strides[i] =
          strided ? static_cast<Py_ssize_t>(a.strides()[i]) * item : stride;
      stride *= a.shape(i);
    }
    view->buf = buf;
    view->obj = Py_NewRef(obj);
    view->len = static_cast<Py_ssize_t>(a.nbytes());
    view->readonly = 1;
    view->itemsize = static_cast<Py_ssize_t>(a.itemsize());
    view->format = (flags & PyBUF_FORMAT) ? const_cast<char*>(format) : nullptr;
    view->ndim = a.ndim();
    view->shape = (flags & PyBUF_ND) ? info->shape.data() : nullptr;
    view->strides = (flags & PyBUF_STRIDES) == PyBUF_STRIDES
                        ? info->strides.data()
                        : nullptr;
    view->suboffsets = nullptr;
    view->internal = info.release();
    return 0;
  } catch (...) {
    set_python_error();
    return -1;
  }
}

void releasebuffer(PyObject*, Py_buffer* view) {
  delete static_cast<BufferInfo*>(view->internal);
}

PyType_Slot array_slots[] = {
    {Py_bf_getbuffer, reinterpret_cast<void*>(getbuffer)},
    {Py_bf_releasebuffer, reinterpret_cast<void*>(releasebuffer)},
    {0, nullptr}};

// numpy's __array__: numpy uses the buffer protocol first, so this serves
// bfloat16 (through ml_dtypes) and explicit dtype requests.
nb::object to_numpy(nb::handle self, nb::handle dtype, nb::handle copy) {
  array a = nb::cast<array>(self);
  nb::object np = nb::module_::import_("numpy");
  nb::object out;
  if (a.dtype() == bfloat16) {
    nb::object bf16;
    try {
      bf16 = nb::module_::import_("ml_dtypes").attr("bfloat16");
    } catch (nb::python_error&) {
      throw nb::type_error(
          "[array] numpy has no bfloat16: install ml_dtypes, or convert "
          "first with a.astype(runnel.float32).");
    }
    eval_nogil(a);
    // Row-major bits, whatever the array's strides.
    nb::object bits = nb::steal(PyBytes_FromStringAndSize(
        nullptr, static_cast<Py_ssize_t>(a.nbytes())));
    if (!bits.is_valid()) throw nb::python_error();
    {
      char* dst = PyBytes_AsString(bits.ptr());
      nb::gil_scoped_release nogil;
      detail::copy_to_row_major(a, dst);
    }
    nb::list dims;
    for (int d : a.shape()) dims.append(d);
    nb::tuple shape(dims);
    out = np.attr("frombuffer")(bits, np.attr("uint16"))
              .attr("reshape")(shape)
              .attr("view")(bf16);
  } else {
    nb::object view = nb::steal(PyMemoryView_FromObject(self.ptr()));
    if (!view.is_valid()) throw nb::python_error();
    out = np.attr("asarray")(view);
  }
  if (!dtype.is_none()) out = out.attr("astype")(dtype);
  if (!copy.is_none() && nb::cast<bool>(copy)) out = out.attr("copy")();
  return out;
}

// Arrays anywhere in nested lists, tuples and dicts; other leaves ignored.
void collect(nb::handle h, std::vector<array>& out) {
  if (nb::isinstance<array>(h)) {
    out.push_back(nb::cast<array>(h));
  } else if (PyList_Check(h.ptr()) || PyTuple_Check(h.ptr())) {
    for (nb::handle item : h) collect(item, out);
  } else if (PyDict_Check(h.ptr())) {
    for (auto [key, value] : nb::borrow<nb::dict>(h)) collect(value, out);
  }
}

}  // namespace

void init_array(nb::module_& m) {
  // Python names: bool_ as in numpy and MLX, the others as dtype_name.
  static const char* const kNames[kNumDtypes] = {
      "bool_", "uint8", "uint16",  "uint32",   "uint64",  "int8",   "int16",
      "int32", "int64", "float16", "bfloat16", "float32", "float64"};
  nb::enum_<Dtype> dtype(m, "Dtype", "The element type of an array.");
  for (int i = 0; i < kNumDtypes; ++i) {
    dtype.value(kNames[i], static_cast<Dtype>(i));
  }
  dtype.export_values()
      .def_prop_ro(
          "size", [](Dtype d) { return size_of(d); }, "Bytes per element.")
      .def(
          "__repr__",
          [](Dtype d) { return "runnel." + std::string(dtype_name(d)); },
          "runnel.<name>, as MLX prints dtypes.")
      .def(
          "__str__",
          [](Dtype d) { return "runnel." + std::string(dtype_name(d)); },
          "runnel.<name>, as MLX prints dtypes.");

  nb::class_<ArrayIterator>(m, "_ArrayIterator",
                            "An iterator over an array's first axis.")
      .def(
          "__iter__", [](nb::handle self) { return nb::borrow(self); },
          "The iterator itself.")
      .def(
          "__next__",
          [](ArrayIterator& it) {
            if (it.next >= it.a.shape(0)) throw nb::stop_iteration();
            return index_basic(it.a, nb::int_(it.next++));
          },
          "The next subarray along the first axis.");

  nb::class_<array> cls(m, "array", nb::type_slots(array_slots),
                        "A lazy n-dimensional array bound to the stream it "
                        "runs on.");
  cls.def(
         "__init__",
         [](array* self, nb::handle val, nb::handle dtype) {
           new (self) array(to_array(val, to_dtype(dtype, "array"), "array"));
         },
         "val"_a.none(), "dtype"_a.none() = nb::none(),
         "array(val, dtype=None): a copy of a Python scalar, a nested list "
         "or tuple, a numpy array or another array. The dtype is inferred as "
         "MLX does (bool, int32, float32; numpy float64 becomes float32) "
         "unless given.")
      .def_prop_ro(
          "shape",
          [](const array& a) {
            nb::list out;
            for (int d : a.shape()) out.append(d);
            return nb::tuple(out);
          },
          "The shape, a tuple of ints.")
      .def_prop_ro("dtype", &array::dtype, "The element type.")
      .def_prop_ro("size", &array::size, "The number of elements.")
      .def_prop_ro("ndim", &array::ndim, "The number of dimensions.")
      .def_prop_ro("itemsize", &array::itemsize, "Bytes per element.")
      .def_prop_ro("nbytes", &array::nbytes, "Bytes of all the elements.")
      .def("item", &item,
           "The value of a one-element array as a Python scalar; evaluates "
           "and waits.")
      .def("tolist", &tolist,
           "The values as nested lists of Python scalars (a scalar for a 0-d "
           "array); evaluates and waits.")
      .def(
          "astype",
          [](const array& a, nb::handle dtype, nb::handle stream) {
            auto d = to_dtype(dtype, "astype");
            if (!d) throw nb::type_error("[astype] dtype is required.");
            return astype(a, *d, to_stream_or_device(stream, "astype"));
          },
          "dtype"_a.none(), "stream"_a.none() = nb::none(),
          "A copy as another dtype (numpy's casting of values).")
      .def("__repr__", &array_repr, "Evaluates and prints the values.")
      .def(
          "__len__",
          [](const array& a) {
            if (a.ndim() == 0) {
              throw nb::type_error("[array] len() of a 0-d array.");
            }
            return a.shape(0);
          },
          "The size of the first dimension.")
      .def(
          "__iter__",
          [](const array& a) {
            if (a.ndim() == 0) {
              throw nb::type_error("[array] iteration over a 0-d array.");
            }
            return ArrayIterator{a};
          },
          "Iterates over the first axis: a[0], a[1], ... (views).")
      .def(
          "__float__",
          [](array& a) { return to_python_number(a, "float", PyNumber_Float); },
          "float(a) of a one-element array; evaluates and waits.")
      .def(
          "__int__",
          [](array& a) { return to_python_number(a, "int", PyNumber_Long); },
          "int(a) of a one-element array (floats truncated toward zero); "
          "evaluates and waits.")
      .def("__array__", &to_numpy, "dtype"_a.none() = nb::none(),
           "copy"_a.none() = nb::none(),
           "A numpy array of the values (bfloat16 through ml_dtypes).");
  init_array_operators(cls);
  init_array_indexing(cls);
  init_array_reductions(cls);
  init_array_matmul(cls);
  init_array_indexing_advanced(cls);
  init_array_dlpack(cls);

  m.def(
      "eval",
      [](nb::args args) {
        std::vector<array> arrays;
        collect(args, arrays);
        nb::gil_scoped_release nogil;
        eval(std::move(arrays));
      },
      "Evaluates the arrays found in the arguments (any nesting of lists, "
      "tuples and dicts; other leaves are ignored) and waits for them; raises "
      "the first error any of them holds.");
  m.def(
      "async_eval",
      [](nb::args args) {
        std::vector<array> arrays;
        collect(args, arrays);
        nb::gil_scoped_release nogil;
        async_eval(std::move(arrays));
      },
      "Schedules the arrays found in the arguments (as eval) and returns at "
      "once.");
}

}  // namespace runnel::python
