// Shape ops and data movement: views, slicing, concatenation; the array's
// shape methods and basic indexing.
#include <nanobind/stl/string.h>

#include <climits>
#include <string>
#include <vector>

#include "python/src/common.h"

namespace runnel::python {
namespace {

using namespace nb::literals;

std::string py_type_name(nb::handle h) {
  return nb::type_name(h.type()).c_str();
}

[[noreturn]] void type_error(const char* fn, const std::string& msg) {
  throw nb::type_error((std::string("[") + fn + "] " + msg).c_str());
}

[[noreturn]] void index_error(const std::string& msg) {
  throw std::out_of_range("[getitem] " + msg);
}

bool is_int(nb::handle h) {
  return !PyBool_Check(h.ptr()) && PyIndex_Check(h.ptr());
}

// A Python int clamped into an int (the bounds of a slice keep their
// meaning clamped, since no axis is longer than INT_MAX).
int clamp_to_int(Py_ssize_t v) {
  return static_cast<int>(std::clamp<Py_ssize_t>(v, INT_MIN, INT_MAX));
}

// An int or a sequence of ints.
std::vector<int> to_ints(nb::handle h, const char* fn, const char* what);
// The same, as a Shape.
Shape to_shape_ints(nb::handle h, const char* fn, const char* what) {
  std::vector<int> v = to_ints(h, fn, what);
  return Shape(v.begin(), v.end());
}

std::vector<int> to_ints(nb::handle h, const char* fn, const char* what) {
  if (is_int(h)) return {to_int(h, fn, what)};
  if (!PySequence_Check(h.ptr()) || PyUnicode_Check(h.ptr())) {
    type_error(fn, std::string(what) +
                       " must be an int or a sequence of "
                       "ints, not " +
                       py_type_name(h) + ".");
  }
  std::vector<int> out;
  for (nb::handle x : h) out.push_back(to_int(x, fn, what));
  return out;
}

// A list or tuple of arrays (or of anything to_array takes).
std::vector<array> to_array_list(nb::handle h, const char* fn) {
  if (nb::isinstance<array>(h) ||
      !(PyList_Check(h.ptr()) || PyTuple_Check(h.ptr()))) {
    type_error(
        fn, "expected a list or tuple of arrays, not " + py_type_name(h) + ".");
  }
  std::vector<array> out;
  for (nb::handle x : h) out.push_back(to_array(x, std::nullopt, fn));
  return out;
}

nb::list to_list(const std::vector<array>& arrays) {
  nb::list out;
  for (const array& x : arrays) out.append(nb::cast(x));
  return out;
}

// reshape's and transpose's shapes: one sequence, or the ints themselves.
std::vector<int> varargs_ints(const nb::args& args, const char* fn,
                              const char* what) {
  if (args.size() == 1 && !is_int(args[0])) return to_ints(args[0], fn, what);
  std::vector<int> out;
  for (nb::handle x : args) out.push_back(to_int(x, fn, what));
  return out;
}

// numpy's pad_width: an int, (before, after), or one pair per axis.
std::vector<std::pair<int, int>> to_pad_width(nb::handle h) {
  const char* fn = "pad";
  auto pair = [&](nb::handle p) -> std::pair<int, int> {
    if (is_int(p)) {
      int w = to_int(p, fn, "pad width");
      return {w, w};
    }
    std::vector<int> v = to_ints(p, fn, "pad width");
    if (v.size() == 1) return {v[0], v[0]};
    if (v.size() != 2) {
      throw std::invalid_argument(
          "[pad] Each pad width must be an int or a (before, after) pair.");
    }
    return {v[0], v[1]};
  };
  if (is_int(h)) return {pair(h)};
  if (!PySequence_Check(h.ptr())) {
    type_error(fn, "pad_width must be an int or a sequence, not " +
                       py_type_name(h) + ".");
  }
  bool nested = false;
  for (nb::handle x : h) nested = nested || !is_int(x);
  if (!nested) return {pair(h)};
  std::vector<std::pair<int, int>> out;
  for (nb::handle x : h) out.push_back(pair(x));
  return out;
}

// split's list of parts: n equal parts for an int, else at the indices.
nb::list split_list(const array& a, nb::handle indices_or_sections,
                    nb::handle axis, nb::handle stream) {
  int ax = to_int(axis, "split", "axis");
  StreamOrDevice s = to_stream_or_device(stream, "split");
  if (is_int(indices_or_sections)) {
    return to_list(
        split(a, to_int(indices_or_sections, "split", "sections"), ax, s));
  }
  return to_list(split(
      a, to_shape_ints(indices_or_sections, "split", "indices_or_sections"), ax,
      s));
}

}  // namespace

array index_basic(const array& a, nb::handle key) {
  std::vector<nb::handle> items;
  if (PyTuple_Check(key.ptr())) {
    for (nb::handle x : key) items.push_back(x);
  } else {
    items.push_back(key);
  }
  // How many axes the ints and slices take, and where the ellipsis is.
  int consumed = 0;
  int ellipsis = -1;
  for (size_t i = 0; i < items.size(); ++i) {
    nb::handle x = items[i];
    if (x.is_none()) continue;
    if (x.ptr() == Py_Ellipsis) {
      if (ellipsis >= 0) index_error("An index can have only one ellipsis.");
      ellipsis = static_cast<int>(i);
    } else if (is_int(x) || PySlice_Check(x.ptr())) {
      ++consumed;
    } else {
      index_error(
          "Only integers, slices (:), ellipsis (...) and None are basic "
          "indices, got " +
          py_type_name(x) + ".");
    }
  }
  const int nd = a.ndim();
  if (consumed > nd) {
    index_error("Too many indices (" + std::to_string(consumed) +
                ") for an array of " + std::to_string(nd) + " dimensions.");
  }
  Shape start(nd, 0), stop = a.shape(), steps(nd, 1);
  Shape out;  // the result's shape: int axes dropped, None axes added
  int ax = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    nb::handle x = items[i];
    if (x.is_none()) {
      out.push_back(1);
    } else if (x.ptr() == Py_Ellipsis) {
      for (int k = 0; k < nd - consumed; ++k, ++ax) out.push_back(a.shape(ax));
    } else if (PySlice_Check(x.ptr())) {
      Py_ssize_t lo, hi, st;
      if (PySlice_Unpack(x.ptr(), &lo, &hi, &st) < 0) throw nb::python_error();
      Py_ssize_t len = PySlice_AdjustIndices(a.shape(ax), &lo, &hi, st);
      start[ax] = clamp_to_int(lo);
      stop[ax] = clamp_to_int(hi);
      steps[ax] = clamp_to_int(st);
      out.push_back(static_cast<int>(len));
      ++ax;
    } else {
      Py_ssize_t v = PyNumber_AsSsize_t(x.ptr(), nullptr);  // clamps
      if (v == -1 && PyErr_Occurred()) throw nb::python_error();
      const int n = a.shape(ax);
      if (v < -n || v >= n) {
        index_error("Index " + std::to_string(v) +
                    " is out of bounds for axis " + std::to_string(ax) +
                    " with size " + std::to_string(n) + ".");
      }
      start[ax] = static_cast<int>(v < 0 ? v + n : v);
      stop[ax] = start[ax] + 1;
      ++ax;
    }
  }
  for (; ax < nd; ++ax) out.push_back(a.shape(ax));
  // PySlice_AdjustIndices gave bounds that slice() takes as they are, but
  // for a negative step, where -1 means "before element 0" and slice()
  // would count it from the end: INT_MIN says "before element 0" to it.
  for (int i = 0; i < nd; ++i) {
    if (steps[i] < 0) {
      if (start[i] < 0) start[i] = INT_MIN;
      if (stop[i] < 0) stop[i] = INT_MIN;
    }
  }
  array v = slice(a, std::move(start), std::move(stop), std::move(steps));
  return reshape(v, std::move(out));
}

