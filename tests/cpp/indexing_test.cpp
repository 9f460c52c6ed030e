// Gathers, scatters and numpy indexing on the CPU, against host references
// computed with plain loops on fresh random data; errors at the call and at
// run time; strided (view) inputs; large inputs that split over workers.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "runnel/runnel.h"
#include "runnel/scheduler/graph.h"
#include "runnel/testing.h"
#include "tests/cpp/test_util.h"

using namespace runnel;
using namespace runnel::test;

namespace {

// The evaluated elements of `a`, row-major (outputs are contiguous).
template <class T>
Host<T> values(array a) {
  a.eval();
  EXPECT_EQ(a.dtype(), dtype_of<T>());
  Host<T> h(a.size());
  if (a.size()) std::memcpy(h.p.get(), a.data<T>(), a.nbytes());
  return h;
}

// Random indices in [-n, n) for signed dtypes, [0, n) for unsigned ones, as
// int64 (the reference) and as an array of `dtype`.
struct Indices {
  std::vector<int64_t> v;
  array a;
};
Indices random_indices(Seeded& s, const Shape& shape, int n, Dtype dtype) {
  std::vector<int64_t> v(numel(shape));
  int lo = is_signed_integer(dtype) ? -n : 0;
  int hi = n - 1;
  if (dtype == int8) lo = std::max(lo, -128), hi = std::min(hi, 127);
  if (dtype == uint8) hi = std::min(hi, 255);
  for (auto& x : v) x = s.uniform(lo, hi);
  return {v, array(v.data(), int64, shape, dtype)};
}

int64_t wrap(int64_t i, int64_t n) { return i < 0 ? i + n : i; }

const Dtype kIndexDtypes[] = {uint8, uint16, uint32, uint64,
                              int8,  int16,  int32,  int64};

template <class F>
void on_cpu(F&& body) {
  test::watchdog_eval(60, [&] {
    StreamContext ctx{Device(cpu)};
    body();
  });
}

template <class Fn>
void expect_throw_with(Fn&& fn, const std::string& what) {
  try {
    fn();
    ADD_FAILURE() << "no exception; expected one containing: " << what;
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find(what), std::string::npos)
        << "message: " << e.what() << "\nexpected to contain: " << what;
  }
}

// ---- take over every data dtype and index dtype ----

template <class T>
class TakeTyped : public ::testing::Test {};
TYPED_TEST_SUITE(TakeTyped, AllTypes);

TYPED_TEST(TakeTyped, EveryAxisAndIndexDtypeMatchesReference) {
  using T = TypeParam;
  on_cpu([] {
    Seeded s;
    SCOPED_TRACE(s.trace());
    const Shape shape{4, 5, 6};
    Host<T> h = random_values<T>(numel(shape), s.rng);
    array a = to_array(h, shape);
    for (int axis = -3; axis < 3; ++axis) {
      const int ax = axis < 0 ? axis + 3 : axis;
      for (Dtype idt : kIndexDtypes) {
        SCOPED_TRACE("axis " + std::to_string(axis) + " index dtype " +
                     std::string(dtype_name(idt)));
        Indices ix = random_indices(s, {2, 3}, shape[ax], idt);
        array out = take(a, ix.a, axis);
        Shape want_shape = shape;
        want_shape.erase(want_shape.begin() + ax);
        want_shape.insert(want_shape.begin() + ax, {2, 3});
        ASSERT_EQ(out.shape(), want_shape);
        Host<T> got = values<T>(out);
        // Reference: out[pre, k, post] = a[pre, idx[k], post].
        int pre = 1, post = 1;
        for (int d = 0; d < ax; ++d) pre *= shape[d];
        for (int d = ax + 1; d < 3; ++d) post *= shape[d];
        size_t pos = 0;
        for (int i = 0; i < pre; ++i) {
          for (int64_t k : ix.v) {
            for (int j = 0; j < post; ++j, ++pos) {
              int64_t src = (i * shape[ax] + wrap(k, shape[ax])) * post + j;
              ASSERT_TRUE(same_bits(got[pos], h[src])) << "at " << pos;
            }
          }
        }
      }
    }
  });
}

