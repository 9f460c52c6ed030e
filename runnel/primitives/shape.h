// Primitives of the shape family. Views run no kernel on any device: the
// output takes the input's buffer, and the strides and offset the op
// constructor set on the output node say where its elements lie. The copies
// write contiguous outputs; their CPU kernels are in backend/cpu/shape.cpp.
#pragma once

#include <utility>

#include "runnel/primitives/primitive.h"

namespace runnel {

// What every view runs, on the CPU and the GPU alike: the output shares the
// input's buffer (backend/common/no_kernel.cpp).
struct View {
  static void eval_cpu(const std::vector<array>& in, std::vector<array>& out);
  static void eval_gpu(const std::vector<array>& in, std::vector<array>& out);
};

// The base of the view primitives: no GPU kernel is looked up.
template <class P>
class ViewOf : public PrimitiveOf<P> {
 public:
  void eval_cpu(const std::vector<array>& in,
                std::vector<array>& out) override {
    View::eval_cpu(in, out);
  }
  void eval_gpu(const std::vector<array>& in,
                std::vector<array>& out) override {
    View::eval_gpu(in, out);
  }
};

class Transpose : public ViewOf<Transpose> {
 public:
  const char* name() const override { return "transpose"; }
};

class ExpandDims : public ViewOf<ExpandDims> {
 public:
  const char* name() const override { return "expand_dims"; }
};

class Squeeze : public ViewOf<Squeeze> {
 public:
  const char* name() const override { return "squeeze"; }
};

class BroadcastTo : public ViewOf<BroadcastTo> {
 public:
  const char* name() const override { return "broadcast_to"; }
};

// reshape of an input whose strides allow it (otherwise reshape copies).
class Reshape : public ViewOf<Reshape> {
 public:
  const char* name() const override { return "reshape"; }
};

class Slice : public ViewOf<Slice> {
 public:
  const char* name() const override { return "slice"; }
};

// The input's elements in its row-major order, written contiguously into an
// output of the same size (its shape may differ: reshape uses that).
class Copy : public PrimitiveOf<Copy> {
 public:
  const char* name() const override { return "copy"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

// The inputs joined along `axis`: each takes its own extent of that axis.
class Concatenate : public PrimitiveOf<Concatenate> {
 public:
  explicit Concatenate(int axis) : axis_(axis) {}
  const char* name() const override { return "concatenate"; }
  int axis() const { return axis_; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;

 private:
  int axis_;
};

// The inputs, of one shape, joined along a new output axis `axis`.
class Stack : public PrimitiveOf<Stack> {
 public:
  explicit Stack(int axis) : axis_(axis) {}
  const char* name() const override { return "stack"; }
  int axis() const { return axis_; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;

 private:
  int axis_;
};

// Input 0 placed at `low` (per axis) in an output filled with input 1 (a
// scalar of the same dtype).
class Pad : public PrimitiveOf<Pad> {
 public:
  explicit Pad(Shape low) : low_(std::move(low)) {}
  const char* name() const override { return "pad"; }
  const Shape& low() const { return low_; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;

 private:
  Shape low_;
};

// The input (already of the output's rank) repeated reps[i] times along
// axis i.
class Tile : public PrimitiveOf<Tile> {
 public:
  explicit Tile(Shape reps) : reps_(std::move(reps)) {}
  const char* name() const override { return "tile"; }
  const Shape& reps() const { return reps_; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;

 private:
  Shape reps_;
};

// Each element repeated `repeats` times along `axis`.
class Repeat : public PrimitiveOf<Repeat> {
 public:
  Repeat(int repeats, int axis) : repeats_(repeats), axis_(axis) {}
  const char* name() const override { return "repeat"; }
  int repeats() const { return repeats_; }
  int axis() const { return axis_; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;

 private:
  int repeats_, axis_;
};

}  // namespace runnel
