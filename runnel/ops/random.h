// Random numbers with MLX's API (runnel::random): a counter-based
// generator keyed by explicit or global keys.
#pragma once

#include "runnel/array.h"

namespace runnel {}  // namespace runnel
