// Primitives that run no kernel on any device: they only hand a buffer to
// their output.
#include <mutex>

#include "runnel/primitives/creation.h"
#include "runnel/primitives/shape.h"
#include "runnel/scheduler/graph.h"

namespace runnel {

// Views run no kernel on any device: the output takes the input's buffer
// (and its copies on other devices, which are copies of the same buffer).
void View::eval_cpu(const std::vector<array>& in, std::vector<array>& out) {
  detail::ArrayNode& src = in[0].node();
  detail::ArrayNode& dst = out[0].node();
  dst.data = src.data;
  std::scoped_lock lock(src.copies_mu, dst.copies_mu);
  dst.copies = src.copies;
}

void View::eval_gpu(const std::vector<array>& in, std::vector<array>& out) {
  eval_cpu(in, out);
}

// Adopted data (a host or foreign buffer) is the output as it is.
void Adopt::eval_cpu(const std::vector<array>&, std::vector<array>& out) {
  out[0].node().data = data_;
}

void Adopt::eval_gpu(const std::vector<array>& in, std::vector<array>& out) {
  eval_cpu(in, out);
}

}  // namespace runnel
