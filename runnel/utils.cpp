#include "runnel/utils.h"

#include <cstdio>
#include <sstream>
#include <stdexcept>

namespace runnel {

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << "(";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? "," : "") << s[i];
  os << (s.size() == 1 ? ",)" : ")");
  return os.str();
}

void invalid_argument(const char* fn, const std::string& msg) {
  throw std::invalid_argument(std::string("[") + fn + "] " + msg);
}

int normalize_axis(int axis, int ndim, const char* fn) {
  if (axis < -ndim || axis >= ndim) {
    invalid_argument(fn, "axis " + std::to_string(axis) +
                             " is out of bounds for an array of " +
                             std::to_string(ndim) + " dimensions.");
  }
  return axis < 0 ? axis + ndim : axis;
}

void check_shape(const Shape& shape, const char* fn) {
  for (int d : shape) {
    if (d < 0) {
      invalid_argument(
          fn, "Negative dimension " + std::to_string(d) + " in shape.");
    }
  }
}

namespace detail {

Strides contiguous_strides(const Shape& shape) {
  Strides s(shape.size());
  int64_t acc = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

size_t shape_size(const Shape& shape) {
  size_t n = 1;
  for (int d : shape) n *= static_cast<size_t>(d);
  return n;
}

std::string human_bytes(size_t n) {
  char buf[64];
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f %s" : "%.2f %s", v, units[u]);
  return buf;
}

void check_available(const Device& d, const char* fn) {
  if (!is_available(d)) {
    invalid_argument(fn, to_string(d) + " is not available.");
  }
}

}  // namespace detail
}  // namespace runnel
