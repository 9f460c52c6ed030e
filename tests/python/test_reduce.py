"""Reductions, scans and softmax against numpy on fresh random data, for every
dtype they take: axis forms (None, int, negative, tuples, empty), keepdims,
0-d and 0-size inputs, the array methods, and the errors. Run on the CPU
(GPU kernels for these ops come later)."""

import warnings

import numpy as np
import pytest

import runnel as rn
from conftest import ALL_DTYPES

try:
    import ml_dtypes
except ImportError:  # bfloat16 tests need it
    ml_dtypes = None

CPU = rn.cpu
FLOATS = [rn.float16, rn.bfloat16, rn.float32, rn.float64]
SHAPES = [(), (7,), (3, 4), (2, 3, 5), (4, 1, 6), (3, 0, 2), (33, 65)]
# Relative rounding unit of each float dtype's result.
EPS = {rn.float16: 2.0**-10, rn.bfloat16: 2.0**-7, rn.float32: 2.0**-23,
       rn.float64: 2.0**-52}


def np_dtype(d):
    if d == rn.bfloat16:
        if ml_dtypes is None:
            pytest.skip("ml_dtypes is not installed")
        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(str(d).removeprefix("runnel.").rstrip("_"))


def is_float(d):
    return d in FLOATS


def random(rng, d, shape, low=-8.0, high=8.0):
    """Fresh data of runnel dtype d: integers over their whole range (so that
    sums wrap), floats uniform in [low, high)."""
    nd = np_dtype(d)
    if d == rn.bool_:
        return rng.random(shape) < 0.5
    if nd.kind in "iu":
        info = np.iinfo(nd)
        return rng.integers(info.min, info.max, size=shape, dtype=nd, endpoint=True)
    return rng.uniform(low, high, size=shape).astype(nd)


def small(rng, d, shape, low, high):
    """Small values (ties and zeros are common) in dtype d."""
    v = rng.integers(low, high, size=shape, endpoint=True)
    if d == rn.bool_:
        return v % 2 == 1
    nd = np_dtype(d)
    if nd.kind == "u":
        v = v - low
    return v.astype(nd)


def axis_forms(ndim, rng):
    """None, every single axis (spelled positive or negative), a pair, every
    axis as a tuple, and no axis at all."""
    forms = [None, ()]
    for a in range(ndim):
        forms.append(int(a - ndim if rng.random() < 0.5 else a))
    if ndim >= 2:
        forms.append((0, -1))
    if ndim >= 1:
        forms.append(tuple(range(ndim)))
    return forms


def reduced_count(shape, axis):
    """How many elements reduce into each output."""
    axes = range(len(shape)) if axis is None else (
        [axis] if isinstance(axis, int) else axis)
    return int(np.prod([shape[a] for a in axes]))


def f64(x):
    return np.asarray(x).astype(np.float64)


def groups(x, axis):
    """(n, sum|x|) per output of a reduction over axis, as float64."""
    n = np.ones_like(f64(x)).sum(axis=axis)
    return n, np.abs(f64(x)).sum(axis=axis)


def check_float(got, want, bound):
    got, want = f64(got), f64(want)
    assert got.shape == want.shape
    nan = np.isnan(want)
    assert np.array_equal(np.isnan(got), nan)
    inf = np.isinf(want)
    assert np.array_equal(got[inf], want[inf])
    ok = np.abs(got - want) <= bound
    assert np.all(ok | nan | inf), (got[~ok], want[~ok])


def acc_eps(d):
    return 2.0**-52 if d == rn.float64 else 2.0**-23


