// Shared pieces of the CUDA kernel families: the one strided indexing that
// takes ndim at run time, launch sizes, dtype dispatch on the host.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "runnel/array.h"
#include "runnel/backend/common/ops.h"
#include "runnel/backend/cuda/device.h"
#include "runnel/backend/cuda/kernel_table.h"
#include "runnel/backend/cuda/launch.h"

namespace runnel::cuda {

inline constexpr int kMaxDims = 8;
inline constexpr int kThreads = 256;

// An operand's layout broadcast to the output's shape.
struct Strided {
  int ndim = 0;
  int64_t shape[kMaxDims] = {};
  int64_t strides[kMaxDims] = {};

  // The element offset of output index `i`.
  __device__ int64_t offset(int64_t i) const {
    int64_t off = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      int64_t q = i / shape[d];
      off += (i - q * shape[d]) * strides[d];
      i = q;
    }
    return off;
  }
};

// `in` read as `out_shape` (0 strides on broadcast axes); also whether that
// is plain contiguous reading.
inline Strided strided(const array& in, const Shape& out_shape,
                       bool* contiguous) {
  if (out_shape.size() > static_cast<size_t>(kMaxDims)) {
    throw std::invalid_argument("[gpu] at most " + std::to_string(kMaxDims) +
                                " dimensions are supported on the GPU yet.");
  }
  Strided s;
  s.ndim = static_cast<int>(out_shape.size());
  size_t off = out_shape.size() - in.shape().size();
  bool contig = in.shape() == out_shape;
  int64_t expect = 1;
  for (int d = s.ndim - 1; d >= 0; --d) {
    s.shape[d] = out_shape[d];
    if (static_cast<size_t>(d) >= off) {
      int id = d - static_cast<int>(off);
      s.strides[d] = in.shape()[id] == 1 ? 0 : in.strides()[id];
      if (in.shape()[id] != 1 && in.strides()[id] != expect) contig = false;
      expect *= in.shape()[id];
    }
  }
  *contiguous = contig;
  return s;
}

// `a`'s elements in row-major order on the launch's device: its own data
// when laid out so, else a copy made by a strided gather on the launch's
// stream (views: transposed, sliced, broadcast). For kernels that read flat.
const void* contiguous_input(const array& a);
template <class T>
const T* in_contiguous(const array& a) {
  return static_cast<const T*>(contiguous_input(a));
}

// An empty kernel in every kernel file's module (each file is its own
// module): what register_module names for the file.
namespace {
__global__ void module_anchor() {}
}  // namespace

// 16 bytes of T: contiguous kernels load and store a whole vector per lane
// where their pointers are 16-byte aligned (pool blocks are; views may not
// be).
template <class T>
struct alignas(16) Vec {
  static constexpr int kLanes = 16 / sizeof(T);
  T v[kLanes];
};

inline bool aligned16(const void* p) {
  return (reinterpret_cast<uintptr_t>(p) & 15) == 0;
}

inline unsigned blocks_for(int64_t n) {
  int64_t b = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned>(
      std::min<int64_t>(std::max<int64_t>(b, 1), 65535 * 8));
}

}  // namespace runnel::cuda
