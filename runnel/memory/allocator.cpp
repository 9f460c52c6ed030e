// The CPU allocator: accounting against a limit, and a size-keyed cache of
// freed blocks so that steady-state loops do not call the system allocator.
#include "runnel/memory/allocator.h"

#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "runnel/backend/gpu.h"
#include "runnel/core/hooks.h"
#include "runnel/core/small_alloc.h"
#include "runnel/errors.h"
#include "runnel/memory.h"
#include "runnel/utils.h"

namespace runnel::detail {
namespace {

constexpr size_t kAlign = 64;
// Blocks at most this large are cached on free.
constexpr size_t kMaxCachedBlock = size_t{1} << 30;

// Blocks of at least this size get a mapping of their own, aligned to it and
// marked for transparent huge pages (which this kernel may give only on
// request: THP "madvise" mode): one TLB entry per 2 MiB instead of 512, and
// one page fault on first touch instead of 512.
constexpr size_t kHugePage = size_t{2} << 20;

size_t huge_mapping_size(size_t size) {
  return (size + kHugePage - 1) & ~(kHugePage - 1);
}

// A zeroed, 2 MiB aligned block of `size` bytes, or nullptr.
void* map_huge(size_t size) {
  const size_t len = huge_mapping_size(size);
  // Over-map by one huge page, then give back the unaligned head and tail.
  void* raw = mmap(nullptr, len + kHugePage, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const auto start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (start + kHugePage - 1) & ~(kHugePage - 1);
  if (aligned > start) munmap(raw, aligned - start);
  const uintptr_t end = start + len + kHugePage;
  if (end > aligned + len) {
    munmap(reinterpret_cast<void*>(aligned + len), end - (aligned + len));
  }
  // Only the whole huge pages that the block covers: a partly used last one
  // stays in small pages rather than take 2 MiB for a few bytes.
  madvise(reinterpret_cast<void*>(aligned), size & ~(kHugePage - 1),
          MADV_HUGEPAGE);
  return reinterpret_cast<void*>(aligned);
}

// The scheduler's answer to "may this thread wait for a free?".
std::atomic<ParkPolicy> g_park_policy{nullptr};

// Set once a GPU stream exists: new host memory is then page-locked.
std::atomic<gpu::Backend*> g_pinned{nullptr};

size_t round_size(size_t n) {
  if (n <= 4096) return (n + 255) & ~size_t{255};
  // Above a page: steps of 1/8 of the power of two below.
  size_t p = size_t{1} << (63 - __builtin_clzll(n));
  size_t step = std::max<size_t>(p / 8, 4096);
  return (n + step - 1) / step * step;
}

// Blocks given back to the system, collected under the allocator's lock and
// released after it (the destructor runs once the lock, declared after it,
// is gone): munmap, free and above all cudaFreeHost, which synchronises the
// device, never run under the lock that every allocation takes.
class Releases {
 public:
  Releases() = default;
  Releases(const Releases&) = delete;
  Releases& operator=(const Releases&) = delete;
  ~Releases() { release(); }
  // Gives each block back to whoever made it, now.
  void release();
  void add(void* p, size_t size, bool pinned) {
    blocks_.push_back({p, size, pinned});
  }

 private:
  struct Block {
    void* p;
    size_t size;
    bool pinned;
  };
  std::vector<Block> blocks_;
};

// One owner, one lock: every field under mu.
class CpuAllocator {
 public:
  CpuAllocator() {
    limit_ = static_cast<size_t>(sysconf(_SC_PHYS_PAGES)) *
             static_cast<size_t>(sysconf(_SC_PAGE_SIZE));
  }

  void* malloc(size_t n) {
    if (hooks::fault_alloc()) {
      throw out_of_memory("[malloc] injected allocation failure (" +
                          human_bytes(n) + " asked for; RUNNEL_FAULT)");
    }
    const size_t size = round_size(std::max<size_t>(n, 1));
    Releases trimmed;  // after the lock
    std::unique_lock lock(mu_);
    if (auto it = cache_.find(size);
        it != cache_.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      cache_bytes_ -= size;
      add_active(size);
      return p;
    }
    if (active_ + size > limit_) {
      trim(cache_bytes_, trimmed);
      if (active_ + size > limit_) {
        // Work still queued or running may free enough: a worker parks its
        // strand until the next free instead of failing.
        ParkPolicy can_park = g_park_policy.load(std::memory_order_acquire);
        if (can_park && can_park()) {
          throw MemoryWait{Dep{free_timeline_, frees_ + 1}};
        }
        size_t free = limit_ > active_ ? limit_ - active_ : 0;
        throw out_of_memory(
            "[malloc] Out of memory on Device(cpu, 0): " + human_bytes(n) +
            " asked for, " + human_bytes(free) + " free of a " +
            human_bytes(limit_) + " limit.");
      }
    }
    if (active_ + cache_bytes_ + size > limit_) trim(size, trimmed);
    lock.unlock();
    trimmed.release();  // room made before the system is asked for more
    bool pinned = false;
    void* p = nullptr;
    if (gpu::Backend* b = g_pinned.load(std::memory_order_acquire)) {
      p = b->host_alloc(size);
      pinned = p != nullptr;
    }
    if (!p) {
      p = size >= kHugePage ? map_huge(size) : std::aligned_alloc(kAlign, size);
    }
    if (!p) {
      throw out_of_memory("[malloc] The system could not provide " +
                          human_bytes(n) + ".");
    }
    lock.lock();
    if (pinned) pinned_.insert(p);
    add_active(size);
    return p;
  }

  // `n`: the size given to malloc.
  void free(void* p, size_t n) {
    Releases released;  // after the lock
    std::unique_lock lock(mu_);
    free_locked(p, round_size(std::max<size_t>(n, 1)), released);
    uint64_t epoch = ++frees_;
    lock.unlock();
    free_timeline_->advance(epoch);
  }

  void wake_waiters() {
    std::unique_lock lock(mu_);
    uint64_t epoch = ++frees_;
    lock.unlock();
    free_timeline_->advance(epoch);
  }

 private:
  void free_locked(void* p, size_t size, Releases& out) {
    active_ -= size;
    if (size <= kMaxCachedBlock && active_ + cache_bytes_ + size <= limit_) {
      cache_[size].push_back(p);
      cache_bytes_ += size;
    } else {
      out.add(p, size, pinned_.erase(p) > 0);
    }
  }

 public:
  size_t active() {
    std::lock_guard lock(mu_);
    return active_;
  }
  size_t peak() {
    std::lock_guard lock(mu_);
    return peak_;
  }
  void reset_peak() {
    std::lock_guard lock(mu_);
    peak_ = active_;
  }
  size_t cache() {
    std::lock_guard lock(mu_);
    return cache_bytes_;
  }
  size_t set_limit(size_t l) {
    std::lock_guard lock(mu_);
    std::swap(limit_, l);
    return l;
  }
  size_t limit() {
    std::lock_guard lock(mu_);
    return limit_;
  }
  void clear() {
    Releases trimmed;  // after the lock
    std::lock_guard lock(mu_);
    trim(cache_bytes_, trimmed);
  }

 private:
  void add_active(size_t n) {
    active_ += n;
    peak_ = std::max(peak_, active_);
  }
  // Takes cached blocks out until `want` bytes are gone, into `out`.
  void trim(size_t want, Releases& out) {
    size_t freed = 0;
    for (auto it = cache_.begin(); freed < want && it != cache_.end();) {
      for (void* p : it->second) out.add(p, it->first, pinned_.erase(p) > 0);
      freed += it->first * it->second.size();
      cache_bytes_ -= it->first * it->second.size();
      it = cache_.erase(it);
    }
  }

 public:
  std::mutex& fork_lock() { return mu_; }

 private:
  std::mutex mu_;
  // Advanced on every free: work short of memory parks on it.
  std::shared_ptr<Timeline> free_timeline_ = std::make_shared<Timeline>();
  uint64_t frees_ = 0;
  // Freed blocks by size class: a request reuses a block of its own class.
  std::unordered_map<size_t, std::vector<void*>> cache_;
  // The blocks (in use or cached) that are page-locked.
  std::unordered_set<void*> pinned_;
  size_t cache_bytes_ = 0;
  size_t active_ = 0;
  size_t peak_ = 0;
  size_t limit_ = 0;
};

void Releases::release() {
  for (const Block& b : blocks_) {
    if (b.pinned) {
      g_pinned.load(std::memory_order_acquire)->host_free(b.p);
    } else if (b.size >= kHugePage) {
      munmap(b.p, huge_mapping_size(b.size));
    } else {
      std::free(b.p);
    }
  }
  blocks_.clear();
}

CpuAllocator& cpu_allocator() {
  static auto* a = [] {
    auto* alloc = new CpuAllocator();  // never destroyed
    // A fork while another thread holds the lock would leave the child's
    // copy locked forever: held across fork, released on both sides.
    pthread_atfork([] { cpu_allocator().fork_lock().lock(); },
                   [] { cpu_allocator().fork_lock().unlock(); },
                   [] { cpu_allocator().fork_lock().unlock(); });
    return alloc;
  }();
  return *a;
}

}  // namespace

void wake_memory_waiters() { cpu_allocator().wake_waiters(); }

void set_park_policy(ParkPolicy can_park) {
  g_park_policy.store(can_park, std::memory_order_release);
}

void gpu::use_pinned_host_memory(Backend* b) {
  g_pinned.store(b, std::memory_order_release);
}

Buffer::Buffer(void* ptr, size_t size, Device device, Release release)
    : ptr_(ptr), size_(size), device_(device), release_(std::move(release)) {}

void after_uses(std::vector<Dep> uses, std::function<void()> fn) {
  try {
    while (!uses.empty() && uses.back().reached()) uses.pop_back();
  } catch (...) {
    uses.clear();  // a lost device (asking it threw): none of its work runs
  }
  if (uses.empty()) {
    fn();
    return;
  }
  Dep last = std::move(uses.back());
  uses.pop_back();
  // The rest are checked again once `last` is reached: by then most are.
  Timeline::Callback rest = [uses = std::move(uses),
                             fn = std::move(fn)]() mutable {
    after_uses(std::move(uses), std::move(fn));
  };
  if (!last.timeline->on_reached(last.value, rest)) rest();
}

Buffer::~Buffer() {
  if (release_) {
    release_(*this);  // a backend's or foreign memory: it waits for the uses
  } else if (ptr_) {
    if (uses_.empty()) {
      cpu_allocator().free(ptr_, size_);
    } else {
      // A copy to a GPU from pinned memory may still be reading it.
      after_uses(std::move(uses_),
                 [p = ptr_, n = size_] { cpu_allocator().free(p, n); });
    }
  }
}

void Buffer::add_use(Dep d) {
  std::lock_guard lock(uses_mu_);
  add_use_locked(std::move(d));
}

void Buffer::add_use_locked(Dep d) {
  for (Dep& u : uses_) {
    if (u.timeline == d.timeline) {
      u.value = std::max(u.value, d.value);
      return;
    }
  }
  uses_.push_back(std::move(d));
  has_uses_.store(true, std::memory_order_release);
}

void Buffer::add_use_after(const Dep& producer, Dep d) {
  std::lock_guard lock(uses_mu_);
  if (producer.timeline &&
      std::all_of(uses_.begin(), uses_.end(), [&](const Dep& u) {
        return u.timeline == producer.timeline && u.value <= producer.value;
      })) {
    uses_.clear();  // `d` reaches them all
  }
  add_use_locked(std::move(d));
}

std::vector<Dep> Buffer::uses() const {
  std::lock_guard lock(uses_mu_);
  return uses_;
}

std::shared_ptr<Buffer> allocate(size_t nbytes, const Device& d) {
  void* p = cpu_allocator().malloc(nbytes);
  if (hooks::poison()) std::memset(p, hooks::kPoisonByte, nbytes);
  return std::allocate_shared<Buffer>(SmallAllocator<Buffer>{}, p, nbytes, d);
}

}  // namespace runnel::detail

namespace runnel {
namespace {
// The CPU allocator's answer, or the GPU backend's for a GPU.
template <class Cpu, class Gpu>
auto on_device(const Device& d, const char* fn, Cpu cpu_fn, Gpu gpu_fn) {
  detail::check_available(d, fn);
  if (d.type == DeviceType::gpu) return gpu_fn(detail::gpu::backend(fn));
  return cpu_fn(detail::cpu_allocator());
}
}  // namespace

size_t get_active_memory(const Device& d) {
  return on_device(
      d, "get_active_memory", [](auto& a) { return a.active(); },
      [&](auto& b) { return b.active_memory(d.index); });
}
size_t get_peak_memory(const Device& d) {
  return on_device(
      d, "get_peak_memory", [](auto& a) { return a.peak(); },
      [&](auto& b) { return b.peak_memory(d.index); });
}
void reset_peak_memory(const Device& d) {
  on_device(
      d, "reset_peak_memory", [](auto& a) { a.reset_peak(); },
      [&](auto& b) { b.reset_peak_memory(d.index); });
}
size_t get_cache_memory(const Device& d) {
  return on_device(
      d, "get_cache_memory", [](auto& a) { return a.cache(); },
      [&](auto& b) { return b.cache_memory(d.index); });
}
size_t set_memory_limit(size_t limit, const Device& d) {
  return on_device(
      d, "set_memory_limit", [&](auto& a) { return a.set_limit(limit); },
      [&](auto& b) { return b.set_memory_limit(d.index, limit); });
}
size_t get_memory_limit(const Device& d) {
  return on_device(
      d, "get_memory_limit", [](auto& a) { return a.limit(); },
      [&](auto& b) { return b.memory_limit(d.index); });
}
void clear_cache(const Device& d) {
  on_device(
      d, "clear_cache", [](auto& a) { a.clear(); },
      [&](auto& b) { b.clear_cache(d.index); });
}

}  // namespace runnel
