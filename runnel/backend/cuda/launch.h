// The launch context: what a kernel launches on while a GPU stream runs a
// work's launch, and the device pointers kernels read and write.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "runnel/array.h"
#include "runnel/core/timeline.h"
#include "runnel/memory/buffer.h"

namespace runnel::cuda {

using detail::Buffer;
using detail::Dep;

class GpuStream;

// What a kernel launches on: set while a GPU stream runs a work's launch.
struct Launch {
  GpuStream* stream;
  cudaStream_t cu;
  int device;
  uint64_t value;
  Dep use;  // (stream, value): recorded on every buffer the work touches
  // Scratch the work's kernels read: freed (in stream order) only after the
  // whole work is launched, so no later allocation of the work reuses it.
  std::vector<std::shared_ptr<Buffer>> keep;
  // Copies of inputs made here, added to their arrays once the work is
  // launched (a reader on another stream then finds this launch's event).
  // The node is held: the work may drop its last handle while it runs.
  std::vector<
      std::pair<std::shared_ptr<detail::ArrayNode>, std::shared_ptr<Buffer>>>
      made;
};
// The launch running on this thread; std::logic_error outside one.
Launch& current_launch();
// Set by GpuStream::launch around a work's kernels.
void set_current_launch(Launch* l);

// Device pointers for kernels on the current launch: an input's data on this
// device (copied here once, cached on the array), or a fresh output buffer.
// Both record the launch as a use of the buffer.
const void* input_ptr(const array& a);
// The buffer behind input_ptr (the array's own, or its copy on this device).
std::shared_ptr<Buffer> input_buffer(const array& a);
void* output_ptr(array& a);
// Copies the one element of `a` into `out` (its dtype's size) when `a` has
// one element and its data is in host memory; false otherwise. Kernels pass
// such a scalar by value instead of copying it to the device.
bool host_scalar(const array& a, void* out);
template <class T>
const T* in(const array& a) {
  return static_cast<const T*>(input_ptr(a));
}
template <class T>
T* out(array& a) {
  return static_cast<T*>(output_ptr(a));
}

// Checks the last launch; in RUNNEL_LAUNCH_BLOCKING=1 mode also waits for it.
void after_launch(const char* op);

}  // namespace runnel::cuda
