// One GPU: CUDA initialised on first use, and its parts (events, memory,
// pinned counters, the launcher and watcher threads); the checks every CUDA
// call goes through (a failed call, a lost device, exit, fork).
#pragma once

#include <cuda_runtime.h>

#include <atomic>
#include <mutex>
#include <string>
#include <utility>

#include "runnel/backend/cuda/allocator.h"
#include "runnel/backend/cuda/counters.h"
#include "runnel/backend/cuda/event.h"
#include "runnel/backend/cuda/workers.h"
#include "runnel/device.h"

namespace runnel::cuda {

// Throws std::runtime_error naming `what` for a failed CUDA call; a sticky
// error (the context is unusable) also marks the device lost.
void check(cudaError_t e, const char* what, int device = -1);
// Raises the lost device's RuntimeError if `device` is lost.
void check_not_lost(int device);
// Whether the process is exiting: no CUDA call from then on.
bool exiting();
// Whether this is a child forked after CUDA was initialised: no CUDA call.
bool forked_child();

// A driver function through the runtime's entry points (librunnel_cuda
// links no libcuda); false where the driver lacks it.
template <class F>
bool driver_entry(const char* name, F& fn, int version = 12040) {
  void* p = nullptr;
  cudaDriverEntryPointQueryResult found{};
  if (cudaGetDriverEntryPointByVersion(name, &p, version, cudaEnableDefault,
                                       &found) != cudaSuccess ||
      found != cudaDriverEntryPointSuccess) {
    cudaGetLastError();
    return false;
  }
  fn = reinterpret_cast<F>(p);
  return true;
}

// One per GPU, never destroyed. Its members are made in this order once
// CUDA is initialised on the device and the kernels are loaded.
class DeviceState {
 public:
  explicit DeviceState(int index);
  const int index;
  EventPool events;
  std::atomic<bool> lost{false};
  std::once_flag lost_once;
  std::string lost_reason;  // written once, before lost is set
  Allocator memory;
  PinnedCounters counters;
  Launcher launcher;
  Watcher watcher;
};

// The device's state, CUDA initialised on first call; throws for a bad index,
// after fork in a process that had initialised CUDA, or for a lost device.
DeviceState& device(int index);
// Makes `index` the calling thread's current CUDA device.
void set_device(int index);

// Backend's device queries.
DeviceInfo device_info(int index);
std::pair<int, int> priority_range(int index);

}  // namespace runnel::cuda
