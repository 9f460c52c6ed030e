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
    # DESIGN.md, Memory: an elementwise op may write into its input's buffer
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
    except RuntimeError:
        pass
