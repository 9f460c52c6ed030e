// The one cross-stream synchronisation primitive: a monotonically increasing
// counter of finished work. An event is (timeline, value); waiting means
// "until completed() >= value".
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace runnel::detail {

class CpuStream;

class Timeline {
 public:
  using Callback = std::function<void()>;
  Timeline() = default;
  virtual ~Timeline() = default;
  Timeline(const Timeline&) = delete;
  Timeline& operator=(const Timeline&) = delete;

  // The progress published so far.
  uint64_t completed() const {
    return completed_.load(std::memory_order_acquire);
  }
  // Whether `v` is reached; a device timeline may look at its device.
  bool reached(uint64_t v) const { return completed() >= v || refresh(v); }

  // Publishes progress to `v` (values only grow) and runs the callbacks of
  // the values now reached, on the calling thread.
  void advance(uint64_t v);

  // Runs `cb` once the timeline reaches `v`. Returns false, without keeping
  // `cb`, when `v` is already reached: the caller goes on itself.
  bool on_reached(uint64_t v, Callback cb);

  // Blocks the calling thread until `v` is reached: spins briefly, then
  // sleeps on the counter. Device timelines wait on the device.
  virtual void wait(uint64_t v) const;

  // Whether callbacks wait for values not reached yet.
  bool has_waiters() const { return has_waiters_.load(); }

  // The CPU strand that advances this timeline, if any: strands waiting on it
  // lend it their priority.
  CpuStream* strand = nullptr;

 protected:
  // Device timelines: learn from the device whether `v` is done (and
  // advance); the CPU's counters are always current.
  virtual bool refresh(uint64_t v) const { return false; }
  // Device timelines: a callback now waits for `v` (start watching).
  virtual void watch(uint64_t v) {}

 private:
  struct Waiter {
    uint64_t value;
    Callback cb;
  };
  std::atomic<uint64_t> completed_{0};
  std::atomic<bool> has_waiters_{false};
  mutable std::atomic<int> sleepers_{0};
  std::mutex mu_;                // guards waiters_
  std::vector<Waiter> waiters_;  // a min-heap on value
};

// A point on a timeline. An empty dependency is always reached.
struct Dep {
  std::shared_ptr<Timeline> timeline;
  uint64_t value = 0;
  bool reached() const { return !timeline || timeline->reached(value); }
};

}  // namespace runnel::detail
