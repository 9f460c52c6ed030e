// Devices, streams, stream contexts, synchronize and events.
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>

#include <memory>
#include <sstream>
#include <thread>

#include "python/src/common.h"

namespace runnel::python {
namespace {

std::string repr(const auto& v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

// The object `rn.stream(s)` returns: a StreamContext entered by `with`.
// A ThreadLocalStream (`per_thread`) is resolved when the context is
// entered, to the entering thread's stream.
struct PyStreamContext {
  StreamOrDevice target;
  nb::object per_thread;
  std::unique_ptr<StreamContext> ctx;
  std::thread::id owner;
};

PyStreamContext make_context(nb::handle s) {
  if (s.is_none()) {
    throw nb::type_error(
        "[stream] expected a Stream, a Device or a DeviceType, not None.");
  }
  if (nb::hasattr(s, "__runnel_stream__")) {
    // Its device fails here when unavailable; its stream is the enterer's.
    if (nb::hasattr(s, "device")) {
      StreamContext check(to_device(s.attr("device"), "stream"));
    }
    return PyStreamContext{{}, nb::borrow(s), nullptr, {}};
  }
  StreamOrDevice target = to_stream_or_device(s, "stream");
  // Unavailable devices fail here, at the call, not at `with`.
  { StreamContext check(target); }
  return PyStreamContext{target, nb::object(), nullptr, {}};
}

}  // namespace

namespace {
// A CUDA stream handle from an int, the __cuda_stream__ protocol, a
// torch.cuda.Stream (.cuda_stream) or a cupy stream (.ptr).
uintptr_t external_stream_handle(nb::handle h) {
  if (PyLong_Check(h.ptr())) return nb::cast<uintptr_t>(h);
  if (nb::hasattr(h, "__cuda_stream__")) {
    nb::tuple t = nb::cast<nb::tuple>(h.attr("__cuda_stream__")());
    if (t.size() == 2) return nb::cast<uintptr_t>(t[1]);
  } else if (nb::hasattr(h, "cuda_stream")) {
    return nb::cast<uintptr_t>(h.attr("cuda_stream"));
  } else if (nb::hasattr(h, "ptr")) {
    return nb::cast<uintptr_t>(h.attr("ptr"));
  }
  throw nb::type_error(
      ("[from_external] expected a CUDA stream handle (an int, an object "
       "with __cuda_stream__, a torch or cupy stream), not " +
       std::string(nb::type_name(h.type()).c_str()) + ".")
          .c_str());
}
}  // namespace

void init_device_stream(nb::module_& m) {
  using namespace nb::literals;

  nb::enum_<DeviceType>(m, "DeviceType", "The kind of a device: cpu or gpu.")
      .value("cpu", DeviceType::cpu)
      .value("gpu", DeviceType::gpu)
      .export_values()
      // Equal to Device(type, 0), so hashed as it.
      .def(
          "__hash__",
          [](DeviceType t) { return std::hash<Device>()(Device(t)); },
          "The hash of Device(type, 0), which compares equal.");

  nb::class_<Device>(m, "Device",
                     "A device: a type and an index. Device(gpu) is GPU 0.")
      .def(
          "__init__",
          [](Device* self, nb::handle type, nb::handle index) {
            if (!nb::isinstance<DeviceType>(type)) {
              throw nb::type_error(
                  ("[Device] type must be a DeviceType (runnel.cpu or "
                   "runnel.gpu), not " +
                   std::string(nb::type_name(type.type()).c_str()) + ".")
                      .c_str());
            }
            new (self) Device(nb::cast<DeviceType>(type),
                              to_int(index, "Device", "index"));
          },
          "type"_a.none(), "index"_a.none() = 0, "Device(type, index=0).")
      .def_ro("type", &Device::type, "The DeviceType.")
      .def_ro("index", &Device::index, "The index among devices of the type.")
      .def(
          "__repr__", [](const Device& d) { return to_string(d); },
          "Device(type, index).")
      .def(
          "__str__", [](const Device& d) { return to_string(d); },
          "Device(type, index).")
      .def(
          "__eq__",
          [](const Device& a, nb::handle b) -> nb::object {
            if (!nb::isinstance<Device>(b) && !nb::isinstance<DeviceType>(b)) {
              return nb::borrow(Py_NotImplemented);
            }
            return nb::bool_(a == to_device(b, "Device.__eq__"));
          },
          nb::is_operator(),
          "Equal type and index; a DeviceType compares as its device 0.")
      .def(
          "__ne__",
          [](const Device& a, nb::handle b) -> nb::object {
            if (!nb::isinstance<Device>(b) && !nb::isinstance<DeviceType>(b)) {
              return nb::borrow(Py_NotImplemented);
            }
            return nb::bool_(a != to_device(b, "Device.__ne__"));
          },
          nb::is_operator(), "Not ==.")
      .def(
          "__lt__", [](const Device& a, const Device& b) { return a < b; },
          nb::is_operator(), "Ordered by type, then index.")
      .def(
          "__hash__", [](const Device& d) { return std::hash<Device>()(d); },
          "A hash of the type and index.");
  nb::implicitly_convertible<DeviceType, Device>();

  nb::class_<Stream>(m, "Stream",
                     "A handle to an ordered queue of work on one device.")
      .def(
          "__init__",
          [](Stream* self, nb::handle index) {
            new (self) Stream(to_int(index, "Stream", "index"));
          },
          "index"_a.none(),
          "Rebuilds a handle to the live stream with this index; "
          "ValueError when there is none.")
      .def_prop_ro("device", &Stream::device, "The stream's Device.")
      .def_prop_ro("index", &Stream::index,
                   "The stream's index, unique in the "
                   "process.")
      .def_prop_ro("priority", &Stream::priority,
                   "The stream's priority (clamped; lower is more urgent).")
      .def(
          "query",
          [](const Stream& s) {
            nb::gil_scoped_release nogil;
            return s.query();
          },
          "Whether all work submitted so far has finished; raises the "
          "stream's pending errors.")
      .def(
          "synchronize",
          [](const Stream& s) {
            nb::gil_scoped_release nogil;
            s.synchronize();
          },
          "Waits for all work submitted so far; raises (and clears) the "
          "stream's pending errors.")
      .def(
          "__repr__", [](const Stream& s) { return repr(s); },
          "Stream(Device(type, index), index).")
      .def(
          "__eq__",
          [](const Stream& a, nb::handle b) -> nb::object {
            if (!nb::isinstance<Stream>(b)) {
              return nb::borrow(Py_NotImplemented);
            }
            return nb::bool_(a == nb::cast<const Stream&>(b));
          },
          nb::is_operator(), "The same stream (same index).")
      .def(
          "__ne__",
          [](const Stream& a, nb::handle b) -> nb::object {
            if (!nb::isinstance<Stream>(b)) {
              return nb::borrow(Py_NotImplemented);
            }
            return nb::bool_(!(a == nb::cast<const Stream&>(b)));
          },
          nb::is_operator(), "Not ==.")
      .def(
          "__hash__", [](const Stream& s) { return std::hash<Stream>()(s); },
          "A hash of the index.")
      .def_prop_ro(
          "cuda_stream",
          [](const Stream& s) {
            nb::gil_scoped_release nogil;
            return reinterpret_cast<uintptr_t>(s.cuda_stream());
          },
          "A GPU stream's CUDA stream handle (an int), with everything "
          "submitted so far enqueued on it: other libraries' work put on it "
          "afterwards runs after runnel's. ValueError for a CPU stream.")
      .def(
          "__cuda_stream__",
          [](const Stream& s) {
            uintptr_t h;
            {
              nb::gil_scoped_release nogil;
              h = reinterpret_cast<uintptr_t>(s.cuda_stream());
            }
            return nb::make_tuple(0, h);
          },
          "The CUDA stream protocol: (0, handle), as cuda_stream.")
      .def_static(
          "from_external",
          [](nb::handle handle, nb::handle device) {
            Device d = device.is_none() ? Device(DeviceType::gpu, 0)
                                        : to_device(device, "from_external");
            uintptr_t h = external_stream_handle(handle);
            nb::gil_scoped_release nogil;
            return Stream::from_external(reinterpret_cast<void*>(h), d);
          },
          "handle"_a, "device"_a.none() = nb::none(),
          "A runnel stream that enqueues its work on a CUDA stream another "
          "library made: an int handle, an object with __cuda_stream__, a "
          "torch.cuda.Stream (its cuda_stream) or a cupy stream (its ptr). "
          "device: the GPU it belongs to (default Device(gpu, 0)). runnel "
          "never destroys it: keep it alive while runnel work on it is "
          "pending.");

  m.def(
      "device_count",
      [](nb::handle t) {
        if (nb::isinstance<Device>(t)) {
          return device_count(nb::cast<Device>(t).type);
        }
        if (!nb::isinstance<DeviceType>(t)) {
          throw nb::type_error(
              ("[device_count] expected a DeviceType or a Device, not " +
               std::string(nb::type_name(t.type()).c_str()) + ".")
                  .c_str());
        }
        return device_count(nb::cast<DeviceType>(t));
      },
      "type"_a.none(),
      "The number of devices of a type (a DeviceType, or a Device for its "
      "type): cpu is 1; gpu is 0 without CUDA.");
  m.def(
      "is_available",
      [](nb::handle d) { return is_available(to_device(d, "is_available")); },
      "device"_a,
      "Whether the device exists in this process (and is not "
      "lost).");
  m.def("default_device", &default_device,
        "The device of the innermost stream context on this thread, else the "
        "process-wide default.");
  m.def(
      "set_default_device",
      [](nb::handle d) {
        set_default_device(to_device(d, "set_default_device"));
      },
      "device"_a,
      "Sets the process-wide default device (every thread outside a stream "
      "context); ValueError when it is not available.");
  m.def(
      "device_info",
      [](nb::handle d) {
        DeviceInfo info = device_info(to_device_or_default(d, "device_info"));
        nb::dict out;
        for (const auto& [key, value] : info) {
          if (const auto* s = std::get_if<std::string>(&value)) {
            out[key.c_str()] = nb::str(s->c_str());
          } else {
            out[key.c_str()] = nb::int_(std::get<int64_t>(value));
          }
        }
        return out;
      },
      "device"_a.none() = nb::none(),
      "Facts about a device (default: the default device) as a dict: "
      "device_name, architecture, total_memory, ...");

  m.def(
      "default_stream",
      [](nb::handle d) {
        return default_stream(to_device(d, "default_stream"));
      },
      "device"_a,
      "This thread's default stream for the device, created on first use.");
  m.def(
      "new_stream",
      [](nb::handle d, nb::handle priority) {
        return new_stream(to_device(d, "new_stream"),
                          to_int(priority, "new_stream", "priority"));
      },
      "device"_a, "priority"_a.none() = 0,
      "A new stream on the device. Lower priority is more urgent; it is "
      "clamped to stream_priority_range(device).");
  m.def(
      "stream_priority_range",
      [](nb::handle d) {
        return stream_priority_range(to_device(d, "stream_priority_range"));
      },
      "device"_a,
      "(most urgent, least urgent) priorities of streams on the device.");
  m.def(
      "set_default_stream",
      [](nb::handle s) {
        set_default_stream(to_stream(s, "set_default_stream"));
      },
      "stream"_a,
      "Makes the stream this thread's default stream for its device; does not "
      "change the default device.");
  m.def("clear_streams", &clear_streams,
        "Forgets this thread's default streams; their pending work still "
        "completes.");
  m.def(
      "synchronize",
      [](nb::handle s) {
        StreamOrDevice target = to_stream_or_device(s, "synchronize");
        nb::gil_scoped_release nogil;
        if (const auto* st = std::get_if<Stream>(&target)) {
          synchronize(*st);
        } else if (const auto* d = std::get_if<Device>(&target)) {
          synchronize(*d);
        } else {
          synchronize();
        }
      },
      "stream"_a.none() = nb::none(),
      "Waits for work and raises (and clears) pending errors: with no "
      "argument, the default stream of the default device; with a Stream, "
      "that stream; with a Device, every stream of the device.");

  nb::class_<PyStreamContext>(
      m, "StreamContext",
      "A context manager: inside, this thread's default device and stream are "
      "the given ones. Leaving restores them.")
      .def(
          "__init__",
          [](PyStreamContext* self, nb::handle s) {
            new (self) PyStreamContext(make_context(s));
          },
          "s"_a.none(),
          "StreamContext(s): s is a Stream, a Device or a DeviceType.")
      .def(
          "__enter__",
          [](nb::handle h) {
            auto& self = nb::cast<PyStreamContext&>(h);
            if (self.ctx) {
              throw std::runtime_error(
                  "[stream] the context is already "
                  "entered.");
            }
            StreamOrDevice target =
                self.per_thread.is_valid()
                    ? StreamOrDevice(to_stream(self.per_thread, "stream"))
                    : self.target;
            self.ctx = std::make_unique<StreamContext>(target);
            self.owner = std::this_thread::get_id();
            return nb::borrow(h);
          },
          "Enters the context on the calling thread.")
      .def(
          "__exit__",
          [](PyStreamContext& self, nb::args) {
            if (!self.ctx) return false;
            if (self.owner != std::this_thread::get_id()) {
              throw std::runtime_error(
                  "[stream] a context must be left on the thread that "
                  "entered it.");
            }
            self.ctx.reset();
            return false;
          },
          "Leaves the context, restoring what it set (also on an exception).");
  m.def("stream", &make_context, "s"_a.none(),
        "A context manager over a Stream, a Device or a DeviceType (anything "
        "else: TypeError). Inside, this thread's default device is the "
        "stream's and its default stream for that device is the stream (for a "
        "device: its default stream). Other threads are not affected.");

  nb::class_<Event>(m, "Event",
                    "A point in a stream's work, usable across streams and "
                    "devices.")
      .def(
          "__init__",
          [](Event* self, nb::handle enable_timing) {
            new (self) Event(to_bool(enable_timing, "Event", "enable_timing"));
          },
          "enable_timing"_a.none() = false,
          "Event(enable_timing=False): with timing, elapsed_time() measures "
          "between two records.")
      .def(
          "record",
          [](Event& e, nb::handle s) {
            e.record(to_stream_or_device(s, "Event.record"));
          },
          "stream"_a.none() = nb::none(),
          "Marks the end of the work submitted to the stream so far.")
      .def(
          "wait",
          [](const Event& e, nb::handle s) {
            e.wait(to_stream_or_device(s, "Event.wait"));
          },
          "stream"_a.none() = nb::none(),
          "The stream waits (the host does not) until the recorded point is "
          "reached. A no-op before any record.")
      .def(
          "synchronize",
          [](const Event& e) {
            nb::gil_scoped_release nogil;
            e.synchronize();
          },
          "The host waits until the recorded point is reached.")
      .def(
          "query",
          [](const Event& e) {
            nb::gil_scoped_release nogil;
            return e.query();
          },
          "Whether the recorded point is reached (True before any record).")
      .def(
          "elapsed_time",
          [](const Event& e, nb::handle end) {
            if (!nb::isinstance<Event>(end)) {
              throw nb::type_error(
                  ("[elapsed_time] end must be an Event, not " +
                   std::string(nb::type_name(end.type()).c_str()) + ".")
                      .c_str());
            }
            return e.elapsed_time(nb::cast<const Event&>(end));
          },
          "end"_a.none(),
          "Milliseconds from this event's point to end's; both timed and "
          "recorded.");
}

}  // namespace runnel::python
