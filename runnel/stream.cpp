#include "runnel/stream.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "runnel/backend/gpu.h"
#include "runnel/scheduler/pool.h"
#include "runnel/scheduler/stream_state.h"
#include "runnel/utils.h"

namespace runnel {
namespace detail {
namespace {

std::atomic<uint64_t> g_generation{0};

// This thread's defaults. Only its own thread touches it.
struct ThreadDefaults {
  std::vector<std::pair<Device, std::shared_ptr<StreamState>>> streams;
  std::vector<Device> contexts;
  uint64_t generation = 0;

  ThreadDefaults() {
    static std::once_flag once;
    std::call_once(once, [] {
      pthread_atfork(nullptr, nullptr, [] { g_generation.fetch_add(1); });
    });
    generation = g_generation.load();
  }

  std::shared_ptr<StreamState>* find(const Device& d) {
    if (generation != g_generation.load(std::memory_order_relaxed)) {
      // A forked child: the parent's streams belong to the parent's pool.
      streams.clear();
      generation = g_generation.load();
    }
    for (auto& [dev, s] : streams) {
      if (dev == d) return &s;
    }
    return nullptr;
  }
};

ThreadDefaults& tls() {
  thread_local ThreadDefaults t;
  return t;
}

// The process-wide default device; -1 until first read (gpu 0 when
// available).
std::atomic<int> g_default_device{-1};

int encode(const Device& d) {
  return static_cast<int>(d.type) | (d.index << 1);
}
Device decode(int v) { return Device(static_cast<DeviceType>(v & 1), v >> 1); }

}  // namespace
}  // namespace detail

Device default_device() {
  // The innermost stream context's device on this thread, if any.
  if (auto& c = detail::tls().contexts; !c.empty()) return c.back();
  int v = detail::g_default_device.load(std::memory_order_acquire);
  if (v < 0) {
    int init =
        detail::encode(device_count(gpu) > 0 ? Device(gpu, 0) : Device(cpu, 0));
    detail::g_default_device.compare_exchange_strong(v, init);
    v = detail::g_default_device.load(std::memory_order_acquire);
  }
  return detail::decode(v);
}

void set_default_device(const Device& d) {
  detail::check_available(d, "set_default_device");
  detail::g_default_device.store(detail::encode(d), std::memory_order_release);
}

Stream::Stream(std::shared_ptr<detail::StreamState> state)
    : index_(state->index), device_(state->device), state_(std::move(state)) {}

Stream::Stream(int index)
    : Stream([index] {
        auto s = detail::find_stream(index);
        if (!s) {
          throw std::invalid_argument("[stream] no stream with index " +
                                      std::to_string(index));
        }
        return s;
      }()) {}

int Stream::priority() const { return state_->priority; }

bool Stream::query() const {
  if (!state_->idle()) return false;
  if (!state_->errors.empty()) detail::raise_errors(state_->errors.take());
  return true;
}

void Stream::synchronize() const { detail::synchronize_state(*state_); }

void* Stream::cuda_stream() const {
  if (device_.type != DeviceType::gpu) {
    std::ostringstream os;
    os << "[cuda_stream] " << *this << " is not a GPU stream.";
    throw std::invalid_argument(os.str());
  }
  return state_->native_handle();
}

Stream Stream::from_external(void* handle, const Device& device) {
  if (device.type != DeviceType::gpu) {
    throw std::invalid_argument(
        "[from_external] External streams are CUDA streams: the device must "
        "be a GPU.");
  }
  if (!handle) {
    throw std::invalid_argument(
        "[from_external] The handle is null (CUDA's legacy default stream "
        "synchronises with every other stream; pass a stream made by its "
        "owner).");
  }
  detail::check_available(device, "from_external");
  return Stream(detail::make_stream(device, 0, handle));
}

std::ostream& operator<<(std::ostream& os, const Stream& s) {
  return os << "Stream(" << s.device() << ", " << s.index() << ")";
}

Stream default_stream(const Device& d) {
  auto& t = detail::tls();
  if (auto* s = t.find(d)) return Stream(*s);
  detail::check_available(d, "default_stream");
  auto s = detail::make_stream(d, 0);
  t.streams.emplace_back(d, s);
  return Stream(std::move(s));
}

Stream to_stream(const StreamOrDevice& s) {
  if (auto* st = std::get_if<Stream>(&s)) return *st;
  if (auto* d = std::get_if<Device>(&s)) return default_stream(*d);
  return default_stream(default_device());
}

Stream new_stream(const Device& d, int priority) {
  detail::check_available(d, "new_stream");
  return Stream(detail::make_stream(d, priority));
}

std::pair<int, int> stream_priority_range(const Device& d) {
  detail::check_available(d, "stream_priority_range");
  if (d.type == DeviceType::cpu) {
    return {detail::kCpuMostUrgent, detail::kCpuLeastUrgent};
  }
  return detail::gpu::priority_range(d.index);
}

void set_default_stream(const Stream& s) {
  detail::check_available(s.device(), "set_default_stream");
  auto& t = detail::tls();
  if (auto* cur = t.find(s.device())) {
    *cur = s.state_ptr();
  } else {
    t.streams.emplace_back(s.device(), s.state_ptr());
  }
}

void clear_streams() {
  auto& t = detail::tls();
  t.find(Device(cpu));  // resets after a fork
  t.streams.clear();
}

void synchronize() { synchronize(default_stream(default_device())); }

void synchronize(const Stream& s) { detail::synchronize_state(s.state()); }

void synchronize(const Device& d) {
  detail::check_available(d, "synchronize");
  std::vector<detail::ErrorPtr> errors;
  std::exception_ptr wait_failed;  // raised after the slots are gathered
  for (auto& s : detail::streams_of(d)) {
    try {
      s->timeline().help(s->last_value());
      s->timeline().wait(s->last_value());
    } catch (...) {
      if (!wait_failed) wait_failed = std::current_exception();
    }
    if (!s->errors.empty()) {
      for (auto& e : s->errors.take()) errors.push_back(std::move(e));
    }
  }
  // The errors taken from the slots are raised with a failed wait's, not
  // lost to it.
  if (wait_failed) {
    if (errors.empty()) std::rethrow_exception(wait_failed);
    try {
      std::rethrow_exception(wait_failed);
    } catch (...) {
      errors.push_back(detail::ErrorRecord::current("waiting"));
    }
  }
  detail::raise_errors(errors);
}

StreamContext::StreamContext(const StreamOrDevice& s) : device_(cpu) {
  if (std::holds_alternative<std::monostate>(s)) {
    throw std::invalid_argument("[stream] expected a Stream or a Device.");
  }
  Stream target = to_stream(s);
  detail::check_available(target.device(), "stream");
  device_ = target.device();
  auto& t = detail::tls();
  if (!t.find(device_)) default_stream(device_);
  auto* cur = t.find(device_);
  saved_ = *cur;
  *cur = target.state_ptr();
  t.contexts.push_back(device_);
}

StreamContext::~StreamContext() {
  auto& t = detail::tls();
  if (auto* cur = t.find(device_)) *cur = std::move(saved_);
  if (!t.contexts.empty()) t.contexts.pop_back();
}

}  // namespace runnel
