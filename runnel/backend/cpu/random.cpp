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

// Counters hashed together, lane by lane, so that the compiler vectorises
// the rounds.
constexpr int kLanes = 64;

// The words [2 * c0, 2 * (c0 + kLanes)) of the key's stream into `out`.
void hash_block(Key key, uint64_t c0, uint32_t* out) {
  constexpr int kRot[8] = {13, 15, 26, 6, 17, 29, 16, 24};
  const uint32_t ks[3] = {key.k0, key.k1,
                          key.k0 ^ key.k1 ^ random_bits::kThreefryParity};
  uint32_t x0[kLanes], x1[kLanes];
  for (int l = 0; l < kLanes; ++l) {
    const uint64_t c = c0 + static_cast<uint64_t>(l);
    x0[l] = static_cast<uint32_t>(c) + ks[0];
    x1[l] = static_cast<uint32_t>(c >> 32) + ks[1];
  }
  for (int group = 0; group < 5; ++group) {
    for (int r = 0; r < 4; ++r) {
      const int rot = kRot[(group % 2) * 4 + r];
      for (int l = 0; l < kLanes; ++l) {
        x0[l] += x1[l];
        x1[l] = ((x1[l] << rot) | (x1[l] >> (32 - rot))) ^ x0[l];
      }
    }
    const uint32_t i = static_cast<uint32_t>(group + 1);
    const uint32_t a = ks[i % 3], b = ks[(i + 1) % 3] + i;
    for (int l = 0; l < kLanes; ++l) {
      x0[l] += a;
      x1[l] += b;
    }
  }
  for (int l = 0; l < kLanes; ++l) {
    out[2 * l] = x0[l];
    out[2 * l + 1] = x1[l];
  }
}

