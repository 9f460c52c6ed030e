// Reductions, scans and softmax, with MLX's signatures.
//
// Axes: each reduction has a form over every axis, one over a list of axes
// and one over a single axis. Negative axes count from the end; an axis out
// of range or given twice raises std::invalid_argument("[op] ..."). An empty
// list reduces nothing (the result is the input, in the output dtype).
// keepdims keeps the reduced axes with size 1.
//
// Float sums (sum, mean, var, std, logsumexp, softmax) are pairwise: the
// error grows with log(n), not n. Large reductions are split over idle
// workers in chunks that depend only on the shape, so a result does not
// depend on the number of threads. float16 and bfloat16 accumulate in float32.
#pragma once

#include <vector>

#include "runnel/array.h"

namespace runnel {

// Sum. bool sums as int32 (as MLX); every other dtype keeps its own, and
// integer sums wrap. (Recent MLX releases also widen int8/int16 to int32 and
// uint8/uint16 to uint32; runnel keeps the dtype, as numpy does for an
// explicit dtype.) Over zero elements: 0. Over every axis it builds the SumAll
// primitive, which also runs on the GPU.
array sum(const array& a, bool keepdims, StreamOrDevice s = {});
array sum(const array& a, StreamOrDevice s = {});
array sum(const array& a, const std::vector<int>& axes, bool keepdims = false,
          StreamOrDevice s = {});
array sum(const array& a, int axis, bool keepdims = false,
          StreamOrDevice s = {});

// Product; dtypes as sum (bool -> int32, integers wrap). Over zero
// elements: 1.
array prod(const array& a, bool keepdims, StreamOrDevice s = {});
array prod(const array& a, StreamOrDevice s = {});
array prod(const array& a, const std::vector<int>& axes, bool keepdims = false,
           StreamOrDevice s = {});
array prod(const array& a, int axis, bool keepdims = false,
           StreamOrDevice s = {});

// Largest / smallest element; keeps the dtype. NaN wins, as in numpy.
// Reducing over a zero-size axis raises (there is no identity), as numpy.
array max(const array& a, bool keepdims, StreamOrDevice s = {});
array max(const array& a, StreamOrDevice s = {});
array max(const array& a, const std::vector<int>& axes, bool keepdims = false,
          StreamOrDevice s = {});
array max(const array& a, int axis, bool keepdims = false,
          StreamOrDevice s = {});
array min(const array& a, bool keepdims, StreamOrDevice s = {});
array min(const array& a, StreamOrDevice s = {});
array min(const array& a, const std::vector<int>& axes, bool keepdims = false,
          StreamOrDevice s = {});
array min(const array& a, int axis, bool keepdims = false,
          StreamOrDevice s = {});

// Mean; integer and bool inputs compute in float32 (MLX's at-least-float),
// floats keep their dtype. Over zero elements: NaN.
array mean(const array& a, bool keepdims, StreamOrDevice s = {});
array mean(const array& a, StreamOrDevice s = {});
array mean(const array& a, const std::vector<int>& axes, bool keepdims = false,
           StreamOrDevice s = {});
array mean(const array& a, int axis, bool keepdims = false,
           StreamOrDevice s = {});

// Variance sum((x - mean)^2) / (n - ddof) (two passes) and its square root;
// dtypes as mean. n - ddof <= 0 divides by zero (inf, or NaN for 0/0), as
// numpy.
array var(const array& a, bool keepdims, int ddof = 0, StreamOrDevice s = {});
array var(const array& a, StreamOrDevice s = {});
array var(const array& a, const std::vector<int>& axes, bool keepdims = false,
          int ddof = 0, StreamOrDevice s = {});
array var(const array& a, int axis, bool keepdims = false, int ddof = 0,
          StreamOrDevice s = {});
array std(const array& a, bool keepdims, int ddof = 0, StreamOrDevice s = {});
array std(const array& a, StreamOrDevice s = {});
array std(const array& a, const std::vector<int>& axes, bool keepdims = false,
          int ddof = 0, StreamOrDevice s = {});
array std(const array& a, int axis, bool keepdims = false, int ddof = 0,
          StreamOrDevice s = {});

// Whether every / any element is nonzero (NaN is nonzero); bool output,
// any input dtype. Over zero elements: true / false.
array all(const array& a, bool keepdims, StreamOrDevice s = {});
array all(const array& a, StreamOrDevice s = {});
array all(const array& a, const std::vector<int>& axes, bool keepdims = false,
          StreamOrDevice s = {});
array all(const array& a, int axis, bool keepdims = false,
          StreamOrDevice s = {});
array any(const array& a, bool keepdims, StreamOrDevice s = {});
array any(const array& a, StreamOrDevice s = {});
array any(const array& a, const std::vector<int>& axes, bool keepdims = false,
          StreamOrDevice s = {});
array any(const array& a, int axis, bool keepdims = false,
          StreamOrDevice s = {});

// log(sum(exp(a))), computed as max + log(sum(exp(a - max))); dtypes as
// mean. A max of +-inf gives itself. Over a zero-size axis it raises, as max
// does (MLX raises for any empty input).
array logsumexp(const array& a, bool keepdims, StreamOrDevice s = {});
array logsumexp(const array& a, StreamOrDevice s = {});
array logsumexp(const array& a, const std::vector<int>& axes,
                bool keepdims = false, StreamOrDevice s = {});
array logsumexp(const array& a, int axis, bool keepdims = false,
                StreamOrDevice s = {});

// Index of the first largest / smallest element, as uint32 (MLX's dtype),
// along one axis or over the flattened array. NaN counts as the extreme (the
// first NaN's index), as numpy. A zero-size axis raises, as numpy.
array argmax(const array& a, bool keepdims, StreamOrDevice s = {});
array argmax(const array& a, StreamOrDevice s = {});
array argmax(const array& a, int axis, bool keepdims = false,
             StreamOrDevice s = {});
array argmin(const array& a, bool keepdims, StreamOrDevice s = {});
array argmin(const array& a, StreamOrDevice s = {});
array argmin(const array& a, int axis, bool keepdims = false,
             StreamOrDevice s = {});

// Cumulative sum / product along an axis, or over the flattened array (a 1-d
// result). reverse scans from the end; an exclusive scan (inclusive = false)
// starts from 0 (1) and leaves out the element itself. cumsum of bool is
// int32; other dtypes keep theirs (integers wrap; cumprod of bool is bool,
// as MLX). Sums are sequential, as numpy's; half types accumulate in float32.
array cumsum(const array& a, int axis, bool reverse = false,
             bool inclusive = true, StreamOrDevice s = {});
array cumsum(const array& a, bool reverse = false, bool inclusive = true,
             StreamOrDevice s = {});
array cumprod(const array& a, int axis, bool reverse = false,
              bool inclusive = true, StreamOrDevice s = {});
array cumprod(const array& a, bool reverse = false, bool inclusive = true,
              StreamOrDevice s = {});

// exp(a - max) / sum(exp(a - max)) over the axes (every axis by default):
// numerically stable. Integer and bool inputs compute in float32. `precise`
// is MLX's flag for accumulating half types in float32: runnel always does.
array softmax(const array& a, const std::vector<int>& axes,
              bool precise = false, StreamOrDevice s = {});
array softmax(const array& a, int axis, bool precise = false,
              StreamOrDevice s = {});
array softmax(const array& a, bool precise = false, StreamOrDevice s = {});

}  // namespace runnel
