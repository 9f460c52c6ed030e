// Devices: where work runs. A small value type, as in MLX and c10.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <map>
#include <string>
#include <variant>

namespace runnel {

enum class DeviceType : uint8_t { cpu = 0, gpu = 1 };

inline constexpr DeviceType cpu = DeviceType::cpu;
inline constexpr DeviceType gpu = DeviceType::gpu;

// A device: a type and an index. `Device(gpu)` is GPU 0; a DeviceType
// converts to `Device(type, 0)` wherever a device is taken.
struct Device {
  DeviceType type = DeviceType::cpu;
  int index = 0;

  constexpr Device(DeviceType t, int i = 0) : type(t), index(i) {}  // NOLINT
  constexpr auto operator<=>(const Device&) const = default;
};

std::ostream& operator<<(std::ostream& os, DeviceType t);
std::ostream& operator<<(std::ostream& os, const Device& d);  // Device(gpu, 0)
std::string to_string(const Device& d);

// Number of devices of a type: cpu is 1; gpu is 0 without CUDA. Never throws.
int device_count(DeviceType type);
// Whether `d` exists in this process (and is not lost).
bool is_available(const Device& d);

// The device of the innermost stream context on this thread, else the
// process-wide default (gpu 0 when available, else cpu).
Device default_device();
// Sets the process-wide default device; std::invalid_argument when `d` is not
// available.
void set_default_device(const Device& d);

using DeviceInfo = std::map<std::string, std::variant<std::string, int64_t>>;
// Facts about a device: device_name, architecture, total_memory, and on the
// CPU core_count. std::invalid_argument when `d` is not available.
DeviceInfo device_info(const Device& d = default_device());

}  // namespace runnel

template <>
struct std::hash<runnel::Device> {
  size_t operator()(const runnel::Device& d) const noexcept {
    return (static_cast<size_t>(d.type) << 16) ^ static_cast<size_t>(d.index);
  }
};
