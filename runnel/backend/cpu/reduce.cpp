// CPU reductions. Every reduction runs through one engine (reduce_into):
// the input is seen as kept and reduced axes (ReduceLayout), and one of two
// loops runs it:
//   - per output: each output walks its reduced elements in runs along the
//     innermost reduced axis (contiguous runs vectorise), for reductions over
//     the last axis and for any layout the other loop does not take;
//   - columns: when the innermost kept axis is contiguous, a tile of
//     neighbouring outputs is reduced together, row after row, vectorising
//     across the outputs (reductions over leading axes).
// Sums are pairwise in both: blocks of 128 elements (8 accumulators) or of 16
// rows are summed directly and the block results combined as a binary tree.
// Work is split over idle workers in chunks fixed by the layout (never by
// the number of threads), so every result is deterministic.
#include "runnel/backend/cpu/reduce.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "runnel/backend/common/ops.h"
#include "runnel/primitives/reduce.h"

namespace runnel::cpu_backend {
namespace {

// Elements (or rows) reduced directly before the pairwise tree takes over.
constexpr int64_t kBlock = 128;
constexpr int64_t kRowBlock = 16;

// The arithmetic type of T's values: float for the half types.
template <class T>
using Wide = std::conditional_t<scalar::kHalf<T>, float, T>;
template <class T>
Wide<T> widen(T x) {
  return static_cast<Wide<T>>(x);
}
// The accumulator of float reductions: double for double, else float.
template <class T>
using FloatAcc = std::conditional_t<std::is_same_v<T, double>, double, float>;

inline float exp_acc(float x) { return exp_f32(x); }
inline double exp_acc(double x) { return std::exp(x); }

template <class T>
constexpr bool kFloat = scalar::kHalf<T> || std::is_floating_point_v<T>;

struct NoCenter {};

// ---- The reductions: map each element to the accumulator, combine two
// accumulators, finish one into the output. ----

// Each op says whether it is exact (integer arithmetic, max, min, logic:
// any order gives the same result, so runs reduce in one flat loop, which
// vectorises best) or a float sum (pairwise, eight lanes), and whether its
// map is expensive (exp: mapped in a separate loop first).
template <class T>
struct SumOp {
  using Acc = typename scalar::SumAcc<T>::type;
  using C = NoCenter;
  using Out = T;
  static constexpr bool kCentered = false;
  static constexpr bool kExact = std::is_integral_v<Acc>;
  static constexpr bool kHeavyMap = false;
  Acc init() const { return Acc{}; }
  Acc map(T x, C) const { return static_cast<Acc>(widen(x)); }
  Acc combine(Acc a, Acc b) const { return a + b; }
  Out finish(Acc a, C) const { return static_cast<T>(a); }
};

template <class T>
struct MeanOp : SumOp<T> {
  using Acc = typename SumOp<T>::Acc;
  Acc scale;
  T finish(Acc a, NoCenter) const { return static_cast<T>(a * scale); }
};

template <class T>
struct ProdOp {
  using Acc = typename scalar::SumAcc<T>::type;
  using C = NoCenter;
  using Out = T;
  static constexpr bool kCentered = false;
  static constexpr bool kExact = std::is_integral_v<Acc>;
  static constexpr bool kHeavyMap = false;
  Acc init() const { return Acc{1}; }
  Acc map(T x, C) const { return static_cast<Acc>(widen(x)); }
  Acc combine(Acc a, Acc b) const { return a * b; }
  Out finish(Acc a, C) const { return static_cast<T>(a); }
};

// The accumulator of max and min: floats as order keys (see reduce.h),
// integers and bool as themselves.
template <class T>
using ExtremeAcc = std::conditional_t<
    kFloat<T>, std::conditional_t<std::is_same_v<T, double>, int64_t, int32_t>,
    T>;

// The extreme key (see extreme_key) of a contiguous run of floats, in
// AVX2 and AVX-512 versions: the hot loop of max, min, argmax and argmin.
int32_t max_key_f32(const float* x, int64_t n);
int32_t min_key_f32(const float* x, int64_t n);
int64_t max_key_f64(const double* x, int64_t n);
int64_t min_key_f64(const double* x, int64_t n);

// max and min; NaN wins (its key is the extreme one).
template <class T, bool kMax>
struct ExtremeOp {
  using Acc = ExtremeAcc<T>;
  using C = NoCenter;
  using Out = T;
  static constexpr bool kCentered = false;
  static constexpr bool kExact = true;
  static constexpr bool kHeavyMap = false;
  Acc init() const {
    if constexpr (kFloat<T>) {
      using F = FloatAcc<T>;
      return order_key(kMax ? -std::numeric_limits<F>::infinity()
                            : std::numeric_limits<F>::infinity());
    } else {
      return kMax ? std::numeric_limits<T>::lowest()
                  : std::numeric_limits<T>::max();
    }
  }
  Acc map(T x, C) const {
    if constexpr (kFloat<T>) {
      return extreme_key<kMax>(static_cast<FloatAcc<T>>(widen(x)));
    } else {
      return x;
    }
  }
  Acc combine(Acc a, Acc b) const {
    if constexpr (kMax) {
      return b > a ? b : a;
    } else {
      return b < a ? b : a;
    }
  }
  Out finish(Acc a, C) const {
    if constexpr (kFloat<T>) {
      return static_cast<T>(from_order_key(a));
    } else {
      return a;
    }
  }
  // A contiguous run, where a vector version exists.
  Acc run(const T* x, int64_t n) const
      requires(std::is_same_v<T, float> || std::is_same_v<T, double>) {
    if constexpr (std::is_same_v<T, float>) {
      return kMax ? max_key_f32(x, n) : min_key_f32(x, n);
    } else {
      return kMax ? max_key_f64(x, n) : min_key_f64(x, n);
    }
  }
};

template <bool kMax, class F>
auto extreme_key_run(const F* x, int64_t n) {
  auto a = order_key(kMax ? -std::numeric_limits<F>::infinity()
                          : std::numeric_limits<F>::infinity());
  for (int64_t i = 0; i < n; ++i) {
    const auto k = extreme_key<kMax>(x[i]);
    a = kMax ? (k > a ? k : a) : (k < a ? k : a);
  }
  return a;
}

RUNNEL_CPU_CLONES
int32_t max_key_f32(const float* x, int64_t n) {
  return extreme_key_run<true>(x, n);
}
RUNNEL_CPU_CLONES
int32_t min_key_f32(const float* x, int64_t n) {
  return extreme_key_run<false>(x, n);
}
RUNNEL_CPU_CLONES
int64_t max_key_f64(const double* x, int64_t n) {
  return extreme_key_run<true>(x, n);
}
RUNNEL_CPU_CLONES
int64_t min_key_f64(const double* x, int64_t n) {
  return extreme_key_run<false>(x, n);
}

// all and any, on 0 and 1 in an unsigned (bool reductions do not
// vectorise), combined bitwise.
template <class T, bool kAll>
struct LogicalOp {
  using Acc = unsigned;
  using C = NoCenter;
  using Out = bool;
  static constexpr bool kCentered = false;
  static constexpr bool kExact = true;
  static constexpr bool kHeavyMap = false;
  Acc init() const { return kAll ? 1u : 0u; }
  Acc map(T x, C) const { return widen(x) != Wide<T>(0); }
  Acc combine(Acc a, Acc b) const { return kAll ? (a & b) : (a | b); }
  Out finish(Acc a, C) const { return a != 0; }
};

// sum((x - c)^2) * scale, and its square root.
template <class T>
struct VarOp {
  using Acc = FloatAcc<T>;
  using C = Acc;
  using Out = T;
  static constexpr bool kCentered = true;
  static constexpr bool kExact = false;
  static constexpr bool kHeavyMap = true;
  static constexpr bool kExpMap = false;
  Acc scale;
  bool sqrt;
  Acc init() const { return Acc{}; }
  Acc map(T x, C c) const {
    Acc d = static_cast<Acc>(widen(x)) - c;
    return d * d;
  }
  Acc combine(Acc a, Acc b) const { return a + b; }
  Out finish(Acc a, C) const {
    Acc v = a * scale;
    return static_cast<T>(sqrt ? std::sqrt(v) : v);
  }
};

// sum(exp(x - c)), finished as c + log(sum) (logsumexp) or left as it is.
template <class T, bool kLog>
struct ExpSumOp {
  using Acc = FloatAcc<T>;
  using C = Acc;
  using Out = std::conditional_t<kLog, T, Acc>;
  static constexpr bool kCentered = true;
  static constexpr bool kExact = false;
  static constexpr bool kHeavyMap = true;
  static constexpr bool kExpMap = true;  // map(x, c) = exp_f32(x - c)
  Acc init() const { return Acc{}; }
  Acc map(T x, C c) const { return exp_acc(static_cast<Acc>(widen(x)) - c); }
  Acc combine(Acc a, Acc b) const { return a + b; }
  Out finish(Acc a, C c) const {
    if constexpr (kLog) {
      return static_cast<T>(std::isinf(c) ? c : c + std::log(a));
    } else {
      return a;
    }
  }
};

// ---- Runs: a contiguous or strided 1-d stretch of elements ----

// Up to kBlock elements: eight independent accumulators, which the compiler
// turns into vector lanes. Expensive maps (exp) are applied in a separate
// flat loop first, which vectorises better.
template <class Op, class T>
typename Op::Acc block_contig(const Op& op, const T* x, int64_t n,
                              typename Op::C c) {
  using Acc = typename Op::Acc;
  Acc acc[8];
  for (auto& a : acc) a = op.init();
  int64_t i = 0;
  if constexpr (Op::kHeavyMap) {
    Acc m[kBlock];
    if constexpr (Op::kExpMap && std::is_same_v<T, float>) {
      exp_shifted(x, c, m, n);
    } else {
      for (int64_t k = 0; k < n; ++k) m[k] = op.map(x[k], c);
    }
    for (; i + 8 <= n; i += 8) {
      for (int j = 0; j < 8; ++j) acc[j] = op.combine(acc[j], m[i + j]);
    }
    for (; i < n; ++i) acc[0] = op.combine(acc[0], m[i]);
  } else {
    for (; i + 8 <= n; i += 8) {
      for (int j = 0; j < 8; ++j) {
        acc[j] = op.combine(acc[j], op.map(x[i + j], c));
      }
    }
    for (; i < n; ++i) acc[0] = op.combine(acc[0], op.map(x[i], c));
  }
  return op.combine(
      op.combine(op.combine(acc[0], acc[1]), op.combine(acc[2], acc[3])),
      op.combine(op.combine(acc[4], acc[5]), op.combine(acc[6], acc[7])));
}

template <class Op, class T>
typename Op::Acc reduce_contig(const Op& op, const T* x, int64_t n,
                               typename Op::C c) {
  if constexpr (Op::kExact) {
    if constexpr (requires { op.run(x, n); }) {
      return op.run(x, n);
    } else {
      typename Op::Acc a = op.init();
      for (int64_t i = 0; i < n; ++i) a = op.combine(a, op.map(x[i], c));
      return a;
    }
  }
  if (n <= kBlock) return block_contig(op, x, n, c);
  int64_t half = n / 2 / 8 * 8;
  // In memory order: arguments of one call may be evaluated right to left,
  // and walking the halves backwards defeats the hardware prefetchers (the
  // sum of 2^24 floats took 3.5 times as long).
  const typename Op::Acc lo = reduce_contig(op, x, half, c);
  return op.combine(lo, reduce_contig(op, x + half, n - half, c));
}

template <class Op, class T>
typename Op::Acc reduce_strided(const Op& op, const T* x, int64_t n, int64_t s,
                                typename Op::C c) {
  using Acc = typename Op::Acc;
  if (n <= kBlock) {
    Acc a0 = op.init(), a1 = op.init();
    int64_t i = 0;
    for (; i + 2 <= n; i += 2) {
      a0 = op.combine(a0, op.map(x[i * s], c));
      a1 = op.combine(a1, op.map(x[(i + 1) * s], c));
    }
    if (i < n) a0 = op.combine(a0, op.map(x[i * s], c));
    return op.combine(a0, a1);
  }
  int64_t half = n / 2;
  const Acc lo = reduce_strided(op, x, half, s, c);  // in memory order
  return op.combine(lo, reduce_strided(op, x + half * s, n - half, s, c));
}

template <class Op, class T>
typename Op::Acc reduce_run(const Op& op, const T* x, int64_t n, int64_t s,
                            typename Op::C c) {
  return s == 1 ? reduce_contig(op, x, n, c) : reduce_strided(op, x, n, s, c);
}

// Combines values pushed one by one as a binary tree (a binary counter of
// partial results), so n pushes cost log2(n) levels of rounding.
template <class Op>
class Pairwise {
 public:
  using Acc = typename Op::Acc;
  explicit Pairwise(const Op& op) : op_(op) {}
  void push(Acc a) {
    uint64_t w = 1;
    while (n_ > 0 && weight_[n_ - 1] == w) {
      a = op_.combine(value_[n_ - 1], a);
      w *= 2;
      --n_;
    }
    value_[n_] = a;
    weight_[n_] = w;
    ++n_;
  }
  Acc result() const {
    if (n_ == 0) return op_.init();
    Acc r = value_[n_ - 1];
    for (int i = n_ - 2; i >= 0; --i) r = op_.combine(value_[i], r);
    return r;
  }

