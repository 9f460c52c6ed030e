import faulthandler
import sys

import numpy as np
import pytest

import runnel as rn

# A hang prints every thread's stack (pytest-timeout, when installed, also
# fails the test; pyproject.toml sets its limit).
faulthandler.enable(file=sys.stderr, all_threads=True)

requires_gpu = pytest.mark.skipif(
    rn.device_count(rn.gpu) == 0, reason="no GPU: device_count(gpu) == 0"
)

ALL_DTYPES = [
    rn.bool_, rn.uint8, rn.uint16, rn.uint32, rn.uint64, rn.int8, rn.int16,
    rn.int32, rn.int64, rn.float16, rn.bfloat16, rn.float32, rn.float64,
]


def devices():
    """Every device of this machine: the CPU, and GPU 0 when there is one."""
    out = [rn.Device(rn.cpu)]
    if rn.device_count(rn.gpu) > 0:
        out.append(rn.Device(rn.gpu))
    return out


# Parameters are device names, not Device objects: pytest keeps its
# parameter lists until the process ends, and with PyTorch imported they
# outlived the interpreter's finalization, which nanobind reports as leaked
# runnel instances at exit.
@pytest.fixture(params=[str(d) for d in devices()])
def device(request):
    return next(d for d in devices() if str(d) == request.param)


@pytest.fixture
def rng():
    # Fresh data every run; the seed is printed when a test fails.
    seed = np.random.SeedSequence().entropy % (2**32)
    print(f"numpy seed {seed}")
    return np.random.default_rng(seed)


@pytest.fixture(autouse=True)
def restore_default_device():
    d = rn.default_device()
    yield
    rn.set_default_device(d)
