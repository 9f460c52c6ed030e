"""Gathers, scatters and numpy indexing against numpy on fresh random data:
every dtype for the data, every integer dtype for the indices, negative
indices, broadcast index arrays, masks, 0-size arrays, and the errors."""

import numpy as np
import pytest

import runnel as rn
from conftest import ALL_DTYPES

try:
    import ml_dtypes
except ImportError:  # bfloat16 tests need it
    ml_dtypes = None

@pytest.fixture(autouse=True)
def on_cpu():
    """Every op here runs on the CPU (GPU kernels come later), also on a
    machine whose default device is a GPU."""
    with rn.stream(rn.cpu):
        yield


INDEX_DTYPES = [rn.uint8, rn.uint16, rn.uint32, rn.uint64,
                rn.int8, rn.int16, rn.int32, rn.int64]


def np_dtype(d):
    if d == rn.bfloat16:
        if ml_dtypes is None:
            pytest.skip("ml_dtypes is not installed")
        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(str(d).removeprefix("runnel.").rstrip("_"))


def random(rng, d, shape):
    """Fresh random numpy data of runnel dtype d (integers over their whole
    range)."""
    nd = np_dtype(d)
    if d == rn.bool_:
        return rng.random(shape) < 0.5
    if nd.kind in "iu":
        info = np.iinfo(nd)
        return rng.integers(info.min, info.max, size=shape, dtype=nd, endpoint=True)
    return rng.uniform(-10, 10, size=shape).astype(nd)


def random_indices(rng, n, shape, d=rn.int32):
    """Indices in [-n, n) (signed dtypes) or [0, n) (unsigned), as numpy
    int64 and as a runnel array of dtype d."""
    nd = np_dtype(d)
    lo = -n if nd.kind == "i" else 0
    lo = max(lo, np.iinfo(nd).min)
    hi = min(n - 1, np.iinfo(nd).max)
    idx = rng.integers(lo, hi, size=shape, endpoint=True)
    return idx, rn.array(idx.astype(nd), d)


def same(out, expected):
    """Exact: gathers and plain scatters only move elements."""
    got = np.array(out)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    np.testing.assert_array_equal(got, expected)


def rn_key(key):
    """The key with its numpy arrays as runnel arrays."""
    conv = lambda e: rn.array(e) if isinstance(e, np.ndarray) else e
    return tuple(conv(e) for e in key) if isinstance(key, tuple) else conv(key)


# ---- take ----


@pytest.mark.parametrize("d", ALL_DTYPES, ids=str)
def test_take_every_dtype_and_axis(d, rng):
    x = random(rng, d, (4, 5, 6))
    a = rn.array(x, d)
    for axis in [None, 0, 1, 2, -1, -3]:
        n = x.size if axis is None else x.shape[axis]
        idx, ri = random_indices(rng, n, (2, 3))
        out = rn.take(a, ri, axis=axis, stream=rn.cpu)
        assert out.dtype == d
        same(out, np.take(x, idx, axis=axis))


@pytest.mark.parametrize("idt", INDEX_DTYPES, ids=str)
def test_take_every_index_dtype(idt, rng):
    x = random(rng, rn.float32, (7, 300))
    idx, ri = random_indices(rng, 7, (5,), idt)
    same(rn.take(rn.array(x), ri, axis=0, stream=rn.cpu), np.take(x, idx, axis=0))
    idx, ri = random_indices(rng, 300, (3, 4), idt)
    same(rn.take(rn.array(x), ri, axis=1, stream=rn.cpu), np.take(x, idx, axis=1))


def test_take_ints_lists_scalars_and_zero_size(rng):
    x = random(rng, rn.int16, (3, 4))
    a = rn.array(x)
    with rn.stream(rn.cpu):
        same(rn.take(a, 2, axis=1), np.take(x, 2, axis=1))
        same(rn.take(a, -12), np.take(x, -12))
        same(rn.take(a, [[1], [-1]], axis=0), np.take(x, [[1], [-1]], axis=0))
        same(rn.take(a, rn.array(1), axis=0), np.take(x, 1, axis=0))
        empty = np.zeros((0,), np.int32)
        same(rn.take(a, rn.array(empty), axis=1), np.take(x, empty, axis=1))
        z = np.zeros((0, 4), np.float32)
        same(rn.take(rn.array(z), rn.array([3, -1]), axis=1), np.take(z, [3, -1], axis=1))
        s = np.array(2.5, np.float32)
        same(rn.take(rn.array(s), rn.array([0, 0, -1])), np.take(s, [0, 0, -1]))


