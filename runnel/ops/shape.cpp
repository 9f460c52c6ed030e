#include "runnel/ops/shape.h"

#include <algorithm>
#include <climits>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>

#include "runnel/ops/creation.h"
#include "runnel/ops/elementwise.h"
#include "runnel/primitives/shape.h"

namespace runnel {

namespace {

// A dimension computed in 64 bits, checked to fit an axis.
int checked_dim(int64_t d, const char* fn) {
  if (d > INT_MAX) {
    invalid_argument(fn, "The result would have an axis of " +
                             std::to_string(d) +
                             " elements, more than an axis can hold.");
  }
  return static_cast<int>(d);
}

// An output of primitive P that shares a's buffer, its elements at `offset`
// (relative to a's element 0) laid out by `strides`.
template <class P>
array make_view(const array& a, Shape shape, Strides strides, int64_t offset,
                const Stream& st) {
  return array(std::move(shape), std::move(strides), a.offset() + offset,
               a.dtype(), shared_primitive<P>(), {a}, st);
}

// The output axis i is input axis perm[i] (already validated).
array permute(const array& a, const std::vector<int>& perm, const Stream& st) {
  Shape shape(perm.size());
  Strides strides(perm.size());
  bool identity = true;
  for (size_t i = 0; i < perm.size(); ++i) {
    shape[i] = a.shape()[perm[i]];
    strides[i] = a.strides()[perm[i]];
    identity = identity && perm[i] == static_cast<int>(i);
  }
  if (identity) return a;
  return make_view<Transpose>(a, std::move(shape), std::move(strides), 0, st);
}

// Strides that read a's elements (of a.shape(), strided) in row-major order
// as `shape`, when a's strides allow it; empty otherwise. numpy's rule:
// axes of the new shape must each lie within groups of old axes that are
// contiguous among themselves.
std::optional<Strides> reshape_strides(const array& a, const Shape& shape) {
  if (a.size() == 0) return detail::contiguous_strides(shape);
  std::vector<int64_t> od, os;  // the old shape without size-1 axes
  for (int i = 0; i < a.ndim(); ++i) {
    if (a.shape()[i] != 1) {
      od.push_back(a.shape()[i]);
      os.push_back(a.strides()[i]);
    }
  }
  const size_t nn = shape.size(), no = od.size();
  Strides ns(nn, 0);
  size_t ni = 0, nj = 1, oi = 0, oj = 1;
  while (ni < nn && oi < no) {
    int64_t np = shape[ni], op = od[oi];
    while (np != op) {
      if (np < op) {
        np *= shape[nj++];
      } else {
        op *= od[oj++];
      }
    }
    for (size_t k = oi; k + 1 < oj; ++k) {
      if (os[k] != od[k + 1] * os[k + 1]) return std::nullopt;
    }
    ns[nj - 1] = os[oj - 1];
    for (size_t k = nj - 1; k > ni; --k) ns[k - 1] = ns[k] * shape[k];
    ni = nj++;
    oi = oj++;
  }
  // Trailing size-1 axes.
  int64_t last = ni > 0 ? ns[ni - 1] : 1;
  for (size_t k = ni; k < nn; ++k) ns[k] = last;
  return ns;
}

// The shape `shape` with a -1 resolved for `size` elements.
Shape infer_shape(Shape shape, size_t size, const char* fn) {
  int infer = -1;
  size_t known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (infer >= 0) invalid_argument(fn, "Only one dimension can be -1.");
      infer = static_cast<int>(i);
    } else if (shape[i] < 0) {
      invalid_argument(fn, "Invalid dimension " + std::to_string(shape[i]) +
                               " in shape " + shape_str(shape) + ".");
    } else {
      known *= static_cast<size_t>(shape[i]);
    }
  }
  if (infer >= 0) {
    if (known == 0 || size % known != 0) {
      invalid_argument(fn, "Cannot reshape an array of size " +
                               std::to_string(size) + " into shape " +
                               shape_str(shape) + ".");
    }
    shape[infer] = checked_dim(static_cast<int64_t>(size / known), fn);
    known = size;
  }
  if (known != size) {
    invalid_argument(fn, "Cannot reshape an array of size " +
                             std::to_string(size) + " into shape " +
                             shape_str(shape) + ".");
  }
  return shape;
}

