#include "runnel/backend/common/random.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "runnel/backend/common/ops.h"
#include "runnel/backend/cpu/iterate.h"
#include "runnel/primitives/random.h"

namespace runnel {
namespace {

using random_bits::Key;
__extension__ using u128 = unsigned __int128;

Key read_key(const array& k) {
  const uint32_t* p = k.data<uint32_t>();
  return {p[0], p[k.strides()[0]]};
}

// Counters hashed per call, in groups of 8 whose state stays in (vector)
// registers through the 20 rounds.
constexpr int kLanes = 64;
constexpr int kGroup = 8;

template <int R>
inline void round_of(uint32_t* x0, uint32_t* x1) {
  for (int l = 0; l < kGroup; ++l) {
    x0[l] += x1[l];
    x1[l] = ((x1[l] << R) | (x1[l] >> (32 - R))) ^ x0[l];
  }
}

// Four rounds, then the key injection (a, b). Straight-line code: the
// compiler keeps each group in vector registers.
template <int R0, int R1, int R2, int R3>
inline void four_rounds(uint32_t* x0, uint32_t* x1, uint32_t a, uint32_t b) {
  round_of<R0>(x0, x1);
  round_of<R1>(x0, x1);
  round_of<R2>(x0, x1);
  round_of<R3>(x0, x1);
  for (int l = 0; l < kGroup; ++l) {
    x0[l] += a;
    x1[l] += b;
  }
}

// The words [2 * c0, 2 * (c0 + kLanes)) of the key's stream into `out`:
// runnel/backend/common/random.h's threefry2x32, lane by lane.
void hash_block(Key key, uint64_t c0, uint32_t* out) {
  const uint32_t ks[3] = {key.k0, key.k1,
                          key.k0 ^ key.k1 ^ random_bits::kThreefryParity};
  for (int g = 0; g < kLanes; g += kGroup) {
    uint32_t x0[kGroup], x1[kGroup];
    for (int l = 0; l < kGroup; ++l) {
      const uint64_t c = c0 + static_cast<uint64_t>(g + l);
      x0[l] = static_cast<uint32_t>(c) + ks[0];
      x1[l] = static_cast<uint32_t>(c >> 32) + ks[1];
    }
    four_rounds<13, 15, 26, 6>(x0, x1, ks[1], ks[2] + 1);
    four_rounds<17, 29, 16, 24>(x0, x1, ks[2], ks[0] + 2);
    four_rounds<13, 15, 26, 6>(x0, x1, ks[0], ks[1] + 3);
    four_rounds<17, 29, 16, 24>(x0, x1, ks[1], ks[2] + 4);
    four_rounds<13, 15, 26, 6>(x0, x1, ks[2], ks[0] + 5);
    for (int l = 0; l < kGroup; ++l) {
      out[2 * (g + l)] = x0[l];
      out[2 * (g + l) + 1] = x1[l];
    }
  }
}

// Elements of a block: at most 2 * kLanes - 1 (one word each, the first
// word possibly the second of its counter).
constexpr int64_t kBlockMax = 2 * kLanes - 1;

// Calls f(s, t, words) over blocks [s, t) of [0, n) elements, K words an
// element, starting at word `first` of the stream: `words` holds the
// (t - s) * K words of the block. Blocks run on idle workers too; the words
// are the same whatever the split.
template <int K, class F>
void draw(Key key, uint64_t first, int64_t n, F&& f) {
  constexpr int64_t kElems = kBlockMax / K;
  cpu_backend::parallel(n, [&](int64_t b, int64_t e) {
    alignas(64) uint32_t buf[2 * kLanes];
    for (int64_t s = b; s < e; s += kElems) {
      const int64_t t = std::min(e, s + kElems);
      const uint64_t w0 = first + static_cast<uint64_t>(s) * K;
      hash_block(key, w0 / 2, buf);
      f(s, t, buf + w0 % 2);
    }
  });
}

// Fills `out` (of T) in blocks: pre(words, count, mid) turns a block's words
// into one Mid per element (a loop the compiler can vectorise), then each
// element is f(mid, a, b) with a and b the elements of the parameters
// in[1] and in[2] (or in[1] twice), of type P, broadcast to out's shape.
template <int K, class T, class P, class Mid, class Pre, class F>
void draw_with_params(const std::vector<array>& in, array& out, Pre&& pre,
                      F&& f) {
  cpu_backend::allocate_output(out);
  const int64_t n = static_cast<int64_t>(out.size());
  if (n == 0) return;
  const Key key = read_key(in[0]);
  const array& pa = in[1];
  const array& pb = in.size() > 2 ? in[2] : in[1];
  // Scalar parameters: one run over the flat output.
  const bool flat =
      pa.size() == 1 && pb.size() == 1 && n <= std::numeric_limits<int>::max();
  const Shape shape = flat ? Shape{static_cast<int>(n)} : out.shape();
  std::array<Strides, 2> st;
  if (flat) {
    st = {Strides{0}, Strides{0}};
  } else {
    st = {cpu_backend::broadcast_strides(pa, out.shape()),
          cpu_backend::broadcast_strides(pb, out.shape())};
  }
  const P* a = pa.data<P>();
  const P* b = pb.data<P>();
  T* o = out.data<T>();
  draw<K>(key, 0, n, [&](int64_t s, int64_t t, const uint32_t* w) {
    Mid mid[kBlockMax];
    pre(w, t - s, mid);
    cpu_backend::for_each_run(
        shape, st, s, t, [&](int64_t pos, auto off, int64_t cnt, auto inner) {
          const Mid* m = mid + (pos - s);
          T* op = o + pos;
          if (inner[0] == 0 && inner[1] == 0) {
            const P va = a[off[0]], vb = b[off[1]];
            for (int64_t j = 0; j < cnt; ++j) op[j] = f(m[j], va, vb);
          } else {
            for (int64_t j = 0; j < cnt; ++j) {
              op[j] =
                  f(m[j], a[off[0] + j * inner[0]], b[off[1] + j * inner[1]]);
            }
          }
        });
  });
}

uint64_t u64(const uint32_t* w) {
  return static_cast<uint64_t>(w[0]) | (static_cast<uint64_t>(w[1]) << 32);
}

// The largest T below x.
template <class T>
T below(T x) {
  if constexpr (scalar::kHalf<T>) {
    uint16_t b = x.bits;
    if ((b & 0x7fff) == 0) return T::from_bits(0x8001);  // +-0
    return T::from_bits(static_cast<uint16_t>((b & 0x8000) ? b + 1 : b - 1));
  } else {
    return std::nextafter(x, -std::numeric_limits<T>::infinity());
  }
}

template <class T>
bool less(T a, T b) {
  if constexpr (scalar::kHalf<T>) {
    return static_cast<float>(a) < static_cast<float>(b);
  } else {
    return a < b;
  }
}

template <class T>
constexpr int kWords = std::is_same_v<T, double> ? 2 : 1;

// u in [0, 1): 24 bits of one word, or 52 of two.
template <int K>
void units(const uint32_t* w, int64_t n, double* u) {
  for (int64_t j = 0; j < n; ++j) {
    if constexpr (K == 2) {
      u[j] = static_cast<double>(u64(w + 2 * j) >> 12) * 0x1p-52;
    } else {
      u[j] = static_cast<double>(static_cast<int32_t>(w[j] >> 8)) * 0x1p-24;
    }
  }
}

// ---- The inverse normal CDF ----
// M. J. Wichura's algorithm AS 241 (PPND16, Applied Statistics 37, 1988):
// rational approximations with relative error about 1e-16.

template <size_t N>
double poly(const double (&c)[N], double x) {  // c[0] + c[1] x + ...
  double v = c[N - 1];
  for (size_t i = N - 1; i-- > 0;) v = v * x + c[i];
  return v;
}

constexpr double kA[8] = {3.3871328727963666080e0,  1.3314166789178437745e+2,
                          1.9715909503065514427e+3, 1.3731693765509461125e+4,
                          4.5921953931549871457e+4, 6.7265770927008700853e+4,
                          3.3430575583588128105e+4, 2.5090809287301226727e+3};
constexpr double kB[8] = {1.0,
                          4.2313330701600911252e+1,
                          6.8718700749205790830e+2,
                          5.3941960214247511077e+3,
                          2.1213794301586595867e+4,
                          3.9307895800092710610e+4,
                          2.8729085735721942674e+4,
                          5.2264952788528545610e+3};
constexpr double kC[8] = {1.42343711074968357734e0,  4.63033784615654529590e0,
                          5.76949722146069140550e0,  3.64784832476320460504e0,
                          1.27045825245236838258e0,  2.41780725177450611770e-1,
                          2.27238449892691845833e-2, 7.74545014278341407640e-4};
constexpr double kD[8] = {1.0,
                          2.05319162663775882187e0,
                          1.67638483018380384940e0,
                          6.89767334985100004550e-1,
                          1.48103976427480074590e-1,
                          1.51986665636164571966e-2,
                          5.47593808499534494600e-4,
                          1.05075007164441684324e-9};
constexpr double kE[8] = {6.65790464350110377720e0,  5.46378491116411436990e0,
                          1.78482653991729133580e0,  2.96560571828504891230e-1,
                          2.65321895265761230930e-2, 1.24266094738807843860e-3,
                          2.71155556874348757815e-5, 2.01033439929228813265e-7};
constexpr double kF[8] = {1.0,
                          5.99832206555887937690e-1,
                          1.36929880922735805310e-1,
                          1.48753612908506148525e-2,
                          7.86869131145613259100e-4,
                          1.84631831751005468180e-5,
                          1.42151175831644588870e-7,
                          2.04426310338993978564e-15};

// Standard normal values of a block: the quantile of the midpoint of each
// draw's interval (24 bits, or 52 for K == 2), computed for p in the lower
// half and mirrored, so that the values are symmetric about 0. The central
// branch runs for every element (vectorised), the tails after.
template <int K>
void normals(const uint32_t* w, int64_t n, double* z) {
  constexpr int kBits = K == 2 ? 52 : 24;
  constexpr uint64_t kHalfRange = uint64_t{1} << (kBits - 1);
  double p[kBlockMax];
  bool upper[kBlockMax];
  for (int64_t j = 0; j < n; ++j) {
    const uint64_t k = K == 2 ? u64(w + 2 * j) >> 12 : w[j] >> 8;
    upper[j] = k >= kHalfRange;
    const uint64_t m = upper[j] ? 2 * kHalfRange - 1 - k : k;
    p[j] = (static_cast<double>(m) + 0.5) * (1.0 / (2.0 * kHalfRange));
    const double q = p[j] - 0.5;
    const double r = 0.180625 - q * q;
    const double v = q * poly(kA, r) / poly(kB, r);  // (tails: replaced)
    z[j] = upper[j] ? -v : v;
  }
  for (int64_t j = 0; j < n; ++j) {
    if (p[j] >= 0.075) continue;  // |q| <= 0.425: central
    const double r = std::sqrt(-std::log(p[j]));
    const double v = r <= 5.0 ? poly(kC, r - 1.6) / poly(kD, r - 1.6)
                              : poly(kE, r - 5.0) / poly(kF, r - 5.0);
    z[j] = upper[j] ? v : -v;
  }
}

}  // namespace

void RandomBits::eval_cpu(const std::vector<array>& in,
                          std::vector<array>& out) {
  const Key key = read_key(in[0]);
  uint64_t first = 0;
  for (array& o : out) {
    cpu_backend::allocate_output(o);
    const size_t nbytes = o.nbytes();
    const int64_t words = static_cast<int64_t>((nbytes + 3) / 4);
    auto* dst = static_cast<unsigned char*>(o.raw_data());
    draw<1>(key, first, words, [&](int64_t s, int64_t t, const uint32_t* w) {
      const size_t at = static_cast<size_t>(s) * 4;
      std::memcpy(dst + at, w,
                  std::min(static_cast<size_t>(t - s) * 4, nbytes - at));
    });
    first += static_cast<uint64_t>(words);
  }
}

void RandomUniform::eval_cpu(const std::vector<array>& in,
                             std::vector<array>& out) {
  dispatch_dtype(out[0].dtype(), [&]<class T>(std::type_identity<T>) {
    if constexpr (scalar::kHalf<T> || std::is_floating_point_v<T>) {
      draw_with_params<kWords<T>, T, T, double>(
          in, out[0], units<kWords<T>>, [](double u, T lo, T hi) {
            const double l = static_cast<double>(lo);
            const double h = static_cast<double>(hi);
            const double r = h - l;
            // A range wider than double's: weigh the ends instead.
            const double v =
                std::isinf(r) && std::isfinite(l) && std::isfinite(h)
                    ? l - l * u + h * u
                    : l + r * u;
            T x = scalar::cast<T>(v);
            // Rounding can reach high: keep below it.
            if (!less(x, hi) && less(lo, hi)) x = below(hi);
            return x;
          });
    } else {
      throw std::logic_error("[uniform] floating dtypes only");
    }
  });
}

void RandomNormal::eval_cpu(const std::vector<array>& in,
                            std::vector<array>& out) {
  dispatch_dtype(out[0].dtype(), [&]<class T>(std::type_identity<T>) {
    if constexpr (scalar::kHalf<T> || std::is_floating_point_v<T>) {
      draw_with_params<kWords<T>, T, T, double>(
          in, out[0], normals<kWords<T>>, [](double z, T loc, T scale) {
            return scalar::cast<T>(static_cast<double>(loc) +
                                   static_cast<double>(scale) * z);
          });
    } else {
      throw std::logic_error("[normal] floating dtypes only");
    }
  });
}

void RandomInt::eval_cpu(const std::vector<array>& in,
                         std::vector<array>& out) {
  dispatch_dtype(out[0].dtype(), [&]<class T>(std::type_identity<T>) {
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      using P =
          std::conditional_t<std::is_same_v<T, uint64_t>, uint64_t, int64_t>;
      // 64 random bits an element (128 for 64-bit types): the bias of the
      // multiply-high below is under 2^-32 (2^-64).
      constexpr int K = sizeof(T) == 8 ? 4 : 2;
      auto fraction = [](const uint32_t* w, int64_t n, u128* f) {
        for (int64_t j = 0; j < n; ++j) {
          f[j] = u128{u64(w + K * j)} << 64;
          if constexpr (K == 4) f[j] |= u64(w + K * j + 2);
        }
      };
      draw_with_params<K, T, P, u128>(
          in, out[0], fraction, [](u128 f, P lo, P hi) {
            constexpr P kMin = static_cast<P>(std::numeric_limits<T>::min());
            constexpr P kMax = static_cast<P>(std::numeric_limits<T>::max());
            if (lo < kMin) lo = kMin;
            if constexpr (sizeof(T) < 8) {
              if (hi > kMax + 1) hi = kMax + 1;
            }
            if (!(hi > lo)) return static_cast<T>(std::min(lo, kMax));
            const uint64_t r =
                static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
            // floor(f * r / 2^128), f the 128-bit fraction.
            const u128 high = u128{static_cast<uint64_t>(f >> 64)} * r;
            const u128 low = (u128{static_cast<uint64_t>(f)} * r) >> 64;
            const uint64_t off = static_cast<uint64_t>((high + low) >> 64);
            // In T's range, so the modular conversion is exact.
            return static_cast<T>(static_cast<uint64_t>(lo) + off);
          });
    } else {
      throw std::logic_error("[randint] integer dtypes only");
    }
  });
}

void RandomBernoulli::eval_cpu(const std::vector<array>& in,
                               std::vector<array>& out) {
  dispatch_dtype(in[1].dtype(), [&]<class P>(std::type_identity<P>) {
    if constexpr (scalar::kHalf<P> || std::is_floating_point_v<P>) {
      // u in [0, 1) with 32 bits (53 for a float64 p).
      auto unit_draws = [](const uint32_t* w, int64_t n, double* u) {
        for (int64_t j = 0; j < n; ++j) {
          if constexpr (std::is_same_v<P, double>) {
            u[j] = static_cast<double>(u64(w + 2 * j) >> 11) * 0x1p-53;
          } else {
            u[j] = static_cast<double>(w[j]) * 0x1p-32;
          }
        }
      };
      draw_with_params<kWords<P>, bool, P, double>(
          in, out[0], unit_draws,
          [](double u, P p, P) { return u < static_cast<double>(p); });
    } else {
      throw std::logic_error("[bernoulli] floating p only");
    }
  });
}

}  // namespace runnel
