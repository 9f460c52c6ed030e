#include "runnel/backend/cuda/counters.h"

#include <cuda.h>

#include <new>

#include "runnel/backend/cuda/device.h"

namespace runnel::cuda {
namespace {

using WriteValue64 = CUresult (*)(CUstream, CUdeviceptr, cuuint64_t,
                                  unsigned int);

// cuStreamWriteValue64 where the device can use it, else null.
WriteValue64 stream_write_value(int dev) {
  using GetAttribute = CUresult (*)(int*, CUdevice_attribute, CUdevice);
  GetAttribute get = nullptr;
  WriteValue64 write = nullptr;
  int can = 0;
  if (!driver_entry("cuDeviceGetAttribute", get, 12000) ||
      !driver_entry("cuStreamWriteValue64", write, 12000) ||
      get(&can, CU_DEVICE_ATTRIBUTE_CAN_USE_64_BIT_STREAM_MEM_OPS, dev) !=
          CUDA_SUCCESS ||
      !can) {
    return nullptr;
  }
  return write;
}

}  // namespace

PinnedCounters::PinnedCounters(int device)
    : index_(device),
      write_value_(reinterpret_cast<void*>(stream_write_value(device))) {}

PinnedCounters::Counter PinnedCounters::alloc() {
  std::lock_guard lock(mu_);
  if (!write_value_) return {};
  if (free_.empty()) {
    // A page of counters, 64 bytes apart (no two share a cache line).
    constexpr size_t kPage = 4096, kStride = 64;
    void* page = nullptr;
    if (cudaHostAlloc(&page, kPage,
                      cudaHostAllocPortable | cudaHostAllocMapped) !=
        cudaSuccess) {
      cudaGetLastError();
      write_value_ = nullptr;  // the watcher polls events instead
      return {};
    }
    void* dev = nullptr;
    check(cudaHostGetDevicePointer(&dev, page, 0), "cudaHostGetDevicePointer",
          index_);
    for (size_t off = kPage; off >= kStride; off -= kStride) {
      auto* host = new (static_cast<char*>(page) + off - kStride)
          std::atomic<uint64_t>(0);
      free_.push_back({host, reinterpret_cast<uint64_t>(dev) + off - kStride});
    }
  }
  Counter c = free_.back();
  free_.pop_back();
  c.host->store(0);
  return c;
}

void PinnedCounters::free(Counter c) {
  std::lock_guard lock(mu_);
  free_.push_back(c);
}

bool PinnedCounters::write(cudaStream_t s, const Counter& c, uint64_t v) {
  auto write = reinterpret_cast<WriteValue64>(write_value_.load());
  return write &&
         write(reinterpret_cast<CUstream>(s), static_cast<CUdeviceptr>(c.dev),
               v, CU_STREAM_WRITE_VALUE_DEFAULT) == CUDA_SUCCESS;
}

}  // namespace runnel::cuda
