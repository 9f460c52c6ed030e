// Copies between a GPU and host memory or another GPU, and the page-locked
// host memory that host copies run from at full speed.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <memory>

#include "runnel/memory/buffer.h"

namespace runnel::cuda {

using detail::Buffer;

// A copy of `b` (in host memory or on another GPU) on `device`, enqueued on
// `s`, a stream of `device`.
std::shared_ptr<Buffer> copy_to_device(const Buffer& b, int device,
                                       cudaStream_t s);
// A host copy of a finished GPU buffer.
std::shared_ptr<Buffer> copy_to_host(const Buffer& b);

// Page-locked host memory (Backend's host_alloc, host_free): nullptr when it
// cannot be had.
void* pinned_host_alloc(size_t n);
void pinned_host_free(void* p);

}  // namespace runnel::cuda
