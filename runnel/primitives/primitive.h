// One class per op, with a kernel entry per backend (MLX's design).
#pragma once

#include <memory>
#include <vector>

#include "runnel/array.h"
#include "runnel/primitives/list.h"

namespace runnel {

class Primitive {
 public:
  virtual ~Primitive() = default;
  // The op's name, as errors, traces and execution_count use it.
  virtual const char* name() const = 0;
  // The kernels: read `inputs` (available), allocate and fill `outputs`.
  // They assert invariants; user input was validated by the op constructor.
  virtual void eval_cpu(const std::vector<array>& inputs,
                        std::vector<array>& outputs) = 0;
  // By default there is none: std::invalid_argument "[name] has no GPU
  // kernel yet." The op library's primitives derive from PrimitiveOf, whose
  // eval_gpu runs the kernel the GPU backend bound to their class.
  virtual void eval_gpu(const std::vector<array>& inputs,
                        std::vector<array>& outputs);
};

namespace detail {
// Runs the kernel the GPU backend bound to primitive `id`, of which `p` is
// an instance.
void eval_gpu_kernel(PrimitiveId id, Primitive& p,
                     const std::vector<array>& inputs,
                     std::vector<array>& outputs);
}  // namespace detail

// The base of each primitive class P of the op library:
//   class Add : public PrimitiveOf<Add> { ... };
// Its GPU kernel is the one the GPU backend bound to P (bind_kernel<P> in
// backend/cuda/kernels/), called with this P. P must be in list.h.
template <class P>
class PrimitiveOf : public Primitive {
 public:
  static constexpr PrimitiveId kId = kPrimitiveId<P>;
  // Checked where P is defined, not only where its GPU kernel runs.
  static_assert(kId < kPrimitiveCount);
  void eval_gpu(const std::vector<array>& inputs,
                std::vector<array>& outputs) override {
    detail::eval_gpu_kernel(kId, *this, inputs, outputs);
  }
};

// The one instance of a primitive that has no parameters: every op node
// shares it instead of allocating its own. Never destroyed (work may still
// run at exit).
template <class P>
const std::shared_ptr<P>& shared_primitive() {
  static const auto* p = new std::shared_ptr<P>(std::make_shared<P>());
  return *p;
}

}  // namespace runnel
