// A GPU's memory: CUDA's stream-ordered pool with runnel's accounting
// (active, peak, a limit), and in front of it a cache of freed blocks per
// stream.
#pragma once

#include <cuda_runtime.h>

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "runnel/memory/buffer.h"

namespace runnel::cuda {

using detail::Buffer;

class Allocator {
 public:
  // Sets up the pool of `device` (the current device) and the utility stream
  // that frees with no stream of their own go to. `lost`: the device's lost
  // flag (no CUDA call for a lost device).
  Allocator(int device, const std::atomic<bool>& lost);

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

 private:
  void free(const Buffer& b, size_t capacity);
  void* take_cached(size_t capacity, cudaStream_t s);

  const int index_;
  const std::atomic<bool>& lost_;
  cudaMemPool_t pool_ = nullptr;
  cudaStream_t utility_ = nullptr;
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
};

}  // namespace runnel::cuda
