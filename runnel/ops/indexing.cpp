#include "runnel/ops/indexing.h"

#include <algorithm>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>

#include "runnel/ops/creation.h"
#include "runnel/ops/elementwise.h"
#include "runnel/ops/shape.h"
#include "runnel/primitives/indexing.h"

namespace runnel {
namespace {

std::string bracket(const char* fn) { return std::string("[") + fn + "] "; }

// Which errors are std::out_of_range (Python IndexError) and which are
// std::invalid_argument (ValueError): out_of_range only where numpy raises
// IndexError for the index itself, that is an index value outside its axis
// (an integer key, take's integer, an index array's element when run, any
// index into an empty axis) and a subscript key (a[...], index/index_put)
// that numpy rejects with IndexError. Every other bad argument, an `axis=`
// out of range included, is invalid_argument, as in every op family.
void check_indices(const array& idx, const char* fn) {
  if (!is_integral(idx.dtype())) {
    throw std::invalid_argument(bracket(fn) + "indices must be integers, got " +
                                std::string(dtype_name(idx.dtype())) + ".");
  }
}

// An integer known at the call, wrapped once; std::out_of_range otherwise.
int64_t checked_index(int64_t i, int64_t size, const std::string& where,
                      const char* fn) {
  if (i < -size || i >= size) {
    throw std::out_of_range(bracket(fn) + "index " + std::to_string(i) +
                            " is out of bounds for " + where + " with size " +
                            std::to_string(size) + ".");
  }
  return i < 0 ? i + size : i;
}

// The broadcast of the index arrays' shapes.
Shape broadcast_all(const std::vector<Shape>& shapes, const char* fn) {
  Shape out;
  for (const Shape& s : shapes) out = broadcast_shapes(out, s, fn);
  return out;
}

// A map with `ndim` target axes starting at 0 and no dims yet.
IndexMap empty_map(int ndim) {
  IndexMap m;
  m.start.assign(ndim, 0);
  return m;
}

void add_dim(IndexMap& m, int size, int axis, int64_t step) {
  m.shape.push_back(size);
  m.dim_axis.push_back(axis);
  m.dim_step.push_back(step);
}

void add_index(IndexMap& m, int axis, int64_t extent = 1, int span = 1) {
  m.index_axis.push_back(axis);
  m.index_span.push_back(span);
  m.index_extent.push_back(extent);
}

array make_gather(const char* op, const array& a, IndexMap map,
                  const std::vector<array>& indices, Stream st) {
  std::vector<array> inputs{a};
  inputs.insert(inputs.end(), indices.begin(), indices.end());
  Shape shape = map.shape;
  return array(std::move(shape), a.dtype(),
               std::make_shared<Gather>(op, std::move(map)), std::move(inputs),
               st);
}

// `values` must broadcast to the map's shape; extra leading dims of size 1
// become dims of the map (they select nothing).
void fit_updates(IndexMap& m, const array& values, const char* fn) {
  const Shape& vs = values.shape();
  size_t extra = vs.size() > m.shape.size() ? vs.size() - m.shape.size() : 0;
  bool ok = true;
  for (size_t i = 0; i < extra; ++i) ok = ok && vs[i] == 1;
  for (size_t i = extra; i < vs.size() && ok; ++i) {
    int want = m.shape[m.shape.size() - (vs.size() - i)];
    ok = vs[i] == want || vs[i] == 1;
  }
  if (!ok) {
    throw std::invalid_argument(bracket(fn) + "values of shape " +
                                shape_str(vs) + " cannot be broadcast to " +
                                shape_str(m.shape) + ".");
  }
  for (size_t i = 0; i < extra; ++i) {
    m.shape.insert(m.shape.begin(), 1);
    m.dim_axis.insert(m.dim_axis.begin(), -1);
    m.dim_step.insert(m.dim_step.begin(), 0);
    ++m.index_pos;
  }
}

array make_scatter(const char* op, ScatterOp combine, const array& a,
                   const array& updates, IndexMap map,
                   const std::vector<array>& indices, Stream st) {
  std::vector<array> inputs{a, astype(updates, a.dtype(), st)};
  inputs.insert(inputs.end(), indices.begin(), indices.end());
  return array(a.shape(), a.dtype(),
               std::make_shared<Scatter>(op, combine, std::move(map)),
               std::move(inputs), st);
}

// The map of take_along_axis and put_along_axis (axis >= 0).
IndexMap along_axis_map(const array& a, const array& indices, int axis,
                        const char* fn) {
  if (indices.ndim() != a.ndim()) {
    throw std::invalid_argument(
        bracket(fn) + "indices must have as many dimensions as the array (" +
        std::to_string(a.ndim()) + "), got " + std::to_string(indices.ndim()) +
        ".");
  }
  IndexMap m = empty_map(a.ndim());
  for (int d = 0; d < a.ndim(); ++d) {
    const int n = a.shape(d);
    const int k = indices.shape(d);
    if (d == axis) {
      add_dim(m, k, -1, 0);
    } else if (n == k || n == 1 || k == 1) {
      add_dim(m, n == 1 ? k : n, d, n == 1 ? 0 : 1);
    } else {
      throw std::invalid_argument(
          bracket(fn) + "indices of shape " + shape_str(indices.shape()) +
          " do not broadcast against the array's shape " +
          shape_str(a.shape()) + " outside axis " + std::to_string(axis) + ".");
    }
  }
  add_index(m, axis);
  m.index_pos = 0;
  m.index_ndim = a.ndim();
  return m;
}

// The flat map of take and the along-axis ops with no axis.
IndexMap flat_map(const array& a, const array& indices) {
  IndexMap m = empty_map(a.ndim());
  for (int d : indices.shape()) add_dim(m, d, -1, 0);
  add_index(m, 0, 1, a.ndim());
  m.index_pos = 0;
  m.index_ndim = indices.ndim();
  return m;
}

void check_nonempty_source(const array& a, int axis_size,
                           const Shape& out_shape, const char* fn) {
  if (axis_size == 0 && detail::shape_size(out_shape) > 0) {
    throw std::out_of_range(bracket(fn) +
                            "cannot take a non-empty selection from an "
                            "empty axis.");
  }
}

// The shared checks of gather and the scatter family: one index array per
// axis, integers, axes distinct; returns the normalized axes.
std::vector<int> check_axes(const array& a, const std::vector<array>& indices,
                            const std::vector<int>& axes, const char* fn) {
  if (indices.size() != axes.size()) {
    throw std::invalid_argument(
        bracket(fn) + "got " + std::to_string(indices.size()) +
        " index arrays for " + std::to_string(axes.size()) + " axes.");
  }
  std::vector<int> out;
  for (int ax : axes) {
    int d = normalize_axis(ax, a.ndim(), fn);
    if (std::find(out.begin(), out.end(), d) != out.end()) {
      throw std::invalid_argument(bracket(fn) + "axis " + std::to_string(ax) +
                                  " is repeated.");
    }
    out.push_back(d);
  }
  for (const array& idx : indices) check_indices(idx, fn);
  return out;
}

Shape index_shape(const std::vector<array>& indices, const char* fn) {
  std::vector<Shape> shapes;
  for (const array& idx : indices) shapes.push_back(idx.shape());
  return broadcast_all(shapes, fn);
}

array scatter_op(const char* fn, ScatterOp combine, const array& a,
                 const std::vector<array>& indices, const array& updates,
                 const std::vector<int>& axes, StreamOrDevice s) {
  std::vector<int> ax = check_axes(a, indices, axes, fn);
  Shape b = index_shape(indices, fn);
  const int nb = static_cast<int>(b.size());
  if (updates.ndim() != nb + a.ndim()) {
    throw std::invalid_argument(
        bracket(fn) + "updates of shape " + shape_str(updates.shape()) +
        " must have " + std::to_string(nb + a.ndim()) +
        " dimensions: the indices' " + std::to_string(nb) +
        ", then one per dimension of the array.");
  }
  IndexMap m = empty_map(a.ndim());
  for (int i = 0; i < nb; ++i) {
    const int u = updates.shape(i);
    if (u != b[i] && u != 1) {
      throw std::invalid_argument(
          bracket(fn) + "updates of shape " + shape_str(updates.shape()) +
          " do not match the indices' shape " + shape_str(b) + ".");
    }
    add_dim(m, b[i], -1, 0);
  }
  for (int d = 0; d < a.ndim(); ++d) {
    const int u = updates.shape(nb + d);
    if (u > a.shape(d)) {
      throw std::invalid_argument(
          bracket(fn) + "updates of shape " + shape_str(updates.shape()) +
          " have slices larger than the array's shape " + shape_str(a.shape()) +
          ".");
    }
    add_dim(m, u, d, 1);
  }
  for (int d : ax) add_index(m, d, updates.shape(nb + d));
  m.index_pos = 0;
  m.index_ndim = nb;
  return make_scatter(fn, combine, a, updates, std::move(m), indices,
                      to_stream(s));
}

// ---- numpy keys ----

// A 1-d int64 array of the values (an empty vector's data may be null).
array int64_array(const std::vector<int64_t>& v) {
  const int64_t none = 0;
  return array(v.empty() ? &none : v.data(), int64,
               Shape{static_cast<int>(v.size())}, int64);
}

// The row-major positions of the nonzero elements of `a` (NaN counts as
// nonzero, as in numpy), after evaluating it.
std::vector<int64_t> true_positions(const array& a) {
  array x = a;
  x.eval();
  std::vector<int64_t> out;
  if (x.size() == 0) return out;
  dispatch_dtype(x.dtype(), [&]<class T>(std::type_identity<T>) {
    const T* p = x.data<T>();
    auto is_set = [](T v) {
      if constexpr (std::is_same_v<T, bool>) {
        return v;
      } else if constexpr (std::is_same_v<T, float16_t> ||
                           std::is_same_v<T, bfloat16_t>) {
        return static_cast<float>(v) != 0.0f;
      } else {
        return v != T(0);
      }
    };
    const int64_t n = static_cast<int64_t>(x.size());
    if (detail::is_row_contiguous(x.shape(), x.strides())) {
      int64_t count = 0;
      for (int64_t i = 0; i < n; ++i) count += is_set(p[i]) ? 1 : 0;
      out.resize(count);
      int64_t k = 0;
      for (int64_t i = 0; i < n && k < count; ++i) {
        out[k] = i;  // kept only where nonzero: branch-free
        k += is_set(p[i]) ? 1 : 0;
      }
      return;
    }
    const int nd = x.ndim();
    std::vector<int> idx(nd, 0);
    int64_t off = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (is_set(p[off])) out.push_back(i);
      for (int d = nd - 1; d >= 0; --d) {
        off += x.strides()[d];
        if (++idx[d] < x.shape(d)) break;
        off -= x.strides()[d] * x.shape(d);
        idx[d] = 0;
      }
    }
  });
  return out;
}

// A slice's start, step and length on an axis of `n`, as Python computes
// them (out-of-range bounds clamp; the step never overflows an offset).
struct SliceWalk {
  int64_t start, step, count;
};

SliceWalk slice_walk(const Index& e, int64_t n, const char* fn) {
  int64_t step = e.step.value_or(1);
  if (step == 0) {
    throw std::invalid_argument(bracket(fn) + "slice step cannot be zero.");
  }
  step = std::max(step, -std::numeric_limits<int64_t>::max());
  auto bound = [&](std::optional<int64_t> v, bool is_start) -> int64_t {
    if (!v) {
      if (step > 0) return is_start ? 0 : n;
      return is_start ? n - 1 : -1;
    }
    int64_t x = *v;
    if (x < 0) {
      x = x < -n ? (step > 0 ? 0 : -1) : x + n;
    } else if (x >= n) {
      x = step > 0 ? n : n - 1;
    }
    return x;
  };
  const int64_t start = bound(e.start, true);
  const int64_t stop = bound(e.stop, false);
  int64_t count = 0;
  if (step > 0 && stop > start) {
    count = (stop - start - 1) / step + 1;
  } else if (step < 0 && start > stop) {
    count = (start - stop - 1) / (-step) + 1;
  }
  if (count == 0) return {0, 1, 0};
  return {start, count == 1 ? 1 : step, count};
}

// A resolved key: the map onto `a`, and the index arrays it reads.
struct Resolved {
  IndexMap map;
  std::vector<array> indices;
};

Resolved resolve(const array& a, const std::vector<Index>& key,
                 const char* fn) {
  using Kind = Index::Kind;
  const int ndim = a.ndim();
  // First pass: how many axes the key consumes, and whether it is advanced.
  int consumed = 0;
  int ellipses = 0;
  bool advanced = false;
  for (const Index& e : key) {
    switch (e.kind) {
      case Kind::integer:
      case Kind::slice:
        ++consumed;
        break;
      case Kind::ellipsis:
        ++ellipses;
        break;
      case Kind::new_axis:
        break;
      case Kind::array: {
        const Dtype d = e.arr->dtype();
        if (!is_integral(d) && !is_bool(d)) {
          throw std::out_of_range(
              bracket(fn) +
              "arrays used as indices must be of integer or boolean type, "
              "got " +
              std::string(dtype_name(d)) + ".");
        }
        consumed += is_bool(d) ? e.arr->ndim() : 1;
        advanced = true;
        break;
      }
    }
  }
  if (ellipses > 1) {
    throw std::out_of_range(bracket(fn) +
                            "an index can only have a single ellipsis "
                            "('...').");
  }
  if (consumed > ndim) {
    throw std::out_of_range(bracket(fn) + "too many indices for array: array " +
                            "is " + std::to_string(ndim) +
                            "-dimensional, but " + std::to_string(consumed) +
                            " were indexed.");
  }
  // Second pass: the dims of the result, the index arrays, and where the
  // block of broadcast index dims goes (numpy: in place of the advanced
  // entries when nothing basic separates them, else first).
  Resolved r;
  IndexMap& m = r.map;
  m = empty_map(ndim);
  std::vector<Shape> index_shapes;
  int ax = 0;
  int block_at = -1;       // dims before the first advanced entry
  bool separated = false;  // a slice, new axis or ellipsis between two
  bool seen_basic_after = false;
  auto mark_advanced = [&] {
    if (block_at < 0) {
      block_at = static_cast<int>(m.shape.size());
    } else if (seen_basic_after) {
      separated = true;
    }
  };
  auto mark_basic = [&] {
    if (block_at >= 0) seen_basic_after = true;
  };
  for (const Index& e : key) {
    switch (e.kind) {
      case Kind::integer: {
        const std::string where = "axis " + std::to_string(ax);
        m.start[ax] = checked_index(e.value, a.shape(ax), where, fn);
        ++ax;
        if (advanced) mark_advanced();
        break;
      }
      case Kind::slice: {
        mark_basic();
        SliceWalk w = slice_walk(e, a.shape(ax), fn);
        m.start[ax] = w.start;
        add_dim(m, static_cast<int>(w.count), ax, w.step);
        ++ax;
        break;
      }
      case Kind::new_axis:
        mark_basic();
        add_dim(m, 1, -1, 0);
        break;
      case Kind::ellipsis:
        mark_basic();
        for (int i = 0; i < ndim - consumed; ++i, ++ax) {
          add_dim(m, a.shape(ax), ax, 1);
        }
        break;
      case Kind::array: {
        mark_advanced();
        const array& arr = *e.arr;
        if (!is_bool(arr.dtype())) {
          r.indices.push_back(arr);
          index_shapes.push_back(arr.shape());
          add_index(m, ax++);
          break;
        }
        if (arr.ndim() == 0) {  // True adds a dim of 1, False one of 0
          array v = arr;
          index_shapes.push_back(Shape{v.item<bool>() ? 1 : 0});
          break;
        }
        for (int i = 0; i < arr.ndim(); ++i) {
          if (arr.shape(i) != a.shape(ax + i)) {
            throw std::out_of_range(
                bracket(fn) +
                "boolean index did not match indexed array along axis " +
                std::to_string(ax + i) + "; size of axis is " +
                std::to_string(a.shape(ax + i)) +
                " but size of corresponding boolean axis is " +
                std::to_string(arr.shape(i)) + ".");
          }
        }
        // One index array of the mask's true positions over its axes.
        const std::vector<int64_t> pos = true_positions(arr);
        const Shape count{static_cast<int>(pos.size())};
        r.indices.push_back(int64_array(pos));
        index_shapes.push_back(count);
        add_index(m, ax, 1, arr.ndim());
        ax += arr.ndim();
        break;
      }
    }
  }
  for (; ax < ndim; ++ax) add_dim(m, a.shape(ax), ax, 1);
  if (!advanced) return r;
  Shape b;
  for (const Shape& s : index_shapes) {
    const size_t n = std::max(b.size(), s.size());
    Shape out(n);
    for (size_t i = 0; i < n; ++i) {
      const int x = i < b.size() ? b[b.size() - 1 - i] : 1;
      const int y = i < s.size() ? s[s.size() - 1 - i] : 1;
      if (x != y && x != 1 && y != 1) {
        std::ostringstream msg;
        msg << bracket(fn)
            << "shape mismatch: indexing arrays could not be broadcast "
               "together with shapes";
        for (const Shape& t : index_shapes) msg << ' ' << shape_str(t);
        msg << '.';
        throw std::out_of_range(msg.str());
      }
      out[n - 1 - i] = x == 1 ? y : x;
    }
    b = std::move(out);
  }
  const int at = separated ? 0 : block_at;
  m.shape.insert(m.shape.begin() + at, b.begin(), b.end());
  m.dim_axis.insert(m.dim_axis.begin() + at, b.size(), -1);
  m.dim_step.insert(m.dim_step.begin() + at, b.size(), 0);
  m.index_pos = at;
  m.index_ndim = static_cast<int>(b.size());
  return r;
}

}  // namespace

