"""matmul, addmm and the @ operator against numpy on fresh random data: every
dtype, numpy's shape rules (1-d operands, batch broadcasting), 0-size
arrays, mixed dtypes, Python scalars, stream= forms and errors.

Floats are compared with numpy's product of the same inputs computed in
float64, within the standard dot-product bound 2 K u sum|a||b| plus half an
ulp of the output (u: float32's unit roundoff for float32 and the half
types, which accumulate in float32; float64's for float64). Integers are
exact and wrap as numpy's do; bool is an or of ands.
"""

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


def random(rng, d, shape):
    nd = np_dtype(d)
    if d == rn.bool_:
        return rng.random(shape) < 0.3
    if nd.kind in "iu":
        info = np.iinfo(nd)
        return rng.integers(info.min, info.max, size=shape, dtype=nd, endpoint=True)
    return rng.uniform(-2, 2, size=shape).astype(nd)


ACC_EPS = {rn.float16: 2.0**-24, rn.bfloat16: 2.0**-24, rn.float32: 2.0**-24,
           rn.float64: 2.0**-53}
OUT_EPS = {rn.float16: 2.0**-11, rn.bfloat16: 2.0**-8, rn.float32: 2.0**-24,
           rn.float64: 2.0**-53}


def reference(x, y, d):
    """numpy's product in d's semantics, and the error bound for floats."""
    nd = np_dtype(d)
    if d == rn.bool_:
        return np.matmul(x, y), None
    if nd.kind in "iu":
        # Wrapping products, as numpy's integer matmul.
        with np.errstate(over="ignore"):
            return np.matmul(x, y), None
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    want = np.matmul(x64, y64)
    k = x.shape[-1]
    bound = 2 * k * ACC_EPS[d] * np.matmul(np.abs(x64), np.abs(y64))
    bound += OUT_EPS[d] * np.abs(want) * 1.0001 + 1e-300
    return want, bound


def check(out, x, y, d):
    want, bound = reference(x, y, d)
    got = np.array(out)
    assert got.shape == want.shape
    if bound is None:
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    else:
        err = np.abs(got.astype(np.float64) - want)
        assert np.all(err <= bound), f"max error {err.max()} > bound"


SHAPES = [
    ((5, 7), (7, 3)),
    ((1, 1), (1, 1)),
    ((7,), (7, 3)),
    ((4, 7), (7,)),
    ((7,), (7,)),
    ((3, 4, 7), (7,)),
    ((6,), (2, 6, 5)),
    ((2, 1, 4, 6), (3, 6, 5)),
    ((3, 4, 6), (1, 6, 5)),
    ((70, 150), (150, 133)),
]


@pytest.mark.parametrize("d", ALL_DTYPES, ids=str)
def test_matmul_matches_numpy_every_dtype(d, rng):
    for sa, sb in SHAPES:
        x, y = random(rng, d, sa), random(rng, d, sb)
        out = rn.matmul(rn.array(x, d), rn.array(y, d), stream=rn.cpu)
        assert out.dtype == d
        check(out, x, y, d)


@pytest.mark.parametrize("d", [rn.float32, rn.float64, rn.int32], ids=str)
def test_matmul_operator(d, rng):
    x, y = random(rng, d, (4, 6)), random(rng, d, (6, 3))
    with rn.stream(rn.cpu):
        a, b = rn.array(x, d), rn.array(y, d)
        check(a @ b, x, y, d)
        if d != rn.float64:  # (float64 numpy data converts to float32)
            check(a @ y, x, y, d)  # numpy operands convert
    with pytest.raises(TypeError):
        a @ "x"


def test_matmul_large_float32_tiles(rng):
    x = rng.standard_normal((513, 301)).astype(np.float32)
    y = rng.standard_normal((301, 700)).astype(np.float32)
    check(rn.matmul(rn.array(x), rn.array(y), stream=rn.cpu), x, y, rn.float32)


def test_matmul_promotes_and_takes_scalars_weakly(rng):
    with rn.stream(rn.cpu):
        a = rn.array(rng.integers(-5, 5, (3, 4)).astype(np.int32))
        b = rn.array(rng.standard_normal((4, 2)).astype(np.float32))
        assert rn.matmul(a, b).dtype == rn.float32
        assert rn.matmul(rn.array([1, 2], rn.uint8), rn.array([1, 2], rn.int8)).dtype == rn.int16
        h = rn.array(np.ones((2, 2), np.float16))
        assert (h @ rn.array(np.ones((2, 2)), rn.float64)).dtype == rn.float64
        with pytest.raises(ValueError, match=r"\[matmul\]"):
            rn.matmul(h, 2.0)  # a scalar is 0-d


