// matmul and addmm.
#include "python/src/common.h"

namespace runnel::python {

void init_ops_linalg(nb::module_& m) { (void)m; }

}  // namespace runnel::python
