#include "runnel/primitives/elementwise.h"

#include <cmath>

#include "runnel/backend/common/ops.h"
#include "runnel/backend/cpu/iterate.h"

namespace runnel {
namespace {

template <class Op>
void binary(const std::vector<array>& in, array& out, Op op) {
  cpu_backend::allocate_output(out);
  const Shape& shape = out.shape();
  const int64_t n = static_cast<int64_t>(out.size());
  // Same shapes, both contiguous: one flat loop, no index arithmetic.
  const bool flat = cpu_backend::is_contiguous(in[0]) &&
                    cpu_backend::is_contiguous(in[1]) &&
                    in[0].shape() == shape && in[1].shape() == shape;
  std::array<Strides, 2> st;
  if (!flat) {
    st = {cpu_backend::broadcast_strides(in[0], shape),
          cpu_backend::broadcast_strides(in[1], shape)};
  }
  dispatch_dtype(out.dtype(), [&]<class T>(std::type_identity<T>) {
    const T* a = in[0].data<T>();
    const T* b = in[1].data<T>();
    T* o = out.data<T>();
    cpu_backend::parallel(n, [&](int64_t begin, int64_t end) {
      if (flat) {
        for (int64_t i = begin; i < end; ++i) o[i] = op(a[i], b[i]);
        return;
      }
      cpu_backend::for_each_run(
          shape, st, begin, end,
          [&](int64_t pos, auto off, int64_t n, auto inner) {
            const T* pa = a + off[0];
            const T* pb = b + off[1];
            T* po = o + pos;
            if (inner[0] == 1 && inner[1] == 1) {
              for (int64_t i = 0; i < n; ++i) po[i] = op(pa[i], pb[i]);
            } else if (inner[0] == 1 && inner[1] == 0) {
              T vb = *pb;
              for (int64_t i = 0; i < n; ++i) po[i] = op(pa[i], vb);
            } else if (inner[0] == 0 && inner[1] == 1) {
              T va = *pa;
              for (int64_t i = 0; i < n; ++i) po[i] = op(va, pb[i]);
            } else {
              for (int64_t i = 0; i < n; ++i) {
                po[i] = op(pa[i * inner[0]], pb[i * inner[1]]);
              }
            }
          });
    });
  });
}

template <class Op>
void unary(const array& in, array& out, Op op) {
  cpu_backend::allocate_output(out);
  const bool flat = cpu_backend::is_contiguous(in);
  std::array<Strides, 1> st;
  if (!flat) st = {in.strides()};
  dispatch_dtype(out.dtype(), [&]<class T>(std::type_identity<T>) {
    const T* a = in.data<T>();
    T* o = out.data<T>();
    cpu_backend::parallel(out.size(), [&](int64_t begin, int64_t end) {
      if (flat) {
        for (int64_t i = begin; i < end; ++i) o[i] = op(a[i]);
        return;
      }
      cpu_backend::for_each_run(
          out.shape(), st, begin, end,
          [&](int64_t pos, auto off, int64_t n, auto inner) {
            const T* pa = a + off[0];
            for (int64_t i = 0; i < n; ++i) o[pos + i] = op(pa[i * inner[0]]);
          });
    });
  });
}

}  // namespace

void Add::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  binary(in, out[0], ops::Add{});
}

void Multiply::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  binary(in, out[0], ops::Multiply{});
}

void Exp::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  unary(in[0], out[0], ops::Exp{});  // floats only: the op promotes
}

void Abs::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  unary(in[0], out[0], ops::Abs{});
}

}  // namespace runnel
