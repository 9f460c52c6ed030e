// Small helpers shared by every layer: shapes in messages, axes, sizes and
// strides, and the "[fn] message" error. Search here before writing one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "runnel/core/small_alloc.h"
#include "runnel/device.h"

namespace runnel {

// Every array node has a shape and strides: their few elements come from the
// per-thread small-block lists rather than the system allocator.
using Shape = std::vector<int, detail::SmallAllocator<int>>;
using Strides = std::vector<int64_t, detail::SmallAllocator<int64_t>>;

// A shape as numpy prints it: "(2,3)", "(4,)", "()".
std::string shape_str(const Shape& s);

// Throws std::invalid_argument("[fn] msg"): bad arguments, at the call.
[[noreturn]] void invalid_argument(const char* fn, const std::string& msg);

// `axis` in [0, ndim), negative counting from the end; std::invalid_argument
// naming `fn` otherwise (an axis is not an index: std::out_of_range is kept
// for index values out of bounds).
int normalize_axis(int axis, int ndim, const char* fn);

// std::invalid_argument naming `fn` for a negative dimension.
void check_shape(const Shape& shape, const char* fn);

namespace detail {

// Row-major strides (in elements) of a contiguous array of `shape`.
Strides contiguous_strides(const Shape& shape);
// The number of elements of `shape`.
size_t shape_size(const Shape& shape);

// "4.00 MiB": sizes in messages.
std::string human_bytes(size_t n);

// std::invalid_argument ("[fn] Device(gpu, 1) is not available.") when `d`
// is not available.
void check_available(const Device& d, const char* fn);

}  // namespace detail
}  // namespace runnel
