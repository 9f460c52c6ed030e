// Errors raised while work runs: kept in completion records and stream slots
// and raised at the next wait.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "runnel/errors.h"

namespace runnel::detail {

// What failed, once: shared by every array and slot that holds it.
struct ErrorRecord {
  enum class Kind { invalid_argument, out_of_range, out_of_memory, runtime };
  Kind kind = Kind::runtime;
  std::string message;
  uint64_t seq = 0;  // process-wide order of failure: the earliest is raised
  // Set once the failure has reached the user through one of its arrays
  // (eval, item, a conversion): stream slots then no longer raise it.
  mutable std::atomic<bool> reported{false};

  // Captures the exception in flight, prefixing where it happened.
  static std::shared_ptr<const ErrorRecord> current(const std::string& where);
  [[noreturn]] void raise(const std::string& notes = {}) const;
  // raise(), from an array that holds the failure: marks it reported.
  [[noreturn]] void raise_reported() const;
};
using ErrorPtr = std::shared_ptr<const ErrorRecord>;

// A stream's pending errors, raised and cleared by synchronize; a failure
// already reported through an array is dropped, not raised again.
class ErrorSlot {
 public:
  void add(ErrorPtr e);
  bool empty() const { return !pending_.load(std::memory_order_acquire); }
  std::vector<ErrorPtr> take();

 private:
  std::atomic<bool> pending_{false};
  std::mutex mu_;
  std::vector<ErrorPtr> errors_;
};

// Raises the earliest of `errors` (by seq), the others attached as notes.
void raise_errors(const std::vector<ErrorPtr>& errors);

}  // namespace runnel::detail
