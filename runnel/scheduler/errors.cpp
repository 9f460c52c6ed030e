#include "runnel/scheduler/errors.h"

#include <algorithm>
#include <utility>

namespace runnel::detail {

ErrorPtr ErrorRecord::current(const std::string& where) {
  auto make = [&](Kind k, const char* what) {
    std::string msg = what;
    if (!where.empty()) msg += " (" + where + ")";
    static std::atomic<uint64_t> next_seq{1};
    auto r = std::make_shared<ErrorRecord>();
    r->kind = k;
    r->message = std::move(msg);
    r->seq = next_seq.fetch_add(1, std::memory_order_relaxed);
    return ErrorPtr(std::move(r));
  };
  try {
    throw;
  } catch (const out_of_memory& e) {
    return make(Kind::out_of_memory, e.what());
  } catch (const std::invalid_argument& e) {
    return make(Kind::invalid_argument, e.what());
  } catch (const std::out_of_range& e) {
    return make(Kind::out_of_range, e.what());
  } catch (const std::bad_alloc& e) {
    return make(Kind::out_of_memory, e.what());
  } catch (const std::exception& e) {
    return make(Kind::runtime, e.what());
  } catch (...) {
    return make(Kind::runtime, "unknown error");
  }
}

void ErrorRecord::raise(const std::string& notes) const {
  std::string msg = message + notes;
  switch (kind) {
    case Kind::invalid_argument:
      throw std::invalid_argument(msg);
    case Kind::out_of_range:
      throw std::out_of_range(msg);
    case Kind::out_of_memory:
      throw out_of_memory(msg);
    case Kind::runtime:
      break;
  }
  throw std::runtime_error(msg);
}

void ErrorRecord::raise_reported() const {
  reported.store(true, std::memory_order_release);
  raise();
}

void ErrorSlot::add(ErrorPtr e) {
  std::lock_guard lock(mu_);
  // An error that propagates down a chain reaches the slot once per op.
  if (!errors_.empty() && errors_.back() == e) return;
  errors_.push_back(std::move(e));
  pending_.store(true, std::memory_order_release);
}

std::vector<ErrorPtr> ErrorSlot::take() {
  std::vector<ErrorPtr> out;
  {
    std::lock_guard lock(mu_);
    pending_.store(false, std::memory_order_relaxed);
    out = std::exchange(errors_, {});
  }
  std::erase_if(out, [](const ErrorPtr& e) {
    return e->reported.load(std::memory_order_acquire);
  });
  return out;
}

void raise_errors(const std::vector<ErrorPtr>& errors) {
  if (errors.empty()) return;
  // Several streams' slots come in no particular order: the earliest
  // failure is raised, the rest follow as notes in the order they failed.
  std::vector<ErrorPtr> sorted = errors;
  std::stable_sort(
      sorted.begin(), sorted.end(),
      [](const ErrorPtr& a, const ErrorPtr& b) { return a->seq < b->seq; });
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::string notes;
  for (size_t i = 1; i < sorted.size(); ++i) {
    notes += "\n  note: also failed: " + sorted[i]->message;
  }
  sorted[0]->raise(notes);
}

}  // namespace runnel::detail
