// A vector that keeps its first N elements inline and takes larger storage
// from the per-thread small-block lists (small_alloc.h). The inputs of an op
// node and the outputs of a queued op are a few arrays each: held inline, a
// node costs no allocation of its own for them, and moving one into queued
// work moves a few handles.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

#include "runnel/core/small_alloc.h"

namespace runnel::detail {

template <class T, size_t N>
class SmallVector {
  static_assert(N > 0);

 public:
  using value_type = T;
  using size_type = size_t;
  using reference = T&;
  using const_reference = const T&;
  using iterator = T*;
  using const_iterator = const T*;

  SmallVector() noexcept = default;
  SmallVector(std::initializer_list<T> values) {
    append(values.begin(), values.end());
  }
  // From a std::vector, as op constructors that gather inputs build them.
  SmallVector(const std::vector<T>& values) {  // NOLINT: implicit
    append(values.begin(), values.end());
  }
  SmallVector(std::vector<T>&& values) {  // NOLINT: implicit
    append(std::make_move_iterator(values.begin()),
           std::make_move_iterator(values.end()));
    values.clear();
  }
  SmallVector(const SmallVector& other) { append(other.begin(), other.end()); }
  SmallVector(SmallVector&& other) noexcept { take(other); }
  SmallVector& operator=(const SmallVector& other) {
    if (this != &other) {
      clear();
      append(other.begin(), other.end());
    }
    return *this;
  }
  SmallVector& operator=(SmallVector&& other) noexcept {
    if (this != &other) {
      clear();
      release();
      take(other);
    }
    return *this;
  }
  ~SmallVector() {
    clear();
    release();
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  size_t capacity() const { return cap_; }
  T* data() { return data_; }
  const T* data() const { return data_; }
  T* begin() { return data_; }
  T* end() { return data_ + size_; }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }
  T& front() { return data_[0]; }
  const T& front() const { return data_[0]; }
  T& back() { return data_[size_ - 1]; }
  const T& back() const { return data_[size_ - 1]; }

  void reserve(size_t n) {
    if (n > cap_) grow(n);
  }
  template <class... Args>
  T& emplace_back(Args&&... args) {
    if (size_ == cap_) {
      // `args` may refer into this vector: build the element first.
      T tmp(std::forward<Args>(args)...);
      grow(cap_ * 2);
      return *::new (data_ + size_++) T(std::move(tmp));
    }
    return *::new (data_ + size_++) T(std::forward<Args>(args)...);
  }
  void push_back(const T& v) { emplace_back(v); }
  void push_back(T&& v) { emplace_back(std::move(v)); }
  void pop_back() { data_[--size_].~T(); }
  // Appends [first, last) (forward iterators, not into this vector).
  template <class It>
  void append(It first, It last) {
    reserve(size_ + static_cast<size_t>(std::distance(first, last)));
    for (; first != last; ++first) ::new (data_ + size_++) T(*first);
  }
  void clear() {
    // Destroyed from the back, as std::vector's elements are not promised
    // to be; the order matters to no user here.
    while (size_ > 0) data_[--size_].~T();
  }

 private:
  bool is_inline() const {
    return data_ == reinterpret_cast<const T*>(inline_);
  }
  void grow(size_t n) {
    T* fresh = static_cast<T*>(small_alloc(n * sizeof(T)));
    for (size_t i = 0; i < size_; ++i) {
      ::new (fresh + i) T(std::move(data_[i]));
      data_[i].~T();
    }
    release();
    data_ = fresh;
    cap_ = static_cast<uint32_t>(n);
  }
  // Gives back heap storage (the elements are gone or moved).
  void release() noexcept {
    if (!is_inline()) small_free(data_, cap_ * sizeof(T));
    data_ = reinterpret_cast<T*>(inline_);
    cap_ = N;
  }
  // Takes `other`'s elements; `other` ends empty and inline. This vector
  // is empty and inline.
  void take(SmallVector& other) noexcept {
    static_assert(std::is_nothrow_move_constructible_v<T>);
    if (other.is_inline()) {
      for (size_t i = 0; i < other.size_; ++i) {
        ::new (data_ + i) T(std::move(other.data_[i]));
        other.data_[i].~T();
      }
    } else {
      data_ = other.data_;
      cap_ = other.cap_;
      other.data_ = reinterpret_cast<T*>(other.inline_);
      other.cap_ = N;
    }
    size_ = other.size_;
    other.size_ = 0;
  }

  T* data_ = reinterpret_cast<T*>(inline_);
  uint32_t size_ = 0;
  uint32_t cap_ = N;
  alignas(T) unsigned char inline_[N * sizeof(T)];
};

}  // namespace runnel::detail
