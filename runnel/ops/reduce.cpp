#include "runnel/ops/reduce.h"

#include "runnel/ops/creation.h"
#include "runnel/primitives/reduce.h"

namespace runnel {

array sum(const array& a, StreamOrDevice s) {
  Stream st = to_stream(s);
  Dtype t = a.dtype() == bool_ ? int32 : a.dtype();
  return array(Shape{}, t, shared_primitive<SumAll>(), {astype(a, t, st)}, st);
}

}  // namespace runnel
