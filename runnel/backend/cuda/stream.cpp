#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <future>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "runnel/backend/cuda/cuda.h"
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

// ---- GpuTimeline ----

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
      cuda::device(device_).counter_free(counter_);
    } catch (const std::exception&) {
    }
  }
}

void GpuTimeline::signal(uint64_t v) {
  cudaStream_t s = stream();
  if (!s || !counter_.host) return;
  std::lock_guard lock(write_mu_);
  if (written_ >= v) return;
  if (cuda::device(device_).write_counter(s, counter_, v)) written_ = v;
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
    cuda::device(device_).watch(std::static_pointer_cast<GpuTimeline>(self));
  }
}

// ---- GpuStream ----

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
    gpu_timeline().set_counter(cuda::device(dev).counter_alloc());
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
    cuda::device(device_).release_cache(cu_);
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
    gpu_timeline().set_counter(cuda::device(device_).counter_alloc());
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
    cuda::device(device_).launch_later(
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
  tls_launch = &ctx;
  w.run();
  tls_launch = nullptr;
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

Launch& current_launch() {
  if (!tls_launch) {
    throw std::logic_error("[gpu] a kernel ran outside a GPU stream launch");
  }
  return *tls_launch;
}

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
    c = cuda::device(l.device).allocate(b->size(), l.cu);
    if (b->device().type == DeviceType::cpu) {
      check(cudaMemcpyAsync(c->ptr(), b->ptr(), b->size(),
                            cudaMemcpyHostToDevice, l.cu),
            "copy to the GPU", l.device);
    } else {
      check(cudaMemcpyPeerAsync(c->ptr(), l.device, b->ptr(), b->device().index,
                                b->size(), l.cu),
            "copy between GPUs", l.device);
    }
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
  auto b = cuda::device(l.device).allocate(a.nbytes(), l.cu);
  b->add_use(l.use);
  a.node().data = b;
  return b->ptr();
}

}  // namespace runnel::cuda