def test_matmul_zero_sizes():
    with rn.stream(rn.cpu):
        z = rn.matmul(rn.zeros((3, 0)), rn.zeros((0, 4)))
        np.testing.assert_array_equal(np.array(z), np.zeros((3, 4), np.float32))
        zi = rn.matmul(rn.ones((2, 0), rn.int64), rn.ones((0, 2), rn.int64))
        np.testing.assert_array_equal(np.array(zi), np.zeros((2, 2), np.int64))
        assert rn.matmul(rn.zeros((0, 5)), rn.zeros((5, 4))).shape == (0, 4)
        assert rn.matmul(rn.zeros((3, 5)), rn.zeros((5, 0))).shape == (3, 0)
        assert rn.matmul(rn.zeros((0, 3, 5)), rn.zeros((5, 2))).shape == (0, 3, 2)
        assert rn.matmul(rn.zeros((0,)), rn.zeros((0,))).item() == 0.0


def test_matmul_errors():
    with rn.stream(rn.cpu):
        with pytest.raises(ValueError, match=r"\[matmul\]"):
            rn.matmul(rn.array(1.0), rn.ones((2,)))
        with pytest.raises(ValueError, match=r"\[matmul\]"):
            rn.matmul(rn.ones((2, 3)), rn.ones((4, 2)))
        with pytest.raises(ValueError, match=r"\[matmul\]"):
            rn.ones((2, 3)) @ rn.ones((2, 3))
        with pytest.raises(ValueError, match=r"\[matmul\]"):
            rn.matmul(rn.ones((2, 2, 3)), rn.ones((3, 3, 2)))
        with pytest.raises(TypeError):
            rn.matmul(rn.ones((2, 2)), rn.ones((2, 2)), stream="cpu")


@pytest.mark.parametrize("d", [rn.float16, rn.bfloat16, rn.float32, rn.float64], ids=str)
def test_addmm_matches_numpy(d, rng):
    nd = np_dtype(d)
    x = rng.uniform(-1, 1, (6, 9)).astype(nd)
    y = rng.uniform(-1, 1, (9, 5)).astype(nd)
    for c_shape in [(6, 5), (5,), (6, 1), ()]:
        c = rng.uniform(-1, 1, c_shape).astype(nd)
        for alpha, beta in [(1.0, 1.0), (0.5, -2.0), (-1.5, 0.0)]:
            out = rn.addmm(rn.array(c, d), rn.array(x, d), rn.array(y, d),
                           alpha, beta, stream=rn.cpu)
            assert out.dtype == d
            prod, bound = reference(x, y, d)
            want = alpha * prod + beta * c.astype(np.float64)
            tol = abs(alpha) * bound + OUT_EPS[d] * 4 * (np.abs(want) + abs(beta))
            err = np.abs(np.array(out).astype(np.float64) - want)
            assert np.all(err <= tol), (c_shape, alpha, beta, err.max())


def test_addmm_beta_zero_ignores_c_and_errors():
    with rn.stream(rn.cpu):
        c = rn.full((2, 2), float("nan"))
        out = rn.addmm(c, rn.ones((2, 3)), rn.ones((3, 2)), beta=0.0)
        assert np.array(out).tolist() == [[3.0, 3.0], [3.0, 3.0]]
        out = rn.addmm(rn.ones((2,)), rn.ones((2, 3)), rn.ones((3, 2)), alpha=2.0)
        assert np.array(out).tolist() == [[7.0, 7.0], [7.0, 7.0]]
        with pytest.raises(ValueError, match=r"\[addmm\]"):
            rn.addmm(rn.ones((2, 2), rn.int32), rn.ones((2, 2), rn.int32),
                     rn.ones((2, 2), rn.int32))
        with pytest.raises(ValueError, match=r"\[addmm\]"):
            rn.addmm(rn.ones((3, 2)), rn.ones((2, 2)), rn.ones((2, 2)))


def test_matmul_stream_forms(rng):
    x = rng.standard_normal((8, 8)).astype(np.float32)
    a = rn.array(x)
    for s in [rn.cpu, rn.Device(rn.cpu), rn.new_stream(rn.cpu)]:
        check(rn.matmul(a, a, stream=s), x, x, rn.float32)