TYPED_TEST(TakeTyped, StridedViewsAndScatterAdd) {
  using T = TypeParam;
  on_cpu([] {
    Seeded s;
    SCOPED_TRACE(s.trace());
    // A (6, 8) base read as the view base[5:0:-2, ::3] (shape (3, 3)).
    Host<T> h = random_values<T>(48, s.rng);
    array view = view_of(to_array(h, {6, 8}), {3, 3}, {-16, 3}, 5 * 8);
    auto base_at = [&](int i, int j) { return h[(5 - 2 * i) * 8 + 3 * j]; };
    array idx({2, -1, 0, 2}, Shape{4});
    Host<T> got = values<T>(take(view, idx, 1));
    const int cols[] = {2, 2, 0, 2};
    for (int i = 0; i < 3; ++i) {
      for (int k = 0; k < 4; ++k) {
        ASSERT_TRUE(same_bits(got[i * 4 + k], base_at(i, cols[k])));
      }
    }
    // Flat take through the same view (unravelled, not contiguous).
    Host<T> flat = values<T>(take(view, array({8, -9, 4}, Shape{3})));
    ASSERT_TRUE(same_bits(flat[0], base_at(2, 2)));
    ASSERT_TRUE(same_bits(flat[1], base_at(0, 0)));
    ASSERT_TRUE(same_bits(flat[2], base_at(1, 1)));
    // A scatter into the view: the output is a contiguous copy with the
    // updates combined in (duplicates of row 0 combine twice).
    Host<T> up = random_values<T>(9, s.rng);
    array rows({0, 0, 2}, Shape{3});
    array upd = view_of(to_array(up, {9}), {3, 1, 3}, {3, 3, 1}, 0);
    Host<T> sa = values<T>(scatter_add(view, rows, upd, 0));
    Host<T> sc = values<T>(scatter(view, rows, upd, 0));
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 3; ++j) {
        T want = base_at(i, j);
        T last = want;
        for (int u = 0; u < 3; ++u) {
          int r = u < 2 ? 0 : 2;
          if (r != i) continue;
          if constexpr (std::is_same_v<T, bool>) {
            want = want || up[u * 3 + j];
          } else if constexpr (std::is_integral_v<T>) {
            want = static_cast<T>(static_cast<uint64_t>(want) +
                                  static_cast<uint64_t>(up[u * 3 + j]));
          } else if constexpr (kHalf<T>) {
            want =
                T(static_cast<float>(want) + static_cast<float>(up[u * 3 + j]));
          } else {
            want = want + up[u * 3 + j];
          }
          last = up[u * 3 + j];
        }
        ASSERT_TRUE(same_bits(sa[i * 3 + j], want)) << i << "," << j;
        ASSERT_TRUE(same_bits(sc[i * 3 + j], last)) << i << "," << j;
      }
    }
  });
}

// ---- the other gathers ----

TEST(Take, FlatScalarAndZeroDimensional) {
  on_cpu([] {
    Seeded s;
    SCOPED_TRACE(s.trace());
    Host<int32_t> h = random_values<int32_t>(24, s.rng);
    array a = to_array(h, {2, 3, 4});
    Host<int32_t> flat =
        values<int32_t>(take(a, array({23, -24, 5, 5}, Shape{2, 2})));
    EXPECT_EQ(flat[0], h[23]);
    EXPECT_EQ(flat[1], h[0]);
    EXPECT_EQ(flat[2], h[5]);
    EXPECT_EQ(flat[3], h[5]);
    array one = take(a, -1, 1);  // a[:, 2, :]
    ASSERT_EQ(one.shape(), (Shape{2, 4}));
    Host<int32_t> v = values<int32_t>(one);
    for (int i = 0; i < 2; ++i) {
      for (int k = 0; k < 4; ++k) EXPECT_EQ(v[i * 4 + k], h[i * 12 + 8 + k]);
    }
    array e = take(a, 13);
    EXPECT_EQ(e.ndim(), 0);
    EXPECT_EQ(e.item<int32_t>(), h[13]);
    // A 0-d index drops the axis; a 0-d array takes flat indices.
    array z = take(a, array(-2), 2);
    ASSERT_EQ(z.shape(), (Shape{2, 3}));
    EXPECT_EQ(values<int32_t>(z)[4], h[4 * 4 + 2]);
    array scalar(7.5f);
    Host<float> sv = values<float>(take(scalar, array({0, -1, 0}, Shape{3})));
    EXPECT_EQ(sv[1], 7.5f);
  });
}

TEST(TakeAlongAxis, BroadcastsAndMatchesReference) {
  on_cpu([] {
    Seeded s;
    SCOPED_TRACE(s.trace());
    Host<float> h = random_values<float>(3 * 5, s.rng);
    array a = to_array(h, {3, 5});
    for (Dtype idt : kIndexDtypes) {
      Indices ix = random_indices(s, {3, 4}, 5, idt);
      Host<float> got = values<float>(take_along_axis(a, ix.a, 1));
      for (int i = 0; i < 3; ++i) {
        for (int j = 0; j < 4; ++j) {
          ASSERT_EQ(got[i * 4 + j], h[i * 5 + wrap(ix.v[i * 4 + j], 5)]);
        }
      }
    }
    // Indices (1, 2) broadcast over the rows; a (3, 1) over index columns.
    Indices ix = random_indices(s, {1, 2}, 5, int32);
    Host<float> got = values<float>(take_along_axis(a, ix.a, -1));
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 2; ++j) {
        ASSERT_EQ(got[i * 2 + j], h[i * 5 + wrap(ix.v[j], 5)]);
      }
    }
    Host<float> col = random_values<float>(3, s.rng);
    array c = to_array(col, {3, 1});
    Indices r = random_indices(s, {2, 4}, 3, int16);
    array t = take_along_axis(c, r.a, 0);
    ASSERT_EQ(t.shape(), (Shape{2, 4}));
    Host<float> tv = values<float>(t);
    for (int i = 0; i < 8; ++i) ASSERT_EQ(tv[i], col[wrap(r.v[i], 3)]);
    // No axis: a flattened, indices 1-d.
    Indices f = random_indices(s, {7}, 15, uint8);
    Host<float> fv = values<float>(take_along_axis(a, f.a));
    for (int i = 0; i < 7; ++i) ASSERT_EQ(fv[i], h[f.v[i]]);
  });
}

