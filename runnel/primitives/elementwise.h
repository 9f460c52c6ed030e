// The elementwise primitives: one class per op. Inputs arrive promoted to
// the dtype the op computes in (ops/elementwise.cpp), broadcast only through
// their strides.
#pragma once

#include "runnel/primitives/primitive.h"

namespace runnel {

// Two inputs of one dtype, the output of that dtype.
class Add : public PrimitiveOf<Add> {
 public:
  const char* name() const override { return "add"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

class Subtract : public PrimitiveOf<Subtract> {
 public:
  const char* name() const override { return "subtract"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

class Multiply : public PrimitiveOf<Multiply> {
 public:
  const char* name() const override { return "multiply"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

class Divide : public PrimitiveOf<Divide> {
 public:
  const char* name() const override { return "divide"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

class FloorDivide : public PrimitiveOf<FloorDivide> {
 public:
  const char* name() const override { return "floor_divide"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

class Remainder : public PrimitiveOf<Remainder> {
 public:
  const char* name() const override { return "remainder"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

class Power : public PrimitiveOf<Power> {
 public:
  const char* name() const override { return "power"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

class Maximum : public PrimitiveOf<Maximum> {
 public:
  const char* name() const override { return "maximum"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

class Minimum : public PrimitiveOf<Minimum> {
 public:
  const char* name() const override { return "minimum"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

class ArcTan2 : public PrimitiveOf<ArcTan2> {
 public:
  const char* name() const override { return "arctan2"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

// Two inputs of one dtype, a bool output.
class Equal : public PrimitiveOf<Equal> {
 public:
  const char* name() const override { return "equal"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

class NotEqual : public PrimitiveOf<NotEqual> {
 public:
  const char* name() const override { return "not_equal"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

class Less : public PrimitiveOf<Less> {
 public:
  const char* name() const override { return "less"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

class LessEqual : public PrimitiveOf<LessEqual> {
 public:
  const char* name() const override { return "less_equal"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

class Greater : public PrimitiveOf<Greater> {
 public:
  const char* name() const override { return "greater"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

class GreaterEqual : public PrimitiveOf<GreaterEqual> {
 public:
  const char* name() const override { return "greater_equal"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

// Two bool inputs, a bool output.
class LogicalAnd : public PrimitiveOf<LogicalAnd> {
 public:
  const char* name() const override { return "logical_and"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

class LogicalOr : public PrimitiveOf<LogicalOr> {
 public:
  const char* name() const override { return "logical_or"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

// cond (bool), x and y of one dtype: x where cond, else y.
class Select : public PrimitiveOf<Select> {
 public:
  const char* name() const override { return "where"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

// One input, the output of its dtype (floating only where the op
// promotes to a float).
class Abs : public PrimitiveOf<Abs> {
 public:
  const char* name() const override { return "abs"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

class Negative : public PrimitiveOf<Negative> {
 public:
  const char* name() const override { return "negative"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

class Sign : public PrimitiveOf<Sign> {
 public:
  const char* name() const override { return "sign"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

class Exp : public PrimitiveOf<Exp> {
 public:
  const char* name() const override { return "exp"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

class Expm1 : public PrimitiveOf<Expm1> {
 public:
  const char* name() const override { return "expm1"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

class Log : public PrimitiveOf<Log> {
 public:
  const char* name() const override { return "log"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

class Log1p : public PrimitiveOf<Log1p> {
 public:
  const char* name() const override { return "log1p"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

class Sqrt : public PrimitiveOf<Sqrt> {
 public:
  const char* name() const override { return "sqrt"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

class Rsqrt : public PrimitiveOf<Rsqrt> {
 public:
  const char* name() const override { return "rsqrt"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

class Square : public PrimitiveOf<Square> {
 public:
  const char* name() const override { return "square"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

class Reciprocal : public PrimitiveOf<Reciprocal> {
 public:
  const char* name() const override { return "reciprocal"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

class Sin : public PrimitiveOf<Sin> {
 public:
  const char* name() const override { return "sin"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

class Cos : public PrimitiveOf<Cos> {
 public:
  const char* name() const override { return "cos"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

class Tan : public PrimitiveOf<Tan> {
 public:
  const char* name() const override { return "tan"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

class Tanh : public PrimitiveOf<Tanh> {
 public:
  const char* name() const override { return "tanh"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

class Sigmoid : public PrimitiveOf<Sigmoid> {
 public:
  const char* name() const override { return "sigmoid"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

class Erf : public PrimitiveOf<Erf> {
 public:
  const char* name() const override { return "erf"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

class Floor : public PrimitiveOf<Floor> {
 public:
  const char* name() const override { return "floor"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

class Ceil : public PrimitiveOf<Ceil> {
 public:
  const char* name() const override { return "ceil"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

// Half to even at 10^-decimals (numpy's round).
class Round : public PrimitiveOf<Round> {
 public:
  explicit Round(int decimals) : decimals_(decimals) {}
  const char* name() const override { return "round"; }
  int decimals() const { return decimals_; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;

 private:
  int decimals_;
};

// One input of any dtype, a bool output.
class IsNan : public PrimitiveOf<IsNan> {
 public:
  const char* name() const override { return "isnan"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

class IsInf : public PrimitiveOf<IsInf> {
 public:
  const char* name() const override { return "isinf"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

class LogicalNot : public PrimitiveOf<LogicalNot> {
 public:
  const char* name() const override { return "logical_not"; }
  void eval_cpu(const std::vector<array>& in, std::vector<array>& out) override;
};

}  // namespace runnel