 private:
  const Op& op_;
  Acc value_[64];
  uint64_t weight_[64];
  int n_ = 0;
};

template <class Op>
typename Op::Acc combine_pairwise(const Op& op, const typename Op::Acc* a,
                                  int64_t n, int64_t stride = 1) {
  if (n <= 8) {
    typename Op::Acc r = op.init();
    for (int64_t i = 0; i < n; ++i) r = op.combine(r, a[i * stride]);
    return r;
  }
  int64_t half = n / 2;
  const typename Op::Acc lo = combine_pairwise(op, a, half, stride);
  return op.combine(lo,
                    combine_pairwise(op, a + half * stride, n - half, stride));
}

// Reduces positions [lo, hi) of the reduced axes, from x (the output's
// first element's position).
template <class Op, class T>
typename Op::Acc reduce_span(const Op& op, const T* x, const ReduceLayout& L,
                             const std::array<Strides, 1>& rst, int64_t lo,
                             int64_t hi, typename Op::C c) {
  using Acc = typename Op::Acc;
  const size_t nd = L.red_shape.size();
  if (nd == 0) return op.map(x[0], c);
  if (nd == 1) {
    int64_t s = L.red_strides[0];
    return reduce_run(op, x + lo * s, hi - lo, s, c);
  }
  Pairwise<Op> tree(op);
  Acc block = op.init();
  int64_t count = 0;
  for_each_run(L.red_shape, rst, lo, hi,
               [&](int64_t, auto off, int64_t n, auto inner) {
                 Acc r = reduce_run(op, x + off[0], n, inner[0], c);
                 if (n >= kBlock) {
                   tree.push(r);
                   return;
                 }
                 block = op.combine(block, r);
                 count += n;
                 if (count >= kBlock) {
                   tree.push(block);
                   block = op.init();
                   count = 0;
                 }
               });
  if (count > 0) tree.push(block);
  return tree.result();
}

template <class Op, class T>
typename Op::C center_at(const T* center, int64_t o) {
  if constexpr (Op::kCentered) {
    return static_cast<typename Op::C>(widen(center[o]));
  } else {
    return {};
  }
}

// One output at a time (see the file comment).
template <class Op, class T>
void reduce_per_output(const Op& op, const ReduceLayout& L, const T* x,
                       const T* center, typename Op::Out* out) {
  using Acc = typename Op::Acc;
  const int64_t O = L.kept_size, M = L.red_size;
  const std::array<Strides, 1> kst{L.kept_strides};
  const std::array<Strides, 1> rst{L.red_strides};
  const int64_t chunks = (M + kGrain - 1) / kGrain;
  if (chunks <= 1) {
    parallel_items(O, M, [&](int64_t b, int64_t e) {
      for_each_run(L.kept_shape, kst, b, e,
                   [&](int64_t pos, auto off, int64_t n, auto inner) {
                     for (int64_t t = 0; t < n; ++t) {
                       auto c = center_at<Op>(center, pos + t);
                       Acc r = reduce_span(op, x + off[0] + t * inner[0], L,
                                           rst, 0, M, c);
                       out[pos + t] = op.finish(r, c);
                     }
                   });
    });
    return;
  }
  // Few, large outputs: fixed chunks of kGrain elements, then their tree.
  std::unique_ptr<Acc[]> partial(new Acc[O * chunks]);
  parallel_items(O * chunks, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      int64_t o = i / chunks, ch = i % chunks;
      const T* p = x + offset_of(o, L.kept_shape, L.kept_strides);
      partial[i] =
          reduce_span(op, p, L, rst, ch * kGrain,
                      std::min(M, (ch + 1) * kGrain), center_at<Op>(center, o));
    }
  });
  for (int64_t o = 0; o < O; ++o) {
    out[o] = op.finish(combine_pairwise(op, &partial[o * chunks], chunks),
                       center_at<Op>(center, o));
  }
}

