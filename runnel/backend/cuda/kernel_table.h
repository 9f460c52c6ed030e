// The CUDA backend's kernels, bound to their primitive classes by type: each
// kernel family (kernels/*.cu) binds its kernels with bind_kernel<P>, and
// PrimitiveOf<P>::eval_gpu runs the one bound to P (backend.cpp holds the
// table).
#pragma once

#include <vector>

#include "runnel/array.h"
#include "runnel/primitives/list.h"
#include "runnel/primitives/primitive.h"

namespace runnel::cuda {

// The GPU kernel of primitive class P: reads `inputs` on the current launch
// (launch.h), allocates and fills `outputs`.
template <class P>
using Kernel = void (*)(P& p, const std::vector<array>& inputs,
                        std::vector<array>& outputs);

// A kernel with its type erased, and how to call it with its type restored.
struct BoundKernel {
  using Erased = void (*)();
  Erased kernel = nullptr;
  void (*call)(Erased kernel, Primitive& p, const std::vector<array>& inputs,
               std::vector<array>& outputs) = nullptr;
};
// Fills primitive `id`'s slot of the table (once: std::logic_error for a
// second kernel).
void set_kernel(PrimitiveId id, BoundKernel k);

// Binds `k` as primitive P's GPU kernel. (Not named `bind`: for a kernel
// function, whose parameters are std types, argument-dependent lookup finds
// std::bind as well.)
template <class P>
void bind_kernel(Kernel<P> k) {
  set_kernel(
      kPrimitiveId<P>,
      {reinterpret_cast<BoundKernel::Erased>(k),
       [](BoundKernel::Erased f, Primitive& p, const std::vector<array>& inputs,
          std::vector<array>& outputs) {
         // PrimitiveOf<P> passes P's id with itself: `p` is a P.
         reinterpret_cast<Kernel<P>>(f)(static_cast<P&>(p), inputs, outputs);
       }});
}

// The kernel families, each binding its kernels (backend.cpp calls them
// once, when the backend is made).
void bind_creation_kernels();
void bind_elementwise_kernels();
void bind_reduce_kernels();
void bind_testing_kernels();
void bind_copy_kernels();

// Each kernel file also names one of its kernels, so that a device loads
// every kernel of that file when it starts: CUDA's lazy loading would load a
// kernel at its first launch, and that load waits until the whole device is
// idle (a launch behind a long kernel on another stream would block the
// host).
void register_module(const void* any_kernel);
const std::vector<const void*>& registered_modules();

}  // namespace runnel::cuda
