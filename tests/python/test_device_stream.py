"""The Devices-and-Streams API, as mlx.core has it."""

import pytest

import runnel as rn
from conftest import requires_gpu


def test_device_types_convert_to_devices():
    assert rn.cpu == rn.Device(rn.cpu)
    assert rn.Device(rn.cpu) == rn.cpu
    assert rn.Device(rn.cpu, 0) == rn.Device(rn.DeviceType.cpu)
    assert rn.Device(rn.gpu, 1) != rn.Device(rn.gpu, 0)
    assert str(rn.Device(rn.cpu)) == "Device(cpu, 0)"
    assert repr(rn.Device(rn.gpu, 1)) == "Device(gpu, 1)"
    d = rn.Device(rn.gpu, 2)
    assert d.type == rn.gpu and d.index == 2
    assert len({rn.Device(rn.cpu), rn.Device(rn.cpu, 0), rn.Device(rn.gpu)}) == 2
    assert rn.Device(rn.cpu) < rn.Device(rn.gpu)


def test_equal_devices_and_types_hash_equal():
    for t in (rn.cpu, rn.gpu):
        assert t == rn.Device(t) and hash(t) == hash(rn.Device(t))
        assert hash(rn.Device(t, 0)) == hash(rn.Device(t))
    assert len({rn.cpu, rn.Device(rn.cpu), rn.Device(rn.cpu, 0)}) == 1
    assert {rn.cpu: 1}[rn.Device(rn.cpu)] == 1
    assert {rn.Device(rn.gpu): 2}[rn.gpu] == 2
    assert rn.gpu != rn.Device(rn.gpu, 1)


def test_device_count_takes_a_type_or_a_device():
    assert rn.device_count(rn.Device(rn.cpu)) == rn.device_count(rn.cpu) == 1
    assert rn.device_count(rn.Device(rn.gpu)) == rn.device_count(rn.gpu)
    for bad in ("cpu", 0, None):
        with pytest.raises(TypeError, match=r"\[device_count\]"):
            rn.device_count(bad)


def test_device_count_and_availability():
    assert rn.device_count(rn.cpu) == 1
    assert rn.device_count(rn.gpu) >= 0
    assert rn.is_available(rn.cpu)
    assert rn.is_available(rn.Device(rn.cpu))
    assert not rn.is_available(rn.Device(rn.cpu, 3))
    assert rn.is_available(rn.gpu) == (rn.device_count(rn.gpu) > 0)
    assert rn.cuda.is_available() == (rn.device_count(rn.gpu) > 0)
    assert rn.metal.is_available() is False


def test_device_info_is_a_dict():
    info = rn.device_info(rn.cpu)
    assert isinstance(info, dict)
    for key in ("device_name", "architecture", "total_memory"):
        assert key in info
    assert info["total_memory"] > 0
    # Free memory moves between two calls on a GPU that other work uses.
    def fixed(i):
        return {k: v for k, v in i.items() if k != "free_memory"}
    assert fixed(rn.device_info()) == fixed(rn.device_info(rn.default_device()))


def test_default_device_starts_as_gpu_when_available():
    expected = rn.gpu if rn.device_count(rn.gpu) > 0 else rn.cpu
    assert rn.default_device() == expected


def test_set_default_device():
    rn.set_default_device(rn.cpu)
    assert rn.default_device() == rn.Device(rn.cpu)
    assert rn.zeros(3).tolist() == [0, 0, 0]


@pytest.mark.skipif(rn.device_count(rn.gpu) > 0, reason="needs a CPU-only machine")
def test_unavailable_gpu_raises_value_error_naming_it():
    for f in (
        lambda: rn.set_default_device(rn.gpu),
        lambda: rn.default_stream(rn.gpu),
        lambda: rn.new_stream(rn.gpu),
        lambda: rn.stream(rn.gpu),
        lambda: rn.zeros(3, stream=rn.gpu),
        lambda: rn.synchronize(rn.gpu),
        lambda: rn.device_info(rn.gpu),
    ):
        with pytest.raises(ValueError, match=r"Device\(gpu, 0\)"):
            f()


