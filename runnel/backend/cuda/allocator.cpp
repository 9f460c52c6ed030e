#include "runnel/backend/cuda/allocator.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <string>

#include "runnel/backend/cuda/device.h"
#include "runnel/backend/cuda/event.h"
#include "runnel/backend/cuda/timeline.h"
#include "runnel/errors.h"
#include "runnel/utils.h"

namespace runnel::cuda {

Allocator::Allocator(int i, const std::atomic<bool>& lost)
    : index_(i), lost_(lost) {
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, i), "cudaGetDeviceProperties", i);
  total_ = prop.totalGlobalMem;
  limit_.store(total_);
  check(cudaDeviceGetDefaultMemPool(&pool_, i), "cudaDeviceGetDefaultMemPool",
        i);
  // Keep freed memory in the pool up to the limit, and never let the pool
  // add hidden waits between unrelated streams to reuse memory.
  uint64_t threshold = UINT64_MAX;
  check(cudaMemPoolSetAttribute(pool_, cudaMemPoolAttrReleaseThreshold,
                                &threshold),
        "cudaMemPoolSetAttribute", i);
  int no = 0;
  check(cudaMemPoolSetAttribute(pool_,
                                cudaMemPoolReuseAllowInternalDependencies, &no),
        "cudaMemPoolSetAttribute", i);
  check(cudaStreamCreateWithFlags(&utility_, cudaStreamNonBlocking),
        "cudaStreamCreate", i);
}

namespace {
// Capacities are rounded so that freed blocks fit later requests of about
// the same size: to 512 bytes up to 1 MiB, to an eighth of the power of two
// below beyond that (at most 12.5% more).
size_t capacity_for(size_t n) {
  n = std::max<size_t>(n, 1);
  if (n <= (size_t{1} << 20)) return (n + 511) & ~size_t{511};
  const size_t step = std::bit_floor(n) / 8;
  return (n + step - 1) / step * step;
}
}  // namespace

void* Allocator::take_cached(size_t capacity, cudaStream_t s) {
  std::lock_guard lock(cache_mu_);
  if (cached_bytes_ == 0) return nullptr;
  // The stream's own blocks first, then those no work uses any more.
  for (cudaStream_t from : {s, cudaStream_t{nullptr}}) {
    auto it = cached_.find(from);
    if (it == cached_.end()) continue;
    auto blocks = it->second.find(capacity);
    if (blocks == it->second.end() || blocks->second.empty()) continue;
    void* p = blocks->second.back();
    blocks->second.pop_back();
    cached_bytes_ -= capacity;
    return p;
  }
  return nullptr;
}

void Allocator::release_cache(cudaStream_t s) {
  std::vector<std::pair<void*, size_t>> give;
  {
    std::lock_guard lock(cache_mu_);
    auto it = cached_.find(s);
    if (it == cached_.end()) return;
    for (auto& [cap, blocks] : it->second) {
      for (void* p : blocks) give.emplace_back(p, cap);
    }
    cached_.erase(it);
    for (auto& g : give) cached_bytes_ -= g.second;
  }
  if (exiting() || lost_.load()) return;
  set_device(index_);
  for (auto& g : give) cudaFreeAsync(g.first, s ? s : utility_);
}

std::shared_ptr<Buffer> Allocator::allocate(size_t n, cudaStream_t s) {
  const size_t size = capacity_for(n);
  size_t limit = limit_.load();
  if (active_.load() + size > limit) {
    trim();
    if (active_.load() + size > limit) {
      size_t a = active_.load();
      throw out_of_memory(
          "[malloc] Out of memory on Device(gpu, " + std::to_string(index_) +
          "): " + detail::human_bytes(n) + " asked for, " +
          detail::human_bytes(limit > a ? limit - a : 0) + " free of a " +
          detail::human_bytes(limit) + " limit.");
    }
  }
  void* p = take_cached(size, s);
  if (!p) {
    cudaError_t e = cudaMallocAsync(&p, size, s);
    if (e == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      trim();
      e = cudaMallocAsync(&p, size, s);
      if (e == cudaErrorMemoryAllocation) {
        cudaGetLastError();
        size_t free_b = 0, total_b = 0;
        cudaMemGetInfo(&free_b, &total_b);
        throw out_of_memory(
            "[malloc] Out of memory on Device(gpu, " + std::to_string(index_) +
            "): " + detail::human_bytes(n) + " asked for, " +
            detail::human_bytes(free_b) + " free on the device.");
      }
    }
    check(e, "cudaMallocAsync", index_);
  }
  size_t now = active_.fetch_add(size) + size;
  size_t pk = peak_.load();
  while (now > pk && !peak_.compare_exchange_weak(pk, now)) {
  }
  return std::make_shared<Buffer>(
      p, std::max<size_t>(n, 1), Device(DeviceType::gpu, index_),
      [this, size](const Buffer& b) { free(b, size); });
}

