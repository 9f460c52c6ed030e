// Small objects of the graph (array and op nodes, buffers), from per-thread
// free lists. Building a long chain allocates thousands of nodes before any is
// freed, which sends the system allocator down its slow paths (its own
// per-thread cache holds 7 blocks of a size); here a freed block goes back to
// the freeing thread's list and the next node of that size takes it in a few
// instructions. Each list is capped; blocks beyond the cap, and every block
// once the thread is exiting, go back to the system.
#pragma once

#include <cstddef>
#include <new>

namespace runnel::detail {

void* small_alloc(size_t n);
void small_free(void* p, size_t n) noexcept;

// For std::allocate_shared: the object and its control block in one block.
template <class T>
struct SmallAllocator {
  using value_type = T;
  SmallAllocator() = default;
  template <class U>
  SmallAllocator(const SmallAllocator<U>&) noexcept {}  // NOLINT: rebinding
  T* allocate(size_t n) { return static_cast<T*>(small_alloc(n * sizeof(T))); }
  void deallocate(T* p, size_t n) noexcept { small_free(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const SmallAllocator<U>&) const noexcept {
    return true;
  }
};

}  // namespace runnel::detail
