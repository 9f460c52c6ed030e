#include "runnel/ops/elementwise.h"

#include <sstream>
#include <stdexcept>

#include "runnel/ops/creation.h"
#include "runnel/primitives/elementwise.h"

namespace runnel {
namespace {

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << "(";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? "," : "") << s[i];
  os << (s.size() == 1 ? ",)" : ")");
  return os.str();
}

template <class P>
array binary(const array& a, const array& b, StreamOrDevice s, const char* fn) {
  Shape shape = broadcast_shapes(a.shape(), b.shape(), fn);
  Stream st = to_stream(s);
  Dtype t = promote_types(a.dtype(), b.dtype());
  return array(std::move(shape), t, shared_primitive<P>(),
               {astype(a, t, st), astype(b, t, st)}, st);
}

}  // namespace

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* fn) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int da = i < a.size() ? a[a.size() - 1 - i] : 1;
    int db = i < b.size() ? b[b.size() - 1 - i] : 1;
    if (da != db && da != 1 && db != 1) {
      throw std::invalid_argument(std::string("[") + fn + "] Shapes " +
                                  shape_str(a) + " and " + shape_str(b) +
                                  " cannot be broadcast.");
    }
    out[n - 1 - i] = da == 1 ? db : da;
  }
  return out;
}

array add(const array& a, const array& b, StreamOrDevice s) {
  return binary<Add>(a, b, s, "add");
}

array multiply(const array& a, const array& b, StreamOrDevice s) {
  return binary<Multiply>(a, b, s, "multiply");
}

array exp(const array& a, StreamOrDevice s) {
  Stream st = to_stream(s);
  Dtype t = is_floating_point(a.dtype()) ? a.dtype() : float32;
  return array(a.shape(), t, shared_primitive<Exp>(), {astype(a, t, st)}, st);
}

array abs(const array& a, StreamOrDevice s) {
  return array(a.shape(), a.dtype(), shared_primitive<Abs>(), {a},
               to_stream(s));
}

array operator+(const array& a, const array& b) { return add(a, b); }
array operator*(const array& a, const array& b) { return multiply(a, b); }

}  // namespace runnel
