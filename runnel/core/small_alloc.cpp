#include "runnel/core/small_alloc.h"

#include <pthread.h>

#include <cstdint>
#include <mutex>
#include <new>

namespace runnel::detail {
namespace {

// Under AddressSanitizer every block goes to the system, so that it sees each
// use after free; ThreadSanitizer checks the lists like any other code.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kPooled = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kPooled = false;
#else
constexpr bool kPooled = true;
#endif
#else
constexpr bool kPooled = true;
#endif

constexpr size_t kGranule = 16;
constexpr size_t kLargest = 512;
constexpr size_t kClasses = kLargest / kGranule;
// Blocks move between a thread and the shared lists in batches of this many:
// nodes are typically made on the user's thread and freed on a worker's.
constexpr uint32_t kBatch = 32;
// Bytes the shared lists keep per size class; beyond, blocks are freed.
constexpr size_t kSharedBytes = size_t{8} << 20;

struct Block {
  Block* next;        // within a thread's list or a batch
  Block* next_batch;  // on the shared list: the batch after this one
};
static_assert(sizeof(Block) <= kGranule);

struct Shared {
  std::mutex mu;
  Block* batches = nullptr;
  size_t bytes = 0;
};
// The lists, for the fork handler (which must not run a static's guarded
// initialisation: a fork during it would leave the guard taken).
Shared* g_lists = nullptr;

Shared& shared(size_t c) {
  static auto* s = [] {
    auto* lists = new Shared[kClasses];  // never destroyed: used at exit
    g_lists = lists;
    // A list whose lock another thread held at the fork may be half
    // changed: the child drops it (its blocks, at most kSharedBytes, stay
    // unused there) and gives it a fresh lock. The other lists are whole.
    pthread_atfork(nullptr, nullptr, [] {
      for (size_t k = 0; k < kClasses; ++k) {
        if (g_lists[k].mu.try_lock()) {
          g_lists[k].mu.unlock();
        } else {
          new (&g_lists[k]) Shared();
        }
      }
    });
    return lists;
  }();
  return s[c];
}

size_t block_bytes(size_t c) { return (c + 1) * kGranule; }

// Trivially destructible, so that it stays usable while the thread's other
// thread-locals are destroyed; Flusher hands it to the shared lists at exit.
struct Lists {
  Block* head[kClasses];
  uint32_t count[kClasses];
  bool exiting;
  bool flusher_armed;
};
constinit thread_local Lists tls{};

// Takes kBatch blocks off the thread's list `c` to the shared list.
void give_batch(size_t c) {
  Block* first = tls.head[c];
  Block* last = first;
  for (uint32_t i = 1; i < kBatch; ++i) last = last->next;
  tls.head[c] = last->next;
  tls.count[c] -= kBatch;
  last->next = nullptr;
  Shared& s = shared(c);
  {
    std::lock_guard lock(s.mu);
    if (s.bytes < kSharedBytes) {
      first->next_batch = s.batches;
      s.batches = first;
      s.bytes += kBatch * block_bytes(c);
      return;
    }
  }
  while (first) {
    Block* b = first;
    first = first->next;
    ::operator delete(b);
  }
}

struct Flusher {
  ~Flusher() {
    tls.exiting = true;
    for (size_t c = 0; c < kClasses; ++c) {
      while (tls.count[c] >= kBatch) give_batch(c);
      while (Block* b = tls.head[c]) {
        tls.head[c] = b->next;
        ::operator delete(b);
      }
      tls.count[c] = 0;
    }
  }
};
thread_local Flusher flusher;

size_t size_class(size_t n) { return (n + kGranule - 1) / kGranule - 1; }

// The thread's lists. In a shared library every thread-local access is a
// call (__tls_get_addr) that the compiler repeats at each use rather than
// keep the address: hiding the pointer from it makes it one call.
Lists* my_lists() {
  Lists* l = &tls;
  asm("" : "+r"(l));
  return l;
}

}  // namespace

void* small_alloc(size_t n) {
  if (!kPooled || n > kLargest || n == 0) return ::operator new(n);
  const size_t c = size_class(n);
  Lists* l = my_lists();
  Block* b = l->head[c];
  if (!b) {
    Shared& s = shared(c);
    {
      std::lock_guard lock(s.mu);
      b = s.batches;
      if (b) {
        s.batches = b->next_batch;
        s.bytes -= kBatch * block_bytes(c);
      }
    }
    if (!b) return ::operator new(block_bytes(c));
    l->count[c] = kBatch;
  }
  l->head[c] = b->next;
  --l->count[c];
  return b;
}

void small_free(void* p, size_t n) noexcept {
  if (!kPooled || n > kLargest || n == 0) {
    ::operator delete(p);
    return;
  }
  Lists* l = my_lists();
  if (l->exiting) {
    ::operator delete(p);
    return;
  }
  if (!l->flusher_armed) {
    l->flusher_armed = true;
    // Using it constructs it, so that its destructor runs at thread exit.
    Flusher* volatile f = &flusher;
    (void)f;
  }
  const size_t c = size_class(n);
  auto* b = static_cast<Block*>(p);
  b->next = l->head[c];
  l->head[c] = b;
  if (++l->count[c] >= 2 * kBatch) give_batch(c);
}

}  // namespace runnel::detail
