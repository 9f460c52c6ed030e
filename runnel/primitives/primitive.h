// One class per op, with a kernel entry per backend (MLX's design).
#pragma once

#include <memory>
#include <vector>

#include "runnel/array.h"

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
  // By default the GPU backend runs the kernel it registered for name().
  virtual void eval_gpu(const std::vector<array>& inputs,
                        std::vector<array>& outputs);
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
