// Per-thread defaults: default streams per device and the stack of active
// stream contexts.
#pragma once

#include <optional>

#include "runnel/device.h"

namespace runnel::detail {

// The device of the innermost stream context on this thread, if any.
std::optional<Device> context_device();

}  // namespace runnel::detail