def test_large_take_matches_numpy(rng):
    x = random(rng, rn.float32, (1000, 300))
    a = rn.array(x)
    idx, ri = random_indices(rng, 1000, (2000,))
    same(rn.take(a, ri, axis=0, stream=rn.cpu), np.take(x, idx, axis=0))
    idx, ri = random_indices(rng, 300, (700,), rn.int64)
    same(rn.take(a, ri, axis=1, stream=rn.cpu), np.take(x, idx, axis=1))
    idx, ri = random_indices(rng, x.size, (100000,), rn.uint32)
    same(rn.take(a, ri, stream=rn.cpu), np.take(x, idx))


def test_large_scatters_match_numpy(rng):
    x = random(rng, rn.float32, (700, 300))
    a = rn.array(x)
    rows = rng.permutation(700)[:500] - 700 * (rng.random(500) < 0.5)
    cols = rng.permutation(300)[:200]
    v = random(rng, rn.float32, (500, 300))
    b = rn.array(a)
    b[rn.array(rows)] = rn.array(v)  # split over columns
    expected = x.copy()
    expected[rows] = v
    same(b, expected)
    c = rn.array(a)
    c[:, rn.array(cols, rn.uint16)] = rn.array(v[:, :200][:1])  # split over rows
    expected = x.copy()
    expected[:, cols] = v[:1, :200]
    same(c, expected)
    dup = rng.integers(-300, 300, 5000)
    counts = rn.zeros((700, 300), rn.int32).at[:, rn.array(dup)].add(1)
    expected = np.zeros((700, 300), np.int32)
    np.add.at(expected, (slice(None), dup), 1)
    same(counts, expected)


# ---- take_along_axis / put_along_axis ----


@pytest.mark.parametrize("d", ALL_DTYPES, ids=str)
def test_take_along_axis_broadcasts(d, rng):
    x = random(rng, d, (3, 1, 5))
    a = rn.array(x, d)
    for idt in [rn.uint8, rn.int64]:
        idx, ri = random_indices(rng, 5, (1, 4, 2), idt)
        same(rn.take_along_axis(a, ri, axis=2, stream=rn.cpu),
             np.take_along_axis(x, idx, axis=2))
        idx, ri = random_indices(rng, 3, (2, 4, 5), idt)
        same(rn.take_along_axis(a, ri, axis=-3, stream=rn.cpu),
             np.take_along_axis(x, idx, axis=-3))
    idx, ri = random_indices(rng, x.size, (9,), rn.int16)
    same(rn.take_along_axis(a, ri, axis=None, stream=rn.cpu),
         np.take_along_axis(x, idx, axis=None))


@pytest.mark.parametrize("d", ALL_DTYPES, ids=str)
def test_put_along_axis_matches_numpy(d, rng):
    x = random(rng, d, (4, 6))
    a = rn.array(x, d)
    # Distinct indices per row: numpy leaves the order of duplicates open.
    idx = np.stack([rng.permutation(6)[:3] for _ in range(4)]) - 6 * (rng.random((4, 3)) < 0.5)
    v = random(rng, d, (4, 3))
    expected = x.copy()
    np.put_along_axis(expected, idx, v, axis=1)
    out = rn.put_along_axis(a, rn.array(idx, rn.int8), rn.array(v, d), axis=1, stream=rn.cpu)
    same(out, expected)
    same(a, x)  # functional: a is unchanged
    # values broadcast; the flat form keeps a's shape.
    expected = x.copy()
    np.put_along_axis(expected, idx, v[:1], axis=1)
    same(rn.put_along_axis(a, rn.array(idx), rn.array(v[:1], d), axis=1), expected)
    flat = np.array([0, 23, -5])
    expected = x.copy()
    np.put_along_axis(expected.reshape(-1), flat, v[0, 0], axis=None)
    same(rn.put_along_axis(a, rn.array(flat), rn.array(np.asarray(v[0, 0]), d), axis=None),
         expected)


# ---- numpy keys ----

