#include <cuda.h>
#include <pthread.h>

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "runnel/backend/cuda/cuda.h"
#include "runnel/backend/cuda/kernel_table.h"
#include "runnel/scheduler/errors.h"

namespace runnel::cuda {
namespace {

std::atomic<bool> g_exiting{false};
std::atomic<bool> g_initialised{false};
std::atomic<bool> g_forked_child{false};

bool sticky(cudaError_t e) {
  switch (e) {
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorHardwareStackError:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorAssert:
    case cudaErrorLaunchTimeout:
    case cudaErrorECCUncorrectable:
      return true;
    default:
      return false;
  }
}

struct Devices {
  std::mutex mu;
  std::vector<DeviceState*> states;  // never destroyed
};
Devices& devices() {
  static auto* d = [] {
    std::atexit([] { g_exiting.store(true); });
    pthread_atfork(nullptr, nullptr, [] {
      if (g_initialised.load()) g_forked_child.store(true);
    });
    return new Devices();
  }();
  return *d;
}

// A driver function through the runtime's entry points (librunnel_cuda
// links no libcuda); false where the driver lacks it.
template <class F>
bool driver_entry(const char* name, F& fn, int version = 12040) {
  void* p = nullptr;
  cudaDriverEntryPointQueryResult found{};
  if (cudaGetDriverEntryPointByVersion(name, &p, version, cudaEnableDefault,
                                       &found) != cudaSuccess ||
      found != cudaDriverEntryPointSuccess) {
    cudaGetLastError();
    return false;
  }
  fn = reinterpret_cast<F>(p);
  return true;
}

using WriteValue64 = CUresult (*)(CUstream, CUdeviceptr, cuuint64_t,
                                  unsigned int);

// cuStreamWriteValue64 where the device can use it, else null.
WriteValue64 stream_write_value(int dev) {
  using GetAttribute = CUresult (*)(int*, CUdevice_attribute, CUdevice);
  GetAttribute get = nullptr;
  WriteValue64 write = nullptr;
  int can = 0;
  if (!driver_entry("cuDeviceGetAttribute", get, 12000) ||
      !driver_entry("cuStreamWriteValue64", write, 12000) ||
      get(&can, CU_DEVICE_ATTRIBUTE_CAN_USE_64_BIT_STREAM_MEM_OPS, dev) !=
          CUDA_SUCCESS ||
      !can) {
    return nullptr;
  }
  return write;
}

// Loads every kernel of the registered modules on the current device (see
// register_module). The driver calls come through the runtime's entry
// points (librunnel_cuda links no libcuda); where the driver lacks them
// (before CUDA 12.4) kernels load lazily as before.
void load_modules(int dev) {
  using GetModule = CUresult (*)(CUmodule*, CUfunction);
  using Count = CUresult (*)(unsigned int*, CUmodule);
  using Enumerate = CUresult (*)(CUfunction*, unsigned int, CUmodule);
  using Load = CUresult (*)(CUfunction);
  GetModule get_module = nullptr;
  Count count = nullptr;
  Enumerate enumerate = nullptr;
  Load load = nullptr;
  if (!driver_entry("cuFuncGetModule", get_module) ||
      !driver_entry("cuModuleGetFunctionCount", count) ||
      !driver_entry("cuModuleEnumerateFunctions", enumerate) ||
      !driver_entry("cuFuncLoad", load)) {
    return;
  }
  for (const void* anchor : registered_modules()) {
    cudaFunction_t f = nullptr;
    check(cudaGetFuncBySymbol(&f, anchor), "cudaGetFuncBySymbol", dev);
    CUmodule mod = nullptr;
    unsigned int n = 0;
    if (get_module(&mod, f) != CUDA_SUCCESS || count(&n, mod) != CUDA_SUCCESS) {
      continue;
    }
    std::vector<CUfunction> fs(n);
    if (enumerate(fs.data(), n, mod) != CUDA_SUCCESS) continue;
    for (CUfunction g : fs) {
      if (load(g) != CUDA_SUCCESS) {
        throw std::runtime_error(
            "[gpu] loading runnel's kernels failed on "
            "Device(gpu, " +
            std::to_string(dev) + ")");
      }
    }
  }
}

}  // namespace

bool exiting() { return g_exiting.load(std::memory_order_relaxed); }
bool forked_child() { return g_forked_child.load(std::memory_order_relaxed); }

void check(cudaError_t e, const char* what, int dev) {
  if (e == cudaSuccess) return;
  if (dev < 0) cudaGetDevice(&dev);
  std::ostringstream why;
  why << what << " failed: " << cudaGetErrorName(e) << " ("
      << cudaGetErrorString(e) << ")";
  if (sticky(e) && dev >= 0) {
    DeviceState& d = *devices().states.at(dev);
    // The first failure seen names the device's loss, once.
    std::call_once(d.lost_once, [&] { d.lost_reason = why.str(); });
    d.lost.store(true);
    check_not_lost(dev);
  }
  throw std::runtime_error("[gpu] " + why.str());
}

void check_not_lost(int dev) {
  Devices& ds = devices();
  if (dev < 0 || dev >= static_cast<int>(ds.states.size())) return;
  DeviceState* d = ds.states[dev];
  if (d && d->lost.load()) {
    throw std::runtime_error("[gpu] Device(gpu, " + std::to_string(dev) +
                             ") is lost: " + d->lost_reason +
                             "; restart the process");
  }
}

void set_device(int index) {
  int cur = -1;
  if (cudaGetDevice(&cur) != cudaSuccess || cur != index) {
    check(cudaSetDevice(index), "cudaSetDevice", index);
  }
}

DeviceState& device(int index) {
  if (g_forked_child.load()) {
    throw std::runtime_error(
        "[fork] CUDA was initialised before this process was forked; GPU use "
        "in the child is not possible: use the spawn start method");
  }
  // Every launch asks: devices already started are found without the lock.
  static std::array<std::atomic<DeviceState*>, 64> started{};
  if (index >= 0 && index < static_cast<int>(started.size())) {
    if (DeviceState* d = started[index].load(std::memory_order_acquire)) {
      if (d->lost.load()) check_not_lost(index);
      return *d;
    }
  }
  Devices& ds = devices();
  std::lock_guard lock(ds.mu);
  if (ds.states.empty()) {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) n = 0;
    ds.states.assign(n, nullptr);
  }
  if (index < 0 || index >= static_cast<int>(ds.states.size())) {
    throw std::invalid_argument("[gpu] Device(gpu, " + std::to_string(index) +
                                ") is not available.");
  }
  if (!ds.states[index]) {
    ds.states[index] = new DeviceState(index);
    g_initialised.store(true);
    if (index < static_cast<int>(started.size())) {
      started[index].store(ds.states[index], std::memory_order_release);
    }
  }
  DeviceState& d = *ds.states[index];
  if (d.lost.load()) check_not_lost(index);
  return d;
}

