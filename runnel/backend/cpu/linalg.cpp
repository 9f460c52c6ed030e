// Matrix products on the CPU. float32 and float64 go to OpenBLAS (float16
// and bfloat16 too, converted to float32), one single-threaded GEMM per tile,
// the tiles spread over the pool's idle workers: one matmul uses every idle
// worker and never more threads than the pool has. Other dtypes use a
// blocked kernel of our own.
#include "runnel/primitives/linalg.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "runnel/backend/common/ops.h"
#include "runnel/backend/cpu/iterate.h"

#ifdef RUNNEL_HAVE_OPENBLAS
#include <cblas.h>
#endif

namespace runnel {
namespace {

// An operand as a batch of matrices: element (b, i, j) at
// p[batch_offset(b) + i * rs + j * cs], its batch axes broadcast to the
// output's.
template <class T>
struct Mat {
  const T* p = nullptr;
  Strides bst;
  int64_t rs = 0, cs = 0;
};

struct Dims {
  int64_t batch = 1, M = 1, N = 1, K = 1;
  Shape bshape;  // the output's batch axes
};

Dims dims_of(const array& a, const array& b, const array& out) {
  Dims d;
  d.K = a.shape(-1);
  d.M = a.ndim() > 1 ? a.shape(-2) : 1;
  d.N = b.ndim() > 1 ? b.shape(-1) : 1;
  const int mat_axes = (a.ndim() > 1) + (b.ndim() > 1);
  d.bshape.assign(out.shape().begin(), out.shape().end() - mat_axes);
  d.batch = static_cast<int64_t>(detail::shape_size(d.bshape));
  return d;
}

int64_t batch_offset(int64_t b, const Shape& shape, const Strides& bst) {
  int64_t off = 0;
  for (size_t i = shape.size(); i-- > 0;) {
    off += (b % shape[i]) * bst[i];
    b /= shape[i];
  }
  return off;
}

// The matrices of an operand of `shape` and `strides` (ndim >= 1); a 1-d
// operand is a row when `row`, else a column.
template <class T>
Mat<T> mat_of(const T* p, const Shape& shape, const Strides& st, bool row,
              const Shape& bshape) {
  Mat<T> m;
  m.p = p;
  const int nd = static_cast<int>(shape.size());
  if (nd == 1) {
    (row ? m.cs : m.rs) = st[0];
  } else {
    m.rs = shape[nd - 2] == 1 ? 0 : st[nd - 2];
    m.cs = shape[nd - 1] == 1 ? 0 : st[nd - 1];
  }
  const int nb = std::max(nd - 2, 0);
  m.bst.assign(bshape.size(), 0);
  for (int i = 0; i < nb; ++i) {
    m.bst[bshape.size() - nb + i] = shape[i] == 1 ? 0 : st[i];
  }
  return m;
}

// c broadcast to the output's shape, as matrices of (M, N).
template <class T>
Mat<T> mat_of_broadcast(const array& c, const array& a, const array& b,
                        const array& out) {
  Strides st = cpu_backend::broadcast_strides(c, out.shape());
  Mat<T> m;
  m.p = c.data<T>();
  const int mat_axes = (a.ndim() > 1) + (b.ndim() > 1);
  const size_t nb = out.shape().size() - mat_axes;
  m.bst.assign(st.begin(), st.begin() + nb);
  if (a.ndim() > 1) m.rs = st[nb];
  if (b.ndim() > 1) m.cs = st.back();
  return m;
}

// A contiguous copy of x as To (its own shape).
template <class To, class From>
std::shared_ptr<detail::Buffer> pack(const array& x) {
  auto buf = detail::allocate(x.size() * sizeof(To), Device(cpu));
  To* dst = static_cast<To*>(buf->ptr());
  const From* src = x.data<From>();
  std::array<Strides, 1> st{x.strides()};
  cpu_backend::parallel(x.size(), [&](int64_t b, int64_t e) {
    cpu_backend::for_each_run(
        x.shape(), st, b, e, [&](int64_t pos, auto off, int64_t n, auto in) {
          for (int64_t j = 0; j < n; ++j) {
            dst[pos + j] = scalar::cast<To>(src[off[0] + j * in[0]]);
          }
        });
  });
  return buf;
}

// Runs f(begin, end) over [0, tasks), grouping tasks so that each chunk
// has some `work` (multiply-adds) to do, on the pool's idle workers.
template <class F>
void run_tasks(int64_t tasks, int64_t work_per_task, F&& f) {
  constexpr int64_t kMinChunkWork = int64_t{1} << 18;
  const int64_t grain =
      std::max<int64_t>(1, kMinChunkWork / std::max<int64_t>(1, work_per_task));
  if (tasks <= grain) {
    f(int64_t{0}, tasks);
    return;
  }
  detail::Pool::get().parallel_for(tasks, grain, f);
}

// ---- The blocked kernel (integers, bool; floats without OpenBLAS) ----

// What a product accumulates in: integers wrap in their unsigned type, bool
// is an or of ands, half types sum in float.
template <class T>
struct MatAcc {
  using type = typename scalar::SumAcc<T>::type;
};
template <>
struct MatAcc<bool> {
  using type = unsigned;
};

template <class T>
using Acc = typename MatAcc<T>::type;

template <class T>
Acc<T> to_acc(T v) {
  if constexpr (scalar::kHalf<T>) {
    return static_cast<float>(v);
  } else {
    return static_cast<Acc<T>>(v);
  }
}

// out = alpha * A @ B (+ beta * C), in tiles of (64, 128) outputs over the
// pool; each tile packs blocks of 128 rows of B (as its accumulator type)
// and accumulates in a tile-sized buffer. alpha, beta and C serve floating
// dtypes only.
template <class T>
void blocked_matmul(const Mat<T>& A, const Mat<T>& B, const Mat<T>* C,
                    float alpha, float beta, T* out, const Dims& d) {
  using A_t = Acc<T>;
  constexpr int64_t kMB = 64, kNB = 128, kKB = 128;
  const int64_t mt = (d.M + kMB - 1) / kMB, nt = (d.N + kNB - 1) / kNB;
  const int64_t tasks = d.batch * mt * nt;
  const int64_t work = std::min(d.M, kMB) * std::min(d.N, kNB) * d.K;
  run_tasks(tasks, work, [&](int64_t tb, int64_t te) {
    std::vector<A_t> acc(kMB * kNB), bp(kKB * kNB);
    for (int64_t t = tb; t < te; ++t) {
      const int64_t bi = t / (mt * nt);
      const int64_t m0 = (t / nt) % mt * kMB, n0 = t % nt * kNB;
      const int64_t m1 = std::min(d.M, m0 + kMB), n1 = std::min(d.N, n0 + kNB);
      const int64_t nw = n1 - n0;
      const T* ap = A.p + batch_offset(bi, d.bshape, A.bst);
      const T* bpp = B.p + batch_offset(bi, d.bshape, B.bst);
      std::fill(acc.begin(), acc.end(), A_t{});
      for (int64_t k0 = 0; k0 < d.K; k0 += kKB) {
        const int64_t k1 = std::min(d.K, k0 + kKB);
        for (int64_t k = k0; k < k1; ++k) {
          A_t* row = bp.data() + (k - k0) * nw;
          const T* src = bpp + k * B.rs + n0 * B.cs;
          for (int64_t j = 0; j < nw; ++j) row[j] = to_acc(src[j * B.cs]);
        }
        for (int64_t i = m0; i < m1; ++i) {
          A_t* ar = acc.data() + (i - m0) * nw;
          const T* arow = ap + i * A.rs;
          for (int64_t k = k0; k < k1; ++k) {
            const A_t av = to_acc(arow[k * A.cs]);
            const A_t* br = bp.data() + (k - k0) * nw;
            if constexpr (std::is_same_v<T, bool>) {
              for (int64_t j = 0; j < nw; ++j) ar[j] |= av & br[j];
            } else {
              for (int64_t j = 0; j < nw; ++j) ar[j] += av * br[j];
            }
          }
        }
      }
      T* o = out + bi * d.M * d.N;
      const T* cp = C ? C->p + batch_offset(bi, d.bshape, C->bst) : nullptr;
      for (int64_t i = m0; i < m1; ++i) {
        const A_t* ar = acc.data() + (i - m0) * nw;
        for (int64_t j = n0; j < n1; ++j) {
          if constexpr (std::is_same_v<T, bool>) {
            o[i * d.N + j] = ar[j - n0] != 0;
          } else if constexpr (std::is_integral_v<T>) {
            o[i * d.N + j] = static_cast<T>(ar[j - n0]);
          } else {
            A_t v = static_cast<A_t>(alpha) * ar[j - n0];
            if (C) {
              v += static_cast<A_t>(beta) * to_acc(cp[i * C->rs + j * C->cs]);
            }
            o[i * d.N + j] = static_cast<T>(v);
          }
        }
      }
    }
  });
}

#ifdef RUNNEL_HAVE_OPENBLAS

// How BLAS reads a (rows, cols) matrix with strides (rs, cs): row-major, or
// transposed, with leading dimension `ld`; ok is false when it cannot.
struct Layout {
  bool ok = false, trans = false;
  int ld = 1;
};

Layout blas_layout(int64_t rows, int64_t cols, int64_t rs, int64_t cs) {
  constexpr int64_t kMaxLd = std::numeric_limits<int>::max();
  if ((cols <= 1 || cs == 1) && (rows <= 1 || (rs >= cols && rs <= kMaxLd))) {
    return {true, false,
            static_cast<int>(rows <= 1 ? std::max<int64_t>(cols, 1) : rs)};
  }
  if ((rows <= 1 || rs == 1) && (cols <= 1 || (cs >= rows && cs <= kMaxLd))) {
    return {true, true,
            static_cast<int>(cols <= 1 ? std::max<int64_t>(rows, 1) : cs)};
  }
  return {};
}

void gemm(bool ta, bool tb, int m, int n, int k, float alpha, const float* a,
          int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
              tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb,
              beta, c, ldc);
}

void gemm(bool ta, bool tb, int m, int n, int k, double alpha, const double* a,
          int lda, const double* b, int ldb, double beta, double* c, int ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
              tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb,
              beta, c, ldc);
}

