// What the core asks of a GPU backend. backend/no_gpu answers when the build
// has no CUDA backend; the CUDA backend answers through a library loaded on
// first GPU use.
#pragma once

#include <memory>
#include <utility>

#include "runnel/device.h"

namespace runnel::detail {
class StreamState;
}

namespace runnel::detail::gpu {

// Never throws; 0 without a backend, driver or GPU.
int device_count();
DeviceInfo device_info(int index);
std::pair<int, int> priority_range(int index);
std::shared_ptr<StreamState> make_stream(int index, int stream_index,
                                         int priority);

}  // namespace runnel::detail::gpu
