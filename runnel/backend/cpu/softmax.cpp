// CPU softmax. Over trailing axes that are contiguous in the input (the
// usual case: the last axis) each row is done in one visit while it is in
// cache: its max, exp(x - max) written out, their pairwise sum, the scaling.
// Any other layout takes three passes: the max and the sum of exponentials
// through the reduction engine, then exp(x - max) / sum elementwise.
// Half types compute in float throughout.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>
#include <type_traits>

#include "runnel/backend/common/ops.h"
#include "runnel/backend/cpu/reduce.h"
#include "runnel/primitives/reduce.h"

namespace runnel {
namespace {

// The compute type: double for double, float otherwise.
template <class T>
using F = std::conditional_t<std::is_same_v<T, double>, double, float>;

inline float exp_of(float x) { return cpu_backend::exp_f32(x); }
inline double exp_of(double x) { return std::exp(x); }

// The largest element, NaN if there is one (as order keys: see reduce.h).
template <class T>
F<T> row_max(const T* x, int64_t n) {
  auto m = cpu_backend::order_key(-std::numeric_limits<F<T>>::infinity());
  for (int64_t i = 0; i < n; ++i) {
    auto k = cpu_backend::extreme_key<true>(static_cast<F<T>>(x[i]));
    m = k > m ? k : m;
  }
  return cpu_backend::from_order_key(m);
}

// Pairwise sum: blocks of 128 over eight accumulators, halves above that.
template <class A>
A pairwise_sum(const A* x, int64_t n) {
  if (n <= 128) {
    A acc[8] = {};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
      for (int j = 0; j < 8; ++j) acc[j] += x[i + j];
    }
    for (; i < n; ++i) acc[0] += x[i];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) +
           ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  }
  int64_t half = n / 2 / 8 * 8;
  const A lo = pairwise_sum(x, half);  // in memory order (see reduce.cpp)
  return lo + pairwise_sum(x + half, n - half);
}

// One contiguous row in float: its max, exp(x - max) into y, their sum,
// the scaling. In AVX2 and AVX-512 versions (see reduce.h).
RUNNEL_CPU_CLONES
void softmax_row_f32(const float* x, float* y, int64_t n) {
  const float m = row_max(x, n);
  for (int64_t i = 0; i < n; ++i) y[i] = cpu_backend::exp_f32(x[i] - m);
  const float inv = 1.0f / pairwise_sum(y, n);
  for (int64_t i = 0; i < n; ++i) y[i] *= inv;
}

// One contiguous row of T: float directly, half types through float
// scratch (`s`, 2n floats), double in double.
template <class T>
void softmax_row(const T* x, T* y, int64_t n, float* s) {
  if constexpr (std::is_same_v<T, float>) {
    softmax_row_f32(x, y, n);
  } else if constexpr (std::is_same_v<T, double>) {
    const double m = row_max(x, n);
    for (int64_t i = 0; i < n; ++i) y[i] = std::exp(x[i] - m);
    const double inv = 1.0 / pairwise_sum(y, n);
    for (int64_t i = 0; i < n; ++i) y[i] *= inv;
  } else {
    for (int64_t i = 0; i < n; ++i) s[i] = static_cast<float>(x[i]);
    softmax_row_f32(s, s + n, n);
    for (int64_t i = 0; i < n; ++i) y[i] = static_cast<T>(s[n + i]);
  }
}

// Whether `axes` are the trailing axes of `a` and contiguous in it (ignoring
// size-1 axes): then each row is a contiguous run, in and out alike.
bool trailing_contiguous(const array& a, const std::vector<int>& axes) {
  const int nd = a.ndim();
  if (axes.empty() || axes.front() != nd - static_cast<int>(axes.size())) {
    return false;
  }
  int64_t expect = 1;
  for (int d = nd - 1; d >= axes.front(); --d) {
    if (a.shape(d) != 1 && a.strides()[d] != expect) return false;
    expect *= a.shape(d);
  }
  return true;
}

template <class T>
void softmax_rows(const array& a, const std::vector<int>& axes, T* y) {
  const T* x = a.data<T>();
  const int lead = axes.front();
  int64_t n = 1;
  for (int d = lead; d < a.ndim(); ++d) n *= a.shape(d);
  const Shape rows_shape(a.shape().begin(), a.shape().begin() + lead);
  const Strides rows_strides(a.strides().begin(), a.strides().begin() + lead);
  const int64_t rows = static_cast<int64_t>(a.size()) / n;
  cpu_backend::parallel_items(rows, n, [&](int64_t b, int64_t e) {
    std::unique_ptr<float[]> scratch;
    if constexpr (scalar::kHalf<T>) scratch.reset(new float[2 * n]);
    for (int64_t r = b; r < e; ++r) {
      const T* xr = x + cpu_backend::offset_of(r, rows_shape, rows_strides);
      softmax_row(xr, y + r * n, n, scratch.get());
    }
  });
}

template <class T>
void softmax_general(const array& a, const std::vector<int>& axes, T* y) {
  const cpu_backend::ReduceLayout L =
      cpu_backend::reduce_layout(a.shape(), a.strides(), axes);
  const int64_t groups = L.kept_size;
  std::unique_ptr<T[]> m(new T[groups]);
  std::unique_ptr<F<T>[]> inv(new F<T>[groups]);
  cpu_backend::reduce_into(a, axes, cpu_backend::ReduceKind::max, 1.0, nullptr,
                           m.get());
  cpu_backend::reduce_into(a, axes, cpu_backend::ReduceKind::sumexp, 1.0,
                           m.get(), inv.get());
  for (int64_t g = 0; g < groups; ++g) inv[g] = F<T>(1) / inv[g];
  // The group of each element: row-major over the kept axes, 0 strides on
  // the reduced ones.
  Strides gstr(a.ndim(), 0);
  int64_t g = 1;
  for (int d = a.ndim() - 1; d >= 0; --d) {
    if (std::find(axes.begin(), axes.end(), d) == axes.end()) {
      gstr[d] = g;
      g *= a.shape(d);
    }
  }
  const T* x = a.data<T>();
  const std::array<Strides, 2> st{a.strides(), gstr};
  cpu_backend::parallel(static_cast<int64_t>(a.size()), [&](int64_t b,
                                                            int64_t e) {
    cpu_backend::for_each_run(
        a.shape(), st, b, e, [&](int64_t pos, auto off, int64_t n, auto inner) {
          for (int64_t i = 0; i < n; ++i) {
            const int64_t k = off[1] + i * inner[1];
            const F<T> v = static_cast<F<T>>(x[off[0] + i * inner[0]]);
            y[pos + i] =
                static_cast<T>(exp_of(v - static_cast<F<T>>(m[k])) * inv[k]);
          }
        });
  });
}

}  // namespace

void Softmax::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  const array& a = in[0];
  cpu_backend::allocate_output(out[0]);
  if (a.size() == 0) return;
  dispatch_dtype(a.dtype(), [&]<class T>(std::type_identity<T>) {
    if constexpr (scalar::kHalf<T> || std::is_floating_point_v<T>) {
      T* y = out[0].data<T>();
      if (trailing_contiguous(a, axes_)) {
        softmax_rows(a, axes_, y);
      } else {
        softmax_general(a, axes_, y);
      }
    } else {
      throw std::logic_error("[softmax] integers are promoted to float32");
    }
  });
}

}  // namespace runnel