void init_ops_shape(nb::module_& m) {
  m.def(
      "reshape",
      [](nb::handle a, nb::handle shape, nb::handle stream) {
        return reshape(to_array(a, std::nullopt, "reshape"),
                       to_shape_ints(shape, "reshape", "shape"),
                       to_stream_or_device(stream, "reshape"));
      },
      "a"_a.none(), "shape"_a.none(), nb::kw_only(),
      "stream"_a.none() = nb::none(),
      "reshape(a, shape, *, stream=None): the elements of a in row-major "
      "order laid out in shape (one entry may be -1). A view sharing a's "
      "memory when its strides allow it, else a copy.");
  m.def(
      "flatten",
      [](nb::handle a, nb::handle start_axis, nb::handle end_axis,
         nb::handle stream) {
        return flatten(to_array(a, std::nullopt, "flatten"),
                       to_int(start_axis, "flatten", "start_axis"),
                       to_int(end_axis, "flatten", "end_axis"),
                       to_stream_or_device(stream, "flatten"));
      },
      "a"_a.none(), "start_axis"_a.none() = 0, "end_axis"_a.none() = -1,
      nb::kw_only(), "stream"_a.none() = nb::none(),
      "flatten(a, start_axis=0, end_axis=-1, *, stream=None): axes "
      "start_axis..end_axis (inclusive) merged into one; a view when the "
      "strides allow it.");
  m.def(
      "squeeze",
      [](nb::handle a, nb::handle axis, nb::handle stream) {
        array x = to_array(a, std::nullopt, "squeeze");
        StreamOrDevice s = to_stream_or_device(stream, "squeeze");
        if (axis.is_none()) return squeeze(x, s);
        return squeeze(x, to_ints(axis, "squeeze", "axis"), s);
      },
      "a"_a.none(), "axis"_a.none() = nb::none(), nb::kw_only(),
      "stream"_a.none() = nb::none(),
      "squeeze(a, axis=None, *, stream=None): a view without the size-1 "
      "axes `axis` (an int or a sequence), or without every size-1 axis.");
  m.def(
      "expand_dims",
      [](nb::handle a, nb::handle axis, nb::handle stream) {
        return expand_dims(to_array(a, std::nullopt, "expand_dims"),
                           to_ints(axis, "expand_dims", "axis"),
                           to_stream_or_device(stream, "expand_dims"));
      },
      "a"_a.none(), "axis"_a.none(), nb::kw_only(),
      "stream"_a.none() = nb::none(),
      "expand_dims(a, axis, *, stream=None): a view with size-1 axes "
      "inserted at `axis` (an int or a sequence; positions in the result).");
  m.def(
      "transpose",
      [](nb::handle a, nb::handle axes, nb::handle stream) {
        array x = to_array(a, std::nullopt, "transpose");
        StreamOrDevice s = to_stream_or_device(stream, "transpose");
        if (axes.is_none()) return transpose(x, s);
        return transpose(x, to_ints(axes, "transpose", "axes"), s);
      },
      "a"_a.none(), "axes"_a.none() = nb::none(), nb::kw_only(),
      "stream"_a.none() = nb::none(),
      "transpose(a, axes=None, *, stream=None): a view with the axes "
      "permuted (result axis i is a's axis axes[i]); reversed by default.");
  m.def(
      "swapaxes",
      [](nb::handle a, nb::handle axis1, nb::handle axis2, nb::handle stream) {
        return swapaxes(to_array(a, std::nullopt, "swapaxes"),
                        to_int(axis1, "swapaxes", "axis1"),
                        to_int(axis2, "swapaxes", "axis2"),
                        to_stream_or_device(stream, "swapaxes"));
      },
      "a"_a.none(), "axis1"_a.none(), "axis2"_a.none(), nb::kw_only(),
      "stream"_a.none() = nb::none(),
      "swapaxes(a, axis1, axis2, *, stream=None): a view with two axes "
      "exchanged.");
  m.def(
      "moveaxis",
      [](nb::handle a, nb::handle source, nb::handle destination,
         nb::handle stream) {
        return moveaxis(to_array(a, std::nullopt, "moveaxis"),
                        to_int(source, "moveaxis", "source"),
                        to_int(destination, "moveaxis", "destination"),
                        to_stream_or_device(stream, "moveaxis"));
      },
      "a"_a.none(), "source"_a.none(), "destination"_a.none(), nb::kw_only(),
      "stream"_a.none() = nb::none(),
      "moveaxis(a, source, destination, *, stream=None): a view with axis "
      "source moved to position destination.");
  m.def(
      "broadcast_to",
      [](nb::handle a, nb::handle shape, nb::handle stream) {
        return broadcast_to(to_array(a, std::nullopt, "broadcast_to"),
                            to_shape(shape, "broadcast_to"),
                            to_stream_or_device(stream, "broadcast_to"));
      },
      "a"_a.none(), "shape"_a.none(), nb::kw_only(),
      "stream"_a.none() = nb::none(),
      "broadcast_to(a, shape, *, stream=None): a read-only view of a "
      "broadcast to shape (numpy's rules; broadcast axes repeat memory).");
  m.def(
      "broadcast_arrays",
      [](nb::args arrays, nb::handle stream) {
        std::vector<array> in;
        for (nb::handle x : arrays) {
          in.push_back(to_array(x, std::nullopt, "broadcast_arrays"));
        }
        auto out = broadcast_arrays(
            in, to_stream_or_device(stream, "broadcast_arrays"));
        return nb::tuple(to_list(out));
      },
      "arrays"_a, "stream"_a.none() = nb::none(),
      "broadcast_arrays(*arrays, stream=None): the arrays broadcast to their "
      "common shape, as views.");
  m.def(
      "contiguous",
      [](nb::handle a, nb::handle allow_col_major, nb::handle stream) {
        to_bool(allow_col_major, "contiguous", "allow_col_major");
        return contiguous(to_array(a, std::nullopt, "contiguous"),
                          to_stream_or_device(stream, "contiguous"));
      },
      "a"_a.none(), "allow_col_major"_a.none() = false, nb::kw_only(),
      "stream"_a.none() = nb::none(),
      "contiguous(a, allow_col_major=False, *, stream=None): a itself when "
      "it is row-major contiguous, else a row-major copy (runnel always "
      "makes row-major copies; allow_col_major is accepted for MLX's "
      "signature).");
  m.def(
      "copy",
      [](nb::handle a, nb::handle stream) {
        return copy(to_array(a, std::nullopt, "copy"),
                    to_stream_or_device(stream, "copy"));
      },
      "a"_a.none(), nb::kw_only(), "stream"_a.none() = nb::none(),
      "copy(a, *, stream=None): a row-major copy of a with its own memory "
      "(the same shape, dtype and values).");
  m.def(
      "concatenate",
      [](nb::handle arrays, nb::handle axis, nb::handle stream) {
        auto in = to_array_list(arrays, "concatenate");
        StreamOrDevice s = to_stream_or_device(stream, "concatenate");
        if (axis.is_none()) return concatenate(in, s);
        return concatenate(in, to_int(axis, "concatenate", "axis"), s);
      },
      "arrays"_a.none(), "axis"_a.none() = 0, nb::kw_only(),
      "stream"_a.none() = nb::none(),
      "concatenate(arrays, axis=0, *, stream=None): the arrays joined along "
      "axis, promoted to a common dtype; axis=None joins them flattened.");
  m.def(
      "stack",
      [](nb::handle arrays, nb::handle axis, nb::handle stream) {
        return stack(to_array_list(arrays, "stack"),
                     to_int(axis, "stack", "axis"),
                     to_stream_or_device(stream, "stack"));
      },
      "arrays"_a.none(), "axis"_a.none() = 0, nb::kw_only(),
      "stream"_a.none() = nb::none(),
      "stack(arrays, axis=0, *, stream=None): arrays of one shape joined "
      "along a new axis.");
  m.def(
      "split",
      [](nb::handle a, nb::handle indices_or_sections, nb::handle axis,
         nb::handle stream) {
        return split_list(to_array(a, std::nullopt, "split"),
                          indices_or_sections, axis, stream);
      },
      "a"_a.none(), "indices_or_sections"_a.none(), "axis"_a.none() = 0,
      nb::kw_only(), "stream"_a.none() = nb::none(),
      "split(a, indices_or_sections, axis=0, *, stream=None): a list of "
      "views: n equal parts for an int n (an error when the axis does not "
      "divide), or the parts between the given indices (numpy's "
      "array_split points).");
  m.def(
      "pad",
      [](nb::handle a, nb::handle pad_width, nb::handle mode,
         nb::handle constant_values, nb::handle stream) {
        array x = to_array(a, std::nullopt, "pad");
        std::string m = to_str(mode, "pad", "mode");
        // A Python scalar is weak: it takes x's dtype, as in MLX.
        auto [_, value] = to_arrays(a, constant_values, "pad");
        return pad(x, to_pad_width(pad_width), value, m,
                   to_stream_or_device(stream, "pad"));
      },
      "a"_a.none(), "pad_width"_a.none(), "mode"_a.none() = "constant",
      "constant_values"_a.none() = 0, nb::kw_only(),
      "stream"_a.none() = nb::none(),
      "pad(a, pad_width, mode='constant', constant_values=0, *, "
      "stream=None): a with constant_values (a scalar, cast to a's dtype) "
      "around it. pad_width is an int (every side), a (before, after) pair "
      "(every axis) or one pair per axis. Only mode 'constant'.");
  m.def(
      "tile",
      [](nb::handle a, nb::handle reps, nb::handle stream) {
        return tile(to_array(a, std::nullopt, "tile"),
                    to_ints(reps, "tile", "reps"),
                    to_stream_or_device(stream, "tile"));
      },
      "a"_a.none(), "reps"_a.none(), nb::kw_only(),
      "stream"_a.none() = nb::none(),
      "tile(a, reps, *, stream=None): a repeated reps[i] times along each "
      "axis (numpy's tile).");
  m.def(
      "repeat",
      [](nb::handle a, nb::handle repeats, nb::handle axis, nb::handle stream) {
        array x = to_array(a, std::nullopt, "repeat");
        int n = to_int(repeats, "repeat", "repeats");
        StreamOrDevice s = to_stream_or_device(stream, "repeat");
        if (axis.is_none()) return repeat(x, n, s);
        return repeat(x, n, to_int(axis, "repeat", "axis"), s);
      },
      "array"_a.none(), "repeats"_a.none(), "axis"_a.none() = nb::none(),
      nb::kw_only(), "stream"_a.none() = nb::none(),
      "repeat(array, repeats, axis=None, *, stream=None): each element "
      "repeated `repeats` times along axis, or along the flattened array.");
}

