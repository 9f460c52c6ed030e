// Row-major copies of strided operands, by element size (the dtype does not
// matter to a copy): four instantiations serve every dtype.
#include <cstdint>

#include "runnel/backend/common/dispatch.h"
#include "runnel/backend/cuda/kernels/common.cuh"
#include "runnel/primitives/shape.h"

namespace runnel::cuda {
namespace {

template <class E>
__global__ void gather_copy(const E* src, E* dst, int64_t n, Strided s) {
  for (int64_t i = blockIdx.x * int64_t{kThreads} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * kThreads) {
    dst[i] = src[s.offset(i)];
  }
}

// Launches the row-major gather of `n` elements of `size` bytes each.
void launch_gather(const void* src, void* dst, size_t size, int64_t n,
                   const Strided& s, cudaStream_t cu) {
  dispatch_size(size, [&]<class E>(std::type_identity<E>) {
    gather_copy<E><<<blocks_for(n), kThreads, 0, cu>>>(
        static_cast<const E*>(src), static_cast<E*>(dst), n, s);
  });
}

// The copy primitive (copy, contiguous, reshapes that cannot be views).
void copy_kernel(Copy&, const std::vector<array>& in,
                 std::vector<array>& outs) {
  array& o = outs[0];
  bool contiguous = false;
  // The input read in the output's shape (a reshape's copy reads the input
  // in its own shape, row-major: same order).
  Strided s = strided(in[0], in[0].shape(), &contiguous);
  const void* src = input_ptr(in[0]);
  void* dst = output_ptr(o);
  const int64_t n = static_cast<int64_t>(o.size());
  if (n == 0) return;
  Launch& l = current_launch();
  if (contiguous) {
    check(cudaMemcpyAsync(dst, src, o.nbytes(), cudaMemcpyDeviceToDevice, l.cu),
          "copy", l.device);
  } else {
    launch_gather(src, dst, in[0].itemsize(), n, s, l.cu);
  }
  after_launch("copy");
}

}  // namespace

void bind_copy_kernels() {
  register_module(reinterpret_cast<const void*>(&module_anchor));
  bind_kernel<Copy>(copy_kernel);
}

const void* contiguous_input(const array& a) {
  bool contiguous = false;
  Strided s = strided(a, a.shape(), &contiguous);
  const void* src = input_ptr(a);
  if (contiguous) return src;
  Launch& l = current_launch();
  const int64_t n = static_cast<int64_t>(a.size());
  auto tmp = device(l.device).memory.allocate(a.nbytes(), l.cu);
  tmp->add_use(l.use);  // freed in stream order once this launch is done
  launch_gather(src, tmp->ptr(), a.itemsize(), n, s, l.cu);
  after_launch("copy");
  // The launch keeps a reference until its work is done (see uses).
  l.keep.push_back(tmp);
  return tmp->ptr();
}

}  // namespace runnel::cuda