// out (contiguous, holding beta's c when beta != 0) = alpha * A @ B + beta *
// out, in tiles of rows and columns over the pool.
template <class F>
void blas_matmul(const Mat<F>& A, const Mat<F>& B, F alpha, F beta, F* out,
                 const Dims& d) {
  // OpenBLAS runs on the calling worker only: the pool does the threading.
  static const bool single = (openblas_set_num_threads(1), true);
  (void)single;
  const Layout la = blas_layout(d.M, d.K, A.rs, A.cs);
  const Layout lb = blas_layout(d.K, d.N, B.rs, B.cs);
  // A few tiles per worker for balance, each with enough work, and square
  // rather than thin: a call packs its rows of a and its columns of b, so
  // the packing per multiply-add is least for square tiles.
  constexpr int64_t kMinTileWork = int64_t{1} << 22;
  constexpr int64_t kMinTileSide = 64;
  const int64_t want = 2 * detail::Pool::get().num_threads();
  const int64_t per_matrix =
      std::max<int64_t>(1, (want + d.batch - 1) / d.batch);
  const int64_t by_work = std::max<int64_t>(1, d.M * d.N * d.K / kMinTileWork);
  const int64_t s = std::min(per_matrix, by_work);
  const int64_t max_sm = std::max<int64_t>(1, d.M / kMinTileSide);
  const int64_t max_sn = std::max<int64_t>(1, d.N / kMinTileSide);
  const int64_t sm = std::clamp<int64_t>(
      std::llround(std::sqrt(static_cast<double>(s) * d.M / d.N)), 1, max_sm);
  const int64_t sn = std::clamp<int64_t>((s + sm - 1) / sm, 1, max_sn);
  const int64_t tiles = sm * sn;
  run_tasks(
      d.batch * tiles, d.M * d.N * d.K / tiles, [&](int64_t tb, int64_t te) {
        for (int64_t t = tb; t < te; ++t) {
          const int64_t bi = t / tiles, r = t % tiles;
          const int64_t m0 = r / sn * d.M / sm, m1 = (r / sn + 1) * d.M / sm;
          const int64_t n0 = r % sn * d.N / sn, n1 = (r % sn + 1) * d.N / sn;
          if (m1 == m0 || n1 == n0) continue;
          const F* ap = A.p + batch_offset(bi, d.bshape, A.bst) + m0 * A.rs;
          const F* bp = B.p + batch_offset(bi, d.bshape, B.bst) + n0 * B.cs;
          F* cp = out + bi * d.M * d.N + m0 * d.N + n0;
          gemm(la.trans, lb.trans, static_cast<int>(m1 - m0),
               static_cast<int>(n1 - n0), static_cast<int>(d.K), alpha, ap,
               la.ld, bp, lb.ld, beta, cp, static_cast<int>(d.N));
        }
      });
}

