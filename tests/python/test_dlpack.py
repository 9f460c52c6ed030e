"""DLPack: __dlpack__/__dlpack_device__ exports (read-only, zero-copy, views)
and from_dlpack imports (zero-copy, producer kept alive and released under
the GIL only, and only once GPU work reading it is done; CUDA device memory
ordered after the producer's pending work), against numpy on fresh random
data. The GPU imports need PyTorch (or CuPy) with CUDA and skip without."""

import ctypes
import gc
import subprocess
import sys
import threading
import weakref

import numpy as np
import pytest

import runnel as rn
from conftest import ALL_DTYPES, requires_gpu
from test_ops import np_dtype, random

# numpy's DLPack has no bfloat16 (neither as producer nor as consumer).
NUMPY_DTYPES = [d for d in ALL_DTYPES if d != rn.bfloat16]


def address(x):
    return x.__array_interface__["data"][0]


def capsule_name(c):
    # '<capsule object "dltensor" at 0x...>'
    return repr(c).split('"')[1]


class Producer:
    """A DLPack producer over a numpy array that records where it dies."""

    died_on = []

    def __init__(self, x):
        self.x = x

    def __dlpack__(self, **kwargs):
        return self.x.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self.x.__dlpack_device__()

    def __del__(self):
        Producer.died_on.append(threading.get_ident())


class LegacyProducer:
    """A pre-1.0 producer: __dlpack__ takes only stream."""

    def __init__(self, x):
        self.x = x

    def __dlpack__(self, stream=None):
        return self.x.__dlpack__()

    def __dlpack_device__(self):
        return self.x.__dlpack_device__()


def run_python_bytecode():
    # Pending calls (our release queue's drain) run at bytecode boundaries.
    for _ in range(10):
        pass


def assert_released(alive):
    """The producer behind weakref `alive` is let go soon: queued by the
    thread that saw runnel's last use end (a pool worker, a GPU watcher),
    then released under the GIL at a bytecode boundary."""
    for _ in range(200):
        run_python_bytecode()
        if alive() is None:
            break
        threading.Event().wait(0.005)
    assert alive() is None


class DeviceOnly:
    """A producer that names a device but must never be asked for data."""

    def __init__(self, device):
        self.device = device

    def __dlpack__(self, **kwargs):
        raise AssertionError("__dlpack__ must not be called")

    def __dlpack_device__(self):
        return self.device


# A legacy DLPack capsule made by hand (the DLPack ABI through ctypes), for
# tensors no installed library makes: on a GPU runnel does not see, or
# misaligned on a GPU.
class _DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class _DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8),
                ("lanes", ctypes.c_uint16)]


class _DLTensor(ctypes.Structure):
    _fields_ = [
        ("data", ctypes.c_void_p),
        ("device", _DLDevice),
        ("ndim", ctypes.c_int32),
        ("dtype", _DLDataType),
        ("shape", ctypes.POINTER(ctypes.c_int64)),
        ("strides", ctypes.POINTER(ctypes.c_int64)),
        ("byte_offset", ctypes.c_uint64),
    ]


class _DLManagedTensor(ctypes.Structure):
    _fields_ = [("dl_tensor", _DLTensor), ("manager_ctx", ctypes.c_void_p),
                ("deleter", ctypes.c_void_p)]


_CAPSULE_NAME = b"dltensor"  # outlives every capsule named by it
_capsule_new = ctypes.pythonapi.PyCapsule_New
_capsule_new.restype = ctypes.py_object
_capsule_new.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]


def hand_made_capsule(data, device, shape, byte_offset=0):
    """A float32 "dltensor" capsule with no deleter; the returned objects
    hold its memory and must outlive it."""
    shape_arr = (ctypes.c_int64 * len(shape))(*shape)
    m = _DLManagedTensor()
    m.dl_tensor.data = data
    m.dl_tensor.device = _DLDevice(*device)
    m.dl_tensor.ndim = len(shape)
    m.dl_tensor.dtype = _DLDataType(2, 32, 1)  # kDLFloat, 32 bits
    m.dl_tensor.shape = shape_arr
    m.dl_tensor.byte_offset = byte_offset
    cap = _capsule_new(ctypes.addressof(m), _CAPSULE_NAME, None)
    return cap, (m, shape_arr)