TEST(Gather, SlicesAtIndexedAndOtherAxes) {
  on_cpu([] {
    Seeded s;
    SCOPED_TRACE(s.trace());
    Host<int64_t> h = random_values<int64_t>(6 * 7, s.rng);
    array a = to_array(h, {6, 7});
    // Rows idx .. idx+1, columns 0 .. 2, for each of 5 indices.
    std::vector<int64_t> rows{0, 4, -2, 3, 1};
    array out = gather(a, array(rows.data(), int64, {5}, int32), 0, {2, 3});
    ASSERT_EQ(out.shape(), (Shape{5, 2, 3}));
    Host<int64_t> v = values<int64_t>(out);
    for (int k = 0; k < 5; ++k) {
      for (int i = 0; i < 2; ++i) {
        for (int j = 0; j < 3; ++j) {
          ASSERT_EQ(v[(k * 2 + i) * 3 + j], h[(wrap(rows[k], 6) + i) * 7 + j]);
        }
      }
    }
    // Two index arrays broadcast: (3, 1) rows with (4,) columns.
    array r({5, 0, 2}, Shape{3, 1});
    array c({6, 1, 0, 3}, Shape{4}, uint16);
    Host<int64_t> p = values<int64_t>(gather(a, {r, c}, {0, 1}, {1, 1}));
    const int rr[] = {5, 0, 2}, cc[] = {6, 1, 0, 3};
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 4; ++j) ASSERT_EQ(p[i * 4 + j], h[rr[i] * 7 + cc[j]]);
    }
    // An index that leaves no room for its slice fails when run.
    array bad = gather(a, array({5}, Shape{1}), 0, {2, 7});
    expect_throw_with([&] { bad.eval(); },
                      "[gather] index 5 is out of bounds for axis 0 with size "
                      "6 and slice size 2");
  });
}

// ---- scatters ----

TEST(Scatter, DuplicatesCombineOrLastWins) {
  on_cpu([] {
    Seeded s;
    SCOPED_TRACE(s.trace());
    Host<int32_t> h = random_values<int32_t>(8, s.rng);
    array a = to_array(h, {8});
    std::vector<int64_t> idx{3, -5, 1, 3, 7, 1, 1};
    Host<int32_t> up = random_values<int32_t>(idx.size(), s.rng);
    array ia(idx.data(), int64, {7}, int8);
    array ua = view_of(to_array(up, {7}), {7, 1}, {1, 0}, 0);
    auto run = [&](auto fn) { return values<int32_t>(fn(a, ia, ua, 0)); };
    Host<int32_t> sc = run([](auto&&... x) { return scatter(x...); });
    Host<int32_t> sa = run([](auto&&... x) { return scatter_add(x...); });
    Host<int32_t> sp = run([](auto&&... x) { return scatter_prod(x...); });
    Host<int32_t> smax = run([](auto&&... x) { return scatter_max(x...); });
    Host<int32_t> smin = run([](auto&&... x) { return scatter_min(x...); });
    for (int t = 0; t < 8; ++t) {
      int32_t last = h[t];
      uint32_t sum = static_cast<uint32_t>(h[t]);
      uint32_t prod = static_cast<uint32_t>(h[t]);
      int32_t mx = h[t], mn = h[t];
      for (size_t u = 0; u < idx.size(); ++u) {
        if (wrap(idx[u], 8) != t) continue;
        last = up[u];
        sum += static_cast<uint32_t>(up[u]);
        prod *= static_cast<uint32_t>(up[u]);
        mx = std::max(mx, up[u]);
        mn = std::min(mn, up[u]);
      }
      EXPECT_EQ(sc[t], last) << t;
      EXPECT_EQ(sa[t], static_cast<int32_t>(sum)) << t;
      EXPECT_EQ(sp[t], static_cast<int32_t>(prod)) << t;
      EXPECT_EQ(smax[t], mx) << t;
      EXPECT_EQ(smin[t], mn) << t;
    }
    // The input is unchanged: scatters are functional.
    Host<int32_t> again = values<int32_t>(a);
    for (int t = 0; t < 8; ++t) EXPECT_EQ(again[t], h[t]);
  });
}