def test_stream_properties(device):
    s = rn.new_stream(device)
    assert s.device == device
    assert isinstance(s.index, int)
    assert repr(s) == f"Stream({device}, {s.index})"
    assert s == rn.Stream(s.index)
    assert hash(s) == hash(rn.Stream(s.index))
    assert s != rn.new_stream(device)
    assert s != "stream"
    assert s.query() in (True, False)
    s.synchronize()
    assert s.query()


def test_new_stream_priority_is_clamped(device):
    lo, hi = rn.stream_priority_range(device)
    assert lo <= hi
    assert rn.new_stream(device, priority=lo - 100).priority == lo
    assert rn.new_stream(device, priority=hi + 100).priority == hi
    assert rn.new_stream(device).priority == min(max(0, lo), hi)


def test_stream_indices_are_unique():
    streams = [rn.new_stream(rn.cpu) for _ in range(50)]
    assert len({s.index for s in streams}) == 50


def test_rebuilding_a_dead_stream_raises():
    index = rn.new_stream(rn.cpu).index
    with pytest.raises(ValueError, match=rf"\[stream\] no stream with index {index}"):
        rn.Stream(index)


def test_default_stream_is_per_device_and_stable(device):
    assert rn.default_stream(device) == rn.default_stream(device)
    assert rn.default_stream(device).device == device


def test_set_default_stream(device):
    old = rn.default_stream(device)
    s = rn.new_stream(device)
    rn.set_default_stream(s)
    try:
        assert rn.default_stream(device) == s
        with rn.stream(device):
            x = rn.add(1, 2)
            assert rn.default_stream(device) == s
        assert x.item() == 3
    finally:
        rn.set_default_stream(old)
    with pytest.raises(TypeError, match=r"\[set_default_stream\]"):
        rn.set_default_stream(rn.cpu)


def test_stream_context_over_stream_device_and_type(device):
    s = rn.new_stream(device)
    outer_device = rn.default_device()
    with rn.stream(s):
        assert rn.default_device() == device
        assert rn.default_stream(device) == s
        with rn.stream(rn.cpu):
            assert rn.default_device() == rn.cpu
        assert rn.default_stream(device) == s
    assert rn.default_device() == outer_device
    assert rn.default_stream(device) != s
    with rn.stream(rn.Device(rn.cpu)):
        assert rn.default_device() == rn.cpu
    with rn.stream(rn.cpu) as ctx:
        assert isinstance(ctx, rn.StreamContext)


def test_stream_context_restores_on_exception():
    s = rn.new_stream(rn.cpu)
    before = rn.default_stream(rn.cpu)
    with pytest.raises(KeyError):
        with rn.stream(s):
            raise KeyError("x")
    assert rn.default_stream(rn.cpu) == before


def test_stream_context_undoes_set_default_stream_keeps_set_default_device():
    before = rn.default_stream(rn.cpu)
    device = rn.default_device()
    with rn.stream(rn.new_stream(rn.cpu)):
        rn.set_default_stream(rn.new_stream(rn.cpu))
        rn.set_default_device(rn.cpu)
    assert rn.default_stream(rn.cpu) == before
    rn.set_default_device(device)


def test_stream_context_rejects_other_types():
    for bad in (None, 0, "cpu", 1.5, [rn.cpu]):
        with pytest.raises(TypeError, match=r"\[stream\]"):
            rn.stream(bad)


def test_ops_run_on_the_context_stream():
    s = rn.new_stream(rn.cpu)
    gate = rn._testing.block(s)
    with rn.stream(s):
        x = rn.add(rn.array([1, 2]), 1)
    rn.async_eval(x)
    assert not s.query()
    gate.open()
    s.synchronize()
    assert x.tolist() == [2, 3]


def test_synchronize_forms(device):
    s = rn.new_stream(device)
    x = rn.exp(rn.ones(8), stream=s)
    rn.async_eval(x)
    rn.synchronize(s)
    rn.synchronize(device)
    rn.synchronize(device.type)
    rn.synchronize()
    rn.synchronize(None)
    with pytest.raises(TypeError, match=r"\[synchronize\]"):
        rn.synchronize("s")


