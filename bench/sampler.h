// A sampling profiler for the benchmarks, for machines without perf or gdb
// (the lent GPU machine): SIGPROF at a fixed rate of process CPU time, a
// backtrace per sample, and at the end the functions that were running
// (self) and those on the stack (inclusive), with the share of samples.
// Names come from the dynamic symbol table (dladdr); addresses it cannot
// name (static and hidden functions) are named by addr2line from the
// library's own symbol table where binutils is installed, else shown as
// library+page. A third list gives the self samples with their caller.
#pragma once

#include <cxxabi.h>
#include <dlfcn.h>
#include <execinfo.h>
#include <signal.h>
#include <sys/time.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace bench {

class Sampler {
 public:
  static constexpr int kDepth = 32;
  static constexpr int kMax = 50000;

  void start(int hz) {
    void* warm[4];
    backtrace(warm, 4);  // loads the unwinder outside the signal handler
    struct sigaction sa = {};
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGPROF, &sa, nullptr);
    const long us = 1000000 / hz;
    itimerval t{{0, us}, {0, us}};
    setitimer(ITIMER_PROF, &t, nullptr);
  }

  void stop_and_report(FILE* f, int top = 45) {
    itimerval off{};
    setitimer(ITIMER_PROF, &off, nullptr);
    const int n = std::min(count().load(), kMax);
    resolve(n);
    std::map<std::string, int> self, incl, pairs;
    for (int i = 0; i < n; ++i) {
      // Frames 0-1: this handler and the signal trampoline.
      std::set<std::string> seen;
      for (int k = 2; k < depth()[i]; ++k) {
        std::string name = symbol(frames()[i][k]);
        if (k == 2) ++self[name];
        if (k == 3) ++pairs[self_name(i) + "  <-  " + name.substr(0, 70)];
        if (seen.insert(name).second) ++incl[name];
      }
    }
    auto print = [&](const char* title, const std::map<std::string, int>& m) {
      std::vector<std::pair<int, std::string>> v;
      for (auto& [k, c] : m) v.emplace_back(c, k);
      std::sort(v.rbegin(), v.rend());
      std::fprintf(f, "\n== %s (of %d samples) ==\n", title, n);
      for (int i = 0; i < std::min<int>(top, v.size()); ++i) {
        std::fprintf(f, "%6.2f%%  %s\n", 100.0 * v[i].first / n,
                     v[i].second.substr(0, 150).c_str());
      }
    };
    print("self", self);
    print("inclusive", incl);
    print("self, by caller", pairs);
  }

 private:
  static void on_signal(int) {
    const int i = count().fetch_add(1, std::memory_order_relaxed);
    if (i < kMax) depth()[i] = backtrace(frames()[i], kDepth);
  }
  static std::atomic<int>& count() {
    static std::atomic<int> c{0};
    return c;
  }
  static void* (*frames())[kDepth] {
    static auto* f = new void*[kMax][kDepth];
    return f;
  }
  static int* depth() {
    static int* d = new int[kMax]();
    return d;
  }
  std::string self_name(int i) {
    return depth()[i] > 2 ? symbol(frames()[i][2]).substr(0, 70) : "?";
  }

  // Names for the addresses dladdr cannot name: one addr2line per library.
  void resolve(int n) {
    std::map<std::string, std::set<size_t>> want;  // library -> offsets
    for (int i = 0; i < n; ++i) {
      for (int k = 2; k < depth()[i]; ++k) {
        Dl_info info{};
        void* at = static_cast<char*>(frames()[i][k]) - 1;
        if (!dladdr(at, &info) || info.dli_sname || !info.dli_fname) continue;
        want[info.dli_fname].insert(static_cast<char*>(at) -
                                    static_cast<char*>(info.dli_fbase));
      }
    }
    for (auto& [lib, offs] : want) {
      if (lib.find("libcuda") != std::string::npos) continue;  // stripped
      std::string path = "/tmp/sampler_offsets.txt";
      FILE* o = std::fopen(path.c_str(), "w");
      if (!o) return;
      for (size_t off : offs) std::fprintf(o, "0x%zx\n", off);
      std::fclose(o);
      std::string cmd =
          "addr2line -f -C -e '" + lib + "' < " + path + " 2>/dev/null";
      FILE* p = popen(cmd.c_str(), "r");
      if (!p) return;
      char line[4096];
      for (size_t off : offs) {
        if (!std::fgets(line, sizeof line, p)) break;
        std::string fn = line;
        fn.erase(fn.find_last_not_of("\n") + 1);
        if (!std::fgets(line, sizeof line, p)) break;  // file:line
        if (fn != "??") names()[lib + "@" + std::to_string(off)] = fn;
      }
      pclose(p);
    }
  }
  static std::map<std::string, std::string>& names() {
    static auto* m = new std::map<std::string, std::string>();
    return *m;
  }

  static std::string symbol(void* addr) {
    Dl_info info{};
    // A return address: look up the call instruction before it.
    void* at = static_cast<char*>(addr) - 1;
    if (!dladdr(at, &info)) return "?";
    if (info.dli_sname) {
      int status = 0;
      char* d = abi::__cxa_demangle(info.dli_sname, nullptr, nullptr, &status);
      std::string s = status == 0 ? d : info.dli_sname;
      std::free(d);
      return s;
    }
    const size_t offset = static_cast<size_t>(
        static_cast<char*>(at) - static_cast<char*>(info.dli_fbase));
    std::string path = info.dli_fname ? info.dli_fname : "?";
    auto it = names().find(path + "@" + std::to_string(offset));
    if (it != names().end()) return it->second;
    std::string lib = path.substr(path.find_last_of('/') + 1);
    char off[32];
    std::snprintf(off, sizeof off, "+0x%zx", offset & ~size_t{0xfff});
    return lib + off;  // by 4 KiB page: nearby code counts together
  }
};

}  // namespace bench