@pytest.mark.parametrize("d", ALL_DTYPES, ids=str)
def test_sum_prod_max_min_all_any_match_numpy(d, rng):
    nd = np_dtype(d)
    for shape in SHAPES:
        for axis in axis_forms(len(shape), rng):
            for keepdims in (False, True):
                ctx = f"shape {shape} axis {axis} keepdims {keepdims}"
                x = random(rng, d, shape)
                a = rn.array(x, d)
                # sum: bool as int32, integers wrap, floats pairwise.
                got = rn.sum(a, axis=axis, keepdims=keepdims, stream=CPU)
                if d == rn.bool_:
                    assert got.dtype == rn.int32, ctx
                    want = np.sum(x, axis=axis, keepdims=keepdims, dtype=np.int32)
                    np.testing.assert_array_equal(np.array(got), want, ctx)
                elif nd.kind in "iu":
                    assert got.dtype == d, ctx
                    want = np.sum(x, axis=axis, keepdims=keepdims, dtype=nd)
                    np.testing.assert_array_equal(np.array(got), want, ctx)
                else:
                    assert got.dtype == d, ctx
                    want = np.sum(f64(x), axis=axis, keepdims=keepdims)
                    n, abs_sum = groups(x, axis)
                    if keepdims:
                        n, abs_sum = np.reshape(n, want.shape), np.reshape(abs_sum, want.shape)
                    bound = (np.log2(np.maximum(n, 2)) + 32) * acc_eps(d) * abs_sum \
                        + EPS[d] * np.abs(want)
                    check_float(got, want, bound)
                # prod: integers wrap; floats near 1.
                xp = x if not is_float(d) else random(rng, d, shape, 0.99, 1.01)
                got = rn.prod(rn.array(xp, d), axis=axis, keepdims=keepdims, stream=CPU)
                if d == rn.bool_:
                    assert got.dtype == rn.int32
                    want = np.prod(xp, axis=axis, keepdims=keepdims, dtype=np.int32)
                    np.testing.assert_array_equal(np.array(got), want, ctx)
                elif nd.kind in "iu":
                    want = np.prod(xp, axis=axis, keepdims=keepdims, dtype=nd)
                    np.testing.assert_array_equal(np.array(got), want, ctx)
                else:
                    want = np.prod(f64(xp), axis=axis, keepdims=keepdims)
                    check_float(got, want, 2200 * acc_eps(d) * np.abs(want)
                                + EPS[d] * np.abs(want) + 1e-7)
                # max / min: exact; a zero-size reduction raises.
                if reduced_count(shape, axis) == 0:
                    for fn in (rn.max, rn.min):
                        with pytest.raises(ValueError, match=r"\[(max|min)\]"):
                            fn(a, axis=axis, keepdims=keepdims, stream=CPU)
                else:
                    for fn, ref in ((rn.max, np.max), (rn.min, np.min)):
                        got = fn(a, axis=axis, keepdims=keepdims, stream=CPU)
                        assert got.dtype == d
                        np.testing.assert_array_equal(
                            f64(got), f64(ref(x, axis=axis, keepdims=keepdims)), ctx)
                # all / any: bool, on data with many zeros.
                z = small(rng, d, shape, -1, 1)
                za = rn.array(z, d)
                for fn, ref in ((rn.all, np.all), (rn.any, np.any)):
                    got = fn(za, axis=axis, keepdims=keepdims, stream=CPU)
                    assert got.dtype == rn.bool_
                    np.testing.assert_array_equal(
                        np.array(got), ref(z, axis=axis, keepdims=keepdims), ctx)


@pytest.mark.parametrize("d", ALL_DTYPES, ids=str)
def test_mean_var_std_logsumexp_match_numpy(d, rng):
    out_d = d if is_float(d) else rn.float32
    eps = EPS[out_d]
    for shape in SHAPES:
        for axis in axis_forms(len(shape), rng):
            for keepdims in (False, True):
                ctx = f"shape {shape} axis {axis} keepdims {keepdims}"
                x = random(rng, d, shape) if is_float(d) else small(rng, d, shape, -100, 100)
                a = rn.array(x, d)
                xf = f64(x)
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    want = np.mean(xf, axis=axis, keepdims=keepdims)
                got = rn.mean(a, axis=axis, keepdims=keepdims, stream=CPU)
                assert got.dtype == out_d, ctx
                check_float(got, want, 40 * acc_eps(d) * 8 + 2 * eps * np.abs(want))
                for ddof in (0, 1):
                    with np.errstate(all="ignore"), warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        wv = np.var(xf, axis=axis, keepdims=keepdims, ddof=ddof)
                    gv = rn.var(a, axis=axis, keepdims=keepdims, ddof=ddof, stream=CPU)
                    gs = rn.std(a, axis=axis, keepdims=keepdims, ddof=ddof, stream=CPU)
                    assert gv.dtype == out_d and gs.dtype == out_d
                    # The mean's rounding enters squared; float16 results
                    # may be subnormal.
                    bound = 60 * acc_eps(d) * np.abs(wv) + 4 * eps * np.abs(wv) \
                        + 2 * (20 * eps * 8) ** 2 + 1e-7
                    check_float(gv, wv, bound)
                    with np.errstate(all="ignore"):
                        ws = np.sqrt(wv)
                        sb = np.minimum(np.sqrt(bound), bound / (2 * np.maximum(ws, 1e-30)))
                    check_float(gs, ws, sb + 2 * eps * np.abs(ws))
                if reduced_count(shape, axis) == 0:
                    with pytest.raises(ValueError, match=r"\[logsumexp\]"):
                        rn.logsumexp(a, axis=axis, keepdims=keepdims, stream=CPU)
                    continue
                if xf.size == 0:
                    continue
                m = np.max(xf, axis=axis, keepdims=True)
                wl = m + np.log(np.sum(np.exp(xf - m), axis=axis, keepdims=True))
                if not keepdims:
                    wl = np.sum(wl, axis=axis)  # drops the size-1 axes
                gl = rn.logsumexp(a, axis=axis, keepdims=keepdims, stream=CPU)
                assert gl.dtype == out_d
                check_float(gl, wl, 60 * acc_eps(d) + 2 * eps * np.abs(wl))


