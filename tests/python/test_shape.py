"""Shape ops against numpy on fresh random data, for every dtype: views
(which must share memory with their source), basic indexing, the copying
ops (concatenate, stack, split, pad, tile, repeat), the readers of views
(buffer protocol, tolist, item, repr, __array__), stream= forms and errors.
Run on the CPU explicitly: GPU kernels of these ops come later."""

import threading
import time

import numpy as np
import pytest

import runnel as rn
from conftest import ALL_DTYPES

try:
    import ml_dtypes
except ImportError:  # bfloat16 tests need it
    ml_dtypes = None

CPU = rn.cpu


def np_dtype(d):
    if d == rn.bfloat16:
        if ml_dtypes is None:
            pytest.skip("ml_dtypes is not installed")
        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(str(d).removeprefix("runnel.").rstrip("_"))


def random(rng, d, shape):
    """Fresh random numpy data of runnel dtype d (integers over their whole
    range, floats in [-100, 100))."""
    nd = np_dtype(d)
    if d == rn.bool_:
        return rng.random(shape) < 0.5
    if nd.kind in "iu":
        info = np.iinfo(nd)
        return rng.integers(info.min, info.max, size=shape, dtype=nd, endpoint=True)
    return rng.uniform(-100, 100, size=shape).astype(nd)


def check(out, expected):
    """Exact: shape, dtype and every element (by bits for floats)."""
    got = np.array(out)
    expected = np.asarray(expected)
    assert got.shape == expected.shape
    assert got.dtype == expected.dtype
    if got.dtype.kind == "f" or got.dtype.name == "bfloat16":
        np.testing.assert_array_equal(got.view(f"u{got.itemsize}"),
                                      expected.view(f"u{expected.itemsize}"))
    else:
        np.testing.assert_array_equal(got, expected)


def shares(view, base):
    """The view's exported memory lies in its source's (no copy made)."""
    return np.shares_memory(np.asarray(view), np.asarray(base))


# ---- Views, every dtype ----


@pytest.mark.parametrize("d", ALL_DTYPES, ids=str)
def test_view_ops_match_numpy(d, rng):
    x = random(rng, d, (2, 3, 1, 4))
    a = rn.array(x, d)
    views = [
        (rn.transpose(a, stream=CPU), x.transpose()),
        (rn.transpose(a, (2, 0, -1, 1), stream=CPU), x.transpose(2, 0, -1, 1)),
        (a.T, x.T),
        (a.transpose(1, 0, 2, 3), x.transpose(1, 0, 2, 3)),
        (a.transpose((3, 2, 1, 0)), x.transpose((3, 2, 1, 0))),
        (rn.swapaxes(a, 0, -1, stream=CPU), np.swapaxes(x, 0, -1)),
        (a.swapaxes(1, 3), np.swapaxes(x, 1, 3)),
        (rn.moveaxis(a, 0, -1, stream=CPU), np.moveaxis(x, 0, -1)),
        (a.moveaxis(-1, 1), np.moveaxis(x, -1, 1)),
        (rn.expand_dims(a, (0, -1), stream=CPU), np.expand_dims(x, (0, -1))),
        (rn.expand_dims(a, 2, stream=CPU), np.expand_dims(x, 2)),
        (rn.squeeze(a, stream=CPU), np.squeeze(x)),
        (rn.squeeze(a, -2, stream=CPU), np.squeeze(x, -2)),
        (a.squeeze(), x.squeeze()),
        (rn.broadcast_to(a, (5, 2, 3, 6, 4), stream=CPU), np.broadcast_to(x, (5, 2, 3, 6, 4))),
        (rn.reshape(a, (4, -1), stream=CPU), x.reshape(4, -1)),
        (a.reshape(3, 8), x.reshape(3, 8)),
        (a.reshape((6, 1, 4)), x.reshape((6, 1, 4))),
        (rn.flatten(a, 1, 2, stream=CPU), x.reshape(2, 3, 4)),
        (a.flatten(), x.flatten()),
    ]
    for v, want in views:
        check(v, want)
        if d != rn.bfloat16:  # no buffer format: no way to see the memory
            assert shares(v, a)


