#include "runnel/ops/creation.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include "runnel/ops/elementwise.h"
#include "runnel/primitives/creation.h"

namespace runnel {
array full(Shape shape, const array& value, Dtype dtype, StreamOrDevice s) {
  check_shape(shape, "full");
  Shape out = broadcast_shapes(shape, value.shape(), "full");
  if (out != shape) {
    throw std::invalid_argument(
        "[full] The value's shape does not broadcast to the shape asked for.");
  }
  array v = value.dtype() == dtype ? value : astype(value, dtype, s);
  return array(std::move(shape), dtype, shared_primitive<Broadcast>(), {v},
               to_stream(s));
}

array full(Shape shape, const array& value, StreamOrDevice s) {
  return full(std::move(shape), value, value.dtype(), s);
}

array zeros(const Shape& shape, Dtype dtype, StreamOrDevice s) {
  check_shape(shape, "zeros");
  return full(shape, array(0, dtype), dtype, s);
}

array ones(const Shape& shape, Dtype dtype, StreamOrDevice s) {
  check_shape(shape, "ones");
  return full(shape, array(1, dtype), dtype, s);
}

array arange(double start, double stop, double step, Dtype dtype,
             StreamOrDevice s) {
  if (step == 0 || !std::isfinite(step) || !std::isfinite(start) ||
      !std::isfinite(stop)) {
    throw std::invalid_argument(
        "[arange] start, stop and step must be finite and step nonzero.");
  }
  if (dtype == bool_) {
    throw std::invalid_argument("[arange] bool is not supported.");
  }
  double n = std::ceil((stop - start) / step);
  if (n > 2147483647.0) {
    throw std::invalid_argument("[arange] " + std::to_string(n) +
                                " elements is more than an axis can hold.");
  }
  int size = n > 0 ? static_cast<int>(n) : 0;
  return array(Shape{size}, dtype, std::make_shared<Arange>(start, step), {},
               to_stream(s));
}

array arange(double start, double stop, double step, StreamOrDevice s) {
  return arange(start, stop, step, float32, s);
}

array arange(double stop, StreamOrDevice s) {
  return arange(0.0, stop, 1.0, float32, s);
}

array arange(int start, int stop, int step, StreamOrDevice s) {
  return arange(start, stop, step, int32, s);
}

array arange(int stop, StreamOrDevice s) { return arange(0, stop, 1, s); }

array zeros_like(const array& a, StreamOrDevice s) {
  return zeros(a.shape(), a.dtype(), s);
}

array ones_like(const array& a, StreamOrDevice s) {
  return ones(a.shape(), a.dtype(), s);
}

array full_like(const array& a, const array& value, Dtype dtype,
                StreamOrDevice s) {
  Shape out = broadcast_shapes(a.shape(), value.shape(), "full_like");
  if (out != a.shape()) {
    throw std::invalid_argument(
        "[full_like] The value's shape does not broadcast to the input's "
        "shape.");
  }
  return full(a.shape(), value, dtype, s);
}

array full_like(const array& a, const array& value, StreamOrDevice s) {
  return full_like(a, value, a.dtype(), s);
}

array linspace(double start, double stop, int num, Dtype dtype,
               StreamOrDevice s) {
  if (num < 0) {
    throw std::invalid_argument("[linspace] num must be non-negative, not " +
                                std::to_string(num) + ".");
  }
  if (!std::isfinite(start) || !std::isfinite(stop)) {
    throw std::invalid_argument("[linspace] start and stop must be finite.");
  }
  return array(Shape{num}, dtype, std::make_shared<Linspace>(start, stop), {},
               to_stream(s));
}

array eye(int n, int m, int k, Dtype dtype, StreamOrDevice s) {
  if (n < 0 || m < 0) {
    throw std::invalid_argument("[eye] n and m must be non-negative, not " +
                                std::to_string(n) + " and " +
                                std::to_string(m) + ".");
  }
  return array(Shape{n, m}, dtype, std::make_shared<Eye>(k), {}, to_stream(s));
}

array eye(int n, Dtype dtype, StreamOrDevice s) {
  return eye(n, n, 0, dtype, s);
}

array identity(int n, Dtype dtype, StreamOrDevice s) {
  if (n < 0) {
    throw std::invalid_argument("[identity] n must be non-negative, not " +
                                std::to_string(n) + ".");
  }
  return eye(n, n, 0, dtype, s);
}

array astype(const array& a, Dtype dtype, StreamOrDevice s) {
  Stream st = to_stream(s);  // a bad stream fails also when nothing is done
  if (a.dtype() == dtype) return a;
  return array(a.shape(), dtype, shared_primitive<AsType>(), {a}, st);
}

namespace detail {

array adopt(std::shared_ptr<Buffer> data, Shape shape, Strides strides,
            int64_t offset, Dtype dtype, const Stream& s) {
  return array(std::move(shape), std::move(strides), offset, dtype,
               std::make_shared<Adopt>(std::move(data)), {}, s);
}

}  // namespace detail

}  // namespace runnel
