#include "runnel/backend/cuda/launch.h"

#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "runnel/backend/cuda/device.h"
#include "runnel/backend/cuda/stream.h"
#include "runnel/backend/cuda/transfers.h"
#include "runnel/scheduler/graph.h"

namespace runnel::cuda {
namespace {

thread_local Launch* tls_launch = nullptr;

bool launch_blocking() {
  static const bool on = [] {
    const char* v = std::getenv("RUNNEL_LAUNCH_BLOCKING");
    return v && v[0] == '1';
  }();
  return on;
}

}  // namespace

Launch& current_launch() {
  if (!tls_launch) {
    throw std::logic_error("[gpu] a kernel ran outside a GPU stream launch");
  }
  return *tls_launch;
}

void set_current_launch(Launch* l) { tls_launch = l; }

void after_launch(const char* op) {
  Launch& l = current_launch();
  check(cudaGetLastError(), op, l.device);
  if (launch_blocking()) {
    check(cudaStreamSynchronize(l.cu), op, l.device);
  }
}

// ---- buffers for kernels ----

std::shared_ptr<Buffer> input_buffer(const array& a) {
  Launch& l = current_launch();
  detail::ArrayNode& n = a.node();
  const Device here(DeviceType::gpu, l.device);
  std::shared_ptr<Buffer> b = n.data;
  if (!b) throw std::logic_error("[gpu] an input has no data");
  if (b->device() == here) {
    // This work waited for the array's producer (a dependency of the work,
    // or earlier on this stream).
    b->add_use_after(n.done, l.use);
    return b;
  }
  std::shared_ptr<Buffer> c;
  for (auto& [node, copy] : l.made) {
    if (node.get() == &n) c = copy;  // read twice by this work
  }
  if (!c) {
    detail::ArrayNode::Copy cached = n.copy_on(here);
    // Made by another stream's launch: wait for its copy to complete.
    if (cached.ready.timeline && cached.ready.timeline != l.use.timeline) {
      l.stream->wait_on(cached.ready);
    }
    c = std::move(cached.buffer);
  }
  if (!c) {
    c = copy_to_device(*b, l.device, l.cu);
    // From pinned memory the copy runs after this returns: the source is
    // freed only once it is done.
    b->add_use(l.use);
    l.made.emplace_back(a.node_ptr(), c);
  }
  c->add_use(l.use);
  return c;
}

const void* input_ptr(const array& a) {
  detail::ArrayNode& n = a.node();
  return static_cast<const char*>(input_buffer(a)->ptr()) +
         n.offset * static_cast<int64_t>(size_of(n.dtype));
}

bool host_scalar(const array& a, void* out) {
  detail::ArrayNode& n = a.node();
  const std::shared_ptr<Buffer>& b = n.data;
  if (a.size() != 1 || !b || b->device().type != DeviceType::cpu) return false;
  const size_t size = size_of(n.dtype);
  std::memcpy(out, static_cast<const char*>(b->ptr()) + n.offset * size, size);
  return true;
}

void* output_ptr(array& a) {
  Launch& l = current_launch();
  auto b = cuda::device(l.device).memory.allocate(a.nbytes(), l.cu);
  b->add_use(l.use);
  a.node().data = b;
  return b->ptr();
}

}  // namespace runnel::cuda