TEST(Scatter, FloatAddAndNanInMaxMin) {
  on_cpu([] {
    array a({1.0f, 2.0f, 3.0f}, Shape{3});
    const float nan = std::numeric_limits<float>::quiet_NaN();
    array idx({0, 0, 2, 1}, Shape{4});
    array up({0.5f, 0.25f, nan, -1.0f}, Shape{4, 1});
    Host<float> sa = values<float>(scatter_add(a, idx, up, 0));
    EXPECT_EQ(sa[0], 1.75f);
    EXPECT_EQ(sa[1], 1.0f);
    EXPECT_TRUE(std::isnan(sa[2]));
    Host<float> mx = values<float>(scatter_max(a, idx, up, 0));
    EXPECT_EQ(mx[0], 1.0f);
    EXPECT_TRUE(std::isnan(mx[2]));
    Host<float> mn = values<float>(scatter_min(a, idx, up, 0));
    EXPECT_EQ(mn[0], 0.25f);
    EXPECT_EQ(mn[1], -1.0f);
    EXPECT_TRUE(std::isnan(mn[2]));
    // bool: add is or, prod is and.
    array b({false, true, true}, Shape{3});
    array bi({0, 1}, Shape{2});
    array bu({true, false}, Shape{2, 1});
    Host<bool> bo = values<bool>(scatter_add(b, bi, bu, 0));
    EXPECT_TRUE(bo[0] && bo[1] && bo[2]);
    Host<bool> bp = values<bool>(scatter_prod(b, bi, bu, 0));
    EXPECT_TRUE(!bp[0] && !bp[1] && bp[2]);
  });
}

TEST(Scatter, SlicesOnSeveralAxesAndCastUpdates) {
  on_cpu([] {
    Seeded s;
    SCOPED_TRACE(s.trace());
    Host<float> h = random_values<float>(5 * 6, s.rng);
    array a = to_array(h, {5, 6});
    // Windows of (2, 3) at (row, col) pairs, updates given as int32.
    array r({0, 3}, Shape{2});
    array c({-3, 1}, Shape{2}, int64);
    Host<int32_t> up = random_values<int32_t>(2 * 2 * 3, s.rng);
    for (size_t i = 0; i < up.n; ++i) up[i] %= 100;
    array out = scatter(a, {r, c}, to_array(up, {2, 2, 3}), {0, 1});
    EXPECT_EQ(out.dtype(), float32);
    Host<float> v = values<float>(out);
    std::vector<float> want(h.data(), h.data() + 30);
    const int rr[] = {0, 3}, cc[] = {3, 1};
    for (int k = 0; k < 2; ++k) {
      for (int i = 0; i < 2; ++i) {
        for (int j = 0; j < 3; ++j) {
          want[(rr[k] + i) * 6 + cc[k] + j] =
              static_cast<float>(up[(k * 2 + i) * 3 + j]);
        }
      }
    }
    for (int i = 0; i < 30; ++i) EXPECT_EQ(v[i], want[i]) << i;
  });
}

TEST(PutAlongAxis, BroadcastValuesAndLastWins) {
  on_cpu([] {
    Seeded s;
    SCOPED_TRACE(s.trace());
    Host<double> h = random_values<double>(4 * 5, s.rng);
    array a = to_array(h, {4, 5});
    Indices ix = random_indices(s, {4, 3}, 5, int64);
    Host<double> vals = random_values<double>(3, s.rng);
    Host<double> v =
        values<double>(put_along_axis(a, ix.a, to_array(vals, {3}), 1));
    std::vector<double> want(h.data(), h.data() + 20);
    for (int i = 0; i < 4; ++i) {
      for (int j = 0; j < 3; ++j)
        want[i * 5 + wrap(ix.v[i * 3 + j], 5)] = vals[j];
    }
    for (int i = 0; i < 20; ++i) EXPECT_EQ(v[i], want[i]) << i;
    // No axis: the flat positions; the shape stays.
    array f = put_along_axis(a, array({19, -20, 7}, Shape{3}), array(2.5));
    ASSERT_EQ(f.shape(), (Shape{4, 5}));
    Host<double> fv = values<double>(f);
    EXPECT_EQ(fv[19], 2.5);
    EXPECT_EQ(fv[0], 2.5);
    EXPECT_EQ(fv[7], 2.5);
    EXPECT_EQ(fv[8], h[8]);
  });
}

// ---- numpy keys ----