M45 = np.array([[True, False, True, True, False],
                [False, False, False, False, False],
                [True, True, False, False, True],
                [False, True, False, True, True]])

KEYS = [
    0, -1, slice(1, 3), (1, 2), (slice(None), 2), (Ellipsis, 1),
    (None, 1, Ellipsis, None), (slice(None, None, -2), slice(4, 0, -3)),
    [0, 2, -1],
    np.array([[0, 1], [2, 3]]),
    (slice(None), [0, -1, 2]),
    ([0, 1], [1, 2]),
    ([[0], [3]], slice(None), [1, 4, 5]),
    (1, slice(None), [0, 5]),
    (slice(1, None, 2), [2, 0], None),
    (Ellipsis, [5, 0]),
    ([0, 1], Ellipsis, [2, 3]),
    (slice(None), [1, 2], None, [3, 4]),
    (slice(None, None, -1), [[1], [2]], [0, 5, 4]),
    (slice(None), np.array([4, 0], np.uint8), slice(2, 5)),
    M45,
    np.array([True, False, True, False]),
    (slice(None), np.array([True, False, True, False, True])),
    (M45, [0, -1, 2, 3, 1, 0, 5, 4, 3]),
    (Ellipsis, np.array([False, True, False, True, False, True])),
    True, False, (slice(None), True, [1, 2]), (False, [0]),
    np.int64(2), (np.array(1), [0, 1]), np.True_,
    [], (),
]


def key_id(k):
    return repr(k).replace("\n", "")[:60]


@pytest.mark.parametrize("key", KEYS, ids=key_id)
def test_getitem_matches_numpy(key, rng):
    x = random(rng, rn.int32, (4, 5, 6))
    a = rn.array(x)
    with rn.stream(rn.cpu):
        same(a[key], x[key])
        same(a[rn_key(key)], x[key])


@pytest.mark.parametrize("d", ALL_DTYPES, ids=str)
def test_getitem_every_dtype(d, rng):
    x = random(rng, d, (4, 5, 6))
    a = rn.array(x, d)
    with rn.stream(rn.cpu):
        for key in [(slice(None), [3, -1, 0]), ([[0], [3]], slice(1, 4), [1, 4]),
                    M45, (2, slice(None, None, -1))]:
            same(a[key], x[key])


@pytest.mark.parametrize("idt", INDEX_DTYPES, ids=str)
def test_getitem_index_dtypes_broadcast(idt, rng):
    x = random(rng, rn.float64, (6, 7, 8))
    a = rn.array(x, rn.float64)
    i, ri = random_indices(rng, 6, (3, 1), idt)
    j, rj = random_indices(rng, 8, (4,), idt)
    with rn.stream(rn.cpu):
        same(a[ri, :, rj], x[i, :, j])
        same(a[ri, 2:5, rj], x[i, 2:5, j])
        same(a[1:, ri[:, 0]], x[1:, i[:, 0]])


@pytest.mark.parametrize("key", KEYS, ids=key_id)
def test_setitem_matches_numpy(key, rng):
    x = random(rng, rn.float32, (4, 5, 6))
    shape = x[key].shape
    if isinstance(key, list) or (isinstance(key, tuple) and any(
            isinstance(e, list) for e in key)):
        # numpy leaves the order of repeated writes open: make values equal
        # where the key repeats an element.
        v = np.full(shape, 7.5, np.float32)
    else:
        v = random(rng, rn.float32, shape)
    for k in [key, rn_key(key)]:
        with rn.stream(rn.cpu):
            a = rn.array(x)
            old = rn.array(a)  # another handle to the same array
            a[k] = rn.array(v)
            expected = x.copy()
            expected[key] = v
            same(a, expected)
            same(old, x)  # keeps the old values
            # A Python scalar takes a's dtype.
            b = rn.array(x)
            b[k] = 3
            assert b.dtype == rn.float32
            expected = x.copy()
            expected[key] = 3
            same(b, expected)


