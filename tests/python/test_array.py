"""The array type: construction, properties, values, numpy conversion."""

import numpy as np
import pytest

import runnel as rn
from conftest import ALL_DTYPES
from test_ops import np_dtype, random


def test_dtypes_are_module_attributes():
    names = ["bool_", "uint8", "uint16", "uint32", "uint64", "int8", "int16",
             "int32", "int64", "float16", "bfloat16", "float32", "float64"]
    for name in names:
        d = getattr(rn, name)
        assert isinstance(d, rn.Dtype)
        assert rn.array(1, d).dtype == d
    assert rn.float32.size == 4 and rn.bfloat16.size == 2 and rn.bool_.size == 1
    assert repr(rn.float32) == "runnel.float32"
    assert rn.float32 == rn.Dtype.float32 and rn.float32 != rn.float16
    assert len({rn.float32, rn.float32, rn.int8}) == 2


def test_inference_from_python_values():
    assert rn.array(True).dtype == rn.bool_
    assert rn.array(3).dtype == rn.int32
    assert rn.array(2**40).dtype == rn.int64
    assert rn.array(2.5).dtype == rn.float32
    assert rn.array([1, 2]).dtype == rn.int32
    assert rn.array([1, 2**40]).dtype == rn.int64
    assert rn.array([1, 2.0]).dtype == rn.float32
    assert rn.array([True, False]).dtype == rn.bool_
    assert rn.array([True, 2]).dtype == rn.int32
    assert rn.array([]).dtype == rn.float32
    assert rn.array([]).shape == (0,)
    assert rn.array([[1, 2], (3, 4)]).shape == (2, 2)
    assert rn.array([[[]]]).shape == (1, 1, 0)
    assert rn.array([1, 2], rn.float16).dtype == rn.float16
    assert rn.array(1.7, rn.int32).item() == 1
    assert rn.array(rn.array([1, 2]), rn.float32).tolist() == [1.0, 2.0]


@pytest.mark.parametrize("d", ALL_DTYPES, ids=str)
def test_numpy_round_trip(d, rng):
    x = random(rng, d, (3, 5))
    a = rn.array(x)
    expected = rn.float32 if d == rn.float64 else d  # float64 -> float32, as MLX
    assert a.dtype == expected
    if d == rn.float64:
        a = rn.array(x, rn.float64)
        assert a.dtype == rn.float64
    assert a.shape == (3, 5) and a.ndim == 2 and a.size == 15
    assert a.itemsize == d.size and a.nbytes == 15 * d.size
    back = np.array(a)
    assert back.dtype == np_dtype(d)
    np.testing.assert_array_equal(back, x)
    assert a.tolist() == x.tolist() or d in (rn.float16, rn.bfloat16)


def test_numpy_non_contiguous_and_scalars(rng):
    x = rng.standard_normal((4, 6)).astype(np.float32)
    np.testing.assert_array_equal(np.array(rn.array(x[:, ::2])), x[:, ::2])
    np.testing.assert_array_equal(np.array(rn.array(x.T)), x.T)
    assert rn.array(np.float32(2.5)).shape == ()
    assert rn.array(np.int64(3)).dtype == rn.int64
    assert rn.array(np.float64(1.5)).dtype == rn.float32


def test_buffer_protocol_is_read_only():
    a = rn.array([[1, 2, 3], [4, 5, 6]], rn.int16)
    m = memoryview(a)
    assert m.readonly and m.format == "h" and m.shape == (2, 3)
    assert m.tolist() == [[1, 2, 3], [4, 5, 6]]
    view = np.asarray(a)
    assert not view.flags.writeable
    with pytest.raises(ValueError):
        view[0, 0] = 7
    del a
    assert view.tolist() == [[1, 2, 3], [4, 5, 6]]  # the view keeps it alive
    assert np.array(rn.array(2.5)).shape == ()
    assert np.array(rn.zeros((0, 3))).shape == (0, 3)


def _address(a):
    """Where a's data lies (through a buffer export dropped at once)."""
    v = np.asarray(a)
    return v.ctypes.data