TEST(Index, NumpyKeysPlaceTheIndexBlockAsNumpy) {
  on_cpu([] {
    Seeded s;
    SCOPED_TRACE(s.trace());
    const Shape shape{3, 4, 5};
    Host<int32_t> h = random_values<int32_t>(60, s.rng);
    array a = to_array(h, shape);
    auto at = [&](int i, int j, int k) { return h[(i * 4 + j) * 5 + k]; };
    array i2({2, -1}, Shape{2});
    array j3({0, 3, -4}, Shape{3, 1}, int16);
    using I = Index;
    // a[:, j3, 1:4:2] -> (3, 3, 1, 2): the block stays in place.
    {
      array out = index(a, {I::slice(), I(j3), I::slice(1, 4, 2)});
      ASSERT_EQ(out.shape(), (Shape{3, 3, 1, 2}));
      Host<int32_t> v = values<int32_t>(out);
      const int js[] = {0, 3, 0};
      size_t p = 0;
      for (int i = 0; i < 3; ++i)
        for (int q = 0; q < 3; ++q)
          for (int k = 1; k < 4; k += 2) ASSERT_EQ(v[p++], at(i, js[q], k));
    }
    // a[i2, :, 0] -> (2, 4): separated by a slice, the block goes first.
    {
      array out = index(a, {I(i2), I::slice(), I(0)});
      ASSERT_EQ(out.shape(), (Shape{2, 4}));
      Host<int32_t> v = values<int32_t>(out);
      const int is[] = {2, 2};
      for (int q = 0; q < 2; ++q)
        for (int j = 0; j < 4; ++j) ASSERT_EQ(v[q * 4 + j], at(is[q], j, 0));
    }
    // a[0, :, i2] -> (2, 4): the integer counts as advanced, as in numpy.
    {
      array out = index(a, {I(0), I::slice(), I(i2)});
      ASSERT_EQ(out.shape(), (Shape{2, 4}));
      Host<int32_t> v = values<int32_t>(out);
      const int ks[] = {2, 4};
      for (int q = 0; q < 2; ++q)
        for (int j = 0; j < 4; ++j) ASSERT_EQ(v[q * 4 + j], at(0, j, ks[q]));
    }
    // a[None, ..., ::-2, i2] -> (1, 3, 2, 2) with an ellipsis and new axis.
    {
      array out =
          index(a, {I::new_axis(), I::ellipsis(), I::slice({}, {}, -2), I(i2)});
      ASSERT_EQ(out.shape(), (Shape{1, 3, 2, 2}));
      Host<int32_t> v = values<int32_t>(out);
      const int ks[] = {2, 4};
      size_t p = 0;
      for (int i = 0; i < 3; ++i)
        for (int j = 3; j >= 0; j -= 2)
          for (int q = 0; q < 2; ++q) ASSERT_EQ(v[p++], at(i, j, ks[q]));
    }
    // A boolean mask over the first two axes, then a slice.
    {
      Host<bool> m = random_values<bool>(12, s.rng);
      array out = index(a, {I(to_array(m, {3, 4})), I::slice(1, {})});
      int count = 0;
      for (int i = 0; i < 12; ++i) count += m[i];
      ASSERT_EQ(out.shape(), (Shape{count, 4}));
      Host<int32_t> v = values<int32_t>(out);
      size_t p = 0;
      for (int i = 0; i < 3; ++i) {
        for (int j = 0; j < 4; ++j) {
          if (!m[i * 4 + j]) continue;
          for (int k = 1; k < 5; ++k) ASSERT_EQ(v[p++], at(i, j, k));
        }
      }
    }
    // A mask over a view whose masked axes do not flatten into one stride:
    // v[i, k, j] = a[i, 2j, k].
    {
      array v = view_of(a, {3, 5, 2}, {20, 1, 10}, 0);
      Host<bool> m = random_values<bool>(15, s.rng);
      array out = index(v, {I(to_array(m, {3, 5})), I::slice(-1, {}, -1)});
      Host<int32_t> got = values<int32_t>(out);
      size_t p = 0;
      for (int i = 0; i < 3; ++i) {
        for (int k = 0; k < 5; ++k) {
          if (!m[i * 5 + k]) continue;
          for (int j = 1; j >= 0; --j) ASSERT_EQ(got[p++], at(i, 2 * j, k));
        }
      }
      ASSERT_EQ(p, got.n);
    }
    // Basic keys give copies with numpy's shapes; 0-d booleans add a dim.
    EXPECT_EQ(index(a, {I(1), I::slice(-1, -5, -1)}).shape(), (Shape{4, 5}));
    EXPECT_EQ(index(a, {I(array(true))}).shape(), (Shape{1, 3, 4, 5}));
    EXPECT_EQ(index(a, {I(array(false)), I(array({1}, Shape{1}))}).shape(),
              (Shape{0, 4, 5}));
    EXPECT_EQ(index(a, {}).shape(), shape);
    EXPECT_EQ(index(array(3.0f), {I::new_axis()}).shape(), (Shape{1}));
  });
}

