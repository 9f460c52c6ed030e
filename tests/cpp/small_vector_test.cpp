// The small vector behind op inputs: random sequences of operations, checked
// step by step against std::vector, with elements that count their own
// constructions and destructions (no leak, no double destruction), inline
// and spilled to the small-block lists, moved and copied.
#include "runnel/core/small_vector.h"

#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "runnel/array.h"
#include "tests/cpp/test_util.h"

using runnel::detail::SmallVector;
using runnel::test::scaled;

namespace {

// A value whose live instances are counted, with a heap part so that a
// missed construction or a double destruction shows under the sanitizers.
struct Counted {
  static inline int live = 0;
  std::unique_ptr<std::string> v;
  explicit Counted(int x)
      : v(std::make_unique<std::string>(std::to_string(x))) {
    ++live;
  }
  Counted(const Counted& o)
      : v(o.v ? std::make_unique<std::string>(*o.v) : nullptr) {
    ++live;
  }
  Counted(Counted&& o) noexcept : v(std::move(o.v)) { ++live; }
  Counted& operator=(const Counted& o) {
    v = o.v ? std::make_unique<std::string>(*o.v) : nullptr;
    return *this;
  }
  Counted& operator=(Counted&& o) noexcept {
    v = std::move(o.v);
    return *this;
  }
  ~Counted() { --live; }
  bool operator==(const Counted& o) const {
    return (v == nullptr) == (o.v == nullptr) && (!v || *v == *o.v);
  }
};

template <class SV>
void expect_same(const SV& sv, const std::vector<Counted>& ref) {
  ASSERT_EQ(sv.size(), ref.size());
  ASSERT_EQ(sv.empty(), ref.empty());
  ASSERT_GE(sv.capacity(), sv.size());
  for (size_t i = 0; i < ref.size(); ++i) ASSERT_TRUE(sv[i] == ref[i]) << i;
  size_t n = 0;
  for (const Counted& c : sv) ASSERT_TRUE(c == ref[n++]);
  if (!ref.empty()) {
    ASSERT_TRUE(sv.front() == ref.front());
    ASSERT_TRUE(sv.back() == ref.back());
  }
}

template <size_t N>
void random_ops(unsigned seed) {
  std::mt19937 rng(seed);
  const int steps = static_cast<int>(scaled(4000));
  {
    SmallVector<Counted, N> sv;
    std::vector<Counted> ref;
    for (int step = 0; step < steps; ++step) {
      const int x = static_cast<int>(rng() % 100000);
      switch (rng() % 12) {
        case 0:
        case 1:
        case 2:
          sv.push_back(Counted(x));
          ref.push_back(Counted(x));
          break;
        case 3:
          if (!ref.empty()) {  // an element of itself: may reallocate
            size_t i = rng() % ref.size();
            sv.push_back(sv[i]);
            ref.push_back(ref[i]);
          }
          break;
        case 4:
          sv.emplace_back(x);
          ref.emplace_back(x);
          break;
        case 5:
          if (!ref.empty()) {
            sv.pop_back();
            ref.pop_back();
          }
          break;
        case 6:
          if (rng() % 8 == 0) {
            sv.clear();
            ref.clear();
          }
          break;
        case 7: {  // copy, then compare both
          // NOLINTNEXTLINE(performance-unnecessary-copy-initialization)
          SmallVector<Counted, N> copy(sv);
          expect_same(copy, ref);
          SmallVector<Counted, N> assigned;
          assigned.push_back(Counted(-1));
          assigned = sv;
          expect_same(assigned, ref);
          break;
        }
        case 8: {  // move out and back
          SmallVector<Counted, N> moved(std::move(sv));
          expect_same(moved, ref);
          EXPECT_TRUE(sv.empty());  // NOLINT: checked after move on purpose
          sv = std::move(moved);
          break;
        }
        case 9: {
          size_t n = rng() % 8;
          std::vector<Counted> more;
          for (size_t i = 0; i < n; ++i)
            more.emplace_back(x + static_cast<int>(i));
          sv.append(more.begin(), more.end());
          ref.insert(ref.end(), more.begin(), more.end());
          break;
        }
        case 10:
          sv.reserve(rng() % 40);
          break;
        case 11: {  // from a std::vector, copied or moved
          std::vector<Counted> src;
          for (size_t i = 0, n = rng() % 7; i < n; ++i) src.emplace_back(x);
          SmallVector<Counted, N> from_copy(src);
          expect_same(from_copy, src);
          SmallVector<Counted, N> from_move(std::move(src));
          EXPECT_TRUE(src.empty());  // NOLINT: checked after move on purpose
          break;
        }
      }
      expect_same(sv, ref);
      ASSERT_EQ(Counted::live, static_cast<int>(sv.size() + ref.size()));
    }
  }
  EXPECT_EQ(Counted::live, 0);
}

TEST(SmallVector, RandomOperationsMatchStdVector) {
  std::random_device rd;
  for (int round = 0; round < 4; ++round) {
    const unsigned seed = rd();
    SCOPED_TRACE("seed " + std::to_string(seed));
    random_ops<1>(seed);
    random_ops<3>(seed + 1);
    random_ops<8>(seed + 2);
  }
}

TEST(SmallVector, InitializerListAndInlineCapacity) {
  SmallVector<int, 3> a{4, 5, 6};
  EXPECT_EQ(a.capacity(), 3u);
  EXPECT_EQ(std::vector<int>(a.begin(), a.end()), (std::vector<int>{4, 5, 6}));
  a.push_back(7);  // spills
  EXPECT_GE(a.capacity(), 4u);
  EXPECT_EQ(std::vector<int>(a.begin(), a.end()),
            (std::vector<int>{4, 5, 6, 7}));
  SmallVector<int, 3> b(std::move(a));  // steals the spilled block
  EXPECT_TRUE(a.empty());               // NOLINT: checked after move
  EXPECT_EQ(a.capacity(), 3u);          // NOLINT: back to inline
  EXPECT_EQ(b.size(), 4u);
}

// Op inputs hold array handles: a braced list, a std::vector and a moved
// Inputs keep the same arrays (no copies of the nodes, counts balanced).
TEST(SmallVector, InputsHoldArrayHandles) {
  runnel::array x(1.0f), y(2.0f), z(3.0f), w(4.0f);
  {
    runnel::Inputs in{x, y};
    EXPECT_TRUE(in[0].is(x));
    EXPECT_TRUE(in[1].is(y));
    EXPECT_EQ(x.node_ptr().use_count(), 2);
    std::vector<runnel::array> v{x, y, z, w};
    runnel::Inputs big(std::move(v));
    ASSERT_EQ(big.size(), 4u);
    EXPECT_TRUE(big[3].is(w));
    runnel::Inputs moved(std::move(big));
    EXPECT_EQ(x.node_ptr().use_count(), 3);
    EXPECT_TRUE(moved[2].is(z));
  }
  EXPECT_EQ(x.node_ptr().use_count(), 1);
  EXPECT_EQ(w.node_ptr().use_count(), 1);
}

}  // namespace
