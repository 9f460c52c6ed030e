#include "runnel/backend/cuda/stream.h"

#include <algorithm>
#include <future>
#include <stdexcept>
#include <string>

#include "runnel/backend/cuda/device.h"
#include "runnel/backend/cuda/launch.h"
#include "runnel/scheduler/graph.h"

namespace runnel::cuda {

GpuStream::GpuStream(int index, int dev, int priority, cudaStream_t external)
    : StreamState(index, Device(DeviceType::gpu, dev), priority,
                  std::make_unique<GpuTimeline>(dev)),
      device_(dev) {
  gpu_timeline().owner = this;
  if (external) {
    set_device(dev);
    int on = -1;
    check(cudaStreamGetDevice(external, &on), "[from_external] the handle",
          dev);
    if (on != dev) {
      throw std::invalid_argument(
          "[from_external] The CUDA stream belongs to Device(gpu, " +
          std::to_string(on) + "), not Device(gpu, " + std::to_string(dev) +
          ").");
    }
    cu_ = external;
    owned_ = false;
    gpu_timeline().set_counter(cuda::device(dev).counters.alloc());
    gpu_timeline().set_stream(cu_);
  }
}

Dep GpuStream::blocker() {
  std::lock_guard lock(mu_);
  Dep b;
  if (!queue_.empty() && !launchable(*queue_.front(), &b)) return b;
  return {};
}

GpuStream::~GpuStream() {
  if (!cu_ || exiting() || forked_child()) return;
  try {
    cuda::device(device_).memory.release_cache(cu_);
  } catch (const std::exception&) {
    return;  // the device is lost: nothing more to give back
  }
  if (owned_) {
    set_device(device_);
    cudaStreamDestroy(cu_);  // returns at once; pending work still completes
  }
}

cudaStream_t GpuStream::cu() {
  if (!cu_) {
    set_device(device_);
    check(cudaStreamCreateWithPriority(&cu_, cudaStreamNonBlocking, priority),
          "cudaStreamCreate", device_);
    gpu_timeline().set_counter(cuda::device(device_).counters.alloc());
    gpu_timeline().set_stream(cu_);
  }
  return cu_;
}

void* GpuStream::native_handle() {
  // Work still held on the host (waiting for another stream's launch or a
  // CPU stream) is not on the CUDA stream yet: wait until it is.
  const uint64_t v = last_value();
  std::promise<void> launched;
  if (gpu_timeline().on_launched(v, [&launched] { launched.set_value(); })) {
    launched.get_future().wait();
  }
  std::lock_guard lock(mu_);
  return cu();
}

uint64_t GpuStream::submit(std::unique_ptr<detail::Work> w) {
  check_not_lost(device_);
  std::vector<Timeline::Callback> fire;
  uint64_t v;
  {
    std::lock_guard lock(mu_);
    v = last_value_.load(std::memory_order_relaxed) + 1;
    w->value = v;
    last_value_.store(v, std::memory_order_release);
    timeline_->note_submitted(v);
    Dep blocker;
    if (queue_.empty() && launchable(*w, &blocker)) {
      launch(*w, fire);
    } else {
      queue_.push_back(std::move(w));
      if (queue_.size() == 1) pump_locked(fire);
    }
  }
  for (auto& f : fire) f();
  return v;
}

bool GpuStream::launchable(const detail::Work& w, Dep* blocker) {
  for (const Dep& d : w.deps) {
    if (d.timeline.get() == timeline_.get()) continue;
    auto* gt = dynamic_cast<GpuTimeline*>(d.timeline.get());
    bool ok = gt ? gt->launched() >= d.value : d.reached();
    if (!ok) {
      *blocker = d;
      return false;
    }
  }
  return true;
}

bool GpuStream::arm(const Dep& blocker) {
  // The callback pumps this stream on the thread that satisfies the
  // dependency (after that thread released its locks). Queued work keeps
  // the stream alive.
  auto self = std::static_pointer_cast<GpuStream>(shared_from_this());
  auto cb = [self] { self->pump(kInlineLaunches); };
  auto* gt = dynamic_cast<GpuTimeline*>(blocker.timeline.get());
  return gt ? gt->on_launched(blocker.value, cb)
            : blocker.timeline->on_reached(blocker.value, cb);
}

bool GpuStream::pump_locked(std::vector<Timeline::Callback>& fire,
                            size_t limit) {
  for (size_t n = 0; !queue_.empty(); ++n) {
    Dep blocker;
    if (!launchable(*queue_.front(), &blocker)) {
      if (arm(blocker)) return false;
      continue;  // satisfied meanwhile: look again
    }
    if (n == limit) return true;
    launch(*queue_.front(), fire);
    queue_.pop_front();
  }
  return false;
}

void GpuStream::pump(size_t limit) {
  std::vector<Timeline::Callback> fire;
  bool more;
  {
    std::lock_guard lock(mu_);
    more = pump_locked(fire, limit);
  }
  for (auto& f : fire) f();
  if (more) {
    cuda::device(device_).launcher.launch_later(
        std::static_pointer_cast<GpuStream>(shared_from_this()));
  }
}

void GpuStream::launch(detail::Work& w, std::vector<Timeline::Callback>& fire) {
  DeviceState& dev = cuda::device(device_);
  set_device(device_);
  cudaStream_t s = cu();
  // Waits on other GPU streams' events: each record precedes its wait,
  // since the producer was launched (launchable).
  for (const Dep& d : w.deps) {
    if (d.timeline.get() == timeline_.get()) continue;
    if (dynamic_cast<GpuTimeline*>(d.timeline.get())) wait_on(d);
  }
  Launch ctx{this, s, device_, w.value, Dep{timeline_ptr(), w.value}, {}, {}};
  set_current_launch(&ctx);
  w.run();
  set_current_launch(nullptr);
  EventPtr ev;
  // A work that runs nothing gets an event only when someone waits (the
  // watcher needs one where there is no counter); event_for records one
  // later otherwise.
  if (!w.runs_nothing() || timeline_->has_waiters()) {
    ev = dev.events.get();
    check(cudaEventRecord(ev->ev, s), "cudaEventRecord", device_);
  }
  GpuTimeline::Ran ran;
  ran.n = w.op_names(ran.ops, GpuTimeline::Ran::kMax);
  for (auto& f : gpu_timeline().on_launch(w.value, std::move(ev), ran)) {
    fire.push_back(std::move(f));
  }
  for (auto& [node, copy] : ctx.made) {
    node->add_copy(std::move(copy), Dep{timeline_ptr(), w.value});
  }
  // A CPU strand waits on this stream: the watcher reads the counter.
  if (timeline_->has_waiters()) gpu_timeline().signal(w.value);
}

void GpuStream::wait_on(const Dep& d) {
  if (d.seen_reached()) return;
  auto* gt = static_cast<GpuTimeline*>(d.timeline.get());
  auto same = [&](const Waited& u) { return u.timeline == gt; };
  auto it = std::find_if(waited_.begin(), waited_.end(), same);
  if (it != waited_.end() && !it->alive.expired() && it->value >= d.value) {
    return;  // behind an earlier wait for that point or a later one
  }
  if (EventPtr ev = gt->event_for(d.value)) {
    check(cudaStreamWaitEvent(cu(), ev->ev, 0), "cudaStreamWaitEvent", device_);
    std::erase_if(
        waited_, [&](const Waited& u) { return same(u) || u.alive.expired(); });
    waited_.push_back({gt, d.timeline, d.value});
  }
}

}  // namespace runnel::cuda
