// The switches behind the test hooks, consulted by the layers below the
// public API: fault injection, poisoned buffers, execution counters, the
// segment cap and the claim delay. runnel/testing.h is their public face;
// RUNNEL_FAULT, RUNNEL_POISON and RUNNEL_MAX_BATCH set them at start.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace runnel::detail::hooks {

// Fault injection ("alloc:N", "op:NAME:N", "" clears); std::invalid_argument
// when malformed.
void set_fault(const std::string& spec);
// Whether this allocation, or this run of op `name`, is the one to fail.
bool fault_alloc();
bool fault_op(const char* name);

// How many times a primitive of that name ran; the counter a run adds to
// (cached per thread by name pointer, for callers that keep it).
uint64_t execution_count(const std::string& name);
std::atomic<uint64_t>* execution_counter(const char* name);

// The most ops in one segment (0: no cap).
void set_max_batch(int n);
int max_batch();

// Whether every new CPU buffer is filled with kPoisonByte before its kernel
// runs, so that an element a kernel leaves unwritten shows as a wrong value.
void set_poison(bool on);
bool poison();
inline constexpr unsigned char kPoisonByte = 0xA5;

// A random sleep up to this many microseconds between claiming and
// submitting in every eval (0: off).
void set_claim_delay(int64_t microseconds);
int64_t claim_delay();

}  // namespace runnel::detail::hooks