// __getitem__ is ops_indexing.cpp's (init_array_indexing_advanced), which
// hands basic keys to index_basic: nanobind adds a second def of a name as an
// overload, so only one may define it.
void init_array_indexing(nb::class_<array>& cls) {
  cls.def_prop_ro(
         "T", [](const array& a) { return transpose(a); },
         "The axes reversed (a view).")
      .def(
          "reshape",
          [](const array& a, nb::args shape, nb::handle stream) {
            return reshape(
                a,
                [&] {
                  std::vector<int> v = varargs_ints(shape, "reshape", "shape");
                  return Shape(v.begin(), v.end());
                }(),
                to_stream_or_device(stream, "reshape"));
          },
          "shape"_a, "stream"_a.none() = nb::none(),
          "a.reshape(*shape, stream=None): reshape(a, shape); shape as one "
          "sequence or as ints.")
      .def(
          "transpose",
          [](const array& a, nb::args axes, nb::handle stream) {
            StreamOrDevice s = to_stream_or_device(stream, "transpose");
            if (axes.size() == 0) return transpose(a, s);
            return transpose(a, varargs_ints(axes, "transpose", "axes"), s);
          },
          "axes"_a, "stream"_a.none() = nb::none(),
          "a.transpose(*axes, stream=None): transpose(a, axes); axes as one "
          "sequence or as ints, reversed when none are given.")
      .def(
          "flatten",
          [](const array& a, nb::handle start_axis, nb::handle end_axis,
             nb::handle stream) {
            return flatten(a, to_int(start_axis, "flatten", "start_axis"),
                           to_int(end_axis, "flatten", "end_axis"),
                           to_stream_or_device(stream, "flatten"));
          },
          "start_axis"_a.none() = 0, "end_axis"_a.none() = -1, nb::kw_only(),
          "stream"_a.none() = nb::none(), "flatten(a, ...) as a method.")
      .def(
          "squeeze",
          [](const array& a, nb::handle axis, nb::handle stream) {
            StreamOrDevice s = to_stream_or_device(stream, "squeeze");
            if (axis.is_none()) return squeeze(a, s);
            return squeeze(a, to_ints(axis, "squeeze", "axis"), s);
          },
          "axis"_a.none() = nb::none(), nb::kw_only(),
          "stream"_a.none() = nb::none(), "squeeze(a, ...) as a method.")
      .def(
          "swapaxes",
          [](const array& a, nb::handle axis1, nb::handle axis2,
             nb::handle stream) {
            return swapaxes(a, to_int(axis1, "swapaxes", "axis1"),
                            to_int(axis2, "swapaxes", "axis2"),
                            to_stream_or_device(stream, "swapaxes"));
          },
          "axis1"_a.none(), "axis2"_a.none(), nb::kw_only(),
          "stream"_a.none() = nb::none(), "swapaxes(a, ...) as a method.")
      .def(
          "moveaxis",
          [](const array& a, nb::handle source, nb::handle destination,
             nb::handle stream) {
            return moveaxis(a, to_int(source, "moveaxis", "source"),
                            to_int(destination, "moveaxis", "destination"),
                            to_stream_or_device(stream, "moveaxis"));
          },
          "source"_a.none(), "destination"_a.none(), nb::kw_only(),
          "stream"_a.none() = nb::none(), "moveaxis(a, ...) as a method.")
      .def(
          "split",
          [](const array& a, nb::handle indices_or_sections, nb::handle axis,
             nb::handle stream) {
            return split_list(a, indices_or_sections, axis, stream);
          },
          "indices_or_sections"_a.none(), "axis"_a.none() = 0, nb::kw_only(),
          "stream"_a.none() = nb::none(), "split(a, ...) as a method.");
}

}  // namespace runnel::python