@pytest.mark.parametrize("d", ALL_DTYPES, ids=str)
def test_setitem_every_dtype_last_write_wins(d, rng):
    x = random(rng, d, (5, 3))
    v = random(rng, d, (4, 3))
    a = rn.array(x, d)
    with rn.stream(rn.cpu):
        a[rn.array([1, -4, 3, 1], rn.int16)] = rn.array(v, d)
    expected = x.copy()
    expected[1] = v[3]  # the later of the two writes to row 1
    expected[3] = v[2]
    same(a, expected)
    m = random(rng, rn.bool_, (5, 3))
    b = rn.array(x, d)
    with rn.stream(rn.cpu):
        b[m] = rn.array(np.asarray(v[0, 0]), d)
    expected = x.copy()
    expected[m] = v[0, 0]
    same(b, expected)


def test_setitem_broadcasts_and_casts(rng):
    x = random(rng, rn.int32, (3, 4))
    a = rn.array(x)
    with rn.stream(rn.cpu):
        a[0] = rn.array(np.ones((1, 4), np.float32) * 2.7)  # leading 1 dropped
        expected = x.copy()
        expected[0] = 2  # cast to int32
        same(a, expected)
        a[:, [0, 2]] = rn.array([[5], [6], [7]], rn.int8)
        expected[:, [0, 2]] = np.array([[5], [6], [7]])
        same(a, expected)


@pytest.mark.parametrize("method,ufunc", [("add", np.add), ("subtract", np.subtract),
                                          ("multiply", np.multiply),
                                          ("maximum", np.maximum),
                                          ("minimum", np.minimum)])
@pytest.mark.parametrize("d", [rn.int32, rn.uint8, rn.float32, rn.float64], ids=str)
def test_at_updates_combine_duplicates(method, ufunc, d, rng):
    x = random(rng, d, (6, 4))
    if np_dtype(d).kind == "f":
        x = np.round(x)  # small integers: float sums are exact in any order
    idx = np.array([0, 5, -1, 0, 2, 0])
    v = random(rng, d, (6, 4)) if d != rn.float32 else np.round(random(rng, d, (6, 4)))
    expected = x.copy()
    with np.errstate(over="ignore"):
        ufunc.at(expected, idx, v)
    with rn.stream(rn.cpu):
        out = getattr(rn.array(x, d).at[rn.array(idx)], method)(rn.array(v, d))
    same(out, expected)


def test_at_divide_floats_only(rng):
    x = random(rng, rn.float64, (5, 3))
    v = rng.uniform(1, 4, (4, 3))
    idx = np.array([1, 1, -1, 0])
    expected = x.copy()
    np.divide.at(expected, idx, v)
    out = rn.array(x, rn.float64).at[rn.array(idx)].divide(rn.array(v, rn.float64))
    np.testing.assert_allclose(np.array(out), expected, rtol=1e-15)
    with pytest.raises(ValueError, match=r"\[at.divide\] only floating-point"):
        rn.array([1, 2]).at[0].divide(2)


# ---- MLX's gather and scatter ----


def test_gather_slices(rng):
    x = random(rng, rn.float32, (6, 7, 3))
    a = rn.array(x)
    rows = np.array([0, 4, -2])
    out = rn.gather(a, rn.array(rows), 0, (2, 3, 3), stream=rn.cpu)
    expected = np.stack([x[r % 6:r % 6 + 2, :3, :] for r in rows])
    same(out, expected)
    r, c = np.array([[5], [0]]), np.array([6, 1, 0])
    out = rn.gather(a, [rn.array(r), rn.array(c, rn.uint8)], [0, 1], [1, 1, 2])
    same(out, x[r, c][..., None, None, :2])


@pytest.mark.parametrize("d", ALL_DTYPES, ids=str)
def test_scatter_and_scatter_add(d, rng):
    x = random(rng, d, (5, 4))
    idx = np.array([3, -1, 0, 3, 3])
    u = random(rng, d, (5, 1, 4))
    if np_dtype(d).kind == "f":  # small integers: sums exact in any dtype
        x, u = np.round(x), np.round(u)
    a = rn.array(x, d)
    with rn.stream(rn.cpu):
        out = rn.scatter(a, rn.array(idx), rn.array(u, d), 0)
        expected = x.copy()
        for k, i in enumerate(idx):
            expected[i] = u[k, 0]  # the last update wins
        same(out, expected)
        out = rn.scatter_add(a, [rn.array(idx, rn.int64)], rn.array(u, d), [0])
    expected = x.copy()
    with np.errstate(over="ignore"):
        if d == rn.bool_:
            np.logical_or.at(expected, idx, u[:, 0])
        else:
            np.add.at(expected, idx, u[:, 0])
    same(out, expected)


