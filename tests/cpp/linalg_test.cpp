// matmul and addmm against a host reference on fresh random data: every
// dtype, numpy's shape rules (1-d operands, batch broadcasting), strided,
// transposed, negative-stride and broadcast (stride 0) operands, 0-size
// arrays and the errors.
//
// Floats are checked against the reference computed in double with the
// standard bound for a dot product of length K accumulated in precision u:
// |got - want| <= 2 K u sum_k |a_ik b_kj| + half an ulp of the output type
// (u is float32's for float32 and the half types, float64's for float64).
// Integers are exact (wrapping), bool is an or of ands.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "runnel/runnel.h"
#include "runnel/scheduler/graph.h"
#include "tests/cpp/test_util.h"

using namespace runnel;
using namespace runnel::test;

namespace {

// Integers over their whole range (products wrap), floats in [-2, 2), bools
// a third true.
template <class T>
Host<T> random_operand(size_t n, std::mt19937& rng) {
  if constexpr (std::is_same_v<T, bool>) {
    Host<T> h(n);
    for (size_t i = 0; i < n; ++i) h[i] = (rng() % 3) == 0;
    return h;
  } else {
    return random_values<T>(n, rng, -2.0, 2.0);
  }
}

// Element offset (in elements) of the multi-index of `flat` in `shape`,
// for an operand of `in_shape` right-aligned and broadcast, contiguous.
size_t bcast_index(const std::vector<int>& idx, const Shape& in_shape) {
  size_t off = 0, stride = 1;
  const size_t lead = idx.size() - in_shape.size();
  for (size_t d = in_shape.size(); d-- > 0;) {
    if (in_shape[d] != 1) off += static_cast<size_t>(idx[lead + d]) * stride;
    stride *= static_cast<size_t>(in_shape[d]);
  }
  return off;
}

// The reference product: values (wrapped for integers, or-of-ands for bool)
// and, for floats, the bound sum |a||b| per output element.
template <class T>
struct Ref {
  Shape shape;
  std::vector<double> val;     // floats
  std::vector<uint64_t> ival;  // integers and bool
  std::vector<double> mag;
  int64_t K = 0;
};

template <class T>
Ref<T> reference(const Host<T>& a, const Shape& as, const Host<T>& b,
                 const Shape& bs) {
  Shape a2 = as.size() == 1 ? Shape{1, as[0]} : as;
  Shape b2 = bs.size() == 1 ? Shape{bs[0], 1} : bs;
  const int M = a2[a2.size() - 2], K = a2.back(), N = b2.back();
  Shape ab(a2.begin(), a2.end() - 2), bb(b2.begin(), b2.end() - 2);
  Shape batch(std::max(ab.size(), bb.size()), 1);
  for (size_t i = 0; i < batch.size(); ++i) {
    int da =
        i < batch.size() - ab.size() ? 1 : ab[i - (batch.size() - ab.size())];
    int db =
        i < batch.size() - bb.size() ? 1 : bb[i - (batch.size() - bb.size())];
    batch[i] = da == 1 ? db : da;
  }
  Ref<T> r;
  r.K = K;
  r.shape = batch;
  if (as.size() > 1) r.shape.push_back(M);
  if (bs.size() > 1) r.shape.push_back(N);
  const size_t nb = numel(batch);
  Shape afull = batch, bfull = batch;
  afull.push_back(M);
  afull.push_back(K);
  bfull.push_back(K);
  bfull.push_back(N);
  for (size_t bi = 0; bi < nb; ++bi) {
    std::vector<int> idx(batch.size() + 2);
    size_t rem = bi;
    for (size_t d = batch.size(); d-- > 0;) {
      idx[d] = static_cast<int>(rem % batch[d]);
      rem /= batch[d];
    }
    for (int i = 0; i < M; ++i) {
      for (int j = 0; j < N; ++j) {
        double s = 0, m = 0;
        uint64_t is = 0;
        for (int k = 0; k < K; ++k) {
          idx[batch.size()] = i;
          idx[batch.size() + 1] = k;
          const T x = a[bcast_index(idx, a2)];
          idx[batch.size()] = k;
          idx[batch.size() + 1] = j;
          const T y = b[bcast_index(idx, b2)];
          if constexpr (std::is_same_v<T, bool>) {
            is |= (x && y) ? 1 : 0;
          } else if constexpr (std::is_integral_v<T>) {
            is += static_cast<uint64_t>(x) * static_cast<uint64_t>(y);
          } else {
            s += to_double(x) * to_double(y);
            m += std::fabs(to_double(x) * to_double(y));
          }
        }
        r.val.push_back(s);
        r.ival.push_back(is);
        r.mag.push_back(m);
      }
    }
  }
  return r;
}

// The unit roundoff u (half the spacing of values at 1) of the accumulator
// (float32's for float32 and the half types, float64's for float64) and of
// T itself.
template <class T>
double acc_u() {
  return acc_eps<T>() / 2;
}
template <class T>
double out_u() {
  return eps_of<T>() / 2;
}

template <class T>
void expect_matches(array out, const Ref<T>& r, const std::string& what) {
  ASSERT_EQ(out.shape(), r.shape) << what;
  ASSERT_EQ(out.dtype(), dtype_of<T>()) << what;
  out.eval();
  const T* o = out.data<T>();
  int bad = 0;
  for (size_t i = 0; i < out.size() && bad < 5; ++i) {
    if constexpr (kFloat<T>) {
      const double tol =
          2.0 * static_cast<double>(r.K) * acc_u<T>() * r.mag[i] +
          out_u<T>() * std::fabs(r.val[i]) * 1.0001 + 1e-300;
      if (!(std::fabs(to_double(o[i]) - r.val[i]) <= tol)) {
        ADD_FAILURE() << what << " element " << i << ": got " << to_double(o[i])
                      << ", want " << r.val[i] << " (tolerance " << tol << ")";
        ++bad;
      }
    } else {
      const T want = static_cast<T>(r.ival[i]);
      if (o[i] != want) {
        ADD_FAILURE() << what << " element " << i << ": got " << +o[i]
                      << ", want " << +want;
        ++bad;
      }
    }
  }
}

template <class T>
void check_shapes_for_dtype() {
  Seeded s;
  SCOPED_TRACE(s.trace());
  SCOPED_TRACE(std::string(dtype_name(dtype_of<T>())));
  StreamContext ctx{Device(cpu)};
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{5, 7}, {7, 3}},
      {{1, 1}, {1, 1}},
      {{7}, {7, 3}},
      {{4, 7}, {7}},
      {{7}, {7}},
      {{3, 4, 7}, {7}},
      {{6}, {2, 6, 5}},
      {{2, 1, 4, 6}, {3, 6, 5}},
      {{3, 4, 6}, {1, 6, 5}},
      {{70, 150}, {150, 133}},  // crosses the blocked kernel's tiles
      {{2, 65, 129}, {129, 3}},
  };
  for (auto& [as, bs] : cases) {
    Host<T> a = random_operand<T>(numel(as), s.rng);
    Host<T> b = random_operand<T>(numel(bs), s.rng);
    auto r = reference(a, as, b, bs);
    expect_matches(matmul(to_array(a, as), to_array(b, bs)), r, "matmul");
  }
}

