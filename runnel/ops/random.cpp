#include "runnel/ops/random.h"

#include <chrono>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>

#include "runnel/backend/common/random.h"
#include "runnel/ops/creation.h"
#include "runnel/ops/elementwise.h"
#include "runnel/primitives/random.h"

namespace runnel::random {
namespace {

void check_key(const array& k, const char* fn) {
  if (k.dtype() != uint32 || k.shape() != Shape{2}) {
    std::ostringstream os;
    os << "The key must be a uint32 array of shape (2,), not " << k.dtype()
       << " " << shape_str(k.shape()) << ".";
    invalid_argument(fn, os.str());
  }
}

// The global key state: one owner (this file), one lock. Kept on the host and
// split there, with the same function the kernels use: taking a key costs no
// op and no graph grows behind the state.
struct KeyState {
  std::mutex mu;
  random_bits::Key key;
};

random_bits::Key key_of(uint64_t seed) {
  return {static_cast<uint32_t>(seed >> 32), static_cast<uint32_t>(seed)};
}

KeyState& state() {
  static KeyState* s = [] {
    auto* st = new KeyState;  // never destroyed: used until exit
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
    st->key = key_of(static_cast<uint64_t>(ms));
    return st;
  }();
  return *s;
}

array next_key() {
  auto& st = state();
  uint32_t w[4];
  {
    std::lock_guard lock(st.mu);
    for (int i = 0; i < 4; ++i) w[i] = random_bits::word(st.key, i);
    st.key = {w[0], w[1]};  // split(key)'s first key: the new state
  }
  return array({w[2], w[3]});  // its second: the key used
}

array resolve_key(const std::optional<array>& k, const char* fn) {
  if (!k) return next_key();
  check_key(*k, fn);
  return *k;
}

// The shape a parameter broadcasts to must be the requested shape.
void check_params(const Shape& shape, const array& a, const array& b,
                  const char* fn) {
  Shape out = broadcast_shapes(shape, a.shape(), fn);
  out = broadcast_shapes(out, b.shape(), fn);
  if (out != shape) {
    invalid_argument(
        fn, "Cannot generate random values of shape " + shape_str(shape) +
                " from parameters broadcast to " + shape_str(out) + ".");
  }
}

}  // namespace

void seed(uint64_t seed) {
  auto& st = state();
  std::lock_guard lock(st.mu);
  st.key = key_of(seed);
}

array key(uint64_t seed) {
  random_bits::Key k = key_of(seed);
  return array({k.k0, k.k1});
}

array split(const array& key, int num, StreamOrDevice s) {
  check_key(key, "split");
  if (num < 0)
    invalid_argument(
        "split", "num must be non-negative, not " + std::to_string(num) + ".");
  return array(Shape{num, 2}, uint32, shared_primitive<RandomBits>(), {key},
               to_stream(s));
}

std::pair<array, array> split(const array& key, StreamOrDevice s) {
  check_key(key, "split");
  auto out =
      array::make_arrays({Shape{2}, Shape{2}}, {uint32, uint32},
                         shared_primitive<RandomBits>(), {key}, to_stream(s));
  return {out[0], out[1]};
}

array bits(const Shape& shape, int width, const std::optional<array>& key,
           StreamOrDevice s) {
  check_shape(shape, "bits");
  Dtype t = width == 1 ? uint8 : width == 2 ? uint16 : uint32;
  if (width != 1 && width != 2 && width != 4) {
    invalid_argument(
        "bits", "width must be 1, 2 or 4, not " + std::to_string(width) + ".");
  }
  array k = resolve_key(key, "bits");
  return array(shape, t, shared_primitive<RandomBits>(), {k}, to_stream(s));
}

array uniform(const array& low, const array& high, const Shape& shape,
              Dtype dtype, const std::optional<array>& key, StreamOrDevice s) {
  check_shape(shape, "uniform");
  if (!is_floating_point(dtype)) {
    std::ostringstream os;
    os << "Can only generate uniform numbers of a floating point type, not "
       << dtype << ".";
    invalid_argument("uniform", os.str());
  }
  check_params(shape, low, high, "uniform");
  array k = resolve_key(key, "uniform");
  Stream st = to_stream(s);
  return array(shape, dtype, shared_primitive<RandomUniform>(),
               {k, astype(low, dtype, st), astype(high, dtype, st)}, st);
}

array uniform(const Shape& shape, Dtype dtype, const std::optional<array>& key,
              StreamOrDevice s) {
  return uniform(array(0.0f), array(1.0f), shape, dtype, key, s);
}

array normal(const Shape& shape, Dtype dtype, const array& loc,
             const array& scale, const std::optional<array>& key,
             StreamOrDevice s) {
  check_shape(shape, "normal");
  if (!is_floating_point(dtype)) {
    std::ostringstream os;
    os << "Can only generate normal numbers of a floating point type, not "
       << dtype << ".";
    invalid_argument("normal", os.str());
  }
  check_params(shape, loc, scale, "normal");
  array k = resolve_key(key, "normal");
  Stream st = to_stream(s);
  return array(shape, dtype, shared_primitive<RandomNormal>(),
               {k, astype(loc, dtype, st), astype(scale, dtype, st)}, st);
}

array normal(const Shape& shape, Dtype dtype, double loc, double scale,
             const std::optional<array>& key, StreamOrDevice s) {
  return normal(shape, dtype, array(loc), array(scale), key, s);
}

array randint(const array& low, const array& high, const Shape& shape,
              Dtype dtype, const std::optional<array>& key, StreamOrDevice s) {
  check_shape(shape, "randint");
  if (!is_integral(dtype)) {
    std::ostringstream os;
    os << "randint only generates integer types, not " << dtype << ".";
    invalid_argument("randint", os.str());
  }
  check_params(shape, low, high, "randint");
  array k = resolve_key(key, "randint");
  Stream st = to_stream(s);
  Dtype p = dtype == uint64 ? uint64 : int64;
  return array(shape, dtype, shared_primitive<RandomInt>(),
               {k, astype(low, p, st), astype(high, p, st)}, st);
}

array bernoulli(const array& p, const Shape& shape,
                const std::optional<array>& key, StreamOrDevice s) {
  check_shape(shape, "bernoulli");
  if (!is_floating_point(p.dtype())) {
    std::ostringstream os;
    os << "The probability p must be of a floating point type, not "
       << p.dtype() << ".";
    invalid_argument("bernoulli", os.str());
  }
  check_params(shape, p, p, "bernoulli");
  array k = resolve_key(key, "bernoulli");
  return array(shape, bool_, shared_primitive<RandomBernoulli>(), {k, p},
               to_stream(s));
}

array bernoulli(const array& p, const std::optional<array>& key,
                StreamOrDevice s) {
  return bernoulli(p, p.shape(), key, s);
}

array bernoulli(const std::optional<array>& key, StreamOrDevice s) {
  return bernoulli(array(0.5f), Shape{}, key, s);
}

}  // namespace runnel::random
