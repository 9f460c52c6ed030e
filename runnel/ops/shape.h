// Shape ops and data movement: views (reshape, transpose, slicing, ...),
// concatenation, padding, tiling.
#pragma once

#include "runnel/array.h"

namespace runnel {}  // namespace runnel