template <class... T>
void for_dtypes() {
  (check_shapes_for_dtype<T>(), ...);
}

}  // namespace

TEST(Matmul, EveryDtypeAndShapeRuleMatchesReference) {
  for_dtypes<bool, uint8_t, uint16_t, uint32_t, uint64_t, int8_t, int16_t,
             int32_t, int64_t, float16_t, bfloat16_t, float, double>();
}

TEST(Matmul, LargeFloat32SplitsIntoTilesCorrectly) {
  Seeded s;
  SCOPED_TRACE(s.trace());
  StreamContext ctx{Device(cpu)};
  for (auto [m, k, n] :
       {std::array<int, 3>{300, 257, 333}, std::array<int, 3>{1, 1000, 1000},
        std::array<int, 3>{1000, 300, 1}}) {
    Host<float> a = random_operand<float>(size_t(m) * k, s.rng);
    Host<float> b = random_operand<float>(size_t(k) * n, s.rng);
    auto r = reference(a, {m, k}, b, {k, n});
    expect_matches(matmul(to_array(a, {m, k}), to_array(b, {k, n})), r,
                   "matmul " + std::to_string(m));
  }
}

template <class T>
void check_strided() {
  Seeded s;
  SCOPED_TRACE(s.trace());
  SCOPED_TRACE(std::string(dtype_name(dtype_of<T>())));
  StreamContext ctx{Device(cpu)};
  const int M = 9, K = 11, N = 6;
  // Transposed storage: a stored as (K, M), b as (N, K).
  Host<T> at = random_operand<T>(K * M, s.rng);
  Host<T> bt = random_operand<T>(N * K, s.rng);
  Host<T> a(M * K), b(K * N);
  for (int i = 0; i < M; ++i) {
    for (int k = 0; k < K; ++k) a[i * K + k] = at[k * M + i];
  }
  for (int k = 0; k < K; ++k) {
    for (int j = 0; j < N; ++j) b[k * N + j] = bt[j * K + k];
  }
  auto r = reference(a, {M, K}, b, {K, N});
  array av = view_of(to_array(at, {K, M}), {M, K}, {1, M}, 0);
  array bv = view_of(to_array(bt, {N, K}), {K, N}, {1, K}, 0);
  array ac = to_array(a, {M, K}), bc = to_array(b, {K, N});
  expect_matches(matmul(av, bc), r, "transposed a");
  expect_matches(matmul(ac, bv), r, "transposed b");
  expect_matches(matmul(av, bv), r, "both transposed");

  // Negative strides: a stored reversed in both axes, with an offset.
  Host<T> arev(M * K);
  for (int i = 0; i < M * K; ++i) arev[i] = a[M * K - 1 - i];
  array an = view_of(to_array(arev, {M, K}), {M, K}, {-K, -1}, M * K - 1);
  expect_matches(matmul(an, bc), r, "negative strides");

  // Rows with a gap (a slice of a wider matrix): a leading dimension > K.
  Host<T> wide(M * (K + 3));
  for (int i = 0; i < M; ++i) {
    for (int k = 0; k < K + 3; ++k) {
      wide[i * (K + 3) + k] = k < K ? a[i * K + k] : T(1);
    }
  }
  array ag = view_of(to_array(wide, {M, K + 3}), {M, K}, {K + 3, 1}, 0);
  expect_matches(matmul(ag, bc), r, "row gap");

  // A broadcast row (stride 0) as every row of a, and a batch broadcast
  // through a zero batch stride.
  Host<T> row = random_operand<T>(K, s.rng);
  Host<T> rows(M * K);
  for (int i = 0; i < M * K; ++i) rows[i] = row[i % K];
  auto rr = reference(rows, {M, K}, b, {K, N});
  array ab = view_of(to_array(row, {K}), {M, K}, {0, 1}, 0);
  expect_matches(matmul(ab, bc), rr, "stride-0 rows");
  Host<T> rows3(3 * M * K);
  for (int i = 0; i < 3 * M * K; ++i) rows3[i] = a[i % (M * K)];
  auto r3 = reference(rows3, {3, M, K}, b, {K, N});
  array a3 = view_of(ac, {3, M, K}, {0, K, 1}, 0);
  expect_matches(matmul(a3, bc), r3, "stride-0 batch");
}