// ---- Gathers ----

array take(const array& a, const array& indices, int axis, StreamOrDevice s) {
  const int ax = normalize_axis(axis, a.ndim(), "take");
  check_indices(indices, "take");
  IndexMap m = empty_map(a.ndim());
  for (int d = 0; d < ax; ++d) add_dim(m, a.shape(d), d, 1);
  for (int k : indices.shape()) add_dim(m, k, -1, 0);
  for (int d = ax + 1; d < a.ndim(); ++d) add_dim(m, a.shape(d), d, 1);
  check_nonempty_source(a, a.shape(ax), m.shape, "take");
  add_index(m, ax);
  m.index_pos = ax;
  m.index_ndim = indices.ndim();
  return make_gather("take", a, std::move(m), {indices}, to_stream(s));
}

array take(const array& a, const array& indices, StreamOrDevice s) {
  check_indices(indices, "take");
  IndexMap m = flat_map(a, indices);
  check_nonempty_source(a, static_cast<int>(std::min<size_t>(a.size(), 1)),
                        m.shape, "take");
  return make_gather("take", a, std::move(m), {indices}, to_stream(s));
}

array take(const array& a, int index, int axis, StreamOrDevice s) {
  const int ax = normalize_axis(axis, a.ndim(), "take");
  IndexMap m = empty_map(a.ndim());
  m.start[ax] =
      checked_index(index, a.shape(ax), "axis " + std::to_string(ax), "take");
  for (int d = 0; d < a.ndim(); ++d) {
    if (d != ax) add_dim(m, a.shape(d), d, 1);
  }
  return make_gather("take", a, std::move(m), {}, to_stream(s));
}