# ---- strided (view) inputs ----


def test_gathers_read_views(rng):
    x = random(rng, rn.float32, (6, 8))
    a = rn.array(x)
    with rn.stream(rn.cpu):
        v = a[5::-2, 1::3]  # a view (negative and non-unit strides, offset)
        xv = x[5::-2, 1::3]
        same(rn.take(v, rn.array([2, -1, 0]), axis=1), np.take(xv, [2, -1, 0], axis=1))
        same(rn.take(v, rn.array([7, 0, -2])), np.take(xv, [7, 0, -2]))
        same(v[[0, 2], [1, 1]], xv[[0, 2], [1, 1]])
        same(rn.take_along_axis(v, rn.array([[1], [0], [2]]), axis=1),
             np.take_along_axis(xv, np.array([[1], [0], [2]]), axis=1))
        w = v[None, :, [0]]
        same(w, xv[None, :, [0]])
        # A scatter into a view writes a new contiguous array.
        u = rn.scatter_add(v, rn.array([0, 0]), rn.ones((2, 1, 3)), 0)
        expected = xv.copy()
        np.add.at(expected, [0, 0], np.ones((2, 3), np.float32))
        same(u, expected)
        b = rn.array(x)
        old_view = b[1:3]
        b[[1, 2], 0] = 9.0
        same(old_view, x[1:3])  # a view of the old array keeps the old values
        # Setting through a view replaces the view's handle only.
        old_view[[0], ::2] = -1.0
        expected = x[1:3].copy()
        expected[[0], ::2] = -1.0
        same(old_view, expected)
        # Transposed and broadcast (stride 0) inputs; a mask whose axes do
        # not flatten into one stride.
        t = rn.transpose(a)
        m = random(rng, rn.bool_, (8, 6))
        same(t[m], x.T[m])
        same(t[[7, 0], 1:4], x.T[[7, 0], 1:4])
        r = rn.broadcast_to(a[2], (5, 8))
        xr = np.broadcast_to(x[2], (5, 8))
        same(rn.take(r, rn.array([[4, -1]]), axis=0), np.take(xr, [[4, -1]], axis=0))
        same(r[[1, 3], [0, 7]], xr[[1, 3], [0, 7]])
        expected = xr.copy()
        np.add.at(expected, ([0, 0], [1, 1]), 1.0)
        same(r.at[[0, 0], [1, 1]].add(1.0), expected)


# ---- errors ----


def test_float_indices_rejected(rng):
    a = rn.array(random(rng, rn.float32, (3, 4)))
    f = rn.array([0.0, 1.0])
    with pytest.raises(ValueError, match=r"\[take\] indices must be integers, got float32"):
        rn.take(a, f, axis=0)
    with pytest.raises(ValueError, match=r"\[take_along_axis\] indices must be integers"):
        rn.take_along_axis(a, rn.array([[0.5]]), axis=0)
    with pytest.raises(ValueError, match=r"\[put_along_axis\] indices must be integers"):
        rn.put_along_axis(a, rn.array([[0.5]]), 1.0, axis=0)
    with pytest.raises(ValueError, match=r"\[scatter_add\] indices must be integers"):
        rn.scatter_add(a, f, rn.zeros((2, 1, 4)), 0)
    with pytest.raises(ValueError, match=r"\[gather\] indices must be integers"):
        rn.gather(a, f, 0, (1, 4))
    with pytest.raises(ValueError, match=r"\[take\] indices must be integers, got bool"):
        rn.take(a, rn.array([True]), axis=0)
    with pytest.raises(IndexError, match="arrays used as indices must be of integer or boolean"):
        a[f]
    with pytest.raises(IndexError, match="arrays used as indices must be of integer or boolean"):
        a[np.array([1.0])] = 1