// Partial sums of blocks of rows, combined as a binary tree of vectors.
template <class Op>
class PairwiseRows {
 public:
  using Acc = typename Op::Acc;
  PairwiseRows(const Op& op, int64_t width, int64_t max_blocks)
      : op_(op), width_(width) {
    int levels = 2;
    while ((int64_t{1} << (levels - 2)) < max_blocks) ++levels;
    store_.reset(new Acc[levels * width]);
    weight_.assign(levels, 0);
  }
  void reset() { n_ = 0; }
  void push(const Acc* __restrict block, int64_t w) {
    if (n_ == 0 || weight_[n_ - 1] != 1) {
      std::copy(block, block + w, level(n_));
      weight_[n_++] = 1;
    } else {
      Acc* __restrict top = level(n_ - 1);
      for (int64_t j = 0; j < w; ++j) top[j] = op_.combine(top[j], block[j]);
      weight_[n_ - 1] = 2;
    }
    while (n_ >= 2 && weight_[n_ - 2] == weight_[n_ - 1]) {
      Acc* __restrict lo = level(n_ - 2);
      const Acc* __restrict hi = level(n_ - 1);
      for (int64_t j = 0; j < w; ++j) lo[j] = op_.combine(lo[j], hi[j]);
      weight_[n_ - 2] *= 2;
      --n_;
    }
  }
  void result(Acc* __restrict res, int64_t w) const {
    if (n_ == 0) {
      std::fill(res, res + w, op_.init());
      return;
    }
    std::copy(level(n_ - 1), level(n_ - 1) + w, res);
    for (int i = n_ - 2; i >= 0; --i) {
      const Acc* __restrict l = level(i);
      for (int64_t j = 0; j < w; ++j) res[j] = op_.combine(l[j], res[j]);
    }
  }

