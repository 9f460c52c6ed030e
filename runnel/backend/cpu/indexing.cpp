// CPU kernels of Gather and Scatter. Both walk their iteration space in runs
// along its last dim. Within a run the index arrays either stay put (a run of
// a slice: one offset, then a strided copy) or move (a run over index
// positions: offsets computed a block at a time, in flat loops over the index
// values, then one gather or scatter loop). Gathers split over idle workers
// by positions; scatters only along a dim whose positions can never write the
// same element, so that duplicates keep their row-major order.
#include "runnel/primitives/indexing.h"

#include <cmath>
#include <cstring>
#include <string>

#include "runnel/backend/common/dispatch.h"
#include "runnel/backend/common/ops.h"
#include "runnel/backend/cpu/iterate.h"

namespace runnel {
namespace {

using cpu_backend::kGrain;

// Offsets computed at a time when index values vary along a run.
constexpr int64_t kBlock = 256;

// How the values of one index array become element offsets in the target.
struct IndexRead {
  const void* data;  // element 0 of the index array
  Dtype dtype;
  int axis;        // the first target axis it selects on
  int span;        // how many axes, flattened (see IndexMap)
  int64_t size;    // negative values wrap by this
  int64_t bound;   // wrapped values must lie in [0, bound)
  int64_t extent;  // the slice it leaves room for (messages)
  int64_t mult;    // target elements per unit of the value
  bool unravel;    // axes that do not flatten into one stride
  const Shape* tshape;
  const Strides* tstrides;
};

// The walk: operand 0 is the target (direct part), 1 the updates (scatter),
// 2 + k index array k; strides per operand per dim, in elements.
using Dims = std::vector<int64_t>;

struct Plan {
  Dims shape;  // at least 1-d
  std::vector<int> dim_axis;
  std::vector<int64_t> dim_step;
  std::vector<Strides> st;
  int64_t base = 0;  // the target offset of `start`
  std::vector<IndexRead> ix;
};

Plan make_plan(const IndexMap& m, const Shape& tshape, const Strides& tstrides,
               const array* updates, const std::vector<array>& in,
               size_t first_index) {
  Plan p;
  p.shape.assign(m.shape.begin(), m.shape.end());
  p.dim_axis = m.dim_axis;
  p.dim_step = m.dim_step;
  int index_pos = m.index_pos;
  int index_ndim = m.index_ndim;
  if (p.shape.empty()) {  // a 0-d space walks as one position of a 1-d one
    p.shape = {1};
    p.dim_axis = {-1};
    p.dim_step = {0};
    index_pos = 0;
    index_ndim = 1;
  }
  const size_t nd = p.shape.size();
  const size_t nk = m.index_axis.size();
  p.st.assign(2 + nk, Strides(nd, 0));
  for (size_t j = 0; j < nd; ++j) {
    if (p.dim_axis[j] >= 0)
      p.st[0][j] = p.dim_step[j] * tstrides[p.dim_axis[j]];
  }
  for (size_t t = 0; t < m.start.size(); ++t)
    p.base += m.start[t] * tstrides[t];
  if (updates) {  // right-aligned, dims of 1 broadcast
    const size_t off = nd - updates->ndim();
    for (int r = 0; r < updates->ndim(); ++r) {
      if (updates->shape(r) != 1) p.st[1][off + r] = updates->strides()[r];
    }
  }
  for (size_t k = 0; k < nk; ++k) {
    const array& idx = in[first_index + k];
    const int r0 = index_pos + index_ndim - idx.ndim();
    for (int r = 0; r < idx.ndim(); ++r) {
      if (idx.shape(r) != 1) p.st[2 + k][r0 + r] = idx.strides()[r];
    }
    IndexRead ir{};
    ir.data = idx.raw_data();
    ir.dtype = idx.dtype();
    ir.axis = m.index_axis[k];
    ir.span = m.index_span[k];
    ir.extent = m.index_extent[k];
    ir.tshape = &tshape;
    ir.tstrides = &tstrides;
    ir.size = 1;
    for (int d = ir.axis; d < ir.axis + ir.span; ++d) ir.size *= tshape[d];
    ir.bound = ir.size - std::max<int64_t>(ir.extent, 1) + 1;
    // Axes of a span flatten into one stride when each steps over the next
    // (axes of size 1 step anywhere).
    ir.mult = 0;
    ir.unravel = false;
    bool inner_found = false;
    for (int d = ir.axis + ir.span - 1; d >= ir.axis; --d) {
      if (tshape[d] == 1) continue;
      if (!inner_found) {
        ir.mult = tstrides[d];
        inner_found = true;
        continue;
      }
      int64_t inner = 1;
      for (int e = d + 1; e < ir.axis + ir.span; ++e) inner *= tshape[e];
      if (tstrides[d] != inner * ir.mult) ir.unravel = true;
    }
    p.ix.push_back(ir);
  }
  return p;
}

// Drops the dims of size 1 (keeping one), and with `merge` folds a dim into
// the one before it where every operand steps through both as through one
// (the gather walks longer runs; the scatter needs dim_axis, kept per dim).
void simplify(Plan& p, bool merge) {
  Plan q;
  q.st.resize(p.st.size());
  q.base = p.base;
  q.ix = std::move(p.ix);
  for (size_t j = 0; j < p.shape.size(); ++j) {
    if (p.shape[j] == 1) continue;
    bool fold = merge && !q.shape.empty();
    for (size_t o = 0; o < p.st.size() && fold; ++o) {
      fold = q.st[o].back() == p.st[o][j] * p.shape[j];
    }
    if (fold) {
      q.shape.back() *= p.shape[j];
      for (size_t o = 0; o < p.st.size(); ++o) q.st[o].back() = p.st[o][j];
      q.dim_axis.back() = -1;
      q.dim_step.back() = 0;
      continue;
    }
    q.shape.push_back(p.shape[j]);
    q.dim_axis.push_back(p.dim_axis[j]);
    q.dim_step.push_back(p.dim_step[j]);
    for (size_t o = 0; o < p.st.size(); ++o) q.st[o].push_back(p.st[o][j]);
  }
  if (q.shape.empty()) {
    q.shape = {1};
    q.dim_axis = {-1};
    q.dim_step = {0};
    for (auto& s : q.st) s = {0};
  }
  p = std::move(q);
}

[[noreturn, gnu::cold, gnu::noinline]] void out_of_bounds(
    const char* op, const std::string& value, const IndexRead& r) {
  std::string msg =
      std::string("[") + op + "] index " + value + " is out of bounds for ";
  if (r.span != 1) {
    msg += "size " + std::to_string(r.size);
  } else {
    msg += "axis " + std::to_string(r.axis) + " with size " +
           std::to_string(r.size);
    if (r.extent > 1) msg += " and slice size " + std::to_string(r.extent);
  }
  throw std::out_of_range(msg + ".");
}

// The value wrapped once, as unsigned: a value out of range lands at or
// above r.bound (negative values far below -size wrap around to huge ones).
template <class I>
inline uint64_t wrapped(I v, const IndexRead& r) {
  uint64_t u = static_cast<uint64_t>(v);  // modular, also for negative v
  if constexpr (std::is_signed_v<I>) {
    if (v < 0) u += static_cast<uint64_t>(r.size);
  }
  return u;
}

// The target offset of a position in the flattened axes of a span that do
// not flatten into one stride.
int64_t unravel(uint64_t v, const IndexRead& r) {
  int64_t off = 0;
  for (int d = r.axis + r.span; d-- > r.axis;) {
    const uint64_t n = static_cast<uint64_t>((*r.tshape)[d]);
    off += static_cast<int64_t>(v % n) * (*r.tstrides)[d];
    v /= n;
  }
  return off;
}

// offs[i] += the offset of the value at p[i * stride], for i < n.
template <class I>
void add_offsets(const I* p, int64_t stride, int64_t n, const IndexRead& r,
                 int64_t* offs, const char* op) {
  const uint64_t bound = static_cast<uint64_t>(r.bound);
  if (r.unravel) {
    for (int64_t i = 0; i < n; ++i) {
      uint64_t u = wrapped(p[i * stride], r);
      if (u >= bound) out_of_bounds(op, std::to_string(p[i * stride]), r);
      offs[i] += unravel(u, r);
    }
    return;
  }
  // Flat and branch-free: out-of-range values are noted, and their offsets
  // (computed in unsigned arithmetic, never used) discarded by the throw.
  const uint64_t mult = static_cast<uint64_t>(r.mult);
  bool bad = false;
  auto step = [&](int64_t i, I v) {
    uint64_t u = wrapped(v, r);
    bad |= u >= bound;
    offs[i] = static_cast<int64_t>(static_cast<uint64_t>(offs[i]) + u * mult);
  };
  if (stride == 1) {
    for (int64_t i = 0; i < n; ++i) step(i, p[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) step(i, p[i * stride]);
  }
  if (bad) {
    for (int64_t i = 0; i < n; ++i) {
      if (wrapped(p[i * stride], r) >= bound) {
        out_of_bounds(op, std::to_string(p[i * stride]), r);
      }
    }
  }
}

template <class F>
void dispatch_index(Dtype d, F&& f) {
  dispatch_dtype(d, [&]<class I>(std::type_identity<I>) {
    if constexpr (std::is_integral_v<I> && !std::is_same_v<I, bool>) {
      f(std::type_identity<I>{});
    } else {
      detail::throw_invalid_dtype("gather", d);  // the ops reject these
    }
  });
}

void add_offsets(const IndexRead& r, int64_t at, int64_t stride, int64_t n,
                 int64_t* offs, const char* op) {
  dispatch_index(r.dtype, [&]<class I>(std::type_identity<I>) {
    add_offsets(static_cast<const I*>(r.data) + at, stride, n, r, offs, op);
  });
}

// Calls f(pos, n, off) for the runs of positions [begin, end) of `shape`
// along its last dim: pos counts positions row-major, off[j] is operand j's
// offset at the run's start (base[j] at position 0, then st[j] per step).
template <class F>
void walk(const Dims& shape, const std::vector<Strides>& st,
          const std::vector<int64_t>& base, int64_t begin, int64_t end, F&& f) {
  const int nd = static_cast<int>(shape.size());
  const size_t k = st.size();
  std::vector<int64_t> idx(nd, 0);
  std::vector<int64_t> off(base);
  int64_t rem = begin;
  for (int d = nd - 1; d >= 0; --d) {
    idx[d] = rem % shape[d];
    rem /= shape[d];
    for (size_t j = 0; j < k; ++j) off[j] += idx[d] * st[j][d];
  }
  const int64_t last = shape[nd - 1];
  int64_t pos = begin;
  while (pos < end) {
    const int64_t n = std::min(last - idx[nd - 1], end - pos);
    f(pos, n, off.data());
    pos += n;
    idx[nd - 1] += n;
    for (size_t j = 0; j < k; ++j) off[j] += n * st[j][nd - 1];
    for (int d = nd - 1; d > 0 && idx[d] == shape[d]; --d) {
      idx[d] = 0;
      ++idx[d - 1];
      for (size_t j = 0; j < k; ++j) {
        off[j] += st[j][d - 1] - shape[d] * st[j][d];
      }
    }
  }
}

// The target offset of a run on which no index array moves.
int64_t fixed_offset(const Plan& p, const int64_t* off, const char* op) {
  int64_t o = off[0];
  for (size_t k = 0; k < p.ix.size(); ++k) {
    add_offsets(p.ix[k], off[2 + k], 0, 1, &o, op);
  }
  return o;
}

bool indices_move(const Plan& p) {
  for (size_t k = 0; k < p.ix.size(); ++k) {
    if (p.st[2 + k].back() != 0) return true;
  }
  return false;
}

// Offsets of positions [i0, i0 + n) of a run on which index arrays move.
void block_offsets(const Plan& p, const int64_t* off, int64_t i0, int64_t n,
                   int64_t* offs, const char* op) {
  const int64_t ts = p.st[0].back();
  for (int64_t i = 0; i < n; ++i) offs[i] = off[0] + (i0 + i) * ts;
  for (size_t k = 0; k < p.ix.size(); ++k) {
    const int64_t is = p.st[2 + k].back();
    add_offsets(p.ix[k], off[2 + k] + i0 * is, is, n, offs, op);
  }
}

template <class S>
int64_t size_of_shape(const S& s) {
  int64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

// ---- Scatter combines ----

template <class T>
bool is_nan(T v) {
  if constexpr (std::is_integral_v<T>) {
    return false;
  } else {
    return !(v == v);
  }
}

struct Assign {
  template <class T>
  T operator()(T, T u) const {
    return u;
  }
};

struct Max {
  template <class T>
  T operator()(T d, T u) const {
    if constexpr (std::is_same_v<T, bool>) {
      return d || u;
    } else {
      if (is_nan(u) || is_nan(d)) return is_nan(u) ? u : d;
      return u > d ? u : d;
    }
  }
};

struct Min {
  template <class T>
  T operator()(T d, T u) const {
    if constexpr (std::is_same_v<T, bool>) {
      return d && u;
    } else {
      if (is_nan(u) || is_nan(d)) return is_nan(u) ? u : d;
      return u < d ? u : d;
    }
  }
};

// out's element t becomes combine(out[t], u) for each update, run by run.
template <class T, class Combine>
void scatter_runs(const Plan& p, T* dst, const T* upd, const Dims& shape,
                  const std::vector<int64_t>& base, Combine combine,
                  const char* op) {
  const int64_t ts = p.st[0].back();
  const int64_t us = p.st[1].back();
  const bool moving = indices_move(p);
  int64_t offs[kBlock];
  walk(shape, p.st, base, 0, size_of_shape(shape),
       [&](int64_t, int64_t n, const int64_t* off) {
         const T* u = upd + off[1];
         if (!moving) {
           T* d = dst + fixed_offset(p, off, op);
           for (int64_t i = 0; i < n; ++i) {
             d[i * ts] = combine(d[i * ts], u[i * us]);
           }
           return;
         }
         for (int64_t i0 = 0; i0 < n; i0 += kBlock) {
           const int64_t m = std::min(kBlock, n - i0);
           block_offsets(p, off, i0, m, offs, op);
           const T* ub = u + i0 * us;
           for (int64_t i = 0; i < m; ++i) {
             dst[offs[i]] = combine(dst[offs[i]], ub[i * us]);
           }
         }
       });
}

// A dim along which different positions always write different elements:
// it alone walks its target axis (with a nonzero step) and no index array
// selects on that axis. -1 when there is none.
int split_dim(const Plan& p) {
  const int nd = static_cast<int>(p.shape.size());
  for (int j = 0; j < nd; ++j) {
    const int t = p.dim_axis[j];
    if (p.shape[j] <= 1 || t < 0 || p.dim_step[j] == 0) continue;
    bool alone = true;
    for (int j2 = 0; j2 < nd && alone; ++j2) {
      if (j2 != j && p.dim_axis[j2] == t) alone = false;
    }
    for (const IndexRead& r : p.ix) {
      if (t >= r.axis && t < r.axis + r.span) alone = false;
    }
    if (alone) return j;
  }
  return -1;
}

template <class T, class Combine>
void scatter_typed(const Plan& p, array& out, const array& updates,
                   Combine combine, const char* op) {
  T* dst = out.data<T>();
  const T* upd = updates.data<T>();
  const int64_t total = size_of_shape(p.shape);
  const int d0 = split_dim(p);
  std::vector<int64_t> base(p.st.size(), 0);
  base[0] = p.base;
  if (d0 < 0 || total <= kGrain) {
    scatter_runs<T>(p, dst, upd, p.shape, base, combine, op);
    return;
  }
  // Slabs of dim d0 write disjoint elements: each chunk of them keeps the
  // row-major order of its own updates.
  const int64_t slab = total / p.shape[d0];
  int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(slab, 1));
  if (d0 + 1 == static_cast<int>(p.shape.size())) {
    // Chunks of the innermost dim are the runs: keep them long.
    const int64_t threads = detail::Pool::get().num_threads();
    grain =
        std::max({grain, (p.shape[d0] + threads - 1) / threads, int64_t{64}});
  }
  detail::Pool::get().parallel_for(
      p.shape[d0], grain, [&](int64_t b, int64_t e) {
        Dims sub = p.shape;
        sub[d0] = e - b;
        std::vector<int64_t> sb(base);
        for (size_t j = 0; j < p.st.size(); ++j) sb[j] += b * p.st[j][d0];
        scatter_runs<T>(p, dst, upd, sub, sb, combine, op);
      });
}

// out = a, contiguous.
void copy_contiguous(const array& a, array& out) {
  if (a.size() == 0) return;
  if (cpu_backend::is_contiguous(a)) {
    const auto* src = static_cast<const char*>(a.raw_data());
    auto* dst = static_cast<char*>(out.raw_data());
    const int64_t item = static_cast<int64_t>(a.itemsize());
    cpu_backend::parallel(
        static_cast<int64_t>(a.size()), [&](int64_t b, int64_t e) {
          std::memcpy(dst + b * item, src + b * item, (e - b) * item);
        });
    return;
  }
  std::array<Strides, 1> st{a.strides()};
  dispatch_size(a.itemsize(), [&]<class T>(std::type_identity<T>) {
    const T* src = a.data<T>();
    T* dst = out.data<T>();
    cpu_backend::parallel(a.size(), [&](int64_t b, int64_t e) {
      cpu_backend::for_each_run(
          a.shape(), st, b, e,
          [&](int64_t pos, auto off, int64_t n, auto inner) {
            const T* s = src + off[0];
            for (int64_t i = 0; i < n; ++i) dst[pos + i] = s[i * inner[0]];
          });
    });
  });
}

// A gather with any number of index arrays: offsets a block at a time.
template <class T>
void gather_runs(const Plan& p, const T* src, T* dst, int64_t begin,
                 int64_t end, const char* op) {
  const bool moving = indices_move(p);
  const int64_t ts = p.st[0].back();
  std::vector<int64_t> base(p.st.size(), 0);
  base[0] = p.base;
  int64_t offs[kBlock];
  walk(p.shape, p.st, base, begin, end,
       [&](int64_t pos, int64_t n, const int64_t* off) {
         T* d = dst + pos;
         if (!moving) {
           const T* s = src + fixed_offset(p, off, op);
           if (ts == 1) {
             std::memcpy(d, s, n * sizeof(T));
           } else {
             for (int64_t i = 0; i < n; ++i) d[i] = s[i * ts];
           }
           return;
         }
         for (int64_t i0 = 0; i0 < n; i0 += kBlock) {
           const int64_t m = std::min(kBlock, n - i0);
           block_offsets(p, off, i0, m, offs, op);
           for (int64_t i = 0; i < m; ++i) d[i0 + i] = src[offs[i]];
         }
       });
}

// The usual gather: one index array of type I whose axes flatten into one
// stride, and room for at least one position (so that position 0 can be
// read in place of an index out of range, which then fails the op). One
// fused loop per run: load, wrap, check, read.
template <class T, class I>
void gather_runs_one_index(const Plan& p, const T* src, T* dst, int64_t begin,
                           int64_t end, const char* op) {
  const IndexRead& r = p.ix[0];
  const I* idx = static_cast<const I*>(r.data);
  const int64_t ts = p.st[0].back();
  const int64_t is = p.st[2].back();
  const uint64_t bound = static_cast<uint64_t>(r.bound);
  const uint64_t mult = static_cast<uint64_t>(r.mult);
  std::vector<int64_t> base(p.st.size(), 0);
  base[0] = p.base;
  walk(p.shape, p.st, base, begin, end,
       [&](int64_t pos, int64_t n, const int64_t* off) {
         T* d = dst + pos;
         const I* q = idx + off[2];
         const T* s = src + off[0];
         if (is == 0) {  // a slice of the target per index value
           const uint64_t u = wrapped(*q, r);
           if (u >= bound) out_of_bounds(op, std::to_string(*q), r);
           s += static_cast<int64_t>(u * mult);
           if (ts == 1) {
             std::memcpy(d, s, n * sizeof(T));
           } else {
             for (int64_t i = 0; i < n; ++i) d[i] = s[i * ts];
           }
           return;
         }
         bool bad = false;
         auto one = [&](int64_t i, I v) {
           const uint64_t u = wrapped(v, r);
           const bool ok = u < bound;
           bad |= !ok;
           return static_cast<int64_t>(ok ? u * mult : 0);
         };
         if (is == 1 && ts == 0) {
           for (int64_t i = 0; i < n; ++i) d[i] = s[one(i, q[i])];
         } else {
           for (int64_t i = 0; i < n; ++i) {
             d[i] = s[i * ts + one(i, q[i * is])];
           }
         }
         if (bad) {
           for (int64_t i = 0; i < n; ++i) {
             if (wrapped(q[i * is], r) >= bound) {
               out_of_bounds(op, std::to_string(q[i * is]), r);
             }
           }
         }
       });
}

}  // namespace

void Gather::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  const array& a = in[0];
  array& o = out[0];
  cpu_backend::allocate_output(o);
  if (o.size() == 0) return;
  Plan p = make_plan(map_, a.shape(), a.strides(), nullptr, in, 1);
  simplify(p, true);
  const bool one_index =
      p.ix.size() == 1 && !p.ix[0].unravel && p.ix[0].bound > 0;
  const char* op = op_;
  dispatch_size(a.itemsize(), [&]<class T>(std::type_identity<T>) {
    const T* src = a.data<T>();
    T* dst = o.data<T>();
    if (!one_index) {
      cpu_backend::parallel(o.size(), [&](int64_t b, int64_t e) {
        gather_runs<T>(p, src, dst, b, e, op);
      });
      return;
    }
    dispatch_index(p.ix[0].dtype, [&]<class I>(std::type_identity<I>) {
      cpu_backend::parallel(o.size(), [&](int64_t b, int64_t e) {
        gather_runs_one_index<T, I>(p, src, dst, b, e, op);
      });
    });
  });
}

const char* Scatter::name() const {
  switch (combine_) {
    case ScatterOp::none:
      return "scatter";
    case ScatterOp::add:
      return "scatter_add";
    case ScatterOp::prod:
      return "scatter_prod";
    case ScatterOp::max:
      return "scatter_max";
    case ScatterOp::min:
      return "scatter_min";
  }
  return "scatter";
}

void Scatter::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  const array& a = in[0];
  const array& updates = in[1];
  array& o = out[0];
  cpu_backend::allocate_output(o);
  copy_contiguous(a, o);
  if (size_of_shape(map_.shape) == 0 || o.size() == 0) return;
  const Strides ostrides = detail::contiguous_strides(o.shape());
  Plan p = make_plan(map_, o.shape(), ostrides, &updates, in, 2);
  simplify(p, false);
  const char* op = op_;
  if (combine_ == ScatterOp::none) {
    dispatch_size(o.itemsize(), [&]<class T>(std::type_identity<T>) {
      scatter_typed<T>(p, o, updates, Assign{}, op);
    });
    return;
  }
  dispatch_dtype(o.dtype(), [&]<class T>(std::type_identity<T>) {
    switch (combine_) {
      case ScatterOp::add:
        scatter_typed<T>(p, o, updates, scalar::Add{}, op);
        break;
      case ScatterOp::prod:
        scatter_typed<T>(p, o, updates, scalar::Multiply{}, op);
        break;
      case ScatterOp::max:
        scatter_typed<T>(p, o, updates, Max{}, op);
        break;
      case ScatterOp::min:
        scatter_typed<T>(p, o, updates, Min{}, op);
        break;
      case ScatterOp::none:
        break;
    }
  });
}

}  // namespace runnel
