// Buffers: blocks of device memory, returned to their allocator when the last
// reference goes. Queued work holds references to the buffers it reads and
// writes, so a buffer is never freed while such work is still queued. On the
// CPU that is all it takes: work that has run is done with its buffers. A
// GPU buffer also keeps its uses as (stream, value) points, recorded when
// work is launched, because launched work still runs after the host has let
// go: the backend frees it only behind them.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "runnel/core/timeline.h"
#include "runnel/device.h"

namespace runnel::detail {

class Buffer {
 public:
  // Gives the memory back; called with the buffer (its uses) in ~Buffer.
  using Release = std::function<void(const Buffer&)>;
  Buffer(void* ptr, size_t size, Device device, Release release = {});
  ~Buffer();
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  void* ptr() const { return ptr_; }
  size_t size() const { return size_; }
  Device device() const { return device_; }
  // Whether the CPU allocator owns the memory (not a device backend, not a
  // foreign buffer): only such memory may be donated to an op's output.
  bool cpu_owned() const {
    return !release_ && device_.type == DeviceType::cpu;
  }

  // A point after which launched work no longer reads or writes the buffer
  // (one per timeline: the latest).
  void add_use(Dep d);
  // A use that is reached only after `producer` is (its work waited for
  // `producer`, or runs on its stream after it): when every use so far is
  // `producer`'s or earlier on its timeline, `d` replaces them, so that a
  // free sees one stream's use where two would need waits on both.
  void add_use_after(const Dep& producer, Dep d);
  std::vector<Dep> uses() const;
  // Whether any use was ever added (uses are never removed): a check
  // without the lock or a copy, for the kernels' donation test.
  bool has_uses() const { return has_uses_.load(std::memory_order_acquire); }

 private:
  void add_use_locked(Dep d);  // uses_mu_ held

  void* ptr_;
  size_t size_;
  Device device_;
  Release release_;  // empty: the CPU allocator owns the memory
  mutable std::mutex uses_mu_;
  std::vector<Dep> uses_;
  std::atomic<bool> has_uses_{false};
};

// Runs `fn` once every point in `uses` is reached: at once when all are,
// otherwise from the callback of the last one reached, on whichever thread
// reaches it (a pool worker, a GPU watcher): `fn` must be safe on any thread
// and must not throw. How a Release frees memory that launched work may
// still read.
void after_uses(std::vector<Dep> uses, std::function<void()> fn);

}  // namespace runnel::detail
