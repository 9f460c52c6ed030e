// Random primitives. Input 0 of each is the key (uint32, shape (2,)); the
// others are parameters broadcast to the output's shape. Values follow the
// word stream of runnel/backend/common/random.h.
#pragma once

#include "runnel/primitives/primitive.h"

namespace runnel {

// The key's word stream, as the bytes of its outputs taken in turn (uint8,
// uint16 or uint32): split's keys, and random::bits.
class RandomBits : public PrimitiveOf<RandomBits> {
 public:
  const char* name() const override { return "random_bits"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

// Inputs: key, low, high (the output's dtype). One word per element (two in
// float64): u in [0, 1) with 24 (52) bits, low + (high - low) * u, kept
// below high.
class RandomUniform : public PrimitiveOf<RandomUniform> {
 public:
  const char* name() const override { return "random_uniform"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

// Inputs: key, loc, scale (the output's dtype). Words as uniform; the
// inverse normal CDF (Wichura's AS 241) of the midpoint of u's interval.
class RandomNormal : public PrimitiveOf<RandomNormal> {
 public:
  const char* name() const override { return "random_normal"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

// Inputs: key, low, high (int64; uint64 for a uint64 output). Two words per
// element (four for 64-bit outputs), scaled to the range by a
// multiply-high.
class RandomInt : public PrimitiveOf<RandomInt> {
 public:
  const char* name() const override { return "random_randint"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

// Inputs: key, p (floating). One word per element (two for float64 p):
// true when u < p.
class RandomBernoulli : public PrimitiveOf<RandomBernoulli> {
 public:
  const char* name() const override { return "random_bernoulli"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

}  // namespace runnel
