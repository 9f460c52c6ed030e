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
#include <unordered_map>
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
class GpuStream;

// One per GPU: CUDA initialised on first use, its events, its memory and the
// watcher that advances timelines that CPU strands wait on.
class DeviceState {
 public:
  explicit DeviceState(int index);
  const int index;
  EventPool events;
  cudaStream_t utility =
      nullptr;  // frees and copies with no stream of their own

  // Memory: stream-ordered pool with runnel's accounting, and in front of
  // it a cache of freed blocks per stream (below).
  std::shared_ptr<Buffer> allocate(size_t n, cudaStream_t s);
  // Gives `s`'s cached blocks back to the pool, in `s`'s order: before `s`
  // is destroyed (or let go, for an external stream).
  void release_cache(cudaStream_t s);
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
  // The launcher thread launches what is left of `s`'s host queue: a
  // thread that made its head launchable launches a few works only.
  void launch_later(std::shared_ptr<GpuStream> s);

  // A 64-bit counter in pinned host memory that this device's streams write
  // with cuStreamWriteValue64: `host` for the CPU, `dev` for the GPU. Null
  // where the driver or device has no 64-bit stream memory operations.
  struct Counter {
    std::atomic<uint64_t>* host = nullptr;
    uint64_t dev = 0;
  };
  Counter counter_alloc();
  // Only once no write to it is pending.
  void counter_free(Counter c);
  // Enqueues on `s` a write of `v` to `c`; false when it failed.
  bool write_counter(cudaStream_t s, const Counter& c, uint64_t v);

  std::atomic<bool> lost{false};
  std::once_flag lost_once;
  std::string lost_reason;  // written once, before lost is set

 private:
  void free(const Buffer& b, size_t capacity);
  void watcher_loop();
  void launcher_loop();
  void* take_cached(size_t capacity, cudaStream_t s);

  cudaMemPool_t pool_ = nullptr;
  size_t total_ = 0;
  std::atomic<size_t> active_{0}, peak_{0}, limit_{0};

  // Freed blocks by the stream that may still use them (null: by none) and
  // capacity. A block whose every pending use is on one stream is reused by
  // that stream's later work at once, which runs after those uses (stream
  // order): no driver call per allocation or free.
  std::mutex cache_mu_;
  std::unordered_map<cudaStream_t,
                     std::unordered_map<size_t, std::vector<void*>>>
      cached_;
  size_t cached_bytes_ = 0;

  std::mutex counters_mu_;  // guards free_counters_, write_value_
  std::vector<Counter> free_counters_;
  std::atomic<void*> write_value_{nullptr};  // cuStreamWriteValue64, if usable

  std::mutex launch_mu_;  // guards to_launch_, launcher_started_
  std::condition_variable launch_cv_;
  std::deque<std::shared_ptr<GpuStream>> to_launch_;
  bool launcher_started_ = false;

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
  ~GpuTimeline() override;
  // The owner's handle to this timeline, so the watcher can hold it.
  void set_self(std::weak_ptr<Timeline> self) { self_ = std::move(self); }
  int device() const { return device_; }
  cudaStream_t stream() const {
    return stream_.load(std::memory_order_acquire);
  }
  void set_stream(cudaStream_t s) {
    stream_.store(s, std::memory_order_release);
  }

  uint64_t launched() const { return launched_.load(); }
  // From the stream's creation on: the pinned counter its writes go to.
  void set_counter(DeviceState::Counter c) { counter_ = c; }
  // Has the GPU write `v` (launched) to the pinned counter once it gets
  // there, unless a write of `v` or later is enqueued already. Writes are
  // enqueued in increasing order, so the counter only grows.
  void signal(uint64_t v);
  // What ran in a launched value, for the message of a fault seen later.
  struct Ran {
    static constexpr size_t kMax = 4;
    const char* ops[kMax] = {};
    size_t n = 0;
  };
  // Records that `v` was launched with `ev` marking its end; returns the
  // callbacks of those waiting for that launch, to run without locks held.
  std::vector<Callback> on_launch(uint64_t v, EventPtr ev, const Ran& ran);
  // The event marking `v`'s end, or null once `v` is known complete.
  EventPtr event_for(uint64_t v) const;
  // Runs `cb` once `v` is launched; false (cb dropped) when already so.
  bool on_launched(uint64_t v, Callback cb);

