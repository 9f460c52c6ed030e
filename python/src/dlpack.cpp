// DLPack: array.__dlpack__ / __dlpack_device__ (read-only exports) and
// runnel.from_dlpack (zero-copy imports of host and CUDA device memory), and
// the queue that releases foreign (Python-owned) memory under the GIL only:
// never on a pool or watcher thread, and not at all at interpreter exit.
#include <nanobind/stl/string.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "python/src/common.h"
#include "runnel/scheduler/graph.h"

namespace runnel::python {
namespace {

using namespace nb::literals;

// The DLPack ABI (dlpack.h, versions 0.8 and 1.x), declared from the spec.
enum DLDeviceType : int32_t {
  kDLCPU = 1,
  kDLCUDA = 2,
  kDLCUDAHost = 3,
  kDLCUDAManaged = 13,
};
enum DLDataTypeCode : uint8_t {
  kDLInt = 0,
  kDLUInt = 1,
  kDLFloat = 2,
  kDLBfloat = 4,
  kDLBool = 6,
};
struct DLDevice {
  int32_t device_type;
  int32_t device_id;
};
struct DLDataType {
  uint8_t code;
  uint8_t bits;
  uint16_t lanes;
};
struct DLTensor {
  void* data;
  DLDevice device;
  int32_t ndim;
  DLDataType dtype;
  int64_t* shape;
  int64_t* strides;  // in elements; null: row-major
  uint64_t byte_offset;
};
struct DLManagedTensor {
  DLTensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(DLManagedTensor*);
};
struct DLPackVersion {
  uint32_t major;
  uint32_t minor;
};
struct DLManagedTensorVersioned {
  DLPackVersion version;
  void* manager_ctx;
  void (*deleter)(DLManagedTensorVersioned*);
  uint64_t flags;
  DLTensor dl_tensor;
};
constexpr uint64_t kFlagReadOnly = 1;
constexpr uint64_t kFlagIsCopied = 2;
constexpr uint32_t kMajor = 1;
constexpr uint32_t kMinor = 1;

const char* const kLegacyName = "dltensor";
const char* const kVersionedName = "dltensor_versioned";
const char* const kUsedLegacyName = "used_dltensor";
const char* const kUsedVersionedName = "used_dltensor_versioned";

// ---------------------------------------------------------------------------
// Foreign memory released under the GIL.
//
// A runnel buffer over Python-owned memory is dropped by whichever thread
// lets go of it last: often a pool worker when the last op reading it ends.
// Such threads never touch Python: they queue the release, and the queue is
// drained by the main thread (a pending call, which it runs at its next
// bytecode boundary), by from_dlpack and __dlpack__, and by an atexit hook.
// From that hook on, the interpreter is going away: the finalizing thread
// (which holds the GIL) still releases what it drops itself, everything else
// is skipped (left to the process's end), and once Python is gone nothing is
// touched at all.

// What keeps foreign memory alive: the producer and, for DLPack imports, the
// consumed managed tensor whose deleter must run.
struct ForeignRef {
  PyObject* owner = nullptr;
  void* managed = nullptr;
  bool versioned = false;