// Calls f(s, t, words) over blocks [s, t) of [0, n) elements, K words an
// element, starting at word `first` of the stream: `words` holds the
// (t - s) * K words of the block. Blocks run on idle workers too; the words
// are the same whatever the split.
template <int K, class F>
void draw(Key key, uint64_t first, int64_t n, F&& f) {
  constexpr int64_t kElems = (2 * kLanes - 1) / K;
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

// Fills `out` with f(words, a, b) where a and b are the elements of params
// `pa` and `pb` (of type P) broadcast to out's shape.
template <int K, class T, class P, class F>
void draw_with_params(const std::vector<array>& in, array& out, F&& f) {
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
    cpu_backend::for_each_run(
        shape, st, s, t, [&](int64_t pos, auto off, int64_t cnt, auto inner) {
          const uint32_t* wp = w + (pos - s) * K;
          if (inner[0] == 0 && inner[1] == 0) {
            const P va = a[off[0]], vb = b[off[1]];
            for (int64_t j = 0; j < cnt; ++j)
              o[pos + j] = f(wp + j * K, va, vb);
          } else {
            for (int64_t j = 0; j < cnt; ++j) {
              o[pos + j] = f(wp + j * K, a[off[0] + j * inner[0]],
                             b[off[1] + j * inner[1]]);
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
  if constexpr (ops::kHalf<T>) {
    uint16_t b = x.bits;
    if ((b & 0x7fff) == 0) return T::from_bits(0x8001);  // +-0
    return T::from_bits(static_cast<uint16_t>((b & 0x8000) ? b + 1 : b - 1));
  } else {
    return std::nextafter(x, -std::numeric_limits<T>::infinity());
  }
}

template <class T>
bool less(T a, T b) {
  if constexpr (ops::kHalf<T>) {
    return static_cast<float>(a) < static_cast<float>(b);
  } else {
    return a < b;
  }
}

// u in [0, 1) from one word (24 bits) or two (52 bits for double).
template <class T>
double unit(const uint32_t* w) {
  if constexpr (std::is_same_v<T, double>) {
    return static_cast<double>(u64(w) >> 12) * 0x1p-52;
  } else {
    return static_cast<double>(w[0] >> 8) * 0x1p-24;
  }
}

template <class T>
constexpr int kWords = std::is_same_v<T, double> ? 2 : 1;

// ---- The inverse normal CDF ----
// P. J. Acklam's rational approximation (relative error below 1.2e-9),
// refined for float64 by one Halley step on erfc (full double precision).

double lower_quantile(double p, bool refine) {  // p in (0, 0.5)
  constexpr double a[6] = {-3.969683028665376e+01, 2.209460984245205e+02,
                           -2.759285104469687e+02, 1.383577518672690e+02,
                           -3.066479806614716e+01, 2.506628277459239e+00};
  constexpr double b[5] = {-5.447609879822406e+01, 1.615858368580409e+02,
                           -1.556989798598866e+02, 6.680131188771972e+01,
                           -1.328068155288572e+01};
  constexpr double c[6] = {-7.784894002430293e-03, -3.223964580411365e-01,
                           -2.400758277161838e+00, -2.549732539343734e+00,
                           4.374664141464968e+00,  2.938163982698783e+00};
  constexpr double d[4] = {7.784695709041462e-03, 3.224671290700398e-01,
                           2.445134137142996e+00, 3.754408661907416e+00};
  double x;
  if (p < 0.02425) {
    const double q = std::sqrt(-2.0 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
  } else {
    const double q = p - 0.5;
    const double r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) *
        q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
  }
  if (refine) {
    constexpr double kSqrt2Pi = 2.50662827463100050242;
    const double e = 0.5 * std::erfc(-x / 1.41421356237309504880) - p;
    const double u = e * kSqrt2Pi * std::exp(0.5 * x * x);
    x -= u / (1.0 + 0.5 * x * u);
  }
  return x;
}

// A standard normal value from the top `bits` bits `k` of a draw: the
// quantile of the midpoint of k's interval, computed in the lower half and
// mirrored, so that the values are symmetric about 0.
double std_normal(uint64_t k, int bits, bool refine) {
  const uint64_t half = uint64_t{1} << (bits - 1);
  const bool upper = k >= half;
  const uint64_t m = upper ? 2 * half - 1 - k : k;
  const double p = (static_cast<double>(m) + 0.5) * std::ldexp(1.0, -bits);
  const double z = lower_quantile(p, refine);
  return upper ? -z : z;
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
    if constexpr (ops::kHalf<T> || std::is_floating_point_v<T>) {
      draw_with_params<kWords<T>, T, T>(
          in, out[0], [](const uint32_t* w, T lo, T hi) {
            const double u = unit<T>(w);
            const double l = static_cast<double>(lo);
            const double h = static_cast<double>(hi);
            const double r = h - l;
            // A range wider than double's: weigh the ends instead.
            const double v =
                std::isinf(r) && std::isfinite(l) && std::isfinite(h)
                    ? l - l * u + h * u
                    : l + r * u;
            T x = ops::cast<T>(v);
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
    if constexpr (ops::kHalf<T> || std::is_floating_point_v<T>) {
      draw_with_params<kWords<T>, T, T>(
          in, out[0], [](const uint32_t* w, T loc, T scale) {
            double z;
            if constexpr (std::is_same_v<T, double>) {
              z = std_normal(u64(w) >> 12, 52, true);
            } else {
              z = std_normal(w[0] >> 8, 24, false);
            }
            return ops::cast<T>(static_cast<double>(loc) +
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
      constexpr int K = sizeof(T) == 8 ? 4 : 2;
      draw_with_params<K, T, P>(in, out[0], [](const uint32_t* w, P lo, P hi) {
        constexpr P kMin = static_cast<P>(std::numeric_limits<T>::min());
        constexpr P kMax = static_cast<P>(std::numeric_limits<T>::max());
        if (lo < kMin) lo = kMin;
        if constexpr (sizeof(T) < 8) {
          if (hi > kMax + 1) hi = kMax + 1;
        }
        if (!(hi > lo)) return static_cast<T>(std::min(lo, kMax));
        const uint64_t r =
            static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
        uint64_t off;
        if constexpr (K == 2) {
          off = static_cast<uint64_t>((u128{u64(w)} * r) >> 64);
        } else {
          // floor(W * r / 2^128) for the 128-bit W = (w[0..1] << 64) + w[2..3].
          const u128 high = u128{u64(w)} * r;
          const u128 low = (u128{u64(w + 2)} * r) >> 64;
          off = static_cast<uint64_t>((high + low) >> 64);
        }
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
    if constexpr (ops::kHalf<P> || std::is_floating_point_v<P>) {
      draw_with_params<kWords<P>, bool, P>(
          in, out[0], [](const uint32_t* w, P p, P) {
            double u;
            if constexpr (std::is_same_v<P, double>) {
              u = static_cast<double>(u64(w) >> 11) * 0x1p-53;
            } else {
              u = static_cast<double>(w[0]) * 0x1p-32;
            }
            return u < static_cast<double>(p);
          });
    } else {
      throw std::logic_error("[bernoulli] floating p only");
    }
  });
}

}  // namespace runnel
