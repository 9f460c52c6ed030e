// Creation ops. Each runs lazily on its stream, like every op.
#pragma once

#include <cstdint>
#include <memory>

#include "runnel/array.h"

namespace runnel {

// An array of `shape` filled with `value` (broadcast), as `dtype`.
array full(Shape shape, const array& value, Dtype dtype, StreamOrDevice s = {});
// The same, keeping value's dtype.
array full(Shape shape, const array& value, StreamOrDevice s = {});
array zeros(const Shape& shape, Dtype dtype = float32, StreamOrDevice s = {});
array ones(const Shape& shape, Dtype dtype = float32, StreamOrDevice s = {});

// Values from start (inclusive) to stop (exclusive) by step; std::invalid_
// argument for a zero or non-finite step.
array arange(double start, double stop, double step, Dtype dtype,
             StreamOrDevice s = {});
// float32.
array arange(double start, double stop, double step = 1.0,
             StreamOrDevice s = {});
array arange(double stop, StreamOrDevice s = {});
// int32.
array arange(int start, int stop, int step = 1, StreamOrDevice s = {});
array arange(int stop, StreamOrDevice s = {});

// Of a's shape and dtype.
array zeros_like(const array& a, StreamOrDevice s = {});
array ones_like(const array& a, StreamOrDevice s = {});
// Of a's shape, filled with `value` (broadcast), as `dtype` (default: a's).
array full_like(const array& a, const array& value, Dtype dtype,
                StreamOrDevice s = {});
array full_like(const array& a, const array& value, StreamOrDevice s = {});

// `num` evenly spaced values from start to stop, both included (stop exactly
// when num > 1), computed in double and cast to `dtype` (integers round
// toward zero, as astype).
array linspace(double start, double stop, int num = 50, Dtype dtype = float32,
               StreamOrDevice s = {});

// An (n, m) matrix with ones on diagonal k (0: the main one, > 0 above it,
// < 0 below) and zeros elsewhere.
array eye(int n, int m, int k, Dtype dtype = float32, StreamOrDevice s = {});
array eye(int n, Dtype dtype = float32, StreamOrDevice s = {});
// The (n, n) identity matrix.
array identity(int n, Dtype dtype = float32, StreamOrDevice s = {});

// A copy of `a` as `dtype` (numpy's casting of values).
array astype(const array& a, Dtype dtype, StreamOrDevice s = {});

namespace detail {

class Buffer;

// Internal (from_dlpack): an array over `data` that another library made,
// with `strides` and `offset` in elements as on an array node. On `s`, it is
// complete once the op adopting `data` has run there: for GPU memory, after
// whatever `s`'s CUDA stream was made to wait for before then.
array adopt(std::shared_ptr<Buffer> data, Shape shape, Strides strides,
            int64_t offset, Dtype dtype, const Stream& s);

}  // namespace detail

}  // namespace runnel
