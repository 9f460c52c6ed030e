"""The foundation ops against numpy on fresh random data, for every dtype;
their stream= forms and bad arguments."""

import numpy as np
import pytest

import runnel as rn
from conftest import ALL_DTYPES

try:
    import ml_dtypes
except ImportError:  # bfloat16 tests need it
    ml_dtypes = None

N = 257  # not a multiple of any vector width


def np_dtype(d):
    if d == rn.bfloat16:
        if ml_dtypes is None:
            pytest.skip("ml_dtypes is not installed")
        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(str(d).removeprefix("runnel.").rstrip("_"))


def random(rng, d, shape=(N,), low=-10.0, high=10.0):
    """Fresh random numpy data of runnel dtype d, over its whole range for
    integers (so that wrapping is exercised)."""
    nd = np_dtype(d)
    if d == rn.bool_:
        return rng.random(shape) < 0.5
    if nd.kind in "iu":
        info = np.iinfo(nd)
        return rng.integers(info.min, info.max, size=shape, dtype=nd, endpoint=True)
    return rng.uniform(low, high, size=shape).astype(nd)


def check(out, expected, d):
    got = np.array(out)
    assert got.shape == expected.shape
    if np_dtype(d).kind in "biu":
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)
    else:
        tol = {rn.float16: 2e-3, rn.bfloat16: 1.6e-2, rn.float32: 1e-6, rn.float64: 1e-12}[d]
        np.testing.assert_allclose(
            got.astype(np.float64), expected.astype(np.float64), rtol=tol, atol=tol
        )


def ref_binary(fn, x, y, d):
    """numpy's result in dtype d; half types compute in float32, as runnel."""
    nd = np_dtype(d)
    if d in (rn.float16, rn.bfloat16):
        return fn(x.astype(np.float32), y.astype(np.float32)).astype(nd)
    with np.errstate(over="ignore"):
        return fn(x, y).astype(nd)


@pytest.mark.parametrize("d", ALL_DTYPES, ids=str)
@pytest.mark.parametrize("op,ref", [(rn.add, np.add), (rn.multiply, np.multiply)],
                         ids=["add", "multiply"])
def test_binary_ops_match_numpy(op, ref, d, rng, device):
    x, y = random(rng, d), random(rng, d)
    out = op(rn.array(x, d), rn.array(y, d), stream=device)
    assert out.dtype == d
    check(out, ref_binary(ref, x, y, d), d)


@pytest.mark.parametrize("d", ALL_DTYPES, ids=str)
def test_binary_ops_broadcast(d, rng, device):
    x, y = random(rng, d, (3, 1, 5)), random(rng, d, (4, 1))
    check(rn.add(rn.array(x, d), rn.array(y, d), stream=device),
          ref_binary(np.add, x, y, d), d)
    check(rn.array(x, d) * rn.array(y, d), ref_binary(np.multiply, x, y, d), d)


@pytest.mark.parametrize("d", ALL_DTYPES, ids=str)
def test_exp_matches_numpy(d, rng, device):
    nd = np_dtype(d)
    if nd.kind in "iu":  # small integers: exp of the full range overflows
        x = rng.integers(0 if nd.kind == "u" else -5, 6, N).astype(nd)
    else:
        x = random(rng, d, low=-5, high=5)
    out = rn.exp(rn.array(x, d), stream=device)
    want = rn.float32 if nd.kind in "biu" else d
    assert out.dtype == want
    check(out, np.exp(x.astype(np.float64)).astype(np_dtype(want)), want)


@pytest.mark.parametrize("d", ALL_DTYPES, ids=str)
def test_abs_matches_numpy(d, rng, device):
    x = random(rng, d)
    out = rn.abs(rn.array(x, d), stream=device)
    assert out.dtype == d
    expected = x if d == rn.bool_ else np.abs(x.astype(np.float32) if d == rn.bfloat16 else x)
    check(out, np.asarray(expected).astype(np_dtype(d)), d)


