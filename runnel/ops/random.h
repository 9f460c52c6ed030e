// Random numbers with MLX's API (runnel::random): a counter-based
// generator (Threefry-2x32, as JAX and MLX) keyed by explicit or global keys.
// A key is a uint32 array of shape (2,). The values depend only on the key,
// the shape and the dtype: never on the stream, device or thread count.
// Without a key, an op takes the next key of the global state: the state is
// split in two, the first half becomes the new state and the second is used.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>

#include "runnel/array.h"

namespace runnel::random {

// Resets the global key state to key(seed). The state starts from the time.
void seed(uint64_t seed);
// The key {seed >> 32, seed & 0xffffffff}, as MLX and JAX.
array key(uint64_t seed);

// `num` new keys from `key`, as an array of shape (num, 2).
array split(const array& key, int num, StreamOrDevice s = {});
// Two new keys (the rows of split(key, 2)).
std::pair<array, array> split(const array& key, StreamOrDevice s = {});

// Raw random bits of `shape`: uint8, uint16 or uint32 for width 1, 2 or 4
// (the little-endian bytes of the key's word stream).
array bits(const Shape& shape, int width = 4,
           const std::optional<array>& key = std::nullopt,
           StreamOrDevice s = {});

// Uniform values in [low, high) of a floating dtype; low and high (cast to
// `dtype`) broadcast to `shape`. Empty intervals (high <= low) give low +
// (high - low) * u for u in [0, 1).
array uniform(const array& low, const array& high, const Shape& shape,
              Dtype dtype = float32,
              const std::optional<array>& key = std::nullopt,
              StreamOrDevice s = {});
// In [0, 1).
array uniform(const Shape& shape, Dtype dtype = float32,
              const std::optional<array>& key = std::nullopt,
              StreamOrDevice s = {});

// Normal values loc + scale * z, z standard normal (by the inverse normal
// CDF of a uniform draw; |z| < 5.5 in float32 and half types, < 8.3 in
// float64). loc and scale (cast to `dtype`) broadcast to `shape`.
array normal(const Shape& shape, Dtype dtype, const array& loc,
             const array& scale, const std::optional<array>& key = std::nullopt,
             StreamOrDevice s = {});
array normal(const Shape& shape, Dtype dtype = float32, double loc = 0.0,
             double scale = 1.0, const std::optional<array>& key = std::nullopt,
             StreamOrDevice s = {});

// Integers in [low, high) of an integer dtype, each equally likely (bias
// below 2^-32); low and high broadcast to `shape` and are clipped to the
// dtype's range. An empty interval gives low.
array randint(const array& low, const array& high, const Shape& shape,
              Dtype dtype = int32,
              const std::optional<array>& key = std::nullopt,
              StreamOrDevice s = {});

// true with probability p (a floating array broadcast to `shape`).
array bernoulli(const array& p, const Shape& shape,
                const std::optional<array>& key = std::nullopt,
                StreamOrDevice s = {});
// Of p's shape.
array bernoulli(const array& p, const std::optional<array>& key = std::nullopt,
                StreamOrDevice s = {});
// p = 0.5, a scalar.
array bernoulli(const std::optional<array>& key = std::nullopt,
                StreamOrDevice s = {});

}  // namespace runnel::random
