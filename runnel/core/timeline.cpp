#include "runnel/core/timeline.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

namespace runnel::detail {
namespace {
bool later(const auto& a, const auto& b) { return a.value > b.value; }
std::atomic<uint64_t> g_fork_generation{0};
}  // namespace

uint64_t fork_generation() {
  return g_fork_generation.load(std::memory_order_relaxed);
}
void note_fork() { g_fork_generation.fetch_add(1); }

// The first timeline registers the fork hook: the pool may never have
// started before a fork (a strand parked at submission takes no worker).
Timeline::Timeline()
    : submitted_generation_([] {
        static const int hooked = pthread_atfork(nullptr, nullptr, note_fork);
        (void)hooked;
        return fork_generation();
      }()) {}

void Timeline::note_submitted(uint64_t v) {
  const uint64_t g = fork_generation();
  if (submitted_generation_.load(std::memory_order_relaxed) != g) {
    submitted_before_fork_.store(submitted_.load(std::memory_order_relaxed),
                                 std::memory_order_relaxed);
    submitted_generation_.store(g, std::memory_order_release);
  }
  submitted_.store(v, std::memory_order_release);
}

bool Timeline::lost_to_fork(uint64_t v) const {
  const uint64_t g = submitted_generation_.load(std::memory_order_acquire);
  const uint64_t before = g == fork_generation()
                              ? submitted_before_fork_.load()
                              : submitted_.load(std::memory_order_acquire);
  return !reached(std::min(v, before));
}

void Timeline::check_not_lost_to_fork(uint64_t v, const char* what) const {
  if (!lost_to_fork(v)) return;
  throw std::runtime_error(
      std::string("[fork] ") + what +
      " was pending when the process forked; the parent's threads ran it and "
      "the child has none of them: compute it again on a stream made in the "
      "child");
}

void Timeline::advance(uint64_t v) {
  // Store before reading has_waiters_, and on_reached sets has_waiters_
  // before reading completed_: with both seq_cst, one side sees the other.
  uint64_t prev = completed_.load(std::memory_order_relaxed);
  while (prev < v && !completed_.compare_exchange_weak(prev, v)) {
  }
  if (sleepers_.load() > 0) completed_.notify_all();
  if (!has_waiters_.load()) return;
  std::vector<Callback> ready;
  {
    std::lock_guard lock(mu_);
    uint64_t now = completed_.load();
    while (!waiters_.empty() && waiters_.front().value <= now) {
      std::pop_heap(waiters_.begin(), waiters_.end(), later<Waiter, Waiter>);
      ready.push_back(std::move(waiters_.back().cb));
      waiters_.pop_back();
    }
    if (waiters_.empty()) has_waiters_.store(false);
  }
  for (auto& cb : ready) cb();
}

bool Timeline::on_reached(uint64_t v, Callback cb) {
  {
    std::lock_guard lock(mu_);
    has_waiters_.store(true);
    if (completed_.load() >= v) {
      if (waiters_.empty()) has_waiters_.store(false);
      return false;
    }
    waiters_.push_back({v, std::move(cb)});
    std::push_heap(waiters_.begin(), waiters_.end(), later<Waiter, Waiter>);
  }
  // Outside the lock: a device timeline makes driver calls here, which
  // advance() on another thread need not wait for. Should the callback have
  // run meanwhile, the watcher finds no waiters and lets the timeline go.
  // (The caller holds this timeline alive across the call.) The callback is
  // in: a failure to watch (a lost device) must not make the caller run it
  // too; waits on a lost device raise its error.
  try {
    watch(v);
  } catch (...) {
  }
  return true;
}

bool Timeline::help(uint64_t v) { return driver && driver->help(v); }

void Timeline::wait(uint64_t v) const {
  if (reached(v)) return;
  using Clock = std::chrono::steady_clock;
  auto spin_until = Clock::now() + std::chrono::microseconds(20);
  while (Clock::now() < spin_until) {
    for (int i = 0; i < 64; ++i) {
      if (reached(v)) return;
    }
  }
  check_not_lost_to_fork(v, "The work waited for");
  sleepers_.fetch_add(1);
  for (uint64_t seen = completed_.load(); seen < v; seen = completed_.load()) {
    completed_.wait(seen);
  }
  sleepers_.fetch_sub(1);
}

}  // namespace runnel::detail