// ---- events ----

Event::~Event() {
  if (pool) pool->put(ev);
}

EventPtr EventPool::get() {
  cudaEvent_t ev = nullptr;
  {
    std::lock_guard lock(mu_);
    if (!free_.empty()) {
      ev = free_.back();
      free_.pop_back();
    }
  }
  if (!ev) {
    check(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming),
          "cudaEventCreate", device_);
  }
  auto e = std::make_shared<Event>();
  e->ev = ev;
  e->pool = this;
  return e;
}

void EventPool::put(cudaEvent_t ev) {
  std::lock_guard lock(mu_);
  free_.push_back(ev);  // events are never destroyed: cheap, and exit-safe
}

// ---- device state ----

DeviceState::DeviceState(int i) : index(i), events(i) {
  set_device(i);
  check(cudaFree(nullptr), "initialising CUDA", i);
  load_modules(i);
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
  check(cudaStreamCreateWithFlags(&utility, cudaStreamNonBlocking),
        "cudaStreamCreate", i);
  write_value_ = reinterpret_cast<void*>(stream_write_value(i));
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

void* DeviceState::take_cached(size_t capacity, cudaStream_t s) {
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

void DeviceState::release_cache(cudaStream_t s) {
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
  if (exiting() || lost.load()) return;
  set_device(index);
  for (auto& g : give) cudaFreeAsync(g.first, s ? s : utility);
}

std::shared_ptr<Buffer> DeviceState::allocate(size_t n, cudaStream_t s) {
  const size_t size = capacity_for(n);
  size_t limit = limit_.load();
  if (active_.load() + size > limit) {
    trim();
    if (active_.load() + size > limit) {
      size_t a = active_.load();
      throw out_of_memory(
          "[malloc] Out of memory on Device(gpu, " + std::to_string(index) +
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
            "[malloc] Out of memory on Device(gpu, " + std::to_string(index) +
            "): " + detail::human_bytes(n) + " asked for, " +
            detail::human_bytes(free_b) + " free on the device.");
      }
    }
    check(e, "cudaMallocAsync", index);
  }
  size_t now = active_.fetch_add(size) + size;
  size_t pk = peak_.load();
  while (now > pk && !peak_.compare_exchange_weak(pk, now)) {
  }
  return std::make_shared<Buffer>(
      p, std::max<size_t>(n, 1), Device(DeviceType::gpu, index),
      [this, size](const Buffer& b) { free(b, size); });
}

void DeviceState::free(const Buffer& b, size_t capacity) {
  active_.fetch_sub(capacity);
  if (exiting() || lost.load()) return;
  void* p = b.ptr();
  std::vector<Dep> pending;
  // The published progress only: asking each use's events would cost more
  // than the cudaStreamWaitEvent an unseen end may add.
  for (Dep& u : b.uses()) {
    if (!u.seen_reached()) pending.push_back(std::move(u));
  }
  auto on_this_device = [&](const Dep& u) -> GpuTimeline* {
    auto* gt = dynamic_cast<GpuTimeline*>(u.timeline.get());
    return gt && gt->device() == index && gt->stream() ? gt : nullptr;
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
    set_device(index);
    for (const Dep& u : pending) {
      auto* gt = static_cast<GpuTimeline*>(u.timeline.get());
      if (EventPtr ev = gt->event_for(u.value)) {
        cudaStreamWaitEvent(utility, ev->ev, 0);
      }
    }
    cudaFreeAsync(p, utility);
    return;
  }
  // Uses elsewhere (another GPU's copy): freed once every one is done.
  auto left = std::make_shared<std::atomic<int>>(pending.size());
  int dev = index;
  cudaStream_t util = utility;
  auto done = [left, p, dev, util] {
    if (left->fetch_sub(1) != 1 || exiting()) return;
    set_device(dev);
    cudaFreeAsync(p, util);
  };
  for (Dep& u : pending) {
    if (!u.timeline->on_reached(u.value, done)) done();
  }
}

size_t DeviceState::cache() {
  uint64_t reserved = 0;
  cudaMemPoolGetAttribute(pool_, cudaMemPoolAttrReservedMemCurrent, &reserved);
  uint64_t used = 0;
  cudaMemPoolGetAttribute(pool_, cudaMemPoolAttrUsedMemCurrent, &used);
  std::lock_guard lock(cache_mu_);
  // The pool counts cached blocks as used.
  return (reserved > used ? reserved - used : 0) + cached_bytes_;
}

void DeviceState::trim() {
  std::vector<cudaStream_t> streams;
  {
    std::lock_guard lock(cache_mu_);
    for (auto& entry : cached_) streams.push_back(entry.first);
  }
  for (cudaStream_t s : streams) release_cache(s);
  set_device(index);
  cudaDeviceSynchronize();  // frees still queued on streams land first
  cudaMemPoolTrimTo(pool_, 0);
}

// ---- the launcher: long host queues, off the threads that unblock them ----

void DeviceState::launch_later(std::shared_ptr<GpuStream> s) {
  std::lock_guard lock(launch_mu_);
  to_launch_.push_back(std::move(s));
  if (!launcher_started_) {
    launcher_started_ = true;
    std::thread([this] { launcher_loop(); }).detach();
  }
  launch_cv_.notify_one();
}

void DeviceState::launcher_loop() {
  std::unique_lock lock(launch_mu_);
  for (;;) {
    launch_cv_.wait(lock, [&] { return !to_launch_.empty(); });
    std::shared_ptr<GpuStream> s = std::move(to_launch_.front());
    to_launch_.pop_front();
    lock.unlock();
    if (!exiting()) {
      try {
        s->pump(SIZE_MAX);
      } catch (const std::exception&) {
        // A launch failed for the device (lost): waits raise it.
      }
    }
    s.reset();
    lock.lock();
  }
}

// ---- pinned counters ----

DeviceState::Counter DeviceState::counter_alloc() {
  std::lock_guard lock(counters_mu_);
  if (!write_value_) return {};
  if (free_counters_.empty()) {
    // A page of counters, 64 bytes apart (no two share a cache line).
    constexpr size_t kPage = 4096, kStride = 64;
    void* page = nullptr;
    if (cudaHostAlloc(&page, kPage,
                      cudaHostAllocPortable | cudaHostAllocMapped) !=
        cudaSuccess) {
      cudaGetLastError();
      write_value_ = nullptr;  // the watcher polls events instead
      return {};
    }
    void* dev = nullptr;
    check(cudaHostGetDevicePointer(&dev, page, 0), "cudaHostGetDevicePointer",
          index);
    for (size_t off = kPage; off >= kStride; off -= kStride) {
      auto* host = new (static_cast<char*>(page) + off - kStride)
          std::atomic<uint64_t>(0);
      free_counters_.push_back(
          {host, reinterpret_cast<uint64_t>(dev) + off - kStride});
    }
  }
  Counter c = free_counters_.back();
  free_counters_.pop_back();
  c.host->store(0);
  return c;
}

void DeviceState::counter_free(Counter c) {
  std::lock_guard lock(counters_mu_);
  free_counters_.push_back(c);
}

bool DeviceState::write_counter(cudaStream_t s, const Counter& c, uint64_t v) {
  auto write = reinterpret_cast<WriteValue64>(write_value_.load());
  return write &&
         write(reinterpret_cast<CUstream>(s), static_cast<CUdeviceptr>(c.dev),
               v, CU_STREAM_WRITE_VALUE_DEFAULT) == CUDA_SUCCESS;
}

// ---- the watcher: advances timelines that CPU strands are parked on ----

void DeviceState::watch(std::shared_ptr<GpuTimeline> t) {
  std::lock_guard lock(watch_mu_);
  for (auto& w : watched_) {
    if (w == t) return;
  }
  watched_.push_back(std::move(t));
  if (!watcher_started_) {
    watcher_started_ = true;
    std::thread([this] { watcher_loop(); }).detach();
  }
  watch_cv_.notify_one();
}

void DeviceState::watcher_loop() {
  using Clock = std::chrono::steady_clock;
  auto last_progress = Clock::now();
  auto last_query = last_progress;
  std::unique_lock lock(watch_mu_);
  for (;;) {
    watch_cv_.wait(lock, [&] { return !watched_.empty(); });
    bool progress = false;
    // Poll without the lock: callbacks may watch more timelines.
    auto polled = watched_;
    lock.unlock();
    // The pinned counters cost no driver call. The events are asked too
    // where a stream has no counter, and now and then for all: a kernel
    // that faulted never lets its stream write the counter.
    const bool query =
        Clock::now() - last_query > std::chrono::microseconds(200);
    if (query) last_query = Clock::now();
    for (auto& t : polled) {
      progress |= query || !t->has_counter() ? t->poll() : t->read_counter();
    }
    lock.lock();
    std::erase_if(watched_, [](auto& t) { return !t->has_waiters(); });
    auto now = Clock::now();
    if (progress) last_progress = now;
    if (now - last_progress > std::chrono::microseconds(50)) {
      lock.unlock();
      std::this_thread::sleep_for(std::chrono::microseconds(20));
      lock.lock();
    }
  }
}

}  // namespace runnel::cuda
