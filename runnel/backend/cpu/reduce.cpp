#include "runnel/primitives/reduce.h"

#include <vector>

#include "runnel/backend/common/ops.h"
#include "runnel/backend/cpu/iterate.h"

namespace runnel {
namespace {

template <class T>
using Acc = typename ops::SumAcc<T>::type;

// Pairwise summation over blocks of 128, as numpy does: the error grows
// with log(n) rather than n.
template <class T>
Acc<T> pairwise(const T* x, int64_t n) {
  constexpr int64_t kBlock = 128;
  if (n <= kBlock) {
    Acc<T> acc[8] = {};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
      for (int j = 0; j < 8; ++j) acc[j] += static_cast<Acc<T>>(x[i + j]);
    }
    Acc<T> r = ((acc[0] + acc[1]) + (acc[2] + acc[3])) +
               ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; i < n; ++i) r += static_cast<Acc<T>>(x[i]);
    return r;
  }
  int64_t half = n / 2 / 8 * 8;
  return pairwise(x, half) + pairwise(x + half, n - half);
}

}  // namespace

void SumAll::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  const array& a = in[0];
  cpu_backend::allocate_output(out[0]);
  dispatch_dtype(a.dtype(), [&]<class T>(std::type_identity<T>) {
    if constexpr (std::is_same_v<T, bool>) {
      throw std::logic_error("[sum] bool is summed as int32");
    } else {
      const T* x = a.data<T>();
      const int64_t n = static_cast<int64_t>(a.size());
      // Chunk boundaries do not depend on the thread count, so the result
      // is the same however many workers help.
      const int64_t chunks =
          (n + cpu_backend::kGrain - 1) / cpu_backend::kGrain;
      std::vector<Acc<T>> partial(std::max<int64_t>(chunks, 1), Acc<T>{});
      cpu_backend::parallel(n, [&](int64_t b, int64_t e) {
        for (int64_t c = b / cpu_backend::kGrain; c * cpu_backend::kGrain < e;
             ++c) {
          int64_t lo = c * cpu_backend::kGrain;
          int64_t hi = std::min(n, lo + cpu_backend::kGrain);
          partial[c] = pairwise(x + lo, hi - lo);
        }
      });
      Acc<T> total = pairwise(partial.data(), chunks);
      *out[0].data<T>() = static_cast<T>(total);
    }
  });
}

}  // namespace runnel
