// The CUDA backend's entry point (what librunnel asks of a GPU backend) and
// its kernel table.
#include <array>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "runnel/backend/cuda/device.h"
#include "runnel/backend/cuda/event.h"
#include "runnel/backend/cuda/kernel_table.h"
#include "runnel/backend/cuda/stream.h"
#include "runnel/backend/cuda/transfers.h"
#include "runnel/backend/gpu.h"
#include "runnel/primitives/primitive.h"

namespace runnel::cuda {
namespace {

// The kernel bound to each primitive id; filled when the backend is made,
// read only after.
std::array<BoundKernel, kPrimitiveCount>& kernels() {
  static auto* k = new std::array<BoundKernel, kPrimitiveCount>();
  return *k;
}

class CudaBackend final : public detail::gpu::Backend {
 public:
  CudaBackend() {
    bind_creation_kernels();
    bind_elementwise_kernels();
    bind_reduce_kernels();
    bind_testing_kernels();
    bind_copy_kernels();
  }

  int device_count() override {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      cudaGetLastError();
      return 0;
    }
    return n;
  }
  DeviceInfo device_info(int i) override { return cuda::device_info(i); }
  std::pair<int, int> priority_range(int i) override {
    return cuda::priority_range(i);
  }

  std::shared_ptr<detail::StreamState> make_stream(int i, int index,
                                                   int priority,
                                                   void* external) override {
    device(i);
    if (external) {  // its own priority, not the one asked for
      set_device(i);
      check(
          cudaStreamGetPriority(static_cast<cudaStream_t>(external), &priority),
          "[from_external] the handle", i);
    }
    auto s = std::make_shared<GpuStream>(index, i, priority,
                                         static_cast<cudaStream_t>(external));
    // Before anyone can wait on it: a CPU strand may park on a stream that
    // has launched nothing yet, and the watcher must be able to hold it.
    s->gpu_timeline().set_self(s->timeline_ptr());
    return s;
  }

  void eval(PrimitiveId id, Primitive& p, const std::vector<array>& in,
            std::vector<array>& out) override {
    if (!has_kernel(id)) {
      throw std::invalid_argument(std::string("[") + p.name() +
                                  "] has no GPU kernel yet.");
    }
    const BoundKernel& k = kernels()[id];
    k.call(k.kernel, p, in, out);
  }
  bool has_kernel(PrimitiveId id) override {
    return id < kPrimitiveCount && kernels()[id].kernel != nullptr;
  }
  std::string stand_in_reason() override { return {}; }

  size_t active_memory(int i) override { return device(i).memory.active(); }
  size_t peak_memory(int i) override { return device(i).memory.peak(); }
  void reset_peak_memory(int i) override { device(i).memory.reset_peak(); }
  size_t cache_memory(int i) override { return device(i).memory.cache(); }
  size_t set_memory_limit(int i, size_t l) override {
    return device(i).memory.set_limit(l);
  }
  size_t memory_limit(int i) override { return device(i).memory.limit(); }
  void clear_cache(int i) override { device(i).memory.trim(); }

  std::shared_ptr<Buffer> to_host(const Buffer& b) override {
    return copy_to_host(b);
  }
  void* host_alloc(size_t n) override { return pinned_host_alloc(n); }
  void host_free(void* p) override { pinned_host_free(p); }

  void* record_timing_event() override { return cuda::record_timing_event(); }
  double elapsed_ms(void* start, void* end) override {
    return cuda::elapsed_ms(start, end);
  }
  void destroy_timing_event(void* e) override { cuda::destroy_timing_event(e); }
};

}  // namespace

void set_kernel(PrimitiveId id, BoundKernel k) {
  if (id >= kPrimitiveCount || kernels()[id].kernel) {
    throw std::logic_error("[gpu] two kernels bound to one primitive");
  }
  kernels()[id] = k;
}

namespace {
std::vector<const void*>& modules() {
  static auto* m = new std::vector<const void*>();
  return *m;
}
}  // namespace
void register_module(const void* any_kernel) {
  modules().push_back(any_kernel);
}
const std::vector<const void*>& registered_modules() { return modules(); }

}  // namespace runnel::cuda

extern "C" runnel::detail::gpu::Backend* runnel_cuda_backend() {
  static auto* b = new runnel::cuda::CudaBackend();  // never destroyed
  return b;
}
