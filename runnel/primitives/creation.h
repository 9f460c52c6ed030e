#pragma once

#include <memory>
#include <utility>

#include "runnel/primitives/primitive.h"

namespace runnel {

namespace detail {
class Buffer;
}

// Fills the output with its one input broadcast (also astype's kernel when
// the shapes match).
class Broadcast : public PrimitiveOf<Broadcast> {
 public:
  const char* name() const override { return "broadcast"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

class AsType : public PrimitiveOf<AsType> {
 public:
  const char* name() const override { return "astype"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

class Arange : public PrimitiveOf<Arange> {
 public:
  Arange(double start, double step) : start_(start), step_(step) {}
  const char* name() const override { return "arange"; }
  double start() const { return start_; }
  double step() const { return step_; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;

 private:
  double start_, step_;
};

// num values from start to stop (the output's size), the last exactly stop.
class Linspace : public PrimitiveOf<Linspace> {
 public:
  Linspace(double start, double stop) : start_(start), stop_(stop) {}
  const char* name() const override { return "linspace"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;

 private:
  double start_, stop_;
};

// Ones where column - row == k, zeros elsewhere (a 2-d output).
class Eye : public PrimitiveOf<Eye> {
 public:
  explicit Eye(int k) : k_(k) {}
  const char* name() const override { return "eye"; }
  int k() const { return k_; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;

 private:
  int k_;
};

// Memory made elsewhere (a DLPack import), taken as the output's buffer;
// the strides and offset set on the output node say where its elements lie.
// No kernel runs on any device (none is looked up on the GPU). It is an op,
// not host data, for memory on a GPU: its point on its stream comes after
// the producer's pending writes (the producer made that CUDA stream wait
// before the op was launched), and later readers wait for that point as for
// any other producer's.
class Adopt : public PrimitiveOf<Adopt> {
 public:
  explicit Adopt(std::shared_ptr<detail::Buffer> data)
      : data_(std::move(data)) {}
  const char* name() const override { return "from_dlpack"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
  void eval_gpu(const std::vector<array>& in, std::vector<array>& out) override;

 private:
  std::shared_ptr<detail::Buffer> data_;
};

}  // namespace runnel
