// A stream's state behind the public handle: its timeline, its error slot and
// its queue of work. Backends derive from it (CpuStream for CPU strands).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "runnel/core/small_vector.h"
#include "runnel/core/timeline.h"
#include "runnel/device.h"
#include "runnel/scheduler/errors.h"

namespace runnel::detail {

// A unit of work on a stream: it runs once every dependency is reached and
// completes its stream's timeline up to `value`. run() never throws. Work
// that cannot finish yet (an allocation waiting for memory that others will
// free) sets `resume_after` and returns: it stays at the head of its queue,
// the strand parks, and run() is called again once that point is reached.
class Work {
 public:
  virtual ~Work() = default;
  virtual void run() = 0;
  // The names of the ops it ran (up to `max`, into `out`), for messages
  // about failures seen later; returns how many.
  virtual size_t op_names(const char** out, size_t max) const { return 0; }
  // Whether running it puts nothing on a device stream (a wait alone): a
  // GPU stream then records no event for it until one is asked for.
  virtual bool runs_nothing() const { return false; }
  SmallVector<Dep, 2> deps;  // mostly none or one: held inline
  uint64_t value = 0;
  Dep resume_after;
};

class StreamState : public std::enable_shared_from_this<StreamState> {
 public:
  // `timeline`: a device's own kind; null for a plain (CPU) one.
  StreamState(int index, Device device, int priority,
              std::unique_ptr<Timeline> timeline = nullptr);
  virtual ~StreamState();
  StreamState(const StreamState&) = delete;
  StreamState& operator=(const StreamState&) = delete;

  const int index;
  const Device device;
  const int priority;
  ErrorSlot errors;

  // Appends `w` (its deps already set); returns the value assigned to it.
  // Values are assigned under the submission lock, so queue order is value
  // order.
  virtual uint64_t submit(std::unique_ptr<Work> w) = 0;

  // The value of the last work submitted so far.
  uint64_t last_value() const {
    return last_value_.load(std::memory_order_acquire);
  }
  // The point that completes everything submitted so far.
  Dep tail() { return Dep{timeline_ptr(), last_value()}; }
  Timeline& timeline() { return *timeline_; }
  std::shared_ptr<Timeline> timeline_ptr() {
    return std::shared_ptr<Timeline>(shared_from_this(), timeline_.get());
  }
  bool idle() const { return timeline_->reached(last_value()); }
  // The device's own stream handle (a cudaStream_t) once everything submitted
  // so far is enqueued on it; null for a CPU stream.
  virtual void* native_handle() { return nullptr; }

 protected:
  const std::unique_ptr<Timeline> timeline_;
  std::atomic<uint64_t> last_value_{0};
};

// The registry of live streams: one owner, one lock (inside the .cpp).
std::shared_ptr<StreamState> find_stream(int index);
std::vector<std::shared_ptr<StreamState>> streams_of(const Device& d);
// `external`: a device stream handle to enqueue on (GPU only), not owned.
std::shared_ptr<StreamState> make_stream(const Device& d, int priority,
                                         void* external = nullptr);

// Waits for everything submitted to `s` so far, then raises its slot.
void synchronize_state(StreamState& s);

}  // namespace runnel::detail
