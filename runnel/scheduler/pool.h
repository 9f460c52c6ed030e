// CPU streams are strands over one shared pool of workers (about one per
// core; RUNNEL_CPU_THREADS). A strand runs on at most one worker at a time; a
// strand waiting on a timeline is parked and holds no worker. Large ops split
// into chunks that only idle workers pick up.
#pragma once

#include <atomic>
#include <climits>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "runnel/scheduler/stream_state.h"

namespace runnel::detail {

// The CPU priority range: (most urgent, least urgent).
inline constexpr int kCpuMostUrgent = -5;
inline constexpr int kCpuLeastUrgent = 0;
inline constexpr int kCpuLevels = kCpuLeastUrgent - kCpuMostUrgent + 1;

class CpuStream final : public StreamState, public Driver {
 public:
  CpuStream(int index, Device device, int priority);
  uint64_t submit(std::unique_ptr<Work> w) override;

  // Pool side: claim a queued strand; run its ready work.
  bool try_claim();
  void drain();
  // A thread about to wait for this strand's timeline to reach `until` runs
  // the strand itself when it is queued and nothing else is ready: the wait
  // then costs no worker wake-up and no wake-up of the waiter. It stops at
  // `until`, leaving later work to the pool. False when it did not claim it.
  // A strand parked on a GPU stream's work, with nothing else ready, waits
  // for that work on the calling thread first.
  bool help(uint64_t until) override;
  // One step of passing a priority down a chain of waits.
  Dep lend(int priority, uint64_t until) override;
  // The priority the pool schedules it at: its own, or that of a more urgent
  // strand waiting for it, until the awaited value is reached.
  int effective_priority() const;

 private:
  friend class Pool;  // runs an urgent strand inline (Pool::run_urgent)
  enum class State { idle, queued, running, parked };
  // help()'s last step: claims and runs the strand when it is the one
  // ready strand.
  bool run_here(uint64_t until);
  // Runs the strand, claimed by the calling thread (not a worker), until
  // `until`; `counted`: Pool::take already counted it as running.
  void run_claimed(uint64_t until, bool counted = false);
  void wake();
  // Runs ready work; a helping thread stops once `until` is reached.
  void drain(uint64_t until, bool helping);
  // Parks on the first unreached point of `deps`; false when all reached
  // (the state is then `otherwise`: running for the worker that runs it).
  bool park_on(std::span<const Dep> deps, State otherwise = State::running);

  std::mutex mu_;  // guards queue_, state_, boost_until_, parked_on_
  std::deque<std::unique_ptr<Work>> queue_;
  State state_ = State::idle;
  std::atomic<int> inherited_{INT_MAX};
  uint64_t boost_until_ = 0;
  // While parked: the point it waits for, so that a priority it inherits
  // passes on down the chain of waits.
  Dep parked_on_;
  // A thread waits for the device work it is parked on (help): wake()
  // leaves the strand to that thread (held) rather than to the pool.
  bool helper_waiting_ = false;
  bool held_for_helper_ = false;
};

class Pool {
 public:
  // The process's pool, created on first use and never destroyed; a forked
  // child gets a fresh one.
  static Pool& get();
  explicit Pool(int threads);

  int num_threads() const { return static_cast<int>(threads_); }
  void enqueue(std::shared_ptr<CpuStream> s);
  // Moves `s`'s ready entry to the level of its effective priority when that
  // is more urgent (a priority lent to a queued strand): one entry per
  // strand, so that the ready count stays a count of strands. Nothing when
  // it has no entry (a worker took it).
  void promote(const CpuStream* s);
  // Wakes one idle worker, if any.
  void wake_one();
  // Takes `s`'s entry out of the ready queue (a thread about to run it
  // itself): false when a worker took it first. Otherwise the entry would
  // stay queued, stale, counted as ready until a worker pops it. When it
  // returns true the strand counts as running (add_running(-1) after).
  bool take(const CpuStream* s);
  bool has_ready() const { return ready_.load() > 0; }
  int ready_count() const { return ready_.load(); }
  // Strands on a worker right now (or being taken by one).
  int running() const { return running_.load(); }
  // A thread other than a worker running a strand (CpuStream::help) counts
  // as running meanwhile. Returns the new count.
  int add_running(int d) { return running_.fetch_add(d) + d; }

  // Runs f(begin, end) over [0, n) in chunks of at least `grain`; idle
  // workers help, the caller runs chunks itself and never sleeps. Between
  // the caller's chunks a more urgent strand may run (yield_to_urgent).
  void parallel_for(int64_t n, int64_t grain,
                    const std::function<void(int64_t, int64_t)>& f);

  // Runs, on the calling thread, a ready strand of a level more urgent than
  // `level` (0 is the most urgent), taken from the ready queue; false when
  // there is none.
  bool run_urgent(int level);
  // Whether any strand more urgent than the least urgent level is ready
  // (one relaxed load: the preemption points' first test).
  bool any_urgent_ready() const {
    return ready_urgent_.load(std::memory_order_relaxed) > 0;
  }
  // Whether a strand of a level more urgent than `level` is ready (one
  // relaxed load a level).
  bool urgent_ready(int level) const {
    for (int l = 0; l < level; ++l) {
      if (ready_at_[l].load(std::memory_order_relaxed) > 0) return true;
    }
    return false;
  }

 private:
  struct Entry {
    std::shared_ptr<CpuStream> strand;
    int64_t enqueued_ns;
    int level;
  };
  struct Job;
  void worker_loop();
  bool pop_ready(Entry& out);  // mu_ held
  static void run_chunks(Job& job);

  const size_t threads_;
  std::mutex mu_;  // guards levels_, jobs_, idle_ count's consistency
  std::condition_variable cv_;
  std::vector<std::deque<Entry>> levels_;
  std::vector<Job*> jobs_;
  std::atomic<int> ready_{0};
  std::atomic<int> ready_at_[kCpuLevels] = {};  // ready_ by level
  std::atomic<int> ready_urgent_{0};    // ready_at_ of all but the last level
  void count_ready(int level, int d) {  // mu_ held
    ready_at_[level].fetch_add(d, std::memory_order_relaxed);
    if (level < kCpuLevels - 1) {
      ready_urgent_.fetch_add(d, std::memory_order_relaxed);
    }
  }
  std::atomic<int> idle_{0};      // parked in cv_
  std::atomic<int> spinning_{0};  // changed under mu_: looking before parking
  std::atomic<int> num_jobs_{0};  // jobs_.size(), for spinning workers
  std::atomic<int> running_{0};
};

// While a thread defers wakes, enqueue leaves idle workers asleep and notes
// it: an eval about to wait submits so, then either runs the strand itself
// (CpuStream::help) or wakes a worker. take_deferred_wake() says whether a
// wake was skipped since the last call, and clears that.
void defer_wakes(bool on);
bool take_deferred_wake();

// Whether the calling thread runs a strand now: a pool worker, or a waiting
// thread helping (CpuStream::help).
bool on_worker_thread();

// A preemption point, called at each op boundary of a CPU strand's segment
// and between the chunks of its large ops: when a strand more urgent than
// the one this thread runs is ready, it runs here first. An urgent stream's
// next op then waits for one op or chunk of the work in its way, not for
// that work's whole segment. Free when no strand runs on this thread or
// nothing more urgent is ready.
void yield_to_urgent();

}  // namespace runnel::detail
