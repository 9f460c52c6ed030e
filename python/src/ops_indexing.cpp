// Gathers and scatters (take, take_along_axis, put_along_axis, gather, the
// scatter family, nonzero), and the array's numpy indexing: __getitem__
// beyond basic keys, __setitem__ and the .at[] updates.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <algorithm>
#include <climits>
#include <string>
#include <vector>

#include "python/src/common.h"

namespace runnel::python {
namespace {

using namespace nb::literals;

std::string type_name_of(nb::handle h) {
  return nb::type_name(h.type()).c_str();
}

// Releases the GIL for a call that may wait (a boolean mask is evaluated).
template <class F>
auto nogil(F&& f) {
  nb::gil_scoped_release release;
  return f();
}

// An int or None; a Python int past 64 bits clamps (a slice bound).
std::optional<int64_t> slice_bound(nb::handle h) {
  if (h.is_none()) return std::nullopt;
  Py_ssize_t v = PyNumber_AsSsize_t(h.ptr(), nullptr);
  if (v == -1 && PyErr_Occurred()) throw nb::python_error();
  return static_cast<int64_t>(v);
}

bool is_integer_object(nb::handle h) {
  return PyLong_Check(h.ptr()) && !PyBool_Check(h.ptr());
}

// One entry of a key. `basic` is cleared by entries other than Python ints,
// slices, None and Ellipsis (index_basic's keys).
Index to_index(nb::handle e, bool& basic, const char* fn) {
  if (e.is_none()) return Index::new_axis();
  if (e.ptr() == Py_Ellipsis) return Index::ellipsis();
  if (PySlice_Check(e.ptr())) {
    return Index::slice(slice_bound(e.attr("start")),
                        slice_bound(e.attr("stop")),
                        slice_bound(e.attr("step")));
  }
  if (is_integer_object(e)) {  // clamped: out of bounds all the same
    Py_ssize_t v = PyNumber_AsSsize_t(e.ptr(), nullptr);
    if (v == -1 && PyErr_Occurred()) throw nb::python_error();
    return Index(static_cast<int64_t>(v));
  }
  basic = false;
  if (nb::isinstance<array>(e)) return Index(nb::cast<array>(e));
  if (PyBool_Check(e.ptr())) return Index(array(e.ptr() == Py_True));
  if (PyList_Check(e.ptr()) || PyTuple_Check(e.ptr()) ||
      nb::hasattr(e, "__array_interface__") || PyIndex_Check(e.ptr())) {
    if ((PyList_Check(e.ptr()) || PyTuple_Check(e.ptr())) && nb::len(e) == 0) {
      return Index(zeros({0}, int32));  // numpy: an empty list is integers
    }
    array a = to_array(e, std::nullopt, fn);
    if (a.ndim() == 0 && is_integral(a.dtype())) {  // numpy integer scalars
      return Index(a.item<int64_t>());
    }
    return Index(a);
  }
  throw std::out_of_range(
      std::string("[") + fn +
      "] only integers, slices (`:`), ellipsis (`...`), None and integer or "
      "boolean arrays are valid indices, got " +
      type_name_of(e) + ".");
}

// A key as numpy reads it: a tuple is the entries, anything else one entry.
std::vector<Index> to_key(nb::handle key, bool& basic, const char* fn) {
  basic = true;
  std::vector<Index> out;
  if (PyTuple_Check(key.ptr())) {
    for (nb::handle e : key) out.push_back(to_index(e, basic, fn));
  } else {
    out.push_back(to_index(key, basic, fn));
  }
  return out;
}

// Integer indices: an array, a nested sequence or an int.
array to_indices(nb::handle h, const char* fn) {
  return to_array(h, std::nullopt, fn);
}

std::vector<array> to_index_list(nb::handle h, const char* fn) {
  if (PyList_Check(h.ptr()) || PyTuple_Check(h.ptr())) {
    bool all_arrays = true;
    for (nb::handle e : h) all_arrays = all_arrays && nb::isinstance<array>(e);
    if (all_arrays) {
      std::vector<array> out;
      for (nb::handle e : h) out.push_back(nb::cast<array>(e));
      return out;
    }
  }
  return {to_indices(h, fn)};
}

std::vector<int> to_axes(nb::handle h, const char* fn) {
  if (PyLong_Check(h.ptr())) return {to_int(h, fn, "axes")};
  Shape s = to_shape(h, fn);
  return {s.begin(), s.end()};
}

// The value written by a[key] = v: a Python scalar takes a's dtype when it
// fits it, as in MLX.
array to_value(const array& a, nb::handle v, const char* fn) {
  return to_arrays(nb::cast(a), v, fn).second;
}

// Basic keys give views (index_basic); others a gather.
array getitem(const array& a, nb::handle key) {
  bool basic = true;
  std::vector<Index> k = to_key(key, basic, "getitem");
  if (basic) return index_basic(a, key);
  return nogil([&] { return index(a, k); });
}

void setitem(array& a, nb::handle key, nb::handle value) {
  bool basic = true;
  std::vector<Index> k = to_key(key, basic, "setitem");
  array v = to_value(a, value, "setitem");
  a = nogil([&] { return index_put(a, k, v); });
}

// a.at[key]: functional updates of the elements a[key] selects, where
// repeated elements combine (MLX's array.at).
struct ArrayAt {
  array a;
  nb::object key;
};

struct ArrayAtHandle {
  array a;
};

// How at.subtract and at.divide turn into an add and a multiply.
enum class Inverse { none, negate, reciprocal };

array at_update(const ArrayAt& at, nb::handle value, ScatterOp op,
                const char* fn, Inverse inverse = Inverse::none) {
  bool basic = true;
  std::vector<Index> k = to_key(at.key, basic, fn);
  array v = astype(to_value(at.a, value, fn), at.a.dtype());
  if (inverse == Inverse::negate) v = negative(v);
  if (inverse == Inverse::reciprocal) {
    if (!is_floating_point(at.a.dtype())) {
      throw std::invalid_argument(std::string("[") + fn +
                                  "] only floating-point arrays can be "
                                  "divided in place, got " +
                                  std::string(dtype_name(at.a.dtype())) + ".");
    }
    v = reciprocal(v);
  }
  return nogil([&] { return index_put(at.a, k, v, op); });
}

using ScatterFn = array (*)(const array&, const std::vector<array>&,
                            const array&, const std::vector<int>&,
                            StreamOrDevice);

template <ScatterFn F>
void def_scatter(nb::module_& m, const char* name, const char* doc) {
  m.def(
      name,
      [name](nb::handle a_arg, nb::handle indices, nb::handle updates,
             nb::handle axes, nb::handle stream) {
        array a = to_array(a_arg, std::nullopt, name);
        std::vector<array> idx = to_index_list(indices, name);
        array u = to_value(a, updates, name);
        return F(a, idx, u, to_axes(axes, name),
                 to_stream_or_device(stream, name));
      },
      "a"_a.none(), "indices"_a.none(), "updates"_a.none(), "axes"_a.none(),
      nb::kw_only(), "stream"_a.none() = nb::none(), doc);
}

}  // namespace

void init_ops_indexing(nb::module_& m) {
  m.def(
      "take",
      [](nb::handle a, nb::handle indices, nb::handle axis_arg,
         nb::handle stream) {
        array x = to_array(a, std::nullopt, "take");
        std::optional<int> axis = to_optional_int(axis_arg, "take", "axis");
        StreamOrDevice s = to_stream_or_device(stream, "take");
        if (is_integer_object(indices)) {  // clamped: out of bounds anyway
          Py_ssize_t v = PyNumber_AsSsize_t(indices.ptr(), nullptr);
          if (v == -1 && PyErr_Occurred()) throw nb::python_error();
          int i = static_cast<int>(std::clamp<Py_ssize_t>(v, INT_MIN, INT_MAX));
          return axis ? take(x, i, *axis, s) : take(x, i, s);
        }
        array idx = to_indices(indices, "take");
        return axis ? take(x, idx, *axis, s) : take(x, idx, s);
      },
      "a"_a.none(), "indices"_a.none(), "axis"_a.none() = nb::none(),
      nb::kw_only(), "stream"_a.none() = nb::none(),
      "take(a, indices, axis=None, *, stream=None): the slices of a at "
      "integer indices along axis (the axis replaced by indices' shape), or "
      "with axis=None the elements of flattened a. Negative indices count "
      "from the end; an index out of range fails when the op runs "
      "(IndexError at the next eval or synchronize).");
  m.def(
      "take_along_axis",
      [](nb::handle a, nb::handle indices, nb::handle axis_arg,
         nb::handle stream) {
        const char* fn = "take_along_axis";
        array x = to_array(a, std::nullopt, fn);
        std::optional<int> axis = to_optional_int(axis_arg, fn, "axis");
        array idx = to_indices(indices, fn);
        StreamOrDevice s = to_stream_or_device(stream, fn);
        return axis ? take_along_axis(x, idx, *axis, s)
                    : take_along_axis(x, idx, s);
      },
      "a"_a.none(), "indices"_a.none(), "axis"_a.none() = nb::none(),
      nb::kw_only(), "stream"_a.none() = nb::none(),
      "take_along_axis(a, indices, axis=None, *, stream=None): the elements "
      "of a at indices along axis; indices has a's number of dimensions and "
      "broadcasts against a on the others (numpy.take_along_axis). With "
      "axis=None, a is flattened and indices must be 1-d.");
  m.def(
      "put_along_axis",
      [](nb::handle a, nb::handle indices, nb::handle values,
         nb::handle axis_arg, nb::handle stream) {
        const char* fn = "put_along_axis";
        array x = to_array(a, std::nullopt, fn);
        std::optional<int> axis = to_optional_int(axis_arg, fn, "axis");
        array idx = to_indices(indices, fn);
        array v = to_value(x, values, fn);
        StreamOrDevice s = to_stream_or_device(stream, fn);
        return axis ? put_along_axis(x, idx, v, *axis, s)
                    : put_along_axis(x, idx, v, s);
      },
      "a"_a.none(), "indices"_a.none(), "values"_a.none(),
      "axis"_a.none() = nb::none(), nb::kw_only(),
      "stream"_a.none() = nb::none(),
      "put_along_axis(a, indices, values, axis=None, *, stream=None): a new "
      "array, a with the elements take_along_axis would read replaced by "
      "values (broadcast, cast to a's dtype); the last write wins on "
      "duplicates. a itself is unchanged.");
  m.def(
      "gather",
      [](nb::handle a, nb::handle indices, nb::handle axes,
         nb::handle slice_sizes, nb::handle stream) {
        return gather(to_array(a, std::nullopt, "gather"),
                      to_index_list(indices, "gather"), to_axes(axes, "gather"),
                      to_shape(slice_sizes, "gather"),
                      to_stream_or_device(stream, "gather"));
      },
      "a"_a.none(), "indices"_a.none(), "axes"_a.none(), "slice_sizes"_a.none(),
      nb::kw_only(), "stream"_a.none() = nb::none(),
      "gather(a, indices, axes, slice_sizes, *, stream=None): MLX's gather. "
      "The index arrays (one, or a list) broadcast to a shape B and select "
      "positions on axes; from each a slice of slice_sizes (one per axis of "
      "a) is taken. The result has shape B + slice_sizes.");
  def_scatter<scatter>(
      m, "scatter",
      "scatter(a, indices, updates, axes, *, stream=None): MLX's scatter, "
      "functionally: a new array, a with slices of updates written at the "
      "positions the index arrays (one, or a list, broadcast to B) select "
      "on axes. updates has shape B + one slice size per axis of a. Where "
      "positions repeat, the last update in row-major order wins.");
  def_scatter<scatter_add>(
      m, "scatter_add",
      "scatter_add(a, indices, updates, axes, *, stream=None): as scatter, "
      "adding the updates; repeated positions sum all of theirs.");
  def_scatter<scatter_prod>(
      m, "scatter_prod",
      "scatter_prod(a, indices, updates, axes, *, stream=None): as scatter, "
      "multiplying by the updates.");
  def_scatter<scatter_max>(
      m, "scatter_max",
      "scatter_max(a, indices, updates, axes, *, stream=None): as scatter, "
      "keeping the largest value (NaN wins).");
  def_scatter<scatter_min>(
      m, "scatter_min",
      "scatter_min(a, indices, updates, axes, *, stream=None): as scatter, "
      "keeping the smallest value (NaN wins).");
  m.def(
      "nonzero",
      [](nb::handle a, nb::handle stream) {
        array x = to_array(a, std::nullopt, "nonzero");
        StreamOrDevice s = to_stream_or_device(stream, "nonzero");
        std::vector<array> out = nogil([&] { return nonzero(x, s); });
        nb::list l;
        for (array& o : out) l.append(nb::cast(std::move(o)));
        return nb::tuple(l);
      },
      "a"_a.none(), nb::kw_only(), "stream"_a.none() = nb::none(),
      "nonzero(a, *, stream=None): the coordinates of a's nonzero elements, "
      "a tuple of int64 arrays, one per dimension (numpy.nonzero). The count "
      "depends on the data: a is evaluated first, and the call waits for it. "
      "The coordinates are computed on the host, then copied onto the "
      "stream.");

  nb::class_<ArrayAt>(m, "_ArrayAt",
                      "The elements a.at[key] selects, to update with "
                      "add, subtract, multiply, divide, maximum or minimum.")
      .def(
          "add",
          [](const ArrayAt& at, nb::handle v) {
            return at_update(at, v, ScatterOp::add, "at.add");
          },
          "value"_a.none(),
          "A new array: a with value added at a[key]; elements the key "
          "repeats get every addition (unlike a[key] += value).")
      .def(
          "subtract",
          [](const ArrayAt& at, nb::handle v) {
            return at_update(at, v, ScatterOp::add, "at.subtract",
                             Inverse::negate);
          },
          "value"_a.none(),
          "A new array: a with value subtracted at a[key], every time the key "
          "names an element (integers wrap; bool is rejected).")
      .def(
          "multiply",
          [](const ArrayAt& at, nb::handle v) {
            return at_update(at, v, ScatterOp::prod, "at.multiply");
          },
          "value"_a.none(), "A new array: a with a[key] multiplied by value.")
      .def(
          "divide",
          [](const ArrayAt& at, nb::handle v) {
            return at_update(at, v, ScatterOp::prod, "at.divide",
                             Inverse::reciprocal);
          },
          "value"_a.none(),
          "A new array: a with a[key] divided by value, as a multiplication "
          "by its reciprocal (within a rounding of a / value); "
          "floating-point arrays only.")
      .def(
          "maximum",
          [](const ArrayAt& at, nb::handle v) {
            return at_update(at, v, ScatterOp::max, "at.maximum");
          },
          "value"_a.none(),
          "A new array: a with a[key] raised to at least value.")
      .def(
          "minimum",
          [](const ArrayAt& at, nb::handle v) {
            return at_update(at, v, ScatterOp::min, "at.minimum");
          },
          "value"_a.none(),
          "A new array: a with a[key] lowered to at most value.");
  nb::class_<ArrayAtHandle>(m, "_ArrayAtHandle",
                            "a.at: index it to pick the elements to update.")
      .def(
          "__getitem__",
          [](const ArrayAtHandle& h, nb::object key) {
            return ArrayAt{h.a, std::move(key)};
          },
          "key"_a.none(), "The elements a[key] selects, for an update.");
}

void init_array_indexing_advanced(nb::class_<array>& cls) {
  // Replaces the basic __getitem__ (a second def would add an overload that
  // the first one's IndexError never falls through to).
  if (nb::hasattr(cls, "__getitem__")) nb::delattr(cls, "__getitem__");
  cls.def("__getitem__", &getitem, "key"_a.none(),
          "a[key] with numpy's semantics: integers, slices, None, Ellipsis, "
          "integer arrays (broadcast together) and boolean masks. A boolean "
          "mask is evaluated at the call (the result's shape depends on it). "
          "Integer array indices out of range fail when the op runs.")
      .def("__setitem__", &setitem, "key"_a.none(), "value"_a.none(),
           "a[key] = value, as MLX does it: a becomes a new lazy array with "
           "the elements replaced (value broadcast, cast to a's dtype; the "
           "last write wins where the key repeats an element); other "
           "handles to the old array, and views of it, keep the old values.")
      .def_prop_ro(
          "at", [](const array& a) { return ArrayAtHandle{a}; },
          "a.at[key].add(value) and friends: updates where elements the key "
          "repeats combine every value (MLX's array.at).");
}

}  // namespace runnel::python
