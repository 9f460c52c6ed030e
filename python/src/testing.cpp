// runnel._testing: the test hooks of runnel/testing.h.
#include "runnel/testing.h"

#include <nanobind/stl/string.h>

#include <memory>
#include <stdexcept>

#include "python/src/common.h"

namespace runnel::python {
namespace {

// A Python callable held from C++ threads: dropped under the GIL, and not at
// all once the interpreter is gone.
struct PyCallable {
  PyObject* fn;
  explicit PyCallable(nb::handle h) : fn(h.ptr()) { Py_INCREF(fn); }
  ~PyCallable() {
    if (nb::detail::cleanup_guard guard{}) Py_DECREF(fn);
  }
  PyCallable(const PyCallable&) = delete;
  PyCallable& operator=(const PyCallable&) = delete;
};

}  // namespace

void init_testing(nb::module_& parent) {
  using namespace nb::literals;
  nb::module_ m = parent.def_submodule(
      "_testing", "Test hooks: they make orderings observable without timing.");

  nb::class_<testing::Gate>(
      m, "Gate",
      "Work on a stream that finishes only when open() is called; dropping "
      "an unopened gate opens it.")
      .def(
          "open",
          [](testing::Gate& g) {
            nb::gil_scoped_release nogil;
            g.open();
          },
          "Lets the stream go on.");
  m.def(
      "block",
      [](nb::handle s) { return testing::block(to_stream(s, "block")); },
      "stream"_a,
      "A Gate on the stream: everything submitted to it after waits until "
      "Gate.open().");
  m.def(
      "enqueue",
      [](nb::handle s, nb::handle fn) {
        if (!PyCallable_Check(fn.ptr())) {
          throw nb::type_error("[enqueue] fn must be callable.");
        }
        auto held = std::make_shared<PyCallable>(fn);
        testing::enqueue(to_stream(s, "enqueue"), [held] {
          std::string error;
          {
            nb::detail::cleanup_guard guard{};
            if (!guard) return;
            PyObject* r = PyObject_CallNoArgs(held->fn);
            if (r) {
              Py_DECREF(r);
            } else {
              error = nb::python_error().what();
            }
          }
          if (!error.empty()) throw std::runtime_error(error);
        });
      },
      "stream"_a, "fn"_a,
      "Runs fn() on the stream, in order with its other work; an exception "
      "from fn goes to the stream's error slot.");
  m.def(
      "delay",
      [](nb::handle a, int64_t microseconds, nb::handle stream) {
        return testing::delay(to_array(a, std::nullopt, "delay"), microseconds,
                              to_stream_or_device(stream, "delay"));
      },
      "a"_a, "microseconds"_a, nb::kw_only(), "stream"_a.none() = nb::none(),
      "An identity op that sleeps (CPU) or spins (GPU) before passing a on.");
  m.def(
      "trap",
      [](nb::handle a, nb::handle stream) {
        return testing::trap(to_array(a, std::nullopt, "trap"),
                             to_stream_or_device(stream, "trap"));
      },
      "a"_a, nb::kw_only(), "stream"_a.none() = nb::none(),
      "An op that faults its device (the GPU is lost for the process); run "
      "it in a child process.");
  m.def("execution_count", &testing::execution_count, "op_name"_a,
        "How many times a primitive of that name ran.");
  m.def("set_max_batch", &testing::set_max_batch, "n"_a,
        "The most ops in one segment (0: no cap); RUNNEL_MAX_BATCH.");
  m.def("max_batch", &testing::max_batch, "The current segment cap.");
  m.def("set_fault", &testing::set_fault, "spec"_a,
        "'alloc:N' fails the Nth allocation from now, 'op:NAME:N' the Nth "
        "run of op NAME; '' clears. ValueError when malformed.");
  m.def("set_claim_delay", &testing::set_claim_delay, "microseconds"_a,
        "A random sleep up to this long between claiming and submitting in "
        "every eval (0: off).");
}

}  // namespace runnel::python
