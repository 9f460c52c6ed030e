#pragma once

#include <string>

#include "runnel/backend/gpu.h"

namespace runnel::detail::gpu {

// A backend with no devices; `why` says what was missing.
Backend* no_gpu_backend(const std::string& why);

}  // namespace runnel::detail::gpu