array reshape_impl(const array& a, Shape shape, const Stream& st,
                   const char* fn) {
  shape = infer_shape(std::move(shape), a.size(), fn);
  if (shape == a.shape()) return a;
  if (auto strides = reshape_strides(a, shape)) {
    return make_view<Reshape>(a, std::move(shape), std::move(*strides), 0, st);
  }
  // The Copy kernel writes a's elements in its row-major order, which is
  // the new shape's contiguous layout.
  return array(std::move(shape), a.dtype(), shared_primitive<Copy>(), {a}, st);
}

array slice_impl(const array& a, const Shape& start, const Shape& stop,
                 const Shape& steps, const Stream& st, const char* fn) {
  const int nd = a.ndim();
  if (static_cast<int>(start.size()) != nd ||
      static_cast<int>(stop.size()) != nd ||
      (!steps.empty() && static_cast<int>(steps.size()) != nd)) {
    invalid_argument(
        fn, "Expected one start, stop and stride per axis of an array of " +
                std::to_string(nd) + " dimensions; got " +
                std::to_string(start.size()) + ", " +
                std::to_string(stop.size()) + " and " +
                std::to_string(steps.size()) + ".");
  }
  Shape shape(nd);
  Strides strides(nd);
  int64_t offset = 0;
  bool empty = false, identity = true;
  for (int i = 0; i < nd; ++i) {
    const int64_t n = a.shape()[i];
    const int64_t step = steps.empty() ? 1 : steps[i];
    if (step == 0) invalid_argument(fn, "Slice step cannot be zero.");
    int64_t lo = start[i], hi = stop[i];
    if (lo < 0) lo += n;
    if (hi < 0) hi += n;
    int64_t len = 0;
    if (step > 0) {
      lo = std::clamp<int64_t>(lo, 0, n);
      hi = std::clamp<int64_t>(hi, 0, n);
      len = hi > lo ? (hi - lo + step - 1) / step : 0;
    } else {
      lo = std::clamp<int64_t>(lo, -1, n - 1);
      hi = std::clamp<int64_t>(hi, -1, n - 1);
      len = lo > hi ? (lo - hi - step - 1) / -step : 0;
    }
    shape[i] = static_cast<int>(len);
    // With two or more elements |step| < n, so the product stays inside
    // the buffer's extent.
    strides[i] = len > 1 ? a.strides()[i] * step : a.strides()[i];
    if (len > 0) offset += lo * a.strides()[i];
    empty = empty || len == 0;
    identity = identity && len == n && (n <= 1 || step == 1);
  }
  if (identity) return a;
  // An empty view keeps its source's element 0: no offset past the buffer.
  if (empty) offset = 0;
  return make_view<Slice>(a, std::move(shape), std::move(strides), offset, st);
}

array expand_dims_impl(const array& a, std::vector<int> axes, const Stream& st,
                       const char* fn) {
  const int nd = a.ndim() + static_cast<int>(axes.size());
  std::vector<char> inserted(nd, 0);
  for (int& ax : axes) {
    ax = normalize_axis(ax, nd, fn);
    if (inserted[ax])
      invalid_argument(fn, "Repeated axis " + std::to_string(ax) + ".");
    inserted[ax] = 1;
  }
  if (axes.empty()) return a;
  Shape shape(nd);
  Strides strides(nd);
  int src = a.ndim();
  for (int i = nd - 1; i >= 0; --i) {
    if (inserted[i]) {
      shape[i] = 1;
      strides[i] = i + 1 < nd ? strides[i + 1] * shape[i + 1] : 1;
    } else {
      --src;
      shape[i] = a.shape()[src];
      strides[i] = a.strides()[src];
    }
  }
  return make_view<ExpandDims>(a, std::move(shape), std::move(strides), 0, st);
}

array squeeze_impl(const array& a, const std::vector<int>& axes,
                   const Stream& st, const char* fn) {
  std::vector<char> drop(a.ndim(), 0);
  for (int ax : axes) {
    int d = normalize_axis(ax, a.ndim(), fn);
    if (drop[d])
      invalid_argument(fn, "Repeated axis " + std::to_string(ax) + ".");
    if (a.shape()[d] != 1) {
      invalid_argument(fn, "Cannot squeeze axis " + std::to_string(ax) +
                               " of size " + std::to_string(a.shape()[d]) +
                               ".");
    }
    drop[d] = 1;
  }
  if (axes.empty()) return a;
  Shape shape;
  Strides strides;
  for (int i = 0; i < a.ndim(); ++i) {
    if (!drop[i]) {
      shape.push_back(a.shape()[i]);
      strides.push_back(a.strides()[i]);
    }
  }
  return make_view<Squeeze>(a, std::move(shape), std::move(strides), 0, st);
}