def runnel_data_ptr(a):
    """Where a's first element lies, as its DLPack export says (a legacy
    capsule: its DLTensor, whose first field is the data pointer, comes
    first)."""
    cap = a.__dlpack__()
    get = ctypes.pythonapi.PyCapsule_GetPointer
    get.restype = ctypes.c_void_p
    get.argtypes = [ctypes.py_object, ctypes.c_char_p]
    return ctypes.c_void_p.from_address(get(cap, _CAPSULE_NAME)).value


# --- export ---------------------------------------------------------------


@pytest.mark.parametrize("d", NUMPY_DTYPES, ids=str)
def test_numpy_takes_every_dtype_without_a_copy(d, rng):
    x = random(rng, d, (3, 5))
    a = rn.array(x, d)
    got = np.from_dlpack(a)
    assert got.dtype == x.dtype and got.shape == x.shape
    np.testing.assert_array_equal(got, x)
    # The same memory the buffer protocol shows: no copy was made.
    assert address(got) == address(np.asarray(a))
    # numpy asks for DLPack 1.x, which carries the read-only flag.
    assert not got.flags.writeable


def test_export_evaluates_a_lazy_array(rng):
    x = rng.standard_normal((4, 6)).astype(np.float32)
    y = rn.multiply(rn.add(rn.array(x), 1.5, stream=rn.cpu), 2, stream=rn.cpu)
    np.testing.assert_allclose(np.from_dlpack(y), (x + 1.5) * 2, rtol=1e-6)
    assert rn.array(2.5).__dlpack_device__() == (1, 0)


@pytest.mark.parametrize(
    "view",
    [
        lambda a: a.T,
        lambda a: a[::-1, 1::2],
        lambda a: a[1:, ::-3],
        lambda a: a[2],
        lambda a: a[:, 0],
        lambda a: a[None, 1:3, ..., None],
        lambda a: a[:0],
    ],
    ids=["T", "flip-step", "negative-step", "row", "column", "newaxis", "empty"],
)
def test_views_export_their_strides(view, rng):
    x = rng.standard_normal((5, 7)).astype(np.float32)
    with rn.stream(rn.cpu):
        a = rn.array(x)
        v = view(a)
    got = np.from_dlpack(v)
    want = view(x)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    if want.size:
        # A view shares the array's memory: element 0 is where it is in x's
        # copy inside runnel.
        base = address(np.asarray(a))
        assert address(got) - base == address(want) - address(x)


def test_broadcast_views_export_zero_strides(rng):
    x = rng.standard_normal((1, 4)).astype(np.float32)
    v = rn.broadcast_to(rn.array(x), (3, 4), stream=rn.cpu)
    got = np.from_dlpack(v)
    assert got.strides == (0, 4)
    np.testing.assert_array_equal(got, np.broadcast_to(x, (3, 4)))


def test_legacy_and_versioned_capsules(rng):
    x = rng.standard_normal(6).astype(np.float32)
    a = rn.array(x)
    assert capsule_name(a.__dlpack__()) == "dltensor"
    assert capsule_name(a.__dlpack__(max_version=(0, 8))) == "dltensor"
    assert capsule_name(a.__dlpack__(max_version=(1, 0))) == "dltensor_versioned"
    assert capsule_name(a.__dlpack__(max_version=(2, 3))) == "dltensor_versioned"
    assert capsule_name(a.__dlpack__(None)) == "dltensor"  # stream positional
    # A legacy consumer (no max_version) still reads the values.
    got = np.from_dlpack(LegacyProducer(a))
    np.testing.assert_array_equal(got, x)
    # Unconsumed capsules free what they hold.
    for _ in range(100):
        a.__dlpack__(max_version=(1, 0))
        a.__dlpack__()