  void wait(uint64_t v) const override;
  bool on_device() const override { return true; }
  // Runs on the calling thread the CPU work that the launch of `v` waits
  // for, when it is a queued strand (Timeline::help).
  bool help(uint64_t v) override;
  // Advances to the latest completed value; true if it moved.
  bool poll();
  // Advances to what the pinned counter says, without a driver call; true
  // if it moved.
  bool read_counter();
  // counter_ is set before stream_ is published (acquire here).
  bool has_counter() const {
    return stream() != nullptr && counter_.host != nullptr;
  }

  // The stream whose work this timeline counts; it owns the timeline.
  GpuStream* owner = nullptr;

 protected:
  bool refresh(uint64_t v) const override;
  void watch(uint64_t v) override;

 private:
  const int device_;
  std::weak_ptr<Timeline> self_;
  std::atomic<cudaStream_t> stream_{nullptr};
  DeviceState::Counter counter_;  // set before stream_
  std::mutex write_mu_;           // orders the counter's writes; a leaf lock
  uint64_t written_ = 0;
  std::atomic<uint64_t> launched_{0};
  mutable std::mutex mu_;  // guards events_, launch_waiters_
  struct Launched {
    uint64_t value;
    EventPtr ev;
    Ran ran;
  };
  mutable std::deque<Launched> events_;
  // "the work [ops] on Stream(gpu, d, i)", naming the works in events_ (mu_
  // held), for fault messages.
  std::string describe_pending() const;
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
  // Launches the host queue's head while it can, at most `limit` works; the
  // rest goes to the device's launcher thread.
  void pump(size_t limit);
  // Works a thread launches itself when it makes a queue launchable.
  static constexpr size_t kInlineLaunches = 4;
  GpuTimeline& gpu_timeline() { return static_cast<GpuTimeline&>(*timeline_); }
  // What the head of the host queue waits for; empty when nothing is queued
  // or it is launchable.
  Dep blocker();
  // Orders this CUDA stream after point `d` of a launched GPU stream (an
  // event wait), unless an earlier wait covers it. During a launch (mu_).
  void wait_on(const Dep& d);

 private:
  bool launchable(const detail::Work& w, Dep* blocker);
  void launch(detail::Work& w, std::vector<Timeline::Callback>& fire);
  // Launches the queue's head while it can, up to `limit` works; arms a
  // callback on what blocks it otherwise. True when it stopped at the limit
  // with launchable work left. mu_ held.
  bool pump_locked(std::vector<Timeline::Callback>& fire,
                   size_t limit = SIZE_MAX);
  // Pumps once `blocker` is satisfied; false when it already is.
  bool arm(const Dep& blocker);
  cudaStream_t cu();

  const int device_;
  cudaStream_t cu_ = nullptr;
  bool owned_ = true;  // false for an external stream
  std::mutex mu_;      // guards queue_ and launches: launch order = value order
  std::deque<std::unique_ptr<detail::Work>> queue_;
  // The latest point of each other GPU stream that this CUDA stream has
  // waited for (mu_): later work is behind that wait in stream order, so a
  // dependency at or before it needs no wait of its own. Weak: streams
  // that wait on each other must not keep each other alive.
  struct Waited {
    const Timeline* timeline;
    std::weak_ptr<Timeline> alive;  // an expired entry's address may be reused
    uint64_t value;
  };
  std::vector<Waited> waited_;
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
  // Copies of inputs made here, added to their arrays once the work is
  // launched (a reader on another stream then finds this launch's event).
  // The node is held: the work may drop its last handle while it runs.
  std::vector<
      std::pair<std::shared_ptr<detail::ArrayNode>, std::shared_ptr<Buffer>>>
      made;
};
Launch& current_launch();

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
