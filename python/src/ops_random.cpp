// The rn.random submodule: MLX's random API over runnel::random.
#include <nanobind/stl/optional.h>

#include "python/src/common.h"

namespace runnel::python {
namespace {

using namespace nb::literals;

std::optional<array> to_key(nb::handle h, const char* fn) {
  if (h.is_none()) return std::nullopt;
  if (!nb::isinstance<array>(h)) {
    throw nb::type_error((std::string("[") + fn +
                          "] key must be an array (or None), not " +
                          nb::type_name(h.type()).c_str() + ".")
                             .c_str());
  }
  return nb::cast<array>(h);
}

// A parameter (scalar or array). A Python float is kept in float64 until the
// op casts it to the output's dtype, so that float64 outputs see its exact
// value.
array to_param(nb::handle h, const char* fn) {
  if (PyFloat_Check(h.ptr())) return array(PyFloat_AsDouble(h.ptr()));
  return to_array(h, std::nullopt, fn);
}

}  // namespace

void init_ops_random(nb::module_& parent) {
  nb::module_ m = parent.def_submodule(
      "random",
      "Random numbers with MLX's API: a counter-based generator (Threefry-"
      "2x32) keyed by explicit keys (uint32 arrays of shape (2,)) or by the "
      "global key state, which seed() resets and every call without a key "
      "splits. Values depend only on the key, shape and dtype.");
  // `import runnel.random` and `from runnel.random import ...` work too.
  nb::module_::import_("sys").attr("modules")["runnel.random"] = m;
  m.def(
      "seed", [](nb::handle s) { random::seed(to_uint64(s, "seed", "seed")); },
      "seed"_a.none(), "seed(seed): resets the global key state to key(seed).");
  m.def(
      "key",
      [](nb::handle s) { return random::key(to_uint64(s, "key", "seed")); },
      "seed"_a.none(),
      "key(seed) -> array: the key (seed >> 32, seed & 0xffffffff), a uint32 "
      "array of shape (2,).");
  m.def(
      "split",
      [](nb::handle key, nb::handle num, nb::handle stream) {
        std::optional<array> k = to_key(key, "split");
        if (!k) throw nb::type_error("[split] key must be an array, not None.");
        return random::split(*k, to_int(num, "split", "num"),
                             to_stream_or_device(stream, "split"));
      },
      "key"_a.none(), "num"_a.none() = 2, nb::kw_only(),
      "stream"_a.none() = nb::none(),
      "split(key, num=2, *, stream=None) -> array: num new keys from key, "
      "as an array of shape (num, 2).");
  m.def(
      "bits",
      [](nb::handle shape, nb::handle width, nb::handle key,
         nb::handle stream) {
        return random::bits(to_shape(shape, "bits"),
                            to_int(width, "bits", "width"), to_key(key, "bits"),
                            to_stream_or_device(stream, "bits"));
      },
      "shape"_a.none() = nb::make_tuple(), "width"_a.none() = 4,
      "key"_a.none() = nb::none(), nb::kw_only(),
      "stream"_a.none() = nb::none(),
      "bits(shape=(), width=4, key=None, *, stream=None) -> array: raw random "
      "bits as uint8, uint16 or uint32 for width 1, 2 or 4.");
  m.def(
      "uniform",
      [](nb::handle low, nb::handle high, nb::handle shape, nb::handle dtype,
         nb::handle key, nb::handle stream) {
        return random::uniform(
            to_param(low, "uniform"), to_param(high, "uniform"),
            to_shape(shape, "uniform"),
            to_dtype(dtype, "uniform").value_or(float32),
            to_key(key, "uniform"), to_stream_or_device(stream, "uniform"));
      },
      "low"_a.none() = 0, "high"_a.none() = 1,
      "shape"_a.none() = nb::make_tuple(), "dtype"_a.none() = nb::none(),
      "key"_a.none() = nb::none(), nb::kw_only(),
      "stream"_a.none() = nb::none(),
      "uniform(low=0, high=1, shape=(), dtype=float32, key=None, *, "
      "stream=None) -> array: values uniform in [low, high) of a floating "
      "dtype; low and high (scalars or arrays) broadcast to shape.");
  m.def(
      "normal",
      [](nb::handle shape, nb::handle dtype, nb::handle loc, nb::handle scale,
         nb::handle key, nb::handle stream) {
        return random::normal(to_shape(shape, "normal"),
                              to_dtype(dtype, "normal").value_or(float32),
                              to_param(loc, "normal"),
                              to_param(scale, "normal"), to_key(key, "normal"),
                              to_stream_or_device(stream, "normal"));
      },
      "shape"_a.none() = nb::make_tuple(), "dtype"_a.none() = nb::none(),
      "loc"_a.none() = 0.0, "scale"_a.none() = 1.0, "key"_a.none() = nb::none(),
      nb::kw_only(), "stream"_a.none() = nb::none(),
      "normal(shape=(), dtype=float32, loc=0.0, scale=1.0, key=None, *, "
      "stream=None) -> array: normal values with mean loc and standard "
      "deviation scale (floats or arrays broadcast to shape).");
  m.def(
      "randint",
      [](nb::handle low, nb::handle high, nb::handle shape, nb::handle dtype,
         nb::handle key, nb::handle stream) {
        return random::randint(
            to_param(low, "randint"), to_param(high, "randint"),
            to_shape(shape, "randint"),
            to_dtype(dtype, "randint").value_or(int32), to_key(key, "randint"),
            to_stream_or_device(stream, "randint"));
      },
      "low"_a.none(), "high"_a.none(), "shape"_a.none() = nb::make_tuple(),
      "dtype"_a.none() = nb::none(), "key"_a.none() = nb::none(), nb::kw_only(),
      "stream"_a.none() = nb::none(),
      "randint(low, high, shape=(), dtype=int32, key=None, *, stream=None) "
      "-> array: integers in [low, high), each equally likely; low and high "
      "(scalars or arrays) broadcast to shape and are clipped to the dtype.");
  m.def(
      "bernoulli",
      [](nb::handle p, nb::handle shape, nb::handle key, nb::handle stream) {
        array pa = to_array(p, std::nullopt, "bernoulli");
        auto k = to_key(key, "bernoulli");
        StreamOrDevice s = to_stream_or_device(stream, "bernoulli");
        if (shape.is_none()) return random::bernoulli(pa, k, s);
        return random::bernoulli(pa, to_shape(shape, "bernoulli"), k, s);
      },
      "p"_a.none() = 0.5, "shape"_a.none() = nb::none(),
      "key"_a.none() = nb::none(), nb::kw_only(),
      "stream"_a.none() = nb::none(),
      "bernoulli(p=0.5, shape=None, key=None, *, stream=None) -> array: bool "
      "values, true with probability p (a float or a floating array "
      "broadcast to shape; shape defaults to p's).");
}

}  // namespace runnel::python