TEST(IndexPut, AssignsLikeNumpyAndLeavesTheInput) {
  on_cpu([] {
    Seeded s;
    SCOPED_TRACE(s.trace());
    Host<float> h = random_values<float>(12, s.rng);
    array a = to_array(h, {3, 4});
    using I = Index;
    // a[[1, 1, 2]] = rows (the last duplicate wins).
    Host<float> rows = random_values<float>(12, s.rng);
    array out =
        index_put(a, {I(array({1, 1, 2}, Shape{3}))}, to_array(rows, {3, 4}));
    Host<float> v = values<float>(out);
    for (int j = 0; j < 4; ++j) {
      EXPECT_EQ(v[j], h[j]);
      EXPECT_EQ(v[4 + j], rows[4 + j]);
      EXPECT_EQ(v[8 + j], rows[8 + j]);
    }
    // a[1:, ::-3] = 9 (a scalar of another dtype, cast).
    Host<float> w = values<float>(
        index_put(a, {I::slice(1, {}), I::slice({}, {}, -3)}, array(9)));
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 4; ++j) {
        bool hit = i >= 1 && (j == 3 || j == 0);
        EXPECT_EQ(w[i * 4 + j], hit ? 9.0f : h[i * 4 + j]);
      }
    }
    // a[mask] += 1 through index_put with add; values with a leading 1.
    Host<bool> m = random_values<bool>(12, s.rng);
    int count = 0;
    for (int i = 0; i < 12; ++i) count += m[i];
    Host<float> ones(count);
    for (int i = 0; i < count; ++i) ones[i] = 1.0f;
    Host<float> x =
        values<float>(index_put(a, {I(to_array(m, {3, 4}))},
                                to_array(ones, {1, count}), ScatterOp::add));
    for (int i = 0; i < 12; ++i) {
      EXPECT_EQ(x[i], m[i] ? h[i] + 1.0f : h[i]);
    }
    Host<float> same = values<float>(a);
    for (int i = 0; i < 12; ++i) EXPECT_EQ(same[i], h[i]);
  });
}

// ---- errors ----

TEST(IndexingErrors, BadArgumentsRaiseAtTheCall) {
  on_cpu([] {
    array a = zeros({3, 4});
    array fi({0.0f, 1.0f}, Shape{2});
    array bi({true, false}, Shape{2});
    array ii({0, 1}, Shape{2});
    using I = Index;
    auto inv = [](auto fn, const std::string& what) {
      EXPECT_THROW(fn(), std::invalid_argument) << what;
      expect_throw_with(fn, what);
    };
    auto oor = [](auto fn, const std::string& what) {
      EXPECT_THROW(fn(), std::out_of_range) << what;
      expect_throw_with(fn, what);
    };
    inv([&] { take(a, fi, 0); },
        "[take] indices must be integers, got float32");
    inv([&] { take(a, bi); }, "[take] indices must be integers, got bool");
    inv([&] { take_along_axis(a, fi, 0); }, "[take_along_axis] indices must");
    inv([&] { put_along_axis(a, fi, a, 0); }, "[put_along_axis] indices must");
    inv([&] { scatter(a, fi, zeros({2, 1, 4}), 0); }, "[scatter] indices must");
    inv([&] { gather(a, fi, 0, {1, 4}); }, "[gather] indices must");
    inv([&] { take(a, ii, 2); }, "[take] axis 2 is out of bounds");
    inv([&] { take(a, ii, -3); }, "[take] axis -3 is out of bounds");
    oor([&] { take(a, 3, 0); }, "[take] index 3 is out of bounds for axis 0");
    oor([&] { take(a, -13); }, "[take] index -13 is out of bounds");
    oor([&] { take(zeros({0, 2}), ii, 0); }, "[take] cannot take a non-empty");
    inv([&] { take_along_axis(a, ii, 0); },
        "[take_along_axis] indices must have as many dimensions");
    inv(
        [&] {
          take_along_axis(a, zeros({2, 3}, int32), 0);
        },
        "do not broadcast against");
    inv(
        [&] {
          take_along_axis(a, zeros({2, 2}, int32));
        },
        "[take_along_axis] with no axis, indices must be 1-d");
    inv(
        [&] {
          put_along_axis(a, zeros({3, 2}, int32), zeros({3, 3}), 1);
        },
        "[put_along_axis] values of shape (3,3) cannot be broadcast");
    inv(
        [&] {
          gather(a, {ii}, {0, 1}, {1, 4});
        },
        "[gather] got 1 index arrays");
    inv([&] { gather(a, {ii, ii}, {0, -2}, {1, 1}); }, "[gather] axis -2 is");
    inv([&] { gather(a, ii, 0, {1}); }, "[gather] got 1 slice sizes");
    inv([&] { gather(a, ii, 0, {1, 5}); }, "do not fit");
    inv(
        [&] {
          gather(a, {ii, zeros({3}, int32)}, {0, 1}, {1, 1});
        },
        "[gather] Shapes (2,) and (3,) cannot be broadcast");
    inv(
        [&] {
          scatter_add(a, ii, zeros({2, 4}), 0);
        },
        "[scatter_add] updates of shape (2,4) must have 3 dimensions");
    inv(
        [&] {
          scatter_max(a, ii, zeros({3, 1, 4}), 0);
        },
        "[scatter_max] updates of shape (3,1,4) do not match");
    inv([&] { scatter_min(a, ii, zeros({2, 1, 5}), 0); }, "larger than");
    oor(
        [&] {
          index(a, {I(0), I(0), I(0)});
        },
        "[index] too many indices for array: array is 2-dimensional, but 3");
    oor([&] { index(a, {I::ellipsis(), I::ellipsis()}); }, "single ellipsis");
    oor([&] { index(a, {I(fi)}); }, "[index] arrays used as indices must be");
    oor([&] { index(a, {I(5)}); },
        "[index] index 5 is out of bounds for axis 0 with size 3");
    oor(
        [&] {
          index(a, {I(ii), I(-5)});
        },
        "index -5 is out of bounds for axis 1");
    oor([&] { index(a, {I(bi)}); },
        "[index] boolean index did not match indexed array along axis 0; "
        "size of axis is 3 but size of corresponding boolean axis is 2");
    oor(
        [&] {
          index(a, {I(ii), I(zeros({3}, int32))});
        },
        "shape mismatch: indexing arrays could not be broadcast together "
        "with shapes (2,) (3,)");
    inv([&] { index(a, {I::slice(0, 2, 0)}); },
        "[index] slice step cannot be zero");
    inv(
        [&] {
          index_put(a, {I(0)}, zeros({2, 4}));
        },
        "[index_put] values of shape (2,4) cannot be broadcast to (4,)");
    oor(
        [&] {
          index_put(a, {I(0), I(9)}, array(1.0f));
        },
        "[index_put] index 9");
  });
}