  // With the GIL held.
  void release() const noexcept {
    if (managed) {
      if (versioned) {
        auto* m = static_cast<DLManagedTensorVersioned*>(managed);
        if (m->deleter) m->deleter(m);
      } else {
        auto* m = static_cast<DLManagedTensor*>(managed);
        if (m->deleter) m->deleter(m);
      }
    }
    Py_XDECREF(owner);
  }
};

enum class Phase {
  running,     // queue, and ask the main thread to drain
  finalizing,  // after atexit: the finalizing thread releases, others skip
  gone,        // after Python's finalization: skip everything
};

struct ReleaseQueue {
  std::mutex mu;
  std::vector<ForeignRef> pending;
  bool call_scheduled = false;  // a pending call is queued to drain us
  Phase phase = Phase::running;
  std::thread::id finalizer;
};

// Never destroyed: pool threads may release buffers at any time, exit
// included.
ReleaseQueue& release_queue() {
  static auto* q = new ReleaseQueue();
  return *q;
}

// With the GIL held. Releasing may run Python code (a producer's __del__)
// that drops more foreign buffers: loop until the queue stays empty.
void drain() {
  ReleaseQueue& q = release_queue();
  for (;;) {
    std::vector<ForeignRef> batch;
    {
      std::lock_guard lock(q.mu);
      if (q.pending.empty()) return;
      batch.swap(q.pending);
    }
    for (const ForeignRef& r : batch) r.release();
  }
}

int drain_pending_call(void*) {
  {
    ReleaseQueue& q = release_queue();
    std::lock_guard lock(q.mu);
    q.call_scheduled = false;
  }
  drain();
  return 0;
}

// Buffer::Release for foreign memory: runs on any thread, at any time.
void release_foreign(const ForeignRef& r) {
  ReleaseQueue& q = release_queue();
  std::unique_lock lock(q.mu);
  switch (q.phase) {
    case Phase::running:
      q.pending.push_back(r);
      // Py_AddPendingCall needs neither the GIL nor a thread state; it
      // may fail when its queue is full, and the next release retries.
      if (!q.call_scheduled) {
        q.call_scheduled = Py_AddPendingCall(drain_pending_call, nullptr) == 0;
      }
      return;
    case Phase::finalizing:
      // The finalizing thread holds the GIL, unless it dropped the buffer
      // inside a call that released it (a late atexit handler's eval).
      if (std::this_thread::get_id() == q.finalizer && PyGILState_Check()) {
        lock.unlock();
        r.release();
      }
      return;
    case Phase::gone:
      return;
  }
}

// Whether release_foreign on this thread would skip the release: the
// interpreter is going away.
bool release_skipped() {
  ReleaseQueue& q = release_queue();
  std::lock_guard lock(q.mu);
  switch (q.phase) {
    case Phase::running:
      return false;
    case Phase::finalizing:
      return !(std::this_thread::get_id() == q.finalizer && PyGILState_Check());
    case Phase::gone:
      return true;
  }
  return true;
}

// A buffer over `bytes` bytes of foreign memory at `ptr` on `device`. Work
// launched on a GPU may still read it when the last reference goes (a copy
// from pinned host memory, a kernel reading device memory): the producer is
// let go only once every use is reached, else PyTorch's caching allocator,
// say, would hand the block to new tensors under runnel's reads.
std::shared_ptr<detail::Buffer> foreign_buffer(void* ptr, size_t bytes,
                                               Device device, ForeignRef ref) {
  return std::make_shared<detail::Buffer>(
      ptr, bytes, device, [ref](const detail::Buffer& b) {
        // A release that would be skipped asks no device about its uses
        // either: the process may be past CUDA's teardown.
        if (release_skipped()) return;
        detail::after_uses(b.uses(), [ref] { release_foreign(ref); });
      });
}

// ---------------------------------------------------------------------------
// Export.

std::optional<DLDataType> to_dl_dtype(Dtype d) {
  const auto bits = static_cast<uint8_t>(8 * size_of(d));
  switch (d) {
    case bool_:
      return DLDataType{kDLBool, 8, 1};
    case uint8:
    case uint16:
    case uint32:
    case uint64:
      return DLDataType{kDLUInt, bits, 1};
    case int8:
    case int16:
    case int32:
    case int64:
      return DLDataType{kDLInt, bits, 1};
    case float16:
    case float32:
    case float64:
      return DLDataType{kDLFloat, bits, 1};
    case bfloat16:
      return DLDataType{kDLBfloat, 16, 1};
  }
  return std::nullopt;
}

std::optional<Dtype> from_dl_dtype(DLDataType t) {
  if (t.lanes != 1) return std::nullopt;
  switch (t.code) {
    case kDLBool:
      return t.bits == 8 ? std::optional<Dtype>(bool_) : std::nullopt;
    case kDLInt:
      switch (t.bits) {
        case 8:
          return int8;
        case 16:
          return int16;
        case 32:
          return int32;
        case 64:
          return int64;
      }
      return std::nullopt;
    case kDLUInt:
      switch (t.bits) {
        case 8:
          return uint8;
        case 16:
          return uint16;
        case 32:
          return uint32;
        case 64:
          return uint64;
      }
      return std::nullopt;
    case kDLFloat:
      switch (t.bits) {
        case 16:
          return float16;
        case 32:
          return float32;
        case 64:
          return float64;
      }
      return std::nullopt;
    case kDLBfloat:
      return t.bits == 16 ? std::optional<Dtype>(bfloat16) : std::nullopt;
  }
  return std::nullopt;
}

// The exporter's manager_ctx: the array (which keeps its memory alive), the
// shape and strides DLPack points at, and the managed tensor itself.
struct Export {
  explicit Export(array x) : a(std::move(x)) {}
  array a;
  std::vector<int64_t> shape, strides;
  DLManagedTensor legacy{};
  DLManagedTensorVersioned versioned{};
};

// Deleters run on any thread, with or without the GIL: dropping an array
// needs neither (foreign memory it held goes to the release queue).
void delete_legacy(DLManagedTensor* m) {
  delete static_cast<Export*>(m->manager_ctx);
}
void delete_versioned(DLManagedTensorVersioned* m) {
  delete static_cast<Export*>(m->manager_ctx);
}

// An unconsumed capsule frees its tensor; a consumed one was renamed.
void legacy_capsule_destructor(PyObject* capsule) {
  if (PyCapsule_IsValid(capsule, kLegacyName)) {
    auto* m = static_cast<DLManagedTensor*>(
        PyCapsule_GetPointer(capsule, kLegacyName));
    if (m && m->deleter) m->deleter(m);
  } else {
    PyErr_Clear();
  }
}
void versioned_capsule_destructor(PyObject* capsule) {
  if (PyCapsule_IsValid(capsule, kVersionedName)) {
    auto* m = static_cast<DLManagedTensorVersioned*>(
        PyCapsule_GetPointer(capsule, kVersionedName));
    if (m && m->deleter) m->deleter(m);
  } else {
    PyErr_Clear();
  }
}

[[noreturn]] void buffer_error(const std::string& msg) {
  PyErr_SetString(PyExc_BufferError, ("[__dlpack__] " + msg).c_str());
  throw nb::python_error();
}

// (device_type, device_id) from a Python pair; TypeError otherwise.
DLDevice to_dl_device(nb::handle h, const char* fn) {
  if (!PyTuple_Check(h.ptr()) || nb::len(h) != 2) {
    throw nb::type_error((std::string("[") + fn +
                          "] dl_device must be a (device_type, device_id) "
                          "tuple.")
                             .c_str());
  }
  return DLDevice{nb::cast<int32_t>(h[0]), nb::cast<int32_t>(h[1])};
}

// Where the evaluated array's data lives, as DLPack names it.
DLDevice data_device(const array& a) {
  const auto& buf = a.node().data;
  if (buf && buf->device().type == DeviceType::gpu) {
    return DLDevice{kDLCUDA, buf->device().index};
  }
  return DLDevice{kDLCPU, 0};
}

void eval_nogil(array& a) {
  nb::gil_scoped_release nogil;
  a.eval();
}

nb::object dlpack(array a, nb::handle stream, nb::handle max_version,
                  nb::handle dl_device, nb::handle copy) {
  drain();
  auto dtype = to_dl_dtype(a.dtype());
  if (!dtype) buffer_error("unsupported dtype.");
  if (!stream.is_none() && !PyLong_Check(stream.ptr())) {
    throw nb::type_error("[__dlpack__] stream must be None or an int.");
  }
  std::optional<bool> want_copy;
  if (!copy.is_none()) {
    if (!PyBool_Check(copy.ptr())) {
      throw nb::type_error("[__dlpack__] copy must be None or a bool.");
    }
    want_copy = copy.ptr() == Py_True;
  }
  bool versioned = false;
  if (!max_version.is_none()) {
    if (!PyTuple_Check(max_version.ptr()) || nb::len(max_version) != 2) {
      throw nb::type_error(
          "[__dlpack__] max_version must be None or a (major, minor) tuple.");
    }
    versioned = nb::cast<int64_t>(max_version[0]) >= 1;
  }

  eval_nogil(a);  // also waits: the data is ready for any consumer stream
  DLDevice have = data_device(a);
  DLDevice want =
      dl_device.is_none() ? have : to_dl_device(dl_device, "__dlpack__");
  if (want.device_type == kDLCUDAHost) want = DLDevice{kDLCPU, 0};
  const bool to_host = want.device_type == kDLCPU && have.device_type != kDLCPU;
  if (!(want.device_type == have.device_type &&
        want.device_id == have.device_id) &&
      !to_host) {
    buffer_error("cannot export data on device (" +
                 std::to_string(have.device_type) + ", " +
                 std::to_string(have.device_id) + ") to device (" +
                 std::to_string(want.device_type) + ", " +
                 std::to_string(want.device_id) + ").");
  }
  if (to_host && want_copy == false) {
    buffer_error(
        "the data is on a GPU: exporting it to the CPU copies it, "
        "and copy=False was given.");
  }
  const bool make_copy = want_copy == true;
  if (make_copy && !versioned) {
    buffer_error("copy=True needs a DLPack 1.0 consumer (max_version).");
  }
  if (make_copy && want.device_type != kDLCPU) {
    buffer_error("copy=True is supported for host exports only.");
  }

  std::unique_ptr<Export> ex;
  if (make_copy) {
    // A row-major copy of our own, which the consumer may write.
    std::vector<char> tmp(a.nbytes());
    {
      nb::gil_scoped_release nogil;
      detail::copy_to_row_major(a, tmp.data());
    }
    ex = std::make_unique<Export>(
        array(tmp.data(), a.dtype(), a.shape(), a.dtype()));
  } else {
    ex = std::make_unique<Export>(a);
  }
  const array& out = ex->a;
  void* data = nullptr;
  if (out.size()) {
    // raw_data() is the host copy for GPU data (made once and cached).
    data = want.device_type == kDLCPU
               ? out.raw_data()
               : static_cast<char*>(out.node().data->ptr()) +
                     out.node().offset * static_cast<int64_t>(out.itemsize());
  }
  ex->shape.assign(out.shape().begin(), out.shape().end());
  ex->strides.assign(out.strides().begin(), out.strides().end());
  // Consumers may reject a null pointer even for no elements.
  alignas(16) static char empty[16];
  if (!data) data = empty;

  DLTensor t{};
  t.data = data;
  t.device = want.device_type == kDLCPU ? DLDevice{kDLCPU, 0} : have;
  t.ndim = out.ndim();
  t.dtype = *dtype;
  t.shape = ex->shape.data();
  t.strides = ex->strides.data();
  t.byte_offset = 0;

  Export* raw = ex.get();
  if (versioned) {
    raw->versioned.version = {kMajor, kMinor};
    raw->versioned.manager_ctx = raw;
    raw->versioned.deleter = delete_versioned;
    // A copy made for this export is the consumer's to write; the array's
    // own memory, or its cached host copy, is not.
    raw->versioned.flags = make_copy ? kFlagIsCopied
                           : to_host ? (kFlagIsCopied | kFlagReadOnly)
                                     : kFlagReadOnly;
    raw->versioned.dl_tensor = t;
    PyObject* cap = PyCapsule_New(&raw->versioned, kVersionedName,
                                  versioned_capsule_destructor);
    if (!cap) throw nb::python_error();
    ex.release();
    return nb::steal(cap);
  }
  raw->legacy.dl_tensor = t;
  raw->legacy.manager_ctx = raw;
  raw->legacy.deleter = delete_legacy;
  PyObject* cap =
      PyCapsule_New(&raw->legacy, kLegacyName, legacy_capsule_destructor);
  if (!cap) throw nb::python_error();
  ex.release();
  return nb::steal(cap);
}

// ---------------------------------------------------------------------------
// Import.

[[noreturn]] void import_error(const std::string& msg) {
  throw std::invalid_argument("[from_dlpack] " + msg);
}

// Copies the strided elements at `src` into `dst`, row-major, element by
// element with memcpy (the source may be misaligned).
void copy_strided_bytes(const char* src, const std::vector<int64_t>& shape,
                        const std::vector<int64_t>& strides, size_t item,
                        char* dst) {
  const size_t nd = shape.size();
  size_t n = 1;
  for (int64_t d : shape) n *= static_cast<size_t>(d);
  if (n == 0) return;
  std::vector<int64_t> idx(nd, 0);
  int64_t off = 0;  // in elements
  for (size_t i = 0; i < n; ++i) {
    std::memcpy(dst + i * item, src + off * static_cast<int64_t>(item), item);
    for (size_t d = nd; d-- > 0;) {
      off += strides[d];
      if (++idx[d] < shape[d]) break;
      off -= strides[d] * shape[d];
      idx[d] = 0;
    }
  }
}

[[noreturn]] void device_type_error(int64_t type) {
  import_error(
      "only host memory (kDLCPU, kDLCUDAHost) and CUDA device memory "
      "(kDLCUDA) can be imported, not DLPack device type " +
      std::to_string(type) +
      (type == kDLCUDAManaged ? " (kDLCUDAManaged: CUDA managed memory)" : "") +
      "; copy the data to the host or a GPU first.");
}

// The runnel device of CUDA device `id`; an error when runnel does not see
// it (no CUDA backend, driver or GPU, or fewer GPUs).
Device import_gpu(int64_t id) {
  const int n = device_count(gpu);
  if (id < 0 || id >= n) {
    import_error("the data is on CUDA device " + std::to_string(id) +
                 ", but runnel sees " +
                 (n == 0 ? std::string("no GPU")
                         : std::to_string(n) + (n == 1 ? " GPU" : " GPUs")) +
                 " (device_count(gpu) == " + std::to_string(n) + ").");
  }
  return Device(DeviceType::gpu, static_cast<int>(id));
}

// The stream that imports of GPU data go on: the calling thread's default
// stream for that GPU (a stream context's, inside one).
Stream import_stream(const Device& d) {
  nb::gil_scoped_release nogil;  // may start the GPU backend
  return default_stream(d);
}

// `gpu_stream`: where a kDLCUDA tensor is adopted (for an import through
// __dlpack__, the stream whose CUDA stream the producer made wait for its
// pending work); for a capsule, the default stream of its GPU.
array import_tensor(const DLTensor& t, const ForeignRef& ref,
                    std::optional<Stream> gpu_stream,
                    bool& consumed_into_buffer) {
  consumed_into_buffer = false;
  const int32_t type = t.device.device_type;
  const bool on_gpu = type == kDLCUDA;
  if (type != kDLCPU && type != kDLCUDAHost && !on_gpu) {
    device_type_error(type);
  }
  if (on_gpu) {
    const Device d = import_gpu(t.device.device_id);
    if (!gpu_stream) {
      gpu_stream = import_stream(d);
    } else if (gpu_stream->device() != d) {
      import_error("__dlpack_device__ named CUDA device " +
                   std::to_string(gpu_stream->device().index) +
                   ", but the tensor is on CUDA device " +
                   std::to_string(d.index) + ".");
    }
  }
  auto dtype = from_dl_dtype(t.dtype);
  if (!dtype) {
    import_error("unsupported DLPack dtype (code " +
                 std::to_string(t.dtype.code) + ", bits " +
                 std::to_string(t.dtype.bits) + ", lanes " +
                 std::to_string(t.dtype.lanes) + ").");
  }
  if (t.ndim < 0 || (t.ndim > 0 && !t.shape)) import_error("bad ndim/shape.");
  const size_t nd = static_cast<size_t>(t.ndim);
  const int64_t item = static_cast<int64_t>(size_of(*dtype));
  std::vector<int64_t> shape(t.shape, t.shape + nd);
  std::vector<int64_t> strides(nd);
  int64_t acc = 1;
  size_t size = 1;
  for (size_t d = nd; d-- > 0;) {
    if (shape[d] < 0 || shape[d] > std::numeric_limits<int>::max()) {
      import_error("dimension " + std::to_string(shape[d]) +
                   " is out of range.");
    }
    strides[d] = t.strides ? t.strides[d] : acc;
    if (__builtin_mul_overflow(acc, shape[d] ? shape[d] : 1, &acc) ||
        __builtin_mul_overflow(size, static_cast<size_t>(shape[d]), &size)) {
      import_error("the shape is too large.");
    }
  }
  Shape rshape(shape.begin(), shape.end());
  if (size == 0) {
    alignas(16) static const char dummy[16] = {};
    return array(dummy, *dtype, std::move(rshape), *dtype);
  }
  // The byte range the elements span, relative to element 0.
  int64_t lo = 0, hi = 0;  // in elements
  for (size_t d = 0; d < nd; ++d) {
    int64_t span;
    if (__builtin_mul_overflow(strides[d], shape[d] - 1, &span) ||
        __builtin_add_overflow(span < 0 ? lo : hi, span,
                               span < 0 ? &lo : &hi)) {
      import_error("the strides are too large.");
    }
  }
  int64_t lo_bytes, hi_bytes;
  if (__builtin_mul_overflow(lo, item, &lo_bytes) ||
      __builtin_mul_overflow(hi + 1, item, &hi_bytes)) {
    import_error("the strides are too large.");
  }
  char* first = static_cast<char*>(t.data) + t.byte_offset;
  if (reinterpret_cast<uintptr_t>(first) % static_cast<uintptr_t>(item) != 0) {
    // Kernels read elements as typed values: misaligned data is copied, on
    // the host only (this code cannot read device memory).
    if (on_gpu) {
      import_error(
          "the data on the GPU is not aligned to its element size (" +
          std::to_string(item) +
          " bytes), and misaligned GPU data cannot be copied on import: "
          "make an aligned copy on the GPU first.");
    }
    std::vector<char> tmp(size * static_cast<size_t>(item));
    copy_strided_bytes(first, shape, strides, static_cast<size_t>(item),
                       tmp.data());
    return array(tmp.data(), *dtype, std::move(rshape), *dtype);
  }
  const size_t bytes = static_cast<size_t>(hi_bytes - lo_bytes);
  if (on_gpu) {
    auto data =
        foreign_buffer(first + lo_bytes, bytes, gpu_stream->device(), ref);
    consumed_into_buffer = true;
    return detail::adopt(std::move(data), std::move(rshape),
                         Strides(strides.begin(), strides.end()), -lo, *dtype,
                         *gpu_stream);
  }
  auto node = std::make_shared<detail::ArrayNode>();
  node->shape = std::move(rshape);
  node->strides = Strides(strides.begin(), strides.end());
  node->offset = -lo;
  node->dtype = *dtype;
  node->size = size;
  node->data = foreign_buffer(first + lo_bytes, bytes, Device(cpu), ref);
  consumed_into_buffer = true;
  return array(std::move(node));
}

// Whether `obj` is a numpy array (numpy is not imported for this).
bool owner_keeps_memory(nb::handle obj) {
  PyObject* numpy = PyImport_GetModule(nb::str("numpy").ptr());
  if (!numpy) {
    PyErr_Clear();
    return false;
  }
  nb::object np = nb::steal(numpy);
  nb::object ndarray = nb::getattr(np, "ndarray", nb::none());
  return !ndarray.is_none() &&
         PyObject_IsInstance(obj.ptr(), ndarray.ptr()) == 1;
}

nb::object from_dlpack(nb::handle obj) {
  drain();
  if (nb::isinstance<array>(obj)) return nb::borrow(obj);
  nb::object capsule;
  std::optional<Stream> gpu_stream;
  if (PyCapsule_CheckExact(obj.ptr())) {
    capsule = nb::borrow(obj);
  } else {
    if (!nb::hasattr(obj, "__dlpack__")) {
      throw nb::type_error(
          ("[from_dlpack] expected an object with __dlpack__ or a DLPack "
           "capsule, not " +
           std::string(nb::type_name(obj.type()).c_str()) + ".")
              .c_str());
    }
    if (nb::hasattr(obj, "__dlpack_device__")) {
      nb::object dev = obj.attr("__dlpack_device__")();
      const auto type = nb::cast<int64_t>(dev[0]);
      if (type == kDLCUDA) {
        gpu_stream = import_stream(import_gpu(nb::cast<int64_t>(dev[1])));
      } else if (type != kDLCPU && type != kDLCUDAHost) {
        device_type_error(type);
      }
    }
    nb::object fn = obj.attr("__dlpack__");
    // For GPU data, the producer makes our CUDA stream wait for its pending
    // work on the tensor (the array API's rule for `stream`); the import's
    // op is launched on that stream after this returns.
    nb::object stream = nb::none();
    if (gpu_stream) {
      void* handle;
      {
        nb::gil_scoped_release nogil;  // waits for work held on the host
        handle = gpu_stream->cuda_stream();
      }
      stream = nb::cast(reinterpret_cast<uintptr_t>(handle));
    }
    auto call = [&](bool versioned) {
      if (versioned) {
        auto max_version = nb::make_tuple(kMajor, kMinor);
        return gpu_stream
                   ? fn("stream"_a = stream, "max_version"_a = max_version)
                   : fn("max_version"_a = max_version);
      }
      return gpu_stream ? fn("stream"_a = stream) : fn();
    };
    try {
      capsule = call(true);
    } catch (nb::python_error& e) {
      // Producers older than DLPack 1.0 take no max_version.
      if (!e.matches(PyExc_TypeError)) throw;
      capsule = call(false);
    }
  }
  PyObject* cap = capsule.ptr();
  const bool versioned = PyCapsule_IsValid(cap, kVersionedName);
  if (!versioned && !PyCapsule_IsValid(cap, kLegacyName)) {
    PyErr_Clear();
    import_error(
        "expected an unconsumed DLPack capsule (\"dltensor\" or "
        "\"dltensor_versioned\").");
  }
  void* managed =
      PyCapsule_GetPointer(cap, versioned ? kVersionedName : kLegacyName);
  if (!managed) throw nb::python_error();
  const DLTensor* t;
  if (versioned) {
    auto* m = static_cast<DLManagedTensorVersioned*>(managed);
    if (m->version.major > kMajor) {
      import_error("DLPack version " + std::to_string(m->version.major) + "." +
                   std::to_string(m->version.minor) +
                   " is newer than this consumer's (1.x).");
    }
    t = &m->dl_tensor;
  } else {
    t = &static_cast<DLManagedTensor*>(managed)->dl_tensor;
  }
  // The capsule is ours from here: it no longer frees the tensor.
  if (PyCapsule_SetName(
          cap, versioned ? kUsedVersionedName : kUsedLegacyName) != 0) {
    throw nb::python_error();
  }
  ForeignRef ref{Py_NewRef(obj.ptr()), managed, versioned};
  // A numpy array keeps its memory alive by itself (it cannot be resized
  // while we hold it): its managed tensor goes as soon as it is read, and
  // with it numpy's own reference, which numpy's deleter leaks when it runs
  // at interpreter exit.
  const bool numpy_owner = owner_keeps_memory(obj);
  ForeignRef held = ref;
  if (numpy_owner) held.managed = nullptr;
  bool kept = false;
  try {
    array out = import_tensor(*t, held, gpu_stream, kept);
    if (!kept) {
      ref.release();  // copied: the producer is not needed
    } else if (numpy_owner) {
      ForeignRef{nullptr, managed, versioned}.release();
    }
    return nb::cast(std::move(out));
  } catch (...) {
    if (!kept) ref.release();
    throw;
  }
}

}  // namespace

void init_array_dlpack(nb::class_<array>& cls) {
  cls.def("__dlpack__", &dlpack, "stream"_a.none() = nb::none(), nb::kw_only(),
          "max_version"_a.none() = nb::none(),
          "dl_device"_a.none() = nb::none(), "copy"_a.none() = nb::none(),
          "A DLPack capsule over the evaluated data (evaluates and waits). "
          "Read-only: with max_version >= (1, 0) a DLPack 1.x tensor "
          "flagged read-only, else a legacy (0.x) capsule. Views export "
          "their strides. copy=True exports a copy (DLPack 1.x only); "
          "dl_device=(kDLCPU, 0) exports GPU data through a host copy; "
          "BufferError when the request cannot be met. bfloat16 exports as "
          "kDLBfloat, which numpy cannot read (use numpy.array(a) with "
          "ml_dtypes); PyTorch and JAX can.")
      .def(
          "__dlpack_device__",
          [](array a) {
            eval_nogil(a);
            DLDevice d = data_device(a);
            return nb::make_tuple(d.device_type, d.device_id);
          },
          "(device_type, device_id) of the data as DLPack names it: (1, 0) "
          "for the CPU, (2, i) for GPU i. Evaluates and waits.");
}

void init_dlpack(nb::module_& m) {
  m.def("from_dlpack", &from_dlpack, "x"_a.none(),
        "from_dlpack(x) -> array: an array over the memory of x (an object "
        "with __dlpack__, such as a numpy array or a PyTorch or CuPy tensor, "
        "or a DLPack capsule), without a copy. Host memory (kDLCPU, "
        "kDLCUDAHost) and CUDA device memory (kDLCUDA) of a GPU runnel sees "
        "are imported; managed memory is not. x is kept alive while runnel "
        "reads the memory, also by GPU work still in flight; x must not be "
        "written or freed until every array reading it is evaluated. "
        "Misaligned host data is copied; misaligned GPU data raises "
        "ValueError.\n\n"
        "GPU data is imported on the calling thread's default stream of its "
        "GPU (the stream context's, inside one): x.__dlpack__ is given that "
        "stream's CUDA stream, and the producer makes it wait for the work "
        "pending on x on the producer's current stream; later runnel work on "
        "any stream is ordered after that wait. A capsule passed directly, "
        "or an object without __dlpack_device__, comes with no such promise: "
        "its GPU data is read on that default stream with no wait, so the "
        "producer's writes must be complete (synchronize it first).");
  m.def(
      "_release_foreign_at_exit",
      [] {
        drain();
        ReleaseQueue& q = release_queue();
        std::lock_guard lock(q.mu);
        q.phase = Phase::finalizing;
        q.finalizer = std::this_thread::get_id();
      },
      "Called by atexit: releases the queued foreign buffers now; from then "
      "on only the finalizing thread releases any.");
  // After Python's finalization nothing may touch it.
  Py_AtExit([] {
    ReleaseQueue& q = release_queue();
    std::lock_guard lock(q.mu);
    q.phase = Phase::gone;
  });
}

}  // namespace runnel::python
