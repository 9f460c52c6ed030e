#include "runnel/backend/cuda/device.h"

#include <cuda.h>
#include <pthread.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "runnel/backend/cuda/kernel_table.h"

namespace runnel::cuda {
namespace {

std::atomic<bool> g_exiting{false};
std::atomic<bool> g_initialised{false};
std::atomic<bool> g_forked_child{false};

bool sticky(cudaError_t e) {
  switch (e) {
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorHardwareStackError:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorAssert:
    case cudaErrorLaunchTimeout:
    case cudaErrorECCUncorrectable:
      return true;
    default:
      return false;
  }
}

struct Devices {
  std::mutex mu;
  std::vector<DeviceState*> states;  // never destroyed
};
Devices& devices() {
  static auto* d = [] {
    std::atexit([] { g_exiting.store(true); });
    pthread_atfork(nullptr, nullptr, [] {
      if (g_initialised.load()) g_forked_child.store(true);
    });
    return new Devices();
  }();
  return *d;
}

// Loads every kernel of the registered modules on the current device (see
// register_module). The driver calls come through the runtime's entry
// points (librunnel_cuda links no libcuda); where the driver lacks them
// (before CUDA 12.4) kernels load lazily as before.
void load_modules(int dev) {
  using GetModule = CUresult (*)(CUmodule*, CUfunction);
  using Count = CUresult (*)(unsigned int*, CUmodule);
  using Enumerate = CUresult (*)(CUfunction*, unsigned int, CUmodule);
  using Load = CUresult (*)(CUfunction);
  GetModule get_module = nullptr;
  Count count = nullptr;
  Enumerate enumerate = nullptr;
  Load load = nullptr;
  if (!driver_entry("cuFuncGetModule", get_module) ||
      !driver_entry("cuModuleGetFunctionCount", count) ||
      !driver_entry("cuModuleEnumerateFunctions", enumerate) ||
      !driver_entry("cuFuncLoad", load)) {
    return;
  }
  for (const void* anchor : registered_modules()) {
    cudaFunction_t f = nullptr;
    check(cudaGetFuncBySymbol(&f, anchor), "cudaGetFuncBySymbol", dev);
    CUmodule mod = nullptr;
    unsigned int n = 0;
    if (get_module(&mod, f) != CUDA_SUCCESS || count(&n, mod) != CUDA_SUCCESS) {
      continue;
    }
    std::vector<CUfunction> fs(n);
    if (enumerate(fs.data(), n, mod) != CUDA_SUCCESS) continue;
    for (CUfunction g : fs) {
      if (load(g) != CUDA_SUCCESS) {
        throw std::runtime_error(
            "[gpu] loading runnel's kernels failed on "
            "Device(gpu, " +
            std::to_string(dev) + ")");
      }
    }
  }
}

}  // namespace

bool exiting() { return g_exiting.load(std::memory_order_relaxed); }
bool forked_child() { return g_forked_child.load(std::memory_order_relaxed); }

void check(cudaError_t e, const char* what, int dev) {
  if (e == cudaSuccess) return;
  if (dev < 0) cudaGetDevice(&dev);
  std::ostringstream why;
  why << what << " failed: " << cudaGetErrorName(e) << " ("
      << cudaGetErrorString(e) << ")";
  if (sticky(e) && dev >= 0) {
    DeviceState& d = *devices().states.at(dev);
    // The first failure seen names the device's loss, once.
    std::call_once(d.lost_once, [&] { d.lost_reason = why.str(); });
    d.lost.store(true);
    check_not_lost(dev);
  }
  throw std::runtime_error("[gpu] " + why.str());
}

void check_not_lost(int dev) {
  Devices& ds = devices();
  if (dev < 0 || dev >= static_cast<int>(ds.states.size())) return;
  DeviceState* d = ds.states[dev];
  if (d && d->lost.load()) {
    throw std::runtime_error("[gpu] Device(gpu, " + std::to_string(dev) +
                             ") is lost: " + d->lost_reason +
                             "; restart the process");
  }
}

void set_device(int index) {
  int cur = -1;
  if (cudaGetDevice(&cur) != cudaSuccess || cur != index) {
    check(cudaSetDevice(index), "cudaSetDevice", index);
  }
}

DeviceState& device(int index) {
  if (g_forked_child.load()) {
    throw std::runtime_error(
        "[fork] CUDA was initialised before this process was forked; GPU use "
        "in the child is not possible: use the spawn start method");
  }
  // Every launch asks: devices already started are found without the lock.
  static std::array<std::atomic<DeviceState*>, 64> started{};
  if (index >= 0 && index < static_cast<int>(started.size())) {
    if (DeviceState* d = started[index].load(std::memory_order_acquire)) {
      if (d->lost.load()) check_not_lost(index);
      return *d;
    }
  }
  Devices& ds = devices();
  std::lock_guard lock(ds.mu);
  if (ds.states.empty()) {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) n = 0;
    ds.states.assign(n, nullptr);
  }
  if (index < 0 || index >= static_cast<int>(ds.states.size())) {
    throw std::invalid_argument("[gpu] Device(gpu, " + std::to_string(index) +
                                ") is not available.");
  }
  if (!ds.states[index]) {
    ds.states[index] = new DeviceState(index);
    g_initialised.store(true);
    if (index < static_cast<int>(started.size())) {
      started[index].store(ds.states[index], std::memory_order_release);
    }
  }
  DeviceState& d = *ds.states[index];
  if (d.lost.load()) check_not_lost(index);
  return d;
}

