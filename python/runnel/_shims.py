"""MLX compatibility shims over runnel's streams, which are safe to use from
every thread."""

import threading

from . import _core


class ThreadLocalStream:
    """A stream per thread on one device, made on each thread's first use.

    Accepted wherever a Stream is (``stream=``, ``runnel.stream``,
    ``runnel.synchronize``); each thread resolves it to its own Stream.
    """

    def __init__(self, device):
        self._device = _core.Device(device)
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

    def __eq__(self, other):
        if isinstance(other, ThreadLocalStream):
            return self is other
        if isinstance(other, _core.Stream):
            return self.__runnel_stream__() == other
        return NotImplemented

    def __hash__(self):
        return id(self)

    def __repr__(self):
        return f"ThreadLocalStream({self._device})"


def new_thread_local_stream(device=None):
    """A ThreadLocalStream on the device (default: the default device)."""
    return ThreadLocalStream(_core.default_device() if device is None else device)


def new_thread_unsafe_stream(device=None, priority=0):
    """A plain new Stream: runnel's streams are safe on every thread."""
    d = _core.default_device() if device is None else device
    return _core.new_stream(d, priority)
