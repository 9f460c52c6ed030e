#pragma once

#include "runnel/primitives/primitive.h"

namespace runnel {

// Inputs a, b (one dtype, ndim >= 1, numpy's matmul shapes).
class Matmul : public PrimitiveOf<Matmul> {
 public:
  const char* name() const override { return "matmul"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

// Inputs a, b, c: alpha * (a @ b) + beta * c, c broadcast to the output.
class AddMM : public PrimitiveOf<AddMM> {
 public:
  AddMM(float alpha, float beta) : alpha_(alpha), beta_(beta) {}
  const char* name() const override { return "addmm"; }
  float alpha() const { return alpha_; }
  float beta() const { return beta_; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;

 private:
  float alpha_, beta_;
};

}  // namespace runnel
