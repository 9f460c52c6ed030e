// CPU kernels of the shape family. Every one is a strided copy (or fill) of
// elements whose type does not matter, only their size: the kernels
// dispatch on the item size and describe each op's data movement as a
// source and a destination walked over one shape with their own strides.
// Axes that both walk as one are merged first, so contiguous rows become
// one run and are copied with memcpy.
#include "runnel/primitives/shape.h"

#include <algorithm>
#include <cstring>

#include "runnel/backend/common/dispatch.h"
#include "runnel/backend/cpu/iterate.h"

namespace runnel {
namespace {

// Removes size-1 axes and merges neighbouring axes that every operand walks
// as one (outer stride = inner stride * inner size), keeping each merged
// size within an int.
template <size_t K>
void collapse(Shape& shape, std::array<Strides, K>& st) {
  Shape ns;
  std::array<Strides, K> nst;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    bool merge =
        !ns.empty() && int64_t{ns.back()} * shape[d] <= int64_t{INT32_MAX};
    for (size_t k = 0; merge && k < K; ++k) {
      merge = nst[k].back() == st[k][d] * shape[d];
    }
    if (merge) {
      ns.back() *= shape[d];
      for (size_t k = 0; k < K; ++k) nst[k].back() = st[k][d];
    } else {
      ns.push_back(shape[d]);
      for (size_t k = 0; k < K; ++k) nst[k].push_back(st[k][d]);
    }
  }
  if (ns.empty()) {  // one element
    ns.push_back(1);
    for (size_t k = 0; k < K; ++k) nst[k].push_back(1);
  }
  shape = std::move(ns);
  st = std::move(nst);
}

int64_t count(const Shape& shape) {
  int64_t n = 1;
  for (int d : shape) n *= d;
  return n;
}

// Runs f(begin, end) over [0, rows), rows of `len` elements each, helped by
// idle workers when there are more than about kGrain elements; chunks hold
// at least `min_rows` rows.
template <class F>
void parallel_rows(int64_t rows, int64_t len, int64_t min_rows, F&& f) {
  const int64_t grain = std::max<int64_t>(
      min_rows, cpu_backend::kGrain / std::max<int64_t>(len, 1));
  if (rows <= grain) {
    if (rows > 0) f(int64_t{0}, rows);
    return;
  }
  detail::Pool::get().parallel_for(rows, grain, f);
}

// One row: dst[i * ds] = src[i * ss] for i < len.
template <class T>
inline void copy_row(const T* src, int64_t ss, T* dst, int64_t ds,
                     int64_t len) {
  if (ss == 1 && ds == 1) {
    std::memcpy(dst, src, static_cast<size_t>(len) * sizeof(T));
  } else if (ds == 1) {
    if (ss == 0) {
      const T v = *src;
      for (int64_t i = 0; i < len; ++i) dst[i] = v;
    } else {
      for (int64_t i = 0; i < len; ++i) dst[i] = src[i * ss];
    }
  } else {
    for (int64_t i = 0; i < len; ++i) dst[i * ds] = src[i * ss];
  }
}

// dst[j * dst_st] = src[j * src_st] for every index j of `shape`. The walk
// goes row by row along the last merged axis. A transpose-like copy (rows
// written contiguously, gathered from a source whose previous axis is the
// contiguous one) goes in column blocks of a cache line, over many rows at
// once, so that each source line read serves a whole block.
template <class T>
void copy_strided(const T* src, Strides src_st, T* dst, Strides dst_st,
                  Shape shape) {
  const int64_t n = count(shape);
  if (n == 0) return;
  std::array<Strides, 2> st{std::move(src_st), std::move(dst_st)};
  collapse(shape, st);
  const int64_t len = shape.back();
  const int64_t ss = st[0].back(), ds = st[1].back();
  shape.pop_back();
  st[0].pop_back();
  st[1].pop_back();
  if (shape.empty()) {  // one row
    shape.push_back(1);
    st[0].push_back(0);
    st[1].push_back(0);
  }
  constexpr int64_t kBlock = std::max<int64_t>(8, 64 / sizeof(T));
  const bool tiled = ds == 1 && (ss > 1 || ss < -1) && len > kBlock &&
                     st[0].back() == 1 && shape.back() > 1;
  parallel_rows(
      n / len, len, tiled ? 4 * kBlock : 1, [&](int64_t begin, int64_t end) {
        cpu_backend::for_each_run(
            shape, st, begin, end,
            [&](int64_t, auto off, int64_t rows, auto row_st) {
              const T* s = src + off[0];
              T* d = dst + off[1];
              if (tiled && rows > 1) {
                for (int64_t j0 = 0; j0 < len; j0 += kBlock) {
                  const int64_t j1 = std::min(len, j0 + kBlock);
                  for (int64_t r = 0; r < rows; ++r) {
                    const T* sr = s + r * row_st[0];
                    T* dr = d + r * row_st[1];
                    for (int64_t j = j0; j < j1; ++j) dr[j] = sr[j * ss];
                  }
                }
                return;
              }
              for (int64_t r = 0; r < rows; ++r) {
                copy_row(s + r * row_st[0], ss, d + r * row_st[1], ds, len);
              }
            });
      });
}

// dst[j * dst_st] = v for every index j of `shape`.
template <class T>
void fill_strided(T v, T* dst, Strides dst_st, Shape shape) {
  const int64_t n = count(shape);
  if (n == 0) return;
  std::array<Strides, 1> st{std::move(dst_st)};
  collapse(shape, st);
  cpu_backend::parallel(n, [&](int64_t begin, int64_t end) {
    cpu_backend::for_each_run(shape, st, begin, end,
                              [&](int64_t, auto off, int64_t len, auto inner) {
                                T* d = dst + off[0];
                                if (inner[0] == 1) {
                                  std::fill_n(d, len, v);
                                } else {
                                  for (int64_t i = 0; i < len; ++i) {
                                    d[i * inner[0]] = v;
                                  }
                                }
                              });
  });
}

template <class T>
const T* in_ptr(const array& a) {
  return static_cast<const T*>(a.raw_data());
}

}  // namespace

