#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "runnel/backend/cuda/timeline.h"
#include "runnel/scheduler/stream_state.h"

namespace runnel::cuda {

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

}  // namespace runnel::cuda