array take(const array& a, int index, StreamOrDevice s) {
  IndexMap m = empty_map(a.ndim());
  int64_t flat = checked_index(index, static_cast<int64_t>(a.size()),
                               "the flattened array", "take");
  for (int d = a.ndim() - 1; d >= 0; --d) {
    m.start[d] = flat % a.shape(d);
    flat /= a.shape(d);
  }
  return make_gather("take", a, std::move(m), {}, to_stream(s));
}

array take_along_axis(const array& a, const array& indices, int axis,
                      StreamOrDevice s) {
  const char* fn = "take_along_axis";
  const int ax = normalize_axis(axis, a.ndim(), fn);
  check_indices(indices, fn);
  IndexMap m = along_axis_map(a, indices, ax, fn);
  check_nonempty_source(a, a.shape(ax), m.shape, fn);
  return make_gather(fn, a, std::move(m), {indices}, to_stream(s));
}

array take_along_axis(const array& a, const array& indices, StreamOrDevice s) {
  const char* fn = "take_along_axis";
  check_indices(indices, fn);
  if (indices.ndim() != 1) {
    throw std::invalid_argument(bracket(fn) +
                                "with no axis, indices must be 1-d, got " +
                                shape_str(indices.shape()) + ".");
  }
  IndexMap m = flat_map(a, indices);
  check_nonempty_source(a, static_cast<int>(std::min<size_t>(a.size(), 1)),
                        m.shape, fn);
  return make_gather(fn, a, std::move(m), {indices}, to_stream(s));
}