@pytest.mark.parametrize("d", ALL_DTYPES, ids=str)
def test_reshape_copies_only_when_strides_require_it(d, rng):
    x = random(rng, d, (4, 6))
    a = rn.array(x, d)
    with rn.stream(CPU):
        t = a.T  # (6, 4), not contiguous
        check(t.reshape(2, 3, 4), x.T.reshape(2, 3, 4))  # splits an axis: view
        check(t.reshape(-1), x.T.reshape(-1))  # merges strided axes: copy
        check(rn.flatten(a[::2]), x[::2].flatten())
        check(rn.contiguous(t), np.ascontiguousarray(x.T))
        if d != rn.bfloat16:
            assert shares(t.reshape(2, 3, 4), a)
            assert not shares(t.reshape(-1), a)
            assert not shares(rn.contiguous(t), a)


def random_key(rng, shape):
    """A random basic index for an array of `shape`."""

    def bound(n):
        r = rng.integers(0, 4)
        return None if r == 0 else int(rng.integers(-2 * n - 2, 2 * n + 3))

    items = []
    axes = list(shape)
    ellipsis_at = rng.integers(-1, len(axes) + 1)  # -1: none
    i = 0
    while axes:
        if i == ellipsis_at:
            items.append(Ellipsis)
            axes = axes[rng.integers(0, len(axes) + 1):]
            ellipsis_at = -2
            i += 1
            continue
        n = axes.pop(0)
        r = rng.integers(0, 5)
        if r == 0 and n > 0:
            items.append(int(rng.integers(-n, n)))
        elif r == 1:
            items.append(None)
            axes.insert(0, n)
        else:
            step = None if rng.integers(0, 3) == 0 else int(rng.choice([-3, -2, -1, 1, 2, 3, 7]))
            items.append(slice(bound(n), bound(n), step))
        i += 1
    if rng.integers(0, 4) == 0 and len(items) > 0:
        items = items[: rng.integers(0, len(items) + 1)]
    return tuple(items) if len(items) != 1 or rng.integers(0, 2) else items[0]


@pytest.mark.parametrize("d", ALL_DTYPES, ids=str)
def test_basic_indexing_matches_numpy(d, rng):
    x = random(rng, d, (4, 5, 6))
    a = rn.array(x, d)
    with rn.stream(CPU):
        for _ in range(60):
            key = random_key(rng, x.shape)
            want = x[key]
            got = a[key]
            try:
                check(got, want)
            except AssertionError as e:
                raise AssertionError(f"key {key!r}: {e}") from e
            if d != rn.bfloat16 and want.size > 0:
                assert shares(got, a), key
        # Views of views, and the forms the random keys may miss.
        check(a[1:, ::-2][..., 3], x[1:, ::-2][..., 3])
        check(a[-1], x[-1])
        check(a[..., None], x[..., None])
        check(a[None, ..., None, 2], x[None, ..., None, 2])
        check(a[()], x[()])
        check(a[:, 10:], x[:, 10:])
        check(a[np.int64(2), np.int32(-1)], x[np.int64(2), np.int32(-1)])
        check(a[::-1, ::-1, ::-1], x[::-1, ::-1, ::-1])
        check(a[2:-100:-1], x[2:-100:-1])
        check(a[-100::-1], x[-100::-1])
        check(a[3:1], x[3:1])
        assert a[1, 2, 3].item() == x[1, 2, 3].item()


def test_indexing_zero_d_and_empty(rng):
    s = rn.array(3.5)
    assert s[...].item() == 3.5
    assert s[None].shape == (1,)
    assert s[()].item() == 3.5
    e = rn.zeros((0, 3), stream=CPU)
    assert e[:, 1].shape == (0,)
    assert e[::-1].shape == (0, 3)
    assert e.T[1:].tolist() == [[], []]
    with pytest.raises(IndexError, match=r"\[getitem\]"):
        s[0]
    with pytest.raises(IndexError, match=r"\[getitem\]"):
        e[0]


