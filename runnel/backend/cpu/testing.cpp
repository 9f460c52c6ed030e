// The CPU kernels of the test hooks' primitives (runnel/testing.h).
#include "runnel/primitives/testing.h"

#include <chrono>
#include <stdexcept>
#include <thread>

#include "runnel/scheduler/graph.h"

void runnel::Delay::eval_cpu(const std::vector<array>& in,
                             std::vector<array>& out) {
  std::this_thread::sleep_for(std::chrono::microseconds(us_));
  out[0].node().data = in[0].node().data;
}

void runnel::Trap::eval_cpu(const std::vector<array>&, std::vector<array>&) {
  throw std::runtime_error("[trap] the CPU has no trap; this op always fails");
}
