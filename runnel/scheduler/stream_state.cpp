#include "runnel/scheduler/stream_state.h"

#include <pthread.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "runnel/backend/gpu.h"
#include "runnel/scheduler/pool.h"

namespace runnel::detail {
namespace {

// The registry of live streams. Owner: this file; every access under mu.
struct Registry {
  std::mutex mu;
  std::unordered_map<int, std::weak_ptr<StreamState>> streams;
  int next_index = 0;
};

Registry& registry() {
  static Registry* r = [] {
    auto* reg = new Registry();  // never destroyed: streams outlive statics
    pthread_atfork([] { registry().mu.lock(); }, [] { registry().mu.unlock(); },
                   [] { registry().mu.unlock(); });
    return reg;
  }();
  return *r;
}

}  // namespace

StreamState::StreamState(int index, Device device, int priority,
                         std::unique_ptr<Timeline> timeline)
    : index(index),
      device(device),
      priority(priority),
      timeline_(timeline ? std::move(timeline) : std::make_unique<Timeline>()) {
}

StreamState::~StreamState() {
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  auto it = r.streams.find(index);
  if (it != r.streams.end() && it->second.expired()) r.streams.erase(it);
}

std::shared_ptr<StreamState> find_stream(int index) {
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  auto it = r.streams.find(index);
  return it == r.streams.end() ? nullptr : it->second.lock();
}

std::vector<std::shared_ptr<StreamState>> streams_of(const Device& d) {
  Registry& r = registry();
  std::vector<std::shared_ptr<StreamState>> live;
  {
    std::lock_guard lock(r.mu);
    live.reserve(r.streams.size());
    for (auto& [i, w] : r.streams) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
  }
  // Filtered outside the lock: a handle taken here may be a stream's last
  // (its owner let go meanwhile), and its destructor takes the lock.
  std::erase_if(live, [&](const auto& s) { return s->device != d; });
  return live;
}

std::shared_ptr<StreamState> make_stream(const Device& d, int priority,
                                         void* external) {
  Registry& r = registry();
  int index;
  {
    std::lock_guard lock(r.mu);
    index = r.next_index++;
  }
  std::shared_ptr<StreamState> s;
  if (d.type == DeviceType::cpu) {
    s = std::make_shared<CpuStream>(
        index, d, std::clamp(priority, kCpuMostUrgent, kCpuLeastUrgent));
  } else {
    auto [most, least] = gpu::priority_range(d.index);
    s = gpu::make_stream(d.index, index, std::clamp(priority, most, least),
                         external);
  }
  std::lock_guard lock(r.mu);
  r.streams[index] = s;
  return s;
}

void synchronize_state(StreamState& s) {
  const uint64_t v = s.last_value();
  s.timeline().help(v);
  s.timeline().wait(v);
  if (!s.errors.empty()) raise_errors(s.errors.take());
}

}  // namespace runnel::detail