TEST(IndexingErrors, OutOfRangeIndicesFailWhenRunAndNeverCrash) {
  on_cpu([] {
    Stream st = new_stream(Device(cpu));
    array a = arange(0, 5, 1, st);
    struct Case {
      array idx;
      std::string what;
    };
    std::vector<uint64_t> huge{0, UINT64_MAX};
    std::vector<Case> cases{
        {array({1, 7}, Shape{2}),
         "[take] index 7 is out of bounds for axis 0 "
         "with size 5"},
        {array({-6}, Shape{1}, int8), "[take] index -6 is out of bounds"},
        {array(huge.data(), uint64, {2}, uint64),
         "[take] index 18446744073709551615 is out of bounds"},
    };
    for (auto& c : cases) {
      array out = take(a, c.idx, 0, st);
      array next = add(out, array(1), st);  // computed from a failed array
      EXPECT_THROW(out.eval(), std::out_of_range);
      expect_throw_with([&] { out.eval(); }, c.what);
      expect_throw_with([&] { next.eval(); }, c.what);
      // Reported through its arrays: the stream's slot does not raise it.
      EXPECT_NO_THROW(synchronize(st));
    }
    // Rows of a matrix (one slice per index), a scatter, a numpy key, a
    // flat take through a view that does not flatten.
    expect_throw_with(
        [&] {
          take(zeros({4, 3}), array({0, -5}, Shape{2}), 0, st).eval();
        },
        "[take] index -5 is out of bounds for axis 0 with size 4");
    expect_throw_with(
        [&] {
          array v = view_of(arange(0, 12, 1), {2, 3}, {1, 2}, 0);
          take(v, array({6}, Shape{1}), st).eval();
        },
        "[take] index 6 is out of bounds for size 6");
    expect_throw_with(
        [&] {
          scatter_add(a, array({5}, Shape{1}), zeros({1, 1}, int32), 0, st)
              .eval();
        },
        "[scatter_add] index 5 is out of bounds for axis 0 with size 5");
    expect_throw_with(
        [&] { index(a, {Index(array({-9}, Shape{1}))}, st).eval(); },
        "[index] index -9 is out of bounds for axis 0 with size 5");
    expect_throw_with(
        [&] {
          take(zeros({2, 2}), array({4}, Shape{1}), st).eval();
        },
        "[take] index 4 is out of bounds for size 4");
    // Each was reported through its array: the slot raises none again.
    EXPECT_NO_THROW(synchronize(st));
    // Good indices still work on that stream.
    EXPECT_EQ(take(a, array({-1}, Shape{1}), 0, st).item<int32_t>(), 4);
  });
}

// ---- sizes ----

