// Donation hands a buffer from the threads that last read it to the op that
// writes into it. They meet only through reference counts: a reader's drop
// is a release, and the donor's "one owner left" check is a relaxed load,
// which an acquire fence turns into an acquire. ThreadSanitizer follows
// neither a fence nor that pairing, so in its builds the handoff is declared
// to it instead (nothing is added to other builds).
#pragma once

#include <atomic>

#if defined(__SANITIZE_THREAD__)
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#endif

namespace runnel::detail {

// A thread is done reading through `owner` (a node or a buffer) and is about
// to drop its reference.
inline void reads_done([[maybe_unused]] const void* owner) {
#if defined(__SANITIZE_THREAD__)
  __tsan_release(const_cast<void*>(owner));
#endif
}

// The caller saw itself the one owner of `owner`: every other reader's
// accesses happen before what it does next.
inline void take_over([[maybe_unused]] const void* owner) {
#if defined(__SANITIZE_THREAD__)
  __tsan_acquire(const_cast<void*>(owner));
#else
  std::atomic_thread_fence(std::memory_order_acquire);
#endif
}

}  // namespace runnel::detail
