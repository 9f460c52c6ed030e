// Opens the CUDA backend library on first GPU use. Before that, the GPU count
// comes from NVML through dlopen, so that asking how many GPUs there are
// neither initialises CUDA nor links any CUDA library into librunnel.
#include <dlfcn.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>

#include "runnel/backend/gpu.h"
#include "runnel/backend/no_gpu/no_gpu.h"

namespace runnel::detail::gpu {
namespace {

// NVML's C API, the few calls used here (stable since NVML 5).
using NvmlInit = int (*)();
using NvmlCount = int (*)(unsigned*);

int nvml_physical_count() {
  void* lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) return -1;
  auto init = reinterpret_cast<NvmlInit>(dlsym(lib, "nvmlInit_v2"));
  auto count = reinterpret_cast<NvmlCount>(dlsym(lib, "nvmlDeviceGetCount_v2"));
  unsigned n = 0;
  if (!init || !count || init() != 0 || count(&n) != 0) return -1;
  return static_cast<int>(n);  // NVML stays loaded: cheap, and fork-safe
}

// How many of `physical` GPUs CUDA_VISIBLE_DEVICES leaves visible: CUDA
// reads the list up to its first invalid entry.
int visible_count(int physical) {
  const char* env = std::getenv("CUDA_VISIBLE_DEVICES");
  if (!env) return physical;
  std::string list = env;
  std::set<long> seen;
  int n = 0;
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t comma = list.find(',', pos);
    std::string tok = list.substr(
        pos, comma == std::string::npos ? std::string::npos : comma - pos);
    pos = comma == std::string::npos ? list.size() + 1 : comma + 1;
    while (!tok.empty() && tok.front() == ' ') tok.erase(tok.begin());
    if (tok.empty()) break;
    if (tok.rfind("GPU-", 0) == 0 || tok.rfind("MIG-", 0) == 0) {
      ++n;  // a UUID: CUDA checks it; trust it here
      continue;
    }
    char* end = nullptr;
    long i = std::strtol(tok.c_str(), &end, 10);
    if (*end != '\0' || i < 0 || i >= physical || !seen.insert(i).second) {
      break;
    }
    ++n;
  }
  return std::min(n, physical);
}

}  // namespace

std::string backend_path() {
  if (const char* p = std::getenv("RUNNEL_CUDA_BACKEND")) return p;
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&device_count), &info) && info.dli_fname) {
    std::string self = info.dli_fname;
    auto slash = self.rfind('/');
    if (slash != std::string::npos) {
      return self.substr(0, slash + 1) + "librunnel_cuda.so";
    }
  }
  return "librunnel_cuda.so";
}

namespace {

bool file_exists(const std::string& p) {
  struct stat st {};
  return stat(p.c_str(), &st) == 0;
}

std::atomic<Backend*> g_backend{nullptr};
std::mutex g_mu;

Backend& load() {
  if (Backend* b = g_backend.load(std::memory_order_acquire)) return *b;
  std::lock_guard lock(g_mu);
  if (Backend* b = g_backend.load()) return *b;
  Backend* b = nullptr;
  std::string path = backend_path();
  if (!file_exists(path)) {
    b = no_gpu_backend("this build has no CUDA backend (" + path + ")");
  } else if (void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL)) {
    using Entry = Backend* (*)();
    auto entry = reinterpret_cast<Entry>(dlsym(lib, "runnel_cuda_backend"));
    b = entry ? entry() : nullptr;
    if (!b) b = no_gpu_backend("the CUDA backend library has no entry point");
  } else {
    b = no_gpu_backend(std::string("the CUDA backend did not load: ") +
                       dlerror());
  }
  g_backend.store(b, std::memory_order_release);
  return *b;
}

int count_before_load() {
  static const int n = [] {
    if (!file_exists(backend_path())) return 0;
    int physical = nvml_physical_count();
    if (physical < 0) return -1;  // no NVML: ask the backend
    return visible_count(physical);
  }();
  return n;
}

}  // namespace

int device_count() {
  try {
    if (Backend* b = g_backend.load(std::memory_order_acquire)) {
      return b->device_count();
    }
    int n = count_before_load();
    return n >= 0 ? n : load().device_count();
  } catch (...) {
    return 0;
  }
}

Backend& backend(const char*) { return load(); }

DeviceInfo device_info(int index) {
  return backend("device_info").device_info(index);
}

std::pair<int, int> priority_range(int index) {
  return backend("stream_priority_range").priority_range(index);
}

std::shared_ptr<StreamState> make_stream(int index, int stream_index,
                                         int priority, void* external) {
  Backend& b = backend("new_stream");
  auto s = b.make_stream(index, stream_index, priority, external);
  use_pinned_host_memory(&b);  // a GPU is in use: stage through pinned memory
  return s;
}

}  // namespace runnel::detail::gpu