def test_bad_keys_and_arguments(rng):
    a = rn.array(random(rng, rn.float32, (3, 4)))
    # Basic keys (views) and keys with arrays (gathers) fail alike.
    with pytest.raises(IndexError, match=r"(?i)too many indices"):
        a[0, 0, 0]
    with pytest.raises(IndexError, match=r"too many indices for array: array is 2-dimensional, but 3"):
        a[[0], 0, 0]
    with pytest.raises(IndexError, match=r"(?i)ellipsis"):
        a[..., ...]
    with pytest.raises(IndexError, match="single ellipsis"):
        a[[0], ..., ...]
    with pytest.raises(IndexError, match="(?i)index 3 is out of bounds for axis 0 with size 3"):
        a[3]
    with pytest.raises(IndexError, match="index 3 is out of bounds for axis 0 with size 3"):
        a[3, [0]]
    with pytest.raises(IndexError, match="index 3 is out of bounds for axis 0 with size 3"):
        a[3] = 1.0
    with pytest.raises(IndexError, match="index -5 is out of bounds for axis 1 with size 4"):
        a[[0], -5]
    with pytest.raises(IndexError, match="boolean index did not match indexed array along axis 0"):
        a[np.array([True, False])]
    with pytest.raises(IndexError, match=r"could not be broadcast together with shapes \(2,\) \(3,\)"):
        a[[0, 1], [0, 1, 2]]
    with pytest.raises(IndexError, match="only integers, slices"):
        a[1.5]
    with pytest.raises(ValueError, match="slice step cannot be zero"):
        a[::0]
    with pytest.raises(ValueError, match=r"values of shape \(2,4\) cannot be broadcast to \(4,\)"):
        a[0] = rn.zeros((2, 4))
    with pytest.raises(ValueError, match=r"\[take\] axis 2 is out of bounds"):
        rn.take(a, rn.array([0]), axis=2)
    with pytest.raises(IndexError, match=r"\[take\] index 4 is out of bounds for axis 1"):
        rn.take(a, 4, axis=1)
    with pytest.raises(IndexError, match=r"\[take\] index \d+ is out of bounds for axis 0"):
        rn.take(a, 2**70, axis=0)
    with pytest.raises(ValueError, match=r"\[take_along_axis\] indices must have as many"):
        rn.take_along_axis(a, rn.array([0]), axis=0)
    with pytest.raises(ValueError, match=r"\[scatter\] updates of shape"):
        rn.scatter(a, rn.array([0]), rn.zeros((1, 4)), 0)
    with pytest.raises(ValueError, match=r"\[gather\] got 1 slice sizes"):
        rn.gather(a, rn.array([0]), 0, (1,))
    with pytest.raises(TypeError):
        rn.take(a, rn.array([0]), axis=0, stream="cpu")


def test_out_of_range_indices_fail_when_run(rng):
    s = rn.new_stream(rn.cpu)
    a = rn.array(random(rng, rn.float32, (5,)))
    out = rn.take(a, rn.array([1, 5]), axis=0, stream=s)  # lazy: no error yet
    with pytest.raises(IndexError, match=r"\[take\] index 5 is out of bounds for axis 0 with size 5"):
        rn.eval(out)
    rn.synchronize(s)  # reported through `out`: the slot does not raise it
    with rn.stream(s):
        for bad, idt in [(-6, rn.int8), (2**64 - 1, rn.uint64), (300, rn.int16)]:
            idx = rn.array(np.array([bad]).astype(np_dtype(idt)), idt)
            with pytest.raises(IndexError, match=f"index {bad} is out of bounds"):
                rn.eval(a[idx])
            b = rn.array(a)
            b[idx] = 1.0
            with pytest.raises(IndexError, match=f"index {bad} is out of bounds"):
                rn.eval(b)
            with pytest.raises(IndexError, match=f"index {bad} is out of bounds"):
                rn.eval(b + 1)  # computed from a failed array
        with pytest.raises(IndexError, match=r"\[scatter_add\] index 7 is out of bounds"):
            rn.eval(rn.scatter_add(a, rn.array([7]), rn.zeros((1, 1)), 0))
        # Good indices still work afterwards.
        assert rn.take(a, rn.array([-1]), axis=0).item() == np.array(a)[-1]
    # Each failure reached the user through its array: none is raised again.
    rn.synchronize(s)


def test_nonzero_matches_numpy(rng):
    for d in [rn.bool_, rn.int32, rn.float16, rn.float32]:
        x = random(rng, d, (4, 5))
        if d != rn.bool_:
            x[rng.random((4, 5)) < 0.5] = 0
        got = rn.nonzero(rn.array(x, d))
        for g, e in zip(got, np.nonzero(x)):
            same(g, e.astype(np.int64))