void Allocator::free(const Buffer& b, size_t capacity) {
  active_.fetch_sub(capacity);
  if (exiting() || lost_.load()) return;
  void* p = b.ptr();
  std::vector<Dep> pending;
  // The published progress only: asking each use's events would cost more
  // than the cudaStreamWaitEvent an unseen end may add.
  for (Dep& u : b.uses()) {
    if (!u.seen_reached()) pending.push_back(std::move(u));
  }
  auto on_this_device = [&](const Dep& u) -> GpuTimeline* {
    auto* gt = dynamic_cast<GpuTimeline*>(u.timeline.get());
    return gt && gt->device() == index_ && gt->stream() ? gt : nullptr;
  };
  // No use pending, or all on one stream: cached for any stream, or for
  // that one (whose later work runs after the uses).
  GpuTimeline* only =
      pending.size() == 1 ? on_this_device(pending[0]) : nullptr;
  if (pending.empty() || only) {
    std::lock_guard lock(cache_mu_);
    cached_[only ? only->stream() : nullptr][capacity].push_back(p);
    cached_bytes_ += capacity;
    return;
  }
  // Uses on several streams of this device, all launched: freed on the
  // utility stream behind their events. Nothing waits on that stream, so no
  // compute stream gains a hidden wait; the pool reuses the block once the
  // free has run.
  if (std::all_of(pending.begin(), pending.end(),
                  [&](const Dep& u) { return on_this_device(u) != nullptr; })) {
    set_device(index_);
    for (const Dep& u : pending) {
      auto* gt = static_cast<GpuTimeline*>(u.timeline.get());
      if (EventPtr ev = gt->event_for(u.value)) {
        cudaStreamWaitEvent(utility_, ev->ev, 0);
      }
    }
    cudaFreeAsync(p, utility_);
    return;
  }
  // Uses elsewhere (another GPU's copy): freed once every one is done.
  auto left = std::make_shared<std::atomic<int>>(pending.size());
  int dev = index_;
  cudaStream_t util = utility_;
  auto done = [left, p, dev, util] {
    if (left->fetch_sub(1) != 1 || exiting()) return;
    set_device(dev);
    cudaFreeAsync(p, util);
  };
  for (Dep& u : pending) {
    if (!u.timeline->on_reached(u.value, done)) done();
  }
}

size_t Allocator::cache() {
  uint64_t reserved = 0;
  cudaMemPoolGetAttribute(pool_, cudaMemPoolAttrReservedMemCurrent, &reserved);
  uint64_t used = 0;
  cudaMemPoolGetAttribute(pool_, cudaMemPoolAttrUsedMemCurrent, &used);
  std::lock_guard lock(cache_mu_);
  // The pool counts cached blocks as used.
  return (reserved > used ? reserved - used : 0) + cached_bytes_;
}

void Allocator::trim() {
  std::vector<cudaStream_t> streams;
  {
    std::lock_guard lock(cache_mu_);
    for (auto& entry : cached_) streams.push_back(entry.first);
  }
  for (cudaStream_t s : streams) release_cache(s);
  set_device(index_);
  cudaDeviceSynchronize();  // frees still queued on streams land first
  cudaMemPoolTrimTo(pool_, 0);
}

}  // namespace runnel::cuda
