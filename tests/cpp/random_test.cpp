// runnel::random: the generator against its published known answers, values
// that depend only on the key (every stream, every thread count, every
// split of the work), the global key state, ranges and dtypes, and
// distribution checks.
//
// Statistical checks use fresh keys each run (the seed is printed on
// failure) and bounds with a documented false-failure rate of at most about
// 1e-6 per check: means and frequencies within 5.5 standard errors
// (two-sided 3.8e-8), Kolmogorov-Smirnov distances below
// sqrt(ln(2 / 1e-6) / (2 n)), chi-square statistics below the 1 - 1e-6
// quantile (Wilson-Hilferty).
#include "runnel/backend/common/random.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "runnel/runnel.h"
#include "tests/cpp/test_util.h"

using namespace runnel;
using namespace runnel::test;

namespace {

std::vector<uint32_t> words(array a) {
  a.eval();
  const uint32_t* p = a.data<uint32_t>();
  return std::vector<uint32_t>(p, p + a.size());
}

random_bits::Key host_key(uint64_t seed) {
  return {static_cast<uint32_t>(seed >> 32), static_cast<uint32_t>(seed)};
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

double var_of(const std::vector<double>& v) {
  const double m = mean_of(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return s / static_cast<double>(v.size() - 1);
}

// Kolmogorov-Smirnov distance of the sample from the CDF `cdf`.
template <class F>
double ks_distance(std::vector<double> v, F cdf) {
  std::sort(v.begin(), v.end());
  const double n = static_cast<double>(v.size());
  double d = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    const double f = cdf(v[i]);
    d = std::max({d, f - static_cast<double>(i) / n,
                  static_cast<double>(i + 1) / n - f});
  }
  return d;
}

// The KS bound for a false-failure rate of 1e-6 (asymptotic Kolmogorov
// distribution: P(sqrt(n) D > x) ~ 2 exp(-2 x^2)).
double ks_bound(size_t n) {
  return std::sqrt(std::log(2.0 / 1e-6) / (2.0 * static_cast<double>(n)));
}

// The 1 - 1e-6 quantile of chi-square with k degrees of freedom
// (Wilson-Hilferty; z = 4.753 is the normal's 1 - 1e-6 quantile).
double chi2_bound(int k) {
  const double z = 4.753, h = 2.0 / (9.0 * k);
  return k * std::pow(1.0 - h + z * std::sqrt(h), 3);
}

double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

constexpr double kZ = 5.5;  // standard errors for means and frequencies

}  // namespace

TEST(Random, KeyAndKnownAnswers) {
  StreamContext ctx{Device(cpu)};
  array k = random::key(0x0123456789abcdefULL);
  EXPECT_EQ(k.dtype(), uint32);
  EXPECT_EQ(k.shape(), Shape{2});
  EXPECT_EQ(words(k), (std::vector<uint32_t>{0x01234567u, 0x89abcdefu}));
  // Threefry-2x32-20 known answers (Random123's kat_vectors): key (0, 0)
  // hashes counter (0, 0) to 6b200159 99ba4efe, the first two words.
  EXPECT_EQ(words(random::bits({2}, 4, random::key(0))),
            (std::vector<uint32_t>{0x6b200159u, 0x99ba4efeu}));
  uint32_t x0 = 0, x1 = 0;
  random_bits::threefry2x32({0x13198a2e, 0x03707344}, 0x243f6a88, 0x85a308d3,
                            x0, x1);
  EXPECT_EQ(x0, 0xc4923a9cu);
  EXPECT_EQ(x1, 0x483df7a0u);
  random_bits::threefry2x32({0xffffffff, 0xffffffff}, 0xffffffff, 0xffffffff,
                            x0, x1);
  EXPECT_EQ(x0, 0x1cb996fcu);
  EXPECT_EQ(x1, 0xbb002be7u);
}

TEST(Random, BitsFollowTheWordStreamAndWidths) {
  KeySeed s;
  SCOPED_TRACE(s.trace());
  StreamContext ctx{Device(cpu)};
  const auto hk = host_key(s.seed);
  // Large enough to be split over workers, odd to end mid-counter.
  const int n = 100'003;
  auto w = words(random::bits({n}, 4, s.key()));
  for (int i = 0; i < n; ++i) {
    ASSERT_EQ(w[i], random_bits::word(hk, i)) << i;
  }
  array b8 = random::bits({7, 3}, 1, s.key());
  array b16 = random::bits({5}, 2, s.key());
  EXPECT_EQ(b8.dtype(), uint8);
  EXPECT_EQ(b16.dtype(), uint16);
  eval({b8, b16});
  for (int i = 0; i < 21; ++i) {
    EXPECT_EQ(b8.data<uint8_t>()[i], (w[i / 4] >> (8 * (i % 4))) & 0xff);
  }
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(b16.data<uint16_t>()[i], (w[i / 2] >> (16 * (i % 2))) & 0xffff);
  }
  EXPECT_EQ(random::bits({0, 3}, 4, s.key()).size(), 0u);
  random::bits({0}, 4, s.key()).eval();
}