def test_donation_never_takes_a_buffer_exported_to_numpy(rng):
    # An elementwise op may write into its input's buffer (donation)
    # only when no other array, view or export refers to it.
    x = rng.standard_normal(4096).astype(np.float32)
    with rn.stream(rn.cpu):
        # The control: with no export, b = a + 1 takes a's buffer once the
        # host has dropped a, so the cases below would donate but for it.
        a = rn.array(x) * 1.0
        rn.eval(a)
        addr = _address(a)
        b = a + 1
        del a
        rn.eval(b)
        assert _address(b) == addr, "the control did not donate"
        # numpy holds a's buffer through the buffer protocol or DLPack; the
        # host drops its own handle before b runs.
        for export in (np.asarray, memoryview, np.from_dlpack):
            a = rn.array(x) * 1.0
            rn.eval(a)
            view = export(a)
            addr = _address(a)
            b = a + 1
            del a
            rn.eval(b)
            assert _address(b) != addr, export
            np.testing.assert_array_equal(np.asarray(view), x)
            np.testing.assert_array_equal(np.asarray(b), x + 1)
            del view


def test_bfloat16_to_numpy():
    a = rn.array([1.5, -2.0], rn.bfloat16)
    with pytest.raises(BufferError, match="astype"):
        memoryview(a)
    try:
        import ml_dtypes
    except ImportError:
        with pytest.raises(TypeError, match=r"astype\(runnel.float32\)"):
            np.array(a)
    else:
        out = np.array(a)
        assert out.dtype == ml_dtypes.bfloat16
        assert out.astype(np.float32).tolist() == [1.5, -2.0]
    assert np.array(a.astype(rn.float32)).tolist() == [1.5, -2.0]


def test_item_and_tolist_types():
    assert rn.array(True).item() is True
    assert type(rn.array(3, rn.uint64).item()) is int
    assert rn.array(2**62, rn.uint64).item() == 2**62
    assert type(rn.array(1.5, rn.float16).item()) is float
    assert rn.array([[1, 2], [3, 4]], rn.int8).tolist() == [[1, 2], [3, 4]]
    assert rn.array(7).tolist() == 7
    assert rn.array([True, False]).tolist() == [True, False]


def test_repr():
    assert repr(rn.array([1, 2, 3])) == "array([1, 2, 3], dtype=int32)"
    assert repr(rn.array(2.5)) == "array(2.5, dtype=float32)"
    assert repr(rn.array([True])) == "array([True], dtype=bool)"
    assert repr(rn.array([[1, 2], [3, 4]])) == (
        "array([[1, 2],\n       [3, 4]], dtype=int32)")
    big = repr(rn.zeros((100, 100)))
    assert "..." in big and len(big) < 1000


def test_len():
    assert len(rn.zeros((3, 2))) == 3
    with pytest.raises(TypeError):
        len(rn.array(1))


def test_astype_method(rng):
    x = rng.uniform(-50, 50, 20).astype(np.float32)
    a = rn.array(x).astype(rn.int16)
    assert a.dtype == rn.int16
    np.testing.assert_array_equal(np.array(a), x.astype(np.int16))


def test_array_errors_surface_on_read():
    rn._testing.set_fault("op:multiply:1")
    try:
        bad = rn.multiply(rn.array([1.0]), 2)
        for read in (lambda: bad.item(), lambda: bad.tolist(),
                     lambda: np.array(bad), lambda: repr(bad)):
            with pytest.raises(RuntimeError, match="multiply"):
                read()
    finally:
        rn._testing.set_fault("")
    try:
        rn.synchronize()
    except RuntimeError:  # the injected failure, also kept by the stream
        pass


def test_bfloat16_to_numpy_without_ml_dtypes(monkeypatch):
    import sys

    a = rn.array([1.5, -2.0], rn.bfloat16)
    monkeypatch.setitem(sys.modules, "ml_dtypes", None)  # import fails
    with pytest.raises(TypeError, match=r"\[array\].*astype\(runnel.float32\)"):
        np.array(a)
    assert np.array(a.astype(rn.float32)).tolist() == [1.5, -2.0]


UNARY_METHODS = {
    "abs": np.abs, "exp": np.exp, "log": np.log, "log1p": np.log1p,
    "sqrt": np.sqrt, "rsqrt": lambda x: 1 / np.sqrt(x), "square": np.square,
    "reciprocal": np.reciprocal, "sin": np.sin, "cos": np.cos,
}


