#include "runnel/event.h"

#include <chrono>
#include <mutex>
#include <stdexcept>

#include "runnel/backend/gpu.h"
#include "runnel/scheduler/stream_state.h"

namespace runnel {
namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A timed event's point: the host clock when a CPU stream reaches it, or a
// CUDA event recorded in a GPU stream's work (the GPU's clock).
struct Stamp {
  std::atomic<int64_t> ns{0};
  void* gpu_event = nullptr;  // written by the launch, read after it is done
  ~Stamp() {
    if (gpu_event) {
      detail::gpu::backend("Event").destroy_timing_event(gpu_event);
    }
  }
};

class StampWork final : public detail::Work {
 public:
  StampWork(std::shared_ptr<Stamp> t, DeviceType type)
      : t_(std::move(t)), type_(type) {}
  void run() override {
    if (type_ == DeviceType::gpu) {
      t_->gpu_event = detail::gpu::backend("record").record_timing_event();
    } else {
      t_->ns.store(now_ns(), std::memory_order_release);
    }
  }

 private:
  std::shared_ptr<Stamp> t_;
  DeviceType type_;
};

class WaitWork final : public detail::Work {
 public:
  void run() override {}
  bool runs_nothing() const override { return true; }
};

}  // namespace

struct Event::Impl {
  bool timing;
  std::mutex mu;  // guards point, device, stamp
  detail::Dep point;
  Device device{cpu};
  bool recorded = false;
  std::shared_ptr<Stamp> stamp;

  detail::Dep get() {
    std::lock_guard lock(mu);
    return point;
  }
};

Event::Event(bool enable_timing) : impl_(std::make_shared<Impl>()) {
  impl_->timing = enable_timing;
}

void Event::record(StreamOrDevice s) {
  Stream st = to_stream(s);
  auto& state = st.state();
  std::shared_ptr<Stamp> stamp;
  detail::Dep point;
  if (impl_->timing) {
    stamp = std::make_shared<Stamp>();
    uint64_t v =
        state.submit(std::make_unique<StampWork>(stamp, st.device().type));
    point = detail::Dep{state.timeline_ptr(), v};
  } else {
    point = state.tail();
  }
  std::lock_guard lock(impl_->mu);
  impl_->point = std::move(point);
  impl_->stamp = std::move(stamp);
  impl_->device = st.device();
  impl_->recorded = true;
}

void Event::wait(StreamOrDevice s) const {
  detail::Dep point = impl_->get();
  Stream st = to_stream(s);
  // The published counter only: asking the device (a driver call) would
  // cost more than the wait it might save.
  if (!point.timeline || point.timeline->completed() >= point.value) return;
  if (point.timeline.get() == &st.state().timeline()) return;  // in order
  auto w = std::make_unique<WaitWork>();
  w->deps.push_back(std::move(point));
  st.state().submit(std::move(w));
}

void Event::synchronize() const {
  detail::Dep point = impl_->get();
  if (!point.timeline) return;
  point.timeline->help(point.value);
  point.timeline->wait(point.value);
}

bool Event::query() const { return impl_->get().reached(); }

double Event::elapsed_time(const Event& end) const {
  auto snapshot = [](Impl& i) {
    std::lock_guard lock(i.mu);
    return std::make_tuple(i.timing, i.recorded, i.device, i.stamp);
  };
  auto [t0, r0, d0, s0] = snapshot(*impl_);
  auto [t1, r1, d1, s1] = snapshot(*end.impl_);
  if (!t0 || !t1) {
    throw std::invalid_argument(
        "[elapsed_time] Both events need enable_timing=true.");
  }
  if (!r0 || !r1) {
    throw std::invalid_argument(
        "[elapsed_time] Both events must be recorded first.");
  }
  if (d0.type != d1.type) {
    throw std::invalid_argument(
        "[elapsed_time] The events were recorded on different device types.");
  }
  if (d0 != d1 && d0.type == DeviceType::gpu) {
    throw std::invalid_argument(
        "[elapsed_time] The events were recorded on different GPUs.");
  }
  synchronize();
  end.synchronize();
  if (d0.type == DeviceType::gpu) {
    return detail::gpu::backend("elapsed_time")
        .elapsed_ms(s0->gpu_event, s1->gpu_event);
  }
  return static_cast<double>(s1->ns.load() - s0->ns.load()) / 1e6;
}

}  // namespace runnel
