#include "runnel/backend/cuda/transfers.h"

#include "runnel/backend/cuda/device.h"
#include "runnel/memory/allocator.h"

namespace runnel::cuda {

std::shared_ptr<Buffer> copy_to_device(const Buffer& b, int device,
                                       cudaStream_t s) {
  auto c = cuda::device(device).memory.allocate(b.size(), s);
  if (b.device().type == DeviceType::cpu) {
    check(
        cudaMemcpyAsync(c->ptr(), b.ptr(), b.size(), cudaMemcpyHostToDevice, s),
        "copy to the GPU", device);
  } else {
    check(cudaMemcpyPeerAsync(c->ptr(), device, b.ptr(), b.device().index,
                              b.size(), s),
          "copy between GPUs", device);
  }
  return c;
}

std::shared_ptr<Buffer> copy_to_host(const Buffer& b) {
  int dev = b.device().index;
  device(dev);
  set_device(dev);
  auto h = detail::allocate(b.size(), Device(DeviceType::cpu));
  // The buffer is finished (its array is done); the copy waits for
  // nothing else on the device.
  check(cudaMemcpy(h->ptr(), b.ptr(), b.size(), cudaMemcpyDeviceToHost),
        "copy to the host", dev);
  return h;
}

void* pinned_host_alloc(size_t n) {
  if (exiting() || forked_child()) return nullptr;
  void* p = nullptr;
  // Portable: pinned for every device of the process, not only the
  // current one.
  if (cudaHostAlloc(&p, n, cudaHostAllocPortable) != cudaSuccess) {
    cudaGetLastError();  // not sticky: clear it
    return nullptr;
  }
  return p;
}

void pinned_host_free(void* p) {
  // At exit or in a forked child the memory goes with the process.
  if (exiting() || forked_child()) return;
  cudaFreeHost(p);
}

}  // namespace runnel::cuda
