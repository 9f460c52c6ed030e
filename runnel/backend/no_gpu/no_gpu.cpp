// The GPU backend when there is none (no CUDA backend library, no driver or
// no GPU): no devices, and every GPU request says why.
#include "runnel/backend/no_gpu/no_gpu.h"

#include <stdexcept>
#include <string>

#include "runnel/primitives/primitive.h"

namespace runnel::detail::gpu {
namespace {

class NoGpu final : public Backend {
 public:
  explicit NoGpu(std::string why) : why_(std::move(why)) {}
  int device_count() override { return 0; }
  DeviceInfo device_info(int i) override { fail(i); }
  std::pair<int, int> priority_range(int i) override { fail(i); }
  std::shared_ptr<StreamState> make_stream(int i, int, int, void*) override {
    fail(i);
  }
  void eval(PrimitiveId, Primitive& p, const std::vector<array>&,
            std::vector<array>&) override {
    throw std::invalid_argument(std::string("[") + p.name() +
                                "] No GPU: " + why_);
  }
  bool has_kernel(PrimitiveId) override { return false; }
  std::string stand_in_reason() override { return why_; }
  size_t active_memory(int i) override { fail(i); }
  size_t peak_memory(int i) override { fail(i); }
  void reset_peak_memory(int i) override { fail(i); }
  size_t cache_memory(int i) override { fail(i); }
  size_t set_memory_limit(int i, size_t) override { fail(i); }
  size_t memory_limit(int i) override { fail(i); }
  void clear_cache(int i) override { fail(i); }
  std::shared_ptr<Buffer> to_host(const Buffer&) override { fail(0); }
  void* host_alloc(size_t) override { return nullptr; }
  void host_free(void*) override {}
  void* record_timing_event() override { fail(0); }
  double elapsed_ms(void*, void*) override { fail(0); }
  void destroy_timing_event(void*) override {}

 private:
  [[noreturn]] void fail(int i) const {
    throw std::invalid_argument("[gpu] " +
                                to_string(Device(DeviceType::gpu, i)) +
                                " is not available: " + why_);
  }
  std::string why_;
};

}  // namespace

Backend* no_gpu_backend(const std::string& why) {
  return new NoGpu(why);  // one per process, never destroyed
}

}  // namespace runnel::detail::gpu
