// Shape ops and data movement: views, slicing, concatenation.
#include "python/src/common.h"

namespace runnel::python {

void init_ops_shape(nb::module_& m) { (void)m; }

void init_array_indexing(nb::class_<array>& cls) { (void)cls; }

}  // namespace runnel::python
