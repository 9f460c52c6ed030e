// Memory figures and limits, per device (default: the default device).
#pragma once

#include <cstddef>

#include "runnel/device.h"

namespace runnel {

// Bytes held by live buffers.
size_t get_active_memory(const Device& d = default_device());
// The most active memory since start or the last reset_peak_memory.
size_t get_peak_memory(const Device& d = default_device());
void reset_peak_memory(const Device& d = default_device());
// Bytes kept for reuse by the allocator's cache.
size_t get_cache_memory(const Device& d = default_device());
// Requests that would take active memory past `limit` fail with
// out_of_memory (Python MemoryError). Returns the previous limit. The default
// is the device's physical memory.
size_t set_memory_limit(size_t limit, const Device& d = default_device());
size_t get_memory_limit(const Device& d = default_device());
// Returns the cache's memory to the system.
void clear_cache(const Device& d = default_device());

}  // namespace runnel