def test_indexing_errors():
    a = rn.zeros((2, 3), stream=CPU)
    with pytest.raises(IndexError, match=r"\[getitem\].*out of bounds"):
        a[2]
    with pytest.raises(IndexError, match=r"\[getitem\].*out of bounds"):
        a[:, -4]
    with pytest.raises(IndexError, match=r"\[getitem\].*out of bounds"):
        a[2**70]
    with pytest.raises(IndexError, match=r"\[getitem\].*Too many"):
        a[0, 0, 0]
    with pytest.raises(IndexError, match=r"\[getitem\].*ellipsis"):
        a[..., ...]
    with pytest.raises(IndexError, match=r"\[getitem\]"):
        a["x"]
    with pytest.raises(IndexError, match=r"\[getitem\]"):
        a[1.5]
    with pytest.raises(ValueError):
        a[::0]


# ---- Copies, every dtype ----


@pytest.mark.parametrize("d", ALL_DTYPES, ids=str)
def test_concatenate_stack_split_match_numpy(d, rng):
    x = random(rng, d, (3, 4, 5))
    y = random(rng, d, (3, 2, 5))
    z = random(rng, d, (5, 3, 4))
    a, b, c = rn.array(x, d), rn.array(y, d), rn.array(z, d)
    ct = c.transpose(1, 2, 0)  # a strided operand
    zt = z.transpose(1, 2, 0)
    check(rn.concatenate([a, b, ct[:, :3]], axis=1, stream=CPU),
          np.concatenate([x, y, zt[:, :3]], axis=1))
    check(rn.concatenate([a, ct], axis=-3, stream=CPU), np.concatenate([x, zt], axis=-3))
    check(rn.concatenate((a, b), axis=None, stream=CPU), np.concatenate((x, y), axis=None))
    check(rn.stack([a, ct], stream=CPU), np.stack([x, zt]))
    check(rn.stack([a, ct, a], axis=-1, stream=CPU), np.stack([x, zt, x], axis=-1))
    check(rn.stack([a[0, 0, 0], ct[1, 1, 1]], stream=CPU), np.stack([x[0, 0, 0], zt[1, 1, 1]]))
    for got, want in zip(rn.split(a, 5, axis=-1, stream=CPU), np.split(x, 5, axis=-1)):
        check(got, want)
    for idx in ([1, 3], [-2, 1, 10], [], [0, 0, 4]):
        parts = rn.split(ct, idx, axis=1, stream=CPU)
        want = np.array_split(zt, idx, axis=1)
        assert len(parts) == len(want)
        for got, w in zip(parts, want):
            check(got, w)
    for got, want in zip(a.split(3), np.split(x, 3)):
        check(got, want)


@pytest.mark.parametrize("d", ALL_DTYPES, ids=str)
def test_pad_tile_repeat_match_numpy(d, rng):
    x = random(rng, d, (3, 4))
    a = rn.array(x, d)
    t, xt = a.T[::-1], x.T[::-1]
    fill = random(rng, d, ())
    nd = np_dtype(d)
    check(rn.pad(a, 2, stream=CPU), np.pad(x, 2))
    check(rn.pad(t, ((1, 0), (0, 3)), constant_values=rn.array(fill, d), stream=CPU),
          np.pad(xt, ((1, 0), (0, 3)), constant_values=fill))
    check(rn.pad(a, (2, 1), stream=CPU), np.pad(x, (2, 1)))
    check(rn.pad(a, [(0, 0), (1, 1)], "constant", 1, stream=CPU),
          np.pad(x, [(0, 0), (1, 1)], constant_values=np.array(1).astype(nd)))
    for reps in (2, (2, 1), (1, 2, 3), (0, 2), ()):
        check(rn.tile(t, reps, stream=CPU), np.tile(xt, reps))
    for axis in (None, 0, 1, -1):
        for r in (0, 1, 3):
            check(rn.repeat(t, r, axis, stream=CPU), np.repeat(xt, r, axis))
    s = random(rng, d, ())
    check(rn.tile(rn.array(s, d), (2, 2), stream=CPU), np.tile(s, (2, 2)))
    check(rn.repeat(rn.array(s, d), 3, stream=CPU), np.repeat(s, 3))


