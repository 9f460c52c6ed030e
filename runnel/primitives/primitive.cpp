#include "runnel/primitives/primitive.h"

#include "runnel/backend/gpu.h"

namespace runnel {

void Primitive::eval_gpu(const std::vector<array>& inputs,
                         std::vector<array>& outputs) {
  detail::gpu::backend(name()).eval(*this, inputs, outputs);
}

}  // namespace runnel
