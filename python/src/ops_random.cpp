// The rn.random submodule.
#include "python/src/common.h"

namespace runnel::python {

void init_ops_random(nb::module_& m) { (void)m; }

}  // namespace runnel::python