@pytest.mark.parametrize("name", UNARY_METHODS)
def test_unary_methods_match_numpy(name, rng):
    x = rng.uniform(0.1, 4.0, (3, 5)).astype(np.float32)
    if name in ("abs", "square", "sin", "cos", "exp"):
        x = x - 2.0
    a = rn.array(x)
    # On the CPU: most of these ops have no GPU kernel yet.
    with rn.stream(rn.cpu):
        got = getattr(a, name)()
        np.testing.assert_allclose(np.array(got), UNARY_METHODS[name](x),
                                   rtol=2e-6, atol=1e-6)
        # The method is the op: same values, stream= honoured.
        s = rn.new_stream(rn.cpu)
        np.testing.assert_array_equal(np.array(getattr(a, name)(stream=s)),
                                      np.array(getattr(rn, name)(a)))


def test_round_method(rng):
    x = rng.uniform(-100, 100, 17).astype(np.float64)
    a = rn.array(x, rn.float64)
    with rn.stream(rn.cpu):  # round has no GPU kernel yet
        np.testing.assert_array_equal(np.array(a.round()), np.round(x))
        np.testing.assert_array_equal(np.array(a.round(2)), np.round(x, 2))
        np.testing.assert_array_equal(np.array(a.round(decimals=-1)),
                                      np.round(x, -1))
        with pytest.raises(TypeError, match=r"\[round\]"):
            a.round(1.5)


def test_mlx_array_methods_exist():
    # mlx.core.array's methods that runnel's op library has.
    a = rn.array([[1.0, 2.0], [3.0, 4.0]])
    for name in ["abs", "all", "any", "argmax", "argmin", "astype", "cos",
                 "cumprod", "cumsum", "exp", "flatten", "item", "log", "log1p",
                 "logsumexp", "max", "mean", "min", "moveaxis", "prod",
                 "reciprocal", "reshape", "round", "rsqrt", "sin", "split",
                 "sqrt", "square", "squeeze", "std", "sum", "swapaxes",
                 "tolist", "transpose", "var"]:
        assert callable(getattr(a, name)), name
    assert a.T.shape == (2, 2) and a.at is not None


def test_python_scalar_conversions(rng):
    v = float(rng.uniform(-10, 10))
    a = rn.array(v, rn.float64)
    assert type(float(a)) is float and float(a) == v
    assert type(int(a)) is int and int(a) == int(v)  # toward zero, as Python
    assert int(rn.array([[7]], rn.uint64)) == 7
    assert int(rn.array(2**63 + 5, rn.uint64)) == 2**63 + 5
    assert float(rn.array([2], rn.int32)) == 2.0
    assert int(rn.array(True)) == 1 and float(rn.array(False)) == 0.0
    assert bool(rn.array([3])) is True and bool(rn.array(0.0)) is False
    assert bool(rn.array(float("nan"))) is bool(np.float32("nan"))
    for bad in (float, int, bool):
        with pytest.raises(ValueError, match=r"\[(float|int|array)\]"):
            bad(rn.array([1.0, 2.0]))
    with pytest.raises(ValueError):
        int(rn.array(float("nan")))  # as int(float('nan'))
    # numpy and math take them where a float is wanted.
    import math

    assert math.isclose(math.sqrt(rn.array(16.0)), 4.0)


def test_iteration_and_len(rng):
    x = rng.standard_normal((4, 3)).astype(np.float32)
    a = rn.array(x)
    assert len(a) == 4
    rows = list(a)
    assert len(rows) == 4 and all(isinstance(r, rn.array) for r in rows)
    for r, want in zip(rows, x):
        assert r.shape == (3,)
        np.testing.assert_array_equal(np.array(r), want)
    assert [v.item() for v in rn.array([5, 6, 7])] == [5, 6, 7]
    assert list(rn.zeros((0, 2))) == []
    it = iter(rn.array([1, 2]))
    assert iter(it) is it and next(it).item() == 1 and next(it).item() == 2
    with pytest.raises(StopIteration):
        next(it)
    with pytest.raises(TypeError, match=r"\[array\].*0-d"):
        iter(rn.array(1.0))
    with pytest.raises(TypeError, match=r"\[array\]"):
        len(rn.array(1.0))
    a0, a1 = rn.array([[1, 2], [3, 4]])  # unpacking
    assert a0.tolist() == [1, 2] and a1.tolist() == [3, 4]
