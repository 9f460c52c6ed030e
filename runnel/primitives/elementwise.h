#pragma once

#include "runnel/primitives/primitive.h"

namespace runnel {

class Add : public Primitive {
 public:
  const char* name() const override { return "add"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

class Multiply : public Primitive {
 public:
  const char* name() const override { return "multiply"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

class Exp : public Primitive {
 public:
  const char* name() const override { return "exp"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

class Abs : public Primitive {
 public:
  const char* name() const override { return "abs"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

}  // namespace runnel
