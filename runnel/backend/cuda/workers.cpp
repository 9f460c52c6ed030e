#include "runnel/backend/cuda/workers.h"

#include <chrono>
#include <cstdint>
#include <exception>
#include <thread>

#include "runnel/backend/cuda/device.h"
#include "runnel/backend/cuda/stream.h"
#include "runnel/backend/cuda/timeline.h"

namespace runnel::cuda {

// ---- the launcher: long host queues, off the threads that unblock them ----

void Launcher::launch_later(std::shared_ptr<GpuStream> s) {
  std::lock_guard lock(mu_);
  to_launch_.push_back(std::move(s));
  if (!started_) {
    started_ = true;
    std::thread([this] { loop(); }).detach();
  }
  cv_.notify_one();
}

void Launcher::loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return !to_launch_.empty(); });
    std::shared_ptr<GpuStream> s = std::move(to_launch_.front());
    to_launch_.pop_front();
    lock.unlock();
    if (!exiting()) {
      try {
        s->pump(SIZE_MAX);
      } catch (const std::exception&) {
        // A launch failed for the device (lost): waits raise it.
      }
    }
    s.reset();
    lock.lock();
  }
}

// ---- the watcher: advances timelines that CPU strands are parked on ----

void Watcher::watch(std::shared_ptr<GpuTimeline> t) {
  std::lock_guard lock(mu_);
  for (auto& w : watched_) {
    if (w == t) return;
  }
  watched_.push_back(std::move(t));
  if (!started_) {
    started_ = true;
    std::thread([this] { loop(); }).detach();
  }
  cv_.notify_one();
}

void Watcher::loop() {
  using Clock = std::chrono::steady_clock;
  auto last_progress = Clock::now();
  auto last_query = last_progress;
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return !watched_.empty(); });
    bool progress = false;
    // Poll without the lock: callbacks may watch more timelines.
    auto polled = watched_;
    lock.unlock();
    // The pinned counters cost no driver call. The events are asked too
    // where a stream has no counter, and now and then for all: a kernel
    // that faulted never lets its stream write the counter.
    const bool query =
        Clock::now() - last_query > std::chrono::microseconds(200);
    if (query) last_query = Clock::now();
    for (auto& t : polled) {
      progress |= query || !t->has_counter() ? t->poll() : t->read_counter();
    }
    lock.lock();
    std::erase_if(watched_, [](auto& t) { return !t->has_waiters(); });
    auto now = Clock::now();
    if (progress) last_progress = now;
    if (now - last_progress > std::chrono::microseconds(50)) {
      lock.unlock();
      std::this_thread::sleep_for(std::chrono::microseconds(20));
      lock.lock();
    }
  }
}

}  // namespace runnel::cuda
