// Reductions, scans and softmax: module functions and array methods, with
// MLX's signatures.
#include <optional>
#include <string>
#include <vector>

#include "python/src/common.h"

namespace runnel::python {
namespace {

using namespace nb::literals;

[[noreturn]] void type_error(const char* fn, const std::string& msg) {
  throw nb::type_error((std::string("[") + fn + "] " + msg).c_str());
}

std::string py_type(nb::handle h) { return nb::type_name(h.type()).c_str(); }

// None (every axis), an int, or a sequence of ints.
std::optional<std::vector<int>> to_axes(nb::handle h, const char* fn) {
  if (h.is_none()) return std::nullopt;
  if (PyIndex_Check(h.ptr()) && !PyBool_Check(h.ptr())) {
    return std::vector<int>{to_int(h, fn, "axis")};
  }
  if (!PySequence_Check(h.ptr()) || PyUnicode_Check(h.ptr())) {
    type_error(fn, "axis must be None, an int or a sequence of ints, not " +
                       py_type(h) + ".");
  }
  std::vector<int> axes;
  for (nb::handle d : h) axes.push_back(to_int(d, fn, "axis"));
  return axes;
}

// None or an int.
std::optional<int> to_axis(nb::handle h, const char* fn) {
  if (h.is_none()) return std::nullopt;
  return to_int(h, fn, "axis");
}

using AllFn = array (*)(const array&, bool, StreamOrDevice);
using AxesFn = array (*)(const array&, const std::vector<int>&, bool,
                         StreamOrDevice);

array reduce(const array& a, nb::handle axis, nb::handle keepdims,
             nb::handle stream, const char* fn, AllFn all, AxesFn some) {
  auto axes = to_axes(axis, fn);
  bool keep = to_bool(keepdims, fn, "keepdims");
  StreamOrDevice s = to_stream_or_device(stream, fn);
  return axes ? some(a, *axes, keep, s) : all(a, keep, s);
}

using VarAllFn = array (*)(const array&, bool, int, StreamOrDevice);
using VarAxesFn = array (*)(const array&, const std::vector<int>&, bool, int,
                            StreamOrDevice);

array reduce_ddof(const array& a, nb::handle axis, nb::handle keepdims,
                  nb::handle ddof, nb::handle stream, const char* fn,
                  VarAllFn all, VarAxesFn some) {
  auto axes = to_axes(axis, fn);
  bool keep = to_bool(keepdims, fn, "keepdims");
  int dof = to_int(ddof, fn, "ddof");
  StreamOrDevice s = to_stream_or_device(stream, fn);
  return axes ? some(a, *axes, keep, dof, s) : all(a, keep, dof, s);
}

using ArgAllFn = array (*)(const array&, bool, StreamOrDevice);
using ArgAxisFn = array (*)(const array&, int, bool, StreamOrDevice);

array arg_reduce(const array& a, nb::handle axis, nb::handle keepdims,
                 nb::handle stream, const char* fn, ArgAllFn all,
                 ArgAxisFn one) {
  auto ax = to_axis(axis, fn);
  bool keep = to_bool(keepdims, fn, "keepdims");
  StreamOrDevice s = to_stream_or_device(stream, fn);
  return ax ? one(a, *ax, keep, s) : all(a, keep, s);
}

using ScanAllFn = array (*)(const array&, bool, bool, StreamOrDevice);
using ScanAxisFn = array (*)(const array&, int, bool, bool, StreamOrDevice);

array scan(const array& a, nb::handle axis, nb::handle reverse,
           nb::handle inclusive, nb::handle stream, const char* fn,
           ScanAllFn all, ScanAxisFn one) {
  auto ax = to_axis(axis, fn);
  bool rev = to_bool(reverse, fn, "reverse");
  bool inc = to_bool(inclusive, fn, "inclusive");
  StreamOrDevice s = to_stream_or_device(stream, fn);
  return ax ? one(a, *ax, rev, inc, s) : all(a, rev, inc, s);
}

// The reductions that share sum's signature, with their docstrings.
struct Plain {
  const char* name;
  AllFn all;
  AxesFn some;
  const char* doc;
  const char* method_doc;
};

const Plain kPlain[] = {
    {"sum", &runnel::sum, &runnel::sum,
     "Sum over the axes (None: every axis). bool sums as int32; other dtypes "
     "keep theirs (integers wrap). Float sums are pairwise; float16 and "
     "bfloat16 accumulate in float32. Over zero elements: 0.",
     "See sum()."},
    {"prod", &runnel::prod, &runnel::prod,
     "Product over the axes (None: every axis); dtypes as sum. Over zero "
     "elements: 1.",
     "See prod()."},
    {"mean", &runnel::mean, &runnel::mean,
     "Mean over the axes (None: every axis). Integer and bool inputs give "
     "float32; floats keep their dtype. Over zero elements: nan.",
     "See mean()."},
    {"max", &runnel::max, &runnel::max,
     "Largest element over the axes (None: every axis); keeps the dtype. NaN "
     "wins. A zero-size reduction raises ValueError.",
     "See max()."},
    {"min", &runnel::min, &runnel::min,
     "Smallest element over the axes (None: every axis); keeps the dtype. NaN "
     "wins. A zero-size reduction raises ValueError.",
     "See min()."},
    {"all", &runnel::all, &runnel::all,
     "Whether every element over the axes (None: every axis) is nonzero; "
     "bool. Over zero elements: True.",
     "See all()."},
    {"any", &runnel::any, &runnel::any,
     "Whether any element over the axes (None: every axis) is nonzero; bool. "
     "Over zero elements: False.",
     "See any()."},
    {"logsumexp", &runnel::logsumexp, &runnel::logsumexp,
     "log(sum(exp(a))) over the axes (None: every axis), computed stably as "
     "max + log(sum(exp(a - max))). Integer and bool inputs give float32. A "
     "zero-size reduction raises ValueError.",
     "See logsumexp()."},
};

constexpr const char* kVarDoc =
    "Variance over the axes (None: every axis): sum((a - mean)**2) / (n - "
    "ddof). Integer and bool inputs give float32.";
constexpr const char* kStdDoc =
    "Standard deviation over the axes (None: every axis): the square root of "
    "var(a, axis, keepdims, ddof).";
constexpr const char* kArgmaxDoc =
    "Index (uint32) of the first largest element along axis (None: of the "
    "flattened array). NaN counts as largest. An empty axis raises "
    "ValueError.";
constexpr const char* kArgminDoc =
    "Index (uint32) of the first smallest element along axis (None: of the "
    "flattened array). NaN counts as smallest. An empty axis raises "
    "ValueError.";
constexpr const char* kCumsumDoc =
    "Cumulative sum along axis (None: of the flattened array). reverse scans "
    "from the end; inclusive=False leaves each element out of its own sum. "
    "bool gives int32; other dtypes keep theirs (integers wrap).";
constexpr const char* kCumprodDoc =
    "Cumulative product along axis (None: of the flattened array); reverse "
    "and inclusive as in cumsum. Keeps the dtype (integers wrap).";

}  // namespace

void init_ops_reduce(nb::module_& m) {
  for (const Plain& p : kPlain) {
    m.def(
        p.name,
        [p](nb::handle a, nb::handle axis, nb::handle keepdims,
            nb::handle stream) {
          return reduce(to_array(a, std::nullopt, p.name), axis, keepdims,
                        stream, p.name, p.all, p.some);
        },
        "a"_a.none(), "axis"_a.none() = nb::none(), "keepdims"_a.none() = false,
        nb::kw_only(), "stream"_a.none() = nb::none(), p.doc);
  }
  m.def(
      "var",
      [](nb::handle a, nb::handle axis, nb::handle keepdims, nb::handle ddof,
         nb::handle stream) {
        return reduce_ddof(to_array(a, std::nullopt, "var"), axis, keepdims,
                           ddof, stream, "var", &runnel::var, &runnel::var);
      },
      "a"_a.none(), "axis"_a.none() = nb::none(), "keepdims"_a.none() = false,
      "ddof"_a.none() = 0, nb::kw_only(), "stream"_a.none() = nb::none(),
      kVarDoc);
  m.def(
      "std",
      [](nb::handle a, nb::handle axis, nb::handle keepdims, nb::handle ddof,
         nb::handle stream) {
        return reduce_ddof(to_array(a, std::nullopt, "std"), axis, keepdims,
                           ddof, stream, "std", &runnel::std, &runnel::std);
      },
      "a"_a.none(), "axis"_a.none() = nb::none(), "keepdims"_a.none() = false,
      "ddof"_a.none() = 0, nb::kw_only(), "stream"_a.none() = nb::none(),
      kStdDoc);
  m.def(
      "argmax",
      [](nb::handle a, nb::handle axis, nb::handle keepdims,
         nb::handle stream) {
        return arg_reduce(to_array(a, std::nullopt, "argmax"), axis, keepdims,
                          stream, "argmax", &runnel::argmax, &runnel::argmax);
      },
      "a"_a.none(), "axis"_a.none() = nb::none(), "keepdims"_a.none() = false,
      nb::kw_only(), "stream"_a.none() = nb::none(), kArgmaxDoc);
  m.def(
      "argmin",
      [](nb::handle a, nb::handle axis, nb::handle keepdims,
         nb::handle stream) {
        return arg_reduce(to_array(a, std::nullopt, "argmin"), axis, keepdims,
                          stream, "argmin", &runnel::argmin, &runnel::argmin);
      },
      "a"_a.none(), "axis"_a.none() = nb::none(), "keepdims"_a.none() = false,
      nb::kw_only(), "stream"_a.none() = nb::none(), kArgminDoc);
  m.def(
      "cumsum",
      [](nb::handle a, nb::handle axis, nb::handle reverse,
         nb::handle inclusive, nb::handle stream) {
        return scan(to_array(a, std::nullopt, "cumsum"), axis, reverse,
                    inclusive, stream, "cumsum", &runnel::cumsum,
                    &runnel::cumsum);
      },
      "a"_a.none(), "axis"_a.none() = nb::none(), nb::kw_only(),
      "reverse"_a.none() = false, "inclusive"_a.none() = true,
      "stream"_a.none() = nb::none(), kCumsumDoc);
  m.def(
      "cumprod",
      [](nb::handle a, nb::handle axis, nb::handle reverse,
         nb::handle inclusive, nb::handle stream) {
        return scan(to_array(a, std::nullopt, "cumprod"), axis, reverse,
                    inclusive, stream, "cumprod", &runnel::cumprod,
                    &runnel::cumprod);
      },
      "a"_a.none(), "axis"_a.none() = nb::none(), nb::kw_only(),
      "reverse"_a.none() = false, "inclusive"_a.none() = true,
      "stream"_a.none() = nb::none(), kCumprodDoc);
  m.def(
      "softmax",
      [](nb::handle a, nb::handle axis, nb::handle precise, nb::handle stream) {
        array x = to_array(a, std::nullopt, "softmax");
        auto axes = to_axes(axis, "softmax");
        bool p = to_bool(precise, "softmax", "precise");
        StreamOrDevice s = to_stream_or_device(stream, "softmax");
        return axes ? runnel::softmax(x, *axes, p, s)
                    : runnel::softmax(x, p, s);
      },
      "a"_a.none(), "axis"_a.none() = nb::none(), nb::kw_only(),
      "precise"_a.none() = false, "stream"_a.none() = nb::none(),
      "exp(a - max) / sum(exp(a - max)) over the axes (None: every axis), "
      "numerically stable. Integer and bool inputs give float32. precise "
      "(MLX: accumulate half types in float32) is what runnel always does.");
}

void init_array_reductions(nb::class_<array>& cls) {
  for (const Plain& p : kPlain) {
    cls.def(
        p.name,
        [p](const array& self, nb::handle axis, nb::handle keepdims,
            nb::handle stream) {
          return reduce(self, axis, keepdims, stream, p.name, p.all, p.some);
        },
        "axis"_a.none() = nb::none(), "keepdims"_a.none() = false,
        nb::kw_only(), "stream"_a.none() = nb::none(), p.method_doc);
  }
  cls.def(
      "var",
      [](const array& self, nb::handle axis, nb::handle keepdims,
         nb::handle ddof, nb::handle stream) {
        return reduce_ddof(self, axis, keepdims, ddof, stream, "var",
                           &runnel::var, &runnel::var);
      },
      "axis"_a.none() = nb::none(), "keepdims"_a.none() = false,
      "ddof"_a.none() = 0, nb::kw_only(), "stream"_a.none() = nb::none(),
      "See var().");
  cls.def(
      "std",
      [](const array& self, nb::handle axis, nb::handle keepdims,
         nb::handle ddof, nb::handle stream) {
        return reduce_ddof(self, axis, keepdims, ddof, stream, "std",
                           &runnel::std, &runnel::std);
      },
      "axis"_a.none() = nb::none(), "keepdims"_a.none() = false,
      "ddof"_a.none() = 0, nb::kw_only(), "stream"_a.none() = nb::none(),
      "See std().");
  cls.def(
      "argmax",
      [](const array& self, nb::handle axis, nb::handle keepdims,
         nb::handle stream) {
        return arg_reduce(self, axis, keepdims, stream, "argmax",
                          &runnel::argmax, &runnel::argmax);
      },
      "axis"_a.none() = nb::none(), "keepdims"_a.none() = false, nb::kw_only(),
      "stream"_a.none() = nb::none(), "See argmax().");
  cls.def(
      "argmin",
      [](const array& self, nb::handle axis, nb::handle keepdims,
         nb::handle stream) {
        return arg_reduce(self, axis, keepdims, stream, "argmin",
                          &runnel::argmin, &runnel::argmin);
      },
      "axis"_a.none() = nb::none(), "keepdims"_a.none() = false, nb::kw_only(),
      "stream"_a.none() = nb::none(), "See argmin().");
  cls.def(
      "cumsum",
      [](const array& self, nb::handle axis, nb::handle reverse,
         nb::handle inclusive, nb::handle stream) {
        return scan(self, axis, reverse, inclusive, stream, "cumsum",
                    &runnel::cumsum, &runnel::cumsum);
      },
      "axis"_a.none() = nb::none(), nb::kw_only(), "reverse"_a.none() = false,
      "inclusive"_a.none() = true, "stream"_a.none() = nb::none(),
      "See cumsum().");
  cls.def(
      "cumprod",
      [](const array& self, nb::handle axis, nb::handle reverse,
         nb::handle inclusive, nb::handle stream) {
        return scan(self, axis, reverse, inclusive, stream, "cumprod",
                    &runnel::cumprod, &runnel::cumprod);
      },
      "axis"_a.none() = nb::none(), nb::kw_only(), "reverse"_a.none() = false,
      "inclusive"_a.none() = true, "stream"_a.none() = nb::none(),
      "See cumprod().");
}

}  // namespace runnel::python