TEST(Matmul, StridedTransposedNegativeAndBroadcastOperands) {
  check_strided<float>();
  check_strided<double>();
  check_strided<float16_t>();
  check_strided<int32_t>();
  check_strided<bool>();
}

TEST(Matmul, ZeroSizes) {
  StreamContext ctx{Device(cpu)};
  // K == 0: a sum of nothing.
  array z = matmul(zeros({3, 0}), zeros({0, 4}));
  z.eval();
  ASSERT_EQ(z.shape(), (Shape{3, 4}));
  for (int i = 0; i < 12; ++i) EXPECT_EQ(z.data<float>()[i], 0.0f);
  array zi = matmul(ones({2, 0}, int32), ones({0, 2}, int32));
  zi.eval();
  for (int i = 0; i < 4; ++i) EXPECT_EQ(zi.data<int32_t>()[i], 0);
  EXPECT_EQ(matmul(zeros({0, 5}), zeros({5, 4})).shape(), (Shape{0, 4}));
  EXPECT_EQ(matmul(zeros({3, 5}), zeros({5, 0})).shape(), (Shape{3, 0}));
  array e = matmul(zeros({0, 3, 5}), zeros({5, 2}));
  e.eval();
  EXPECT_EQ(e.shape(), (Shape{0, 3, 2}));
  EXPECT_EQ(matmul(zeros({0}), zeros({0})).shape(), Shape{});
  EXPECT_EQ(matmul(zeros({0}), zeros({0})).item<float>(), 0.0f);
}

TEST(Matmul, PromotesMixedDtypes) {
  StreamContext ctx{Device(cpu)};
  array a = array({1, 2, 3, 4}, {2, 2});              // int32
  array b = array({0.5f, 1.0f, 1.5f, 2.0f}, {2, 2});  // float32
  array c = matmul(a, b);
  EXPECT_EQ(c.dtype(), float32);
  c.eval();
  EXPECT_EQ(c.data<float>()[0], 3.5f);
  EXPECT_EQ(c.data<float>()[3], 11.0f);
}

