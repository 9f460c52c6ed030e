#include "runnel/ops/linalg.h"

#include <algorithm>
#include <sstream>
#include <stdexcept>
#include <string>

#include "runnel/ops/creation.h"
#include "runnel/ops/elementwise.h"
#include "runnel/primitives/linalg.h"

namespace runnel {
namespace {

// The shape of a @ b, after checking the operands.
Shape product_shape(const array& a, const array& b, const char* fn) {
  if (a.ndim() == 0 || b.ndim() == 0) {
    throw std::invalid_argument(
        std::string("[") + fn +
        "] Inputs must have at least one dimension (got shapes " +
        shape_str(a.shape()) + " and " + shape_str(b.shape()) + ").");
  }
  const int ka = a.shape(-1);
  const int kb = b.ndim() == 1 ? b.shape(0) : b.shape(-2);
  if (ka != kb) {
    throw std::invalid_argument(
        std::string("[") + fn + "] Last dimension of the first input (shape " +
        shape_str(a.shape()) +
        ") must match the second to last dimension of the second input "
        "(shape " +
        shape_str(b.shape()) + ").");
  }
  Shape ab(a.shape().begin(), a.shape().end() - std::min(a.ndim(), 2));
  Shape bb(b.shape().begin(), b.shape().end() - std::min(b.ndim(), 2));
  Shape out = broadcast_shapes(ab, bb, fn);
  if (a.ndim() > 1) out.push_back(a.shape(-2));
  if (b.ndim() > 1) out.push_back(b.shape(-1));
  return out;
}

}  // namespace

array matmul(const array& a, const array& b, StreamOrDevice s) {
  Shape shape = product_shape(a, b, "matmul");
  Stream st = to_stream(s);
  Dtype t = promote_types(a.dtype(), b.dtype());
  return array(std::move(shape), t, shared_primitive<Matmul>(),
               {astype(a, t, st), astype(b, t, st)}, st);
}

array addmm(const array& c, const array& a, const array& b, float alpha,
            float beta, StreamOrDevice s) {
  Shape shape = product_shape(a, b, "addmm");
  Dtype t = promote_types(promote_types(a.dtype(), b.dtype()), c.dtype());
  if (!is_floating_point(t)) {
    std::ostringstream os;
    os << "[addmm] Only floating point types are supported, not " << t << ".";
    throw std::invalid_argument(os.str());
  }
  if (broadcast_shapes(c.shape(), shape, "addmm") != shape) {
    throw std::invalid_argument("[addmm] c of shape " + shape_str(c.shape()) +
                                " does not broadcast to the product's shape " +
                                shape_str(shape) + ".");
  }
  Stream st = to_stream(s);
  return array(std::move(shape), t, std::make_shared<AddMM>(alpha, beta),
               {astype(a, t, st), astype(b, t, st), astype(c, t, st)}, st);
}

}  // namespace runnel