// The operand as BLAS can read it: itself, or a contiguous copy as F.
template <class F, class T>
Mat<F> blas_operand(const array& x, bool row, const Dims& d, int64_t rows,
                    int64_t cols,
                    std::vector<std::shared_ptr<detail::Buffer>>& keep) {
  if constexpr (std::is_same_v<F, T>) {
    Mat<F> m = mat_of(x.data<F>(), x.shape(), x.strides(), row, d.bshape);
    if (blas_layout(rows, cols, m.rs, m.cs).ok) return m;
  }
  keep.push_back(pack<F, T>(x));
  return mat_of(static_cast<const F*>(keep.back()->ptr()), x.shape(),
                detail::contiguous_strides(x.shape()), row, d.bshape);
}

// out = c broadcast, as F.
template <class F, class T>
void fill_broadcast(const array& c, F* out, const Shape& shape) {
  std::array<Strides, 1> st{cpu_backend::broadcast_strides(c, shape)};
  const T* src = c.data<T>();
  cpu_backend::parallel(detail::shape_size(shape), [&](int64_t b, int64_t e) {
    cpu_backend::for_each_run(
        shape, st, b, e, [&](int64_t pos, auto off, int64_t n, auto in) {
          for (int64_t j = 0; j < n; ++j) {
            out[pos + j] = scalar::cast<F>(src[off[0] + j * in[0]]);
          }
        });
  });
}

