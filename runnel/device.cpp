#include "runnel/device.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "runnel/backend/gpu.h"
#include "runnel/utils.h"

namespace runnel {

std::ostream& operator<<(std::ostream& os, DeviceType t) {
  return os << (t == DeviceType::cpu ? "cpu" : "gpu");
}

std::ostream& operator<<(std::ostream& os, const Device& d) {
  return os << "Device(" << d.type << ", " << d.index << ")";
}

std::string to_string(const Device& d) {
  std::ostringstream os;
  os << d;
  return os.str();
}

int device_count(DeviceType type) {
  if (type == DeviceType::cpu) return 1;
  try {
    return detail::gpu::device_count();
  } catch (...) {
    return 0;
  }
}

bool is_available(const Device& d) {
  return d.index >= 0 && d.index < device_count(d.type);
}

namespace {

std::string cpu_model_name() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto pos = line.find(':');
      if (pos != std::string::npos) return line.substr(pos + 2);
    }
  }
  return "cpu";
}

}  // namespace

DeviceInfo device_info(const Device& d) {
  detail::check_available(d, "device_info");
  if (d.type == DeviceType::gpu) return detail::gpu::device_info(d.index);
  utsname u{};
  uname(&u);
  int64_t pages = sysconf(_SC_PHYS_PAGES);
  int64_t page = sysconf(_SC_PAGE_SIZE);
  return DeviceInfo{
      {"device_name", cpu_model_name()},
      {"architecture", std::string(u.machine)},
      {"total_memory", pages * page},
      {"core_count", static_cast<int64_t>(std::thread::hardware_concurrency())},
  };
}

}  // namespace runnel
