// A child process for the exit and fork tests: `exit_child pending` exits
// with a 60 s op still running; `exit_child fork` forks after using the pool
// and checks the child computes on a fresh pool; `exit_child fork-pending`
// forks with work pending and checks the child raises instead of hanging;
// `exit_child fork-busy` forks while other threads allocate.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "runnel/runnel.h"
#include "runnel/testing.h"

using namespace runnel;

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  if (std::strcmp(argv[1], "pending") == 0) {
    Stream s = new_stream(cpu);
    array x = testing::delay(ones({4}, float32, s), 60'000'000, s);
    async_eval({x});
    // Let the worker start the 60 s sleep, then exit with it running.
    while (x.status() == ArrayStatus::unscheduled) {
    }
    usleep(20000);
    std::printf("exiting\n");
    std::fflush(stdout);
    return 0;
  }
  if (std::strcmp(argv[1], "fork") == 0) {
    Stream s = new_stream(cpu);
    array a = sum(arange(1000, s), s);
    if (a.item<int>() != 499500) return 3;
    // The workers may still be freeing the op's inputs: a child forked while
    // a worker holds ASan's allocator lock waits forever (seen under ASan;
    // runnel's own allocators are fork-safe, see fork-busy). Let them park
    // first.
    usleep(50000);
    pid_t pid = fork();
    if (pid == 0) {
      Stream t = new_stream(cpu);
      array b = sum(arange(100, t), t);
      int ok = b.item<int>() == 4950 && sum(arange(10, t), t).item<int>() == 45;
      // A stream made and finished before the fork goes on in the child:
      // its new work, which waits 20 ms for another stream so that the wait
      // for it sleeps, is not "lost to the fork" (it raised "[fork]" before).
      array late = testing::delay(zeros({1 << 20}, float32, t), 20000, t);
      array big = exp(late, s);
      ok = ok && sum(big, s).item<float>() == float(1 << 20);
      _exit(ok ? 0 : 4);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 5;
  }
  if (std::strcmp(argv[1], "fork-busy") == 0) {
    // Forks again and again while other threads make and drop arrays, so
    // that some fork lands while one of them holds an allocator's lock (the
    // small-object lists', the CPU allocator's): each child must still make
    // arrays and compute, within the parent's timeout.
    std::atomic<bool> stop{false};
    std::vector<std::thread> busy;
    for (int t = 0; t < 3; ++t) {
      busy.emplace_back([&stop] {
        Stream s = new_stream(cpu);
        while (!stop.load(std::memory_order_relaxed)) {
          std::vector<array> keep;
          for (int i = 0; i < 64; ++i) keep.push_back(full({i + 1}, i, s));
          eval(add(keep[63], keep[0], s));
        }
      });
    }
    int failed = 0;
    for (int i = 0; i < 200 && !failed; ++i) {
      usleep(500);
      pid_t pid = fork();
      if (pid == 0) {
        // Host arrays only: more than this thread's small-object cache
        // holds, so the shared lists are used. (No threads: under
        // ThreadSanitizer a thread started in the child of a multi-threaded
        // fork can reuse a parent thread's id, which it cannot handle.)
        std::vector<array> keep;
        for (int k = 0; k < 2000; ++k) {
          keep.emplace_back(std::vector<int32_t>(k % 64 + 1, k),
                            Shape{k % 64 + 1});
        }
        int ok = keep[1234].data<int32_t>()[18] == 1234;
        _exit(ok ? 0 : 4);
      }
      int status = 0;
      waitpid(pid, &status, 0);
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed = i + 1;
    }
    stop = true;
    for (auto& t : busy) t.join();
    if (failed) std::printf("fork %d: the child failed\n", failed);
    return failed ? 4 : 0;
  }
  if (std::strcmp(argv[1], "fork-pending") == 0) {
    // Forks while a stream has work parked behind a gate: in the child that
    // work never runs, so every wait on it raises "[fork]" instead of
    // hanging, and new streams compute.
    Stream s = new_stream(cpu);
    testing::Gate gate = testing::block(s);
    array y = add(arange(100, s), arange(100, s), s);
    async_eval({y});
    pid_t pid = fork();
    if (pid == 0) {
      auto raises_fork = [](auto f) {
        try {
          f();
        } catch (const std::runtime_error& e) {
          return std::strstr(e.what(), "[fork]") != nullptr;
        }
        return false;
      };
      Stream t = new_stream(cpu);
      int ok =
          raises_fork([&] { y.eval(); }) &&
          raises_fork([&] { s.synchronize(); }) &&
          raises_fork([&] { eval(add(y, y, t)); }) &&
          raises_fork([&] { eval(multiply(ones({4}, int32, s), 2, s)); }) &&
          sum(arange(100, t), t).item<int>() == 4950;
      std::printf("child ok=%d\n", ok);
      std::fflush(stdout);
      _exit(ok ? 0 : 4);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    gate.open();
    if (sum(y, s).item<int>() != 9900) return 6;  // the parent's goes on
    return WIFEXITED(status) ? WEXITSTATUS(status) : 5;
  }
  if (std::strcmp(argv[1], "trap") == 0) {
    // The device-lost path: a real trap on the GPU, then every GPU use
    // raises "is lost", and the CPU goes on.
    if (device_count(gpu) == 0) return 0;
    Stream g = new_stream(gpu);
    array x = testing::trap(ones({4}, float32, g), g);
    std::string message;
    auto lost = [&message](auto f) {
      try {
        f();
      } catch (const std::runtime_error& e) {
        if (message.empty()) message = e.what();
        return std::strstr(e.what(), "is lost") != nullptr;
      }
      return false;
    };
    // The fault is seen asynchronously; its message names the failing
    // work's ops.
    bool first =
        lost([&] { eval(x); }) && message.find("trap") != std::string::npos;
    std::printf("%s\n", message.c_str());
    bool later = lost([&] { eval(add(ones({4}, float32, g), x, g)); });
    bool fresh = lost([&] { new_stream(gpu); });
    Stream c = new_stream(cpu);
    bool cpu_ok = sum(arange(10, c), c).item<int>() == 45;
    std::printf("first=%d later=%d fresh=%d cpu=%d\n", first, later, fresh,
                cpu_ok);
    return first && later && fresh && cpu_ok ? 0 : 6;
  }
  return 2;
}