array gather(const array& a, const std::vector<array>& indices,
             const std::vector<int>& axes, const Shape& slice_sizes,
             StreamOrDevice s) {
  const char* fn = "gather";
  std::vector<int> ax = check_axes(a, indices, axes, fn);
  if (static_cast<int>(slice_sizes.size()) != a.ndim()) {
    throw std::invalid_argument(bracket(fn) + "got " +
                                std::to_string(slice_sizes.size()) +
                                " slice sizes for an array of " +
                                std::to_string(a.ndim()) + " dimensions.");
  }
  for (int d = 0; d < a.ndim(); ++d) {
    if (slice_sizes[d] < 0 || slice_sizes[d] > a.shape(d)) {
      throw std::invalid_argument(
          bracket(fn) + "slice sizes " + shape_str(slice_sizes) +
          " do not fit in the array's shape " + shape_str(a.shape()) + ".");
    }
  }
  Shape b = index_shape(indices, fn);
  IndexMap m = empty_map(a.ndim());
  for (int k : b) add_dim(m, k, -1, 0);
  for (int d = 0; d < a.ndim(); ++d) add_dim(m, slice_sizes[d], d, 1);
  for (int d : ax) add_index(m, d, slice_sizes[d]);
  m.index_pos = 0;
  m.index_ndim = static_cast<int>(b.size());
  return make_gather(fn, a, std::move(m), indices, to_stream(s));
}

