"""runnel.metal: as mlx.core.metal; runnel has no Metal backend."""


def is_available():
    """Always False: runnel runs on CPUs and CUDA GPUs."""
    return False
