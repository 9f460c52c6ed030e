"""Interop with other CUDA libraries' streams: Stream.cuda_stream,
__cuda_stream__ and Stream.from_external, checked against PyTorch's streams
(skipped without a GPU or PyTorch)."""

import numpy as np
import pytest

import runnel as rn
from conftest import requires_gpu

torch = pytest.importorskip("torch") if rn.device_count(rn.gpu) else None


def test_cpu_stream_has_no_cuda_stream():
    s = rn.new_stream(rn.cpu)
    with pytest.raises(ValueError, match=r"\[cuda_stream\]"):
        s.cuda_stream
    with pytest.raises(TypeError, match=r"\[from_external\]"):
        rn.Stream.from_external("not a stream", rn.gpu)


@requires_gpu
def test_cuda_stream_protocol_matches_the_handle():
    s = rn.new_stream(rn.gpu)
    h = s.cuda_stream
    assert isinstance(h, int) and h != 0
    assert s.__cuda_stream__() == (0, h)
    ext = rn.Stream.from_external(s)  # anything with __cuda_stream__
    assert ext.cuda_stream == h and ext != s


def warm_up_kernels():
    """Loads the kernels these tests launch. CUDA loads a module lazily on a
    kernel's first launch, and that load waits for the device to be idle: a
    first launch behind a spinning kernel would return only after it."""
    x = rn.array(np.ones(8, np.float32))
    rn.eval(rn.add(x, x, stream=rn.gpu), rn._testing.delay(x, 1, stream=rn.gpu))
    torch.cuda._sleep(1000)
    (torch.ones(8, device="cuda") * 3).sum().item()
    torch.cuda.synchronize()


@requires_gpu
def test_runnel_work_on_a_torch_stream_runs_after_torch_work(rng):
    warm_up_kernels()
    ts = torch.cuda.Stream()
    with torch.cuda.stream(ts):
        torch.cuda._sleep(500_000_000)  # hundreds of ms of GPU spinning
    s = rn.Stream.from_external(ts)
    assert s.cuda_stream == ts.cuda_stream
    x = rng.standard_normal(4096).astype(np.float32)
    y = rn.add(rn.array(x), rn.array(x), stream=s)
    rn.async_eval(y)
    assert not s.query()  # behind torch's sleep on the same CUDA stream
    np.testing.assert_allclose(np.array(y), x + x, rtol=1e-6)
    assert ts.query()


@requires_gpu
def test_torch_work_on_a_runnel_stream_runs_after_runnel_work():
    warm_up_kernels()
    s = rn.new_stream(rn.gpu)
    slow = rn._testing.delay(rn.array(1.0), 300_000, stream=s)
    rn.async_eval(slow)
    ts = torch.cuda.ExternalStream(s.cuda_stream)
    with torch.cuda.stream(ts):
        t = torch.ones(1024, device="cuda") * 3
    assert not ts.query()  # torch's kernel waits behind runnel's delay
    ts.synchronize()
    assert s.query()
    assert float(t.sum()) == 3 * 1024