TEST(Matmul, SameValuesOnEveryStream) {
  Seeded s;
  SCOPED_TRACE(s.trace());
  Host<float> a = random_operand<float>(300 * 200, s.rng);
  Host<float> b = random_operand<float>(200 * 100, s.rng);
  array x = to_array(a, {300, 200}), y = to_array(b, {200, 100});
  array p = matmul(x, y, new_stream(cpu));
  array q = matmul(x, y, new_stream(cpu));
  eval({p, q});
  for (size_t i = 0; i < p.size(); ++i) {
    ASSERT_EQ(p.data<float>()[i], q.data<float>()[i]) << i;
  }
}

TEST(Matmul, Errors) {
  StreamContext ctx{Device(cpu)};
  auto expect_error = [](auto f, const std::string& what) {
    SCOPED_TRACE(what);
    expect_invalid(f, "[matmul]");
  };
  expect_error([] { matmul(array(1.0f), ones({2})); }, "0-d a");
  expect_error([] { matmul(ones({2}), array(1.0f)); }, "0-d b");
  expect_error([] { matmul(ones({2, 3}), ones({4, 2})); }, "K mismatch");
  expect_error([] { matmul(ones({3}), ones({4})); }, "1-d mismatch");
  expect_error([] { matmul(ones({2, 2, 3}), ones({3, 3, 2})); }, "batch");
}

TEST(AddMM, MatchesReferenceWithBroadcastC) {
  Seeded s;
  SCOPED_TRACE(s.trace());
  StreamContext ctx{Device(cpu)};
  const int M = 70, K = 40, N = 90;
  Host<double> a = random_operand<double>(M * K, s.rng);
  Host<double> b = random_operand<double>(K * N, s.rng);
  Host<double> c = random_operand<double>(N, s.rng);
  auto r = reference(a, {M, K}, b, {K, N});
  for (auto [alpha, beta] :
       {std::pair{1.0f, 1.0f}, std::pair{0.5f, -2.0f}, std::pair{2.0f, 0.0f}}) {
    for (Dtype t : {float32, float64, float16, bfloat16}) {
      array out =
          addmm(astype(to_array(c, {N}), t), astype(to_array(a, {M, K}), t),
                astype(to_array(b, {K, N}), t), alpha, beta);
      EXPECT_EQ(out.dtype(), t);
      array o = astype(out, float64);
      o.eval();
      // Inputs rounded to t: compare against t's own inputs' product, with
      // a tolerance of t's precision on both terms.
      const double u = t == float64   ? 1e-14
                       : t == float32 ? 1e-5
                       : t == float16 ? 4e-3
                                      : 3e-2;
      for (int i = 0; i < M; ++i) {
        for (int j = 0; j < N; ++j) {
          const size_t e = size_t(i) * N + j;
          const double want = alpha * r.val[e] + beta * c[j];
          const double tol =
              u * (std::fabs(alpha) * r.mag[e] + std::fabs(beta * c[j]) + 1.0) *
              4;
          ASSERT_NEAR(o.data<double>()[e], want, tol)
              << dtype_name(t) << " alpha=" << alpha << " beta=" << beta;
        }
      }
    }
  }
}

TEST(AddMM, BetaZeroIgnoresNaNInC) {
  StreamContext ctx{Device(cpu)};
  array c = full({2, 2}, array(std::numeric_limits<float>::quiet_NaN()));
  array o = addmm(c, ones({2, 3}), ones({3, 2}), 1.0f, 0.0f);
  o.eval();
  for (int i = 0; i < 4; ++i) EXPECT_EQ(o.data<float>()[i], 3.0f);
  array e = addmm(array(2.0f), zeros({2, 0}), zeros({0, 2}), 1.0f, 0.5f);
  e.eval();
  for (int i = 0; i < 4; ++i) EXPECT_EQ(e.data<float>()[i], 1.0f);
}

TEST(AddMM, Errors) {
  StreamContext ctx{Device(cpu)};
  auto expect_error = [](auto f, const std::string& what) {
    SCOPED_TRACE(what);
    expect_invalid(f, "[addmm]");
  };
  expect_error(
      [] {
        addmm(ones({2, 2}, int32), ones({2, 2}, int32), ones({2, 2}, int32));
      },
      "integers");
  expect_error(
      [] {
        addmm(ones({3, 2}), ones({2, 2}), ones({2, 2}));
      },
      "c does not broadcast");
  expect_error(
      [] {
        addmm(ones({2}), ones({2, 3}), ones({2, 2}));
      },
      "K mismatch");
}
