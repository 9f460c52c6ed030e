// Gathers and scatters: take, take_along_axis, integer-array and
// boolean-mask indexing, scatter, put_along_axis.
#pragma once

#include "runnel/array.h"

namespace runnel {}  // namespace runnel
