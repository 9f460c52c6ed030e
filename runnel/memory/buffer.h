// Buffers: blocks of device memory, returned to their allocator when the last
// reference goes. On the CPU the references held by queued work are the
// buffer's uses: a buffer is never freed while work that reads or writes it
// is still queued.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

#include "runnel/device.h"
#include "runnel/scheduler/timeline.h"

namespace runnel::detail {

class Buffer {
 public:
  using Release = std::function<void(void*)>;
  Buffer(void* ptr, size_t size, Device device, Release release = {});
  ~Buffer();
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  void* ptr() const { return ptr_; }
  size_t size() const { return size_; }
  Device device() const { return device_; }

 private:
  void* ptr_;
  size_t size_;
  Device device_;
  Release release_;  // empty: runnel's allocator owns the memory
};

// Thrown by allocate() on a pool worker when the limit is reached while other
// work is in flight: the op is retried once `retry_after` is reached (the
// next free), see Work::resume_after.
struct MemoryWait {
  Dep retry_after;
};

// Memory from runnel's accounting: out_of_memory, naming the size asked for
// and what is free, when it would pass the device's limit.
std::shared_ptr<Buffer> allocate(size_t nbytes, const Device& d);

// Memory someone else owns, released through `release` (counted as active).
std::shared_ptr<Buffer> wrap_external(void* ptr, size_t nbytes, const Device& d,
                                      Buffer::Release release);

}  // namespace runnel::detail
