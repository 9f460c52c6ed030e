// Helpers shared by the CPU kernel families: output allocation, broadcast
// strides, and walking strided operands in runs along the last axis, split
// over the pool's idle workers.
#pragma once

#include <array>
#include <cstdint>

#include "runnel/array.h"
#include "runnel/memory/allocator.h"
#include "runnel/scheduler/graph.h"
#include "runnel/scheduler/pool.h"

namespace runnel::cpu_backend {

// Elements below which an op runs on its own worker only.
inline constexpr int64_t kGrain = 1 << 15;

// Gives `out` fresh contiguous memory on the CPU.
inline void allocate_output(array& out) {
  auto& n = out.node();
  n.data = detail::allocate(out.nbytes(), Device(cpu));
}

// Whether `a` is laid out row-major without gaps.
inline bool is_contiguous(const array& a) {
  int64_t expect = 1;
  const Shape& sh = a.shape();
  const Strides& st = a.strides();
  for (size_t i = sh.size(); i-- > 0;) {
    if (sh[i] != 1 && st[i] != expect) return false;
    expect *= sh[i];
  }
  return true;
}

// The strides that read `in` broadcast to `shape` (0 on broadcast axes).
inline Strides broadcast_strides(const array& in, const Shape& shape) {
  Strides s(shape.size(), 0);
  const Shape& is = in.shape();
  const Strides& st = in.strides();
  size_t off = shape.size() - is.size();
  for (size_t i = 0; i < is.size(); ++i) {
    s[off + i] = is[i] == 1 ? 0 : st[i];
  }
  return s;
}

// Calls f(out_pos, offsets, n, inner_strides) for every run of outputs in
// [begin, end) along the last axis; offsets are the operands' element
// offsets at the run's start.
template <size_t K, class F>
void for_each_run(const Shape& shape, const std::array<Strides, K>& st,
                  int64_t begin, int64_t end, F&& f) {
  const int nd = static_cast<int>(shape.size());
  std::array<int64_t, K> off{};
  std::array<int64_t, K> inner{};
  if (nd == 0) {
    if (begin < end) f(int64_t{0}, off, int64_t{1}, inner);
    return;
  }
  for (size_t k = 0; k < K; ++k) inner[k] = st[k][nd - 1];
  // The index, inline for the usual few dimensions.
  int64_t small[8];
  std::vector<int64_t> big(nd > 8 ? nd : 0);
  int64_t* idx = nd > 8 ? big.data() : small;
  int64_t rem = begin;
  for (int d = nd - 1; d >= 0; --d) {
    idx[d] = rem % shape[d];
    rem /= shape[d];
    for (size_t k = 0; k < K; ++k) off[k] += idx[d] * st[k][d];
  }
  const int64_t last = shape[nd - 1];
  int64_t pos = begin;
  while (pos < end) {
    int64_t n = std::min(last - idx[nd - 1], end - pos);
    f(pos, off, n, inner);
    pos += n;
    idx[nd - 1] += n;
    for (size_t k = 0; k < K; ++k) off[k] += n * inner[k];
    for (int d = nd - 1; d > 0 && idx[d] == shape[d]; --d) {
      idx[d] = 0;
      ++idx[d - 1];
      for (size_t k = 0; k < K; ++k) {
        off[k] += st[k][d - 1] - shape[d] * st[k][d];
      }
    }
  }
}

// Runs f(begin, end) over [0, n), helped by idle workers for large n.
template <class F>
void parallel(int64_t n, F&& f) {
  if (n <= kGrain) {
    if (n > 0) f(int64_t{0}, n);
    return;
  }
  detail::Pool::get().parallel_for(n, kGrain, f);
}

// Integer arithmetic wraps: computed in the unsigned type of the same width.
template <class T>
struct Wrap {
  using U = std::make_unsigned_t<T>;
};

}  // namespace runnel::cpu_backend
