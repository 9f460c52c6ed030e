// CPU cumulative sums and products. A scan is a set of lines along the axis,
// each sequential (as numpy's); when the axes after the scanned one are
// contiguous, a tile of neighbouring lines advances together, which
// vectorises. Lines are independent, so splitting them over workers never
// changes a result.
#include <algorithm>
#include <memory>
#include <stdexcept>
#include <type_traits>

#include "runnel/backend/common/ops.h"
#include "runnel/backend/cpu/reduce.h"
#include "runnel/primitives/reduce.h"

namespace runnel {
namespace {

// Integers accumulate in the unsigned type of their width (wrapping), half
// types in float, bool (cumprod only) as bool.
template <class T>
struct ScanAcc {
  using type = typename scalar::SumAcc<T>::type;
};
template <>
struct ScanAcc<bool> {
  using type = bool;
};

template <class T, bool kProd>
struct ScanOp {
  using Acc = typename ScanAcc<T>::type;
  static Acc init() { return kProd ? Acc{1} : Acc{}; }
  static Acc load(T x) {
    if constexpr (scalar::kHalf<T>) {
      return static_cast<float>(x);
    } else {
      return static_cast<Acc>(x);
    }
  }
  static Acc apply(Acc a, Acc b) {
    if constexpr (std::is_same_v<T, bool>) {
      return kProd ? (a && b) : (a || b);  // cumsum of bool runs as int32
    } else {
      return kProd ? a * b : a + b;
    }
  }
  static T store(Acc a) { return static_cast<T>(a); }
};

struct ScanShape {
  int64_t n = 1;       // length of the scanned axis
  int64_t stride = 1;  // its input stride
  int64_t inner = 1;   // elements after it (the output stride of the axis)
  Shape outer_shape;   // the axes before it, with their input strides
  Strides outer_strides;
  Shape inner_shape;  // the axes after it, with their input strides
  Strides inner_strides;
};

template <class Op, class T>
void scan_lines(const T* x, T* y, const ScanShape& S, bool reverse,
                bool inclusive) {
  using Acc = typename Op::Acc;
  const int64_t outer = static_cast<int64_t>(detail::shape_size(S.outer_shape));
  const int64_t N = S.n, I = S.inner, s = S.stride;
  if (outer == 0 || N == 0 || I == 0) return;
  const int64_t first = reverse ? N - 1 : 0;
  const int64_t step = reverse ? -1 : 1;

  // The axes after the scanned one, merged: one contiguous axis lets a tile
  // of lines advance together.
  const cpu_backend::ReduceLayout in_layout =
      cpu_backend::reduce_layout(S.inner_shape, S.inner_strides, {});
  const bool tiled = I > 1 && in_layout.kept_shape.size() == 1 &&
                     in_layout.kept_strides[0] == 1;
  if (tiled) {
    // Long row stretches: short ones from many rows defeat the prefetchers.
    constexpr int64_t kTile = 4096;
    const int64_t tiles = (I + kTile - 1) / kTile;
    auto body = [&](int64_t b, int64_t e) {
      std::unique_ptr<Acc[]> acc_store(new Acc[kTile]);
      Acc* acc = acc_store.get();
      for (int64_t item = b; item < e; ++item) {
        const int64_t o = item / tiles, j0 = item % tiles * kTile;
        const int64_t w = std::min(kTile, I - j0);
        const T* p =
            x + cpu_backend::offset_of(o, S.outer_shape, S.outer_strides) + j0;
        T* q = y + o * N * I + j0;
        std::fill(acc, acc + w, Op::init());
        for (int64_t t = 0; t < N; ++t) {
          const int64_t k = first + t * step;
          const T* __restrict r = p + k * s;
          T* __restrict d = q + k * I;
          if (inclusive) {
            for (int64_t j = 0; j < w; ++j) {
              acc[j] = Op::apply(acc[j], Op::load(r[j]));
              d[j] = Op::store(acc[j]);
            }
          } else {
            for (int64_t j = 0; j < w; ++j) {
              d[j] = Op::store(acc[j]);
              acc[j] = Op::apply(acc[j], Op::load(r[j]));
            }
          }
        }
      }
    };
    cpu_backend::parallel_items(outer * tiles, N * std::min(I, kTile), body);
    return;
  }

  // One line at a time: (outer index, inner index) pairs.
  auto body = [&](int64_t b, int64_t e) {
    for (int64_t line = b; line < e; ++line) {
      const int64_t o = line / I, i = line % I;
      const T* p = x +
                   cpu_backend::offset_of(o, S.outer_shape, S.outer_strides) +
                   cpu_backend::offset_of(i, S.inner_shape, S.inner_strides);
      T* q = y + o * N * I + i;
      Acc acc = Op::init();
      for (int64_t t = 0; t < N; ++t) {
        const int64_t k = first + t * step;
        if (inclusive) {
          acc = Op::apply(acc, Op::load(p[k * s]));
          q[k * I] = Op::store(acc);
        } else {
          q[k * I] = Op::store(acc);
          acc = Op::apply(acc, Op::load(p[k * s]));
        }
      }
    }
  };
  cpu_backend::parallel_items(outer * I, N, body);
}

}  // namespace

void Scan::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  const array& a = in[0];
  array& o = out[0];
  cpu_backend::allocate_output(o);
  dispatch_dtype(a.dtype(), [&]<class T>(std::type_identity<T>) {
    const T* x = a.data<T>();
    ScanShape S;
    std::unique_ptr<T[]> flat;
    if (axis_ == kFlat) {
      // The flattened array in row-major order: a copy unless contiguous.
      S.n = static_cast<int64_t>(a.size());
      if (!cpu_backend::is_contiguous(a)) {
        flat.reset(new T[a.size()]);
        const std::array<Strides, 1> st{a.strides()};
        cpu_backend::for_each_run(
            a.shape(), st, 0, S.n,
            [&](int64_t pos, auto off, int64_t n, auto inner) {
              for (int64_t i = 0; i < n; ++i) {
                flat[pos + i] = x[off[0] + i * inner[0]];
              }
            });
        x = flat.get();
      }
    } else {
      S.n = a.shape(axis_);
      S.stride = a.strides()[axis_];
      for (int d = 0; d < a.ndim(); ++d) {
        if (d < axis_) {
          S.outer_shape.push_back(a.shape(d));
          S.outer_strides.push_back(a.strides()[d]);
        } else if (d > axis_) {
          S.inner_shape.push_back(a.shape(d));
          S.inner_strides.push_back(a.strides()[d]);
          S.inner *= a.shape(d);
        }
      }
    }
    T* y = o.data<T>();
    if (is_prod_) {
      scan_lines<ScanOp<T, true>>(x, y, S, reverse_, inclusive_);
    } else if constexpr (std::is_same_v<T, bool>) {
      throw std::logic_error("[cumsum] bool is scanned as int32");
    } else {
      scan_lines<ScanOp<T, false>>(x, y, S, reverse_, inclusive_);
    }
  });
}

}  // namespace runnel