 private:
  Acc* level(int i) const { return store_.get() + i * width_; }
  const Op& op_;
  int64_t width_;
  std::unique_ptr<Acc[]> store_;
  std::vector<uint64_t> weight_;
  int n_ = 0;
};

// acc[j] = combine(acc[j], map(row[j])). Expensive maps go through `tmp`
// first (exp in its vector versions).
template <class Op, class T>
void add_row(const Op& op, typename Op::Acc* __restrict acc,
             const T* __restrict row, const typename Op::C* __restrict c,
             int64_t w, typename Op::Acc* __restrict tmp) {
  if constexpr (Op::kHeavyMap) {
    if constexpr (Op::kExpMap && std::is_same_v<T, float>) {
      exp_diff(row, c, tmp, w);
    } else {
      for (int64_t j = 0; j < w; ++j) tmp[j] = op.map(row[j], c[j]);
    }
    for (int64_t j = 0; j < w; ++j) acc[j] = op.combine(acc[j], tmp[j]);
  } else {
    for (int64_t j = 0; j < w; ++j) {
      acc[j] = op.combine(acc[j], op.map(row[j], c[j]));
    }
  }
}

// Tiles of the contiguous innermost kept axis, row after row (see the file
// comment).
template <class Op, class T>
void reduce_columns(const Op& op, const ReduceLayout& L, const T* x,
                    const T* center, typename Op::Out* out) {
  using Acc = typename Op::Acc;
  using C = typename Op::C;
  // Wide tiles: each row is read as a long contiguous stretch (short
  // stretches from thousands of rows defeat the prefetchers and the TLB);
  // the tile's partial sums, 16 KiB a vector, stay in L2.
  constexpr int64_t kTile = 16384 / sizeof(Acc);
  const int64_t W = L.kept_shape.back();
  const int64_t KO = L.kept_size / W;
  const Shape oshape(L.kept_shape.begin(), L.kept_shape.end() - 1);
  const Strides ostr(L.kept_strides.begin(), L.kept_strides.end() - 1);
  const std::array<Strides, 1> rst{L.red_strides};
  const int64_t M = L.red_size;
  const int64_t tiles = (W + kTile - 1) / kTile;
  const int64_t tile_w = std::min(W, kTile);
  // With few tiles, the rows split into up to 16 chunks (whole row blocks)
  // so that workers can share the work. A function of the shape only.
  int64_t rows = M;
  if (KO * tiles < 8 && M * tile_w > 4 * kGrain) {
    const int64_t want = std::min<int64_t>(16, M * tile_w / (4 * kGrain));
    rows = ((M + want - 1) / want + kRowBlock - 1) / kRowBlock * kRowBlock;
  }
  const int64_t chunks = std::max<int64_t>(1, (M + rows - 1) / rows);
  const int64_t chunk_rows = std::min(M, rows);
  std::unique_ptr<Acc[]> partial(
      chunks > 1 ? new Acc[KO * tiles * chunks * kTile] : nullptr);

  parallel_items(
      KO * tiles * chunks, chunk_rows * tile_w, [&](int64_t b, int64_t e) {
        PairwiseRows<Op> tree(op, kTile,
                              (chunk_rows + kRowBlock - 1) / kRowBlock);
        std::unique_ptr<Acc[]> block_store(new Acc[kTile]);
        std::unique_ptr<Acc[]> res_store(new Acc[kTile]);
        std::unique_ptr<C[]> cc_store(new C[kTile]);
        std::unique_ptr<Acc[]> tmp_store(Op::kHeavyMap ? new Acc[kTile]
                                                       : nullptr);
        Acc* block = block_store.get();
        Acc* res = res_store.get();
        C* cc = cc_store.get();
        for (int64_t item = b; item < e; ++item) {
          const int64_t ch = item % chunks;
          const int64_t tile = item / chunks % tiles;
          const int64_t ko = item / chunks / tiles;
          const int64_t j0 = tile * kTile;
          const int64_t w = std::min(kTile, W - j0);
          const int64_t o0 = ko * W + j0;
          const T* p = x + offset_of(ko, oshape, ostr) + j0;
          for (int64_t j = 0; j < w; ++j) cc[j] = center_at<Op>(center, o0 + j);
          tree.reset();
          std::fill(block, block + w, op.init());
          int64_t in_block = 0;
          auto row = [&](const T* r) {
            add_row(op, block, r, cc, w, tmp_store.get());
            if (++in_block == kRowBlock) {
              tree.push(block, w);
              std::fill(block, block + w, op.init());
              in_block = 0;
            }
          };
          const int64_t r0 = ch * rows, r1 = std::min(M, r0 + rows);
          if (L.red_shape.empty()) {
            if (r0 < r1) row(p);
          } else if (L.red_shape.size() == 1) {
            const int64_t s = L.red_strides[0];
            for (int64_t r = r0; r < r1; ++r) row(p + r * s);
          } else {
            for_each_run(L.red_shape, rst, r0, r1,
                         [&](int64_t, auto off, int64_t n, auto inner) {
                           for (int64_t k = 0; k < n; ++k) {
                             row(p + off[0] + k * inner[0]);
                           }
                         });
          }
          if (in_block > 0) tree.push(block, w);
          if (chunks > 1) {
            tree.result(&partial[item * kTile], w);
          } else {
            tree.result(res, w);
            for (int64_t j = 0; j < w; ++j) {
              out[o0 + j] = op.finish(res[j], cc[j]);
            }
          }
        }
      });
  if (chunks == 1) return;
  for (int64_t g = 0; g < KO * tiles; ++g) {
    const int64_t ko = g / tiles, j0 = g % tiles * kTile;
    const int64_t w = std::min(kTile, W - j0);
    const Acc* part = &partial[g * chunks * kTile];
    for (int64_t j = 0; j < w; ++j) {
      const int64_t o = ko * W + j0 + j;
      out[o] = op.finish(combine_pairwise(op, part + j, chunks, kTile),
                         center_at<Op>(center, o));
    }
  }
}