TEST(Random, SplitGivesTheWordStreamAsKeys) {
  KeySeed s;
  SCOPED_TRACE(s.trace());
  StreamContext ctx{Device(cpu)};
  const auto hk = host_key(s.seed);
  array ks = random::split(s.key(), 5);
  EXPECT_EQ(ks.shape(), (Shape{5, 2}));
  EXPECT_EQ(ks.dtype(), uint32);
  auto w = words(ks);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(w[i], random_bits::word(hk, i));
  auto [k1, k2] = random::split(s.key());
  EXPECT_EQ(words(k1), (std::vector<uint32_t>{w[0], w[1]}));
  EXPECT_EQ(words(k2), (std::vector<uint32_t>{w[2], w[3]}));
  EXPECT_EQ(random::split(s.key(), 0).shape(), (Shape{0, 2}));
  // Keys split from split keys.
  auto ww = words(random::split(k2, 2));
  const random_bits::Key hk2{w[2], w[3]};
  for (int i = 0; i < 4; ++i) EXPECT_EQ(ww[i], random_bits::word(hk2, i));
}

TEST(Random, ValuesDependOnlyOnKeyNotOnStream) {
  KeySeed s;
  SCOPED_TRACE(s.trace());
  StreamContext ctx{Device(cpu)};
  Stream a = new_stream(cpu), b = new_stream(cpu);
  const Shape shape{301, 517};
  auto check = [&](auto make, const char* what) {
    array x = make(a), y = make(b);
    eval({x, y});
    auto vx = as_doubles(x), vy = as_doubles(y);
    for (size_t i = 0; i < vx.size(); ++i) ASSERT_EQ(vx[i], vy[i]) << what << i;
  };
  const array k = s.key();
  check([&](Stream st) { return random::uniform(shape, float32, k, st); },
        "uniform");
  check([&](Stream st) { return random::normal(shape, float64, 0, 1, k, st); },
        "normal");
  check(
      [&](Stream st) {
        return random::randint(array(-5), array(1000), shape, int16, k, st);
      },
      "randint");
  check([&](Stream st) { return random::bernoulli(array(0.3f), shape, k, st); },
        "bernoulli");
  // Another key gives other values.
  auto u1 = as_doubles(random::uniform({64}, float32, k, a));
  auto u2 =
      as_doubles(random::uniform({64}, float32, random::key(s.seed + 1), a));
  EXPECT_NE(u1, u2);
}

TEST(Random, UniformIsTheDocumentedFunctionOfTheWords) {
  KeySeed s;
  SCOPED_TRACE(s.trace());
  StreamContext ctx{Device(cpu)};
  const auto hk = host_key(s.seed);
  const int n = 70'001;
  array u = random::uniform(array(-2.0f), array(3.0f), {n}, float32, s.key());
  u.eval();
  for (int i = 0; i < n; ++i) {
    const double unit = (random_bits::word(hk, i) >> 8) * 0x1p-24;
    float want = static_cast<float>(-2.0 + 5.0 * unit);
    if (!(want < 3.0f)) want = std::nextafter(3.0f, 0.0f);
    ASSERT_EQ(u.data<float>()[i], want) << i;
  }
  array d = random::uniform({n}, float64, s.key());
  d.eval();
  for (int i = 0; i < n; ++i) {
    const uint64_t w64 =
        random_bits::word(hk, 2 * uint64_t(i)) |
        (uint64_t{random_bits::word(hk, 2 * uint64_t(i) + 1)} << 32);
    ASSERT_EQ(d.data<double>()[i], (w64 >> 12) * 0x1p-52) << i;
  }
}