@pytest.mark.parametrize("d", ALL_DTYPES, ids=str)
def test_sum_matches_numpy(d, rng, device):
    x = random(rng, d, (17, 31), low=-1, high=1)
    out = rn.sum(rn.array(x, d), stream=device)
    nd = np_dtype(d)
    if d == rn.bool_:
        assert out.dtype == rn.int32
        assert out.item() == int(x.sum())
    elif nd.kind in "iu":
        assert out.dtype == d
        assert out.item() == np.sum(x, dtype=nd).item()  # wraps as numpy does
    else:
        assert out.dtype == d
        tol = {rn.float16: 2e-2, rn.bfloat16: 1e-1, rn.float32: 1e-4, rn.float64: 1e-10}[d]
        want = float(x.astype(np.float64).sum())
        # Plus the result's rounding to d (half an ulp: a bfloat16 sum past
        # 32 is off by up to 0.125).
        half_ulp = {rn.float16: 2**-11, rn.bfloat16: 2**-8, rn.float32: 2**-24,
                    rn.float64: 2**-53}[d]
        assert out.item() == pytest.approx(want, abs=tol + half_ulp * abs(want))


@pytest.mark.parametrize("d", ALL_DTYPES, ids=str)
def test_astype_matches_numpy(d, rng, device):
    x = rng.uniform(-100, 100, N).astype(np.float32)
    if np_dtype(d).kind == "u":
        x = np.abs(x)  # numpy leaves negative floats to unsigned undefined
    out = rn.astype(rn.array(x), d, stream=device)
    assert out.dtype == d
    check(out, x.astype(np_dtype(d)), d)


# ---- Casts against the rules of docs/numerics.md ----

FLOAT_DTYPES = [rn.float32, rn.float64, rn.float16, rn.bfloat16]
INT_DTYPES = [rn.uint8, rn.uint16, rn.uint32, rn.uint64,
              rn.int8, rn.int16, rn.int32, rn.int64]


def float_sources(rng, d):
    """NaN, infinities, values around every integer type's range and the
    float type's own extremes, and random magnitudes from 2^-2 to 2^70 of
    either sign, as numpy data of float dtype d."""
    nd = np_dtype(d)
    v = [np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 0.5, -0.5, 0.999, -0.999,
         1.0, -1.0, 1.5, -1.5, 2.5, -2.5, 127.9, -128.9, 255.5, 256.0, -129.0]
    for k in range(67):
        p = 2.0**k
        for x in (p, p - 1, p + 1, p - 0.5, p + 0.5):
            v += [x, -x]
    top = float(rn.finfo(d).max)  # numpy's finfo has no bfloat16
    v += [top, -top]
    mags = 2.0 ** rng.uniform(-2, 70, 300)
    v += list(mags * rng.choice([-1.0, 1.0], 300))
    v += list(rng.uniform(-300, 300, 300))
    with np.errstate(over="ignore"):
        # float64 values past a narrower type's range become infinities.
        return np.array(v, np.float64).astype(nd)


def cast_rule(x, nd):
    """docs/numerics.md: float to integer truncates toward zero, sends NaN to
    0 and saturates out-of-range values; to bool, nonzero (NaN too) is true.
    Computed in float64 (every source value is exact there)."""
    x = np.asarray(x).astype(np.float64)
    if nd == np.bool_:
        return x != 0
    info = np.iinfo(nd)
    t = np.trunc(x)
    low = t < float(info.min)             # exact: -2^(bits-1) or 0
    high = t >= float(info.max) + 1.0     # exact: 2^(bits-1) or 2^bits
    bad = np.isnan(t) | low | high
    out = np.where(bad, 0.0, t).astype(nd)  # in range: exact, defined
    out[low] = info.min
    out[high] = info.max
    return out