void Copy::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  const array& a = in[0];
  array& o = out[0];
  cpu_backend::allocate_output(o);
  dispatch_size(a.itemsize(), [&]<class T>(std::type_identity<T>) {
    copy_strided(in_ptr<T>(a), a.strides(), static_cast<T*>(o.raw_data()),
                 detail::contiguous_strides(a.shape()), a.shape());
  });
}

void Concatenate::eval_cpu(const std::vector<array>& in,
                           std::vector<array>& out) {
  array& o = out[0];
  cpu_backend::allocate_output(o);
  const Strides ost = detail::contiguous_strides(o.shape());
  dispatch_size(o.itemsize(), [&]<class T>(std::type_identity<T>) {
    T* dst = static_cast<T*>(o.raw_data());
    int64_t at = 0;  // where the next input starts along the axis
    for (const array& a : in) {
      copy_strided(in_ptr<T>(a), a.strides(), dst + at * ost[axis_], ost,
                   a.shape());
      at += a.shape()[axis_];
    }
  });
}

void Stack::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  array& o = out[0];
  cpu_backend::allocate_output(o);
  const Strides ost = detail::contiguous_strides(o.shape());
  Strides dst_st = ost;
  dst_st.erase(dst_st.begin() + axis_);
  dispatch_size(o.itemsize(), [&]<class T>(std::type_identity<T>) {
    T* dst = static_cast<T*>(o.raw_data());
    for (size_t i = 0; i < in.size(); ++i) {
      copy_strided(in_ptr<T>(in[i]), in[i].strides(),
                   dst + static_cast<int64_t>(i) * ost[axis_], dst_st,
                   in[i].shape());
    }
  });
}

// The input goes to the interior box; the border is filled as one box per
// axis and side (axes before it restricted to the interior, axes after it
// whole), so that every element is written once.
void Pad::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  const array& a = in[0];
  array& o = out[0];
  cpu_backend::allocate_output(o);
  const Shape& os = o.shape();
  const Strides ost = detail::contiguous_strides(os);
  const int nd = o.ndim();
  dispatch_size(o.itemsize(), [&]<class T>(std::type_identity<T>) {
    T* dst = static_cast<T*>(o.raw_data());
    const T v = *in_ptr<T>(in[1]);
    int64_t interior = 0;
    for (int d = 0; d < nd; ++d) interior += low_[d] * ost[d];
    Shape box = os;
    int64_t base = 0;  // offset of the interior along the axes before d
    for (int d = 0; d < nd; ++d) {
      const int high = os[d] - low_[d] - a.shape()[d];
      box[d] = low_[d];
      fill_strided(v, dst + base, ost, box);
      box[d] = high;
      fill_strided(v, dst + base + (low_[d] + a.shape()[d]) * ost[d], ost, box);
      box[d] = a.shape()[d];
      base += low_[d] * ost[d];
    }
    copy_strided(in_ptr<T>(a), a.strides(), dst + interior, ost, a.shape());
  });
}

// Output axis d as (reps[d], in[d]): the source walks the repetitions with
// stride 0.
void Tile::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  const array& a = in[0];
  array& o = out[0];
  cpu_backend::allocate_output(o);
  const Strides ost = detail::contiguous_strides(o.shape());
  Shape shape;
  Strides src_st, dst_st;
  for (int d = 0; d < o.ndim(); ++d) {
    shape.push_back(reps_[d]);
    src_st.push_back(0);
    dst_st.push_back(a.shape()[d] * ost[d]);
    shape.push_back(a.shape()[d]);
    src_st.push_back(a.strides()[d]);
    dst_st.push_back(ost[d]);
  }
  dispatch_size(o.itemsize(), [&]<class T>(std::type_identity<T>) {
    copy_strided(in_ptr<T>(a), src_st, static_cast<T*>(o.raw_data()), dst_st,
                 shape);
  });
}

// Output axis `axis` as (in[axis], repeats): the source walks the
// repetitions with stride 0.
void Repeat::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  const array& a = in[0];
  array& o = out[0];
  cpu_backend::allocate_output(o);
  const Strides ost = detail::contiguous_strides(o.shape());
  Shape shape = a.shape();
  Strides src_st = a.strides();
  Strides dst_st = ost;
  shape.insert(shape.begin() + axis_ + 1, repeats_);
  src_st.insert(src_st.begin() + axis_ + 1, 0);
  dst_st[axis_] = ost[axis_] * repeats_;
  dst_st.insert(dst_st.begin() + axis_ + 1, ost[axis_]);
  dispatch_size(o.itemsize(), [&]<class T>(std::type_identity<T>) {
    copy_strided(in_ptr<T>(a), src_st, static_cast<T*>(o.raw_data()), dst_st,
                 shape);
  });
}

}  // namespace runnel
