#include "runnel/backend/cuda/kernels/common.cuh"
#include "runnel/primitives/reduce.h"

namespace runnel::cuda {
namespace {

inline constexpr int kSumBlocks = 1024;

template <class T>
using Acc = typename scalar::SumAcc<T>::type;

template <class A>
__device__ A block_sum(A v) {
  __shared__ A smem[kThreads];
  smem[threadIdx.x] = v;
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s /= 2) {
    if (threadIdx.x < s)
      smem[threadIdx.x] = smem[threadIdx.x] + smem[threadIdx.x + s];
    __syncthreads();
  }
  return smem[0];
}

// Pass 1: block b sums a fixed slice into partial[b] (the slices do not
// depend on the machine, so the result is the same everywhere).
template <class T>
__global__ void sum_partial(const T* x, int64_t n, int64_t chunk,
                            Acc<T>* partial) {
  int64_t lo = blockIdx.x * chunk;
  int64_t hi = min(n, lo + chunk);
  Acc<T> acc{};
  for (int64_t i = lo + threadIdx.x; i < hi; i += kThreads) {
    acc = acc + static_cast<Acc<T>>(x[i]);
  }
  Acc<T> s = block_sum(acc);
  if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

template <class T>
__global__ void sum_final(const Acc<T>* partial, int blocks, T* out) {
  Acc<T> acc{};
  for (int i = threadIdx.x; i < blocks; i += kThreads) acc = acc + partial[i];
  Acc<T> s = block_sum(acc);
  if (threadIdx.x == 0) *out = static_cast<T>(s);
}

void sum_kernel(SumAll&, const std::vector<array>& in,
                std::vector<array>& outs) {
  array& o = outs[0];
  const int64_t n = static_cast<int64_t>(in[0].size());
  Launch& l = current_launch();
  dispatch_dtype(o.dtype(), [&]<class T>(std::type_identity<T>) {
    if constexpr (std::is_same_v<T, bool>) {
      throw std::logic_error("[sum] bool is summed as int32");
    } else {
      const T* x = in_contiguous<T>(in[0]);
      T* dst = out<T>(o);
      int64_t chunk =
          std::max<int64_t>(kThreads, (n + kSumBlocks - 1) / kSumBlocks);
      int blocks =
          static_cast<int>(std::max<int64_t>(1, (n + chunk - 1) / chunk));
      auto scratch =
          device(l.device).memory.allocate(blocks * sizeof(Acc<T>), l.cu);
      scratch->add_use(l.use);
      auto* partial = static_cast<Acc<T>*>(scratch->ptr());
      sum_partial<<<blocks, kThreads, 0, l.cu>>>(x, n, chunk, partial);
      sum_final<<<1, kThreads, 0, l.cu>>>(partial, blocks, dst);
    }
  });
  after_launch("sum");
}

}  // namespace

void bind_reduce_kernels() {
  register_module(reinterpret_cast<const void*>(&module_anchor));
  bind_kernel<SumAll>(sum_kernel);
}

}  // namespace runnel::cuda
