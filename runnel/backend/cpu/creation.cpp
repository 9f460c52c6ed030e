#include "runnel/primitives/creation.h"

#include <cstring>
#include <limits>

#include "runnel/backend/cpu/iterate.h"

namespace runnel {
namespace {

// Numpy's float-to-integer casts are undefined beyond the range; ours send
// NaN to 0 and saturate (the op library's numeric semantics).
template <class Out, class In>
Out cast_value(In v) {
  if constexpr (std::is_same_v<In, float16_t> ||
                std::is_same_v<In, bfloat16_t>) {
    return cast_value<Out>(static_cast<float>(v));
  } else if constexpr (std::is_same_v<Out, float16_t> ||
                       std::is_same_v<Out, bfloat16_t>) {
    return Out(v);
  } else if constexpr (std::is_floating_point_v<In> &&
                       std::is_integral_v<Out> && !std::is_same_v<Out, bool>) {
    if (v != v) return Out(0);
    constexpr double lo = static_cast<double>(std::numeric_limits<Out>::min());
    constexpr double hi = static_cast<double>(std::numeric_limits<Out>::max());
    double d = static_cast<double>(v);
    if (d <= lo) return std::numeric_limits<Out>::min();
    if (d >= hi) return std::numeric_limits<Out>::max();
    return static_cast<Out>(v);
  } else {
    return static_cast<Out>(v);
  }
}

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
                dst[pos + i] = cast_value<Out>(s[i * inner[0]]);
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
        dst[i] = cast_value<T>(start_ + static_cast<double>(i) * step_);
      }
    });
  });
}

}  // namespace runnel
