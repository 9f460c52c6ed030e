#include "runnel/core/hooks.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>

namespace runnel::detail::hooks {
namespace {

// Fault injection: one spec at a time, under mu. `armed` keeps the hot path
// to one relaxed load when no fault is set.
struct Faults {
  std::mutex mu;
  std::atomic<bool> armed{false};
  bool alloc = false;
  std::string op;
  int64_t left = 0;

  // Read on first use, maybe from inside an allocation: a malformed value
  // is reported and ignored, never thrown from there.
  Faults() {
    if (const char* env = std::getenv("RUNNEL_FAULT")) {
      try {
        set(env);
      } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "runnel: RUNNEL_FAULT ignored: %s\n", e.what());
      }
    }
  }
  void set(const std::string& spec) {
    std::lock_guard lock(mu);
    armed = false;
    if (spec.empty()) return;
    auto bad = [&] {
      return std::invalid_argument(
          "[set_fault] Expected alloc:N or "
          "op:NAME:N, got '" +
          spec + "'.");
    };
    try {
      if (spec.rfind("alloc:", 0) == 0) {
        alloc = true;
        left = std::stoll(spec.substr(6));
      } else if (spec.rfind("op:", 0) == 0) {
        auto colon = spec.rfind(':');
        if (colon <= 3) throw bad();
        alloc = false;
        op = spec.substr(3, colon - 3);
        left = std::stoll(spec.substr(colon + 1));
      } else {
        throw bad();
      }
    } catch (const std::invalid_argument&) {
      throw bad();
    } catch (const std::out_of_range&) {
      throw bad();
    }
    if (left < 1) throw bad();
    armed = true;
  }
  bool hit(bool is_alloc, const char* name) {
    if (!armed.load(std::memory_order_relaxed)) return false;
    std::lock_guard lock(mu);
    if (!armed || alloc != is_alloc || (!is_alloc && op != name)) return false;
    if (--left > 0) return false;
    armed = false;
    return true;
  }
};

Faults& faults() {
  static auto* f = new Faults();
  return *f;
}

struct Counts {
  std::mutex mu;
  std::unordered_map<std::string, std::atomic<uint64_t>> by_name;
  std::atomic<uint64_t>& get(const std::string& name) {
    std::lock_guard lock(mu);
    return by_name[name];
  }
};

Counts& counts() {
  static auto* c = new Counts();
  return *c;
}

int env_int(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : 0;
}

std::atomic<int> g_max_batch{env_int("RUNNEL_MAX_BATCH")};
std::atomic<int64_t> g_claim_delay{0};
std::atomic<bool> g_poison{env_int("RUNNEL_POISON") != 0};

// Per thread: the counters by name pointer, and the last one used in front
// (a chain runs one op many times).
struct CountCache {
  const char* last_name = nullptr;
  std::atomic<uint64_t>* last = nullptr;
  std::unordered_map<const char*, std::atomic<uint64_t>*> by_name;
};
thread_local CountCache tls_counts;

}  // namespace

void set_fault(const std::string& spec) { faults().set(spec); }
bool fault_alloc() { return faults().hit(true, nullptr); }
bool fault_op(const char* name) { return faults().hit(false, name); }

uint64_t execution_count(const std::string& name) {
  return counts().get(name).load();
}

std::atomic<uint64_t>* execution_counter(const char* name) {
  CountCache* cc = &tls_counts;
  if (name != cc->last_name) {
    auto& c = cc->by_name[name];
    if (!c) c = &counts().get(name);
    cc->last_name = name;
    cc->last = c;
  }
  return cc->last;
}

void set_max_batch(int n) { g_max_batch.store(std::max(n, 0)); }
int max_batch() { return g_max_batch.load(std::memory_order_relaxed); }

void set_poison(bool on) { g_poison.store(on); }
bool poison() { return g_poison.load(std::memory_order_relaxed); }

void set_claim_delay(int64_t us) { g_claim_delay.store(us); }
int64_t claim_delay() { return g_claim_delay.load(std::memory_order_relaxed); }

}  // namespace runnel::detail::hooks
