// Gathers and scatters: take, take_along_axis, put_along_axis, MLX's gather
// and scatter family, and numpy indexing with integer arrays and boolean
// masks (index, index_put).
//
// Index arrays may have any integer dtype; bool and floating-point index
// arrays are rejected at the call (std::invalid_argument "[op] ...";
// std::out_of_range for the numpy keys of index and index_put, as numpy
// raises IndexError). An `axis` out of range is std::invalid_argument, as in
// every op; std::out_of_range is kept for index values out of bounds and bad
// keys. A negative index counts from the end once, as in numpy.
//
// Index arrays are lazy, so their values are checked when the op runs: a
// value out of range makes the op fail with std::out_of_range
// ("[take] index 7 is out of bounds for axis 0 with size 5"), which is
// recorded in its output and its stream and raised by the next eval of
// anything computed from it or synchronize of the stream (Python IndexError).
// No element is ever read or written out of bounds. Python integers in a key
// are known at the call and checked there.
#pragma once

#include <optional>
#include <vector>

#include "runnel/array.h"
#include "runnel/scatter_op.h"

namespace runnel {

// ---- Gathers ----

// The slices of `a` at `indices` along `axis`: the result's shape is a's with
// that axis replaced by indices' shape (numpy.take).
array take(const array& a, const array& indices, int axis,
           StreamOrDevice s = {});
// The elements of flattened `a` at `indices`, in indices' shape.
array take(const array& a, const array& indices, StreamOrDevice s = {});
// One index, checked at the call: a's shape without `axis`.
array take(const array& a, int index, int axis, StreamOrDevice s = {});
// One element of flattened `a`, as a 0-d array.
array take(const array& a, int index, StreamOrDevice s = {});

// numpy.take_along_axis: `indices` has a's number of dimensions; along
// `axis` it picks elements, on the other axes it broadcasts against `a`.
array take_along_axis(const array& a, const array& indices, int axis,
                      StreamOrDevice s = {});
// The same on flattened `a`; `indices` must be 1-d.
array take_along_axis(const array& a, const array& indices,
                      StreamOrDevice s = {});

// MLX's gather: the index arrays broadcast together to a shape B and select
// positions on `axes`; from each it takes a slice of `slice_sizes` (one size
// per axis of `a`; the slice starts at 0 on axes not indexed). The result's
// shape is B followed by slice_sizes. An index must leave room for its slice.
array gather(const array& a, const std::vector<array>& indices,
             const std::vector<int>& axes, const Shape& slice_sizes,
             StreamOrDevice s = {});
array gather(const array& a, const array& indices, int axis,
             const Shape& slice_sizes, StreamOrDevice s = {});

// ---- Scatters ----
// Each returns a new array: `a` with updates written in; `a` is unchanged.

// MLX's scatter: the index arrays broadcast to B and select positions on
// `axes`; `updates` has shape B followed by one slice size per axis of `a`
// (B's dims may be 1 there, to broadcast), and the slice at each selected
// position receives the updates. `updates` is cast to a's dtype. When several
// updates land on one element, plain scatter keeps the last in row-major
// order of `updates`; the others combine them all (add sums, prod multiplies,
// max and min keep the extreme; NaN wins max and min). For bool, add is or
// and prod is and, as in add and multiply.
array scatter(const array& a, const std::vector<array>& indices,
              const array& updates, const std::vector<int>& axes,
              StreamOrDevice s = {});
array scatter(const array& a, const array& indices, const array& updates,
              int axis, StreamOrDevice s = {});
array scatter_add(const array& a, const std::vector<array>& indices,
                  const array& updates, const std::vector<int>& axes,
                  StreamOrDevice s = {});
array scatter_add(const array& a, const array& indices, const array& updates,
                  int axis, StreamOrDevice s = {});
array scatter_prod(const array& a, const std::vector<array>& indices,
                   const array& updates, const std::vector<int>& axes,
                   StreamOrDevice s = {});
array scatter_prod(const array& a, const array& indices, const array& updates,
                   int axis, StreamOrDevice s = {});
array scatter_max(const array& a, const std::vector<array>& indices,
                  const array& updates, const std::vector<int>& axes,
                  StreamOrDevice s = {});
array scatter_max(const array& a, const array& indices, const array& updates,
                  int axis, StreamOrDevice s = {});
array scatter_min(const array& a, const std::vector<array>& indices,
                  const array& updates, const std::vector<int>& axes,
                  StreamOrDevice s = {});
array scatter_min(const array& a, const array& indices, const array& updates,
                  int axis, StreamOrDevice s = {});

// numpy.put_along_axis, functionally: `a` with the elements that
// take_along_axis(a, indices, axis) reads replaced by `values` (broadcast to
// that shape, cast to a's dtype); the last write wins on duplicates.
array put_along_axis(const array& a, const array& indices, const array& values,
                     int axis, StreamOrDevice s = {});
// The same on flattened `a` (the result keeps a's shape); `indices` 1-d.
array put_along_axis(const array& a, const array& indices, const array& values,
                     StreamOrDevice s = {});

// ---- numpy indexing ----

// The coordinates of the nonzero (true) elements of `a`, one int64 array per
// dimension, in row-major order (numpy.nonzero; a 0-d `a` counts as 1-d).
// The count is data: `a` is evaluated at the call, which waits for it; the
// coordinates, computed on the host, are then copied onto `s`.
std::vector<array> nonzero(const array& a, StreamOrDevice s = {});

// One entry of a numpy index key a[e0, e1, ...].
struct Index {
  enum class Kind : uint8_t { integer, slice, new_axis, ellipsis, array };

  Index(int64_t i) : kind(Kind::integer), value(i) {}   // NOLINT: as numpy
  Index(int i) : Index(static_cast<int64_t>(i)) {}      // NOLINT
  Index(const array& a) : kind(Kind::array), arr(a) {}  // NOLINT
  static Index slice(std::optional<int64_t> start = {},
                     std::optional<int64_t> stop = {},
                     std::optional<int64_t> step = {});
  static Index new_axis();
  static Index ellipsis();

  Kind kind;
  int64_t value = 0;                         // integer
  std::optional<int64_t> start, stop, step;  // slice
  std::optional<array> arr;                  // integer or boolean array
};

// a[key] with numpy's semantics, as a new array (not a view): integers,
// slices, new axes, one ellipsis, integer arrays (broadcast together; their
// block of dimensions goes where numpy puts it) and boolean masks. The
// result's shape depends on a mask's values: the mask is evaluated at the
// call (which waits for it) and its true positions become an index array,
// as numpy does through nonzero; a 0-d boolean adds a dimension of 1 (true)
// or 0 (false).
// Bad keys raise std::out_of_range (numpy's IndexError), a zero slice step
// std::invalid_argument.
array index(const array& a, const std::vector<Index>& key,
            StreamOrDevice s = {});
// `a` with a[key] = values, functionally: values broadcast to a[key]'s shape
// (leading dimensions of size 1 dropped) and cast to a's dtype. Where `key`
// selects an element more than once, the last write in row-major order of
// a[key] wins; with `op`, the writes combine as in the scatter family.
array index_put(const array& a, const std::vector<Index>& key,
                const array& values, StreamOrDevice s = {});
array index_put(const array& a, const std::vector<Index>& key,
                const array& values, ScatterOp op, StreamOrDevice s = {});

}  // namespace runnel