def test_large_copies_split_over_workers(rng):
    x = rng.standard_normal((700, 900)).astype(np.float32)
    a = rn.array(x)
    with rn.stream(CPU):
        check(rn.contiguous(a.T), np.ascontiguousarray(x.T))
        check(rn.concatenate([a, a[::-1]], axis=1), np.concatenate([x, x[::-1]], axis=1))
        check(rn.pad(a, ((3, 4), (5, 6)), constant_values=-2.0),
              np.pad(x, ((3, 4), (5, 6)), constant_values=-2.0))
        check(rn.tile(a, (2, 2)), np.tile(x, (2, 2)))
        check(rn.repeat(a.T, 2, axis=1), np.repeat(x.T, 2, axis=1))


def test_promotion_and_weak_pad_value():
    with rn.stream(CPU):
        out = rn.concatenate([rn.array([1, 2], rn.uint8), rn.array([-1], rn.int8)])
        assert out.dtype == rn.int16
        assert out.tolist() == [1, 2, -1]
        assert rn.stack([rn.array([1]), rn.array([1.5])]).dtype == rn.float32
        p = rn.pad(rn.array([1, 2], rn.int8), 1, constant_values=5)
        assert p.dtype == rn.int8
        assert p.tolist() == [5, 1, 2, 5]
        assert rn.pad(rn.array([1.0], rn.float16), 1, constant_values=0.5).dtype == rn.float16


# ---- Readers of views ----


@pytest.mark.parametrize("d", ALL_DTYPES, ids=str)
def test_readers_of_views(d, rng):
    x = random(rng, d, (4, 5))
    a = rn.array(x, d)
    v, xv = a.T[1:4, ::-2], x.T[1:4, ::-2]
    assert v.tolist() == xv.tolist()
    assert v[2, 1].item() == xv[2, 1].item()
    assert rn.broadcast_to(a[1:2, 3:4], (3, 3), stream=CPU).tolist() == \
        np.broadcast_to(x[1:2, 3:4], (3, 3)).tolist()
    check(np.array(v), xv)
    check(np.asarray(v), xv)
    r = repr(v)
    assert r.startswith("array(") and str(d).removeprefix("runnel.") in r
    assert r == repr(rn.contiguous(v, stream=CPU))
    if d != rn.bfloat16:
        m = memoryview(v)
        assert m.readonly
        if d != rn.float16:  # memoryview has no tolist for "e"
            assert m.tolist() == xv.tolist()
        assert np.asarray(v).flags.writeable is False
        # A contiguous request gets a row-major copy of the same values.
        assert bytes(v) == np.ascontiguousarray(xv).tobytes()


def test_buffer_strides_are_the_view_strides():
    x = np.arange(20, dtype=np.int32).reshape(4, 5)
    a = rn.array(x)
    v = a.T[1:4, ::-2]
    m = memoryview(v)
    assert m.strides == (4, -40)
    assert not m.c_contiguous
    b = memoryview(rn.broadcast_to(a[0], (3, 5), stream=CPU))
    assert b.strides == (0, 4)
    n = np.asarray(v)
    assert n.strides == (4, -40)
    assert n.base is not None
    e = memoryview(a[:, 5:])
    assert e.shape == (4, 0)


def test_view_keeps_the_memory_it_shares_alive():
    a = rn.arange(1000, stream=CPU)
    v = a[500:]
    n = np.asarray(v)
    del a, v
    import gc

    gc.collect()
    assert n[0] == 500 and n[-1] == 999


# ---- Streams ----


