// matmul (batch broadcasting) and addmm.
#pragma once

#include "runnel/array.h"

namespace runnel {

// The matrix product with numpy's rules: a 1-d a is a row vector and a 1-d b
// a column vector (their added axis is dropped from the result); the batch
// axes (all but the last two) broadcast. The inputs are promoted to one
// dtype; integers wrap, bool is or-of-ands, float16 and bfloat16 accumulate
// in float32. 0-d inputs are an error.
array matmul(const array& a, const array& b, StreamOrDevice s = {});

// alpha * (a @ b) + beta * c, with c broadcast to the product's shape
// (floating dtypes only). beta 0 ignores c (NaNs in it too), as BLAS does.
array addmm(const array& c, const array& a, const array& b, float alpha = 1.0f,
            float beta = 1.0f, StreamOrDevice s = {});

}  // namespace runnel