@pytest.mark.parametrize("d", ALL_DTYPES, ids=str)
def test_argmax_argmin_take_the_first_extreme(d, rng):
    for shape in SHAPES:
        x = small(rng, d, shape, -2, 2)
        a = rn.array(x, d)
        for fn, ref in ((rn.argmax, np.argmax), (rn.argmin, np.argmin)):
            for keepdims in (False, True):
                axes = [None] + list(range(-len(shape), len(shape)))
                for axis in axes:
                    ctx = f"{fn.__name__} shape {shape} axis {axis} keepdims {keepdims}"
                    try:
                        want = ref(x, axis=axis, keepdims=keepdims)
                    except ValueError:
                        with pytest.raises(ValueError, match=rf"\[{fn.__name__}\]"):
                            fn(a, axis=axis, keepdims=keepdims, stream=CPU)
                        continue
                    got = fn(a, axis=axis, keepdims=keepdims, stream=CPU)
                    assert got.dtype == rn.uint32, ctx
                    np.testing.assert_array_equal(np.array(got), want, ctx)


@pytest.mark.parametrize("d", FLOATS, ids=str)
def test_nan_wins_as_in_numpy(d, rng):
    nd = np_dtype(d)
    x = random(rng, d, (5, 300))
    x[1, 17] = np.nan
    x[1, 40] = np.nan
    x[3, 0] = np.nan
    a = rn.array(x, d)
    for axis in (None, 0, 1):
        np.testing.assert_array_equal(f64(rn.max(a, axis=axis, stream=CPU)),
                                      f64(np.max(x, axis=axis)))
        np.testing.assert_array_equal(f64(rn.min(a, axis=axis, stream=CPU)),
                                      f64(np.min(x, axis=axis)))
        np.testing.assert_array_equal(np.array(rn.argmax(a, axis=axis, stream=CPU)),
                                      np.argmax(x, axis=axis))
        np.testing.assert_array_equal(np.array(rn.argmin(a, axis=axis, stream=CPU)),
                                      np.argmin(x, axis=axis))
        np.testing.assert_array_equal(np.isnan(f64(rn.sum(a, axis=axis, stream=CPU))),
                                      np.isnan(np.sum(f64(x), axis=axis)))
    assert np.array(rn.any(rn.array(np.array([0, np.nan], nd), d), stream=CPU))


