// Every primitive class of the op library, in one type list. A class's
// position in the list is its id, by which a GPU backend binds the class's
// kernel (backend/gpu.h; the CUDA backend's bind_kernel<P> in
// backend/cuda/kernels/). Each class derives from PrimitiveOf<Self>
// (primitive.h), which does not compile until the class is declared and listed
// here.
#pragma once

#include <cstddef>
#include <type_traits>

namespace runnel {

// creation.h
class Broadcast;
class AsType;
class Arange;
class Linspace;
class Eye;
class Adopt;
// elementwise.h
class Add;
class Subtract;
class Multiply;
class Divide;
class FloorDivide;
class Remainder;
class Power;
class Maximum;
class Minimum;
class ArcTan2;
class Equal;
class NotEqual;
class Less;
class LessEqual;
class Greater;
class GreaterEqual;
class LogicalAnd;
class LogicalOr;
class Select;
class Abs;
class Negative;
class Sign;
class Exp;
class Expm1;
class Log;
class Log1p;
class Sqrt;
class Rsqrt;
class Square;
class Reciprocal;
class Sin;
class Cos;
class Tan;
class Tanh;
class Sigmoid;
class Erf;
class Floor;
class Ceil;
class Round;
class IsNan;
class IsInf;
class LogicalNot;
// indexing.h
class Gather;
class Scatter;
// linalg.h
class Matmul;
class AddMM;
// random.h
class RandomBits;
class RandomUniform;
class RandomNormal;
class RandomInt;
class RandomBernoulli;
// reduce.h
class SumAll;
class Reduce;
class ArgReduce;
class Scan;
class Softmax;
// shape.h
class Transpose;
class ExpandDims;
class Squeeze;
class BroadcastTo;
class Reshape;
class Slice;
class Copy;
class Concatenate;
class Stack;
class Pad;
class Tile;
class Repeat;
// testing.h
class Delay;
class Trap;

template <class... Ps>
struct TypeList {
  static constexpr std::size_t size = sizeof...(Ps);
};

using PrimitiveList = TypeList<
    // creation.h
    Broadcast, AsType, Arange, Linspace, Eye, Adopt,
    // elementwise.h
    Add, Subtract, Multiply, Divide, FloorDivide, Remainder, Power, Maximum,
    Minimum, ArcTan2, Equal, NotEqual, Less, LessEqual, Greater, GreaterEqual,
    LogicalAnd, LogicalOr, Select, Abs, Negative, Sign, Exp, Expm1, Log, Log1p,
    Sqrt, Rsqrt, Square, Reciprocal, Sin, Cos, Tan, Tanh, Sigmoid, Erf, Floor,
    Ceil, Round, IsNan, IsInf, LogicalNot,
    // indexing.h
    Gather, Scatter,
    // linalg.h
    Matmul, AddMM,
    // random.h
    RandomBits, RandomUniform, RandomNormal, RandomInt, RandomBernoulli,
    // reduce.h
    SumAll, Reduce, ArgReduce, Scan, Softmax,
    // shape.h
    Transpose, ExpandDims, Squeeze, BroadcastTo, Reshape, Slice, Copy,
    Concatenate, Stack, Pad, Tile, Repeat,
    // testing.h
    Delay, Trap>;

using PrimitiveId = std::size_t;
inline constexpr PrimitiveId kPrimitiveCount = PrimitiveList::size;

namespace detail {

// P's position in the list; the list's size when P is not in it.
template <class P, class... Ps>
consteval PrimitiveId position_in(TypeList<Ps...>) {
  PrimitiveId i = 0;
  (void)((std::is_same_v<P, Ps> ? false : (++i, true)) && ...);
  return i;
}

// Whether each class is in the list once (its id is its only position).
template <class... Ps>
consteval bool listed_once(TypeList<Ps...> list) {
  PrimitiveId i = 0;
  bool once = true;
  ((once = once && position_in<Ps>(list) == i++), ...);
  return once;
}
static_assert(listed_once(PrimitiveList{}),
              "A class is listed twice in PrimitiveList.");

template <class P>
consteval PrimitiveId primitive_id() {
  constexpr PrimitiveId id = position_in<P>(PrimitiveList{});
  static_assert(id < kPrimitiveCount,
                "This primitive class is not in runnel/primitives/list.h: "
                "declare it there and add it to PrimitiveList.");
  return id;
}

}  // namespace detail

// P's id: its position in PrimitiveList.
template <class P>
inline constexpr PrimitiveId kPrimitiveId = detail::primitive_id<P>();

// Calls f(std::type_identity<P>{}) for every primitive class P, in id order.
template <class F>
void for_each_primitive(F&& f) {
  [&]<class... Ps>(TypeList<Ps...>) {
    (f(std::type_identity<Ps>{}), ...);
  }(PrimitiveList{});
}

}  // namespace runnel
