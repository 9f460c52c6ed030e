#include "runnel/ops/reduce.h"

#include <limits>
#include <optional>
#include <stdexcept>
#include <string>

#include "runnel/ops/creation.h"
#include "runnel/ops/shape.h"
#include "runnel/primitives/reduce.h"

namespace runnel {
namespace {

using Op = Reduce::Op;

std::string axes_str(const std::vector<int>& axes) {
  std::string s = "(";
  for (size_t i = 0; i < axes.size(); ++i) {
    s += (i ? ", " : "") + std::to_string(axes[i]);
  }
  return s + (axes.size() == 1 ? ",)" : ")");
}

// In range, distinct, sorted; std::invalid_argument naming `fn` otherwise.
std::vector<int> normalize_axes(const std::vector<int>& axes, int ndim,
                                const char* fn) {
  std::vector<bool> seen(ndim, false);
  for (int ax : axes) {
    int a = normalize_axis(ax, ndim, fn);
    if (seen[a]) {
      throw std::invalid_argument(std::string("[") + fn + "] Axis " +
                                  std::to_string(ax) + " is repeated in " +
                                  axes_str(axes) + ".");
    }
    seen[a] = true;
  }
  std::vector<int> out;
  for (int a = 0; a < ndim; ++a) {
    if (seen[a]) out.push_back(a);
  }
  return out;
}

std::vector<int> all_axes(int ndim) {
  std::vector<int> axes(ndim);
  for (int i = 0; i < ndim; ++i) axes[i] = i;
  return axes;
}

// The shape after reducing `axes` (normalised).
Shape reduced_shape(const Shape& shape, const std::vector<int>& axes,
                    bool keepdims) {
  Shape out;
  size_t k = 0;
  for (int d = 0; d < static_cast<int>(shape.size()); ++d) {
    bool reduced = k < axes.size() && axes[k] == d;
    if (reduced) ++k;
    if (!reduced) {
      out.push_back(shape[d]);
    } else if (keepdims) {
      out.push_back(1);
    }
  }
  return out;
}

// How many elements reduce into each output.
double reduced_count(const Shape& shape, const std::vector<int>& axes) {
  double n = 1;
  for (int a : axes) n *= shape[a];
  return n;
}

Dtype at_least_float(Dtype d) { return is_floating_point(d) ? d : float32; }

void check_nonempty(const array& a, const std::vector<int>& axes,
                    const char* fn) {
  if (reduced_count(a.shape(), axes) == 0) {
    throw std::invalid_argument(
        std::string("[") + fn +
        "] Cannot reduce over a zero-size axis: the reduction has no "
        "identity.");
  }
}

// A Reduce node over normalised, nonempty `axes` of `in`.
array reduce_node(const array& in, const std::vector<int>& axes, bool keepdims,
                  Dtype out_dtype, Op op, const Stream& st, double scale = 1.0,
                  std::vector<array> extra = {}) {
  std::vector<array> inputs{in};
  for (auto& e : extra) inputs.push_back(std::move(e));
  return array(reduced_shape(in.shape(), axes, keepdims), out_dtype,
               std::make_shared<Reduce>(op, axes, scale), std::move(inputs),
               st);
}

array sum_impl(const array& a, const std::vector<int>& axes_in, bool keepdims,
               const StreamOrDevice& s) {
  std::vector<int> axes = normalize_axes(axes_in, a.ndim(), "sum");
  Stream st = to_stream(s);
  Dtype t = a.dtype() == bool_ ? int32 : a.dtype();
  array in = astype(a, t, st);
  if (static_cast<int>(axes.size()) == a.ndim()) {
    // The GPU's full-sum kernel reads its input as one contiguous run: a
    // view (a slice, a broadcast) is copied first there. The CPU kernel
    // reads any strides.
    if (st.device().type == DeviceType::gpu &&
        !detail::is_row_contiguous(in.shape(), in.strides())) {
      in = contiguous(in, st);
    }
    return array(reduced_shape(a.shape(), axes, keepdims), t,
                 shared_primitive<SumAll>(), {in}, st);
  }
  if (axes.empty()) return in;
  return reduce_node(in, axes, keepdims, t, Op::sum, st);
}

array prod_impl(const array& a, const std::vector<int>& axes_in, bool keepdims,
                const StreamOrDevice& s) {
  std::vector<int> axes = normalize_axes(axes_in, a.ndim(), "prod");
  Stream st = to_stream(s);
  Dtype t = a.dtype() == bool_ ? int32 : a.dtype();
  array in = astype(a, t, st);
  if (axes.empty()) return in;
  return reduce_node(in, axes, keepdims, t, Op::prod, st);
}

array extreme_impl(const array& a, const std::vector<int>& axes_in,
                   bool keepdims, const StreamOrDevice& s, Op op,
                   const char* fn) {
  std::vector<int> axes = normalize_axes(axes_in, a.ndim(), fn);
  check_nonempty(a, axes, fn);
  Stream st = to_stream(s);  // a bad stream fails also when nothing is done
  if (axes.empty()) return a;
  return reduce_node(a, axes, keepdims, a.dtype(), op, st);
}

array logical_impl(const array& a, const std::vector<int>& axes_in,
                   bool keepdims, const StreamOrDevice& s, Op op,
                   const char* fn) {
  std::vector<int> axes = normalize_axes(axes_in, a.ndim(), fn);
  Stream st = to_stream(s);
  if (axes.empty()) return astype(a, bool_, st);
  return reduce_node(a, axes, keepdims, bool_, op, st);
}

array mean_impl(const array& a, const std::vector<int>& axes_in, bool keepdims,
                const StreamOrDevice& s) {
  std::vector<int> axes = normalize_axes(axes_in, a.ndim(), "mean");
  Stream st = to_stream(s);
  Dtype t = at_least_float(a.dtype());
  array in = astype(a, t, st);
  if (axes.empty()) return in;
  double n = reduced_count(a.shape(), axes);
  double scale = n > 0 ? 1.0 / n : std::numeric_limits<double>::quiet_NaN();
  return reduce_node(in, axes, keepdims, t, Op::mean, st, scale);
}

array var_impl(const array& a, const std::vector<int>& axes_in, bool keepdims,
               int ddof, const StreamOrDevice& s, Op op, const char* fn) {
  std::vector<int> axes = normalize_axes(axes_in, a.ndim(), fn);
  Stream st = to_stream(s);
  Dtype t = at_least_float(a.dtype());
  array in = astype(a, t, st);
  double n = reduced_count(a.shape(), axes);
  array mu =
      reduce_node(in, axes, /*keepdims=*/true, t, Op::mean, st,
                  n > 0 ? 1.0 / n : std::numeric_limits<double>::quiet_NaN());
  double dof = n - ddof;
  double scale = dof > 0 ? 1.0 / dof : std::numeric_limits<double>::infinity();
  return reduce_node(in, axes, keepdims, t, op, st, scale, {mu});
}

array logsumexp_impl(const array& a, const std::vector<int>& axes_in,
                     bool keepdims, const StreamOrDevice& s) {
  std::vector<int> axes = normalize_axes(axes_in, a.ndim(), "logsumexp");
  check_nonempty(a, axes, "logsumexp");
  Stream st = to_stream(s);
  Dtype t = at_least_float(a.dtype());
  array in = astype(a, t, st);
  array m = reduce_node(in, axes, /*keepdims=*/true, t, Op::max, st);
  return reduce_node(in, axes, keepdims, t, Op::logsumexp, st, 1.0, {m});
}

array arg_impl(const array& a, std::optional<int> axis, bool keepdims,
               const StreamOrDevice& s, bool is_max) {
  const char* fn = is_max ? "argmax" : "argmin";
  Stream st = to_stream(s);
  if (!axis) {
    if (a.size() == 0) {
      throw std::invalid_argument(std::string("[") + fn + "] Cannot take the " +
                                  (is_max ? "maximum" : "minimum") +
                                  " of an empty array.");
    }
    Shape shape = keepdims ? Shape(a.ndim(), 1) : Shape{};
    return array(std::move(shape), uint32,
                 std::make_shared<ArgReduce>(is_max, ArgReduce::kFlat), {a},
                 st);
  }
  int ax = normalize_axis(*axis, a.ndim(), fn);
  if (a.shape(ax) == 0) {
    throw std::invalid_argument(std::string("[") + fn + "] Cannot take the " +
                                (is_max ? "maximum" : "minimum") +
                                " over a zero-size axis.");
  }
  return array(reduced_shape(a.shape(), {ax}, keepdims), uint32,
               std::make_shared<ArgReduce>(is_max, ax), {a}, st);
}

array scan_impl(const array& a, std::optional<int> axis, bool reverse,
                bool inclusive, const StreamOrDevice& s, bool is_prod) {
  const char* fn = is_prod ? "cumprod" : "cumsum";
  Stream st = to_stream(s);
  Dtype t = !is_prod && a.dtype() == bool_ ? int32 : a.dtype();
  array in = astype(a, t, st);
  if (!axis) {
    return array(
        Shape{static_cast<int>(a.size())}, t,
        std::make_shared<Scan>(is_prod, Scan::kFlat, reverse, inclusive), {in},
        st);
  }
  int ax = normalize_axis(*axis, a.ndim(), fn);
  return array(a.shape(), t,
               std::make_shared<Scan>(is_prod, ax, reverse, inclusive), {in},
               st);
}

}  // namespace

// ---- sum, prod ----

array sum(const array& a, bool keepdims, StreamOrDevice s) {
  return sum_impl(a, all_axes(a.ndim()), keepdims, s);
}
array sum(const array& a, StreamOrDevice s) { return sum(a, false, s); }
array sum(const array& a, const std::vector<int>& axes, bool keepdims,
          StreamOrDevice s) {
  return sum_impl(a, axes, keepdims, s);
}
array sum(const array& a, int axis, bool keepdims, StreamOrDevice s) {
  return sum_impl(a, {axis}, keepdims, s);
}

array prod(const array& a, bool keepdims, StreamOrDevice s) {
  return prod_impl(a, all_axes(a.ndim()), keepdims, s);
}
array prod(const array& a, StreamOrDevice s) { return prod(a, false, s); }
array prod(const array& a, const std::vector<int>& axes, bool keepdims,
           StreamOrDevice s) {
  return prod_impl(a, axes, keepdims, s);
}
array prod(const array& a, int axis, bool keepdims, StreamOrDevice s) {
  return prod_impl(a, {axis}, keepdims, s);
}

// ---- max, min ----

array max(const array& a, bool keepdims, StreamOrDevice s) {
  return extreme_impl(a, all_axes(a.ndim()), keepdims, s, Op::max, "max");
}
array max(const array& a, StreamOrDevice s) { return max(a, false, s); }
array max(const array& a, const std::vector<int>& axes, bool keepdims,
          StreamOrDevice s) {
  return extreme_impl(a, axes, keepdims, s, Op::max, "max");
}
array max(const array& a, int axis, bool keepdims, StreamOrDevice s) {
  return extreme_impl(a, {axis}, keepdims, s, Op::max, "max");
}

array min(const array& a, bool keepdims, StreamOrDevice s) {
  return extreme_impl(a, all_axes(a.ndim()), keepdims, s, Op::min, "min");
}
array min(const array& a, StreamOrDevice s) { return min(a, false, s); }
array min(const array& a, const std::vector<int>& axes, bool keepdims,
          StreamOrDevice s) {
  return extreme_impl(a, axes, keepdims, s, Op::min, "min");
}
array min(const array& a, int axis, bool keepdims, StreamOrDevice s) {
  return extreme_impl(a, {axis}, keepdims, s, Op::min, "min");
}

// ---- mean, var, std ----

array mean(const array& a, bool keepdims, StreamOrDevice s) {
  return mean_impl(a, all_axes(a.ndim()), keepdims, s);
}
array mean(const array& a, StreamOrDevice s) { return mean(a, false, s); }
array mean(const array& a, const std::vector<int>& axes, bool keepdims,
           StreamOrDevice s) {
  return mean_impl(a, axes, keepdims, s);
}
array mean(const array& a, int axis, bool keepdims, StreamOrDevice s) {
  return mean_impl(a, {axis}, keepdims, s);
}

array var(const array& a, bool keepdims, int ddof, StreamOrDevice s) {
  return var_impl(a, all_axes(a.ndim()), keepdims, ddof, s, Op::var, "var");
}
array var(const array& a, StreamOrDevice s) { return var(a, false, 0, s); }
array var(const array& a, const std::vector<int>& axes, bool keepdims, int ddof,
          StreamOrDevice s) {
  return var_impl(a, axes, keepdims, ddof, s, Op::var, "var");
}
array var(const array& a, int axis, bool keepdims, int ddof, StreamOrDevice s) {
  return var_impl(a, {axis}, keepdims, ddof, s, Op::var, "var");
}

array std(const array& a, bool keepdims, int ddof, StreamOrDevice s) {
  return var_impl(a, all_axes(a.ndim()), keepdims, ddof, s, Op::stddev, "std");
}
array std(const array& a, StreamOrDevice s) { return std(a, false, 0, s); }
array std(const array& a, const std::vector<int>& axes, bool keepdims, int ddof,
          StreamOrDevice s) {
  return var_impl(a, axes, keepdims, ddof, s, Op::stddev, "std");
}
array std(const array& a, int axis, bool keepdims, int ddof, StreamOrDevice s) {
  return var_impl(a, {axis}, keepdims, ddof, s, Op::stddev, "std");
}

// ---- all, any ----

array all(const array& a, bool keepdims, StreamOrDevice s) {
  return logical_impl(a, all_axes(a.ndim()), keepdims, s, Op::all, "all");
}
array all(const array& a, StreamOrDevice s) { return all(a, false, s); }
array all(const array& a, const std::vector<int>& axes, bool keepdims,
          StreamOrDevice s) {
  return logical_impl(a, axes, keepdims, s, Op::all, "all");
}
array all(const array& a, int axis, bool keepdims, StreamOrDevice s) {
  return logical_impl(a, {axis}, keepdims, s, Op::all, "all");
}

array any(const array& a, bool keepdims, StreamOrDevice s) {
  return logical_impl(a, all_axes(a.ndim()), keepdims, s, Op::any, "any");
}
array any(const array& a, StreamOrDevice s) { return any(a, false, s); }
array any(const array& a, const std::vector<int>& axes, bool keepdims,
          StreamOrDevice s) {
  return logical_impl(a, axes, keepdims, s, Op::any, "any");
}
array any(const array& a, int axis, bool keepdims, StreamOrDevice s) {
  return logical_impl(a, {axis}, keepdims, s, Op::any, "any");
}

// ---- logsumexp ----

array logsumexp(const array& a, bool keepdims, StreamOrDevice s) {
  return logsumexp_impl(a, all_axes(a.ndim()), keepdims, s);
}
array logsumexp(const array& a, StreamOrDevice s) {
  return logsumexp(a, false, s);
}
array logsumexp(const array& a, const std::vector<int>& axes, bool keepdims,
                StreamOrDevice s) {
  return logsumexp_impl(a, axes, keepdims, s);
}
array logsumexp(const array& a, int axis, bool keepdims, StreamOrDevice s) {
  return logsumexp_impl(a, {axis}, keepdims, s);
}

// ---- argmax, argmin ----

array argmax(const array& a, bool keepdims, StreamOrDevice s) {
  return arg_impl(a, std::nullopt, keepdims, s, true);
}
array argmax(const array& a, StreamOrDevice s) { return argmax(a, false, s); }
array argmax(const array& a, int axis, bool keepdims, StreamOrDevice s) {
  return arg_impl(a, axis, keepdims, s, true);
}
array argmin(const array& a, bool keepdims, StreamOrDevice s) {
  return arg_impl(a, std::nullopt, keepdims, s, false);
}
array argmin(const array& a, StreamOrDevice s) { return argmin(a, false, s); }
array argmin(const array& a, int axis, bool keepdims, StreamOrDevice s) {
  return arg_impl(a, axis, keepdims, s, false);
}

// ---- cumsum, cumprod ----

array cumsum(const array& a, int axis, bool reverse, bool inclusive,
             StreamOrDevice s) {
  return scan_impl(a, axis, reverse, inclusive, s, false);
}
array cumsum(const array& a, bool reverse, bool inclusive, StreamOrDevice s) {
  return scan_impl(a, std::nullopt, reverse, inclusive, s, false);
}
array cumprod(const array& a, int axis, bool reverse, bool inclusive,
              StreamOrDevice s) {
  return scan_impl(a, axis, reverse, inclusive, s, true);
}
array cumprod(const array& a, bool reverse, bool inclusive, StreamOrDevice s) {
  return scan_impl(a, std::nullopt, reverse, inclusive, s, true);
}

// ---- softmax ----

array softmax(const array& a, const std::vector<int>& axes_in, bool precise,
              StreamOrDevice s) {
  std::vector<int> axes = normalize_axes(axes_in, a.ndim(), "softmax");
  Stream st = to_stream(s);
  Dtype t = at_least_float(a.dtype());
  return array(a.shape(), t, std::make_shared<Softmax>(axes, precise),
               {astype(a, t, st)}, st);
}
array softmax(const array& a, int axis, bool precise, StreamOrDevice s) {
  return softmax(a, std::vector<int>{axis}, precise, s);
}
array softmax(const array& a, bool precise, StreamOrDevice s) {
  return softmax(a, all_axes(a.ndim()), precise, s);
}

}  // namespace runnel
