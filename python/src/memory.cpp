// Memory figures and limits; `device=None` is the default device.
#include "python/src/common.h"

namespace runnel::python {

void init_memory(nb::module_& m) {
  using namespace nb::literals;
  m.def(
      "get_active_memory",
      [](nb::handle d) {
        return get_active_memory(to_device_or_default(d, "get_active_memory"));
      },
      "device"_a.none() = nb::none(), "Bytes held by live buffers.");
  m.def(
      "get_peak_memory",
      [](nb::handle d) {
        return get_peak_memory(to_device_or_default(d, "get_peak_memory"));
      },
      "device"_a.none() = nb::none(),
      "The most active memory since start or the last reset_peak_memory.");
  m.def(
      "reset_peak_memory",
      [](nb::handle d) {
        reset_peak_memory(to_device_or_default(d, "reset_peak_memory"));
      },
      "device"_a.none() = nb::none(), "Resets the peak to the active memory.");
  m.def(
      "get_cache_memory",
      [](nb::handle d) {
        return get_cache_memory(to_device_or_default(d, "get_cache_memory"));
      },
      "device"_a.none() = nb::none(),
      "Bytes kept for reuse by the allocator's cache.");
  m.def(
      "set_memory_limit",
      [](nb::handle limit, nb::handle d) {
        uint64_t n = to_uint64(limit, "set_memory_limit", "limit");
        if (n > SIZE_MAX) {
          throw std::invalid_argument(
              "[set_memory_limit] limit is out of range.");
        }
        return set_memory_limit(static_cast<size_t>(n),
                                to_device_or_default(d, "set_memory_limit"));
      },
      "limit"_a.none(), "device"_a.none() = nb::none(),
      "Requests past the limit fail with MemoryError. Returns the previous "
      "limit; the default is the device's physical memory.");
  m.def(
      "get_memory_limit",
      [](nb::handle d) {
        return get_memory_limit(to_device_or_default(d, "get_memory_limit"));
      },
      "device"_a.none() = nb::none(), "The memory limit in bytes.");
  m.def(
      "clear_cache",
      [](nb::handle d) {
        Device device = to_device_or_default(d, "clear_cache");
        nb::gil_scoped_release nogil;
        clear_cache(device);
      },
      "device"_a.none() = nb::none(),
      "Returns the cache's memory to the system.");
}

}  // namespace runnel::python