// Thread-count independence, in child processes with their own pool size:
// each prints a checksum of the same draws.
TEST(RandomChild, PrintChecksum) {
  const char* env = std::getenv("RUNNEL_RANDOM_CHILD_SEED");
  if (!env) GTEST_SKIP() << "run by Random.SameValuesForEveryThreadCount";
  StreamContext ctx{Device(cpu)};
  const uint64_t seed = std::strtoull(env, nullptr, 10);
  array k = random::key(seed);
  std::vector<array> outs = {
      random::bits({1 << 20}, 4, k),
      astype(random::uniform({777, 1001}, float32, k), float64),
      random::normal({500'000}, float64, 0, 1, k),
      astype(random::randint(array(0), array(1 << 30), {300'000}, int64, k),
             float64),
  };
  eval(outs);
  uint64_t h = 1469598103934665603ULL;
  for (auto& o : outs) {
    const auto* p = static_cast<const unsigned char*>(o.raw_data());
    for (size_t i = 0; i < o.nbytes(); ++i) h = (h ^ p[i]) * 1099511628211ULL;
  }
  std::printf("checksum=%llu\n", static_cast<unsigned long long>(h));
}

TEST(Random, SameValuesForEveryThreadCount) {
  KeySeed s;
  SCOPED_TRACE(s.trace());
  expect_same_line_for_pool_sizes(
      {1, 2, 5}, "RUNNEL_RANDOM_CHILD_SEED=" + std::to_string(s.seed),
      "RandomChild.PrintChecksum", "checksum=");
}

TEST(Random, GlobalStateSplitsPerCallAndSeedResetsIt) {
  StreamContext ctx{Device(cpu)};
  random::seed(1234);
  auto a1 = as_doubles(random::uniform({100}));
  auto a2 = as_doubles(random::uniform({100}));
  EXPECT_NE(a1, a2);
  random::seed(1234);
  EXPECT_EQ(as_doubles(random::uniform({100})), a1);
  EXPECT_EQ(as_doubles(random::uniform({100})), a2);
  // The key a call takes is the second half of split(state); the first is
  // the new state.
  auto [s1, k1] = random::split(random::key(1234));
  auto k2 = random::split(s1).second;
  EXPECT_EQ(as_doubles(random::uniform({100}, float32, k1)), a1);
  EXPECT_EQ(as_doubles(random::uniform({100}, float32, k2)), a2);
  // An explicit key leaves the state alone.
  random::seed(99);
  random::uniform({10}, float32, random::key(5)).eval();
  auto b1 = as_doubles(random::uniform({10}));
  random::seed(99);
  EXPECT_EQ(as_doubles(random::uniform({10})), b1);
  // A failed call takes no key.
  random::seed(99);
  EXPECT_THROW(random::uniform({10}, int32), std::invalid_argument);
  EXPECT_EQ(as_doubles(random::uniform({10})), b1);
}

TEST(Random, UniformRangesAndDtypes) {
  KeySeed s;
  SCOPED_TRACE(s.trace());
  StreamContext ctx{Device(cpu)};
  for (Dtype t : {float16, bfloat16, float32, float64}) {
    SCOPED_TRACE(std::string(dtype_name(t)));
    array u = random::uniform(array(-3.0), array(5.0), {20'000}, t, s.key());
    EXPECT_EQ(u.dtype(), t);
    auto v = as_doubles(u);
    for (double x : v) ASSERT_TRUE(x >= -3.0 && x < 5.0) << x;
    EXPECT_NEAR(mean_of(v), 1.0, kZ * 8.0 / std::sqrt(12.0 * v.size()));
  }
  // Per-element bounds broadcast: rows of (low, high).
  array lo = array({0.0f, 10.0f, -1.0f}, {3, 1});
  array hi = array({1.0f, 10.5f, -0.999f}, {3, 1});
  auto v = as_doubles(random::uniform(lo, hi, {3, 1000}, float32, s.key()));
  const float los[3] = {0.0f, 10.0f, -1.0f}, his[3] = {1.0f, 10.5f, -0.999f};
  for (int r = 0; r < 3; ++r) {
    for (int j = 0; j < 1000; ++j) {
      ASSERT_GE(v[r * 1000 + j], los[r]);
      ASSERT_LT(v[r * 1000 + j], his[r]);
    }
  }
  // An interval one ulp wide: every value is low, never high.
  const float l1 = 1.0f, h1 = std::nextafter(1.0f, 2.0f);
  for (double x : as_doubles(
           random::uniform(array(l1), array(h1), {1000}, float32, s.key()))) {
    ASSERT_EQ(x, 1.0);
  }
  // Half types: rounding up to high is kept below it.
  for (double x : as_doubles(random::uniform(array(0.0f), array(2048.0f),
                                             {20'000}, float16, s.key()))) {
    ASSERT_LT(x, 2048.0);
  }
  // The whole float32 range: finite and inside.
  const float big = std::numeric_limits<float>::max();
  for (double x : as_doubles(random::uniform(array(-big), array(big), {1000},
                                             float32, s.key()))) {
    ASSERT_TRUE(std::isfinite(x) && x >= -big && x < big);
  }
  EXPECT_EQ(random::uniform({}, float32, s.key()).shape(), Shape{});
  EXPECT_EQ(random::uniform({4, 0}, float32, s.key()).size(), 0u);
  random::uniform({4, 0}, float32, s.key()).eval();
}

TEST(Random, UniformDistribution) {
  KeySeed s;
  SCOPED_TRACE(s.trace());
  StreamContext ctx{Device(cpu)};
  for (Dtype t : {float32, float64}) {
    const size_t n = 200'000;
    auto v = as_doubles(random::uniform({int(n)}, t, s.key()));
    const double se = std::sqrt(1.0 / 12.0 / n);
    EXPECT_NEAR(mean_of(v), 0.5, kZ * se);
    // The sample variance's standard error: sqrt((mu4 - s^4) / n), mu4 =
    // 1/80 for U(0, 1).
    EXPECT_NEAR(var_of(v), 1.0 / 12.0,
                kZ * std::sqrt((1.0 / 80 - 1.0 / 144) / n));
    EXPECT_LT(ks_distance(v, [](double x) { return x; }), ks_bound(n));
  }
}

TEST(Random, NormalDistributionLocAndScale) {
  KeySeed s;
  SCOPED_TRACE(s.trace());
  StreamContext ctx{Device(cpu)};
  for (Dtype t : {float32, float64}) {
    SCOPED_TRACE(std::string(dtype_name(t)));
    const size_t n = 200'000;
    auto v = as_doubles(random::normal({int(n)}, t, 0.0, 1.0, s.key()));
    EXPECT_NEAR(mean_of(v), 0.0, kZ * std::sqrt(1.0 / n));
    // Var of the sample variance of N(0, 1): 2 / n.
    EXPECT_NEAR(var_of(v), 1.0, kZ * std::sqrt(2.0 / n));
    EXPECT_LT(ks_distance(v, normal_cdf), ks_bound(n));
    for (double x : v) ASSERT_LT(std::fabs(x), 8.5);
  }
  for (Dtype t : {float16, bfloat16}) {
    auto v = as_doubles(random::normal({20'000}, t, 3.0, 0.5, s.key()));
    EXPECT_NEAR(mean_of(v), 3.0, kZ * 0.5 / std::sqrt(20'000.0) + 0.01);
  }
  auto w = as_doubles(random::normal({100'000}, float32, -2.0, 3.0, s.key()));
  EXPECT_NEAR(mean_of(w), -2.0, kZ * 3.0 / std::sqrt(100'000.0));
  EXPECT_NEAR(std::sqrt(var_of(w)), 3.0, kZ * 3.0 / std::sqrt(2 * 100'000.0));
  // Array loc and scale, broadcast over rows.
  auto r = as_doubles(random::normal({2, 50'000}, float32,
                                     array({100.0f, -100.0f}, {2, 1}),
                                     array({1.0f, 0.001f}, {2, 1}), s.key()));
  std::vector<double> r0(r.begin(), r.begin() + 50'000),
      r1(r.begin() + 50'000, r.end());
  EXPECT_NEAR(mean_of(r0), 100.0, kZ / std::sqrt(50'000.0));
  EXPECT_NEAR(mean_of(r1), -100.0, kZ * 0.001 / std::sqrt(50'000.0) + 1e-5);
}

TEST(Random, NormalFloat64IsTheExactQuantileOfItsDraw) {
  // z = Phi^-1(p) for p the midpoint of the draw's 52-bit interval: check
  // Phi(z) against p (mirrored into the lower tail, where erfc is exact).
  KeySeed s;
  SCOPED_TRACE(s.trace());
  StreamContext ctx{Device(cpu)};
  const auto hk = host_key(s.seed);
  const int n = 20'000;
  auto z = as_doubles(random::normal({n}, float64, 0, 1, s.key()));
  for (int i = 0; i < n; ++i) {
    const uint64_t w64 =
        random_bits::word(hk, 2 * uint64_t(i)) |
        (uint64_t{random_bits::word(hk, 2 * uint64_t(i) + 1)} << 32);
    const uint64_t k = w64 >> 12, half = uint64_t{1} << 51;
    const uint64_t m = k >= half ? 2 * half - 1 - k : k;
    const double p = (static_cast<double>(m) + 0.5) * 0x1p-52;
    const double zl = k >= half ? -z[i] : z[i];
    ASSERT_LT(zl, 0.0);
    ASSERT_NEAR(normal_cdf(zl) / p, 1.0, 1e-13) << i;
  }
}

TEST(Random, RandintRangesEveryDtype) {
  KeySeed s;
  SCOPED_TRACE(s.trace());
  StreamContext ctx{Device(cpu)};
  for (Dtype t : {uint8, uint16, uint32, uint64, int8, int16, int32, int64}) {
    SCOPED_TRACE(std::string(dtype_name(t)));
    array r = random::randint(array(3), array(17), {10'000}, t, s.key());
    EXPECT_EQ(r.dtype(), t);
    auto v = as_doubles(r);
    for (double x : v) ASSERT_TRUE(x >= 3 && x < 17 && x == std::floor(x));
    EXPECT_EQ(*std::min_element(v.begin(), v.end()), 3);
    EXPECT_EQ(*std::max_element(v.begin(), v.end()), 16);
  }
  // Bounds past the dtype's range are clipped to it: every int8 value.
  auto v = as_doubles(
      random::randint(array(-1000), array(1000), {50'000}, int8, s.key()));
  EXPECT_EQ(*std::min_element(v.begin(), v.end()), -128);
  EXPECT_EQ(*std::max_element(v.begin(), v.end()), 127);
  // Negative ranges; an empty interval gives low.
  for (double x : as_doubles(
           random::randint(array(-7), array(-2), {1000}, int32, s.key()))) {
    ASSERT_TRUE(x >= -7 && x < -2);
  }
  for (double x :
       as_doubles(random::randint(array(5), array(5), {10}, int32, s.key()))) {
    ASSERT_EQ(x, 5);
  }
  // Per-element bounds broadcast.
  auto w = as_doubles(random::randint(array({0, 100}, {2, 1}),
                                      array({2, 103}, {2, 1}), {2, 500}, int32,
                                      s.key()));
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(i < 500 ? (w[i] >= 0 && w[i] < 2)
                        : (w[i] >= 100 && w[i] < 103));
  }
  // 64-bit extremes.
  array big = random::randint(array(std::numeric_limits<int64_t>::min()),
                              array(std::numeric_limits<int64_t>::max()),
                              {1000}, int64, s.key());
  big.eval();
  int negative = 0;
  for (int i = 0; i < 1000; ++i) negative += big.data<int64_t>()[i] < 0;
  EXPECT_NEAR(negative, 500, kZ * std::sqrt(250.0));
  array ub = random::randint(array(uint64_t{0}),
                             array(std::numeric_limits<uint64_t>::max()),
                             {1000}, uint64, s.key());
  ub.eval();
  int top = 0;
  for (int i = 0; i < 1000; ++i) top += ub.data<uint64_t>()[i] >> 63;
  EXPECT_NEAR(top, 500, kZ * std::sqrt(250.0));
}

TEST(Random, RandintIsUniformChiSquare) {
  KeySeed s;
  SCOPED_TRACE(s.trace());
  StreamContext ctx{Device(cpu)};
  for (auto [lo, hi, t] :
       {std::tuple{0, 10, int32}, std::tuple{-3, 4, int8},
        std::tuple{0, 256, uint8}, std::tuple{1000, 1097, int64}}) {
    const int n = 200'000, k = hi - lo;
    auto v = as_doubles(random::randint(array(lo), array(hi), {n}, t, s.key()));
    std::vector<double> count(k, 0);
    for (double x : v) count[static_cast<int>(x) - lo] += 1;
    const double e = static_cast<double>(n) / k;
    double chi2 = 0;
    for (double c : count) chi2 += (c - e) * (c - e) / e;
    EXPECT_LT(chi2, chi2_bound(k - 1)) << lo << ".." << hi;
  }
}

TEST(Random, BernoulliFrequencies) {
  KeySeed s;
  SCOPED_TRACE(s.trace());
  StreamContext ctx{Device(cpu)};
  const int n = 100'000;
  for (Dtype t : {float16, bfloat16, float32, float64}) {
    for (double p : {0.0, 0.1, 0.5, 0.97, 1.0}) {
      array b = random::bernoulli(astype(array(p), t), {n}, s.key());
      EXPECT_EQ(b.dtype(), bool_);
      b.eval();
      double ones = 0;
      for (int i = 0; i < n; ++i) ones += b.data<bool>()[i];
      const double pt = as_doubles(astype(array(p), t))[0];
      EXPECT_NEAR(ones / n, pt, kZ * std::sqrt(pt * (1 - pt) / n) + 1e-12)
          << dtype_name(t) << " p=" << p;
    }
  }
  // p of the output's shape by default; per-element p.
  array p = array({0.0f, 1.0f, 0.5f}, {3});
  array b = random::bernoulli(p, s.key());
  EXPECT_EQ(b.shape(), Shape{3});
  b.eval();
  EXPECT_FALSE(b.data<bool>()[0]);
  EXPECT_TRUE(b.data<bool>()[1]);
  // Without p (0.5): the key must be passed as an optional, or it is p.
  EXPECT_EQ(random::bernoulli(std::optional<array>(s.key())).shape(), Shape{});
  array c = random::bernoulli(array({0.0f, 1.0f}, {2, 1}), {2, 100}, s.key());
  c.eval();
  for (int i = 0; i < 200; ++i) ASSERT_EQ(c.data<bool>()[i], i >= 100);
}

TEST(Random, Errors) {
  StreamContext ctx{Device(cpu)};
  auto expect_error = [](const char* fn, auto f) {
    expect_invalid(f, std::string("[") + fn + "]");
  };
  const array k = random::key(1);
  expect_error("uniform", [&] {
    random::uniform({2}, float32, array({1, 2}));
  });
  expect_error("uniform", [&] {
    random::uniform({2}, float32, array({1u, 2u, 3u}));
  });
  expect_error("uniform", [&] { random::uniform({2}, int32, k); });
  expect_error("uniform", [&] {
    random::uniform(zeros({3}), ones({3}), {2}, float32, k);
  });
  expect_error("uniform",
               [&] { random::uniform(zeros({3}), ones({3}), {}, float32, k); });
  expect_error("uniform", [&] { random::uniform({-1}, float32, k); });
  expect_error("normal", [&] { random::normal({2}, bool_, 0, 1, k); });
  expect_error("normal",
               [&] { random::normal({2}, float32, zeros({3}), ones({1}), k); });
  expect_error("randint",
               [&] { random::randint(array(0), array(5), {2}, float32, k); });
  expect_error("randint",
               [&] { random::randint(array(0), array(5), {2}, bool_, k); });
  expect_error("bernoulli", [&] { random::bernoulli(array(1), {2}, k); });
  expect_error("bernoulli", [&] {
    random::bernoulli(array({0.5f, 0.5f}), {3}, k);
  });
  expect_error("split", [&] { random::split(array({1, 2}), 2); });
  expect_error("split", [&] { random::split(k, -1); });
  expect_error("bits", [&] { random::bits({2}, 3, k); });
}
