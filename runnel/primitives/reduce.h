// Reductions, scans and softmax. Axes given to these primitives are already
// normalised by the op constructors: in range, distinct, sorted.
#pragma once

#include <cstdint>
#include <vector>

#include "runnel/primitives/primitive.h"

namespace runnel {

// The sum of every element: what sum over all axes builds (the GPU backend
// has a kernel for it, not yet for Reduce).
class SumAll : public PrimitiveOf<SumAll> {
 public:
  const char* name() const override { return "sum"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

// A reduction over some axes. The output holds one element per combination
// of the kept axes, in row-major order (keepdims only changes its shape).
// Inputs: the array; var, std and logsumexp also take a second input, the
// centre (their mean or max) with one element per output, contiguous.
class Reduce : public PrimitiveOf<Reduce> {
 public:
  enum class Op : uint8_t {
    sum,
    prod,
    max,
    min,
    all,
    any,
    mean,       // sum times scale
    var,        // sum of (x - centre)^2 times scale
    stddev,     // sqrt of var (named "std")
    logsumexp,  // centre + log(sum of exp(x - centre))
  };
  Reduce(Op op, std::vector<int> axes, double scale = 1.0)
      : op_(op), axes_(std::move(axes)), scale_(scale) {}
  // The op's name ("std" for stddev).
  const char* name() const override;
  Op op() const { return op_; }
  const std::vector<int>& axes() const { return axes_; }
  double scale() const { return scale_; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;

 private:
  Op op_;
  std::vector<int> axes_;
  double scale_;
};

// The index (uint32) of the first largest (or smallest) element along
// `axis`, or over the flattened array when `axis` is kFlat. NaN counts as
// the extreme value, as in numpy.
class ArgReduce : public PrimitiveOf<ArgReduce> {
 public:
  static constexpr int kFlat = -1;
  ArgReduce(bool is_max, int axis) : is_max_(is_max), axis_(axis) {}
  const char* name() const override { return is_max_ ? "argmax" : "argmin"; }
  bool is_max() const { return is_max_; }
  int axis() const { return axis_; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;

 private:
  bool is_max_;
  int axis_;
};

// Cumulative sum or product along `axis` (kFlat: over the flattened array).
// Exclusive scans start from the identity; reverse scans run from the end.
class Scan : public PrimitiveOf<Scan> {
 public:
  static constexpr int kFlat = -1;
  Scan(bool is_prod, int axis, bool reverse, bool inclusive)
      : is_prod_(is_prod),
        axis_(axis),
        reverse_(reverse),
        inclusive_(inclusive) {}
  const char* name() const override { return is_prod_ ? "cumprod" : "cumsum"; }
  bool is_prod() const { return is_prod_; }
  int axis() const { return axis_; }
  bool reverse() const { return reverse_; }
  bool inclusive() const { return inclusive_; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;

 private:
  bool is_prod_;
  int axis_;
  bool reverse_;
  bool inclusive_;
};

// exp(x - max) / sum(exp(x - max)) over `axes`, for floating-point inputs.
// Half-precision inputs compute in float32 whatever `precise` says.
class Softmax : public PrimitiveOf<Softmax> {
 public:
  Softmax(std::vector<int> axes, bool precise)
      : axes_(std::move(axes)), precise_(precise) {}
  const char* name() const override { return "softmax"; }
  const std::vector<int>& axes() const { return axes_; }
  bool precise() const { return precise_; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;

 private:
  std::vector<int> axes_;
  bool precise_;
};

}  // namespace runnel
