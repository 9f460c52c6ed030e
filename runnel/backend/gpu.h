// What the core asks of a GPU backend. The CUDA backend is its own library
// (librunnel_cuda.so), opened on first GPU use (gpu_loader.cpp), so that
// librunnel links no CUDA library; backend/no_gpu answers when that library,
// a driver or a GPU is missing.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runnel/device.h"
#include "runnel/primitives/list.h"

namespace runnel {
class Primitive;
class array;
}  // namespace runnel

namespace runnel::detail {
class StreamState;
class Buffer;
}  // namespace runnel::detail

namespace runnel::detail::gpu {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual int device_count() = 0;
  virtual DeviceInfo device_info(int index) = 0;
  virtual std::pair<int, int> priority_range(int index) = 0;
  // `external`: a CUDA stream made elsewhere to enqueue on (not owned).
  virtual std::shared_ptr<StreamState> make_stream(int index, int stream_index,
                                                   int priority,
                                                   void* external) = 0;
  // Runs the kernel bound to primitive `id` (runnel/primitives/list.h), of
  // which `p` is an instance (PrimitiveOf::eval_gpu), for the stream whose
  // work is being launched on this thread. std::invalid_argument "[name] has
  // no GPU kernel yet." when none is bound.
  virtual void eval(PrimitiveId id, Primitive& p,
                    const std::vector<array>& inputs,
                    std::vector<array>& outputs) = 0;
  // Whether a kernel is bound to primitive `id`.
  virtual bool has_kernel(PrimitiveId id) = 0;
  // Empty for the CUDA backend library, whether or not it finds a driver and
  // a GPU; for backend/no_gpu, which stands in for it, what was missing.
  virtual std::string stand_in_reason() = 0;
  // Memory figures of runnel/memory.h for GPU `index`.
  virtual size_t active_memory(int index) = 0;
  virtual size_t peak_memory(int index) = 0;
  virtual void reset_peak_memory(int index) = 0;
  virtual size_t cache_memory(int index) = 0;
  virtual size_t set_memory_limit(int index, size_t limit) = 0;
  virtual size_t memory_limit(int index) = 0;
  virtual void clear_cache(int index) = 0;
  // A host copy of a finished GPU buffer.
  virtual std::shared_ptr<Buffer> to_host(const Buffer& b) = 0;
  // Page-locked host memory, which copies to and from every GPU use at full
  // speed and without staging; nullptr when it cannot be had (the CPU
  // allocator then uses ordinary memory). host_free takes what host_alloc
  // gave.
  virtual void* host_alloc(size_t n) = 0;
  virtual void host_free(void* p) = 0;
  // Timing events: one recorded in the stream's work being launched on this
  // thread (timed by the GPU's clock), the milliseconds between two that are
  // complete, and their release.
  virtual void* record_timing_event() = 0;
  virtual double elapsed_ms(void* start, void* end) = 0;
  virtual void destroy_timing_event(void* e) = 0;
};

// Never throws; 0 without a backend, driver or GPU. Before the backend is
// opened it asks NVML (through dlopen), counting only the GPUs that
// CUDA_VISIBLE_DEVICES leaves visible.
int device_count();
// The backend, opened on first use: the CUDA backend library, or
// backend/no_gpu standing in for it (which raises std::invalid_argument
// naming `fn` for every GPU request).
Backend& backend(const char* fn);
// Where the CUDA backend library is looked for: RUNNEL_CUDA_BACKEND, else
// librunnel_cuda.so beside librunnel.
std::string backend_path();

DeviceInfo device_info(int index);
std::pair<int, int> priority_range(int index);
std::shared_ptr<StreamState> make_stream(int index, int stream_index,
                                         int priority, void* external);

// From the first GPU stream on, the CPU allocator takes new memory from
// `b`'s host_alloc (allocator.cpp).
void use_pinned_host_memory(Backend* b);

}  // namespace runnel::detail::gpu

// The CUDA backend library exports this (C linkage, no mangling): the
// backend object, created on first call and never destroyed.
extern "C" runnel::detail::gpu::Backend* runnel_cuda_backend();
