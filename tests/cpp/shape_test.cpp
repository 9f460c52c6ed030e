// Shape ops on the CPU: views share their input's memory (checked through
// the buffer and data pointers) and read the right elements; the copying
// ops match a host reference computed index by index; every dtype, 0-size
// and 0-d arrays, negative axes and indices, and the errors. Fresh random
// data; the seed is printed with every failure.
#include <gtest/gtest.h>

#include <climits>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "runnel/runnel.h"
#include "runnel/scheduler/graph.h"
#include "runnel/testing.h"
#include "tests/cpp/test_util.h"

using namespace runnel;
using namespace runnel::test;

namespace {

namespace hooks = runnel::testing;

template <class T>
std::string show(const T& v) {
  if constexpr (kHalf<T>) {
    return std::to_string(static_cast<float>(v));
  } else if constexpr (std::is_same_v<T, bool>) {
    return v ? "true" : "false";
  } else {
    return std::to_string(v);
  }
}

// A random array of `shape` and its host copy (row-major): integers over
// their whole range, floats in [-100, 100) (not every bit pattern: NaNs would
// compare badly).
template <class T>
struct Data {
  Host<T> h;
  array a;
  Shape shape;
  Data(Shape s, std::mt19937& rng)
      : h(random_values<T>(numel(s), rng, -100.0, 100.0)),
        a(h.data(), dtype_of<T>(), s, dtype_of<T>()),
        shape(std::move(s)) {}
  // The element at a multi-index.
  const T& at(const std::vector<int>& idx) const {
    size_t flat = 0;
    for (size_t d = 0; d < shape.size(); ++d) flat = flat * shape[d] + idx[d];
    return h[flat];
  }
};

// Every multi-index of `shape`, in row-major order.
void for_each_index(const Shape& shape,
                    const std::function<void(const std::vector<int>&)>& f) {
  if (numel(shape) == 0) return;
  std::vector<int> idx(shape.size(), 0);
  for (;;) {
    f(idx);
    int d = static_cast<int>(shape.size()) - 1;
    for (; d >= 0; --d) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

// `got` (evaluated here, read through its strides) has `shape` and the
// element want(idx) at every index.
template <class T>
::testing::AssertionResult matches(
    array got, const Shape& shape,
    const std::function<T(const std::vector<int>&)>& want) {
  if (got.shape() != shape) {
    return ::testing::AssertionFailure() << "wrong shape";
  }
  if (got.dtype() != dtype_of<T>()) {
    return ::testing::AssertionFailure() << "wrong dtype " << got.dtype();
  }
  got.eval();
  const T* base = got.size() ? got.data<T>() : nullptr;
  std::string bad;
  for_each_index(shape, [&](const std::vector<int>& idx) {
    if (!bad.empty()) return;
    int64_t off = 0;
    for (size_t d = 0; d < idx.size(); ++d) off += idx[d] * got.strides()[d];
    T w = want(idx), g = base[off];
    if (!same_bits(g, w)) {
      bad = "at (";
      for (int i : idx) bad += std::to_string(i) + ",";
      bad += "): got " + show(g) + ", want " + show(w);
    }
  });
  if (!bad.empty()) return ::testing::AssertionFailure() << bad;
  return ::testing::AssertionSuccess();
}

// The view shares the source's buffer (no copy was made).
::testing::AssertionResult shares(array view, array src) {
  eval({view, src});
  if (view.node().data.get() != src.node().data.get()) {
    return ::testing::AssertionFailure() << "the view has its own buffer";
  }
  return ::testing::AssertionSuccess();
}

bool row_contiguous(const array& a) {
  return detail::is_row_contiguous(a.shape(), a.strides());
}

template <class T>
class ShapeTyped : public OnCpu {};
TYPED_TEST_SUITE(ShapeTyped, AllTypes, TypeNames);

using ShapeViews = OnCpu;
using ShapeCopies = OnCpu;
using ShapeErrors = OnCpu;
using ShapeStreams = OnCpu;

// ---- Views, every dtype ----

TYPED_TEST(ShapeTyped, TransposeSwapMoveAreViews) {
  using T = TypeParam;
  Seeded s;
  SCOPED_TRACE(s.trace());
  Data<T> d({2, 3, 4}, s.rng);
  array t = transpose(d.a, {2, 0, -2});
  EXPECT_TRUE(shares(t, d.a));
  EXPECT_TRUE(matches<T>(t, {4, 2, 3}, [&](const std::vector<int>& i) {
    return d.at({i[1], i[2], i[0]});
  }));
  EXPECT_FALSE(row_contiguous(t));
  array r = transpose(d.a);
  EXPECT_TRUE(shares(r, d.a));
  EXPECT_TRUE(matches<T>(r, {4, 3, 2}, [&](const std::vector<int>& i) {
    return d.at({i[2], i[1], i[0]});
  }));
  array sw = swapaxes(d.a, 0, -1);
  EXPECT_TRUE(shares(sw, d.a));
  EXPECT_TRUE(matches<T>(sw, {4, 3, 2}, [&](const std::vector<int>& i) {
    return d.at({i[2], i[1], i[0]});
  }));
  array mv = moveaxis(d.a, 0, -1);
  EXPECT_TRUE(shares(mv, d.a));
  EXPECT_TRUE(matches<T>(mv, {3, 4, 2}, [&](const std::vector<int>& i) {
    return d.at({i[2], i[0], i[1]});
  }));
  array mv2 = moveaxis(d.a, -1, 0);
  EXPECT_TRUE(matches<T>(mv2, {4, 2, 3}, [&](const std::vector<int>& i) {
    return d.at({i[1], i[2], i[0]});
  }));
  // A transpose of a transpose reads the original order.
  array tt = transpose(transpose(d.a, {1, 2, 0}), {2, 0, 1});
  EXPECT_TRUE(shares(tt, d.a));
  EXPECT_TRUE(matches<T>(tt, {2, 3, 4},
                         [&](const std::vector<int>& i) { return d.at(i); }));
}

TYPED_TEST(ShapeTyped, ExpandSqueezeBroadcastAreViews) {
  using T = TypeParam;
  Seeded s;
  SCOPED_TRACE(s.trace());
  Data<T> d({3, 1, 4}, s.rng);
  array e = expand_dims(d.a, {0, -1});
  EXPECT_TRUE(shares(e, d.a));
  EXPECT_TRUE(matches<T>(e, {1, 3, 1, 4, 1}, [&](const std::vector<int>& i) {
    return d.at({i[1], 0, i[3]});
  }));
  array e1 = expand_dims(d.a, 2);
  EXPECT_TRUE(matches<T>(e1, {3, 1, 1, 4}, [&](const std::vector<int>& i) {
    return d.at({i[0], 0, i[3]});
  }));
  array q = squeeze(d.a);
  EXPECT_TRUE(shares(q, d.a));
  EXPECT_TRUE(matches<T>(q, {3, 4}, [&](const std::vector<int>& i) {
    return d.at({i[0], 0, i[1]});
  }));
  array q1 = squeeze(d.a, -2);
  EXPECT_TRUE(matches<T>(q1, {3, 4}, [&](const std::vector<int>& i) {
    return d.at({i[0], 0, i[1]});
  }));
  array b = broadcast_to(d.a, {2, 3, 5, 4});
  EXPECT_TRUE(shares(b, d.a));
  EXPECT_EQ(b.strides()[0], 0);
  EXPECT_EQ(b.strides()[2], 0);
  EXPECT_TRUE(matches<T>(b, {2, 3, 5, 4}, [&](const std::vector<int>& i) {
    return d.at({i[1], 0, i[3]});
  }));
  auto both = broadcast_arrays({d.a, array(T{})});
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(both[1].shape(), (Shape{3, 1, 4}));
  EXPECT_TRUE(shares(both[0], d.a));
}

TYPED_TEST(ShapeTyped, SlicesAreViewsWithNumpyBounds) {
  using T = TypeParam;
  Seeded s;
  SCOPED_TRACE(s.trace());
  Data<T> d({7, 6}, s.rng);
  // a[1:-1:2, ::-1]
  array v = slice(d.a, {1, -1}, {-1, INT_MIN}, {2, -1});
  EXPECT_TRUE(shares(v, d.a));
  EXPECT_EQ(v.strides()[1], -1);
  EXPECT_TRUE(matches<T>(v, {3, 6}, [&](const std::vector<int>& i) {
    return d.at({1 + 2 * i[0], 5 - i[1]});
  }));
  // The view's element 0 lies inside the source's buffer.
  EXPECT_EQ(static_cast<const char*>(v.raw_data()),
            static_cast<const char*>(d.a.raw_data()) + (6 + 5) * sizeof(T));
  // Out-of-range bounds clamp: a[-100:100, 4:2:-1]
  array c = slice(d.a, {-100, 4}, {100, 2}, {1, -1});
  EXPECT_TRUE(matches<T>(c, {7, 2}, [&](const std::vector<int>& i) {
    return d.at({i[0], 4 - i[1]});
  }));
  // a[5:2, 10::-3]: empty, and a large start with a negative step.
  array z = slice(d.a, {5, 10}, {2, INT_MIN}, {1, -3});
  EXPECT_EQ(z.shape(), (Shape{0, 2}));
  EXPECT_TRUE(
      matches<T>(z, {0, 2}, [&](const std::vector<int>&) { return T{}; }));
  // A view of a view: offsets and strides compose.
  array vv = slice(v, {1, 1}, {3, 6}, {1, 2});
  EXPECT_TRUE(shares(vv, d.a));
  EXPECT_TRUE(matches<T>(vv, {2, 3}, [&](const std::vector<int>& i) {
    return d.at({1 + 2 * (1 + i[0]), 5 - (1 + 2 * i[1])});
  }));
  // Steps larger than the axis.
  array big = slice(d.a, {0, 1}, {7, 6}, {INT_MAX, INT_MAX});
  EXPECT_TRUE(matches<T>(big, {1, 1}, [&](const std::vector<int>&) {
    return d.at({0, 1});
  }));
  array bign = slice(d.a, {-1, -1}, {INT_MIN, INT_MIN}, {INT_MIN, -INT_MAX});
  EXPECT_TRUE(matches<T>(bign, {1, 1}, [&](const std::vector<int>&) {
    return d.at({6, 5});
  }));
  // One element read as a scalar.
  array one = slice(d.a, {3, 2}, {4, 3});
  EXPECT_TRUE(same_bits(one.item<T>(), d.at({3, 2})));
}

TYPED_TEST(ShapeTyped, ReshapeIsAViewWhenStridesAllowElseACopy) {
  using T = TypeParam;
  Seeded s;
  SCOPED_TRACE(s.trace());
  Data<T> d({4, 6}, s.rng);
  auto flat = [&](size_t k) { return d.h[k]; };
  array r = reshape(d.a, {2, -1, 3});
  EXPECT_EQ(r.shape(), (Shape{2, 4, 3}));
  EXPECT_TRUE(shares(r, d.a));
  EXPECT_TRUE(matches<T>(r, {2, 4, 3}, [&](const std::vector<int>& i) {
    return flat(i[0] * 12 + i[1] * 3 + i[2]);
  }));
  // Rows sliced with a step: splitting an axis keeps the view.
  array rows = slice(d.a, {0, 0}, {4, 6}, {2, 1});  // 2 x 6, row stride 12
  array split_cols = reshape(rows, {2, 2, 3});
  EXPECT_TRUE(shares(split_cols, d.a));
  EXPECT_TRUE(matches<T>(split_cols, {2, 2, 3}, [&](const std::vector<int>& i) {
    return d.at({2 * i[0], i[1] * 3 + i[2]});
  }));
  // Merging strided rows is not a view: a copy in row-major order.
  array merged = reshape(rows, {12});
  merged.eval();
  EXPECT_NE(merged.node().data.get(), d.a.node().data.get());
  EXPECT_TRUE(row_contiguous(merged));
  EXPECT_TRUE(matches<T>(merged, {12}, [&](const std::vector<int>& i) {
    return d.at({2 * (i[0] / 6), i[0] % 6});
  }));
  array tr = reshape(transpose(d.a), {-1});
  EXPECT_TRUE(matches<T>(tr, {24}, [&](const std::vector<int>& i) {
    return d.at({i[0] % 4, i[0] / 4});
  }));
  // flatten ranges; size-1 axes anywhere.
  array f = flatten(reshape(d.a, {2, 2, 6}), 1, -1);
  EXPECT_TRUE(shares(f, d.a));
  EXPECT_EQ(f.shape(), (Shape{2, 12}));
  array ones_axes = reshape(transpose(d.a), {1, 6, 1, 4, 1});
  EXPECT_TRUE(shares(ones_axes, d.a));
  EXPECT_TRUE(
      matches<T>(ones_axes, {1, 6, 1, 4, 1}, [&](const std::vector<int>& i) {
        return d.at({i[3], i[1]});
      }));
  // A broadcast row reshaped keeps stride 0 where it can.
  Data<T> row({1, 6}, s.rng);
  array b = broadcast_to(row.a, {4, 6});
  array b3 = reshape(b, {2, 2, 2, 3});
  EXPECT_TRUE(shares(b3, row.a));
  EXPECT_TRUE(matches<T>(b3, {2, 2, 2, 3}, [&](const std::vector<int>& i) {
    return row.at({0, i[2] * 3 + i[3]});
  }));
  array bf = flatten(b);
  EXPECT_TRUE(matches<T>(bf, {24}, [&](const std::vector<int>& i) {
    return row.at({0, i[0] % 6});
  }));
}

TYPED_TEST(ShapeTyped, SplitGivesViews) {
  using T = TypeParam;
  Seeded s;
  SCOPED_TRACE(s.trace());
  Data<T> d({5, 6}, s.rng);
  auto parts = split(d.a, 3, -1);
  ASSERT_EQ(parts.size(), 3u);
  for (int p = 0; p < 3; ++p) {
    EXPECT_TRUE(shares(parts[p], d.a));
    EXPECT_TRUE(matches<T>(parts[p], {5, 2}, [&](const std::vector<int>& i) {
      return d.at({i[0], 2 * p + i[1]});
    }));
  }
  // numpy's array_split points: negative, past the end, decreasing.
  auto at = split(d.a, Shape{1, -2, 4, 9, 2});
  ASSERT_EQ(at.size(), 6u);
  const Shape rows = {1, 2, 1, 1, 0, 3};
  const int first[] = {0, 1, 3, 4, 5, 2};
  for (int p = 0; p < 6; ++p) {
    EXPECT_TRUE(matches<T>(at[p], {rows[p], 6},
                           [&](const std::vector<int>& i) {
                             return d.at({first[p] + i[0], i[1]});
                           }))
        << "part " << p;
  }
  EXPECT_EQ(split(d.a, Shape{}, 1).size(), 1u);
}

// ---- Copies, every dtype ----

TYPED_TEST(ShapeTyped, CopyAndContiguousAreRowMajor) {
  using T = TypeParam;
  Seeded s;
  SCOPED_TRACE(s.trace());
  Data<T> d({5, 7}, s.rng);
  array v = slice(transpose(d.a), {6, 0}, {INT_MIN, 5}, {-2, 2});
  array c = copy(v);
  array k = contiguous(v);
  c.eval();
  EXPECT_TRUE(row_contiguous(c));
  EXPECT_NE(c.node().data.get(), d.a.node().data.get());
  for (const array& x : {c, k}) {
    EXPECT_TRUE(matches<T>(x, {4, 3}, [&](const std::vector<int>& i) {
      return d.at({2 * i[1], 6 - 2 * i[0]});
    }));
  }
  EXPECT_TRUE(contiguous(d.a).is(d.a));
  // copy_to_row_major reads views in row-major order too.
  v.eval();
  Host<T> out(v.size());
  detail::copy_to_row_major(v, out.p.get());
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 3; ++j) {
      EXPECT_TRUE(same_bits(out[i * 3 + j], d.at({2 * j, 6 - 2 * i})));
    }
  }
}

TYPED_TEST(ShapeTyped, ConcatenateAndStack) {
  using T = TypeParam;
  Seeded s;
  SCOPED_TRACE(s.trace());
  Data<T> x({3, 2, 4}, s.rng), y({3, 5, 4}, s.rng), z({4, 3, 2}, s.rng);
  // The third operand is a transposed view, read through its strides.
  array zz = transpose(z.a, {1, 2, 0});  // (3, 2, 4): zz[i,j,k] = z[k,i,j]
  array c = concatenate({x.a, y.a, zz}, -2);
  EXPECT_TRUE(row_contiguous(c));
  EXPECT_TRUE(matches<T>(c, {3, 9, 4}, [&](const std::vector<int>& i) {
    if (i[1] < 2) return x.at(i);
    if (i[1] < 7) return y.at({i[0], i[1] - 2, i[2]});
    return z.at({i[2], i[0], i[1] - 7});
  }));
  array c0 = concatenate({x.a, x.a}, 0);
  EXPECT_TRUE(matches<T>(c0, {6, 2, 4}, [&](const std::vector<int>& i) {
    return x.at({i[0] % 3, i[1], i[2]});
  }));
  array flat = concatenate({x.a, zz});
  EXPECT_TRUE(matches<T>(flat, {48}, [&](const std::vector<int>& i) {
    int k = i[0] % 24;
    if (i[0] < 24) return x.h[k];
    return z.at({k % 4, k / 8, (k / 4) % 2});
  }));
  array st = stack({x.a, zz}, -1);
  EXPECT_TRUE(matches<T>(st, {3, 2, 4, 2}, [&](const std::vector<int>& i) {
    return i[3] == 0 ? x.at({i[0], i[1], i[2]}) : z.at({i[2], i[0], i[1]});
  }));
  array st0 = stack({x.a, zz, x.a});
  EXPECT_TRUE(matches<T>(st0, {3, 3, 2, 4}, [&](const std::vector<int>& i) {
    return i[0] == 1 ? z.at({i[3], i[1], i[2]}) : x.at({i[1], i[2], i[3]});
  }));
  // 0-size parts and 0-d inputs to stack.
  Data<T> e({3, 0, 4}, s.rng);
  array ce = concatenate({e.a, x.a, e.a}, 1);
  EXPECT_TRUE(matches<T>(ce, {3, 2, 4},
                         [&](const std::vector<int>& i) { return x.at(i); }));
  Data<T> p({}, s.rng), q({}, s.rng);
  array sc = stack({p.a, q.a});
  EXPECT_TRUE(matches<T>(sc, {2}, [&](const std::vector<int>& i) {
    return i[0] == 0 ? p.h[0] : q.h[0];
  }));
}

TYPED_TEST(ShapeTyped, PadTileRepeat) {
  using T = TypeParam;
  Seeded s;
  SCOPED_TRACE(s.trace());
  Data<T> d({3, 4}, s.rng);
  auto fill = random_values<T>(1, s.rng, -100.0, 100.0);
  array p = pad(d.a, {0, -1}, {1, 2}, {2, 0}, array(fill[0]));
  EXPECT_TRUE(row_contiguous(p));
  EXPECT_TRUE(matches<T>(p, {6, 6}, [&](const std::vector<int>& i) {
    int r = i[0] - 1, c = i[1] - 2;
    if (r < 0 || r >= 3 || c < 0) return fill[0];
    return d.at({r, c});
  }));
  // Padding a transposed view, default zero, one width everywhere.
  array pt = pad(transpose(d.a), 1);
  EXPECT_TRUE(matches<T>(pt, {6, 5}, [&](const std::vector<int>& i) {
    int r = i[0] - 1, c = i[1] - 1;
    if (r < 0 || r >= 4 || c < 0 || c >= 3) return T(0);
    return d.at({c, r});
  }));
  array pp = pad(d.a, {{0, 1}, {3, 0}});
  EXPECT_EQ(pp.shape(), (Shape{4, 7}));
  array tl = tile(d.a, {2, 1, 3});
  EXPECT_TRUE(matches<T>(tl, {2, 3, 12}, [&](const std::vector<int>& i) {
    return d.at({i[1], i[2] % 4});
  }));
  array tl1 = tile(transpose(d.a), {2});
  EXPECT_TRUE(matches<T>(tl1, {4, 6}, [&](const std::vector<int>& i) {
    return d.at({i[1] % 3, i[0]});
  }));
  array tl0 = tile(d.a, {0, 2});
  EXPECT_EQ(tl0.shape(), (Shape{0, 8}));
  tl0.eval();
  array rp = repeat(d.a, 3, 1);
  EXPECT_TRUE(matches<T>(rp, {3, 12}, [&](const std::vector<int>& i) {
    return d.at({i[0], i[1] / 3});
  }));
  array rp0 = repeat(transpose(d.a), 2, 0);
  EXPECT_TRUE(matches<T>(rp0, {8, 3}, [&](const std::vector<int>& i) {
    return d.at({i[1], i[0] / 2});
  }));
  array rf = repeat(d.a, 2);
  EXPECT_TRUE(matches<T>(
      rf, {24}, [&](const std::vector<int>& i) { return d.h[i[0] / 2]; }));
  EXPECT_EQ(repeat(d.a, 0, 0).shape(), (Shape{0, 4}));
  // 0-d inputs.
  Data<T> sc({}, s.rng);
  EXPECT_TRUE(matches<T>(tile(sc.a, {2, 2}), {2, 2},
                         [&](const std::vector<int>&) { return sc.h[0]; }));
  EXPECT_TRUE(matches<T>(repeat(sc.a, 3), {3},
                         [&](const std::vector<int>&) { return sc.h[0]; }));
  EXPECT_TRUE(matches<T>(pad(sc.a, std::vector<std::pair<int, int>>{{0, 0}}),
                         {}, [&](const std::vector<int>&) { return sc.h[0]; }));
}

// Large enough for the blocked transpose path and for helper workers.
TYPED_TEST(ShapeTyped, LargeTransposedCopies) {
  using T = TypeParam;
  Seeded s;
  SCOPED_TRACE(s.trace());
  Data<T> d({97, 131}, s.rng);
  array t = copy(transpose(d.a));
  EXPECT_TRUE(matches<T>(t, {131, 97}, [&](const std::vector<int>& i) {
    return d.at({i[1], i[0]});
  }));
  Data<T> b({3, 130, 257}, s.rng);
  array u = copy(transpose(b.a, {0, 2, 1}));
  EXPECT_TRUE(matches<T>(u, {3, 257, 130}, [&](const std::vector<int>& i) {
    return b.at({i[0], i[2], i[1]});
  }));
  array v = copy(slice(transpose(b.a, {2, 0, 1}), {256, 0, 1},
                       {INT_MIN, 3, 130}, {-1, 1, 2}));
  EXPECT_TRUE(matches<T>(v, {257, 3, 65}, [&](const std::vector<int>& i) {
    return b.at({i[1], 1 + 2 * i[2], 256 - i[0]});
  }));
}

// ---- Semantics beyond the dtypes ----

TEST_F(ShapeViews, ZeroSizeAndZeroDim) {
  array e = zeros({0, 3});
  EXPECT_EQ(transpose(e).shape(), (Shape{3, 0}));
  EXPECT_EQ(reshape(e, {3, 0, 5}).shape(), (Shape{3, 0, 5}));
  EXPECT_EQ(reshape(e, {-1, 3}).shape(), (Shape{0, 3}));
  EXPECT_EQ(slice(e, {0, 1}, {0, 3}).shape(), (Shape{0, 2}));
  EXPECT_EQ(broadcast_to(e, {2, 0, 3}).shape(), (Shape{2, 0, 3}));
  array empty_slice = slice(arange(10), {7}, {3});
  EXPECT_EQ(empty_slice.shape(), (Shape{0}));
  eval({transpose(e), empty_slice, copy(empty_slice)});
  array s = array(3.5f);
  EXPECT_EQ(reshape(s, {1, 1}).shape(), (Shape{1, 1}));
  EXPECT_EQ(expand_dims(s, 0).shape(), (Shape{1}));
  EXPECT_EQ(transpose(s).shape(), Shape{});
  EXPECT_EQ(flatten(s).shape(), (Shape{1}));
  EXPECT_EQ(broadcast_to(s, {2, 3}).shape(), (Shape{2, 3}));
  EXPECT_EQ(reshape(broadcast_to(s, {2, 3}), {1, 1, 6}).strides(),
            (Strides{0, 0, 0}));
  EXPECT_EQ(slice(broadcast_to(s, {2, 3}), {1, 2}, {2, 3}).item<float>(), 3.5f);
}

TEST_F(ShapeViews, IdentitiesReturnTheInput) {
  array a = arange(12);
  array b = reshape(a, {3, 4});
  EXPECT_TRUE(reshape(b, {3, 4}).is(b));
  EXPECT_TRUE(transpose(b, {0, 1}).is(b));
  EXPECT_TRUE(slice(b, {0, 0}, {3, 4}).is(b));
  EXPECT_TRUE(squeeze(b).is(b));
  EXPECT_TRUE(broadcast_to(b, {3, 4}).is(b));
  EXPECT_TRUE(expand_dims(b, std::vector<int>{}).is(b));
}

TEST_F(ShapeViews, ViewRunsNoKernelAndReadsLargeData) {
  const int n = 1 << 18;
  array a = arange(n);
  array v = slice(reshape(a, {512, 512}), {1, 3}, {511, 509}, {2, 3});
  uint64_t before = hooks::execution_count("copy");
  array sum_src = copy(v);
  eval({v, sum_src});
  EXPECT_EQ(hooks::execution_count("copy"), before + 1);
  EXPECT_TRUE(shares(v, a));
  const int32_t* c = sum_src.data<int32_t>();
  for (int i = 0; i < v.shape(0); ++i) {
    for (int j = 0; j < v.shape(1); ++j) {
      ASSERT_EQ(c[i * v.shape(1) + j], (1 + 2 * i) * 512 + 3 + 3 * j);
    }
  }
}

TEST_F(ShapeCopies, LargeCopiesSplitOverWorkersAreExact) {
  Seeded s;
  SCOPED_TRACE(s.trace());
  Data<float> d({300, 700}, s.rng);
  // Transposed copy (strided gather), concatenation, padding, tiling and
  // repetition larger than one chunk.
  array t = copy(transpose(d.a));
  array c = concatenate({d.a, transpose(reshape(d.a, {700, 300}))}, 0);
  array p = pad(d.a, {{5, 7}, {1, 2}}, array(-1.0f));
  array tl = tile(d.a, {2, 2});
  array rp = repeat(d.a, 3, 0);
  eval({t, c, p, tl, rp});
  EXPECT_TRUE(matches<float>(t, {700, 300}, [&](const std::vector<int>& i) {
    return d.at({i[1], i[0]});
  }));
  EXPECT_TRUE(matches<float>(c, {600, 700}, [&](const std::vector<int>& i) {
    if (i[0] < 300) return d.at(i);
    int r = i[0] - 300, col = i[1];  // reshape(d, 700x300)[col, r]
    size_t k = static_cast<size_t>(col) * 300 + r;
    return d.h[k];
  }));
  EXPECT_TRUE(matches<float>(p, {312, 703}, [&](const std::vector<int>& i) {
    int r = i[0] - 5, col = i[1] - 1;
    if (r < 0 || r >= 300 || col < 0 || col >= 700) return -1.0f;
    return d.at({r, col});
  }));
  EXPECT_TRUE(matches<float>(tl, {600, 1400}, [&](const std::vector<int>& i) {
    return d.at({i[0] % 300, i[1] % 700});
  }));
  EXPECT_TRUE(matches<float>(rp, {900, 700}, [&](const std::vector<int>& i) {
    return d.at({i[0] / 3, i[1]});
  }));
}

TEST_F(ShapeCopies, ConcatenatePromotes) {
  array a = arange(3);             // int32
  array b = array({1.5f, 2.5f});   // float32
  array c = array({true, false});  // bool
  array r = concatenate({a, b, c}, 0);
  EXPECT_EQ(r.dtype(), float32);
  EXPECT_TRUE(matches<float>(r, {7}, [](const std::vector<int>& i) {
    const float want[] = {0, 1, 2, 1.5f, 2.5f, 1, 0};
    return want[i[0]];
  }));
  EXPECT_EQ(stack({array(1, uint8), array(-1, int8)}).dtype(), int16);
  // The pad value is cast to the array's dtype.
  array p = pad(arange(2), 1, array(7.9));
  EXPECT_EQ(p.dtype(), int32);
  EXPECT_TRUE(matches<int32_t>(p, {4}, [](const std::vector<int>& i) {
    const int32_t want[] = {7, 0, 1, 7};
    return want[i[0]];
  }));
}

// ---- Errors ----

TEST_F(ShapeErrors, BadArgumentsRaiseNamingTheOp) {
  array a = zeros({2, 3, 4});
  expect_invalid([&] { transpose(a, {0, 1}); }, "[transpose]");
  expect_invalid([&] { transpose(a, {0, 1, 1}); }, "[transpose]");
  expect_invalid([&] { transpose(a, {0, 1, 3}); }, "[transpose]");
  expect_invalid([&] { swapaxes(a, 0, 3); }, "[swapaxes]");
  expect_invalid([&] { moveaxis(a, -4, 0); }, "[moveaxis]");
  expect_invalid([&] { expand_dims(a, 4); }, "[expand_dims]");
  expect_invalid([&] { expand_dims(a, {1, 1}); }, "[expand_dims]");
  expect_invalid([&] { squeeze(a, 1); }, "[squeeze]");
  expect_invalid([&] { squeeze(a, 3); }, "[squeeze]");
  expect_invalid([&] { broadcast_to(a, {3, 3, 4}); }, "[broadcast_to]");
  expect_invalid([&] { broadcast_to(a, {3, 4}); }, "[broadcast_to]");
  expect_invalid([&] { broadcast_to(a, {-2, 3, 4}); }, "[broadcast_to]");
  expect_invalid(
      [&] {
        broadcast_arrays({a, zeros({5})});
      },
      "[broadcast_arrays]");
  expect_invalid([&] { reshape(a, {5, 5}); }, "[reshape]");
  expect_invalid([&] { reshape(a, {-1, -1}); }, "[reshape]");
  expect_invalid([&] { reshape(a, {-2, 12}); }, "[reshape]");
  expect_invalid([&] { reshape(a, {-1, 5}); }, "[reshape]");
  expect_invalid([&] { reshape(zeros({0}), {-1, 0}); }, "[reshape]");
  expect_invalid([&] { flatten(a, 2, 1); }, "[flatten]");
  expect_invalid([&] { flatten(a, 0, 3); }, "[flatten]");
  expect_invalid([&] { slice(a, {0, 0}, {1, 1, 1}); }, "[slice]");
  expect_invalid([&] { slice(a, {0, 0, 0}, {1, 1, 1}, {1, 0, 1}); }, "[slice]");
  expect_invalid([&] { slice(a, {0, 0, 0}, {1, 1, 1}, {1, 1}); }, "[slice]");
  expect_invalid([&] { split(a, 0, 0); }, "[split]");
  expect_invalid([&] { split(a, 2, 1); }, "[split]");
  expect_invalid([&] { split(a, 2, 3); }, "[split]");
  expect_invalid([&] { concatenate({}, 0); }, "[concatenate]");
  expect_invalid(
      [&] {
        concatenate({array(1), array(2)}, 0);
      },
      "[concatenate]");
  expect_invalid([&] { concatenate({a, zeros({2, 3})}, 0); }, "[concatenate]");
  expect_invalid(
      [&] {
        concatenate({a, zeros({2, 4, 4})}, 2);
      },
      "[concatenate]");
  expect_invalid([&] { concatenate({a, a}, 3); }, "[concatenate]");
  expect_invalid([&] { stack({}); }, "[stack]");
  expect_invalid([&] { stack({a, zeros({2, 3})}); }, "[stack]");
  expect_invalid([&] { stack({a, a}, 4); }, "[stack]");
  expect_invalid([&] { pad(a, 1, array(0), "edge"); }, "[pad]");
  expect_invalid([&] { pad(a, -1); }, "[pad]");
  expect_invalid([&] { pad(a, {{1, 1}, {1, 1}}); }, "[pad]");
  expect_invalid([&] { pad(a, 1, zeros({2})); }, "[pad]");
  expect_invalid(
      [&] {
        pad(a, std::vector<int>{0, 0}, Shape{1, 1}, Shape{1, 1});
      },
      "[pad]");
  expect_invalid([&] { pad(a, std::vector<int>{0}, {1, 1}, {1}); }, "[pad]");
  expect_invalid([&] { pad(a, std::vector<int>{3}, {1}, {1}); }, "[pad]");
  expect_invalid([&] { tile(a, {-1}); }, "[tile]");
  expect_invalid([&] { tile(zeros({1 << 16}), {1 << 16}); }, "[tile]");
  expect_invalid([&] { repeat(a, -1, 0); }, "[repeat]");
  expect_invalid([&] { repeat(a, 2, 3); }, "[repeat]");
  expect_invalid([&] { repeat(array(1), 2, 0); }, "[repeat]");
}

// ---- Streams and memory: views keep their source and its producer ----

// A view with an offset, made on one stream, read on another while the
// producer is gated, with every handle but the consumer's dropped: the
// consumer waits for the producer and reads the shared buffer, which stays
// alive until the consumer has run; then everything is freed.
TEST_F(ShapeStreams, ViewWithOffsetConsumedOnAnotherStream) {
  test::with_watchdog([] {
    Stream sa = new_stream(kCpu), sb = new_stream(kCpu), sc = new_stream(kCpu);
    array out = zeros({1});
    array placeholder = out;
    synchronize(kCpu);
    clear_cache(kCpu);
    const size_t base = get_active_memory(kCpu);
    const int n = 1 << 16;
    {
      hooks::Gate gate = hooks::block(sa);
      array a = add(arange(0, n, 1, sa), array(1), sa);  // 1..n
      array v =
          slice(reshape(a, {256, 256}, sb), {10, 5}, {200, 250}, {3, 2}, sb);
      array w = transpose(v, sb);
      out = add(w, array(0), sc);
      async_eval({out});
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      EXPECT_EQ(out.status(), ArrayStatus::scheduled);
      gate.open();
    }
    out.eval();
    ASSERT_EQ(out.shape(), (Shape{123, 64}));
    const int32_t* o = out.data<int32_t>();
    for (int i = 0; i < 123; ++i) {
      for (int j = 0; j < 64; ++j) {
        ASSERT_EQ(o[i * 64 + j], (10 + 3 * j) * 256 + 5 + 2 * i + 1);
      }
    }
    out = placeholder;
    synchronize(sc);
    // The shared buffer went back, found from the view's node.
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (get_active_memory(kCpu) > base + 64 &&
           std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_LE(get_active_memory(kCpu), base + 64);
  });
}

// The only holder of a buffer is a view read by a gated consumer while the
// producer's stream allocates and frees more of the same size: the
// buffer must not be reused under the reader.
TEST_F(ShapeStreams, BufferHeldByAViewIsNotReusedUnderAGatedReader) {
  test::with_watchdog([] {
    Stream sa = new_stream(kCpu), sc = new_stream(kCpu);
    const int n = 1 << 14;
    array out = zeros({1});
    {
      hooks::Gate gate = hooks::block(sc);
      array a = add(arange(0, n, 1, sa), array(7), sa);
      array v = slice(a, {n - 1}, {INT_MIN}, {-1}, sa);  // reversed
      out = multiply(v, array(2), sc);
      async_eval({out});
      a = array(0);
      v = array(0);
      synchronize(sa);
      // Churn: same-size buffers on the producer's stream.
      for (int i = 0; i < 8; ++i) {
        array junk = add(arange(0, n, 1, sa), array(-1000000), sa);
        junk.eval();
      }
      EXPECT_EQ(out.status(), ArrayStatus::scheduled);
      gate.open();
    }
    out.eval();
    const int32_t* o = out.data<int32_t>();
    for (int i = 0; i < n; ++i) ASSERT_EQ(o[i], 2 * (n - 1 - i + 7)) << i;
  });
}

// A view made on a stream other than its source's reads the source after
// it is done, without blocking the host.
TEST_F(ShapeStreams, ViewOnAnotherStreamWaitsForItsSource) {
  test::with_watchdog([] {
    Stream sa = new_stream(kCpu), sb = new_stream(kCpu);
    hooks::Gate gate = hooks::block(sa);
    array a = add(arange(0, 64, 1, sa), array(1), sa);
    array v = reshape(transpose(reshape(a, {8, 8}, sb), sb), {-1}, sb);
    async_eval({v});
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(v.status(), ArrayStatus::scheduled);
    gate.open();
    v.eval();
    for (int k = 0; k < 64; ++k) {
      ASSERT_EQ(v.data<int32_t>()[k], (k % 8) * 8 + k / 8 + 1);
    }
  });
}

// Views also run on GPU streams: no kernel, the buffer is shared.
TEST(ShapeGpu, ViewsShareTheBufferOnTheGpu) {
  if (device_count(gpu) == 0) GTEST_SKIP() << "no GPU";
  Stream g = default_stream(Device(gpu));
  array a = add(arange(0, 24, 1, g), array(1), g);
  array v =
      slice(transpose(reshape(a, {4, 6}, g), g), {1, 0}, {6, 4}, {2, 1}, g);
  eval({v, a});
  EXPECT_EQ(v.node().data.get(), a.node().data.get());
  ASSERT_EQ(v.shape(), (Shape{3, 4}));
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 4; ++j) {
      int64_t off = i * v.strides()[0] + j * v.strides()[1];
      EXPECT_EQ(v.data<int32_t>()[off], j * 6 + 1 + 2 * i + 1);
    }
  }
}

}  // namespace
