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

struct Dep;

// What advances a timeline from the host (a CPU strand of the scheduler);
// the timeline knows it only through this.
class Driver {
 public:
  // Runs on the calling thread what reaching `until` takes, where it can;
  // false when it ran nothing (Timeline::help).
  virtual bool help(uint64_t until) = 0;
  // Runs at `priority` or more urgently until `until` is reached; returns
  // the point it is parked on, to lend the priority on down the chain.
  virtual Dep lend(int priority, uint64_t until) = 0;

 protected:
  ~Driver() = default;
};

class Timeline {
 public:
  using Callback = std::function<void()>;
  Timeline();
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
  // `cb`, when `v` is already reached: the caller goes on itself. The caller
  // keeps the timeline alive for the call (`cb` may run, and drop the work
  // that held it, before on_reached returns).
  bool on_reached(uint64_t v, Callback cb);

  // Blocks the calling thread until `v` is reached: spins briefly, then
  // sleeps on the counter. Device timelines wait on the device.
  virtual void wait(uint64_t v) const;

  // A thread about to wait for `v` first runs, on itself, what `v` waits
  // for where it can: the queued CPU strand that reaches it, or the CPU work
  // that a GPU stream's queued launch waits for. The wait then costs no
  // worker wake-up and no wake-up of the waiter. False when it ran nothing.
  virtual bool help(uint64_t v);

  // Whether it is a device's timeline: one that advances as the device
  // finishes work, with no CPU strand or host event needed.
  virtual bool on_device() const { return false; }

  // Whether callbacks wait for values not reached yet.
  bool has_waiters() const { return has_waiters_.load(); }

  // The owner of the timeline (a stream) assigns value `v` to new work:
  // called in value order, under the owner's submission lock.
  void note_submitted(uint64_t v);
  // Whether the work that reaching `v` takes was lost to a fork: this is a
  // forked child and a value up to `v` was submitted before the fork and is
  // not reached. Nothing would ever advance it: waits on it raise instead of
  // hanging. Work submitted in the child is never lost (a stream idle at the
  // fork goes on in the child).
  bool lost_to_fork(uint64_t v) const;
  // Raises "[fork] ..." when lost_to_fork(v), naming `what`.
  void check_not_lost_to_fork(uint64_t v, const char* what) const;

  // The CPU strand that advances this timeline, if any: strands waiting on it
  // lend it their priority.
  Driver* driver = nullptr;

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
  // Submissions, by note_submitted: the last value, the fork generation it
  // was submitted in, and the last value submitted in an earlier generation.
  std::atomic<uint64_t> submitted_{0};
  std::atomic<uint64_t> submitted_generation_;
  std::atomic<uint64_t> submitted_before_fork_{0};
  std::atomic<uint64_t> completed_{0};
  std::atomic<bool> has_waiters_{false};
  mutable std::atomic<int> sleepers_{0};
  std::mutex mu_;                // guards waiters_
  std::vector<Waiter> waiters_;  // a min-heap on value
};

// How many times the process has forked into this one (0 in the first
// process); note_fork() is called in the child.
uint64_t fork_generation();
void note_fork();

// A point on a timeline. An empty dependency is always reached.
struct Dep {
  std::shared_ptr<Timeline> timeline;
  uint64_t value = 0;
  bool reached() const { return !timeline || timeline->reached(value); }
  // Whether the timeline has published reaching it, without asking a
  // device (a driver call per pending event): for hot paths where a point
  // taken as unreached only costs a wait that passes at once.
  bool seen_reached() const {
    return !timeline || timeline->completed() >= value;
  }
};

}  // namespace runnel::detail
