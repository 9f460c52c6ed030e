"""Streams and Python threads: shared streams, per-thread defaults, contexts
that stay on their thread, and the GIL released while waiting."""

import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import runnel as rn


def run_threads(n, fn):
    errors, threads = [], []

    def body(i):
        try:
            fn(i)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    for i in range(n):
        threads.append(threading.Thread(target=body, args=(i,)))
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
        assert not t.is_alive(), "thread hung"
    if errors:
        raise errors[0]


def test_one_stream_used_from_many_threads():
    s = rn.new_stream(rn.cpu)
    results = {}

    def work(i):
        acc = rn.array(np.full(64, i, np.int32))
        for _ in range(50):
            acc = rn.add(acc, 1, stream=s)
        results[i] = rn.sum(acc, stream=s).item()

    run_threads(8, work)
    assert results == {i: 64 * (i + 50) for i in range(8)}


def test_default_streams_are_per_thread():
    seen = {}

    def work(i):
        seen[i] = rn.default_stream(rn.cpu)
        assert rn.default_stream(rn.cpu) == seen[i]

    run_threads(4, work)
    main = rn.default_stream(rn.cpu)
    indices = {s.index for s in seen.values()} | {main.index}
    assert len(indices) == 5


def test_context_does_not_leak_into_other_threads():
    # With a GPU the process default is the GPU, so the holder's CPU context
    # differs from it; without one both are the CPU and the stream decides.
    before = rn.default_device()
    s = rn.new_stream(rn.cpu)
    inside = threading.Event()
    release = threading.Event()
    seen = {}

    def holder():
        with rn.stream(s):
            seen["holder"] = rn.default_stream(rn.cpu)
            seen["holder_device"] = rn.default_device()
            inside.set()
            release.wait(30)

    t = threading.Thread(target=holder)
    t.start()
    assert inside.wait(30)
    try:
        seen["other"] = rn.default_stream(rn.cpu)
        seen["other_device"] = rn.default_device()
    finally:
        release.set()
        t.join(30)
    assert seen["holder"] == s
    assert seen["holder_device"] == rn.cpu
    assert seen["other"] != s
    assert seen["other_device"] == before
    assert rn.default_device() == before


def test_set_default_device_reaches_every_thread_outside_a_context():
    rn.set_default_device(rn.cpu)
    seen = []
    run_threads(2, lambda i: seen.append(rn.default_device()))
    assert seen == [rn.Device(rn.cpu)] * 2


def test_thread_local_stream_resolves_per_thread():
    tls = rn.new_thread_local_stream(rn.cpu)
    seen = {}

    def work(i):
        with rn.stream(tls):
            seen[i] = rn.default_stream(rn.cpu)
        assert tls.__runnel_stream__() == seen[i]
        assert rn.add(i, 1, stream=tls).item() == i + 1
        rn.synchronize(tls)
        tls.synchronize()

    run_threads(3, work)
    assert len({s.index for s in seen.values()}) == 3
    assert tls.device == rn.cpu
    assert tls.index == tls.index


def test_thread_local_stream_forms():
    default = rn.new_thread_local_stream()
    assert default.device == rn.default_device()
    for form in (rn.cpu, rn.Device(rn.cpu)):
        tls = rn.new_thread_local_stream(form)
        assert tls.device == rn.Device(rn.cpu)
        assert rn.add(rn.array([1, 2]), 1, stream=tls).tolist() == [2, 3]
        assert rn.ThreadLocalStream(form).device == rn.Device(rn.cpu)
    assert rn.ThreadLocalStream().device == rn.default_device()
    assert rn.new_thread_unsafe_stream(rn.Device(rn.cpu)).device == rn.cpu
    for bad in ("cpu", 0):
        with pytest.raises(TypeError, match=r"\[new_thread_local_stream\]"):
            rn.new_thread_local_stream(bad)


def test_stream_context_of_a_thread_local_stream_resolves_on_entering():
    tls = rn.new_thread_local_stream(rn.cpu)
    ctx = rn.stream(tls)  # made here, entered on another thread
    seen = {}

    def work(i):
        with ctx:
            seen["inside"] = rn.default_stream(rn.cpu)
        seen["own"] = tls.__runnel_stream__()

    run_threads(1, work)
    assert seen["inside"] == seen["own"]
    assert seen["inside"] != tls.__runnel_stream__()  # the main thread's


