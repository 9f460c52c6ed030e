"""runnel: asynchronous arrays on CPUs and CUDA GPUs through devices and
streams, with the names of MLX's ``mlx.core``::

    import runnel as rn
    s = rn.new_stream(rn.cpu)
    y = rn.sum(rn.exp(rn.arange(0.0, 1.0, 1e-3), stream=s))
    rn.eval(y)
"""

import atexit as _atexit
import sys as _sys

from . import _core
from ._core import *  # noqa: F401,F403
from ._core import _testing
from ._shims import (  # noqa: F401
    ThreadLocalStream,
    finfo,
    iinfo,
    new_thread_local_stream,
    new_thread_unsafe_stream,
)
from .io import (  # noqa: F401
    load,
    save,
    save_safetensors,
    savez,
    savez_compressed,
)
from . import cuda, metal  # noqa: F401

# Foreign buffers (from_dlpack) are released under the GIL: the ones queued
# go now, and later ones only on the finalizing thread.
_atexit.register(_core._release_foreign_at_exit)

# `import runnel._testing` works like the other submodules.
_sys.modules[__name__ + "._testing"] = _testing

__version__ = "0.1.0"