TEST(Indexing, ZeroSizeArraysAndIndices) {
  on_cpu([] {
    array a = arange(0, 12, 1);
    array none = zeros({0}, int32);
    EXPECT_EQ(take(a, none, 0).shape(), (Shape{0}));
    values<int32_t>(take(a, none, 0));
    array e = zeros({0, 3});
    array t = take(e, array({2, -1}, Shape{2}), 1);
    EXPECT_EQ(t.shape(), (Shape{0, 2}));
    t.eval();
    EXPECT_EQ(take(e, none, 0).shape(), (Shape{0, 3}));
    take(e, none, 0).eval();
    Host<int32_t> s =
        values<int32_t>(scatter(a, none, zeros({0, 1}, int32), 0));
    for (int i = 0; i < 12; ++i) EXPECT_EQ(s[i], i);
    array m = zeros({12}, bool_);
    array out = index(a, {Index(m)});
    EXPECT_EQ(out.shape(), (Shape{0}));
    out.eval();
    Host<int32_t> p = values<int32_t>(index_put(a, {Index(m)}, array(5)));
    for (int i = 0; i < 12; ++i) EXPECT_EQ(p[i], i);
    // Unused out-of-range values in an empty broadcast are not checked.
    index(zeros({3, 3}), {Index(array({7}, Shape{1})), Index(none)}).eval();
  });
}

TEST(Indexing, LargeGathersAndScattersSplitOverWorkers) {
  on_cpu([] {
    Seeded s;
    SCOPED_TRACE(s.trace());
    const int rows = 512, cols = 384;  // > the parallel grain
    Host<float> h = random_values<float>(rows * cols, s.rng);
    array a = to_array(h, {rows, cols});
    Indices ri = random_indices(s, {rows}, rows, int32);
    Indices ci = random_indices(s, {cols}, cols, int64);
    // Rows (a slice run per index) and columns (an index run per row).
    Host<float> gr = values<float>(take(a, ri.a, 0));
    Host<float> gc = values<float>(take(a, ci.a, 1));
    for (int i = 0; i < rows; ++i) {
      for (int j = 0; j < cols; ++j) {
        ASSERT_EQ(gr[i * cols + j], h[wrap(ri.v[i], rows) * cols + j]);
        ASSERT_EQ(gc[i * cols + j], h[i * cols + wrap(ci.v[j], cols)]);
      }
    }
    // Scatters into columns split over rows; duplicates of a column keep
    // their order within each row.
    Host<float> up = random_values<float>(rows * cols, s.rng);
    array upd = to_array(up, {rows, cols});
    Host<float> sc =
        values<float>(index_put(a, {Index::slice(), Index(ci.a)}, upd));
    Host<int32_t> ones(rows * cols);
    for (int i = 0; i < rows * cols; ++i) ones[i] = 1;
    Host<int32_t> cnt = values<int32_t>(
        index_put(zeros({rows, cols}, int32), {Index::slice(), Index(ci.a)},
                  to_array(ones, {rows, cols}), ScatterOp::add));
    std::vector<float> want(h.data(), h.data() + rows * cols);
    std::vector<int> want_cnt(cols, 0);
    for (int j = 0; j < cols; ++j) ++want_cnt[wrap(ci.v[j], cols)];
    for (int i = 0; i < rows; ++i) {
      for (int j = 0; j < cols; ++j) {
        want[i * cols + wrap(ci.v[j], cols)] = up[i * cols + j];
      }
    }
    for (int i = 0; i < rows; ++i) {
      for (int j = 0; j < cols; ++j) {
        ASSERT_EQ(sc[i * cols + j], want[i * cols + j]) << i << "," << j;
        ASSERT_EQ(cnt[i * cols + j], want_cnt[j]) << i << "," << j;
      }
    }
  });
}

TEST(Indexing, IndicesMadeOnAnotherStream) {
  on_cpu([] {
    Seeded s;
    SCOPED_TRACE(s.trace());
    Stream producer = new_stream(Device(cpu));
    Stream consumer = new_stream(Device(cpu));
    Host<int16_t> h = random_values<int16_t>(100, s.rng);
    array a = to_array(h, {100});
    Indices ix = random_indices(s, {50}, 100, int32);
    // The indices come out of an op on the producer stream.
    array idx = astype(ix.a, int64, producer);
    array out = take(a, idx, 0, consumer);
    Host<int16_t> v = values<int16_t>(out);
    for (int i = 0; i < 50; ++i) ASSERT_EQ(v[i], h[wrap(ix.v[i], 100)]);
  });
}

TEST(Nonzero, CoordinatesAreProducedOnTheGivenStream) {
  on_cpu([] {
    const int32_t v[6] = {0, 3, 0, -1, 7, 0};
    array a(v, int32, Shape{2, 3}, int32);
    Stream s = new_stream(Device(cpu));
    runnel::testing::Gate gate = runnel::testing::block(s);
    std::vector<array> out = nonzero(a, s);  // waits for a, not for s
    ASSERT_EQ(out.size(), 2u);
    async_eval(out);
    EXPECT_NE(out[0].status(), ArrayStatus::available);
    EXPECT_FALSE(s.query());
    gate.open();
    eval(out);
    const std::vector<int64_t> rows = {0, 1, 1}, cols = {1, 0, 1};
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(out[0].data<int64_t>()[i], rows[i]) << i;
      EXPECT_EQ(out[1].data<int64_t>()[i], cols[i]) << i;
    }
  });
}

}  // namespace