template <class Op, class T>
void run_reduce(const Op& op, const ReduceLayout& L, const T* x,
                const T* center, typename Op::Out* out) {
  if (L.kept_size == 0) return;
  if (L.red_size == 0) {
    for (int64_t o = 0; o < L.kept_size; ++o) {
      out[o] = op.finish(op.init(), center_at<Op>(center, o));
    }
    return;
  }
  const bool columns = !L.kept_shape.empty() && L.kept_strides.back() == 1 &&
                       (L.red_shape.empty() || L.red_strides.back() != 1);
  if (columns) {
    reduce_columns(op, L, x, center, out);
  } else {
    reduce_per_output(op, L, x, center, out);
  }
}

}  // namespace

RUNNEL_CPU_CLONES
void exp_shifted(const float* x, float c, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = exp_f32(x[i] - c);
}

RUNNEL_CPU_CLONES
void exp_diff(const float* x, const float* c, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = exp_f32(x[i] - c[i]);
}

ReduceLayout reduce_layout(const Shape& shape, const Strides& strides,
                           const std::vector<int>& axes) {
  ReduceLayout L;
  std::vector<bool> reduced(shape.size(), false);
  for (int ax : axes) reduced[ax] = true;
  struct Dim {
    int64_t n, st;
  };
  std::vector<Dim> kept, red;
  for (size_t i = 0; i < shape.size(); ++i) {
    const int64_t n = shape[i];
    (reduced[i] ? L.red_size : L.kept_size) *= n;
    if (n == 1) continue;
    (reduced[i] ? red : kept).push_back({n, strides[i]});
  }
  for (auto& d : red) {
    if (d.st < 0) {
      L.base += (d.n - 1) * d.st;
      d.st = -d.st;
    }
  }
  std::stable_sort(red.begin(), red.end(), [](const Dim& a, const Dim& b) {
    if ((a.st == 0) != (b.st == 0)) return a.st == 0;
    return a.st > b.st;
  });
  auto merge = [](const std::vector<Dim>& dims, Shape& sh, Strides& st) {
    for (const Dim& d : dims) {
      // (Merged sizes stay within Shape's int.)
      if (!sh.empty() && st.back() == d.st * d.n &&
          sh.back() * d.n <= std::numeric_limits<int>::max()) {
        sh.back() = static_cast<int>(sh.back() * d.n);
        st.back() = d.st;
      } else {
        sh.push_back(static_cast<int>(d.n));
        st.push_back(d.st);
      }
    }
  };
  merge(kept, L.kept_shape, L.kept_strides);
  merge(red, L.red_shape, L.red_strides);
  return L;
}

