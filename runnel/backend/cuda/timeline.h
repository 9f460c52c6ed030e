// The timeline of a GPU stream: its launched and completed values, seen
// through events and the stream's pinned counter.
#pragma once

#include <cuda_runtime.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "runnel/backend/cuda/counters.h"
#include "runnel/backend/cuda/event.h"
#include "runnel/core/timeline.h"

namespace runnel::cuda {

using detail::Dep;
using detail::Timeline;

class GpuStream;

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
  void set_counter(PinnedCounters::Counter c) { counter_ = c; }
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
  PinnedCounters::Counter counter_;  // set before stream_
  std::mutex write_mu_;              // orders the counter's writes; a leaf lock
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

}  // namespace runnel::cuda