@pytest.mark.parametrize("src", FLOAT_DTYPES, ids=str)
@pytest.mark.parametrize("d", INT_DTYPES + [rn.bool_], ids=str)
def test_astype_float_to_integer_and_bool_follows_the_rules(src, d, rng, device):
    x = float_sources(rng, src)
    a = rn.array(x, src)
    want = cast_rule(x, np_dtype(d))
    for view, w in ((a, want), (a[::-1], want[::-1]), (a[1::3], want[1::3])):
        got = np.array(rn.astype(view, d, stream=device))
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, w)


def test_astype_documented_examples():
    assert rn.array(1e10, rn.float32).astype(rn.int32).item() == 2**31 - 1
    assert rn.array(-1.5).astype(rn.uint8).item() == 0
    assert rn.array(-1e30).astype(rn.uint64).item() == 0
    assert rn.array(float("nan")).astype(rn.int64).item() == 0
    assert rn.array(float("nan")).astype(rn.bool_).item() is True
    assert rn.array([-2.9, 2.9]).astype(rn.int8).tolist() == [-2, 2]
    assert rn.array(float("-inf"), rn.float16).astype(rn.int16).item() == -(2**15)


@pytest.mark.parametrize("src", INT_DTYPES + [rn.bool_], ids=str)
@pytest.mark.parametrize("d", INT_DTYPES + [rn.bool_], ids=str)
def test_astype_integer_to_integer_wraps_as_numpy(src, d, rng, device):
    # Over the source's whole range with its extremes and the other types'
    # boundaries mixed in: narrowing wraps modulo 2^bits, negative to
    # unsigned included, as numpy.
    ns = np_dtype(src)
    x = random(rng, src)
    if src != rn.bool_:
        info = np.iinfo(ns)
        edges = [info.min, info.max, 0, 1]
        for k in range(64):
            for e in (2**k, 2**k - 1, 2**k + 1, -(2**k), -(2**k) - 1):
                edges.append(e)
        bits = [e % 2**(8 * ns.itemsize) for e in edges]  # as the type's bits
        x = np.concatenate([x, np.array(bits, np.uint64).astype(ns)])
    got = np.array(rn.astype(rn.array(x, src), d, stream=device))
    np.testing.assert_array_equal(got, x.astype(np_dtype(d)))
    assert got.dtype == np_dtype(d)


def half_sources(rng):
    """float32 values that exercise rounding to float16 and bfloat16: ties
    (the bits just below each type's precision set to exactly half), both
    types' subnormals and overflow thresholds, NaN and infinities."""
    bits = rng.integers(0, 2**32, 4000, dtype=np.uint64).astype(np.uint32)
    x = bits.view(np.float32).copy()
    # Ties for bfloat16 (low 16 bits 0x8000) and float16 (low 13 bits 0x1000).
    ties = rng.integers(0, 2**32, 2000, dtype=np.uint64).astype(np.uint32)
    bf_ties = ((ties[:1000] & 0xFFFF0000) | 0x8000).view(np.float32)
    # float16's normal range: exponents 2^-14 .. 2^15.
    e = rng.integers(127 - 25, 127 + 16, 1000).astype(np.uint32)
    h = (ties[1000:] & 0x807FE000) | (e << 23) | 0x1000
    h_ties = h.view(np.float32)
    near = rng.uniform(-70000, 70000, 1000).astype(np.float32)
    tiny = (rng.uniform(-1, 1, 1000) * 2.0**-14).astype(np.float32)
    special = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 65504, 65519.996,
                        65520, -65520, 2.0**-24, 2.0**-25, 3 * 2.0**-26,
                        2.0**-25 * 1.0000001, 3.3895314e38, 3.4028235e38,
                        1e-40, -1e-45], np.float32)
    return np.concatenate([x, bf_ties, h_ties, near, tiny, special])


