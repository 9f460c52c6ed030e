#include "runnel/primitives/primitive.h"

#include <stdexcept>
#include <string>

#include "runnel/backend/gpu.h"

namespace runnel {

void Primitive::eval_gpu(const std::vector<array>&, std::vector<array>&) {
  throw std::invalid_argument(std::string("[") + name() +
                              "] has no GPU kernel yet.");
}

namespace detail {

void eval_gpu_kernel(PrimitiveId id, Primitive& p,
                     const std::vector<array>& inputs,
                     std::vector<array>& outputs) {
  gpu::backend(p.name()).eval(id, p, inputs, outputs);
}

}  // namespace detail
}  // namespace runnel
