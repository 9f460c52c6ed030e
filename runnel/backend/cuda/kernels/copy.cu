// Row-major copies of strided operands, by element size (the dtype does not
// matter to a copy): four instantiations serve every dtype.
#include <cstdint>

#include "runnel/backend/cuda/kernels/common.cuh"

namespace runnel::cuda {
namespace {

template <class E>
__global__ void gather_copy(const E* src, E* dst, int64_t n, Strided s) {
  for (int64_t i = blockIdx.x * int64_t{kThreads} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * kThreads) {
    dst[i] = src[s.offset(i)];
  }
}

}  // namespace

const void* contiguous_input(const array& a) {
  bool contiguous = false;
  Strided s = strided(a, a.shape(), &contiguous);
  const void* src = input_ptr(a);
  if (contiguous) return src;
  Launch& l = current_launch();
  const int64_t n = static_cast<int64_t>(a.size());
  auto tmp = device(l.device).allocate(a.nbytes(), l.cu);
  tmp->add_use(l.use);  // freed in stream order once this launch is done
  auto launch = [&]<class E>(std::type_identity<E>) {
    gather_copy<E><<<blocks_for(n), kThreads, 0, l.cu>>>(
        static_cast<const E*>(src), static_cast<E*>(tmp->ptr()), n, s);
  };
  switch (a.itemsize()) {
    case 1:
      launch(std::type_identity<uint8_t>{});
      break;
    case 2:
      launch(std::type_identity<uint16_t>{});
      break;
    case 4:
      launch(std::type_identity<uint32_t>{});
      break;
    default:
      launch(std::type_identity<uint64_t>{});
      break;
  }
  after_launch("copy");
  // The launch keeps a reference until its work is done (see uses).
  l.keep.push_back(tmp);
  return tmp->ptr();
}

}  // namespace runnel::cuda
