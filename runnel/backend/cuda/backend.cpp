// The CUDA backend's entry point: what librunnel asks of a GPU backend.
#include <array>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "runnel/backend/cuda/cuda.h"
#include "runnel/backend/cuda/kernel_table.h"
#include "runnel/backend/gpu.h"
#include "runnel/memory/buffer.h"
#include "runnel/primitives/primitive.h"

namespace runnel::cuda {
namespace {

// The kernel bound to each primitive id; filled when the backend is made,
// read only after.
std::array<BoundKernel, kPrimitiveCount>& kernels() {
  static auto* k = new std::array<BoundKernel, kPrimitiveCount>();
  return *k;
}

std::string uuid_string(const cudaUUID_t& u) {
  const auto* b = reinterpret_cast<const unsigned char*>(u.bytes);
  char buf[64];
  std::snprintf(buf, sizeof(buf),
                "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
                "%02x%02x%02x%02x%02x%02x",
                b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
                b[10], b[11], b[12], b[13], b[14], b[15]);
  return buf;
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

  DeviceInfo device_info(int i) override {
    DeviceState& d = device(i);
    cudaDeviceProp p{};
    check(cudaGetDeviceProperties(&p, i), "cudaGetDeviceProperties", i);
    set_device(i);
    size_t free_b = 0, total_b = 0;
    check(cudaMemGetInfo(&free_b, &total_b), "cudaMemGetInfo", i);
    char bus[32] = {};
    check(cudaDeviceGetPCIBusId(bus, sizeof(bus), i), "cudaDeviceGetPCIBusId",
          i);
    return DeviceInfo{
        {"device_name", std::string(p.name)},
        {"architecture",
         "sm_" + std::to_string(p.major) + std::to_string(p.minor)},
        {"total_memory", static_cast<int64_t>(d.total_memory())},
        {"free_memory", static_cast<int64_t>(free_b)},
        {"compute_capability_major", static_cast<int64_t>(p.major)},
        {"compute_capability_minor", static_cast<int64_t>(p.minor)},
        {"uuid", uuid_string(p.uuid)},
        {"pci_bus_id", std::string(bus)},
        {"multiprocessor_count", static_cast<int64_t>(p.multiProcessorCount)},
    };
  }

  std::pair<int, int> priority_range(int i) override {
    device(i);
    int least = 0, greatest = 0;
    check(cudaDeviceGetStreamPriorityRange(&least, &greatest),
          "cudaDeviceGetStreamPriorityRange", i);
    return {greatest, least};
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

  size_t active_memory(int i) override { return device(i).active(); }
  size_t peak_memory(int i) override { return device(i).peak(); }
  void reset_peak_memory(int i) override { device(i).reset_peak(); }
  size_t cache_memory(int i) override { return device(i).cache(); }
  size_t set_memory_limit(int i, size_t l) override {
    return device(i).set_limit(l);
  }
  size_t memory_limit(int i) override { return device(i).limit(); }
  void clear_cache(int i) override { device(i).trim(); }

  std::shared_ptr<Buffer> to_host(const Buffer& b) override {
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

  void* host_alloc(size_t n) override {
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
  void* record_timing_event() override {
    Launch& l = current_launch();
    cudaEvent_t ev = nullptr;
    check(cudaEventCreate(&ev), "[record] a timing event", l.device);
    check(cudaEventRecord(ev, l.cu), "[record] a timing event", l.device);
    return ev;
  }
  double elapsed_ms(void* start, void* end) override {
    float ms = 0;
    check(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(start),
                               static_cast<cudaEvent_t>(end)),
          "[elapsed_time]", 0);
    return ms;
  }
  void destroy_timing_event(void* e) override {
    if (!exiting() && !forked_child()) {
      cudaEventDestroy(static_cast<cudaEvent_t>(e));
    }
  }
  void host_free(void* p) override {
    // At exit or in a forked child the memory goes with the process.
    if (exiting() || forked_child()) return;
    cudaFreeHost(p);
  }
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
