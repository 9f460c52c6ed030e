// Streams: ordered queues of work on one device.
#pragma once

#include <iosfwd>
#include <memory>
#include <utility>
#include <variant>

#include "runnel/device.h"

namespace runnel {

namespace detail {
class StreamState;
}

// A counted handle to a stream's state. Indices are unique in the process.
class Stream {
 public:
  // Rebuilds a handle from the index of a live stream;
  // std::invalid_argument ("[stream] no stream with index N") otherwise.
  explicit Stream(int index);
  explicit Stream(std::shared_ptr<detail::StreamState> state);

  // Unique in the process; the stream's device.
  int index() const { return index_; }
  const Device& device() const { return device_; }

  // The clamped priority; lower is more urgent.
  int priority() const;
  // Whether all work submitted so far has finished; raises pending errors.
  bool query() const;
  // Waits for all work submitted so far; raises (and clears) pending errors.
  void synchronize() const;

  // A GPU stream's CUDA stream (a cudaStream_t), for ordering other
  // libraries' work with runnel's. Everything submitted to this stream so far
  // has been enqueued on the CUDA stream when it returns (it waits for work
  // still held on the host for another stream). std::invalid_argument for a
  // CPU stream.
  void* cuda_stream() const;
  // A runnel stream that enqueues its GPU work on `handle`, a CUDA stream of
  // GPU `device` that another library made (PyTorch, CuPy): runnel's work and
  // theirs are ordered as that stream orders them. runnel never destroys the
  // handle; its owner must keep it alive while runnel work on it is pending.
  static Stream from_external(void* handle, const Device& device);

  detail::StreamState& state() const { return *state_; }
  const std::shared_ptr<detail::StreamState>& state_ptr() const {
    return state_;
  }

  friend bool operator==(const Stream& a, const Stream& b) {
    return a.index_ == b.index_;
  }

 private:
  int index_;
  Device device_;
  std::shared_ptr<detail::StreamState> state_;
};

std::ostream& operator<<(std::ostream& os, const Stream& s);

// Empty: the default stream of the default device at the time of the call;
// a device: that device's default stream.
using StreamOrDevice = std::variant<std::monostate, Stream, Device>;

// The stream an op given `s` runs on.
Stream to_stream(const StreamOrDevice& s);

// This thread's default stream for `d`, created on first use.
Stream default_stream(const Device& d);
// A new stream; `priority` is clamped to stream_priority_range(d).
Stream new_stream(const Device& d, int priority = 0);
// (most urgent, least urgent) priority values of a device: lower is more
// urgent, as in CUDA.
std::pair<int, int> stream_priority_range(const Device& d);
// Makes `s` this thread's default stream for s.device().
void set_default_stream(const Stream& s);
// Forgets this thread's default streams; their pending work still completes.
void clear_streams();

// Waits for the default stream of the default device.
void synchronize();
// Waits for everything submitted to `s` so far; raises its pending errors.
void synchronize(const Stream& s);
// Waits for every stream of `d`; raises their pending errors.
void synchronize(const Device& d);

// Inside, this thread's default device is the stream's device and its default
// stream for that device is the stream; the destructor restores both.
class StreamContext {
 public:
  explicit StreamContext(const StreamOrDevice& s);
  ~StreamContext();
  StreamContext(const StreamContext&) = delete;
  StreamContext& operator=(const StreamContext&) = delete;

 private:
  Device device_;
  std::shared_ptr<detail::StreamState> saved_;  // null: there was none
};

}  // namespace runnel

template <>
struct std::hash<runnel::Stream> {
  size_t operator()(const runnel::Stream& s) const noexcept {
    return std::hash<int>()(s.index());
  }
};