namespace {

std::string uuid_string(const cudaUUID_t& u) {
  const auto* b = reinterpret_cast<const unsigned char*>(u.bytes);
  char buf[64];
  std::snprintf(buf, sizeof(buf),
                "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
                "%02x%02x%02x%02x%02x%02x",
                b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
                b[10], b[11], b[12], b[13], b[14], b[15]);
  return buf;
}

// CUDA initialised on device `i` and the kernels loaded: before any member
// of its state is made.
int start(int i) {
  set_device(i);
  check(cudaFree(nullptr), "initialising CUDA", i);
  load_modules(i);
  return i;
}

}  // namespace

DeviceState::DeviceState(int i)
    : index(start(i)), events(i), memory(i, lost), counters(i) {}

DeviceInfo device_info(int i) {
  DeviceState& d = device(i);
  cudaDeviceProp p{};
  check(cudaGetDeviceProperties(&p, i), "cudaGetDeviceProperties", i);
  set_device(i);
  size_t free_b = 0, total_b = 0;
  check(cudaMemGetInfo(&free_b, &total_b), "cudaMemGetInfo", i);
  char bus[32] = {};
  check(cudaDeviceGetPCIBusId(bus, sizeof(bus), i), "cudaDeviceGetPCIBusId", i);
  return DeviceInfo{
      {"device_name", std::string(p.name)},
      {"architecture",
       "sm_" + std::to_string(p.major) + std::to_string(p.minor)},
      {"total_memory", static_cast<int64_t>(d.memory.total_memory())},
      {"free_memory", static_cast<int64_t>(free_b)},
      {"compute_capability_major", static_cast<int64_t>(p.major)},
      {"compute_capability_minor", static_cast<int64_t>(p.minor)},
      {"uuid", uuid_string(p.uuid)},
      {"pci_bus_id", std::string(bus)},
      {"multiprocessor_count", static_cast<int64_t>(p.multiProcessorCount)},
  };
}

std::pair<int, int> priority_range(int i) {
  device(i);
  int least = 0, greatest = 0;
  check(cudaDeviceGetStreamPriorityRange(&least, &greatest),
        "cudaDeviceGetStreamPriorityRange", i);
  return {greatest, least};
}

}  // namespace runnel::cuda
