// Shape ops and data movement: views (reshape, transpose, slicing, ...),
// concatenation, padding, tiling.
//
// Views share their input's memory: no kernel runs and nothing is copied;
// the output's strides and offset say where its elements lie. They are
// transpose, swapaxes, moveaxis, expand_dims, squeeze, broadcast_to, slice,
// split, and reshape/flatten where the input's strides allow it. The other
// ops write fresh contiguous outputs.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "runnel/array.h"

namespace runnel {

// ---- Views ----

// The axes permuted: output axis i is input axis axes[i] (negative axes count
// from the end). Without axes, the axes reversed.
array transpose(const array& a, std::vector<int> axes, StreamOrDevice s = {});
array transpose(const array& a, StreamOrDevice s = {});
// Axes axis1 and axis2 exchanged.
array swapaxes(const array& a, int axis1, int axis2, StreamOrDevice s = {});
// Axis `source` moved to position `destination`, the others in order.
array moveaxis(const array& a, int source, int destination,
               StreamOrDevice s = {});
// Size-1 axes inserted at `axes`, positions in the output (negative count
// from the output's end).
array expand_dims(const array& a, const std::vector<int>& axes,
                  StreamOrDevice s = {});
array expand_dims(const array& a, int axis, StreamOrDevice s = {});
// The size-1 axes `axes` removed; without axes, every size-1 axis.
array squeeze(const array& a, const std::vector<int>& axes,
              StreamOrDevice s = {});
array squeeze(const array& a, int axis, StreamOrDevice s = {});
array squeeze(const array& a, StreamOrDevice s = {});
// `a` broadcast to `shape` (numpy rules; broadcast axes have stride 0).
array broadcast_to(const array& a, const Shape& shape, StreamOrDevice s = {});
// The arrays broadcast to their common shape.
std::vector<array> broadcast_arrays(const std::vector<array>& inputs,
                                    StreamOrDevice s = {});

// The elements of `a` in row-major order laid out in `shape` (one entry may be
// -1: inferred). A view when a's strides allow it, else a copy.
array reshape(const array& a, Shape shape, StreamOrDevice s = {});
// Axes start_axis..end_axis (inclusive, negative from the end) merged into
// one; a 0-d array becomes 1-d. A view when the strides allow it.
array flatten(const array& a, int start_axis, int end_axis = -1,
              StreamOrDevice s = {});
array flatten(const array& a, StreamOrDevice s = {});

// Basic slicing, per axis as Python's a[start:stop:step] with ints (numpy's
// normalisation): a negative start or stop counts from the end (adds the
// axis size); values are then clamped to [0, size] for a positive step and
// to [-1, size - 1] for a negative one, so with a negative step a stop of
// -size - 1 or less (INT_MIN, say) runs to the first element. The output
// has max(0, ceil((stop - start) / step)) elements on that axis and stride
// step times the input's (negative for a negative step). `start`, `stop`
// and `strides` have one entry per axis; `strides` empty means all 1; a
// step of 0 is an error.
array slice(const array& a, Shape start, Shape stop, Shape strides,
            StreamOrDevice s = {});
array slice(const array& a, Shape start, Shape stop, StreamOrDevice s = {});

// `a` split along `axis` into `num_splits` equal parts (an error when the
// axis does not divide evenly), or at `indices` (numpy's array_split
// points: parts a[:i0], a[i0:i1], ..., a[ik:], each clamped to the axis and
// empty when an index is past the next). The parts are views.
std::vector<array> split(const array& a, int num_splits, int axis,
                         StreamOrDevice s = {});
std::vector<array> split(const array& a, int num_splits, StreamOrDevice s = {});
std::vector<array> split(const array& a, const Shape& indices, int axis,
                         StreamOrDevice s = {});
std::vector<array> split(const array& a, const Shape& indices,
                         StreamOrDevice s = {});

// ---- Copies (contiguous outputs) ----

// A row-major contiguous copy of `a` (the same shape and values).
array copy(const array& a, StreamOrDevice s = {});
// `a` itself when it is row-major contiguous, else copy(a).
array contiguous(const array& a, StreamOrDevice s = {});

// The arrays joined along `axis` (promoted to a common dtype); every other
// axis must match. Without axis, the arrays flattened and joined.
array concatenate(const std::vector<array>& arrays, int axis,
                  StreamOrDevice s = {});
array concatenate(const std::vector<array>& arrays, StreamOrDevice s = {});
// The arrays, all of one shape, joined along a new axis `axis`.
array stack(const std::vector<array>& arrays, int axis, StreamOrDevice s = {});
array stack(const std::vector<array>& arrays, StreamOrDevice s = {});

// `a` with low_pad_size[i] elements before and high_pad_size[i] after axis
// axes[i], filled with `pad_value` (a scalar, cast to a's dtype). Only
// mode "constant" is supported.
array pad(const array& a, const std::vector<int>& axes,
          const Shape& low_pad_size, const Shape& high_pad_size,
          const array& pad_value = array(0),
          const std::string& mode = "constant", StreamOrDevice s = {});
// (before, after) per axis, for every axis.
array pad(const array& a, const std::vector<std::pair<int, int>>& pad_width,
          const array& pad_value = array(0),
          const std::string& mode = "constant", StreamOrDevice s = {});
// The same (before, after) on every axis.
array pad(const array& a, const std::pair<int, int>& pad_width,
          const array& pad_value = array(0),
          const std::string& mode = "constant", StreamOrDevice s = {});
// The same width on both sides of every axis.
array pad(const array& a, int pad_width, const array& pad_value = array(0),
          const std::string& mode = "constant", StreamOrDevice s = {});

// `a` repeated reps[i] times along each axis (numpy's tile: the shorter of
// a's shape and reps is padded with leading 1s).
array tile(const array& a, std::vector<int> reps, StreamOrDevice s = {});
// Each element repeated `repeats` times along `axis`; without axis, along
// the flattened array.
array repeat(const array& a, int repeats, int axis, StreamOrDevice s = {});
array repeat(const array& a, int repeats, StreamOrDevice s = {});

}  // namespace runnel
