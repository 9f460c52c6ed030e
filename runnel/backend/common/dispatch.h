// The dispatch by element size, for kernels that only move elements (their
// dtype does not matter to them); the dispatch by dtype is runnel/dtype.h's
// dispatch_dtype. Host code of every backend.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace runnel {

// Calls f(std::type_identity<U>{}) with U the unsigned integer type of
// `size` bytes (1, 2, 4 or 8: every dtype's size) and returns its result.
template <class F>
decltype(auto) dispatch_size(size_t size, F&& f) {
  switch (size) {
    case 1:
      return std::forward<F>(f)(std::type_identity<uint8_t>{});
    case 2:
      return std::forward<F>(f)(std::type_identity<uint16_t>{});
    case 4:
      return std::forward<F>(f)(std::type_identity<uint32_t>{});
    case 8:
      return std::forward<F>(f)(std::type_identity<uint64_t>{});
  }
  throw std::logic_error("[dispatch_size] no element type of " +
                         std::to_string(size) + " bytes");
}

}  // namespace runnel
