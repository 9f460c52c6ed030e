// Internals of the CUDA backend (librunnel_cuda.so): per-device state, GPU
// streams and their timelines, memory, and the launch context kernels use.
#pragma once

#include <cuda_runtime.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "runnel/array.h"
#include "runnel/memory/buffer.h"
#include "runnel/scheduler/stream_state.h"

namespace runnel::cuda {

using detail::Buffer;
using detail::Dep;
using detail::Timeline;

// Throws std::runtime_error naming `what` for a failed CUDA call; a sticky
// error (the context is unusable) also marks the device lost.
void check(cudaError_t e, const char* what, int device = -1);
// Raises the lost device's RuntimeError if `device` is lost.
void check_not_lost(int device);
// Whether the process is exiting: no CUDA call from then on.
bool exiting();
// Whether this is a child forked after CUDA was initialised: no CUDA call.
bool forked_child();

// A CUDA event, returned to its device's pool when the last holder drops it.
class EventPool;
struct Event {
  cudaEvent_t ev = nullptr;
  EventPool* pool = nullptr;
  ~Event();
};
using EventPtr = std::shared_ptr<Event>;

class EventPool {
 public:
  explicit EventPool(int device) : device_(device) {}
  EventPtr get();
  void put(cudaEvent_t ev);

 private:
  int device_;
  std::mutex mu_;
  std::vector<cudaEvent_t> free_;
};

class GpuTimeline;

// One per GPU: CUDA initialised on first use, its events, its memory and the
// watcher that advances timelines that CPU strands wait on.
class DeviceState {
 public:
  explicit DeviceState(int index);
  const int index;
  EventPool events;
  cudaStream_t utility =
      nullptr;  // frees and copies with no stream of their own

  // Memory: stream-ordered pool with runnel's accounting.
  std::shared_ptr<Buffer> allocate(size_t n, cudaStream_t s);
  size_t active() const { return active_.load(); }
  size_t peak() const { return peak_.load(); }
  void reset_peak() { peak_.store(active_.load()); }
  size_t cache();
  size_t set_limit(size_t l) { return limit_.exchange(l); }
  size_t limit() const { return limit_.load(); }
  void trim();
  size_t total_memory() const { return total_; }

  // The watcher polls timelines that have CPU waiters.
  void watch(std::shared_ptr<GpuTimeline> t);

  std::atomic<bool> lost{false};
  std::string lost_reason;

 private:
  void free(const Buffer& b);
  void watcher_loop();

  cudaMemPool_t pool_ = nullptr;
  size_t total_ = 0;
  std::atomic<size_t> active_{0}, peak_{0}, limit_{0};

  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  std::vector<std::shared_ptr<GpuTimeline>> watched_;
  bool watcher_started_ = false;
};

// The device's state, CUDA initialised on first call; throws for a bad index,
// after fork in a process that had initialised CUDA, or for a lost device.
DeviceState& device(int index);
// Makes `index` the calling thread's current CUDA device.
void set_device(int index);

// A GPU stream's timeline: values launched (work and its event record
// enqueued on the CUDA stream) and values completed (seen done on the host).
class GpuTimeline final : public Timeline {
 public:
  explicit GpuTimeline(int device) : device_(device) {}
  // The owner's handle to this timeline, so the watcher can hold it.
  void set_self(std::weak_ptr<Timeline> self) { self_ = std::move(self); }
  int device() const { return device_; }
  cudaStream_t stream() const { return stream_; }
  void set_stream(cudaStream_t s) { stream_ = s; }

  uint64_t launched() const {
    return launched_.load(std::memory_order_acquire);
  }
  // Records that `v` was launched with `ev` marking its end; returns the
  // callbacks of those waiting for that launch, to run without locks held.
  std::vector<Callback> on_launch(uint64_t v, EventPtr ev);
  // The event marking `v`'s end, or null once `v` is known complete.
  EventPtr event_for(uint64_t v) const;
  // Runs `cb` once `v` is launched; false (cb dropped) when already so.
  bool on_launched(uint64_t v, Callback cb);

  void wait(uint64_t v) const override;
  // Advances to the latest completed value; true if it moved.
  bool poll();

 protected:
  bool refresh(uint64_t v) const override;
  void watch(uint64_t v) override;

 private:
  const int device_;
  std::weak_ptr<Timeline> self_;
  cudaStream_t stream_ = nullptr;
  std::atomic<uint64_t> launched_{0};
  mutable std::mutex mu_;  // guards events_, launch_waiters_
  mutable std::deque<std::pair<uint64_t, EventPtr>> events_;
  std::vector<std::pair<uint64_t, Callback>> launch_waiters_;
};

// A GPU stream: a non-blocking CUDA stream (made on first launch) with a
// host-side queue. Work is launched by the submitting thread when nothing
// queued is ahead of it and everything it waits for is launched on a GPU or
// reached on the CPU; otherwise it waits in the queue and whoever makes its
// head launchable launches it, in order.
class GpuStream final : public detail::StreamState {
 public:
  // `external`: a CUDA stream made elsewhere, used as is and never destroyed.
  GpuStream(int index, int device, int priority, cudaStream_t external);
  ~GpuStream() override;
  uint64_t submit(std::unique_ptr<detail::Work> w) override;
  void* native_handle() override;
  GpuTimeline& gpu_timeline() { return static_cast<GpuTimeline&>(*timeline_); }

 private:
  bool launchable(const detail::Work& w, Dep* blocker);
  void launch(detail::Work& w, std::vector<Timeline::Callback>& fire);
  void pump();
  // Launches the queue's head while it can; arms a callback on what blocks
  // it otherwise. mu_ held.
  void pump_locked(std::vector<Timeline::Callback>& fire);
  // Pumps once `blocker` is satisfied; false when it already is.
  bool arm(const Dep& blocker);
  cudaStream_t cu();

  const int device_;
  cudaStream_t cu_ = nullptr;
  bool owned_ = true;  // false for an external stream
  bool self_set_ = false;
  std::mutex mu_;  // guards queue_ and launches: launch order = value order
  std::deque<std::unique_ptr<detail::Work>> queue_;
};

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
};
Launch& current_launch();

// Device pointers for kernels on the current launch: an input's data on this
// device (copied here once, cached on the array), or a fresh output buffer.
// Both record the launch as a use of the buffer.
const void* input_ptr(const array& a);
void* output_ptr(array& a);
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

// Kernel families register themselves by primitive name.
using Kernel = void (*)(Primitive& p, const std::vector<array>& inputs,
                        std::vector<array>& outputs);
void register_kernel(const char* name, Kernel k);
// Each kernel file also names one of its kernels, so that a device loads
// every kernel of that file when it starts: CUDA's lazy loading would load a
// kernel at its first launch, and that load waits until the whole device is
// idle (a launch behind a long kernel on another stream would block the
// host).
void register_module(const void* any_kernel);
const std::vector<const void*>& registered_modules();
void register_creation_kernels();
void register_elementwise_kernels();
void register_reduce_kernels();
void register_testing_kernels();
void register_copy_kernels();

}  // namespace runnel::cuda
