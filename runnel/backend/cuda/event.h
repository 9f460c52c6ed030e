// CUDA events: the pooled ones that mark where launched work ends, and the
// timing events of runnel/event.h.
#pragma once

#include <cuda_runtime.h>

#include <memory>
#include <mutex>
#include <vector>

namespace runnel::cuda {

// A CUDA event, returned to its device's pool when the last holder drops it.
class EventPool;
struct Event {
  cudaEvent_t ev = nullptr;
  EventPool* pool = nullptr;
  ~Event();
};
using EventPtr = std::shared_ptr<Event>;

class EventPool {
 public:
  explicit EventPool(int device) : device_(device) {}
  EventPtr get();
  void put(cudaEvent_t ev);

 private:
  int device_;
  std::mutex mu_;
  std::vector<cudaEvent_t> free_;
};

// Timing events (Backend's): one recorded in the stream's work being
// launched on this thread, the milliseconds between two that are complete,
// and their release.
void* record_timing_event();
double elapsed_ms(void* start, void* end);
void destroy_timing_event(void* e);

}  // namespace runnel::cuda
