// The elementwise kernel loops of the CPU backend: one, two or three strided
// inputs (any strides, broadcast or not) to a contiguous output, with flat
// loops for the contiguous cases that the compiler vectorises, split over idle
// workers; and buffer donation.
#pragma once

#include <array>
#include <cstdint>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "runnel/backend/cpu/iterate.h"
#include "runnel/memory/handoff.h"

namespace runnel::cpu_backend {

// Whether `out` may be written into `in`'s buffer (a donation: an input no
// one can read any more gives its memory to the output instead of a fresh
// allocation): nothing but this op's work refers to the input (no user handle,
// other consumer, view or export: its node and its buffer each have one owner),
// the CPU allocator owns the memory, and the input covers exactly the output,
// contiguous from offset 0 with elements of the same size. The counts are
// exact here: a node nobody else holds cannot gain a holder (submitted ops
// are leaves to every walk), and a count that another thread is dropping can
// only read high, which skips a donation, never makes a wrong one.
inline bool can_donate(const array& in, const array& out) {
  const auto& node = in.node_ptr();
  const auto& buf = node->data;
  const bool ok = node.use_count() == 1 && buf && buf.use_count() == 1 &&
                  buf->cpu_owned() && node->offset == 0 &&
                  in.itemsize() == out.itemsize() && in.size() == out.size() &&
                  buf->size() == out.nbytes() && out.nbytes() > 0 &&
                  is_contiguous(in) &&
                  !buf->has_uses();  // no copy to a GPU still reading it
  if (ok) {
    // The other readers dropped their references: their reads come first.
    detail::take_over(node.get());
    detail::take_over(buf.get());
  }
  return ok;
}

// Gives `out` the buffer of the first input it may take over, else fresh
// memory. The loops below read each element before writing the same index,
// so an output that shares an input's buffer is computed correctly.
inline void donate_or_allocate(const std::vector<array>& in, array& out) {
  for (const array& a : in) {
    if (can_donate(a, out)) {
      out.node().data = a.node().data;
      return;
    }
  }
  allocate_output(out);
}

// Whether `a` reads as a flat run of `n` elements.
inline bool is_flat(const array& a, size_t n) {
  return a.size() == n && is_contiguous(a);
}

template <class In, class Out, class Op>
void unary_loop(const array& in, array& out, Op op) {
  const In* src = in.data<In>();
  Out* dst = out.data<Out>();
  const int64_t n = static_cast<int64_t>(out.size());
  if (is_flat(in, out.size())) {
    // An op may bring its own flat loop for these types (built for wider
    // vectors than the baseline).
    if constexpr (requires { Op::flat(src, dst, n); }) {
      parallel(
          n, [=](int64_t b, int64_t e) { Op::flat(src + b, dst + b, e - b); });
    } else {
      parallel(n, [=](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) dst[i] = op(src[i]);
      });
    }
    return;
  }
  const std::array<Strides, 1> st{in.strides()};
  parallel(n, [&](int64_t b, int64_t e) {
    for_each_run(out.shape(), st, b, e,
                 [&](int64_t pos, auto off, int64_t len, auto inner) {
                   const In* a = src + off[0];
                   Out* o = dst + pos;
                   const int64_t s = inner[0];
                   for (int64_t i = 0; i < len; ++i) o[i] = op(a[i * s]);
                 });
  });
}

template <class In, class Out, class Op>
void binary_loop(const array& x, const array& y, array& out, Op op) {
  const In* pa = x.data<In>();
  const In* pb = y.data<In>();
  Out* dst = out.data<Out>();
  const size_t size = out.size();
  const int64_t n = static_cast<int64_t>(size);
  const bool fa = is_flat(x, size), fb = is_flat(y, size);
  if (fa && fb) {
    parallel(n, [=](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) dst[i] = op(pa[i], pb[i]);
    });
    return;
  }
  if (fa && y.size() == 1) {
    const In vb = *pb;
    parallel(n, [=](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) dst[i] = op(pa[i], vb);
    });
    return;
  }
  if (fb && x.size() == 1) {
    const In va = *pa;
    parallel(n, [=](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) dst[i] = op(va, pb[i]);
    });
    return;
  }
  const std::array<Strides, 2> st{broadcast_strides(x, out.shape()),
                                  broadcast_strides(y, out.shape())};
  parallel(n, [&](int64_t b, int64_t e) {
    for_each_run(out.shape(), st, b, e,
                 [&](int64_t pos, auto off, int64_t len, auto inner) {
                   const In* a = pa + off[0];
                   const In* c = pb + off[1];
                   Out* o = dst + pos;
                   if (inner[0] == 1 && inner[1] == 1) {
                     for (int64_t i = 0; i < len; ++i) o[i] = op(a[i], c[i]);
                   } else if (inner[0] == 1 && inner[1] == 0) {
                     const In vc = *c;
                     for (int64_t i = 0; i < len; ++i) o[i] = op(a[i], vc);
                   } else if (inner[0] == 0 && inner[1] == 1) {
                     const In va = *a;
                     for (int64_t i = 0; i < len; ++i) o[i] = op(va, c[i]);
                   } else {
                     for (int64_t i = 0; i < len; ++i) {
                       o[i] = op(a[i * inner[0]], c[i * inner[1]]);
                     }
                   }
                 });
  });
}

