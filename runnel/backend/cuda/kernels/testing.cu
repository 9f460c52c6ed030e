#include "runnel/backend/cuda/kernels/common.cuh"
#include "runnel/primitives/testing.h"
#include "runnel/scheduler/graph.h"

namespace runnel::cuda {
namespace {

// Spins on the GPU's global timer: a kernel that takes a known time.
__global__ void spin_kernel(uint64_t ns) {
  uint64_t start, now;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(start));
  do {
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
  } while (now - start < ns);
}

__global__ void trap_kernel() { __trap(); }

}  // namespace

void bind_testing_kernels() {
  register_module(reinterpret_cast<const void*>(&module_anchor));
  bind_kernel<Trap>(
      [](Trap&, const std::vector<array>& in, std::vector<array>& out) {
        input_ptr(in[0]);
        trap_kernel<<<1, 1, 0, current_launch().cu>>>();
        after_launch("trap");
        out[0].node().data = in[0].node().data;
      });
  bind_kernel<Delay>(
      [](Delay& d, const std::vector<array>& in, std::vector<array>& out) {
        auto buf = input_buffer(in[0]);  // on this device, a use recorded
        spin_kernel<<<1, 1, 0, current_launch().cu>>>(
            static_cast<uint64_t>(d.microseconds()) * 1000);
        after_launch("delay");
        out[0].node().data = buf;
      });
}

}  // namespace runnel::cuda