def test_synchronize_raises_and_clears_stream_errors():
    s = rn.new_stream(rn.cpu)

    def fail():
        raise RuntimeError("probe failed")

    rn._testing.enqueue(s, fail)
    with pytest.raises(RuntimeError, match="probe failed"):
        rn.synchronize(s)
    rn.synchronize(s)  # cleared; the stream is usable
    assert rn.add(1, 1, stream=s).item() == 2


def test_clear_streams():
    s = rn.default_stream(rn.cpu)
    x = rn.add(rn.array(1), 1, stream=s)
    rn.clear_streams()
    assert rn.default_stream(rn.cpu) != s
    assert x.item() == 2


def test_events_order_work_across_streams(device):
    a, b = rn.new_stream(device), rn.new_stream(rn.cpu)
    e = rn.Event()
    assert e.query()
    e.wait(b)  # before any record: a no-op
    gate = rn._testing.block(a) if device == rn.cpu else None
    e.record(a)
    if gate is not None:
        assert not e.query()
        gate.open()
    e.synchronize()
    assert e.query()
    e.wait(stream=b)
    rn.synchronize(b)


def test_event_elapsed_time():
    s = rn.new_stream(rn.cpu)
    start, end = rn.Event(enable_timing=True), rn.Event(True)
    start.record(s)
    rn.eval(rn._testing.delay(rn.array(1), 2000, stream=s))
    end.record(s)
    end.synchronize()
    assert start.elapsed_time(end) >= 1.5


def test_eval_walks_nested_structures():
    a, b, c = rn.add(1, 1), rn.add(2, 2), rn.add(3, 3)
    rn.eval({"x": [a, (b, "text", 5)], "y": {"z": c}}, None, 1.5)
    assert [a.item(), b.item(), c.item()] == [2, 4, 6]
    d = rn.add(4, 4)
    rn.async_eval([d], {"k": d})
    assert d.item() == 8
    rn.eval()
    rn.eval([])


def test_new_thread_unsafe_stream_is_a_stream():
    s = rn.new_thread_unsafe_stream(rn.cpu)
    assert isinstance(s, rn.Stream)
    assert rn.add(1, 2, stream=s).item() == 3


def test_memory_functions(device):
    rn.reset_peak_memory(device)
    before = rn.get_active_memory(device)
    x = rn.ones((1 << 20,), stream=device)
    rn.eval(x)
    assert rn.get_active_memory(device) >= before + 4 * (1 << 20)
    assert rn.get_peak_memory(device) >= 4 * (1 << 20)
    assert rn.get_cache_memory(device) >= 0
    del x
    rn.clear_cache(device)
    limit = rn.get_memory_limit(device)
    assert rn.set_memory_limit(limit, device) == limit
    assert rn.get_active_memory() >= 0


def test_memory_limit_raises_memory_error():
    old = rn.set_memory_limit(1 << 20, rn.cpu)
    try:
        with pytest.raises(MemoryError):
            rn.eval(rn.ones((1 << 22,), stream=rn.cpu))
    finally:
        rn.set_memory_limit(old, rn.cpu)
    try:  # the failed op's stream slot may hold the error too
        rn.synchronize(rn.cpu)
    except MemoryError:
        pass
    rn.synchronize(rn.cpu)


def test_functions_have_docstrings():
    import inspect

    missing = []
    for mod in (rn, rn._testing):
        for name in dir(mod):
            obj = getattr(mod, name)
            if name.startswith("_") or not callable(obj):
                continue
            if not (inspect.getdoc(obj) or "").strip():
                missing.append(name)
    assert not missing, missing


@requires_gpu
def test_gpu_stream_reads_cpu_data():
    x = rn.arange(1000, stream=rn.cpu)
    y = rn.sum(rn.multiply(x, 2, stream=rn.gpu), stream=rn.gpu)
    assert y.item() == 999 * 1000