array gather(const array& a, const array& indices, int axis,
             const Shape& slice_sizes, StreamOrDevice s) {
  return gather(a, std::vector<array>{indices}, std::vector<int>{axis},
                slice_sizes, s);
}

// ---- Scatters ----

array scatter(const array& a, const std::vector<array>& indices,
              const array& updates, const std::vector<int>& axes,
              StreamOrDevice s) {
  return scatter_op("scatter", ScatterOp::none, a, indices, updates, axes, s);
}
array scatter(const array& a, const array& indices, const array& updates,
              int axis, StreamOrDevice s) {
  return scatter(a, std::vector<array>{indices}, updates,
                 std::vector<int>{axis}, s);
}
array scatter_add(const array& a, const std::vector<array>& indices,
                  const array& updates, const std::vector<int>& axes,
                  StreamOrDevice s) {
  return scatter_op("scatter_add", ScatterOp::add, a, indices, updates, axes,
                    s);
}
array scatter_add(const array& a, const array& indices, const array& updates,
                  int axis, StreamOrDevice s) {
  return scatter_add(a, std::vector<array>{indices}, updates,
                     std::vector<int>{axis}, s);
}
array scatter_prod(const array& a, const std::vector<array>& indices,
                   const array& updates, const std::vector<int>& axes,
                   StreamOrDevice s) {
  return scatter_op("scatter_prod", ScatterOp::prod, a, indices, updates, axes,
                    s);
}
array scatter_prod(const array& a, const array& indices, const array& updates,
                   int axis, StreamOrDevice s) {
  return scatter_prod(a, std::vector<array>{indices}, updates,
                      std::vector<int>{axis}, s);
}
array scatter_max(const array& a, const std::vector<array>& indices,
                  const array& updates, const std::vector<int>& axes,
                  StreamOrDevice s) {
  return scatter_op("scatter_max", ScatterOp::max, a, indices, updates, axes,
                    s);
}
array scatter_max(const array& a, const array& indices, const array& updates,
                  int axis, StreamOrDevice s) {
  return scatter_max(a, std::vector<array>{indices}, updates,
                     std::vector<int>{axis}, s);
}
array scatter_min(const array& a, const std::vector<array>& indices,
                  const array& updates, const std::vector<int>& axes,
                  StreamOrDevice s) {
  return scatter_op("scatter_min", ScatterOp::min, a, indices, updates, axes,
                    s);
}
array scatter_min(const array& a, const array& indices, const array& updates,
                  int axis, StreamOrDevice s) {
  return scatter_min(a, std::vector<array>{indices}, updates,
                     std::vector<int>{axis}, s);
}