array broadcast_impl(const array& a, const Shape& shape, const Stream& st,
                     const char* fn) {
  for (int d : shape) {
    if (d < 0) {
      invalid_argument(fn,
                       "Negative dimension in shape " + shape_str(shape) + ".");
    }
  }
  if (shape.size() < a.shape().size() ||
      broadcast_shapes(a.shape(), shape, fn) != shape) {
    invalid_argument(fn, "Cannot broadcast an array of shape " +
                             shape_str(a.shape()) + " to shape " +
                             shape_str(shape) + ".");
  }
  if (shape == a.shape()) return a;
  Strides strides(shape.size(), 0);
  const size_t off = shape.size() - a.shape().size();
  for (size_t i = 0; i < a.shape().size(); ++i) {
    strides[off + i] = a.shape()[i] == shape[off + i] ? a.strides()[i] : 0;
  }
  return make_view<BroadcastTo>(a, shape, std::move(strides), 0, st);
}

// The dtype the arrays are joined in, and each array as that dtype.
std::vector<array> promote_all(const std::vector<array>& arrays,
                               const Stream& st) {
  Dtype t = arrays[0].dtype();
  for (const array& x : arrays) t = promote_types(t, x.dtype());
  std::vector<array> out;
  out.reserve(arrays.size());
  for (const array& x : arrays) out.push_back(astype(x, t, st));
  return out;
}

std::vector<array> split_at(const array& a, const Shape& indices, int axis,
                            const Stream& st, const char* fn) {
  const int ax = normalize_axis(axis, a.ndim(), fn);
  const int n = a.shape()[ax];
  Shape start(a.ndim(), 0), stop = a.shape();
  std::vector<array> out;
  out.reserve(indices.size() + 1);
  int prev = 0;
  for (size_t i = 0; i <= indices.size(); ++i) {
    int next = i < indices.size() ? indices[i] : n;
    // Python slice bounds, as numpy's array_split: negative from the end,
    // clamped, and empty when the next point is before this one.
    int64_t lo = prev < 0 ? int64_t{prev} + n : prev;
    int64_t hi = next < 0 ? int64_t{next} + n : next;
    lo = std::clamp<int64_t>(lo, 0, n);
    hi = std::clamp<int64_t>(hi, 0, n);
    start[ax] = static_cast<int>(lo);
    stop[ax] = static_cast<int>(std::max(lo, hi));
    out.push_back(slice_impl(a, start, stop, {}, st, fn));
    prev = next;
  }
  return out;
}

}  // namespace

// ---- Views ----

array transpose(const array& a, std::vector<int> axes, StreamOrDevice s) {
  const int nd = a.ndim();
  if (static_cast<int>(axes.size()) != nd) {
    invalid_argument("transpose", "Expected " + std::to_string(nd) +
                                      " axes for an array of " +
                                      std::to_string(nd) + " dimensions, got " +
                                      std::to_string(axes.size()) + ".");
  }
  std::vector<char> seen(nd, 0);
  for (int& ax : axes) {
    ax = normalize_axis(ax, nd, "transpose");
    if (seen[ax])
      invalid_argument("transpose",
                       "Repeated axis " + std::to_string(ax) + ".");
    seen[ax] = 1;
  }
  return permute(a, axes, to_stream(s));
}

array transpose(const array& a, StreamOrDevice s) {
  std::vector<int> axes(a.ndim());
  for (int i = 0; i < a.ndim(); ++i) axes[i] = a.ndim() - 1 - i;
  return permute(a, axes, to_stream(s));
}

array swapaxes(const array& a, int axis1, int axis2, StreamOrDevice s) {
  int i = normalize_axis(axis1, a.ndim(), "swapaxes");
  int j = normalize_axis(axis2, a.ndim(), "swapaxes");
  std::vector<int> perm(a.ndim());
  for (int k = 0; k < a.ndim(); ++k) perm[k] = k;
  std::swap(perm[i], perm[j]);
  return permute(a, perm, to_stream(s));
}

array moveaxis(const array& a, int source, int destination, StreamOrDevice s) {
  int src = normalize_axis(source, a.ndim(), "moveaxis");
  int dst = normalize_axis(destination, a.ndim(), "moveaxis");
  std::vector<int> perm;
  for (int k = 0; k < a.ndim(); ++k) {
    if (k != src) perm.push_back(k);
  }
  perm.insert(perm.begin() + dst, src);
  return permute(a, perm, to_stream(s));
}