def test_view_with_offset_consumed_on_another_stream():
    """A view with an offset made from gated work on one stream, consumed
    on another with every other handle dropped: the view keeps its source's
    buffer and the wait for its producer."""
    sa, sb, sc = (rn.new_stream(rn.cpu) for _ in range(3))
    gate = rn._testing.block(sa)
    try:
        a = rn.add(rn.arange(4096, stream=sa), 1, stream=sa)
        with rn.stream(sb):
            v = rn.reshape(a, (64, 64))[10:50:3, 7::2]
        out = rn.multiply(rn.transpose(v, stream=sc), 2, stream=sc)
        del a, v
        rn.async_eval(out)
        time.sleep(0.02)
        assert not sc.query()  # the consumer waits for the gated producer
    finally:
        gate.open()
    want = (np.arange(4096).reshape(64, 64) + 1)[10:50:3, 7::2].T * 2
    check(out, want.astype(np.int32))


def test_stream_forms_and_threads(rng):
    x = rng.standard_normal((8, 6)).astype(np.float32)
    a = rn.array(x)
    for s in (None, rn.cpu, rn.Device(rn.cpu), rn.new_stream(rn.cpu)):
        with rn.stream(CPU):
            check(rn.reshape(a, (6, 8), stream=s), x.reshape(6, 8))
            check(rn.concatenate([a, a], stream=s), np.concatenate([x, x]))
    results = []

    def work():
        s = rn.new_stream(rn.cpu)
        results.append(np.array(rn.tile(a.T[::2], (3, 1), stream=s)))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        check(r, np.tile(x.T[::2], (3, 1)))


# ---- Errors ----


def test_errors_name_the_function():
    a = rn.zeros((2, 3, 4), stream=CPU)
    cases = [
        (ValueError, "reshape", lambda: rn.reshape(a, (5, 5))),
        (ValueError, "reshape", lambda: a.reshape(-1, -1)),
        (TypeError, "reshape", lambda: rn.reshape(a, "x")),
        (ValueError, "transpose", lambda: rn.transpose(a, (0, 1))),
        (ValueError, "transpose", lambda: a.transpose(0, 1, 5)),
        (ValueError, "swapaxes", lambda: rn.swapaxes(a, 0, 3)),
        (ValueError, "moveaxis", lambda: rn.moveaxis(a, 3, 0)),
        (ValueError, "squeeze", lambda: rn.squeeze(a, 1)),
        (ValueError, "expand_dims", lambda: rn.expand_dims(a, 5)),
        (ValueError, "broadcast_to", lambda: rn.broadcast_to(a, (3, 3, 4))),
        (ValueError, "flatten", lambda: rn.flatten(a, 2, 1)),
        (ValueError, "concatenate", lambda: rn.concatenate([])),
        (ValueError, "concatenate", lambda: rn.concatenate([a, rn.zeros((2, 4, 4))])),
        (TypeError, "concatenate", lambda: rn.concatenate(a)),
        (ValueError, "concatenate", lambda: rn.concatenate([a, a], axis=3)),
        (ValueError, "stack", lambda: rn.stack([a, rn.zeros((2, 3))])),
        (ValueError, "split", lambda: rn.split(a, 2, axis=1)),
        (ValueError, "split", lambda: rn.split(a, 0)),
        (ValueError, "pad", lambda: rn.pad(a, 1, mode="edge")),
        (ValueError, "pad", lambda: rn.pad(a, -1)),
        (ValueError, "pad", lambda: rn.pad(a, [(1, 1), (1, 1)])),
        (ValueError, "pad", lambda: rn.pad(a, [(1, 2, 3)] * 3)),
        (ValueError, "tile", lambda: rn.tile(a, (-1,))),
        (ValueError, "repeat", lambda: rn.repeat(a, -2)),
        (ValueError, "repeat", lambda: rn.repeat(a, 2, axis=3)),
    ]
    for exc, name, fn in cases:
        with pytest.raises(exc, match=rf"\[{name}\]"):
            fn()
    with pytest.raises(TypeError, match=r"\[reshape\]"):
        rn.reshape(a, (2, 12), stream="cpu")