def test_copy_true_exports_a_writable_copy(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    a = rn.array(x)
    c = np.from_dlpack(a[:, ::2], copy=True)
    assert c.flags.writeable
    np.testing.assert_array_equal(c, x[:, ::2])
    c[:] = 7
    np.testing.assert_array_equal(np.asarray(a), x)  # a is untouched
    same = np.from_dlpack(a, copy=False)
    assert address(same) == address(np.asarray(a))


def test_export_errors():
    a = rn.array([1.0, 2.0])
    with pytest.raises(BufferError, match=r"\[__dlpack__\]"):
        a.__dlpack__(dl_device=(2, 0))  # CUDA, for CPU data
    with pytest.raises(BufferError, match=r"\[__dlpack__\]"):
        a.__dlpack__(copy=True)  # a copy needs DLPack 1.x
    with pytest.raises(TypeError, match=r"\[__dlpack__\]"):
        a.__dlpack__(max_version="1.0")
    with pytest.raises(TypeError, match=r"\[__dlpack__\]"):
        a.__dlpack__(dl_device="cpu")
    with pytest.raises(TypeError, match=r"\[__dlpack__\]"):
        a.__dlpack__(copy=1)
    with pytest.raises(TypeError, match=r"\[__dlpack__\]"):
        a.__dlpack__(stream="s")
    assert capsule_name(a.__dlpack__(dl_device=(1, 0))) == "dltensor"


def test_bfloat16_round_trips_through_a_capsule(rng):
    x = rng.standard_normal(9).astype(np.float32)
    # Host memory: from_dlpack imports host memory only.
    a = rn.array(x).astype(rn.bfloat16, stream=rn.cpu)
    # numpy has no bfloat16 DLPack: it raises, it does not misread.
    with pytest.raises((RuntimeError, BufferError, TypeError)):
        np.from_dlpack(a)
    for cap in (a.__dlpack__(), a.__dlpack__(max_version=(1, 0))):
        b = rn.from_dlpack(cap)
        assert b.dtype == rn.bfloat16
        np.testing.assert_array_equal(
            np.asarray(b.astype(rn.float32)), np.asarray(a.astype(rn.float32))
        )


# --- import ---------------------------------------------------------------


@pytest.mark.parametrize("d", NUMPY_DTYPES, ids=str)
def test_import_every_dtype_without_a_copy(d, rng):
    x = random(rng, d, (4, 3))
    b = rn.from_dlpack(x)
    assert b.dtype == d  # float64 stays float64 (no MLX-style narrowing)
    assert b.shape == x.shape
    np.testing.assert_array_equal(np.asarray(b), x)
    assert address(np.asarray(b)) == address(x)
    with rn.stream(rn.cpu):
        if d != rn.bool_:
            np.testing.assert_array_equal(np.asarray(rn.add(b, b)), x + x)


@pytest.mark.parametrize(
    "view",
    [
        lambda x: x.T,
        lambda x: x[::-1, 1::2],
        lambda x: x[1:, ::-2],
        lambda x: x[:, 3],
        lambda x: np.broadcast_to(x[:1], (4, 6)),
        lambda x: x[:0],
        lambda x: x[2, 2, ...],
    ],
    ids=["T", "flip-step", "negative-step", "column", "broadcast", "empty", "0-d"],
)
def test_import_views(view, rng):
    x = rng.standard_normal((5, 6))
    v = view(x)
    b = rn.from_dlpack(v)
    assert b.shape == v.shape and b.dtype == rn.float64
    np.testing.assert_array_equal(np.asarray(b), v)
    with rn.stream(rn.cpu):
        np.testing.assert_allclose(np.asarray(rn.exp(b)), np.exp(v), rtol=1e-15)
        np.testing.assert_allclose(
            np.asarray(rn.sum(b)), np.sum(v), rtol=1e-12, atol=1e-12
        )
        if v.ndim == 2 and v.size:
            c = rn.contiguous(b)
            np.testing.assert_array_equal(np.asarray(c), v)


def test_import_shares_memory_with_the_producer(rng):
    x = rng.standard_normal(5).astype(np.float32)
    b = rn.from_dlpack(x)
    # from_dlpack's rule forbids writing before b is evaluated; written here
    # only to show that no copy was made.
    x[0] = 42.0
    assert np.asarray(b)[0] == 42.0


def test_import_of_legacy_capsules_and_producers(rng):
    x = rng.integers(-100, 100, size=(3, 4)).astype(np.int16)
    np.testing.assert_array_equal(np.asarray(rn.from_dlpack(x.__dlpack__())), x)
    np.testing.assert_array_equal(np.asarray(rn.from_dlpack(LegacyProducer(x))), x)
    y = rn.from_dlpack(x.__dlpack__(max_version=(1, 0)))
    np.testing.assert_array_equal(np.asarray(y), x)


def test_import_of_runnel_arrays(rng):
    a = rn.array(rng.standard_normal(4).astype(np.float32))
    assert rn.from_dlpack(a) is a
    b = rn.from_dlpack(a.__dlpack__(max_version=(1, 0)))
    np.testing.assert_array_equal(np.asarray(b), np.asarray(a))
    assert address(np.asarray(b)) == address(np.asarray(a))


def test_misaligned_memory_is_copied(rng):
    raw = np.zeros(4 * 8 + 1, np.uint8)[1:]
    x = raw.view(np.int32)
    assert not x.flags.aligned
    x[:] = rng.integers(-1000, 1000, size=8)
    b = rn.from_dlpack(x)
    np.testing.assert_array_equal(np.asarray(b), x)
    with rn.stream(rn.cpu):
        np.testing.assert_array_equal(np.asarray(rn.add(b, 1)), x + 1)


def test_import_errors():
    with pytest.raises(TypeError, match=r"\[from_dlpack\]"):
        rn.from_dlpack(3)
    with pytest.raises(TypeError, match=r"\[from_dlpack\]"):
        rn.from_dlpack([1, 2])
    with pytest.raises(ValueError, match=r"\[from_dlpack\] unsupported DLPack dtype"):
        rn.from_dlpack(np.ones(3, np.complex64))
    cap = np.ones(3).__dlpack__()
    rn.from_dlpack(cap)
    with pytest.raises(ValueError, match=r"\[from_dlpack\] expected an unconsumed"):
        rn.from_dlpack(cap)



def test_producer_is_kept_alive_and_released_on_the_main_thread(rng):
    x = rng.standard_normal(1000).astype(np.float32)
    p = Producer(x.copy())
    alive = weakref.ref(p)
    b = rn.from_dlpack(p)
    del p
    gc.collect()
    assert alive() is not None
    np.testing.assert_array_equal(np.asarray(b), x)
    Producer.died_on.clear()
    del b
    run_python_bytecode()
    assert alive() is None
    assert Producer.died_on == [threading.main_thread().ident]


def test_release_after_work_on_a_worker_happens_under_the_gil(rng):
    # The last reference goes on a pool worker (the op reading the memory
    # ends there); the producer must still die on the main thread.
    x = rng.standard_normal(4096).astype(np.float32)
    p = Producer(x.copy())
    alive = weakref.ref(p)
    s = rn.new_stream(rn.cpu)
    gate = rn._testing.block(s)
    b = rn.from_dlpack(p)
    y = rn.multiply(rn.add(b, 1, stream=s), 3, stream=s)
    rn.async_eval(y)
    del b, p
    gc.collect()
    run_python_bytecode()
    assert alive() is not None  # queued work still reads it
    Producer.died_on.clear()
    gate.open()
    np.testing.assert_allclose(np.asarray(y), (x + 1) * 3, rtol=1e-6)
    s.synchronize()
    assert_released(alive)
    assert Producer.died_on == [threading.main_thread().ident]


def test_many_imports_release_everything(rng):
    x = rng.standard_normal(64).astype(np.float32)
    refs = []
    with rn.stream(rn.cpu):
        for i in range(200):
            p = Producer(x)
            refs.append(weakref.ref(p))
            rn.eval(rn.add(rn.from_dlpack(p), i))
            del p
    run_python_bytecode()
    gc.collect()
    run_python_bytecode()
    assert all(r() is None for r in refs)


EXIT_SCRIPT = r"""
import numpy as np, runnel as rn
x = np.arange(100000, dtype=np.float32)
a = rn.array(x)
kept = rn.from_dlpack(np.asarray(a))   # a producer that holds a runnel array
s = rn.new_stream(rn.cpu)
gate = rn._testing.block(s)
pending = rn.exp(rn.from_dlpack(x), stream=s)
rn.async_eval(pending)                 # never runs: the gate stays shut
done = rn.add(kept, 1, stream=rn.cpu)
rn.eval(done)
print("ok", flush=True)
"""


def test_exit_with_foreign_buffers_alive_and_in_flight():
    r = subprocess.run(
        [sys.executable, "-c", EXIT_SCRIPT],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"
    assert "leaked" not in r.stderr, r.stderr


# --- GPU ------------------------------------------------------------------


@requires_gpu
def test_gpu_data_reports_cuda_and_exports_to_the_host(rng):
    x = rng.standard_normal((3, 5)).astype(np.float32)
    a = rn.add(rn.array(x), 1, stream=rn.gpu)
    assert a.__dlpack_device__() == (2, 0)
    got = np.from_dlpack(a, device="cpu")
    np.testing.assert_allclose(got, x + 1, rtol=1e-6)
    with pytest.raises(BufferError, match=r"\[__dlpack__\]"):
        a.__dlpack__(dl_device=(1, 0), copy=False, max_version=(1, 0))


@requires_gpu
def test_torch_reads_gpu_data_without_a_copy(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((4, 6)).astype(np.float32)
    a = rn.multiply(rn.array(x), 2, stream=rn.gpu)
    try:
        t = torch.from_dlpack(a)
    except (BufferError, RuntimeError) as e:
        if "read" in str(e).lower():  # our exports are flagged read-only
            pytest.skip(f"torch refuses read-only DLPack tensors: {e}")
        raise
    assert t.is_cuda
    np.testing.assert_allclose(t.cpu().numpy(), x * 2, rtol=1e-6)
    v = torch.from_dlpack(a.T)
    np.testing.assert_allclose(v.cpu().numpy(), (x * 2).T, rtol=1e-6)


# --- import of CUDA device memory -----------------------------------------
# Errors first: they run without a GPU (CI).


def test_import_of_gpu_data_needs_a_gpu_runnel_sees():
    n = rn.device_count(rn.gpu)
    seen = "no GPU" if n == 0 else f"{n} "
    with pytest.raises(
        ValueError,
        match=rf"\[from_dlpack\] the data is on CUDA device {n}, but runnel sees {seen}",
    ):
        rn.from_dlpack(DeviceOnly((2, n)))  # one past the last GPU
    with pytest.raises(ValueError, match=r"\[from_dlpack\] the data is on CUDA device -1"):
        rn.from_dlpack(DeviceOnly((2, -1)))
    # A capsule says where its tensor is only inside.
    x = np.ones(4, np.float32)
    cap, keep = hand_made_capsule(x.ctypes.data, (2, n), (4,))
    with pytest.raises(ValueError, match=rf"\[from_dlpack\] the data is on CUDA device {n}"):
        rn.from_dlpack(cap)
    assert capsule_name(cap) == "used_dltensor"  # consumed, and let go


def test_import_of_managed_and_other_device_memory_is_refused():
    with pytest.raises(ValueError, match=r"\[from_dlpack\].*type 13 \(kDLCUDAManaged"):
        rn.from_dlpack(DeviceOnly((13, 0)))
    with pytest.raises(ValueError, match=r"\[from_dlpack\].*type 4;"):
        rn.from_dlpack(DeviceOnly((4, 0)))  # OpenCL
    x = np.ones(4, np.float32)
    cap, keep = hand_made_capsule(x.ctypes.data, (13, 0), (4,))
    with pytest.raises(ValueError, match=r"\[from_dlpack\].*kDLCUDAManaged"):
        rn.from_dlpack(cap)


@pytest.fixture
def torch_cuda():
    """PyTorch with CUDA on the GPU runnel uses; skips without either."""
    if rn.device_count(rn.gpu) == 0:
        pytest.skip("no GPU: device_count(gpu) == 0")
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("PyTorch has no CUDA")
    return torch


# The dtypes runnel and PyTorch share (PyTorch's unsigned types beyond
# uint8 have too few ops to make test data with).
TORCH_DTYPES = [
    rn.bool_, rn.uint8, rn.int8, rn.int16, rn.int32, rn.int64,
    rn.float16, rn.bfloat16, rn.float32, rn.float64,
]


def torch_random(torch, rng, d, shape):
    """A CUDA tensor of fresh random data of runnel dtype d."""
    if d == rn.bfloat16:
        x = rng.uniform(-10, 10, size=shape).astype(np.float32)
        return torch.from_numpy(x).to("cuda", torch.bfloat16)
    return torch.from_numpy(np.ascontiguousarray(random(rng, d, shape))).cuda()


def as_numpy(a):
    """a's values in numpy (bfloat16 widened, which numpy lacks)."""
    if a.dtype == rn.bfloat16:
        a = a.astype(rn.float32, stream=rn.cpu)
    return np.asarray(a)


def torch_numpy(t):
    if str(t.dtype) == "torch.bfloat16":
        t = t.float()
    return t.cpu().numpy()


def warm_up(torch):
    """Loads the kernels these tests launch, and starts both libraries'
    CUDA: CUDA loads a module on a kernel's first launch and waits for the
    device to be idle for it, so a first launch behind a spinning kernel
    would return only after it."""
    x = rn.array(np.ones(8, np.float32))
    rn.eval(rn.add(x, x, stream=rn.gpu), rn._testing.delay(x, 1, stream=rn.gpu))
    torch.cuda._sleep(1000)
    t = torch.zeros(8, device="cuda")
    t.copy_(torch.ones(8, device="cuda"))
    (t * 3).sum().item()
    torch.full((8,), 7.0, device="cuda")
    torch.cuda.synchronize()


@requires_gpu
@pytest.mark.parametrize("d", TORCH_DTYPES, ids=str)
def test_import_of_torch_cuda_tensors_in_every_dtype(d, rng, torch_cuda):
    torch = torch_cuda
    t = torch_random(torch, rng, d, (5, 7))
    expected = torch_numpy(t)
    b = rn.from_dlpack(t)
    assert b.dtype == d and b.shape == (5, 7)
    assert b.__dlpack_device__() == (2, t.device.index)
    assert runnel_data_ptr(b) == t.data_ptr()  # no copy
    np.testing.assert_array_equal(as_numpy(b), expected)
    if d != rn.bool_:
        got = rn.add(b, b, stream=rn.gpu)
        np.testing.assert_array_equal(as_numpy(got), torch_numpy(t + t))
    # A capsule, legacy or versioned, imports the same memory (no stream was
    # given to the producer: its work is done, synchronized here).
    torch.cuda.synchronize()
    caps = [torch.utils.dlpack.to_dlpack(t)]
    try:
        caps.append(t.__dlpack__(max_version=(1, 0)))
    except TypeError:  # a PyTorch before DLPack 1.0
        pass
    for cap in caps:
        c = rn.from_dlpack(cap)
        assert runnel_data_ptr(c) == t.data_ptr()
        np.testing.assert_array_equal(as_numpy(c), expected)


@requires_gpu
@pytest.mark.parametrize(
    "view",
    [
        lambda t: t[:, 1::2],
        lambda t: t.T,
        lambda t: t[2:, 3],
        lambda t: t[1:4, ::3].T,
        lambda t: t[:1].expand(5, 6),
        lambda t: t[:0],
    ],
    ids=["step", "T", "offset-column", "offset-step-T", "broadcast", "empty"],
)
def test_import_of_strided_torch_cuda_views(view, rng, torch_cuda):
    torch = torch_cuda
    base = torch.from_numpy(rng.standard_normal((5, 6))).cuda()
    v = view(base)
    expected = v.cpu().numpy()
    b = rn.from_dlpack(v)
    assert b.shape == tuple(v.shape) and b.dtype == rn.float64
    np.testing.assert_array_equal(np.asarray(b), expected)
    with rn.stream(rn.cpu):  # the CPU reads a host copy
        np.testing.assert_array_equal(np.asarray(rn.multiply(b, 2)), expected * 2)
    if v.numel():
        np.testing.assert_allclose(
            np.asarray(rn.exp(b, stream=rn.gpu)), np.exp(expected), rtol=1e-14
        )
        assert runnel_data_ptr(b) == v.data_ptr()


@requires_gpu
def test_misaligned_gpu_data_is_refused(torch_cuda):
    torch = torch_cuda
    t = torch.zeros(8, device="cuda")
    cap, keep = hand_made_capsule(t.data_ptr(), (2, t.device.index), (4,), 2)
    with pytest.raises(ValueError, match=r"\[from_dlpack\] the data on the GPU is not aligned"):
        rn.from_dlpack(cap)


@requires_gpu
def test_import_waits_for_torch_work_pending_on_its_current_stream(rng, torch_cuda):
    torch = torch_cuda
    warm_up(torch)
    n = 1 << 20
    x = rng.standard_normal(n).astype(np.float32)
    src = torch.from_numpy(x).cuda()
    t = torch.zeros(n, device="cuda")
    torch.cuda.synchronize()
    side = torch.cuda.Stream()
    with torch.cuda.stream(side):
        torch.cuda._sleep(500_000_000)  # hundreds of ms of GPU spinning
        t.copy_(src)  # the final values land after the sleep
        # torch's current stream is `side`: __dlpack__ makes runnel's stream
        # wait for it.
        b = rn.from_dlpack(t)
    other = rn.new_stream(rn.gpu)
    on_other = rn.multiply(b, 2, stream=other)
    on_default = rn.add(b, 1, stream=rn.gpu)
    with rn.stream(rn.cpu):
        on_cpu = rn.subtract(b, 1)
    rn.async_eval(on_other, on_default, on_cpu)
    assert not side.query()  # still spinning: the reads below had to wait
    np.testing.assert_array_equal(np.asarray(on_other), x * 2)
    np.testing.assert_array_equal(np.asarray(on_default), x + 1)
    np.testing.assert_array_equal(np.asarray(on_cpu), x - 1)
    np.testing.assert_array_equal(np.asarray(b), x)


@requires_gpu
def test_torch_memory_is_not_released_while_a_runnel_kernel_reads_it(rng, torch_cuda):
    torch = torch_cuda
    warm_up(torch)
    n = 1 << 22  # 16 MiB: a block of its own in PyTorch's caching allocator
    x = rng.standard_normal(n).astype(np.float32)
    t = torch.from_numpy(x).cuda()
    torch.cuda.synchronize()
    alive = weakref.ref(t)
    s = rn.new_stream(rn.gpu)
    b = rn.from_dlpack(t)
    # The GPU spins on s before reading t's memory (delay passes b on).
    y = rn.add(rn._testing.delay(b, 500_000, stream=s), b, stream=s)
    rn.async_eval(y)
    del t, b  # runnel's launched kernels are the memory's only readers
    gc.collect()
    run_python_bytecode()
    assert alive() is not None  # s has not passed its reads yet
    # Had t been released, PyTorch would hand its block to these at once and
    # write them under runnel's read.
    fresh = [torch.full((n,), 7.0, device="cuda") for _ in range(3)]
    assert not s.query()
    np.testing.assert_array_equal(np.asarray(y), x + x)
    del fresh
    s.synchronize()
    assert_released(alive)


@requires_gpu
def test_pinned_host_memory_is_not_released_while_a_copy_to_the_gpu_reads_it(
    rng, torch_cuda
):
    torch = torch_cuda
    warm_up(torch)
    n = 1 << 22
    x = rng.standard_normal(n).astype(np.float32)
    # Host memory, but pinned: a copy from it to the GPU runs after the host
    # has let go of it.
    h = torch.from_numpy(x).pin_memory()
    alive = weakref.ref(h)
    s = rn.new_stream(rn.gpu)
    b = rn.from_dlpack(h)
    # The copy of b to the GPU is enqueued on s behind the spin.
    slow = rn._testing.delay(rn.array(np.zeros(n, np.float32)), 500_000, stream=s)
    y = rn.add(slow, b, stream=s)
    rn.async_eval(y)
    del h, b, slow
    gc.collect()
    run_python_bytecode()
    assert alive() is not None  # the copy has not read it yet
    # Had h been released, PyTorch's pinned-memory cache would hand its block
    # to these at once.
    fresh = [torch.full((n,), 7.0).pin_memory() for _ in range(3)]
    assert not s.query()
    np.testing.assert_array_equal(np.asarray(y), x)
    del fresh
    s.synchronize()
    assert_released(alive)


@requires_gpu
def test_import_outlives_the_torch_tensor(rng, torch_cuda):
    torch = torch_cuda
    x = rng.standard_normal((64, 32)).astype(np.float32)
    t = torch.from_numpy(x).cuda()
    b = rn.from_dlpack(t[:, ::2])
    del t
    gc.collect()
    junk = [torch.full((64, 32), -1.0, device="cuda") for _ in range(4)]
    torch.cuda.synchronize()
    np.testing.assert_array_equal(np.asarray(rn.add(b, 0, stream=rn.gpu)), x[:, ::2])
    np.testing.assert_array_equal(np.asarray(b), x[:, ::2])
    del junk


@requires_gpu
def test_import_of_cupy_arrays(rng):
    cp = pytest.importorskip("cupy")
    x = rng.standard_normal((6, 8)).astype(np.float32)
    c = cp.asarray(x)
    b = rn.from_dlpack(c)
    assert b.__dlpack_device__() == (2, c.device.id)
    np.testing.assert_array_equal(np.asarray(b), x)
    v = rn.from_dlpack(c[1:, ::2].T)
    np.testing.assert_array_equal(np.asarray(v), x[1:, ::2].T)
    np.testing.assert_array_equal(np.asarray(rn.multiply(v, 3, stream=rn.gpu)), x[1:, ::2].T * 3)
    i = cp.asarray(rng.integers(-100, 100, size=(3, 4), dtype=np.int32))
    np.testing.assert_array_equal(np.asarray(rn.from_dlpack(i)), cp.asnumpy(i))
