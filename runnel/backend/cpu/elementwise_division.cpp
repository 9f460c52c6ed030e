// CPU kernels of divide, floor_divide, remainder, power and arctan2 (the
// scalar semantics are the shared functors of backend/common/ops.h).
#include "runnel/backend/common/ops.h"
#include "runnel/backend/cpu/elementwise.h"
#include "runnel/primitives/elementwise.h"

namespace runnel {

using cpu_backend::binary_float;
using cpu_backend::binary_same;

void Divide::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  binary_float(in, out[0], scalar::Divide{}, name());
}

void FloorDivide::eval_cpu(const std::vector<array>& in,
                           std::vector<array>& out) {
  binary_same(in, out[0], scalar::FloorDivide{});
}

void Remainder::eval_cpu(const std::vector<array>& in,
                         std::vector<array>& out) {
  binary_same(in, out[0], scalar::Remainder{});
}

void Power::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  binary_same(in, out[0], scalar::Power{});
}

void ArcTan2::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  binary_float(in, out[0], scalar::ArcTan2{}, name());
}

}  // namespace runnel
