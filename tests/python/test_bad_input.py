"""Bad input fails at the call, with the contract's exception and a message
naming the function: regressions for the defects scripts/bad-input.py found,
and a sample of the enumerator itself (no crash, no hang)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import runnel as rn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
SCRIPT = os.path.join(ROOT, "scripts", "bad-input.py")
NO_GPU = rn.Device(rn.gpu, 7)  # no machine has it: never available


def run_child(code, timeout=60):
    """Runs `code` in a fresh interpreter: a crash there is an exit code,
    not a dead test run."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, timeout=timeout)


# Shapes whose size in bytes does not fit in 64 bits wrapped to a small
# buffer, and the kernel wrote 2**62 elements into it (SIGSEGV).
TOO_BIG = [
    "rn.zeros((2**31 - 1, 2**31 - 1))",
    "rn.ones((2**31 - 1, 2**30), rn.float64)",
    "rn.full((2**31 - 1, 2**31 - 1), 1.5)",
    "rn.eye(2**31 - 1)",
    "rn.random.normal((2**31 - 1, 2**31 - 1))",
    "rn.random.uniform(shape=(2**31 - 1, 2**31 - 1))",
    "rn.random.randint(0, 9, (2**31 - 1, 2**31 - 1))",
    "rn.random.bits((2**31 - 1, 2**31 - 1))",
    "rn.zeros((2**31 - 1, 1)) + rn.zeros((1, 2**31 - 1))",
]


def test_too_big_in_a_child_is_a_value_error_not_a_crash():
    code = (
        "import runnel as rn\n"
        f"for c in {TOO_BIG!r}:\n"
        "    try:\n"
        "        rn.eval(eval(c))\n"
        "        print('returned', c)\n"
        "    except ValueError as e:\n"
        "        assert str(e).startswith('['), e\n"
        "        assert 'too big' in str(e), e\n"
        "print('done')\n"
    )
    r = run_child(code)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == "done", r.stdout


@pytest.mark.parametrize("code", TOO_BIG)
def test_too_big_fails_at_the_call(code):
    with pytest.raises(ValueError, match=r"^\[\w+\] .*too big"):
        eval(code)


def test_element_count_wrapping_to_zero_is_refused():
    # (2**20,) * 8 has 2**160 elements: the count wrapped to 0 and the
    # array "worked", with size 0.
    with pytest.raises(ValueError, match="too big"):
        rn.zeros((2**20,) * 8)


def test_big_but_addressable_is_a_memory_error_at_eval():
    # Sizes that fit in 64 bits but pass the memory limit stay lazy: the
    # allocation fails cleanly at eval.
    a = rn.zeros((2**20, 2**30), rn.uint8)  # 1 TiB
    with pytest.raises(MemoryError):
        rn.eval(a)


@pytest.mark.parametrize("make", [rn.ThreadLocalStream,
                                  rn.new_thread_local_stream])
@pytest.mark.parametrize("device", [NO_GPU, rn.Device(rn.cpu, 3)])
def test_thread_local_stream_checks_the_device_at_the_call(make, device):
    with pytest.raises(ValueError, match=r"^\[\w+\] .*not available"):
        make(device)


@pytest.mark.parametrize("code", [
    "rn.contiguous(A, stream=NO_GPU)",
    "rn.astype(A, rn.float32, stream=NO_GPU)",
    "rn.max(A, axis=(), stream=NO_GPU)",
    "rn.min(A, axis=(), stream=NO_GPU)",
])
def test_an_op_with_nothing_to_do_still_checks_its_stream(code):
    A = rn.ones((2, 3))  # noqa: F841 (used by eval)
    with pytest.raises(ValueError, match=r"^\[\w+\] "):
        eval(code)


@pytest.mark.parametrize("code", [
    "rn.array(300, rn.uint8)",
    "rn.array([1, 300], rn.uint8)",
    "rn.array([-1], rn.uint32)",
    "rn.array([2**63], rn.int64)",
    "rn.full((2,), 300, rn.int8)",
    "rn.full_like(rn.zeros((2,), rn.int8), 300)",
    "rn.array([1], rn.int8) + 1000",
    "rn.multiply(rn.array([1], rn.uint8), -1)",
])
def test_an_int_too_large_for_its_dtype_is_an_overflow_error(code):
    # It wrapped silently (300 -> 44) where a dtype was given; a scalar
    # beside an array raised ValueError, which the error still is.
    with pytest.raises(OverflowError, match=r"^\[\w+\] .*overflow"):
        eval(code)
    with pytest.raises(ValueError):
        eval(code)


def test_ints_that_fit_still_convert():
    assert rn.array([1, 255], rn.uint8).tolist() == [1, 255]
    assert rn.array([2**63], rn.uint64).tolist() == [2**63]
    assert rn.full((2,), -128, rn.int8).tolist() == [-128, -128]
    assert rn.full((2,), 1.5, rn.int32).tolist() == [1, 1]
    assert rn.full_like(rn.zeros((2,), rn.int8), 7.0).tolist() == [7, 7]
    assert rn.array(7, rn.float16).item() == 7.0


