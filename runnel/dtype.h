// Element types of arrays, their C++ types, promotion and dispatch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string_view>
#include <type_traits>
#include <utility>

#include "runnel/half.h"

namespace runnel {

// The element type of an array. The order is part of the ABI of the
// promotion table in dtype.cpp.
enum class Dtype : uint8_t {
  bool_,
  uint8,
  uint16,
  uint32,
  uint64,
  int8,
  int16,
  int32,
  int64,
  float16,
  bfloat16,
  float32,
  float64,
};

inline constexpr Dtype bool_ = Dtype::bool_;
inline constexpr Dtype uint8 = Dtype::uint8;
inline constexpr Dtype uint16 = Dtype::uint16;
inline constexpr Dtype uint32 = Dtype::uint32;
inline constexpr Dtype uint64 = Dtype::uint64;
inline constexpr Dtype int8 = Dtype::int8;
inline constexpr Dtype int16 = Dtype::int16;
inline constexpr Dtype int32 = Dtype::int32;
inline constexpr Dtype int64 = Dtype::int64;
inline constexpr Dtype float16 = Dtype::float16;
inline constexpr Dtype bfloat16 = Dtype::bfloat16;
inline constexpr Dtype float32 = Dtype::float32;
inline constexpr Dtype float64 = Dtype::float64;

inline constexpr int kNumDtypes = 13;

// Bytes per element.
constexpr size_t size_of(Dtype d) {
  constexpr uint8_t kSizes[kNumDtypes] = {1, 1, 2, 4, 8, 1, 2,
                                          4, 8, 2, 2, 4, 8};
  return kSizes[static_cast<int>(d)];
}

// "bool", "uint8", ..., "bfloat16", "float32", "float64".
std::string_view dtype_name(Dtype d);

// float16, bfloat16, float32, float64.
constexpr bool is_floating_point(Dtype d) { return d >= Dtype::float16; }
// Signed or unsigned integers; bool is not one.
constexpr bool is_integral(Dtype d) {
  return d >= Dtype::uint8 && d <= Dtype::int64;
}
constexpr bool is_signed_integer(Dtype d) {
  return d >= Dtype::int8 && d <= Dtype::int64;
}
constexpr bool is_unsigned_integer(Dtype d) {
  return d >= Dtype::uint8 && d <= Dtype::uint64;
}
constexpr bool is_bool(Dtype d) { return d == Dtype::bool_; }

// The dtype a binary op on a and b computes in: numpy's promote_types, except
// where MLX differs (docs/dtypes.md has the table and the differences).
// Symmetric, but not associative.
Dtype promote_types(Dtype a, Dtype b);

// Prints dtype_name(d).
std::ostream& operator<<(std::ostream& os, Dtype d);

namespace detail {

template <class T>
inline constexpr bool kDependentFalse = false;

template <Dtype D>
struct DtypeToType;
template <>
struct DtypeToType<Dtype::bool_> {
  using type = bool;
};
template <>
struct DtypeToType<Dtype::uint8> {
  using type = uint8_t;
};
template <>
struct DtypeToType<Dtype::uint16> {
  using type = uint16_t;
};
template <>
struct DtypeToType<Dtype::uint32> {
  using type = uint32_t;
};
template <>
struct DtypeToType<Dtype::uint64> {
  using type = uint64_t;
};
template <>
struct DtypeToType<Dtype::int8> {
  using type = int8_t;
};
template <>
struct DtypeToType<Dtype::int16> {
  using type = int16_t;
};
template <>
struct DtypeToType<Dtype::int32> {
  using type = int32_t;
};
template <>
struct DtypeToType<Dtype::int64> {
  using type = int64_t;
};
template <>
struct DtypeToType<Dtype::float16> {
  using type = float16_t;
};
template <>
struct DtypeToType<Dtype::bfloat16> {
  using type = bfloat16_t;
};
template <>
struct DtypeToType<Dtype::float32> {
  using type = float;
};
template <>
struct DtypeToType<Dtype::float64> {
  using type = double;
};

template <class T>
inline constexpr bool kIsCharType =
    std::is_same_v<T, char> || std::is_same_v<T, wchar_t> ||
    std::is_same_v<T, char8_t> || std::is_same_v<T, char16_t> ||
    std::is_same_v<T, char32_t>;

// Throws std::invalid_argument("[where] Invalid dtype <n>.").
[[noreturn]] void throw_invalid_dtype(const char* where, Dtype d);

}  // namespace detail

// The C++ element type of D.
template <Dtype D>
using dtype_type_t = typename detail::DtypeToType<D>::type;

// The dtype of C++ type T (cv-qualifiers ignored). Any standard integer type
// maps by width and signedness, so long long and size_t work wherever int64_t
// and uint64_t are a different type of the same width; character types do not.
template <class T>
constexpr Dtype dtype_of() {
  using U = std::remove_cv_t<T>;
  if constexpr (std::is_same_v<U, bool>) {
    return Dtype::bool_;
  } else if constexpr (std::is_integral_v<U> && !detail::kIsCharType<U>) {
    constexpr int kLog2Size = sizeof(U) == 1   ? 0
                              : sizeof(U) == 2 ? 1
                              : sizeof(U) == 4 ? 2
                                               : 3;
    static_assert(sizeof(U) == (size_t{1} << kLog2Size));
    constexpr int kFirst = std::is_signed_v<U> ? static_cast<int>(Dtype::int8)
                                               : static_cast<int>(Dtype::uint8);
    return static_cast<Dtype>(kFirst + kLog2Size);
  } else if constexpr (std::is_same_v<U, float16_t>) {
    return Dtype::float16;
  } else if constexpr (std::is_same_v<U, bfloat16_t>) {
    return Dtype::bfloat16;
  } else if constexpr (std::is_same_v<U, float>) {
    return Dtype::float32;
  } else if constexpr (std::is_same_v<U, double>) {
    return Dtype::float64;
  } else {
    static_assert(detail::kDependentFalse<T>, "dtype_of: no runnel dtype");
  }
}

// Calls f(std::type_identity<T>{}) with T = dtype_type_t<d> and returns its
// result; f must return the same type for every T. The one dtype dispatch
// every kernel family uses:
//   dispatch_dtype(d, [&]<class T>(std::type_identity<T>) { kernel<T>(...); });
template <class F>
decltype(auto) dispatch_dtype(Dtype d, F&& f) {
  switch (d) {
    case Dtype::bool_:
      return std::forward<F>(f)(std::type_identity<bool>{});
    case Dtype::uint8:
      return std::forward<F>(f)(std::type_identity<uint8_t>{});
    case Dtype::uint16:
      return std::forward<F>(f)(std::type_identity<uint16_t>{});
    case Dtype::uint32:
      return std::forward<F>(f)(std::type_identity<uint32_t>{});
    case Dtype::uint64:
      return std::forward<F>(f)(std::type_identity<uint64_t>{});
    case Dtype::int8:
      return std::forward<F>(f)(std::type_identity<int8_t>{});
    case Dtype::int16:
      return std::forward<F>(f)(std::type_identity<int16_t>{});
    case Dtype::int32:
      return std::forward<F>(f)(std::type_identity<int32_t>{});
    case Dtype::int64:
      return std::forward<F>(f)(std::type_identity<int64_t>{});
    case Dtype::float16:
      return std::forward<F>(f)(std::type_identity<float16_t>{});
    case Dtype::bfloat16:
      return std::forward<F>(f)(std::type_identity<bfloat16_t>{});
    case Dtype::float32:
      return std::forward<F>(f)(std::type_identity<float>{});
    case Dtype::float64:
      return std::forward<F>(f)(std::type_identity<double>{});
  }
  detail::throw_invalid_dtype("dispatch_dtype", d);
}

}  // namespace runnel
