// The GPU backend of a build without CUDA: no devices.
#include "runnel/backend/gpu.h"

#include <stdexcept>

namespace runnel::detail::gpu {

int device_count() { return 0; }

DeviceInfo device_info(int index) {
  throw std::invalid_argument("[device_info] this build has no GPU backend");
}

std::pair<int, int> priority_range(int) { return {0, 0}; }

std::shared_ptr<StreamState> make_stream(int, int, int) {
  throw std::invalid_argument("[new_stream] this build has no GPU backend");
}

}  // namespace runnel::detail::gpu
