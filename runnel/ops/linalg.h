// matmul (batch broadcasting) and addmm.
#pragma once

#include "runnel/array.h"

namespace runnel {}  // namespace runnel
