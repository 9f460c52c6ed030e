// Elementwise ops with numpy broadcasting. Inputs are promoted to a common
// dtype (promote_types); integer arithmetic wraps.
#pragma once

#include "runnel/array.h"

namespace runnel {

// The shape `a` and `b` broadcast to; std::invalid_argument naming `fn`
// when they do not.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* fn);

array add(const array& a, const array& b, StreamOrDevice s = {});
array multiply(const array& a, const array& b, StreamOrDevice s = {});
// e^a; integer and bool inputs compute in float32.
array exp(const array& a, StreamOrDevice s = {});
// |a|; the most negative integer stays itself, as in numpy.
array abs(const array& a, StreamOrDevice s = {});

array operator+(const array& a, const array& b);
array operator*(const array& a, const array& b);

}  // namespace runnel