array expand_dims(const array& a, const std::vector<int>& axes,
                  StreamOrDevice s) {
  return expand_dims_impl(a, axes, to_stream(s), "expand_dims");
}

array expand_dims(const array& a, int axis, StreamOrDevice s) {
  return expand_dims_impl(a, {axis}, to_stream(s), "expand_dims");
}

array squeeze(const array& a, const std::vector<int>& axes, StreamOrDevice s) {
  return squeeze_impl(a, axes, to_stream(s), "squeeze");
}

array squeeze(const array& a, int axis, StreamOrDevice s) {
  return squeeze_impl(a, {axis}, to_stream(s), "squeeze");
}

array squeeze(const array& a, StreamOrDevice s) {
  std::vector<int> axes;
  for (int i = 0; i < a.ndim(); ++i) {
    if (a.shape()[i] == 1) axes.push_back(i);
  }
  return squeeze_impl(a, axes, to_stream(s), "squeeze");
}

array broadcast_to(const array& a, const Shape& shape, StreamOrDevice s) {
  return broadcast_impl(a, shape, to_stream(s), "broadcast_to");
}

std::vector<array> broadcast_arrays(const std::vector<array>& inputs,
                                    StreamOrDevice s) {
  if (inputs.empty()) return {};
  Shape shape = inputs[0].shape();
  for (const array& x : inputs) {
    shape = broadcast_shapes(shape, x.shape(), "broadcast_arrays");
  }
  Stream st = to_stream(s);
  std::vector<array> out;
  out.reserve(inputs.size());
  for (const array& x : inputs) {
    out.push_back(broadcast_impl(x, shape, st, "broadcast_arrays"));
  }
  return out;
}

array reshape(const array& a, Shape shape, StreamOrDevice s) {
  return reshape_impl(a, std::move(shape), to_stream(s), "reshape");
}

array flatten(const array& a, int start_axis, int end_axis, StreamOrDevice s) {
  if (a.ndim() == 0) return reshape_impl(a, {1}, to_stream(s), "flatten");
  int lo = normalize_axis(start_axis, a.ndim(), "flatten");
  int hi = normalize_axis(end_axis, a.ndim(), "flatten");
  if (lo > hi) {
    invalid_argument("flatten", "start_axis " + std::to_string(start_axis) +
                                    " comes after end_axis " +
                                    std::to_string(end_axis) + ".");
  }
  Shape shape(a.shape().begin(), a.shape().begin() + lo);
  int64_t merged = 1;
  for (int i = lo; i <= hi; ++i) merged *= a.shape()[i];
  shape.push_back(checked_dim(merged, "flatten"));
  shape.insert(shape.end(), a.shape().begin() + hi + 1, a.shape().end());
  return reshape_impl(a, std::move(shape), to_stream(s), "flatten");
}

array flatten(const array& a, StreamOrDevice s) {
  return flatten(a, 0, -1, std::move(s));
}

array slice(const array& a, Shape start, Shape stop, Shape strides,
            StreamOrDevice s) {
  return slice_impl(a, start, stop, strides, to_stream(s), "slice");
}

array slice(const array& a, Shape start, Shape stop, StreamOrDevice s) {
  return slice_impl(a, start, stop, {}, to_stream(s), "slice");
}

std::vector<array> split(const array& a, int num_splits, int axis,
                         StreamOrDevice s) {
  const int ax = normalize_axis(axis, a.ndim(), "split");
  if (num_splits <= 0) {
    invalid_argument("split", "The number of splits must be positive, got " +
                                  std::to_string(num_splits) + ".");
  }
  const int n = a.shape()[ax];
  if (n % num_splits != 0) {
    invalid_argument("split", "Axis " + std::to_string(axis) + " of size " +
                                  std::to_string(n) +
                                  " does not split evenly into " +
                                  std::to_string(num_splits) + " parts.");
  }
  Shape indices;
  for (int i = 1; i < num_splits; ++i) indices.push_back(i * (n / num_splits));
  return split_at(a, indices, ax, to_stream(s), "split");
}

std::vector<array> split(const array& a, int num_splits, StreamOrDevice s) {
  return split(a, num_splits, 0, std::move(s));
}

std::vector<array> split(const array& a, const Shape& indices, int axis,
                         StreamOrDevice s) {
  return split_at(a, indices, axis, to_stream(s), "split");
}