@pytest.mark.parametrize("d", [rn.float16, rn.bfloat16], ids=str)
def test_astype_float32_to_half_types_rounds_to_nearest_even_exactly(d, rng, device):
    x = half_sources(rng)
    got = np.array(rn.astype(rn.array(x), d, stream=device))
    with np.errstate(over="ignore", invalid="ignore"):
        want = x.astype(np_dtype(d))
    assert got.dtype == want.dtype
    nan = np.isnan(want.astype(np.float32))
    np.testing.assert_array_equal(np.isnan(got.astype(np.float32)), nan)
    # Bit for bit, every non-NaN value (infinities and signed zeros too).
    np.testing.assert_array_equal(got.view(np.uint16)[~nan], want.view(np.uint16)[~nan])


def test_astype_float64_to_float16_rounds_once_as_numpy(rng, device):
    # numpy rounds float64 to float16 directly (never through float32).
    x = np.concatenate([
        rng.uniform(-70000, 70000, 3000),
        rng.uniform(-1, 1, 1000) * 2.0**-14,
        # Just above a float16 tie: float32 would round it onto the tie.
        (np.arange(1024, 2048) + 0.5) * 2.0**-10 + 2.0**-40,
    ])
    got = np.array(rn.astype(rn.array(x, rn.float64), rn.float16, stream=device))
    with np.errstate(over="ignore"):
        want = x.astype(np.float16)
    np.testing.assert_array_equal(got.view(np.uint16), want.view(np.uint16))


@pytest.mark.parametrize("d", ALL_DTYPES, ids=str)
def test_creation_ops(d, device):
    nd = np_dtype(d)
    check(rn.zeros((2, 3), d, stream=device), np.zeros((2, 3), nd), d)
    check(rn.ones(4, dtype=d, stream=device), np.ones(4, nd), d)
    check(rn.full((2, 2), 1, d, stream=device), np.full((2, 2), 1, nd), d)


def test_full_broadcasts_and_keeps_the_value_dtype(rng):
    row = rng.standard_normal(3).astype(np.float32)
    out = rn.full((2, 3), rn.array(row))
    check(out, np.broadcast_to(row, (2, 3)), rn.float32)
    assert rn.full(3, 2).dtype == rn.int32
    assert rn.full(3, 2.5).dtype == rn.float32
    assert rn.full((3,), True).tolist() == [True] * 3


def test_arange_forms():
    assert rn.arange(5).tolist() == list(range(5))
    assert rn.arange(5).dtype == rn.int32
    assert rn.arange(2, 11, 3).tolist() == [2, 5, 8]
    assert rn.arange(0.0, 1.0, 0.25).tolist() == [0.0, 0.25, 0.5, 0.75]
    assert rn.arange(0, 1, 0.5).dtype == rn.float32
    assert rn.arange(4, dtype=rn.float64).dtype == rn.float64
    np.testing.assert_allclose(np.array(rn.arange(-3.0, 3.0, 0.1)),
                               np.arange(-3.0, 3.0, 0.1, dtype=np.float32), atol=1e-5)


def test_weak_python_scalars():
    i32 = rn.array([1, 2], rn.int32)
    assert (i32 + 1.5).dtype == rn.float32
    assert (i32 + 1.5).tolist() == [2.5, 3.5]
    assert (i32 + 1).dtype == rn.int32
    assert (rn.array([1], rn.int8) + 1).dtype == rn.int8
    assert (rn.array([1], rn.uint8) * 2).dtype == rn.uint8
    assert (rn.array([1.0], rn.float16) + 1.5).dtype == rn.float16
    assert (rn.array([1.0], rn.bfloat16) * 2.0).dtype == rn.bfloat16
    assert (rn.array([1.0], rn.float64) + 1).dtype == rn.float64
    assert (rn.array([True]) + 1).dtype == rn.int32
    assert (rn.array([1], rn.int16) + True).dtype == rn.int16
    assert (2 + i32).tolist() == [3, 4]
    assert (3 * i32).tolist() == [3, 6]
    assert (0.5 * i32).dtype == rn.float32
    assert rn.add(1, 2).dtype == rn.int32
    assert rn.add(1, 2.0).dtype == rn.float32
    assert rn.multiply(2, i32).tolist() == [2, 4]
    with pytest.raises(ValueError, match=r"\[add\].*overflow"):
        rn.array([1], rn.uint8) + 300
    with pytest.raises(ValueError, match=r"\[multiply\].*overflow"):
        rn.multiply(rn.array([1], rn.int8), -200)


