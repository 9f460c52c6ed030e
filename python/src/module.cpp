// runnel._core: the module, its exception mapping and the binding families.
#include "python/src/common.h"
#include "runnel/errors.h"

namespace runnel::python {
namespace {
PyObject* overflow_type = nullptr;
}
PyObject* integer_overflow_error() { return overflow_type; }
}  // namespace runnel::python

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
  {
    nb::object bases = nb::make_tuple(nb::handle(PyExc_OverflowError),
                                      nb::handle(PyExc_ValueError));
    overflow_type = PyErr_NewExceptionWithDoc(
        "runnel.IntegerOverflowError",
        "An integer too large for its dtype: an OverflowError, and a "
        "ValueError as before.",
        bases.ptr(), nullptr);
    if (!overflow_type) throw nb::python_error();
    m.attr("_IntegerOverflowError") = nb::handle(overflow_type);
  }
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