void reduce_into(const array& in, const std::vector<int>& axes, ReduceKind kind,
                 double scale, const void* center, void* out) {
  const ReduceLayout L = reduce_layout(in.shape(), in.strides(), axes);
  dispatch_dtype(in.dtype(), [&]<class T>(std::type_identity<T>) {
    const T* x = in.data<T>() + L.base;
    const T* c = static_cast<const T*>(center);
    auto run = [&](const auto& op) {
      using Op = std::decay_t<decltype(op)>;
      run_reduce(op, L, x, c, static_cast<typename Op::Out*>(out));
    };
    switch (kind) {
      case ReduceKind::max:
        return run(ExtremeOp<T, true>{});
      case ReduceKind::min:
        return run(ExtremeOp<T, false>{});
      case ReduceKind::all:
        return run(LogicalOp<T, true>{});
      case ReduceKind::any:
        return run(LogicalOp<T, false>{});
      default:
        break;
    }
    if constexpr (!std::is_same_v<T, bool>) {
      switch (kind) {
        case ReduceKind::sum:
          return run(SumOp<T>{});
        case ReduceKind::prod:
          return run(ProdOp<T>{});
        default:
          break;
      }
    }
    if constexpr (kFloat<T>) {
      using Acc = FloatAcc<T>;
      switch (kind) {
        case ReduceKind::mean: {
          MeanOp<T> op;
          op.scale = static_cast<Acc>(scale);
          return run(op);
        }
        case ReduceKind::var:
        case ReduceKind::std:
          return run(
              VarOp<T>{static_cast<Acc>(scale), kind == ReduceKind::std});
        case ReduceKind::logsumexp:
          return run(ExpSumOp<T, true>{});
        case ReduceKind::sumexp:
          return run(ExpSumOp<T, false>{});
        default:
          break;
      }
    }
    throw std::logic_error("[reduce] no kernel for this kind and dtype");
  });
}

}  // namespace runnel::cpu_backend

