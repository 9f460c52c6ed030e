// The counter-based generator behind runnel::random, shared by every backend
// (and by the host-side global key) so that a key gives the same bits on
// every device: Threefry-2x32 with 20 rounds (Salmon et al., "Parallel random
// numbers: as easy as 1, 2, 3", SC 2011), the generator JAX and MLX use.
//
// A key (k0, k1) defines a stream of 32-bit words: counter c (a 64-bit
// integer, split as (low 32 bits, high 32 bits)) hashes to the words 2c and
// 2c + 1. An op that draws K words per element gives element i (row-major)
// the words [iK, iK + K), so its values depend only on the key, the element's
// index and K: never on the stream, the device or how the work is split.
#pragma once

#include <cstdint>

#include "runnel/half.h"

namespace runnel::random_bits {

struct Key {
  uint32_t k0, k1;
};

inline constexpr uint32_t kThreefryParity = 0x1BD11BDA;

RUNNEL_HOST_DEVICE constexpr uint32_t rotl32(uint32_t x, int r) {
  return (x << r) | (x >> (32 - r));
}

// Threefry-2x32-20 of the counter (c0, c1) under `key`: the words (x0, x1).
RUNNEL_HOST_DEVICE constexpr void threefry2x32(Key key, uint32_t c0,
                                               uint32_t c1, uint32_t& x0,
                                               uint32_t& x1) {
  constexpr int kRot[8] = {13, 15, 26, 6, 17, 29, 16, 24};
  const uint32_t ks[3] = {key.k0, key.k1, key.k0 ^ key.k1 ^ kThreefryParity};
  x0 = c0 + ks[0];
  x1 = c1 + ks[1];
  for (int group = 0; group < 5; ++group) {
    for (int r = 0; r < 4; ++r) {
      x0 += x1;
      x1 = rotl32(x1, kRot[(group % 2) * 4 + r]);
      x1 ^= x0;
    }
    // Key injection after every four rounds.
    const uint32_t i = static_cast<uint32_t>(group + 1);
    x0 += ks[i % 3];
    x1 += ks[(i + 1) % 3] + i;
  }
}

// Word `w` of the stream of `key`.
RUNNEL_HOST_DEVICE constexpr uint32_t word(Key key, uint64_t w) {
  const uint64_t c = w / 2;
  uint32_t x0 = 0, x1 = 0;
  threefry2x32(key, static_cast<uint32_t>(c), static_cast<uint32_t>(c >> 32),
               x0, x1);
  return (w % 2) == 0 ? x0 : x1;
}

}  // namespace runnel::random_bits
