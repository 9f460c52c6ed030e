"""Creation ops against numpy on fresh random data, for every dtype: arrays
from Python data, zeros_like / ones_like / full_like, linspace, eye and
identity; 0-size shapes, stream= forms and errors."""

import numpy as np
import pytest

import runnel as rn
from conftest import ALL_DTYPES

try:
    import ml_dtypes
except ImportError:
    ml_dtypes = None


def np_dtype(d):
    if d == rn.bfloat16:
        if ml_dtypes is None:
            pytest.skip("ml_dtypes is not installed")
        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(str(d).removeprefix("runnel.").rstrip("_"))


def same(out, want):
    got = np.array(out)
    assert got.shape == want.shape
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("d", ALL_DTYPES, ids=str)
def test_array_from_data_every_dtype(d, rng):
    nd = np_dtype(d)
    x = rng.uniform(-100, 100, (3, 4))
    if nd.kind == "u":
        x = np.abs(x)
    want = x.astype(nd)
    if d != rn.float64:  # float64 data becomes float32 unless asked, as MLX
        same(rn.array(want), want)  # numpy data of the dtype
    same(rn.array(x.tolist(), d), x.astype(nd))  # nested lists, converted
    same(rn.array(want, d), want)


def test_array_from_data_forms():
    assert rn.array([1, 2, 3]).dtype == rn.int32
    assert rn.array([1, 2**40]).dtype == rn.int64
    assert rn.array([1.0, 2]).dtype == rn.float32
    assert rn.array([True, False]).dtype == rn.bool_
    assert rn.array(np.zeros(3, np.float64)).dtype == rn.float32  # as MLX
    assert rn.array(3).shape == ()
    assert rn.array([[]]).shape == (1, 0)
    x = np.arange(6).reshape(2, 3)
    a = rn.array(x)
    x[0, 0] = 100  # the data was copied
    assert np.array(a)[0, 0] == 0
    with pytest.raises(ValueError, match=r"\[array\]"):
        rn.array([[1, 2], [3]])


def test_python_ints_up_to_2_to_the_64(rng):
    # [2**63, 2**64) is uint64, as numpy reads it; beyond, or mixed with
    # negative ints, a ValueError naming the function.
    big = [int(v) for v in rng.integers(2**63, 2**64, 5, dtype=np.uint64)]
    same(rn.array(big), np.array(big, np.uint64))
    same(rn.array([[1, big[0]], [big[1], 0]]),
         np.array([[1, big[0]], [big[1], 0]], np.uint64))
    a = rn.array(big[0])
    assert a.dtype == rn.uint64 and a.item() == big[0]
    assert rn.array(big, rn.float64).tolist() == [float(v) for v in big]
    u = rn.array([1, 2], rn.uint64)
    same(u + big[2], np.array([1, 2], np.uint64) + np.uint64(big[2]))
    same(rn.full((2,), big[3], rn.uint64), np.full((2,), big[3], np.uint64))
    with pytest.raises(ValueError, match=r"\[add\].*overflow"):
        rn.array([1], rn.int64) + big[0]
    with pytest.raises(ValueError, match=r"\[array\].*64 bits"):
        rn.array([2**64])
    with pytest.raises(ValueError, match=r"\[array\].*negative"):
        rn.array([-1, big[0]])


@pytest.mark.parametrize("d", ALL_DTYPES, ids=str)
def test_zeros_ones_full_like_every_dtype(d, rng):
    nd = np_dtype(d)
    for shape in [(), (3, 4), (2, 0, 3)]:
        x = rn.zeros(shape, d, stream=rn.cpu)
        same(rn.zeros_like(x, stream=rn.cpu), np.zeros(shape, nd))
        same(rn.ones_like(x, stream=rn.cpu), np.ones(shape, nd))
    x = rn.zeros((2, 3), d)
    v = float(rng.uniform(0, 100))
    same(rn.full_like(x, v, stream=rn.cpu), np.full((2, 3), v).astype(nd))
    row = rng.uniform(0, 100, 3).astype(np.float32)
    same(rn.full_like(x, rn.array(row), rn.float64, stream=rn.cpu),
         np.broadcast_to(row.astype(np.float64), (2, 3)))
    same(rn.full_like(x, 1, dtype=rn.int8, stream=rn.cpu), np.ones((2, 3), np.int8))


