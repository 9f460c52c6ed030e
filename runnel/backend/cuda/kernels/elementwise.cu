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

// Flat kernels by 16-byte vectors, then the tail element by element. An
// operand with kOne set is a single element read once (a broadcast scalar).
template <class T, class Op, bool kOneA, bool kOneB>
__global__ void binary_flat(const T* a, const T* b, T* out, int64_t n, Op op) {
  using V = Vec<T>;
  const int64_t vectors = n / V::kLanes;
  const int64_t step = int64_t{gridDim.x} * blockDim.x;
  const int64_t t = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  T a0{}, b0{};
  if constexpr (kOneA) a0 = a[0];
  if constexpr (kOneB) b0 = b[0];
  for (int64_t i = t; i < vectors; i += step) {
    V va, vb, vo;
    if constexpr (!kOneA) va = reinterpret_cast<const V*>(a)[i];
    if constexpr (!kOneB) vb = reinterpret_cast<const V*>(b)[i];
#pragma unroll
    for (int k = 0; k < V::kLanes; ++k) {
      vo.v[k] = op(kOneA ? a0 : va.v[k], kOneB ? b0 : vb.v[k]);
    }
    reinterpret_cast<V*>(out)[i] = vo;
  }
  for (int64_t i = vectors * V::kLanes + t; i < n; i += step) {
    out[i] = op(kOneA ? a0 : a[i], kOneB ? b0 : b[i]);
  }
}

template <class T, class Op>
__global__ void unary_flat(const T* a, T* out, int64_t n, Op op) {
  using V = Vec<T>;
  const int64_t vectors = n / V::kLanes;
  const int64_t step = int64_t{gridDim.x} * blockDim.x;
  const int64_t t = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  for (int64_t i = t; i < vectors; i += step) {
    V va = reinterpret_cast<const V*>(a)[i], vo;
#pragma unroll
    for (int k = 0; k < V::kLanes; ++k) vo.v[k] = op(va.v[k]);
    reinterpret_cast<V*>(out)[i] = vo;
  }
  for (int64_t i = vectors * V::kLanes + t; i < n; i += step) out[i] = op(a[i]);
}

// Threads for a flat kernel of n elements: one per vector, and enough for
// the tail.
template <class T>
unsigned flat_blocks(int64_t n) {
  return blocks_for(std::max<int64_t>(n / Vec<T>::kLanes, 1));
}

template <class T, class Op>
void launch_unary(const T* src, T* dst, int64_t n, Op op) {
  cudaStream_t s = current_launch().cu;
  if (aligned16(src) && aligned16(dst)) {
    unary_flat<<<flat_blocks<T>(n), kThreads, 0, s>>>(src, dst, n, op);
  } else {
    unary_contiguous<<<blocks_for(n), kThreads, 0, s>>>(src, dst, n, op);
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
    // Each operand is read flat, or is one element; flat ones are aligned.
    const bool one_a = in[0].size() == 1 && n > 1;
    const bool one_b = in[1].size() == 1 && n > 1;
    const bool flat = (ca || one_a) && (cb || one_b) && aligned16(dst) &&
                      (one_a || aligned16(a)) && (one_b || aligned16(b));
    const unsigned blocks = flat_blocks<T>(n);
    if (flat && !one_a && !one_b) {
      binary_flat<T, Op, false, false>
          <<<blocks, kThreads, 0, s>>>(a, b, dst, n, Op{});
    } else if (flat && one_a && !one_b) {
      binary_flat<T, Op, true, false>
          <<<blocks, kThreads, 0, s>>>(a, b, dst, n, Op{});
    } else if (flat && !one_a && one_b) {
      binary_flat<T, Op, false, true>
          <<<blocks, kThreads, 0, s>>>(a, b, dst, n, Op{});
    } else if (ca && cb) {
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
    launch_unary(src, dst, n, Op{});
  });
  after_launch(name);
}

// exp only sees floating dtypes (the op promotes), so instantiate those only.
void exp_kernel(Exp&, const std::vector<array>& in, std::vector<array>& out) {
  array& o = out[0];
  const int64_t n = static_cast<int64_t>(o.size());
  dispatch_dtype(o.dtype(), [&]<class T>(std::type_identity<T>) {
    if constexpr (!is_floating_point(dtype_of<T>())) {
      throw std::logic_error("[exp] the op promotes to a floating dtype");
    } else {
      const T* src = in_contiguous<T>(in[0]);
      T* dst = cuda::out<T>(o);
      if (n == 0) return;
      launch_unary(src, dst, n, scalar::Exp{});
    }
  });
  after_launch("exp");
}

}  // namespace

void bind_elementwise_kernels() {
  register_module(reinterpret_cast<const void*>(&module_anchor));
  bind_kernel<Add>(
      [](Add&, const std::vector<array>& in, std::vector<array>& out) {
        binary<scalar::Add>(in, out, "add");
      });
  bind_kernel<Multiply>(
      [](Multiply&, const std::vector<array>& in, std::vector<array>& out) {
        binary<scalar::Multiply>(in, out, "multiply");
      });
  bind_kernel<Abs>(
      [](Abs&, const std::vector<array>& in, std::vector<array>& out) {
        unary<scalar::Abs>(in[0], out[0], "abs");
      });
  bind_kernel<Exp>(exp_kernel);
}

}  // namespace runnel::cuda
