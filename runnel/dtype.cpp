#include "runnel/dtype.h"

#include <ostream>
#include <stdexcept>
#include <string>

namespace runnel {

namespace {

constexpr std::string_view kNames[kNumDtypes] = {
    "bool",  "uint8", "uint16",  "uint32",   "uint64",  "int8",    "int16",
    "int32", "int64", "float16", "bfloat16", "float32", "float64",
};

constexpr Dtype b = bool_;
constexpr Dtype u8 = uint8;
constexpr Dtype u16 = uint16;
constexpr Dtype u32 = uint32;
constexpr Dtype u64 = uint64;
constexpr Dtype i8 = int8;
constexpr Dtype i16 = int16;
constexpr Dtype i32 = int32;
constexpr Dtype i64 = int64;
constexpr Dtype f16 = float16;
constexpr Dtype bf = bfloat16;
constexpr Dtype f32 = float32;
constexpr Dtype f64 = float64;

// The results of MLX's promote_types (JAX-style: integers with a float give
// that float; uint64 with a signed integer gives float32; float16 with
// bfloat16 gives float32), extended with float64, which wins over everything.
// Where this differs from numpy is listed in docs/dtypes.md.
// clang-format off
constexpr Dtype kPromotion[kNumDtypes][kNumDtypes] = {
// b    u8   u16  u32  u64  i8   i16  i32  i64  f16  bf   f32  f64
  {b,   u8,  u16, u32, u64, i8,  i16, i32, i64, f16, bf,  f32, f64},  // b
  {u8,  u8,  u16, u32, u64, i16, i16, i32, i64, f16, bf,  f32, f64},  // u8
  {u16, u16, u16, u32, u64, i32, i32, i32, i64, f16, bf,  f32, f64},  // u16
  {u32, u32, u32, u32, u64, i64, i64, i64, i64, f16, bf,  f32, f64},  // u32
  {u64, u64, u64, u64, u64, f32, f32, f32, f32, f16, bf,  f32, f64},  // u64
  {i8,  i16, i32, i64, f32, i8,  i16, i32, i64, f16, bf,  f32, f64},  // i8
  {i16, i16, i32, i64, f32, i16, i16, i32, i64, f16, bf,  f32, f64},  // i16
  {i32, i32, i32, i64, f32, i32, i32, i32, i64, f16, bf,  f32, f64},  // i32
  {i64, i64, i64, i64, f32, i64, i64, i64, i64, f16, bf,  f32, f64},  // i64
  {f16, f16, f16, f16, f16, f16, f16, f16, f16, f16, f32, f32, f64},  // f16
  {bf,  bf,  bf,  bf,  bf,  bf,  bf,  bf,  bf,  f32, bf,  f32, f64},  // bf
  {f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f64},  // f32
  {f64, f64, f64, f64, f64, f64, f64, f64, f64, f64, f64, f64, f64},  // f64
};
// clang-format on

constexpr bool promotion_is_symmetric() {
  for (int i = 0; i < kNumDtypes; ++i) {
    for (int j = 0; j < kNumDtypes; ++j) {
      if (kPromotion[i][j] != kPromotion[j][i]) return false;
    }
  }
  return true;
}
static_assert(promotion_is_symmetric());

bool is_valid(Dtype d) { return static_cast<int>(d) < kNumDtypes; }

}  // namespace

std::string_view dtype_name(Dtype d) {
  if (!is_valid(d)) detail::throw_invalid_dtype("dtype_name", d);
  return kNames[static_cast<int>(d)];
}

Dtype promote_types(Dtype a, Dtype b) {
  if (!is_valid(a)) detail::throw_invalid_dtype("promote_types", a);
  if (!is_valid(b)) detail::throw_invalid_dtype("promote_types", b);
  return kPromotion[static_cast<int>(a)][static_cast<int>(b)];
}

std::ostream& operator<<(std::ostream& os, Dtype d) {
  return os << dtype_name(d);
}

std::ostream& operator<<(std::ostream& os, float16_t h) {
  return os << static_cast<float>(h);
}

std::ostream& operator<<(std::ostream& os, bfloat16_t h) {
  return os << static_cast<float>(h);
}

namespace detail {

void throw_invalid_dtype(const char* where, Dtype d) {
  throw std::invalid_argument("[" + std::string(where) + "] Invalid dtype " +
                              std::to_string(static_cast<int>(d)) + ".");
}

}  // namespace detail

}  // namespace runnel