def test_promotion_of_arrays():
    assert (rn.array([1], rn.uint8) + rn.array([1], rn.int8)).dtype == rn.int16
    assert (rn.array([1], rn.int32) + rn.array([1.0], rn.float32)).dtype == rn.float32
    assert (rn.array([True]) * rn.array([3], rn.int8)).dtype == rn.int8


def test_operators_with_unsupported_types():
    a = rn.array([1, 2])
    with pytest.raises(TypeError):
        a + "x"
    with pytest.raises(TypeError):
        "x" * a
    with pytest.raises(TypeError):
        a + [1, 2]


STREAM_FORMS = {
    "none": lambda: None,
    "stream": lambda: rn.new_stream(rn.cpu),
    "device": lambda: rn.Device(rn.cpu),
    "device_type": lambda: rn.cpu,
    "thread_local": lambda: rn.new_thread_local_stream(rn.cpu),
}

OPS = {
    "array_astype": lambda s: rn.array([1.5, 2.5]).astype(rn.int32, stream=s),
    "astype": lambda s: rn.astype(rn.array([1.5, 2.5]), rn.int32, stream=s),
    "zeros": lambda s: rn.zeros(2, stream=s),
    "ones": lambda s: rn.ones(2, stream=s),
    "full": lambda s: rn.full(2, 7, stream=s),
    "arange": lambda s: rn.arange(2, stream=s),
    "add": lambda s: rn.add(rn.array([1, 2]), 1, stream=s),
    "multiply": lambda s: rn.multiply(rn.array([1, 2]), 3, stream=s),
    "exp": lambda s: rn.exp(rn.array([0.0, 1.0]), stream=s),
    "abs": lambda s: rn.abs(rn.array([-1, 2]), stream=s),
    "sum": lambda s: rn.sum(rn.array([1, 2]), stream=s),
    "delay": lambda s: rn._testing.delay(rn.array([1, 2]), 10, stream=s),
}

EXPECTED = {
    "array_astype": [1, 2], "astype": [1, 2], "zeros": [0, 0], "ones": [1, 1],
    "full": [7, 7], "arange": [0, 1], "add": [2, 3], "multiply": [3, 6],
    "exp": [1.0, pytest.approx(np.e)], "abs": [1, 2], "sum": 3, "delay": [1, 2],
}


@pytest.mark.parametrize("form", STREAM_FORMS, ids=str)
@pytest.mark.parametrize("op", OPS, ids=str)
def test_every_op_takes_every_stream_form(op, form):
    out = OPS[op](STREAM_FORMS[form]())
    assert out.tolist() == EXPECTED[op]


@pytest.mark.parametrize("op", OPS, ids=str)
def test_every_op_rejects_a_bad_stream(op):
    name = "astype" if op == "array_astype" else op
    for bad in ("cpu", 0, 1.5, object()):
        with pytest.raises(TypeError, match=rf"\[{name}\].*stream"):
            OPS[op](bad)


