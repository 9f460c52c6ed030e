#include "runnel/scheduler/pool.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <thread>
#include <utility>

#include "runnel/memory/allocator.h"

namespace runnel::detail {
namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A ready strand that has waited gains one level per 10 ms.
constexpr int64_t kAgingNs = 10'000'000;

thread_local bool tls_worker = false;
// The strand whose work runs on this thread (drain), and whether it is one
// run inline at another's preemption point (no further preemption then).
thread_local CpuStream* tls_current = nullptr;
thread_local bool tls_preempting = false;
// Set while a worker publishes its strand's progress: it looks for work right
// after, so strands that progress makes ready need no wake-up.
thread_local bool tls_completing = false;
// defer_wakes(): wakes held back on this thread, and whether one was.
thread_local bool tls_defer_wakes = false;
thread_local bool tls_deferred_wake = false;

// How long a worker looks for work before it parks: about 2 us, and not at
// all when the awake workers fill the cores (spinning would take a core from
// a runnable thread).
constexpr int64_t kSpinNs = 2000;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Polls `has_work` for up to `ns` nanoseconds; true once it holds.
template <class F>
bool spin_for(int64_t ns, F has_work) {
  const int64_t until = now_ns() + ns;
  for (;;) {
    for (int i = 0; i < 16; ++i) {
      if (has_work()) return true;
      cpu_relax();
    }
    if (now_ns() >= until) return false;
  }
}

int configured_threads() {
  if (const char* env = std::getenv("RUNNEL_CPU_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

std::atomic<Pool*> g_pool{nullptr};
std::mutex g_pool_mu;

void fork_child() {
  // The workers did not survive the fork: the old pool is leaked as it is and
  // a fresh one starts on first use.
  g_pool.store(nullptr);
  new (&g_pool_mu) std::mutex();
}

}  // namespace

bool on_worker_thread() { return tls_worker; }

void defer_wakes(bool on) { tls_defer_wakes = on; }
bool take_deferred_wake() { return std::exchange(tls_deferred_wake, false); }

namespace {
// The allocator's park policy: a strand on a worker waits for a free, rather
// than failing, while other work is queued or running (ready first, then
// running: a strand moves from one to the other).
bool can_wait_for_free() {
  if (!on_worker_thread()) return false;
  Pool& pool = Pool::get();
  return pool.has_ready() || pool.running() > 1;
}
}  // namespace

Pool& Pool::get() {
  Pool* p = g_pool.load(std::memory_order_acquire);
  if (p) return *p;
  std::lock_guard lock(g_pool_mu);
  p = g_pool.load();
  if (!p) {
    static std::once_flag once;
    std::call_once(once, [] {
      pthread_atfork(nullptr, nullptr, fork_child);
      set_park_policy(can_wait_for_free);
    });
    p = new Pool(configured_threads());  // never destroyed
    g_pool.store(p, std::memory_order_release);
  }
  return *p;
}

Pool::Pool(int threads) : threads_(threads), levels_(kCpuLevels) {
  for (int i = 0; i < threads; ++i) {
    std::thread([this] {
      tls_worker = true;
      worker_loop();
    }).detach();
  }
}

void Pool::enqueue(std::shared_ptr<CpuStream> s) {
  int level =
      std::clamp(s->effective_priority(), kCpuMostUrgent, kCpuLeastUrgent) -
      kCpuMostUrgent;
  bool wake;
  {
    std::lock_guard lock(mu_);
    levels_[level].push_back({std::move(s), now_ns(), level});
    ready_.fetch_add(1, std::memory_order_relaxed);
    count_ready(level, 1);
    // A worker that makes a strand ready looks for work itself right after
    // (a handoff without a wake-up); a spinning worker takes it without one
    // (it looks again under mu_ before it parks); a worker that takes a
    // strand while more are ready wakes the next idle one (worker_loop).
    wake = !tls_completing && spinning_ == 0 && idle_.load() > 0;
  }
  if (!wake) return;
  if (tls_defer_wakes) {
    tls_deferred_wake = true;
  } else {
    cv_.notify_one();
  }
}

void Pool::promote(const CpuStream* s) {
  const int level =
      std::clamp(s->effective_priority(), kCpuMostUrgent, kCpuLeastUrgent) -
      kCpuMostUrgent;
  std::lock_guard lock(mu_);
  for (int l = level + 1; l < kCpuLevels; ++l) {
    auto& q = levels_[l];
    for (auto it = q.begin(); it != q.end(); ++it) {
      if (it->strand.get() != s) continue;
      Entry e = std::move(*it);
      q.erase(it);
      count_ready(l, -1);
      // Its place at the new level: by when it became ready, as if it had
      // been there all along.
      auto& to = levels_[level];
      auto at = std::find_if(to.begin(), to.end(), [&](const Entry& o) {
        return o.enqueued_ns > e.enqueued_ns;
      });
      e.level = level;
      to.insert(at, std::move(e));
      count_ready(level, 1);
      return;
    }
  }
}

bool Pool::take(const CpuStream* s) {
  std::lock_guard lock(mu_);
  for (auto& level : levels_) {
    for (auto it = level.begin(); it != level.end(); ++it) {
      if (it->strand.get() == s) {  // not its last reference: the caller's
        count_ready(it->level, -1);
        level.erase(it);
        // As pop_ready: running before it stops being ready, for the
        // allocator's "could anything still free memory" test.
        running_.fetch_add(1);
        ready_.fetch_sub(1);
        return true;
      }
    }
  }
  return false;
}

void Pool::wake_one() {
  if (idle_.load() > 0) cv_.notify_one();
}

bool Pool::pop_ready(Entry& out) {
  if (ready_.load(std::memory_order_relaxed) == 0) return false;
  int64_t now = now_ns();
  int best = -1;
  int64_t best_score = 0;
  for (int l = 0; l < kCpuLevels; ++l) {
    if (levels_[l].empty()) continue;
    int64_t score =
        int64_t{l} * kAgingNs - (now - levels_[l].front().enqueued_ns);
    if (best < 0 || score < best_score) {
      best = l;
      best_score = score;
    }
  }
  if (best < 0) return false;
  out = std::move(levels_[best].front());
  levels_[best].pop_front();
  count_ready(best, -1);
  // Counted as running before it stops counting as ready, so that a reader
  // of ready then running (the allocator) never sees it in neither.
  running_.fetch_add(1);
  ready_.fetch_sub(1);
  return true;
}

struct Pool::Job {
  const std::function<void(int64_t, int64_t)>* f;
  int64_t n, grain;
  std::atomic<int64_t> next{0};
  std::atomic<int> active{0};
  std::mutex err_mu;
  std::exception_ptr error;
};

void Pool::run_chunks(Job& job) {
  for (;;) {
    int64_t b = job.next.fetch_add(job.grain);
    if (b >= job.n) return;
    try {
      (*job.f)(b, std::min(job.n, b + job.grain));
    } catch (...) {
      std::lock_guard lock(job.err_mu);
      if (!job.error) job.error = std::current_exception();
    }
  }
}

void Pool::worker_loop() {
  const int cores =
      static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (;;) {
    Entry e;
    Job* job = nullptr;
    {
      std::unique_lock lock(mu_);
      bool spun = false;
      for (;;) {
        if (pop_ready(e)) break;
        if (!jobs_.empty()) {
          job = jobs_.front();
          job->active.fetch_add(1);
          break;
        }
        // Before parking, spin briefly for work that is about to come (the
        // next op of a strand handing off to another), since waking a
        // parked worker costs a futex wake: only while the awake workers,
        // this one included, leave a core free, and once per park.
        const int awake = static_cast<int>(threads_) - idle_.load();
        if (!spun && awake < cores) {
          spun = true;
          ++spinning_;
          lock.unlock();
          spin_for(kSpinNs, [this] {
            return ready_.load(std::memory_order_relaxed) > 0 ||
                   num_jobs_.load(std::memory_order_relaxed) > 0;
          });
          lock.lock();
          --spinning_;
          continue;  // look again under the lock before parking
        }
        if (running_.load() == 0) {
          // Nothing runs that could free memory: work waiting for frees
          // retries now, and fails with out_of_memory if still short.
          lock.unlock();
          wake_memory_waiters();
          lock.lock();
          if (pop_ready(e)) break;
        }
        idle_.fetch_add(1);
        cv_.wait(lock);
        idle_.fetch_sub(1);
        spun = false;
      }
    }
    if (!job && has_ready() && idle_.load() > 0) cv_.notify_one();
    if (job) {
      run_chunks(*job);
      job->active.fetch_sub(1, std::memory_order_release);
      continue;
    }
    if (e.strand->try_claim()) e.strand->drain();
    running_.fetch_sub(1);  // counted by pop_ready
  }
}

bool Pool::run_urgent(int level) {
  Entry e;
  {
    std::lock_guard lock(mu_);
    int l = 0;
    while (l < level && levels_[l].empty()) ++l;
    if (l >= level) return false;
    e = std::move(levels_[l].front());
    levels_[l].pop_front();
    count_ready(l, -1);
    // As pop_ready: running before it stops being ready.
    running_.fetch_add(1);
    ready_.fetch_sub(1);
  }
  if (!e.strand->try_claim()) {  // a stale duplicate: it runs elsewhere
    if (add_running(-1) == 0) wake_memory_waiters();
    return true;
  }
  // Up to what is submitted now: later work goes back to the ready queue.
  CpuStream& s = *e.strand;
  s.run_claimed(s.last_value(), /*counted=*/true);
  return true;
}

void yield_to_urgent() {
  CpuStream* cur = tls_current;
  if (!cur || tls_preempting) return;
  Pool& pool = Pool::get();
  if (!pool.any_urgent_ready()) return;  // the common case: one load
  const int level =
      std::clamp(cur->effective_priority(), kCpuMostUrgent, kCpuLeastUrgent) -
      kCpuMostUrgent;
  if (!pool.urgent_ready(level)) return;
  tls_preempting = true;
  try {
    while (pool.run_urgent(level)) {
    }
  } catch (...) {
    tls_preempting = false;
    throw;
  }
  tls_preempting = false;
}

void Pool::parallel_for(int64_t n, int64_t grain,
                        const std::function<void(int64_t, int64_t)>& f) {
  grain = std::max<int64_t>(grain, 1);
  int64_t chunks = (n + grain - 1) / grain;
  int helpers = std::min<int64_t>(idle_.load() + spinning_.load(), chunks - 1);
  if (helpers <= 0 || threads_ == 1) {
    if (n <= 0) return;
    if (!tls_current || tls_preempting || chunks < 2) {
      f(0, n);
      return;
    }
    // Alone on a strand: in up to 32 pieces, with a preemption point
    // between them, so that an urgent strand waits for a piece, not the op.
    const int64_t piece = std::max<int64_t>(1, (chunks + 31) / 32) * grain;
    for (int64_t b = 0; b < n; b += piece) {
      if (b > 0) yield_to_urgent();
      f(b, std::min(n, b + piece));
    }
    return;
  }
  Job job;
  job.f = &f;
  job.n = n;
  job.grain = grain;
  int wake;
  {
    std::lock_guard lock(mu_);
    jobs_.push_back(&job);
    num_jobs_.store(static_cast<int>(jobs_.size()), std::memory_order_relaxed);
    // Spinning workers find the job without a wake-up.
    wake = std::min(helpers, idle_.load());
  }
  for (int i = 0; i < wake; ++i) cv_.notify_one();
  run_chunks(job);
  {
    std::lock_guard lock(mu_);
    jobs_.erase(std::find(jobs_.begin(), jobs_.end(), &job));
    num_jobs_.store(static_cast<int>(jobs_.size()), std::memory_order_relaxed);
  }
  // Helpers that took the job finish their last chunk: short, so spin.
  while (job.active.load(std::memory_order_acquire) > 0) {
    std::this_thread::yield();
  }
  if (job.error) std::rethrow_exception(job.error);
}

// ---- CpuStream ----

CpuStream::CpuStream(int index, Device device, int priority)
    : StreamState(index, device, priority) {
  timeline_->driver = this;
}

int CpuStream::effective_priority() const {
  return std::min(priority, inherited_.load(std::memory_order_relaxed));
}

uint64_t CpuStream::submit(std::unique_ptr<Work> w) {
  if (fork_generation() != 0) {
    // A forked child: work queued behind, or waiting for, work the parent
    // had pending would never run.
    timeline_->check_not_lost_to_fork(last_value(),
                                      "Earlier work on this stream");
    for (const Dep& d : w->deps) {
      if (d.timeline) d.timeline->check_not_lost_to_fork(d.value, "An input");
    }
  }
  Work* head = nullptr;
  bool waits = false;
  uint64_t v;
  {
    std::lock_guard lock(mu_);
    v = last_value_.load(std::memory_order_relaxed) + 1;
    w->value = v;
    last_value_.store(v, std::memory_order_release);
    timeline_->note_submitted(v);
    queue_.push_back(std::move(w));
    if (state_ == State::idle) {
      // Ours to start. While we look at what its next work waits for, it
      // is parked: no stale pool entry claims it, no priority boost queues
      // it. Once queued, a stale entry may claim it and run (and free) the
      // head at once: `head` is read after the lock only when parked.
      head = queue_.front().get();
      waits = !head->deps.empty();
      state_ = waits ? State::parked : State::queued;
    }
  }
  if (!head) return v;
  if (waits) {
    // A strand whose next work waits on another stream parks on it here
    // rather than take a worker (and its wake-up) only to park: the thread
    // that reaches the value queues it, and runs it itself when it is a
    // worker (a handoff without a wake-up).
    if (park_on(head->deps, State::parked)) return v;  // touch nothing more
    std::lock_guard lock(mu_);
    state_ = State::queued;
  }
  Pool::get().enqueue(std::static_pointer_cast<CpuStream>(shared_from_this()));
  return v;
}

bool CpuStream::help(uint64_t until) {
  Pool& pool = Pool::get();
  if (timeline_->reached(until)) return false;
  // Parked on a device's work (a GPU stream's): wait for that work here
  // (not for a gate or other host event, which may never come). Whichever
  // thread sees the device finish (this one, or the device's watcher) then
  // hands the strand to this thread instead of queueing it for a worker.
  Dep on;
  {
    std::lock_guard lock(mu_);
    if (state_ == State::parked && parked_on_.timeline &&
        parked_on_.timeline->on_device() && !helper_waiting_) {
      on = parked_on_;
      helper_waiting_ = true;
    }
  }
  if (!on.timeline) return run_here(until);
  // Claims the strand if wake() held it for us (it is then in no pool
  // queue); true when it did.
  auto stop_waiting = [this] {
    std::lock_guard lock(mu_);
    helper_waiting_ = false;
    if (!std::exchange(held_for_helper_, false) || state_ != State::queued) {
      return false;  // not woken yet, or a worker took it (inherit)
    }
    state_ = State::running;
    return true;
  };
  try {
    on.timeline->help(on.value);  // what that work waits for, first
    on.timeline->wait(on.value);
  } catch (...) {
    // The strand runs (and records the failure) on a worker.
    if (stop_waiting()) {
      {
        std::lock_guard lock(mu_);
        state_ = State::queued;
      }
      pool.enqueue(std::static_pointer_cast<CpuStream>(shared_from_this()));
    }
    throw;
  }
  // The wait returns once the value is published; the callback that wakes
  // the strand runs right after, possibly on another thread.
  for (int i = 0; i < 1000; ++i) {
    {
      std::lock_guard lock(mu_);
      if (state_ != State::parked) break;
    }
    std::this_thread::yield();
  }
  if (!stop_waiting()) return run_here(until);
  run_claimed(until);
  return true;
}

void CpuStream::run_claimed(uint64_t until, bool counted) {
  Pool& pool = Pool::get();
  if (!counted) pool.add_running(1);
  const bool was_worker = std::exchange(tls_worker, true);
  drain(until, true);
  tls_worker = was_worker;
  // As a worker going idle does: when nothing runs any more that could free
  // memory, work parked waiting for frees retries (and may raise).
  if (pool.add_running(-1) == 0) wake_memory_waiters();
}

bool CpuStream::run_here(uint64_t until) {
  Pool& pool = Pool::get();
  // Our own entry is the one ready strand: running it here takes no turn
  // from a strand the pool would have run first.
  if (pool.ready_count() != 1 || timeline_->reached(until)) return false;
  if (!pool.take(this)) return false;
  if (!try_claim()) {  // a stale entry: the strand runs elsewhere
    if (pool.add_running(-1) == 0) wake_memory_waiters();
    return false;
  }
  run_claimed(until, true);
  return true;
}

bool CpuStream::try_claim() {
  std::lock_guard lock(mu_);
  if (state_ != State::queued) return false;  // a stale duplicate entry
  state_ = State::running;
  return true;
}

void CpuStream::wake() {
  Dep was;  // dropped outside the lock
  {
    std::lock_guard lock(mu_);
    state_ = State::queued;
    was = std::move(parked_on_);
    parked_on_ = {};
    // A thread waiting for the same point runs it (help): no worker.
    if (helper_waiting_) {
      held_for_helper_ = true;
      return;
    }
  }
  Pool::get().enqueue(std::static_pointer_cast<CpuStream>(shared_from_this()));
}

namespace {
// Lends priority `p` to the strand that reaches `d`, and down the chain: a
// strand parked on another lends it the priority too, until the value it
// waits for. Iterative: chains may be long.
void lend_down(int p, Dep d) {
  while (d.timeline && d.timeline->driver) {
    Dep next = d.timeline->driver->lend(p, d.value);  // holds the next strand
    d = std::move(next);
  }
}
}  // namespace

Dep CpuStream::lend(int p, uint64_t until) {
  bool requeue = false;
  Dep down;
  {
    std::lock_guard lock(mu_);
    if (p >= effective_priority()) return {};
    inherited_.store(p, std::memory_order_relaxed);
    boost_until_ = std::max(boost_until_, until);
    requeue = state_ == State::queued;
    if (state_ == State::parked) down = parked_on_;
  }
  // Its ready entry moves to the new level (one entry per strand).
  if (requeue) Pool::get().promote(this);
  return down;
}

bool CpuStream::park_on(std::span<const Dep> deps, State otherwise) {
  for (const Dep& d : deps) {
    if (d.reached()) continue;
    {
      std::lock_guard lock(mu_);
      state_ = State::parked;
      parked_on_ = d;
    }
    lend_down(effective_priority(), d);
    auto self = std::static_pointer_cast<CpuStream>(shared_from_this());
    // Held here: once the callback is in, the strand may run and drop the
    // work that `d` belongs to while on_reached still runs.
    const std::shared_ptr<Timeline> on = d.timeline;
    if (on->on_reached(d.value, [self] { self->wake(); })) {
      return true;  // the callback re-queues us; touch nothing more
    }
    Dep was;  // dropped outside the lock
    std::lock_guard lock(mu_);
    state_ = otherwise;
    was = std::move(parked_on_);
    parked_on_ = {};
  }
  return false;
}

void CpuStream::drain() { drain(UINT64_MAX, false); }

void CpuStream::drain(uint64_t until, bool helping) {
  // Keep ourselves alive while running, whoever else drops us.
  auto self = shared_from_this();
  Pool& pool = Pool::get();
  // This thread runs our work until drain returns (an urgent strand run
  // inline at a preemption point restores the one it interrupted).
  struct Current {
    CpuStream* saved = tls_current;
    explicit Current(CpuStream* s) { tls_current = s; }
    ~Current() { tls_current = saved; }
  } current(this);
  for (;;) {
    Work* w;
    {
      std::lock_guard lock(mu_);
      if (queue_.empty()) {
        state_ = State::idle;
        return;
      }
      w = queue_.front().get();
    }
    if (park_on(w->deps)) return;
    w->deps.clear();
    w->run();
    if (w->resume_after.timeline) {
      Dep resume = std::exchange(w->resume_after, {});
      if (park_on({&resume, 1})) return;
      continue;  // already reached: run it again
    }
    std::unique_ptr<Work> owned;
    {
      std::lock_guard lock(mu_);
      owned = std::move(queue_.front());
      queue_.pop_front();
    }
    uint64_t v = owned->value;
    owned.reset();  // drop inputs before anyone sees the value reached
    // A worker looks for work right after; a helping thread does not.
    tls_completing = !helping;
    timeline_->advance(v);
    tls_completing = false;
    if (inherited_.load(std::memory_order_relaxed) != INT_MAX) {
      std::lock_guard lock(mu_);
      if (v >= boost_until_) inherited_.store(INT_MAX);
    }
    if (helping ? v < until : !pool.has_ready()) continue;
    // Others are ready (or the helping thread has what it waits for): give them
    // their turn. If our next work waits on another stream, park on it now
    // rather than take a place in the ready queue (and a worker's wake-up) that
    // it could not use.
    Work* next;
    {
      std::lock_guard lock(mu_);
      if (queue_.empty()) {
        state_ = State::idle;
        return;
      }
      next = queue_.front().get();
    }
    if (park_on(next->deps)) return;
    {
      std::lock_guard lock(mu_);
      state_ = State::queued;
    }
    pool.enqueue(std::static_pointer_cast<CpuStream>(self));
    return;
  }
}

}  // namespace runnel::detail