std::vector<array> split(const array& a, const Shape& indices,
                         StreamOrDevice s) {
  return split_at(a, indices, 0, to_stream(s), "split");
}

// ---- Copies ----

array copy(const array& a, StreamOrDevice s) {
  return array(a.shape(), a.dtype(), shared_primitive<Copy>(), {a},
               to_stream(s));
}

array contiguous(const array& a, StreamOrDevice s) {
  Stream st = to_stream(s);  // a bad stream fails also when nothing is done
  if (detail::is_row_contiguous(a.shape(), a.strides())) return a;
  return copy(a, st);
}

array concatenate(const std::vector<array>& arrays, int axis,
                  StreamOrDevice s) {
  const char* fn = "concatenate";
  if (arrays.empty()) invalid_argument(fn, "No arrays to concatenate.");
  const int nd = arrays[0].ndim();
  if (nd == 0) invalid_argument(fn, "0-d arrays cannot be concatenated.");
  const int ax = normalize_axis(axis, nd, fn);
  Shape shape = arrays[0].shape();
  int64_t total = 0;
  for (size_t i = 0; i < arrays.size(); ++i) {
    const Shape& sh = arrays[i].shape();
    if (static_cast<int>(sh.size()) != nd) {
      invalid_argument(fn, "Array 0 has " + std::to_string(nd) +
                               " dimensions but array " + std::to_string(i) +
                               " has " + std::to_string(sh.size()) + ".");
    }
    for (int d = 0; d < nd; ++d) {
      if (d != ax && sh[d] != shape[d]) {
        invalid_argument(
            fn, "Every axis but the concatenation axis must match: axis " +
                    std::to_string(d) + " of array 0 has size " +
                    std::to_string(shape[d]) + " and of array " +
                    std::to_string(i) + " size " + std::to_string(sh[d]) + ".");
      }
    }
    total += sh[ax];
  }
  shape[ax] = checked_dim(total, fn);
  Stream st = to_stream(s);
  std::vector<array> inputs = promote_all(arrays, st);
  Dtype t = inputs[0].dtype();
  return array(std::move(shape), t, std::make_shared<Concatenate>(ax),
               std::move(inputs), st);
}

array concatenate(const std::vector<array>& arrays, StreamOrDevice s) {
  Stream st = to_stream(s);
  std::vector<array> flat;
  flat.reserve(arrays.size());
  for (const array& x : arrays) {
    flat.push_back(reshape_impl(x, {-1}, st, "concatenate"));
  }
  return concatenate(flat, 0, st);
}

array stack(const std::vector<array>& arrays, int axis, StreamOrDevice s) {
  const char* fn = "stack";
  if (arrays.empty()) invalid_argument(fn, "No arrays to stack.");
  const Shape& sh = arrays[0].shape();
  for (size_t i = 1; i < arrays.size(); ++i) {
    if (arrays[i].shape() != sh) {
      invalid_argument(
          fn, "All arrays must have the same shape: array 0 has shape " +
                  shape_str(sh) + " and array " + std::to_string(i) +
                  " shape " + shape_str(arrays[i].shape()) + ".");
    }
  }
  const int ax = normalize_axis(axis, arrays[0].ndim() + 1, fn);
  Shape shape = sh;
  shape.insert(shape.begin() + ax,
               checked_dim(static_cast<int64_t>(arrays.size()), fn));
  Stream st = to_stream(s);
  std::vector<array> inputs = promote_all(arrays, st);
  Dtype t = inputs[0].dtype();
  return array(std::move(shape), t, std::make_shared<Stack>(ax),
               std::move(inputs), st);
}

array stack(const std::vector<array>& arrays, StreamOrDevice s) {
  return stack(arrays, 0, std::move(s));
}

