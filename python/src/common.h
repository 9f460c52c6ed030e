// Conversions shared by the binding families: Python objects to streams,
// dtypes, shapes and arrays, with errors that name the function called.
#pragma once

#include <nanobind/nanobind.h>

#include <cstdint>
#include <optional>
#include <string>

#include "runnel/runnel.h"

namespace nb = nanobind;

namespace runnel::python {

// None, a Stream, a Device, a DeviceType, or an object with
// __runnel_stream__() (ThreadLocalStream); TypeError naming `fn` otherwise.
StreamOrDevice to_stream_or_device(nb::handle h, const char* fn);
// A Stream, or an object with __runnel_stream__(); TypeError otherwise.
Stream to_stream(nb::handle h, const char* fn);
// A Device or a DeviceType; TypeError otherwise.
Device to_device(nb::handle h, const char* fn);
// None: the default device.
Device to_device_or_default(nb::handle h, const char* fn);

// Python scalars for parameters of a C++ type, with errors naming `fn` and
// the parameter `what`: TypeError for another type (a bool is no int),
// ValueError for a value out of the C++ type's range.
int to_int(nb::handle h, const char* fn, const char* what);
// None gives nullopt.
std::optional<int> to_optional_int(nb::handle h, const char* fn,
                                   const char* what);
// A non-negative int below 2**64.
uint64_t to_uint64(nb::handle h, const char* fn, const char* what);
// A Python float or int, or anything with __float__ (numpy scalars).
double to_float(nb::handle h, const char* fn, const char* what);
bool to_bool(nb::handle h, const char* fn, const char* what);
std::string to_str(nb::handle h, const char* fn, const char* what);

// A runnel Dtype; TypeError otherwise. None gives nullopt.
std::optional<Dtype> to_dtype(nb::handle h, const char* fn);
// An int or a sequence of ints.
Shape to_shape(nb::handle h, const char* fn);

// An array, a Python scalar, a nested list or tuple of scalars, or anything
// numpy.asarray takes. Dtypes are inferred as MLX does: bool, int32 (int64
// when a value needs it), float32 (also for float64 numpy data). The data is
// copied; `dtype` converts it.
array to_array(nb::handle h, std::optional<Dtype> dtype, const char* fn);
// The operands of a binary op. A Python scalar beside an array is weak, as in
// MLX: it takes the array's dtype when it fits it (an int in an integer or
// float dtype, a float in a float dtype), so int32 + 1.5 is float32 and
// float16 + 1.0 is float16.
std::pair<array, array> to_arrays(nb::handle a, nb::handle b, const char* fn);

// a[key] for numpy's basic indexing: an int, a slice, None, Ellipsis, or a
// tuple of those. A view of `a` (on the default stream); IndexError
// ("[getitem] ...") for an index out of bounds, too many indices or a key
// of another kind (integer arrays and masks are not basic).
array index_basic(const array& a, nb::handle key);

// runnel's OverflowError for an integer too large for its dtype: a subclass
// of both OverflowError and ValueError (code that caught the ValueError
// raised before keeps working), created by the module.
PyObject* integer_overflow_error();

// The library's exception mapping applied to the exception in flight, for
// code that is not called through nanobind (type slots): sets the Python
// error indicator.
void set_python_error();

// Family registration, one per source file.
void init_device_stream(nb::module_& m);
void init_array(nb::module_& m);
void init_ops(nb::module_& m);  // creation
void init_ops_elementwise(nb::module_& m);
void init_ops_reduce(nb::module_& m);
void init_ops_shape(nb::module_& m);
void init_ops_random(nb::module_& m);  // the rn.random submodule
void init_ops_linalg(nb::module_& m);
void init_ops_indexing(nb::module_& m);  // gathers, scatters, rn.array.at
// Methods and operators of rn.array, by family.
void init_array_operators(nb::class_<array>& cls);   // ops_elementwise.cpp
void init_array_indexing(nb::class_<array>& cls);    // ops_shape.cpp
void init_array_reductions(nb::class_<array>& cls);  // ops_reduce.cpp
void init_array_matmul(nb::class_<array>& cls);      // ops_linalg.cpp
// __getitem__ beyond basic keys, __setitem__, .at (ops_indexing.cpp).
void init_array_indexing_advanced(nb::class_<array>& cls);
// DLPack: __dlpack__ and __dlpack_device__ (dlpack.cpp).
void init_array_dlpack(nb::class_<array>& cls);
void init_dlpack(nb::module_& m);  // from_dlpack
void init_memory(nb::module_& m);
void init_testing(nb::module_& m);

}  // namespace runnel::python
