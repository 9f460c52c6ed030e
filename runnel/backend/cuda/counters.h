// 64-bit counters in pinned host memory that a device's streams write with
// cuStreamWriteValue64: the watcher reads how far a stream got without a
// driver call (timeline.h).
#pragma once

#include <cuda_runtime.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

namespace runnel::cuda {

class PinnedCounters {
 public:
  // `host` for the CPU, `dev` for the GPU. Null where the driver or device
  // has no 64-bit stream memory operations.
  struct Counter {
    std::atomic<uint64_t>* host = nullptr;
    uint64_t dev = 0;
  };
  // Finds the driver's cuStreamWriteValue64, where `device` can use it.
  explicit PinnedCounters(int device);
  Counter alloc();
  // Only once no write to it is pending.
  void free(Counter c);
  // Enqueues on `s` a write of `v` to `c`; false when it failed.
  bool write(cudaStream_t s, const Counter& c, uint64_t v);

 private:
  const int index_;
  std::mutex mu_;  // guards free_, write_value_
  std::vector<Counter> free_;
  std::atomic<void*> write_value_{nullptr};  // cuStreamWriteValue64, if usable
};

}  // namespace runnel::cuda
