#include <cuda.h>
#include <pthread.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "runnel/backend/cuda/cuda.h"
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
  auto entry = [](const char* name, auto& fn) {
    void* p = nullptr;
    cudaDriverEntryPointQueryResult found{};
    if (cudaGetDriverEntryPointByVersion(name, &p, 12040, cudaEnableDefault,
                                         &found) != cudaSuccess ||
        found != cudaDriverEntryPointSuccess) {
      cudaGetLastError();
      return false;
    }
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(p);
    return true;
  };
  if (!entry("cuFuncGetModule", get_module) ||
      !entry("cuModuleGetFunctionCount", count) ||
      !entry("cuModuleEnumerateFunctions", enumerate) ||
      !entry("cuFuncLoad", load)) {
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
  std::ostringstream msg;
  msg << "[gpu] " << what << " failed: " << cudaGetErrorName(e) << " ("
      << cudaGetErrorString(e) << ")";
  if (sticky(e) && dev >= 0) {
    DeviceState& d = *devices().states.at(dev);
    if (!d.lost.exchange(true)) d.lost_reason = cudaGetErrorString(e);
    check_not_lost(dev);
  }
  throw std::runtime_error(msg.str());
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
}

std::shared_ptr<Buffer> DeviceState::allocate(size_t n, cudaStream_t s) {
  size_t size = std::max<size_t>(n, 1);
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
  void* p = nullptr;
  cudaError_t e = cudaMallocAsync(&p, size, s);
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    trim();
    e = cudaMallocAsync(&p, size, s);
    if (e == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      size_t free_b = 0, total_b = 0;
      cudaMemGetInfo(&free_b, &total_b);
      throw out_of_memory("[malloc] Out of memory on Device(gpu, " +
                          std::to_string(index) +
                          "): " + detail::human_bytes(n) + " asked for, " +
                          detail::human_bytes(free_b) + " free on the device.");
    }
  }
  check(e, "cudaMallocAsync", index);
  size_t now = active_.fetch_add(size) + size;
  size_t pk = peak_.load();
  while (now > pk && !peak_.compare_exchange_weak(pk, now)) {
  }
  return std::make_shared<Buffer>(p, size, Device(DeviceType::gpu, index),
                                  [this](const Buffer& b) { free(b); });
}

void DeviceState::free(const Buffer& b) {
  active_.fetch_sub(b.size());
  if (exiting() || lost.load()) return;
  void* p = b.ptr();
  // Uses still running: free behind them. All on one stream: stream-ordered
  // there. On several: once every one is done (no hidden waits between
  // unrelated streams).
  std::vector<Dep> pending;
  for (Dep& u : b.uses()) {
    if (!u.reached()) pending.push_back(std::move(u));
  }
  auto* gt = pending.size() == 1
                 ? dynamic_cast<GpuTimeline*>(pending[0].timeline.get())
                 : nullptr;
  int dev = index;
  if (pending.empty() || (gt && gt->device() == dev && gt->stream())) {
    set_device(dev);
    cudaFreeAsync(p, pending.empty() ? utility : gt->stream());
    return;
  }
  auto left = std::make_shared<std::atomic<int>>(pending.size());
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
  return reserved > used ? reserved - used : 0;
}

void DeviceState::trim() {
  set_device(index);
  cudaDeviceSynchronize();  // frees still queued on streams land first
  cudaMemPoolTrimTo(pool_, 0);
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
  std::unique_lock lock(watch_mu_);
  for (;;) {
    watch_cv_.wait(lock, [&] { return !watched_.empty(); });
    bool progress = false;
    // Poll without the lock: callbacks may watch more timelines.
    auto polled = watched_;
    lock.unlock();
    for (auto& t : polled) progress |= t->poll();
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
