#include <cstring>

#include "runnel/backend/cuda/kernels/common.cuh"
#include "runnel/primitives/creation.h"

namespace runnel::cuda {
namespace {

// out[i] = cast(v), with the output dtype chosen at run time, so that there
// is one kernel per input dtype, not per pair.
template <class In>
__device__ inline void store_as(void* out, Dtype to, int64_t i, In v) {
  switch (to) {
#define RUNNEL_CAST_CASE(D, T)                    \
  case Dtype::D:                                  \
    static_cast<T*>(out)[i] = scalar::cast<T>(v); \
    break;
    // One case per dtype: a macro, since each case names a type.
    RUNNEL_CAST_CASE(bool_, bool)
    RUNNEL_CAST_CASE(uint8, uint8_t)
    RUNNEL_CAST_CASE(uint16, uint16_t)
    RUNNEL_CAST_CASE(uint32, uint32_t)
    RUNNEL_CAST_CASE(uint64, uint64_t)
    RUNNEL_CAST_CASE(int8, int8_t)
    RUNNEL_CAST_CASE(int16, int16_t)
    RUNNEL_CAST_CASE(int32, int32_t)
    RUNNEL_CAST_CASE(int64, int64_t)
    RUNNEL_CAST_CASE(float16, float16_t)
    RUNNEL_CAST_CASE(bfloat16, bfloat16_t)
    RUNNEL_CAST_CASE(float32, float)
    RUNNEL_CAST_CASE(float64, double)
#undef RUNNEL_CAST_CASE
  }
}

// out[i] = cast(in[offset(i)]).
template <class In>
__global__ void copy_cast(const In* in, void* out, Dtype to, int64_t n,
                          Strided si, bool contiguous) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    store_as(out, to, i, in[contiguous ? i : si.offset(i)]);
  }
}

// out[i] = cast(v): a broadcast host scalar (zeros, ones, full), passed by
// value rather than copied to the device first.
template <class In>
__global__ void fill_cast(In v, void* out, Dtype to, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    store_as(out, to, i, v);
  }
}

template <class T>
__global__ void arange_kernel(T* out, int64_t n, double start, double step) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    out[i] = scalar::cast<T>(start + static_cast<double>(i) * step);
  }
}

void copy_broadcast(const std::vector<array>& in, std::vector<array>& outs,
                    const char* name) {
  array& o = outs[0];
  bool contiguous = false;
  Strided si = strided(in[0], o.shape(), &contiguous);
  const int64_t n = static_cast<int64_t>(o.size());
  void* dst = output_ptr(o);
  // One element in host memory (finished: the work ran after its
  // producer): its value goes to the kernel as an argument.
  alignas(8) unsigned char value[8];
  if (host_scalar(in[0], value)) {
    dispatch_dtype(in[0].dtype(), [&]<class In>(std::type_identity<In>) {
      In v;
      std::memcpy(&v, value, sizeof(In));
      if (n == 0) return;
      fill_cast<<<blocks_for(n), kThreads, 0, current_launch().cu>>>(
          v, dst, o.dtype(), n);
    });
    after_launch(name);
    return;
  }
  dispatch_dtype(in[0].dtype(), [&]<class In>(std::type_identity<In>) {
    const In* src = cuda::in<In>(in[0]);
    if (n == 0) return;
    copy_cast<<<blocks_for(n), kThreads, 0, current_launch().cu>>>(
        src, dst, o.dtype(), n, si, contiguous);
  });
  after_launch(name);
}

}  // namespace

void bind_creation_kernels() {
  register_module(reinterpret_cast<const void*>(&module_anchor));
  bind_kernel<Broadcast>(
      [](Broadcast&, const std::vector<array>& in, std::vector<array>& out) {
        copy_broadcast(in, out, "broadcast");
      });
  bind_kernel<AsType>(
      [](AsType&, const std::vector<array>& in, std::vector<array>& out) {
        copy_broadcast(in, out, "astype");
      });
  bind_kernel<Arange>(
      [](Arange& a, const std::vector<array>&, std::vector<array>& outs) {
        array& o = outs[0];
        const int64_t n = static_cast<int64_t>(o.size());
        dispatch_dtype(o.dtype(), [&]<class T>(std::type_identity<T>) {
          if constexpr (std::is_same_v<T, bool>) {
            throw std::logic_error("[arange] bool is rejected by the op");
          } else {
            T* dst = out<T>(o);
            if (n == 0) return;
            arange_kernel<<<blocks_for(n), kThreads, 0, current_launch().cu>>>(
                dst, n, a.start(), a.step());
          }
        });
        after_launch("arange");
      });
}

}  // namespace runnel::cuda