// out = cond ? x : y, cond bool, x and y of T.
template <class T>
void select_loop(const array& cond, const array& x, const array& y,
                 array& out) {
  const bool* pc = cond.data<bool>();
  const T* px = x.data<T>();
  const T* py = y.data<T>();
  T* dst = out.data<T>();
  const size_t size = out.size();
  const int64_t n = static_cast<int64_t>(size);
  if (is_flat(cond, size) && is_flat(x, size) && is_flat(y, size)) {
    parallel(n, [=](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) dst[i] = pc[i] ? px[i] : py[i];
    });
    return;
  }
  const std::array<Strides, 3> st{broadcast_strides(cond, out.shape()),
                                  broadcast_strides(x, out.shape()),
                                  broadcast_strides(y, out.shape())};
  parallel(n, [&](int64_t b, int64_t e) {
    for_each_run(out.shape(), st, b, e,
                 [&](int64_t pos, auto off, int64_t len, auto inner) {
                   const bool* c = pc + off[0];
                   const T* a = px + off[1];
                   const T* d = py + off[2];
                   T* o = dst + pos;
                   for (int64_t i = 0; i < len; ++i) {
                     o[i] = c[i * inner[0]] ? a[i * inner[1]] : d[i * inner[2]];
                   }
                 });
  });
}

// Calls f(std::type_identity<T>{}) for a floating dtype; the ops promote
// every other dtype away before these kernels run.
template <class F>
void dispatch_float(Dtype d, const char* op, F&& f) {
  switch (d) {
    case Dtype::float16:
      return f(std::type_identity<float16_t>{});
    case Dtype::bfloat16:
      return f(std::type_identity<bfloat16_t>{});
    case Dtype::float32:
      return f(std::type_identity<float>{});
    case Dtype::float64:
      return f(std::type_identity<double>{});
    default:
      throw std::logic_error(std::string("[") + op +
                             "] expects a floating dtype (the op promotes).");
  }
}

// The usual shapes of an elementwise kernel: output and inputs of one dtype
// (any, or floating only), or inputs of any dtype and a bool output.
template <class Op>
void unary_same(const std::vector<array>& in, array& out, Op op) {
  donate_or_allocate(in, out);
  dispatch_dtype(out.dtype(), [&]<class T>(std::type_identity<T>) {
    unary_loop<T, T>(in[0], out, op);
  });
}

template <class Op>
void unary_float(const std::vector<array>& in, array& out, Op op,
                 const char* name) {
  donate_or_allocate(in, out);
  dispatch_float(out.dtype(), name, [&]<class T>(std::type_identity<T>) {
    unary_loop<T, T>(in[0], out, op);
  });
}

template <class Op>
void unary_to_bool(const std::vector<array>& in, array& out, Op op) {
  donate_or_allocate(in, out);
  dispatch_dtype(in[0].dtype(), [&]<class T>(std::type_identity<T>) {
    unary_loop<T, bool>(in[0], out, op);
  });
}

template <class Op>
void binary_same(const std::vector<array>& in, array& out, Op op) {
  donate_or_allocate(in, out);
  dispatch_dtype(out.dtype(), [&]<class T>(std::type_identity<T>) {
    binary_loop<T, T>(in[0], in[1], out, op);
  });
}

template <class Op>
void binary_float(const std::vector<array>& in, array& out, Op op,
                  const char* name) {
  donate_or_allocate(in, out);
  dispatch_float(out.dtype(), name, [&]<class T>(std::type_identity<T>) {
    binary_loop<T, T>(in[0], in[1], out, op);
  });
}

template <class Op>
void binary_to_bool(const std::vector<array>& in, array& out, Op op) {
  donate_or_allocate(in, out);
  dispatch_dtype(in[0].dtype(), [&]<class T>(std::type_identity<T>) {
    binary_loop<T, bool>(in[0], in[1], out, op);
  });
}

}  // namespace runnel::cpu_backend
