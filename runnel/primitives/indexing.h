// Gather and Scatter: every indexing op (take, take_along_axis, gather,
// numpy keys, the scatter family, put_along_axis) is one of the two, with an
// IndexMap saying which element of the target each position reads or writes.
#pragma once

#include <string>

#include "runnel/primitives/primitive.h"
#include "runnel/scatter_op.h"

namespace runnel {

// Positions of an iteration space `shape` (a gather's output, a scatter's
// updates) mapped to elements of a target array (a gather's source, a
// scatter's output): the element of position p has, on each target axis t,
//   start[t] + sum over dims j with dim_axis[j] == t of dim_step[j] * p[j],
// plus the positions the index arrays select. Index array k selects among
// the axes [index_axis[k], index_axis[k] + index_span[k]) taken as one
// flattened axis (a span of 1: one axis; of all axes: the flattened target;
// of a boolean mask's axes: its true positions). The index arrays are
// broadcast, right-aligned, to the dims [index_pos, index_pos + index_ndim)
// of `shape`.
struct IndexMap {
  Shape shape;
  std::vector<int> dim_axis;      // per dim: the target axis walked, or -1
  std::vector<int64_t> dim_step;  // per dim: steps along it (0 broadcasts)
  std::vector<int64_t> start;     // per target axis
  std::vector<int> index_axis;    // per index array: its first axis
  std::vector<int> index_span;    // per index array: its number of axes
  // Per index array of span 1: the slice length it must leave room for (a
  // value must lie in [0, axis size - extent]; negative values wrap by the
  // axis size).
  std::vector<int64_t> index_extent;
  int index_pos = 0;
  int index_ndim = 0;
};

// out[p] = target[map(p)]. Inputs: the target, then the index arrays.
class Gather : public PrimitiveOf<Gather> {
 public:
  Gather(const char* op, IndexMap map) : op_(op), map_(std::move(map)) {}
  const char* name() const override { return "gather"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
  const IndexMap& map() const { return map_; }
  // The user-facing op, for messages ("take", "index", ...).
  const char* op() const { return op_; }

 private:
  const char* op_;
  IndexMap map_;
};

// out = a; then out[map(p)] = combine(out[map(p)], updates[p]) for every p in
// row-major order. Inputs: a, the updates (a's dtype, broadcastable to the
// map's shape), then the index arrays.
class Scatter : public PrimitiveOf<Scatter> {
 public:
  Scatter(const char* op, ScatterOp combine, IndexMap map)
      : op_(op), combine_(combine), map_(std::move(map)) {}
  const char* name() const override;
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
  const IndexMap& map() const { return map_; }
  ScatterOp combine() const { return combine_; }
  const char* op() const { return op_; }

 private:
  const char* op_;
  ScatterOp combine_;
  IndexMap map_;
};

}  // namespace runnel
