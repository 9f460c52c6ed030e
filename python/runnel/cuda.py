"""runnel.cuda: as mlx.core.cuda."""

from . import _core


def is_available():
    """Whether a CUDA GPU can be used (the backend is built and a GPU found)."""
    return _core.device_count(_core.gpu) > 0
