// What the CPU allocator offers the layers above: memory from runnel's own
// accounting, and the way work short of memory waits for frees. It knows
// nothing of who runs work: the scheduler tells it, through a policy, when
// the calling thread may wait for a free rather than fail.
#pragma once

#include <cstddef>
#include <memory>

#include "runnel/core/timeline.h"
#include "runnel/device.h"
#include "runnel/memory/buffer.h"

namespace runnel::detail {

// Memory from runnel's accounting: out_of_memory, naming the size asked for
// and what is free, when it would pass the device's limit.
std::shared_ptr<Buffer> allocate(size_t nbytes, const Device& d);

// Thrown by allocate() instead of out_of_memory when the limit is reached
// and the park policy says the calling thread may wait: the op is retried
// once `retry_after` (the next free) is reached, see Work::resume_after.
struct MemoryWait {
  Dep retry_after;
};

// Whether the calling thread may wait for a free instead of failing (the
// scheduler's answer: a strand on a worker while other work is in flight).
// Without a policy an allocation over the limit fails at once.
using ParkPolicy = bool (*)();
void set_park_policy(ParkPolicy can_park);

// Work that waits for frees retries now (nothing that runs could free more):
// it fails with out_of_memory if still short.
void wake_memory_waiters();

}  // namespace runnel::detail
