// A device's two threads, started on first use and never stopped: the
// launcher, which launches long host queues off the threads that unblock
// them, and the watcher, which advances the timelines CPU strands wait on.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

namespace runnel::cuda {

class GpuStream;
class GpuTimeline;

class Launcher {
 public:
  // The launcher thread launches what is left of `s`'s host queue: a
  // thread that made its head launchable launches a few works only.
  void launch_later(std::shared_ptr<GpuStream> s);

 private:
  void loop();

  std::mutex mu_;  // guards to_launch_, started_
  std::condition_variable cv_;
  std::deque<std::shared_ptr<GpuStream>> to_launch_;
  bool started_ = false;
};

class Watcher {
 public:
  // The watcher polls timelines that have CPU waiters.
  void watch(std::shared_ptr<GpuTimeline> t);

 private:
  void loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<GpuTimeline>> watched_;
  bool started_ = false;
};

}  // namespace runnel::cuda