array pad(const array& a, const std::vector<int>& axes,
          const Shape& low_pad_size, const Shape& high_pad_size,
          const array& pad_value, const std::string& mode, StreamOrDevice s) {
  const char* fn = "pad";
  if (mode != "constant") {
    invalid_argument(
        fn, "Invalid mode '" + mode + "': only 'constant' is supported.");
  }
  if (axes.size() != low_pad_size.size() ||
      axes.size() != high_pad_size.size()) {
    invalid_argument(fn, "Expected as many low and high widths as axes, got " +
                             std::to_string(axes.size()) + " axes, " +
                             std::to_string(low_pad_size.size()) + " low and " +
                             std::to_string(high_pad_size.size()) +
                             " high widths.");
  }
  if (pad_value.size() != 1) {
    invalid_argument(fn, "The pad value must be a scalar, got shape " +
                             shape_str(pad_value.shape()) + ".");
  }
  Shape low(a.ndim(), 0);
  Shape shape = a.shape();
  std::vector<char> seen(a.ndim(), 0);
  for (size_t i = 0; i < axes.size(); ++i) {
    int ax = normalize_axis(axes[i], a.ndim(), fn);
    if (seen[ax])
      invalid_argument(fn, "Repeated axis " + std::to_string(ax) + ".");
    seen[ax] = 1;
    if (low_pad_size[i] < 0 || high_pad_size[i] < 0) {
      invalid_argument(fn, "Pad widths must be non-negative, got (" +
                               std::to_string(low_pad_size[i]) + ", " +
                               std::to_string(high_pad_size[i]) +
                               ") for axis " + std::to_string(axes[i]) + ".");
    }
    low[ax] = low_pad_size[i];
    shape[ax] = checked_dim(
        int64_t{shape[ax]} + low_pad_size[i] + high_pad_size[i], fn);
  }
  Stream st = to_stream(s);
  array value = astype(reshape_impl(pad_value, {}, st, fn), a.dtype(), st);
  return array(std::move(shape), a.dtype(), std::make_shared<Pad>(low),
               {a, value}, st);
}

array pad(const array& a, const std::vector<std::pair<int, int>>& pad_width,
          const array& pad_value, const std::string& mode, StreamOrDevice s) {
  if (pad_width.size() != 1 && static_cast<int>(pad_width.size()) != a.ndim()) {
    invalid_argument("pad",
                     "Expected one (before, after) pair, or one per axis of an "
                     "array of " +
                         std::to_string(a.ndim()) + " dimensions, got " +
                         std::to_string(pad_width.size()) + ".");
  }
  std::vector<int> axes(a.ndim());
  Shape lo(a.ndim()), hi(a.ndim());
  for (int i = 0; i < a.ndim(); ++i) {
    const auto& w = pad_width.size() == 1 ? pad_width[0] : pad_width[i];
    axes[i] = i;
    lo[i] = w.first;
    hi[i] = w.second;
  }
  return pad(a, axes, lo, hi, pad_value, mode, std::move(s));
}

array pad(const array& a, const std::pair<int, int>& pad_width,
          const array& pad_value, const std::string& mode, StreamOrDevice s) {
  return pad(a, std::vector<std::pair<int, int>>{pad_width}, pad_value, mode,
             std::move(s));
}

array pad(const array& a, int pad_width, const array& pad_value,
          const std::string& mode, StreamOrDevice s) {
  return pad(a, std::vector<std::pair<int, int>>{{pad_width, pad_width}},
             pad_value, mode, std::move(s));
}

array tile(const array& a, std::vector<int> reps, StreamOrDevice s) {
  const char* fn = "tile";
  for (int r : reps) {
    if (r < 0) {
      invalid_argument(fn, "Repetitions must be non-negative, got " +
                               std::to_string(r) + ".");
    }
  }
  const int nd = std::max<int>(a.ndim(), static_cast<int>(reps.size()));
  reps.insert(reps.begin(), nd - reps.size(), 1);
  Shape in_shape = a.shape();
  in_shape.insert(in_shape.begin(), nd - a.ndim(), 1);
  Shape shape(nd);
  for (int i = 0; i < nd; ++i) {
    shape[i] = checked_dim(int64_t{in_shape[i]} * reps[i], fn);
  }
  Stream st = to_stream(s);
  array in = reshape_impl(a, in_shape, st, fn);
  return array(std::move(shape), a.dtype(),
               std::make_shared<Tile>(Shape(reps.begin(), reps.end())), {in},
               st);
}

array repeat(const array& a, int repeats, int axis, StreamOrDevice s) {
  const char* fn = "repeat";
  if (repeats < 0) {
    invalid_argument(fn, "Repeats must be non-negative, got " +
                             std::to_string(repeats) + ".");
  }
  const int ax = normalize_axis(axis, a.ndim(), fn);
  Shape shape = a.shape();
  shape[ax] = checked_dim(int64_t{shape[ax]} * repeats, fn);
  return array(std::move(shape), a.dtype(),
               std::make_shared<Repeat>(repeats, ax), {a}, to_stream(s));
}

array repeat(const array& a, int repeats, StreamOrDevice s) {
  Stream st = to_stream(s);
  return repeat(reshape_impl(a, {-1}, st, "repeat"), repeats, 0, st);
}

}  // namespace runnel