def test_bad_arguments_name_the_function():
    a = rn.array([1.0, 2.0])
    cases = [
        (TypeError, "add", lambda: rn.add(a, "x")),
        (TypeError, "multiply", lambda: rn.multiply(object(), a)),
        (TypeError, "exp", lambda: rn.exp("x")),
        (TypeError, "abs", lambda: rn.abs({})),
        (TypeError, "sum", lambda: rn.sum("x")),
        (TypeError, "zeros", lambda: rn.zeros("3")),
        (TypeError, "zeros", lambda: rn.zeros((2,), "float32")),
        (TypeError, "ones", lambda: rn.ones((2.5,))),
        (TypeError, "full", lambda: rn.full((2,), 1, dtype=np.float32)),
        (TypeError, "arange", lambda: rn.arange("3")),
        (TypeError, "astype", lambda: rn.astype(a, "int32")),
        (TypeError, "array", lambda: rn.array("abc")),
        (TypeError, "array", lambda: rn.array([1, "a"])),
        (TypeError, "array", lambda: rn.array(1 + 2j)),
        (TypeError, "array", lambda: rn.array([1], dtype="int32")),
        (ValueError, "array", lambda: rn.array([[1], [1, 2]])),
        (ValueError, "array", lambda: rn.array(2**70)),
        (ValueError, "add", lambda: rn.add(rn.ones((2, 3)), rn.ones((4,)))),
        (ValueError, "multiply", lambda: rn.ones((2,)) * rn.ones((3,))),
        (ValueError, "zeros", lambda: rn.zeros((-1, 2))),
        (ValueError, "full", lambda: rn.full((2,), rn.ones((3,)))),
        (ValueError, "arange", lambda: rn.arange(0, 10, 0)),
        (ValueError, "item", lambda: rn.ones((2,)).item()),
        (ValueError, "sum", lambda: rn.sum(a, axis=1)),
        (ValueError, "set_fault", lambda: rn._testing.set_fault("nonsense")),
    ]
    for exc, name, f in cases:
        with pytest.raises(exc, match=rf"\[{name}\]"):
            f()


def test_failed_op_raises_at_the_wait_and_leaves_the_stream_usable():
    s = rn.new_stream(rn.cpu)
    rn._testing.set_fault("op:exp:1")
    try:
        bad = rn.exp(rn.array([1.0]), stream=s)
        later = rn.add(bad, 1, stream=s)
        with pytest.raises(RuntimeError):
            rn.eval(later)
        with pytest.raises(RuntimeError):
            bad.item()  # an array's error never clears
    finally:
        rn._testing.set_fault("")
    try:
        rn.synchronize(s)
    except RuntimeError:
        pass
    assert rn.exp(rn.array([0.0]), stream=s).tolist() == [1.0]


