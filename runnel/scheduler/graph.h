// The lazy graph: array nodes and the op nodes that produce them.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "runnel/array.h"
#include "runnel/core/timeline.h"
#include "runnel/memory/allocator.h"
#include "runnel/primitives/primitive.h"
#include "runnel/scheduler/errors.h"

namespace runnel::detail {

// One application of a primitive. It moves unscheduled -> claimed (by one
// eval) -> submitted by compare-and-swap; once submitted its primitive and
// inputs have moved into the queued work, so walks treat it as a leaf.
struct OpNode {
  enum Status : uint8_t { kUnscheduled, kClaimed, kSubmitted };

  OpNode(std::shared_ptr<Primitive> p, Inputs in, Stream s)
      : primitive(std::move(p)), inputs(std::move(in)), stream(std::move(s)) {}
  ~OpNode();  // releases input chains iteratively, never recursively

  std::shared_ptr<Primitive> primitive;
  Inputs inputs;
  // The outputs: the first inline (most ops have one), the others after.
  std::weak_ptr<ArrayNode> output;
  std::vector<std::weak_ptr<ArrayNode>> more_outputs;
  size_t num_outputs() const { return 1 + more_outputs.size(); }
  const std::weak_ptr<ArrayNode>& output_at(size_t i) const {
    return i == 0 ? output : more_outputs[i - 1];
  }
  // For ops of several outputs: each output's shape and dtype, to stand in
  // for an output that was dropped before the op ran.
  std::vector<std::pair<Shape, Dtype>> dropped_meta;
  Stream stream;
  std::atomic<uint8_t> status{kUnscheduled};
  // The eval round that claimed it (a token never reused), and that eval's
  // scratch, which only the claimer touches.
  std::atomic<uint64_t> owner{0};
  int32_t slot = -1;
};

struct ArrayNode {
  Shape shape;
  Strides strides;  // in elements; views may have any sign, or 0
  // Where element 0 lies in `data`, in elements (views start inside their
  // source's buffer). Known when the node is built, as shape and strides are.
  int64_t offset = 0;
  Dtype dtype;
  size_t size = 0;
  std::shared_ptr<OpNode> op;  // null for data given by the host

  // Written at submission, before op->status becomes kSubmitted: the point
  // of the op's stream that completes this array. Empty for host data.
  Dep done;
  // Written by the kernel (or the failure) before `done` is reached.
  std::shared_ptr<Buffer> data;
  ErrorPtr error;

  // Copies of `data` on other devices, made once and kept while the array
  // lives (the cached copy counts in memory figures). A copy made by a
  // device stream is complete at `ready` (that stream's point after the
  // copy); a reader on another stream waits for it. `ready` is empty for a
  // copy complete when added. copy_on's buffer is null where none is.
  struct Copy {
    std::shared_ptr<Buffer> buffer;
    Dep ready;
  };
  Copy copy_on(const Device& d) const;
  void add_copy(std::shared_ptr<Buffer> b, Dep ready = {});

  mutable std::mutex copies_mu;
  std::vector<Copy> copies;

  bool submitted() const {
    return !op ||
           op->status.load(std::memory_order_acquire) == OpNode::kSubmitted;
  }
};

// The node's data as host memory: its own buffer, or a copy from its device
// (made once; the node must be done).
std::shared_ptr<Buffer> host_data(const ArrayNode& n);

}  // namespace runnel::detail
