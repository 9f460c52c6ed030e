// Primitives of the test hooks (runnel/testing.h).
#pragma once

#include <cstdint>

#include "runnel/primitives/primitive.h"

namespace runnel {

// An identity op that takes `microseconds` first: it sleeps on the CPU and
// spins on the GPU clock. The output shares the input's buffer.
class Delay final : public PrimitiveOf<Delay> {
 public:
  explicit Delay(int64_t us) : us_(us) {}
  const char* name() const override { return "delay"; }
  int64_t microseconds() const { return us_; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;

 private:
  int64_t us_;
};

// An identity op that faults: on the GPU a trap instruction (a sticky error:
// the device is lost), on the CPU an exception. For the device-lost tests.
class Trap final : public PrimitiveOf<Trap> {
 public:
  const char* name() const override { return "trap"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

}  // namespace runnel
