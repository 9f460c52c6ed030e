// CPU kernels of the arithmetic binary ops that neither divide nor raise to
// powers (those are in elementwise_division.cpp, to split the build); the
// scalar semantics are the shared functors of backend/common/ops.h.
#include "runnel/backend/cpu/elementwise.h"

#include "runnel/backend/common/ops.h"
#include "runnel/primitives/elementwise.h"

namespace runnel {

using cpu_backend::binary_same;

void Add::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  binary_same(in, out[0], scalar::Add{});
}

void Subtract::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  binary_same(in, out[0], scalar::Subtract{});
}

void Multiply::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  binary_same(in, out[0], scalar::Multiply{});
}

void Maximum::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  binary_same(in, out[0], scalar::Maximum{});
}

void Minimum::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  binary_same(in, out[0], scalar::Minimum{});
}

}  // namespace runnel
