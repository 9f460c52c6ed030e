// Events: points in a stream's work, usable across streams and devices.
#pragma once

#include <memory>

#include "runnel/stream.h"

namespace runnel {

class Event {
 public:
  // With timing enabled, elapsed_time() measures between two records.
  explicit Event(bool enable_timing = false);

  // Marks the end of the work submitted to the stream so far.
  void record(StreamOrDevice s = {});
  // The stream waits (on its device; the host does not block) until the
  // recorded point is reached. A no-op before any record.
  void wait(StreamOrDevice s = {}) const;
  // The host waits until the recorded point is reached.
  void synchronize() const;
  // Whether the recorded point is reached (true before any record).
  bool query() const;
  // Milliseconds from this event's point to `end`'s; both timed and recorded.
  double elapsed_time(const Event& end) const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace runnel
