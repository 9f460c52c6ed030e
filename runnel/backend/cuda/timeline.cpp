#include "runnel/backend/cuda/timeline.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <sstream>

#include "runnel/backend/cuda/device.h"
#include "runnel/backend/cuda/stream.h"

namespace runnel::cuda {

std::vector<Timeline::Callback> GpuTimeline::on_launch(uint64_t v, EventPtr ev,
                                                       const Ran& ran) {
  std::vector<Callback> fire;
  std::lock_guard lock(mu_);
  if (ev) events_.push_back({v, std::move(ev), ran});
  // seq_cst: watch() reads it after setting has_waiters, launch() reads
  // has_waiters after this; one of them sees the other and signals.
  launched_.store(v);
  launched_.notify_all();
  for (size_t i = 0; i < launch_waiters_.size();) {
    if (launch_waiters_[i].first <= v) {
      fire.push_back(std::move(launch_waiters_[i].second));
      launch_waiters_.erase(launch_waiters_.begin() + i);
    } else {
      ++i;
    }
  }
  return fire;
}

bool GpuTimeline::on_launched(uint64_t v, Callback cb) {
  std::lock_guard lock(mu_);
  if (launched_.load() >= v) return false;
  launch_waiters_.emplace_back(v, std::move(cb));
  return true;
}

EventPtr GpuTimeline::event_for(uint64_t v) const {
  std::lock_guard lock(mu_);
  // Launched in value order: the first event at or after `v`.
  auto it = std::lower_bound(
      events_.begin(), events_.end(), v,
      [](const Launched& e, uint64_t value) { return e.value < value; });
  if (it != events_.end()) return it->ev;
  if (launched() < v || completed() >= v) return nullptr;
  // `v` ran nothing and nothing after it has an event: one recorded now,
  // at the stream's tail, completes after it.
  // The caller may be launching on another device: keep its device.
  int caller = -1;
  cudaGetDevice(&caller);
  set_device(device_);
  EventPtr ev = cuda::device(device_).events.get();
  const cudaError_t e = cudaEventRecord(ev->ev, stream());
  if (caller >= 0) set_device(caller);
  check(e, "cudaEventRecord", device_);
  events_.push_back({launched(), ev, {}});
  return ev;
}

bool GpuTimeline::refresh(uint64_t v) const {
  if (launched() < v) return false;
  event_for(v);  // work that ran nothing gets an event to be seen by
  return const_cast<GpuTimeline*>(this)->poll() && completed() >= v;
}

GpuTimeline::~GpuTimeline() {
  // A write still pending would land in the next owner's counter.
  if (exiting() || forked_child() || !counter_.host) return;
  if (counter_.host->load() >= written_) {
    try {
      cuda::device(device_).counters.free(counter_);
    } catch (const std::exception&) {
    }
  }
}

void GpuTimeline::signal(uint64_t v) {
  cudaStream_t s = stream();
  if (!s || !counter_.host) return;
  std::lock_guard lock(write_mu_);
  if (written_ >= v) return;
  if (cuda::device(device_).counters.write(s, counter_, v)) written_ = v;
}

bool GpuTimeline::read_counter() {
  if (!has_counter()) return false;
  const uint64_t c = counter_.host->load(std::memory_order_acquire);
  if (c <= completed()) return false;
  {
    std::lock_guard lock(mu_);
    while (!events_.empty() && events_.front().value <= c) events_.pop_front();
  }
  advance(c);
  return true;
}

std::string GpuTimeline::describe_pending() const {
  // A sticky fault fails every later query, so the work whose event first
  // reports it may have completed before the faulting one: name the first
  // few works not seen done.
  constexpr size_t kWorks = 4;
  std::string works;
  size_t n = 0;
  for (const Launched& l : events_) {
    if (n == kWorks) {
      works += ", ...";
      break;
    }
    std::string ops;
    for (size_t i = 0; i < l.ran.n; ++i) {
      ops += (i ? ", " : "") + std::string(l.ran.ops[i]);
    }
    works += (n++ ? ", [" : "[") + (ops.empty() ? "no op" : ops) + "]";
  }
  // Streams named as errors name them (eval.cpp): Stream(device, index).
  std::ostringstream s;
  s << (n > 1 ? "one of the works " : "the work ") << works << " on Stream("
    << Device(DeviceType::gpu, device_);
  if (owner) s << ", " << owner->index;
  s << ") (seen asynchronously)";
  return s.str();
}

bool GpuTimeline::poll() {
  // The counter may stop short of the events (it is written only while CPU
  // strands wait): ask the events too, which also see faults.
  const bool moved = read_counter();
  uint64_t done = 0;
  {
    std::lock_guard lock(mu_);
    while (!events_.empty()) {
      cudaError_t e = cudaEventQuery(events_.front().ev->ev);
      if (e == cudaErrorNotReady) break;
      if (e != cudaSuccess) {
        // A fault: the device is lost. Advance anyway so nothing waits
        // forever; waits raise the lost device's error, which names the
        // ops of the earliest work not seen done here.
        try {
          check(e, describe_pending().c_str(), device_);
        } catch (...) {
        }
      }
      done = events_.front().value;
      events_.pop_front();
    }
  }
  if (done == 0) return moved;
  advance(done);
  return true;
}

void GpuTimeline::wait(uint64_t v) const {
  if (completed() >= v) return;
  using Clock = std::chrono::steady_clock;
  // Work still in the host queue is launched by whoever satisfies it: a
  // worker finishing a CPU op, mostly within microseconds. Spin briefly,
  // then sleep on the launch counter.
  auto spin_until = Clock::now() + std::chrono::microseconds(20);
  while (launched() < v && Clock::now() < spin_until) {
  }
  for (uint64_t seen = launched(); seen < v; seen = launched()) {
    launched_.wait(seen, std::memory_order_acquire);
  }
  auto self = const_cast<GpuTimeline*>(this);
  spin_until = Clock::now() + std::chrono::microseconds(20);
  while (Clock::now() < spin_until) {
    if (self->poll(), completed() >= v) return;
  }
  if (EventPtr ev = event_for(v)) {
    set_device(device_);
    cudaEventSynchronize(ev->ev);
  }
  self->poll();
  check_not_lost(device_);
}

bool GpuTimeline::help(uint64_t v) {
  if (launched() >= v || !owner) return false;
  Dep b = owner->blocker();
  return b.timeline && b.timeline->help(b.value);
}

void GpuTimeline::watch(uint64_t) {
  // What is launched already gets its counter write now; later launches
  // write theirs while callbacks wait (launch()). And an event, for the
  // watcher's event queries.
  const uint64_t v = launched();
  event_for(v);
  signal(v);
  if (auto self = self_.lock()) {
    cuda::device(device_).watcher.watch(
        std::static_pointer_cast<GpuTimeline>(self));
  }
}

}  // namespace runnel::cuda