// ---- argmax and argmin ----

namespace runnel::cpu_backend {
namespace {

// Elements compare as ExtremeOp's keys: NaN's key is the extreme one, so
// the first NaN wins, as in numpy. Strictly better, so that the first of
// equal extremes wins.
template <bool kMax, class K>
bool better(K v, K best) {
  return kMax ? v > best : v < best;
}

template <class T>
struct ArgBest {
  ExtremeAcc<T> key;
  int64_t i;
};

// The first extreme of a run. Contiguous runs go by blocks: each block's
// extreme by a vectorised reduction, the first block with the overall
// extreme kept, then a scan of that block for the first element with it.
template <class T, bool kMax>
ArgBest<T> arg_run(const T* x, int64_t n, int64_t s) {
  const ExtremeOp<T, kMax> op;
  if (s == 1) {
    constexpr int64_t kB = 256;
    auto best = reduce_contig(op, x, std::min(n, kB), NoCenter{});
    int64_t at = 0;
    for (int64_t b = kB; b < n; b += kB) {
      const auto m = reduce_contig(op, x + b, std::min(n - b, kB), NoCenter{});
      if (better<kMax>(m, best)) {
        best = m;
        at = b;
      }
    }
    for (int64_t i = at; i < n; ++i) {
      if (op.map(x[i], {}) == best) return {best, i};
    }
  }
  ArgBest<T> b{op.map(x[0], {}), 0};
  for (int64_t i = 1; i < n; ++i) {
    const auto k = op.map(x[i * s], {});
    if (better<kMax>(k, b.key)) b = {k, i};
  }
  return b;
}

// Combines a part found later in the order into the best so far.
template <class T, bool kMax>
void take_later(ArgBest<T>& best, const ArgBest<T>& later) {
  if (better<kMax>(later.key, best.key)) best = later;
}

template <class T, bool kMax>
void arg_flat(const array& in, uint32_t* out) {
  const T* x = in.data<T>();
  const int64_t n = static_cast<int64_t>(in.size());
  const bool contig = is_contiguous(in);
  const std::array<Strides, 1> st{in.strides()};
  if (n == 0) throw std::logic_error("[argmax] empty input");
  const int64_t chunks = (n + kGrain - 1) / kGrain;
  std::vector<ArgBest<T>> part(chunks);
  parallel_items(chunks, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t ch = b; ch < e; ++ch) {
      const int64_t lo = ch * kGrain, hi = std::min(n, lo + kGrain);
      if (contig) {
        part[ch] = arg_run<T, kMax>(x + lo, hi - lo, 1);
        part[ch].i += lo;
        continue;
      }
      bool first = true;
      for_each_run(in.shape(), st, lo, hi,
                   [&](int64_t pos, auto off, int64_t len, auto inner) {
                     ArgBest<T> r = arg_run<T, kMax>(x + off[0], len, inner[0]);
                     r.i += pos;
                     if (first) {
                       part[ch] = r;
                       first = false;
                     } else {
                       take_later<T, kMax>(part[ch], r);
                     }
                   });
    }
  });
  ArgBest<T> best = part[0];
  for (int64_t ch = 1; ch < chunks; ++ch) take_later<T, kMax>(best, part[ch]);
  *out = static_cast<uint32_t>(best.i);
}

