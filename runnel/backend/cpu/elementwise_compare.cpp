// CPU kernels of the ops that give bool, and of where.
#include "runnel/backend/common/ops.h"
#include "runnel/backend/cpu/elementwise.h"
#include "runnel/primitives/elementwise.h"

namespace runnel {

using cpu_backend::binary_to_bool;
using cpu_backend::unary_to_bool;

void Equal::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  binary_to_bool(in, out[0], scalar::Equal{});
}

void NotEqual::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  binary_to_bool(in, out[0], scalar::NotEqual{});
}

void Less::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  binary_to_bool(in, out[0], scalar::Less{});
}

void LessEqual::eval_cpu(const std::vector<array>& in,
                         std::vector<array>& out) {
  binary_to_bool(in, out[0], scalar::LessEqual{});
}

void Greater::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  binary_to_bool(in, out[0], scalar::Greater{});
}

void GreaterEqual::eval_cpu(const std::vector<array>& in,
                            std::vector<array>& out) {
  binary_to_bool(in, out[0], scalar::GreaterEqual{});
}

void LogicalAnd::eval_cpu(const std::vector<array>& in,
                          std::vector<array>& out) {
  cpu_backend::donate_or_allocate(in, out[0]);
  cpu_backend::binary_loop<bool, bool>(in[0], in[1], out[0],
                                       scalar::LogicalAnd{});
}

void LogicalOr::eval_cpu(const std::vector<array>& in,
                         std::vector<array>& out) {
  cpu_backend::donate_or_allocate(in, out[0]);
  cpu_backend::binary_loop<bool, bool>(in[0], in[1], out[0],
                                       scalar::LogicalOr{});
}

void LogicalNot::eval_cpu(const std::vector<array>& in,
                          std::vector<array>& out) {
  cpu_backend::donate_or_allocate(in, out[0]);
  cpu_backend::unary_loop<bool, bool>(in[0], out[0], scalar::LogicalNot{});
}

void IsNan::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  unary_to_bool(in, out[0], scalar::IsNan{});
}

void IsInf::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  unary_to_bool(in, out[0], scalar::IsInf{});
}

void Select::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  cpu_backend::donate_or_allocate(in, out[0]);
  dispatch_dtype(out[0].dtype(), [&]<class T>(std::type_identity<T>) {
    cpu_backend::select_loop<T>(in[0], in[1], in[2], out[0]);
  });
}

}  // namespace runnel
