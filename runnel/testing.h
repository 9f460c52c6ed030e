// Test hooks, built with the library: they make orderings
// observable without relying on timing.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "runnel/array.h"
#include "runnel/core/hooks.h"
#include "runnel/stream.h"

namespace runnel::testing {

// Work on a stream that finishes only when open() is called: everything
// submitted to the stream after it waits. On the CPU it parks the strand.
// Dropping an unopened gate opens it.
class Gate {
 public:
  explicit Gate(Stream s);
  ~Gate();
  Gate(Gate&&) = default;
  Gate& operator=(Gate&&) = default;
  void open();

  struct State;

 private:
  std::shared_ptr<State> state_;
};
Gate block(Stream s);

// Runs `fn` on the stream, in order with its other work (a test's probe).
// An exception from `fn` is recorded in the stream's error slot.
void enqueue(Stream s, std::function<void()> fn);

// An identity op that sleeps `microseconds` on the CPU before passing `a` on.
array delay(const array& a, int64_t microseconds, StreamOrDevice s = {});

// An op that faults its device (a GPU trap: the device is lost for the rest
// of the process). Run it in a child process.
array trap(const array& a, StreamOrDevice s = {});

// How many times a primitive of that name ran (its kernel was called).
uint64_t execution_count(const std::string& op_name);

// RUNNEL_MAX_BATCH: the most ops in one segment (0: no cap).
void set_max_batch(int n);
int max_batch();

// RUNNEL_FAULT: "alloc:N" fails the Nth allocation from now, "op:NAME:N" the
// Nth run of op NAME from now; "" clears. std::invalid_argument when malformed.
void set_fault(const std::string& spec);

// RUNNEL_POISON=1 (read once) or set_poison(true): every new CPU buffer is
// filled with the byte 0xA5 before its kernel runs, so that an element a
// kernel leaves unwritten shows up as a wrong value.
void set_poison(bool on);
bool poison();
inline constexpr unsigned char kPoisonByte = detail::hooks::kPoisonByte;

// Sleeps a random time up to `microseconds` between claiming and submitting
// in every eval (0: off), to widen races between concurrent evals.
void set_claim_delay(int64_t microseconds);

}  // namespace runnel::testing