template <class T, bool kMax>
void arg_axis(const array& in, int axis, uint32_t* out) {
  const T* x = in.data<T>();
  const int64_t N = in.shape(axis);
  const int64_t s = in.strides()[axis];
  // The other axes, simplified as the kept axes of a reduction.
  Shape shape = in.shape();
  shape[axis] = 1;
  const ReduceLayout K = reduce_layout(shape, in.strides(), {});
  const int64_t O = K.kept_size;
  if (O == 0) return;

  if (!K.kept_shape.empty() && K.kept_strides.back() == 1 && s != 1) {
    constexpr int64_t kTile = 4096;  // long row stretches (see reduce_columns)
    const int64_t W = K.kept_shape.back();
    const int64_t KO = O / W;
    const int64_t tiles = (W + kTile - 1) / kTile;
    const Shape oshape(K.kept_shape.begin(), K.kept_shape.end() - 1);
    const Strides ostr(K.kept_strides.begin(), K.kept_strides.end() - 1);
    parallel_items(
        KO * tiles, N * std::min(W, kTile), [&](int64_t b, int64_t e) {
          const ExtremeOp<T, kMax> op;
          std::unique_ptr<ExtremeAcc<T>[]> best_store(new ExtremeAcc<T>[kTile]);
          std::unique_ptr<uint32_t[]> idx_store(new uint32_t[kTile]);
          ExtremeAcc<T>* best = best_store.get();
          uint32_t* idx = idx_store.get();
          for (int64_t item = b; item < e; ++item) {
            const int64_t ko = item / tiles;
            const int64_t j0 = item % tiles * kTile;
            const int64_t w = std::min(kTile, W - j0);
            const T* p = x + offset_of(ko, oshape, ostr) + j0;
            for (int64_t j = 0; j < w; ++j) {
              best[j] = op.map(p[j], {});
              idx[j] = 0;
            }
            for (int64_t k = 1; k < N; ++k) {
              const T* r = p + k * s;
              const uint32_t kk = static_cast<uint32_t>(k);
              for (int64_t j = 0; j < w; ++j) {
                const auto v = op.map(r[j], {});
                const bool t = better<kMax>(v, best[j]);
                best[j] = t ? v : best[j];
                idx[j] = t ? kk : idx[j];
              }
            }
            std::copy(idx, idx + w, out + ko * W + j0);
          }
        });
    return;
  }

  const int64_t chunks = (N + kGrain - 1) / kGrain;
  if (chunks <= 1) {
    const std::array<Strides, 1> kst{K.kept_strides};
    parallel_items(O, N, [&](int64_t b, int64_t e) {
      for_each_run(K.kept_shape, kst, b, e,
                   [&](int64_t pos, auto off, int64_t n, auto inner) {
                     for (int64_t t = 0; t < n; ++t) {
                       out[pos + t] = static_cast<uint32_t>(
                           arg_run<T, kMax>(x + off[0] + t * inner[0], N, s).i);
                     }
                   });
    });
    return;
  }
  std::vector<ArgBest<T>> part(O * chunks);
  parallel_items(O * chunks, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const int64_t o = i / chunks, lo = i % chunks * kGrain;
      const T* p = x + offset_of(o, K.kept_shape, K.kept_strides);
      part[i] = arg_run<T, kMax>(p + lo * s, std::min(N - lo, kGrain), s);
      part[i].i += lo;
    }
  });
  for (int64_t o = 0; o < O; ++o) {
    ArgBest<T> best = part[o * chunks];
    for (int64_t c = 1; c < chunks; ++c) {
      take_later<T, kMax>(best, part[o * chunks + c]);
    }
    out[o] = static_cast<uint32_t>(best.i);
  }
}

}  // namespace
}  // namespace runnel::cpu_backend

// ---- The primitives ----

namespace runnel {

void SumAll::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  const array& a = in[0];
  if (a.dtype() == bool_) {
    throw std::logic_error("[sum] bool is summed as int32");
  }
  cpu_backend::allocate_output(out[0]);
  std::vector<int> axes(a.ndim());
  for (int i = 0; i < a.ndim(); ++i) axes[i] = i;
  cpu_backend::reduce_into(a, axes, cpu_backend::ReduceKind::sum, 1.0, nullptr,
                           out[0].raw_data());
}

const char* Reduce::name() const {
  switch (op_) {
    case Op::sum:
      return "sum";
    case Op::prod:
      return "prod";
    case Op::max:
      return "max";
    case Op::min:
      return "min";
    case Op::all:
      return "all";
    case Op::any:
      return "any";
    case Op::mean:
      return "mean";
    case Op::var:
      return "var";
    case Op::stddev:
      return "std";
    case Op::logsumexp:
      return "logsumexp";
  }
  return "reduce";
}

void Reduce::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  using cpu_backend::ReduceKind;
  static constexpr ReduceKind kKinds[] = {
      ReduceKind::sum, ReduceKind::prod,     ReduceKind::max,  ReduceKind::min,
      ReduceKind::all, ReduceKind::any,      ReduceKind::mean, ReduceKind::var,
      ReduceKind::std, ReduceKind::logsumexp};
  cpu_backend::allocate_output(out[0]);
  const void* center = in.size() > 1 ? in[1].raw_data() : nullptr;
  cpu_backend::reduce_into(in[0], axes_, kKinds[static_cast<int>(op_)], scale_,
                           center, out[0].raw_data());
}

void ArgReduce::eval_cpu(const std::vector<array>& in,
                         std::vector<array>& out) {
  cpu_backend::allocate_output(out[0]);
  uint32_t* o = out[0].data<uint32_t>();
  dispatch_dtype(in[0].dtype(), [&]<class T>(std::type_identity<T>) {
    if (axis_ == kFlat) {
      is_max_ ? cpu_backend::arg_flat<T, true>(in[0], o)
              : cpu_backend::arg_flat<T, false>(in[0], o);
    } else {
      is_max_ ? cpu_backend::arg_axis<T, true>(in[0], axis_, o)
              : cpu_backend::arg_axis<T, false>(in[0], axis_, o);
    }
  });
}

}  // namespace runnel
