#include "runnel/primitives/creation.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "runnel/backend/common/ops.h"
#include "runnel/backend/cpu/iterate.h"

namespace runnel {
namespace {

// out = cast(in broadcast to out's shape).
void copy_broadcast(const array& in, array& out) {
  cpu_backend::allocate_output(out);
  std::array<Strides, 1> st{cpu_backend::broadcast_strides(in, out.shape())};
  dispatch_dtype(in.dtype(), [&]<class In>(std::type_identity<In>) {
    dispatch_dtype(out.dtype(), [&]<class Out>(std::type_identity<Out>) {
      const In* src = in.data<In>();
      Out* dst = out.data<Out>();
      cpu_backend::parallel(out.size(), [&](int64_t b, int64_t e) {
        cpu_backend::for_each_run(
            out.shape(), st, b, e,
            [&](int64_t pos, auto off, int64_t n, auto inner) {
              const In* s = src + off[0];
              for (int64_t i = 0; i < n; ++i) {
                dst[pos + i] = scalar::cast<Out>(s[i * inner[0]]);
              }
            });
      });
    });
  });
}

}  // namespace

void Broadcast::eval_cpu(const std::vector<array>& in,
                         std::vector<array>& out) {
  copy_broadcast(in[0], out[0]);
}

void AsType::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  copy_broadcast(in[0], out[0]);
}

void Arange::eval_cpu(const std::vector<array>&, std::vector<array>& out) {
  cpu_backend::allocate_output(out[0]);
  dispatch_dtype(out[0].dtype(), [&]<class T>(std::type_identity<T>) {
    T* dst = out[0].data<T>();
    cpu_backend::parallel(out[0].size(), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        dst[i] = scalar::cast<T>(start_ + static_cast<double>(i) * step_);
      }
    });
  });
}

}  // namespace runnel

namespace runnel {

void Linspace::eval_cpu(const std::vector<array>&, std::vector<array>& out) {
  cpu_backend::allocate_output(out[0]);
  const int64_t n = static_cast<int64_t>(out[0].size());
  // numpy's formula: start + i * step, the last value exactly stop.
  const double step = n > 1 ? (stop_ - start_) / static_cast<double>(n - 1) : 0;
  dispatch_dtype(out[0].dtype(), [&]<class T>(std::type_identity<T>) {
    T* dst = out[0].data<T>();
    cpu_backend::parallel(n, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const double v = i == n - 1 && n > 1
                             ? stop_
                             : start_ + static_cast<double>(i) * step;
        dst[i] = scalar::cast<T>(v);
      }
    });
  });
}

void Eye::eval_cpu(const std::vector<array>&, std::vector<array>& out) {
  array& o = out[0];
  cpu_backend::allocate_output(o);
  if (o.size() == 0) return;
  const int64_t rows = o.shape(0);
  const int64_t cols = o.shape(1);
  dispatch_dtype(o.dtype(), [&]<class T>(std::type_identity<T>) {
    T* dst = o.data<T>();
    const T one = scalar::cast<T>(1);
    const T zero = scalar::cast<T>(0);
    cpu_backend::parallel(rows * cols, [&](int64_t b, int64_t e) {
      std::fill(dst + b, dst + e, zero);
      // Row i holds its one at column i + k.
      for (int64_t i = b / cols; i * cols < e; ++i) {
        const int64_t j = i + k_;
        const int64_t at = i * cols + j;
        if (j >= 0 && j < cols && at >= b && at < e) dst[at] = one;
      }
    });
  });
}

}  // namespace runnel
