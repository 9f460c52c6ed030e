// Reductions, scans and softmax.
#include "python/src/common.h"

namespace runnel::python {

using namespace nb::literals;

void init_ops_reduce(nb::module_& m) {
  m.def(
      "sum",
      [](nb::handle a, nb::handle axis, bool keepdims, nb::handle stream) {
        if (!axis.is_none() || keepdims) {
          throw std::invalid_argument(
              "[sum] only the sum of every element (axis=None, "
              "keepdims=False) is supported for now.");
        }
        return sum(to_array(a, std::nullopt, "sum"),
                   to_stream_or_device(stream, "sum"));
      },
      "a"_a, "axis"_a.none() = nb::none(), "keepdims"_a = false, nb::kw_only(),
      "stream"_a.none() = nb::none(),
      "The sum of every element, as a 0-d array. bool sums as int32; other "
      "dtypes keep theirs (integers wrap).");
}

}  // namespace runnel::python