@pytest.mark.parametrize("d", ALL_DTYPES, ids=str)
def test_cumsum_cumprod_match_numpy(d, rng):
    nd = np_dtype(d)
    for shape in SHAPES:
        for prod in (False, True):
            fn = rn.cumprod if prod else rn.cumsum
            x = random(rng, d, shape, 0.9, 1.1) if (prod and is_float(d)) else random(rng, d, shape)
            a = rn.array(x, d)
            for axis in [None] + list(range(-len(shape), len(shape))):
                for reverse in (False, True):
                    for inclusive in (True, False):
                        ctx = f"{fn.__name__} {shape} axis {axis} rev {reverse} inc {inclusive}"
                        got = fn(a, axis=axis, reverse=reverse, inclusive=inclusive, stream=CPU)
                        src = x.reshape(-1) if axis is None else x
                        ax = 0 if axis is None else axis
                        if d == rn.bool_:
                            work = src.astype(np.int64 if not prod else np.bool_)
                            out_dt = np.int32 if not prod else np.bool_
                        elif nd.kind in "iu":
                            work, out_dt = src, nd
                        else:
                            work, out_dt = f64(src), None
                        if reverse:
                            work = np.flip(work, ax)
                        if prod:
                            ref = np.cumprod(work, axis=ax, dtype=work.dtype) if work.size else work
                        else:
                            ref = np.cumsum(work, axis=ax, dtype=work.dtype) if work.size else work
                        if not inclusive and work.size:
                            ident = np.ones_like if prod else np.zeros_like
                            first = ident(np.take(ref, [0], axis=ax))
                            ref = np.concatenate(
                                [first, np.take(ref, range(ref.shape[ax] - 1), axis=ax)], axis=ax)
                        if reverse:
                            ref = np.flip(ref, ax)
                        expected_dtype = rn.int32 if (d == rn.bool_ and not prod) else d
                        assert got.dtype == expected_dtype, ctx
                        if out_dt is not None:
                            np.testing.assert_array_equal(np.array(got), ref.astype(out_dt), ctx)
                        else:
                            # Sequential: (n + 2) roundings of the line's
                            # sum |x| (of the product, for cumprod).
                            n = max(work.shape[ax], 1) if work.ndim else 1
                            scale = np.abs(ref) if prod else (
                                np.sum(np.abs(work), axis=ax, keepdims=True)
                                if work.size else 0)
                            bound = (n + 2) * acc_eps(d) * scale + EPS[d] * np.abs(ref) + 1e-7
                            check_float(got, ref, bound)


@pytest.mark.parametrize("d", ALL_DTYPES, ids=str)
def test_softmax_matches_numpy(d, rng):
    out_d = d if is_float(d) else rn.float32
    for shape in SHAPES:
        x = random(rng, d, shape, -20, 20) if is_float(d) else small(rng, d, shape, -20, 20)
        a = rn.array(x, d)
        for axis in axis_forms(len(shape), rng):
            for precise in (False, True):
                got = rn.softmax(a, axis=axis, precise=precise, stream=CPU)
                assert got.dtype == out_d
                xf = f64(x)
                ax = tuple(range(len(shape))) if axis is None else axis
                if xf.size == 0:
                    assert got.shape == shape
                    continue
                m = np.max(xf, axis=ax, keepdims=True)
                e = np.exp(xf - m)
                want = e / np.sum(e, axis=ax, keepdims=True)
                check_float(got, want, (60 * acc_eps(d) + 2 * EPS[out_d]) * want + 1e-7)


@pytest.mark.parametrize("d", ALL_DTYPES, ids=str)
def test_views_reduce_as_their_values(d, rng):
    """Transposed, reversed, strided and broadcast views, against numpy on the
    same views."""
    x = random(rng, d, (6, 40, 33))
    a = rn.array(x, d)
    views = [
        (a.T, x.T),
        (a[::-1, 1::3, ::-2], x[::-1, 1::3, ::-2]),
        (rn.moveaxis(a, 2, 0), np.moveaxis(x, 2, 0)),
        (rn.broadcast_to(a[:1], (7, 40, 33)), np.broadcast_to(x[:1], (7, 40, 33))),
    ]
    nd = np_dtype(d)
    for v, xv in views:
        for axis in (None, 0, -1, (0, 2)):
            got = rn.sum(v, axis=axis, stream=CPU)
            if nd.kind in "biu":
                want = np.sum(xv, axis=axis, dtype=np.int32 if d == rn.bool_ else nd)
                np.testing.assert_array_equal(np.array(got), want)
            else:
                want = np.sum(f64(xv), axis=axis)
                check_float(got, want, 40 * acc_eps(d) * np.sum(np.abs(f64(xv)), axis=axis)
                            + EPS[d] * np.abs(want))
            np.testing.assert_array_equal(f64(rn.max(v, axis=axis, stream=CPU)),
                                          f64(np.max(xv, axis=axis)))
            np.testing.assert_array_equal(np.array(rn.any(v, axis=axis, stream=CPU)),
                                          np.any(xv, axis=axis))
        for axis in (None, 0, 1, 2):
            np.testing.assert_array_equal(np.array(rn.argmin(v, axis=axis, stream=CPU)),
                                          np.argmin(xv, axis=axis))
        if nd.kind in "iu":
            np.testing.assert_array_equal(np.array(rn.cumsum(v, axis=1, stream=CPU)),
                                          np.cumsum(xv, axis=1, dtype=nd))
        if is_float(d):
            for axis in (-1, 0):
                xf = f64(xv)
                e = np.exp(xf - np.max(xf, axis=axis, keepdims=True))
                want = e / np.sum(e, axis=axis, keepdims=True)
                check_float(rn.softmax(v, axis=axis, stream=CPU), want,
                            (60 * acc_eps(d) + 2 * EPS[d]) * want + 1e-7)