array put_along_axis(const array& a, const array& indices, const array& values,
                     int axis, StreamOrDevice s) {
  const char* fn = "put_along_axis";
  const int ax = normalize_axis(axis, a.ndim(), fn);
  check_indices(indices, fn);
  IndexMap m = along_axis_map(a, indices, ax, fn);
  check_nonempty_source(a, a.shape(ax), m.shape, fn);
  fit_updates(m, values, fn);
  return make_scatter(fn, ScatterOp::none, a, values, std::move(m), {indices},
                      to_stream(s));
}

array put_along_axis(const array& a, const array& indices, const array& values,
                     StreamOrDevice s) {
  const char* fn = "put_along_axis";
  check_indices(indices, fn);
  if (indices.ndim() != 1) {
    throw std::invalid_argument(bracket(fn) +
                                "with no axis, indices must be 1-d, got " +
                                shape_str(indices.shape()) + ".");
  }
  IndexMap m = flat_map(a, indices);
  check_nonempty_source(a, static_cast<int>(std::min<size_t>(a.size(), 1)),
                        m.shape, fn);
  fit_updates(m, values, fn);
  return make_scatter(fn, ScatterOp::none, a, values, std::move(m), {indices},
                      to_stream(s));
}

// ---- numpy indexing ----

std::vector<array> nonzero(const array& a, StreamOrDevice s) {
  const Stream stream = to_stream(s);  // an unavailable device fails first
  const std::vector<int64_t> pos = true_positions(a);
  const Shape shape = a.ndim() == 0 ? Shape{1} : a.shape();
  const int n = static_cast<int>(pos.size());
  std::vector<std::vector<int64_t>> coords(shape.size(),
                                           std::vector<int64_t>(n));
  for (int i = 0; i < n; ++i) {
    int64_t v = pos[i];
    for (size_t d = shape.size(); d-- > 0;) {
      coords[d][i] = v % shape[d];
      v /= shape[d];
    }
  }
  std::vector<array> out;
  for (auto& c : coords) {
    out.push_back(copy(int64_array(c), stream));
  }
  return out;
}

Index Index::slice(std::optional<int64_t> start, std::optional<int64_t> stop,
                   std::optional<int64_t> step) {
  Index e(int64_t{0});
  e.kind = Kind::slice;
  e.start = start;
  e.stop = stop;
  e.step = step;
  return e;
}

Index Index::new_axis() {
  Index e(int64_t{0});
  e.kind = Kind::new_axis;
  return e;
}

Index Index::ellipsis() {
  Index e(int64_t{0});
  e.kind = Kind::ellipsis;
  return e;
}

array index(const array& a, const std::vector<Index>& key, StreamOrDevice s) {
  Resolved r = resolve(a, key, "index");
  return make_gather("index", a, std::move(r.map), r.indices, to_stream(s));
}

array index_put(const array& a, const std::vector<Index>& key,
                const array& values, ScatterOp op, StreamOrDevice s) {
  Resolved r = resolve(a, key, "index_put");
  fit_updates(r.map, values, "index_put");
  return make_scatter("index_put", op, a, values, std::move(r.map), r.indices,
                      to_stream(s));
}

array index_put(const array& a, const std::vector<Index>& key,
                const array& values, StreamOrDevice s) {
  return index_put(a, key, values, ScatterOp::none, s);
}

}  // namespace runnel