NPOBJ = np.array([object(), object()], dtype=object)


@pytest.mark.parametrize("call, fn", [
    (lambda: rn.zeros(NPOBJ), "zeros"),
    (lambda: rn.reshape(rn.ones(4), NPOBJ), "reshape"),
    (lambda: rn.sum(rn.ones(4), NPOBJ), "sum"),
    (lambda: rn.eye(NPOBJ), "eye"),
    (lambda: rn.random.normal(NPOBJ), "normal"),
    (lambda: rn.random.split(rn.random.key(0), NPOBJ), "split"),
    (lambda: rn.new_stream(rn.cpu, NPOBJ), "new_stream"),
])
def test_numpy_object_array_as_an_int_is_a_named_type_error(call, fn):
    # numpy's own "only integer scalar arrays ..." came through unnamed.
    with pytest.raises(TypeError, match=rf"^\[{fn}\] "):
        call()


def test_numpy_arrays_still_work_as_shapes():
    assert rn.zeros(np.array([2, 3])).shape == (2, 3)
    assert rn.zeros(np.int64(4)).shape == (4,)
    assert rn.zeros(np.array(5)).shape == (5,)


@pytest.mark.parametrize("call, exc, fn", [
    (lambda: rn.Device("gpu"), TypeError, "Device"),
    (lambda: rn.Device(None), TypeError, "Device"),
    (lambda: rn.Device(rn.cpu, "x"), TypeError, "Device"),
    (lambda: rn.Device(rn.cpu, 2**40), ValueError, "Device"),
    (lambda: rn.Stream("x"), TypeError, "Stream"),
    (lambda: rn.Stream(object()), TypeError, "Stream"),
    (lambda: rn.Event("x"), TypeError, "Event"),
    (lambda: rn.Event(True).elapsed_time(None), TypeError, "elapsed_time"),
    (lambda: rn.set_memory_limit(-1), ValueError, "set_memory_limit"),
    (lambda: rn.set_memory_limit("x"), TypeError, "set_memory_limit"),
    (lambda: rn.array(None), TypeError, "array"),
    (lambda: rn.from_dlpack(None), TypeError, "from_dlpack"),
])
def test_constructors_name_themselves(call, exc, fn):
    # These were nanobind's "incompatible function arguments" dumps.
    with pytest.raises(exc, match=rf"^\[{fn}\] "):
        call()


def test_constructors_still_work():
    assert rn.Device(rn.gpu, 1).index == 1
    assert rn.Device(rn.cpu) == rn.cpu
    s = rn.new_stream(rn.cpu)
    assert rn.Stream(s.index) == s
    e, f = rn.Event(True), rn.Event(enable_timing=True)
    e.record(s)
    f.record(s)
    assert e.elapsed_time(f) >= 0
    old = rn.set_memory_limit(2**40)
    assert rn.set_memory_limit(old) == 2**40
    assert rn.zeros(2, stream=rn.cpu).tolist() == [0, 0]  # DeviceType


def test_enumerator_sample_has_no_crash_or_hang(tmp_path):
    out = tmp_path / "table.json"
    md = tmp_path / "table.md"
    r = subprocess.run(
        [sys.executable, SCRIPT, "--sample", "12", "--quiet", "--timeout",
         "30", "--json", str(out), "--markdown", str(md)],
        capture_output=True, text=True, timeout=300)
    assert out.exists(), r.stdout[-2000:] + r.stderr[-2000:]
    rows = json.loads(out.read_text())
    assert len(rows) > 300
    bad = [row for row in rows if row["outcome"] in ("crash", "hang",
                                                     "baseline-failed")]
    assert not bad, bad
    assert r.returncode == 0, r.stdout[-2000:]
    assert "| function |" in md.read_text()


@pytest.mark.parametrize("call, fn", [
    (lambda s: rn.add(rn.ones(2), rn.ones(2), stream=s), "add"),
    (lambda s: rn.zeros(3, stream=s), "zeros"),
    (lambda s: rn.sum(rn.ones(2), stream=s), "sum"),
    (lambda s: rn.ones(2).reshape(2, stream=s), "reshape"),
])
@pytest.mark.parametrize("device", [NO_GPU, rn.Device(rn.cpu, 3)])
def test_a_missing_device_as_stream_names_the_op(call, fn, device):
    # The message named "[default_stream]", the lookup that found out.
    with pytest.raises(ValueError, match=rf"^\[{fn}\] .*not available"):
        call(device)


def test_load_checks_the_stream_device(tmp_path):
    path = str(tmp_path / "a.npy")
    rn.save(path, rn.ones(3))
    with pytest.raises(ValueError, match=r"^\[load\] .*not available"):
        rn.load(path, stream=NO_GPU)
    assert rn.load(path, stream=rn.cpu).tolist() == [1, 1, 1]
