#include "runnel/backend/cuda/event.h"

#include "runnel/backend/cuda/device.h"
#include "runnel/backend/cuda/launch.h"

namespace runnel::cuda {

Event::~Event() {
  if (pool) pool->put(ev);
}

EventPtr EventPool::get() {
  cudaEvent_t ev = nullptr;
  {
    std::lock_guard lock(mu_);
    if (!free_.empty()) {
      ev = free_.back();
      free_.pop_back();
    }
  }
  if (!ev) {
    check(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming),
          "cudaEventCreate", device_);
  }
  auto e = std::make_shared<Event>();
  e->ev = ev;
  e->pool = this;
  return e;
}

void EventPool::put(cudaEvent_t ev) {
  std::lock_guard lock(mu_);
  free_.push_back(ev);  // events are never destroyed: cheap, and exit-safe
}

void* record_timing_event() {
  Launch& l = current_launch();
  cudaEvent_t ev = nullptr;
  check(cudaEventCreate(&ev), "[record] a timing event", l.device);
  check(cudaEventRecord(ev, l.cu), "[record] a timing event", l.device);
  return ev;
}

double elapsed_ms(void* start, void* end) {
  float ms = 0;
  check(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(start),
                             static_cast<cudaEvent_t>(end)),
        "[elapsed_time]", 0);
  return ms;
}

void destroy_timing_event(void* e) {
  if (!exiting() && !forked_child()) {
    cudaEventDestroy(static_cast<cudaEvent_t>(e));
  }
}

}  // namespace runnel::cuda
