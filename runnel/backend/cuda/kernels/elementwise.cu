#include "runnel/backend/cuda/kernels/common.cuh"
#include "runnel/primitives/elementwise.h"

namespace runnel::cuda {
namespace {

template <class T, class Op>
__global__ void binary_contiguous(const T* a, const T* b, T* out, int64_t n,
                                  Op op) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    out[i] = op(a[i], b[i]);
  }
}

template <class T, class Op>
__global__ void binary_strided(const T* a, const T* b, T* out, int64_t n,
                               Strided sa, Strided sb, Op op) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    out[i] = op(a[sa.offset(i)], b[sb.offset(i)]);
  }
}

template <class T, class Op>
__global__ void unary_contiguous(const T* a, T* out, int64_t n, Op op) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    out[i] = op(a[i]);
  }
}

template <class Op>
void binary(const std::vector<array>& in, std::vector<array>& outs,
            const char* name) {
  array& o = outs[0];
  bool ca = false, cb = false;
  Strided sa = strided(in[0], o.shape(), &ca);
  Strided sb = strided(in[1], o.shape(), &cb);
  const int64_t n = static_cast<int64_t>(o.size());
  dispatch_dtype(o.dtype(), [&]<class T>(std::type_identity<T>) {
    const T* a = cuda::in<T>(in[0]);
    const T* b = cuda::in<T>(in[1]);
    T* dst = out<T>(o);
    if (n == 0) return;
    cudaStream_t s = current_launch().cu;
    if (ca && cb) {
      binary_contiguous<<<blocks_for(n), kThreads, 0, s>>>(a, b, dst, n, Op{});
    } else {
      binary_strided<<<blocks_for(n), kThreads, 0, s>>>(a, b, dst, n, sa, sb,
                                                        Op{});
    }
  });
  after_launch(name);
}

template <class Op>
void unary(const array& a, array& o, const char* name) {
  const int64_t n = static_cast<int64_t>(o.size());
  dispatch_dtype(o.dtype(), [&]<class T>(std::type_identity<T>) {
    const T* src = in_contiguous<T>(a);
    T* dst = out<T>(o);
    if (n == 0) return;
    unary_contiguous<<<blocks_for(n), kThreads, 0, current_launch().cu>>>(
        src, dst, n, Op{});
  });
  after_launch(name);
}

// exp only sees floating dtypes (the op promotes), so instantiate those only.
void exp_kernel(Primitive&, const std::vector<array>& in,
                std::vector<array>& out) {
  array& o = out[0];
  const int64_t n = static_cast<int64_t>(o.size());
  auto run = [&]<class T>(std::type_identity<T>) {
    const T* src = in_contiguous<T>(in[0]);
    T* dst = cuda::out<T>(o);
    if (n == 0) return;
    unary_contiguous<<<blocks_for(n), kThreads, 0, current_launch().cu>>>(
        src, dst, n, ops::Exp{});
  };
  switch (o.dtype()) {
    case Dtype::float16:
      run(std::type_identity<float16_t>{});
      break;
    case Dtype::bfloat16:
      run(std::type_identity<bfloat16_t>{});
      break;
    case Dtype::float32:
      run(std::type_identity<float>{});
      break;
    case Dtype::float64:
      run(std::type_identity<double>{});
      break;
    default:
      throw std::logic_error("[exp] the op promotes to a floating dtype");
  }
  after_launch("exp");
}

}  // namespace

void register_elementwise_kernels() {
  register_module(reinterpret_cast<const void*>(&module_anchor));
  register_kernel(
      "add", [](Primitive&, const std::vector<array>& in,
                std::vector<array>& out) { binary<ops::Add>(in, out, "add"); });
  register_kernel("multiply", [](Primitive&, const std::vector<array>& in,
                                 std::vector<array>& out) {
    binary<ops::Multiply>(in, out, "multiply");
  });
  register_kernel("abs", [](Primitive&, const std::vector<array>& in,
                            std::vector<array>& out) {
    unary<ops::Abs>(in[0], out[0], "abs");
  });
  register_kernel("exp", exp_kernel);
}

}  // namespace runnel::cuda