#endif  // RUNNEL_HAVE_OPENBLAS

// out = alpha * a @ b (+ beta * c).
template <class T>
void matmul(const array& a, const array& b, const array* c, float alpha,
            float beta, array& out) {
  cpu_backend::allocate_output(out);
  if (out.size() == 0) return;
  const Dims d = dims_of(a, b, out);
  T* o = out.data<T>();
  if (d.K == 0) {  // an empty sum
    if (c && beta != 0) {
      // beta * c, computed as the blocked kernel's store would.
      Mat<T> cm = mat_of_broadcast<T>(*c, a, b, out);
      for (int64_t bi = 0; bi < d.batch; ++bi) {
        const T* cp = cm.p + batch_offset(bi, d.bshape, cm.bst);
        for (int64_t i = 0; i < d.M; ++i) {
          for (int64_t j = 0; j < d.N; ++j) {
            o[(bi * d.M + i) * d.N + j] = scalar::cast<T>(
                static_cast<double>(beta) *
                static_cast<double>(to_acc(cp[i * cm.rs + j * cm.cs])));
          }
        }
      }
    } else {
      std::fill(o, o + out.size(), scalar::cast<T>(0));
    }
    return;
  }
#ifdef RUNNEL_HAVE_OPENBLAS
  if constexpr (std::is_floating_point_v<T> || scalar::kHalf<T>) {
    using F = std::conditional_t<std::is_same_v<T, double>, double, float>;
    std::vector<std::shared_ptr<detail::Buffer>> keep;
    const Mat<F> A = blas_operand<F, T>(a, true, d, d.M, d.K, keep);
    const Mat<F> B = blas_operand<F, T>(b, false, d, d.K, d.N, keep);
    F* dst = nullptr;
    if constexpr (std::is_same_v<F, T>) {
      dst = o;
    } else {
      keep.push_back(detail::allocate(out.size() * sizeof(F), Device(cpu)));
      dst = static_cast<F*>(keep.back()->ptr());
    }
    const bool with_c = c && beta != 0;
    if (with_c) fill_broadcast<F, T>(*c, dst, out.shape());
    blas_matmul<F>(A, B, static_cast<F>(alpha),
                   with_c ? static_cast<F>(beta) : F{0}, dst, d);
    if constexpr (!std::is_same_v<F, T>) {
      cpu_backend::parallel(out.size(), [&](int64_t b0, int64_t e0) {
        for (int64_t i = b0; i < e0; ++i) o[i] = scalar::cast<T>(dst[i]);
      });
    }
    return;
  }
#endif
  const Mat<T> A = mat_of(a.data<T>(), a.shape(), a.strides(), true, d.bshape);
  const Mat<T> B = mat_of(b.data<T>(), b.shape(), b.strides(), false, d.bshape);
  if (c && beta != 0) {  // beta 0 ignores c, NaNs included
    const Mat<T> C = mat_of_broadcast<T>(*c, a, b, out);
    blocked_matmul<T>(A, B, &C, alpha, beta, o, d);
  } else {
    blocked_matmul<T>(A, B, nullptr, alpha, 0.0f, o, d);
  }
}

}  // namespace

void Matmul::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  dispatch_dtype(out[0].dtype(), [&]<class T>(std::type_identity<T>) {
    matmul<T>(in[0], in[1], nullptr, 1.0f, 0.0f, out[0]);
  });
}

void AddMM::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  dispatch_dtype(out[0].dtype(), [&]<class T>(std::type_identity<T>) {
    matmul<T>(in[0], in[1], &in[2], alpha_, beta_, out[0]);
  });
}

}  // namespace runnel