def test_float_sums_are_pairwise():
    """2^20 + 3 positive float32 values: a running sum drifts far outside
    the pairwise bound, along either axis and over all."""
    rng = np.random.default_rng()
    x = rng.uniform(0, 1, (1024, 1027)).astype(np.float32)
    a = rn.array(x)
    for axis in (None, 0, 1):
        want = np.sum(f64(x), axis=axis)
        got = f64(rn.sum(a, axis=axis, stream=CPU))
        n = x.size if axis is None else x.shape[axis]
        assert np.all(np.abs(got - want) <= (np.log2(n) + 32) * 2.0**-23 * want)


def test_output_shapes_and_dtypes():
    a = rn.ones((2, 3, 4), rn.int8)
    assert rn.sum(a, stream=CPU).shape == ()
    assert rn.sum(a, keepdims=True, stream=CPU).shape == (1, 1, 1)
    assert rn.sum(a, axis=1, stream=CPU).shape == (2, 4)
    assert rn.sum(a, axis=[0, 2], keepdims=True, stream=CPU).shape == (1, 3, 1)
    assert rn.sum(a, axis=(), stream=CPU).shape == (2, 3, 4)
    assert rn.sum(a, stream=CPU).dtype == rn.int8
    assert rn.sum(rn.array([True, False]), stream=CPU).dtype == rn.int32
    assert rn.mean(a, stream=CPU).dtype == rn.float32
    assert rn.var(rn.ones((2,), rn.float16), stream=CPU).dtype == rn.float16
    assert rn.argmax(a, stream=CPU).dtype == rn.uint32
    assert rn.argmax(a, keepdims=True, stream=CPU).shape == (1, 1, 1)
    assert rn.cumsum(a, stream=CPU).shape == (24,)
    assert rn.cumprod(rn.array([True, False]), stream=CPU).dtype == rn.bool_
    assert rn.softmax(a, axis=-1, stream=CPU).dtype == rn.float32


def test_python_scalars_and_lists():
    assert rn.sum([1, 2, 3], stream=CPU).item() == 6
    assert rn.max(4.5, stream=CPU).item() == 4.5
    assert rn.argmax([1, 7, 7], stream=CPU).item() == 1
    assert rn.cumsum([1, 2, 3], stream=CPU).tolist() == [1, 3, 6]
    assert rn.softmax(0.0, stream=CPU).item() == 1.0


def test_zero_size_reductions():
    e = rn.zeros((0, 3), stream=CPU)
    assert rn.sum(e, stream=CPU).item() == 0
    assert rn.prod(e, stream=CPU).item() == 1
    assert rn.all(e, stream=CPU).item() is True
    assert rn.any(e, stream=CPU).item() is False
    assert np.isnan(rn.mean(e, stream=CPU).item())
    assert rn.sum(e, axis=0, stream=CPU).tolist() == [0, 0, 0]
    assert rn.max(e, axis=1, stream=CPU).shape == (0,)
    for fn in (rn.max, rn.min, rn.argmax, rn.argmin, rn.logsumexp):
        with pytest.raises(ValueError, match=rf"\[{fn.__name__}\]"):
            fn(e, stream=CPU)
        with pytest.raises(ValueError, match=rf"\[{fn.__name__}\]"):
            fn(e, axis=0, stream=CPU)