def test_typed_arguments_name_the_function():
    """Ints, floats, bools and strings that the C++ API takes as such: a
    wrong type is a TypeError, an out-of-range value a ValueError, both
    naming the function."""
    a = rn.array([[1.0, 2.0], [3.0, 4.0]])
    with rn.stream(rn.cpu):  # random has no GPU kernel yet
        key = rn.random.key(1)
    big = 2**40
    wrong_type = [
        ("eye", lambda: rn.eye(2.5)),
        ("eye", lambda: rn.eye("2")),
        ("eye", lambda: rn.eye(2, 2.0)),
        ("eye", lambda: rn.eye(2, k=None)),
        ("identity", lambda: rn.identity(None)),
        ("linspace", lambda: rn.linspace(0, 1, 5.0)),
        ("round", lambda: rn.round(a, 1.0)),
        ("round", lambda: a.round("1")),
        ("flatten", lambda: rn.flatten(a, 0.0)),
        ("flatten", lambda: a.flatten(end_axis="x")),
        ("swapaxes", lambda: rn.swapaxes(a, 0, None)),
        ("swapaxes", lambda: a.swapaxes(0.0, 1)),
        ("moveaxis", lambda: rn.moveaxis(a, "0", 1)),
        ("moveaxis", lambda: a.moveaxis(0, [1])),
        ("stack", lambda: rn.stack([a, a], axis=1.0)),
        ("split", lambda: rn.split(a, 2, axis=0.5)),
        ("split", lambda: a.split(2, axis=None)),
        ("repeat", lambda: rn.repeat(a, 2.0)),
        ("pad", lambda: rn.pad(a, 1, mode=0)),
        ("take", lambda: rn.take(a, rn.array([0]), axis=0.0)),
        ("take_along_axis", lambda: rn.take_along_axis(a, rn.array([[0]]), axis="0")),
        ("put_along_axis", lambda: rn.put_along_axis(a, rn.array([[0]]), 1.0, axis=[0])),
        ("split", lambda: rn.random.split(key, 2.0)),
        ("split", lambda: rn.random.split([1, 2])),
        ("bits", lambda: rn.random.bits((2,), 4.0)),
        ("seed", lambda: rn.random.seed(1.5)),
        ("seed", lambda: rn.random.seed(None)),
        ("key", lambda: rn.random.key("1")),
        ("addmm", lambda: rn.addmm(a, a, a, alpha="1")),
        ("addmm", lambda: rn.addmm(a, a, a, beta=None)),
        ("new_stream", lambda: rn.new_stream(rn.cpu, 0.5)),
        ("device_count", lambda: rn.device_count("cpu")),
        ("contiguous", lambda: rn.contiguous(a, 1)),
        ("gather", lambda: rn.gather("a", rn.array([0]), 0, (1, 2))),
    ]
    out_of_range = [
        ("eye", lambda: rn.eye(big)),
        ("eye", lambda: rn.eye(2, 2**70)),
        ("eye", lambda: rn.eye(2, k=-big)),
        ("identity", lambda: rn.identity(big)),
        ("linspace", lambda: rn.linspace(0, 1, big)),
        ("round", lambda: rn.round(a, big)),
        ("flatten", lambda: rn.flatten(a, big)),
        ("flatten", lambda: a.flatten(0, 2**70)),
        ("swapaxes", lambda: rn.swapaxes(a, big, 0)),
        ("moveaxis", lambda: a.moveaxis(0, -big)),
        ("stack", lambda: rn.stack([a, a], axis=big)),
        ("split", lambda: rn.split(a, 2, axis=big)),
        ("repeat", lambda: rn.repeat(a, big)),
        ("take", lambda: rn.take(a, rn.array([0]), axis=big)),
        ("take_along_axis", lambda: rn.take_along_axis(a, rn.array([[0]]), axis=big)),
        ("put_along_axis", lambda: rn.put_along_axis(a, rn.array([[0]]), 1.0, axis=big)),
        ("split", lambda: rn.random.split(key, big)),
        ("bits", lambda: rn.random.bits((2,), big)),
        ("seed", lambda: rn.random.seed(-1)),
        ("seed", lambda: rn.random.seed(2**64)),
        ("key", lambda: rn.random.key(-5)),
        ("addmm", lambda: rn.addmm(a, a, a, alpha=10**400)),
        ("new_stream", lambda: rn.new_stream(rn.cpu, big)),
    ]
    for exc, cases in ((TypeError, wrong_type), (ValueError, out_of_range)):
        for name, f in cases:
            with pytest.raises(exc, match=rf"^\[{name}\]"):
                f()
    # The same parameters still take what they took, numpy ints included
    # (on the CPU: these ops have no GPU kernel yet).
    with rn.stream(rn.cpu):
        assert rn.eye(np.int64(2), k=np.int32(1)).tolist() == [[0, 1], [0, 0]]
        assert rn.random.key(2**64 - 1).tolist() == [2**32 - 1, 2**32 - 1]
        assert rn.random.split(key, np.int8(3)).shape == (3, 2)
        assert rn.addmm(a, a, a, alpha=2, beta=np.float32(0.5)).shape == (2, 2)
    assert rn.new_stream(rn.cpu, np.int16(0)).device == rn.cpu
    assert rn.pad(a, 1, "constant").shape == (4, 4)
    assert rn.contiguous(a, allow_col_major=True).shape == (2, 2)
