#pragma once

#include "runnel/primitives/primitive.h"

namespace runnel {

// The sum of every element.
class SumAll : public Primitive {
 public:
  const char* name() const override { return "sum"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

}  // namespace runnel
