// CPU kernels of the unary ops. exp and sigmoid in float32 (and the half
// types, which compute in it) use the vectorisable exp of
// elementwise_math.h; the other float functions call the C library.
#include "runnel/backend/common/ops.h"
#include "runnel/backend/cpu/clones.h"
#include "runnel/backend/cpu/elementwise.h"
#include "runnel/backend/cpu/elementwise_math.h"
#include "runnel/primitives/elementwise.h"

// The flat float32 loops of exp and sigmoid are compute-bound: they get
// the AVX2 and AVX-512 clones.

namespace runnel {
namespace {

RUNNEL_CPU_CLONES void exp_flat(const float* a, float* o, int64_t n) {
  for (int64_t i = 0; i < n; ++i) o[i] = cpu_backend::exp_f32(a[i]);
}

RUNNEL_CPU_CLONES void sigmoid_flat(const float* a, float* o, int64_t n) {
  for (int64_t i = 0; i < n; ++i) o[i] = cpu_backend::sigmoid_f32(a[i]);
}

using cpu_backend::exp_f32;
using cpu_backend::unary_float;
using cpu_backend::unary_same;

struct CpuExp {
  static void flat(const float* a, float* o, int64_t n) { exp_flat(a, o, n); }
  template <class T>
  T operator()(T a) const {
    if constexpr (std::is_same_v<T, float>) {
      return exp_f32(a);
    } else if constexpr (scalar::kHalf<T>) {
      return T(exp_f32(static_cast<float>(a)));
    } else {
      return scalar::Exp{}(a);
    }
  }
};

struct CpuSigmoid {
  static void flat(const float* a, float* o, int64_t n) {
    sigmoid_flat(a, o, n);
  }
  template <class T>
  T operator()(T a) const {
    if constexpr (std::is_same_v<T, double>) {
      return scalar::Sigmoid{}(a);
    } else {
      return T(cpu_backend::sigmoid_f32(static_cast<float>(a)));
    }
  }
};

}  // namespace

void Abs::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  unary_same(in, out[0], scalar::Abs{});
}

void Negative::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  unary_same(in, out[0], scalar::Negative{});
}

void Sign::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  unary_same(in, out[0], scalar::Sign{});
}

void Square::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  unary_same(in, out[0], scalar::Square{});
}

void Floor::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  unary_same(in, out[0], scalar::Floor{});
}

void Ceil::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  unary_same(in, out[0], scalar::Ceil{});
}

void Round::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  unary_same(in, out[0], scalar::Round(decimals_));
}

void Exp::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  unary_float(in, out[0], CpuExp{}, name());
}

void Expm1::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  unary_float(in, out[0], scalar::Expm1{}, name());
}

void Log::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  unary_float(in, out[0], scalar::Log{}, name());
}

void Log1p::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  unary_float(in, out[0], scalar::Log1p{}, name());
}

void Sqrt::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  unary_float(in, out[0], scalar::Sqrt{}, name());
}

void Rsqrt::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  unary_float(in, out[0], scalar::Rsqrt{}, name());
}

void Reciprocal::eval_cpu(const std::vector<array>& in,
                          std::vector<array>& out) {
  unary_float(in, out[0], scalar::Reciprocal{}, name());
}

void Sin::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  unary_float(in, out[0], scalar::Sin{}, name());
}

void Cos::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  unary_float(in, out[0], scalar::Cos{}, name());
}

void Tan::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  unary_float(in, out[0], scalar::Tan{}, name());
}

void Tanh::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  unary_float(in, out[0], scalar::Tanh{}, name());
}

void Sigmoid::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  unary_float(in, out[0], CpuSigmoid{}, name());
}

void Erf::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  unary_float(in, out[0], scalar::Erf{}, name());
}

}  // namespace runnel