def test_thread_local_stream_equality_and_hash_are_by_identity():
    tls = rn.new_thread_local_stream(rn.cpu)
    mine = tls.__runnel_stream__()
    assert tls == tls and hash(tls) == hash(tls)
    # It stands for another Stream on each thread: it equals none of them.
    assert tls != mine and mine != tls
    assert tls != rn.new_thread_local_stream(rn.cpu)
    assert len({tls, mine}) == 2


def run_isolated(source, timeout=60):
    """Runs a test body in a child process. A wait that held the GIL would
    deadlock (the thread that opens the gate could never run), and no
    in-process timeout can fire then: the child hangs, and the timeout here
    fails the test instead of hanging the suite. Inside, the waits run on
    threads joined with a timeout."""
    try:
        r = subprocess.run([sys.executable, "-c", textwrap.dedent(source)],
                           capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"the waits hung for {timeout} s: is the GIL held while "
                    f"waiting? {e.stdout or ''}{e.stderr or ''}")
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


GIL_PRELUDE = """
import threading, time, sys
import numpy as np
import runnel as rn

def start(fn, *args):
    t = threading.Thread(target=fn, args=args, daemon=True)
    t.start()
    return t

def join(threads, what):
    for t in threads:
        t.join(30)
        if t.is_alive():
            print(f"{what}: a waiting thread did not finish", flush=True)
            sys.exit(3)
"""


def test_gil_is_released_while_waiting():
    """Two threads each wait on a stream held by a gate; with the GIL
    released their waits overlap, so the waits add up to more than the wall
    time."""
    out = run_isolated(GIL_PRELUDE + """
hold = 0.5
streams = [rn.new_stream(rn.cpu) for _ in range(2)]
gates = [rn._testing.block(s) for s in streams]
outs = [rn.add(rn.array([1.0]), 1, stream=s) for s in streams]
waits = [0.0, 0.0]
started = threading.Barrier(3)

def wait(i):
    started.wait(30)
    t0 = time.perf_counter()
    rn.eval(outs[i])
    waits[i] = time.perf_counter() - t0

threads = [start(wait, i) for i in range(2)]
t0 = time.perf_counter()
started.wait(30)
time.sleep(hold)  # both threads are in eval now, unless the GIL is held
for g in gates:
    g.open()
join(threads, "eval")
wall = time.perf_counter() - t0
assert min(waits) > 0.8 * hold, waits
assert sum(waits) > 1.5 * wall, (waits, wall)
assert [o.item() for o in outs] == [2.0, 2.0]
print("ok")
""")
    assert out.strip() == "ok"


def test_gil_is_released_in_synchronize_item_and_event_waits():
    out = run_isolated(GIL_PRELUDE + """
s = rn.new_stream(rn.cpu)
e = rn.Event()
waiters = {
    "synchronize": lambda x: rn.synchronize(s),
    "stream.synchronize": lambda x: s.synchronize(),
    "item": lambda x: x.item(),
    "tolist": lambda x: x.tolist(),
    "numpy": lambda x: np.array(x),
    "event": lambda x: e.synchronize(),
}
for name, waiter in waiters.items():
    gate = rn._testing.block(s)
    x = rn.add(rn.array(1.0), 1, stream=s)
    rn.async_eval(x)
    e.record(s)
    done = threading.Event()
    t = start(lambda: (waiter(x), done.set()))
    time.sleep(0.05)
    # The main thread runs Python while the other waits.
    ticks = sum(1 for _ in range(10000))
    assert ticks == 10000 and not done.is_set(), name
    gate.open()
    join([t], name)
    assert done.is_set(), name
print("ok")
""")
    assert out.strip() == "ok"


def test_enqueued_python_callables_run_in_order():
    s = rn.new_stream(rn.cpu)
    order = []
    for i in range(20):
        rn._testing.enqueue(s, lambda i=i: order.append(i))
    rn.synchronize(s)
    assert order == list(range(20))