def test_array_methods_match_the_functions(rng):
    x = rng.uniform(-3, 3, (4, 5)).astype(np.float32)
    a = rn.array(x)
    with rn.stream(CPU):
        for name in ("sum", "prod", "mean", "max", "min", "all", "any", "logsumexp"):
            for kw in ({}, {"axis": 1}, {"axis": (0, 1), "keepdims": True}):
                m = getattr(a, name)(**kw)
                f = getattr(rn, name)(a, **kw)
                assert m.dtype == f.dtype and m.shape == f.shape
                np.testing.assert_array_equal(np.array(m), np.array(f), f"{name} {kw}")
        for name in ("var", "std"):
            np.testing.assert_array_equal(np.array(getattr(a, name)(axis=0, ddof=1)),
                                          np.array(getattr(rn, name)(a, axis=0, ddof=1)))
        for name in ("argmax", "argmin"):
            np.testing.assert_array_equal(np.array(getattr(a, name)(axis=1, keepdims=True)),
                                          np.array(getattr(rn, name)(a, axis=1, keepdims=True)))
        for name in ("cumsum", "cumprod"):
            np.testing.assert_array_equal(
                np.array(getattr(a, name)(axis=1, reverse=True, inclusive=False)),
                np.array(getattr(rn, name)(a, axis=1, reverse=True, inclusive=False)))
    assert a.sum(stream=CPU).item() == pytest.approx(float(x.astype(np.float64).sum()), abs=1e-4)


def test_every_reduction_takes_a_stream():
    a = rn.array([[1.0, 2.0], [3.0, 4.0]])
    s = rn.new_stream(rn.cpu)
    for fn in (rn.sum, rn.prod, rn.mean, rn.max, rn.min, rn.all, rn.any, rn.var,
               rn.std, rn.logsumexp, rn.argmax, rn.argmin, rn.cumsum, rn.cumprod,
               rn.softmax):
        for form in (s, rn.cpu, rn.Device(rn.cpu)):
            fn(a, stream=form).tolist()
        with pytest.raises(TypeError, match=rf"\[{fn.__name__}\].*stream"):
            fn(a, stream="cpu")


def test_bad_arguments_name_the_function():
    a = rn.ones((2, 3), stream=CPU)
    cases = [
        (ValueError, "sum", lambda: rn.sum(a, axis=2)),
        (ValueError, "sum", lambda: rn.sum(a, axis=-3)),
        (ValueError, "sum", lambda: rn.sum(a, axis=(0, 0))),
        (ValueError, "sum", lambda: rn.sum(a, axis=(1, -1))),
        (ValueError, "prod", lambda: rn.prod(a, axis=[0, 5])),
        (ValueError, "mean", lambda: a.mean(axis=9)),
        (ValueError, "var", lambda: rn.var(a, axis=(0, 0))),
        (ValueError, "logsumexp", lambda: rn.logsumexp(a, axis=2)),
        (ValueError, "argmax", lambda: rn.argmax(a, axis=2)),
        (ValueError, "cumsum", lambda: rn.cumsum(a, axis=-3)),
        (ValueError, "softmax", lambda: rn.softmax(a, axis=(1, 1))),
        (ValueError, "sum", lambda: rn.sum(a, axis=2**40)),
        (TypeError, "sum", lambda: rn.sum(a, axis="0")),
        (TypeError, "sum", lambda: rn.sum(a, axis=1.0)),
        (TypeError, "sum", lambda: rn.sum(a, axis=True)),
        (TypeError, "sum", lambda: rn.sum(a, axis=[0, None])),
        (TypeError, "sum", lambda: rn.sum(a, keepdims=1)),
        (TypeError, "sum", lambda: rn.sum("x")),
        (TypeError, "max", lambda: a.max(keepdims="yes")),
        (TypeError, "var", lambda: rn.var(a, ddof=0.5)),
        (TypeError, "argmax", lambda: rn.argmax(a, axis=(0, 1))),
        (TypeError, "cumsum", lambda: rn.cumsum(a, axis=(0,))),
        (TypeError, "cumsum", lambda: rn.cumsum(a, reverse=1)),
        (TypeError, "softmax", lambda: rn.softmax(a, precise=None)),
        (TypeError, "sum", lambda: rn.sum(a, keepdims=None)),
        (TypeError, "std", lambda: a.std(ddof=None)),
    ]
    for exc, name, f in cases:
        with pytest.raises(exc, match=rf"\[{name}\]"):
            f()


def test_every_function_has_a_docstring():
    for name in ("sum", "prod", "mean", "max", "min", "all", "any", "var", "std",
                 "logsumexp", "argmax", "argmin", "cumsum", "cumprod", "softmax"):
        assert getattr(rn, name).__doc__
        if name != "softmax":
            assert getattr(rn.array, name).__doc__
