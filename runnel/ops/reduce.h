// Reductions.
#pragma once

#include "runnel/array.h"

namespace runnel {

// The sum of every element, as a 0-d array. bool sums as int32 (as MLX);
// other dtypes keep theirs (integers wrap); floats sum pairwise, half
// precision accumulating in float32.
array sum(const array& a, StreamOrDevice s = {});

}  // namespace runnel
