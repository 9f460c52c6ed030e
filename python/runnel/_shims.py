"""MLX compatibility shims over runnel's streams, which are safe to use from
every thread."""

import math
import threading

from . import _core


def _device_arg(fn, device):
    """None (the default device), a Device or a DeviceType, as a Device."""
    if device is None:
        return _core.default_device()
    if isinstance(device, _core.DeviceType):
        device = _core.Device(device)
    if isinstance(device, _core.Device):
        # At the call, not at the first use on some thread.
        if not _core.is_available(device):
            raise ValueError(f"[{fn}] {device} is not available.")
        return device
    raise TypeError(
        f"[{fn}] device must be None, a Device or a DeviceType, not "
        f"{type(device).__name__}."
    )


class ThreadLocalStream:
    """A stream per thread on one device, made on each thread's first use.

    Accepted wherever a Stream is (``stream=``, ``runnel.stream``,
    ``runnel.synchronize``); each thread resolves it to its own Stream, and
    ``runnel.stream(tls)`` to the stream of the thread that enters it.
    Equality and hashing are by identity: a ThreadLocalStream stands for a
    different Stream on each thread, so it never equals a Stream.
    """

    def __init__(self, device=None):
        """A ThreadLocalStream on the device (a Device or a DeviceType;
        None: the default device)."""
        self._device = _device_arg("ThreadLocalStream", device)
        self._local = threading.local()

    def __runnel_stream__(self):
        """This thread's Stream, created on its first use."""
        s = getattr(self._local, "stream", None)
        if s is None:
            s = _core.new_stream(self._device)
            self._local.stream = s
        return s

    @property
    def device(self):
        """The Device the streams run on."""
        return self._device

    @property
    def index(self):
        """The index of this thread's Stream."""
        return self.__runnel_stream__().index

    @property
    def priority(self):
        """The priority of this thread's Stream."""
        return self.__runnel_stream__().priority

    def query(self):
        """Whether this thread's Stream has finished its work."""
        return self.__runnel_stream__().query()

    def synchronize(self):
        """Waits for this thread's Stream."""
        self.__runnel_stream__().synchronize()

    def __repr__(self):
        """ThreadLocalStream(Device(type, index))."""
        return f"ThreadLocalStream({self._device})"


def new_thread_local_stream(device=None):
    """A ThreadLocalStream on the device (a Device or a DeviceType; default:
    the default device)."""
    return ThreadLocalStream(_device_arg("new_thread_local_stream", device))


def new_thread_unsafe_stream(device=None, priority=0):
    """A plain new Stream: runnel's streams are safe on every thread."""
    d = _device_arg("new_thread_unsafe_stream", device)
    return _core.new_stream(d, priority)


# Floating-point formats: (mantissa bits, exponent bits), IEEE-style with
# subnormals, infinities and NaNs.
_FLOAT_FORMATS = {
    "float16": (10, 5),
    "bfloat16": (7, 8),
    "float32": (23, 8),
    "float64": (52, 11),
}
_INT_BITS = {
    "uint8": (8, False),
    "uint16": (16, False),
    "uint32": (32, False),
    "uint64": (64, False),
    "int8": (8, True),
    "int16": (16, True),
    "int32": (32, True),
    "int64": (64, True),
}


def _dtype_arg(fn, dtype):
    if isinstance(dtype, _core.array):
        dtype = dtype.dtype
    if not isinstance(dtype, _core.Dtype):
        raise TypeError(
            f"[{fn}] dtype must be a runnel Dtype (such as runnel.float32), "
            f"not {type(dtype).__name__}."
        )
    return dtype, str(dtype).removeprefix("runnel.")


class finfo:
    """Machine limits of a floating-point dtype, as numpy.finfo: bits, eps,
    epsneg, max, min, tiny (= smallest_normal), smallest_subnormal,
    resolution, precision, nmant, nexp, iexp, maxexp, minexp, machep,
    negep, and dtype. Values are Python floats and ints."""

    def __init__(self, dtype):
        """The limits of a floating-point Dtype (or of an array's dtype)."""
        dtype, name = _dtype_arg("finfo", dtype)
        if name not in _FLOAT_FORMATS:
            raise ValueError(f"[finfo] {name} is not a floating-point dtype.")
        nmant, nexp = _FLOAT_FORMATS[name]
        self.dtype = dtype
        self.bits = 1 + nexp + nmant
        self.nmant = nmant
        self.nexp = self.iexp = nexp
        self.maxexp = 2 ** (nexp - 1)
        self.minexp = 2 - self.maxexp
        self.machep = -nmant
        self.negep = -(nmant + 1)
        self.eps = 2.0**-nmant
        self.epsneg = 2.0**-(nmant + 1)
        self.max = (2.0 - 2.0**-nmant) * 2.0 ** (self.maxexp - 1)
        self.min = -self.max
        self.smallest_normal = self.tiny = 2.0**self.minexp
        self.smallest_subnormal = 2.0 ** (self.minexp - nmant)
        # numpy's definition: the decimal digits eps resolves.
        self.precision = int(-math.log10(self.eps))
        # As numpy, the value rounded to the dtype.
        self.resolution = _core.array(10.0**-self.precision, dtype).item()

    def __repr__(self):
        """finfo(resolution=..., min=..., max=..., dtype=...)."""
        return (
            f"finfo(resolution={self.resolution}, min={self.min}, "
            f"max={self.max}, dtype={self.dtype})"
        )


class iinfo:
    """Machine limits of an integer dtype, as numpy.iinfo: bits, min, max,
    kind ('i' or 'u') and dtype. Values are Python ints."""

    def __init__(self, dtype):
        """The limits of an integer Dtype (or of an array's dtype)."""
        dtype, name = _dtype_arg("iinfo", dtype)
        if name not in _INT_BITS:
            raise ValueError(f"[iinfo] {name} is not an integer dtype.")
        bits, signed = _INT_BITS[name]
        self.dtype = dtype
        self.bits = bits
        self.kind = "i" if signed else "u"
        self.min = -(2 ** (bits - 1)) if signed else 0
        self.max = 2 ** (bits - 1) - 1 if signed else 2**bits - 1

    def __repr__(self):
        """iinfo(min=..., max=..., dtype=...)."""
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"