def test_full_like_errors():
    with pytest.raises(ValueError, match=r"\[full_like\]"):
        rn.full_like(rn.zeros((2, 3)), rn.ones((2,)))
    with pytest.raises(TypeError, match=r"\[full_like\]"):
        rn.full_like(rn.zeros((2, 3)), 1, dtype="float32")


@pytest.mark.parametrize("d", ALL_DTYPES, ids=str)
def test_linspace_every_dtype(d, rng):
    nd = np_dtype(d)
    start, stop = rng.uniform(-100, 100, 2)
    if nd.kind == "u":
        start, stop = abs(start), abs(stop)
    for num in [0, 1, 2, 7, 50, 1001]:
        out = rn.linspace(float(start), float(stop), num, d, stream=rn.cpu)
        assert out.dtype == d and out.shape == (num,)
        # numpy's values in float64, cast as astype does (integers toward
        # zero; numpy's own integer linspace floors instead).
        ref = np.linspace(start, stop, num)
        if d == rn.bool_:
            want = ref != 0
        elif nd.kind in "iu":
            want = np.trunc(ref).astype(nd)
        else:
            want = ref.astype(nd)
        same(out, want)


def test_linspace_defaults_and_errors():
    out = rn.linspace(0, 1)
    assert out.shape == (50,) and out.dtype == rn.float32
    with rn.stream(rn.cpu):
        np.testing.assert_array_equal(np.array(rn.linspace(0, 1, 5)), [0, 0.25, 0.5, 0.75, 1])
        assert np.array(rn.linspace(2, 9, 8, rn.float64)).tolist() == list(range(2, 10))
    with pytest.raises(ValueError, match=r"\[linspace\]"):
        rn.linspace(0, 1, -1)
    with pytest.raises(ValueError, match=r"\[linspace\]"):
        rn.linspace(0, float("inf"), 3)
    with pytest.raises(TypeError, match=r"\[linspace\]"):
        rn.linspace("0", 1)


@pytest.mark.parametrize("d", ALL_DTYPES, ids=str)
def test_eye_identity_every_dtype(d):
    nd = np_dtype(d)
    for n, m, k in [(4, None, 0), (3, 5, 1), (5, 3, -2), (3, 4, 7), (3, 4, -3),
                    (0, 3, 0), (3, 0, 0), (300, 200, -50)]:
        same(rn.eye(n, m, k, d, stream=rn.cpu), np.eye(n, m, k, dtype=nd))
    same(rn.identity(5, d, stream=rn.cpu), np.identity(5, dtype=nd))


def test_eye_defaults_and_errors():
    assert rn.eye(3).dtype == rn.float32 and rn.eye(3).shape == (3, 3)
    with rn.stream(rn.cpu):
        assert rn.eye(2, k=1).tolist() == [[0.0, 1.0], [0.0, 0.0]]
        assert rn.identity(2).tolist() == [[1.0, 0.0], [0.0, 1.0]]
    with pytest.raises(ValueError, match=r"\[eye\]"):
        rn.eye(-1)
    with pytest.raises(ValueError, match=r"\[identity\]"):
        rn.identity(-2)
    with pytest.raises(TypeError):
        rn.eye(2, stream="cpu")


def test_stream_forms():
    for s in [None, rn.cpu, rn.Device(rn.cpu), rn.new_stream(rn.cpu)]:
        with rn.stream(rn.cpu):
            same(rn.eye(3, stream=s), np.eye(3, dtype=np.float32))
            same(rn.linspace(0, 1, 3, stream=s), np.linspace(0, 1, 3).astype(np.float32))
            same(rn.zeros_like(rn.ones((2,)), stream=s), np.zeros(2, np.float32))
