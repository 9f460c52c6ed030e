// runnel._core: the module, its exception mapping and the binding families.
#include "python/src/common.h"
#include "runnel/errors.h"

NB_MODULE(_core, m) {
  using namespace runnel::python;
  m.doc() =
      "runnel: asynchronous arrays on CPUs and CUDA GPUs through devices and "
      "streams, with MLX's names.";
  // std::invalid_argument -> ValueError and std::out_of_range -> IndexError
  // are nanobind's own mapping; out-of-memory is runnel's.
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const runnel::out_of_memory& e) {
      PyErr_SetString(PyExc_MemoryError, e.what());
    }
  });
  init_device_stream(m);
  init_array(m);
  init_ops(m);
  init_ops_elementwise(m);
  init_ops_reduce(m);
  init_ops_shape(m);
  init_ops_random(m);
  init_ops_linalg(m);
  init_ops_indexing(m);
  init_dlpack(m);
  init_memory(m);
  init_testing(m);
}
