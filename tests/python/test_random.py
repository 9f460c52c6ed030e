"""rn.random: MLX's API (seed, key, split, uniform, normal, randint,
bernoulli, bits), values that depend only on the key (every stream, thread
count and call), the global key state, ranges, dtypes, distributions and
errors.

Statistical checks draw with a fresh key each run (its seed is printed on
failure) and use bounds with a false-failure rate of about 1e-6 or less per
check: means and frequencies within 5.5 standard errors (two-sided 3.8e-8),
Kolmogorov-Smirnov distances below sqrt(ln(2 / 1e-6) / (2 n)), chi-square
statistics below the 1 - 1e-6 quantile (Wilson-Hilferty approximation).
"""

import math
import os
import subprocess
import sys

import numpy as np
import pytest

import runnel as rn

Z = 5.5
FLOATS = [rn.float16, rn.bfloat16, rn.float32, rn.float64]
INTS = [rn.uint8, rn.uint16, rn.uint32, rn.uint64, rn.int8, rn.int16, rn.int32, rn.int64]


@pytest.fixture
def key(rng):
    seed = int(rng.integers(0, 2**63))
    print(f"key seed {seed}")
    return rn.random.key(seed)


def np_values(a):
    return np.array(rn.astype(a, rn.float64, stream=rn.cpu))


def ks_distance(sample, cdf):
    x = np.sort(sample)
    n = len(x)
    f = cdf(x)
    i = np.arange(n)
    return max(np.max(f - i / n), np.max((i + 1) / n - f))


def ks_bound(n):
    return math.sqrt(math.log(2 / 1e-6) / (2 * n))


def chi2_bound(k):
    z, h = 4.753, 2.0 / (9.0 * k)
    return k * (1 - h + z * math.sqrt(h)) ** 3


def normal_cdf(x):
    erfc = np.vectorize(math.erfc)
    return 0.5 * erfc(-x / math.sqrt(2))


def test_key_and_known_answer():
    k = rn.random.key(0x0123456789ABCDEF)
    assert k.dtype == rn.uint32 and k.shape == (2,)
    assert np.array(k).tolist() == [0x01234567, 0x89ABCDEF]
    # Threefry-2x32-20 of counter (0, 0) under key (0, 0) (Random123's
    # known-answer vectors).
    bits = rn.random.bits((2,), key=rn.random.key(0), stream=rn.cpu)
    assert np.array(bits).tolist() == [0x6B200159, 0x99BA4EFE]


def test_split_and_bits(key):
    with rn.stream(rn.cpu):
        w = np.array(rn.random.bits((10,), 4, key))
        ks = rn.random.split(key, 5)
        assert ks.shape == (5, 2) and ks.dtype == rn.uint32
        assert np.array(ks).ravel().tolist() == w.tolist()
        assert np.array(rn.random.split(key)).ravel().tolist() == w[:4].tolist()
        b8 = rn.random.bits((7,), 1, key=key)
        assert b8.dtype == rn.uint8
        assert np.array(b8).tolist() == list(w.view(np.uint8)[:7])
        b16 = rn.random.bits((3,), width=2, key=key)
        assert b16.dtype == rn.uint16
        assert np.array(b16).tolist() == list(w.view(np.uint16)[:3])
        assert rn.random.split(key, 0).shape == (0, 2)


def test_import_forms():
    import runnel.random
    from runnel.random import uniform

    assert runnel.random is rn.random
    assert uniform is rn.random.uniform
    for f in ["seed", "key", "split", "uniform", "normal", "randint", "bernoulli", "bits"]:
        assert getattr(rn.random, f).__doc__


def test_same_values_on_every_stream(key):
    s1, s2 = rn.new_stream(rn.cpu), rn.new_stream(rn.cpu)
    for make in [
        lambda s: rn.random.uniform(shape=(301, 517), key=key, stream=s),
        lambda s: rn.random.normal((1000,), rn.float64, key=key, stream=s),
        lambda s: rn.random.randint(-5, 1000, (999,), rn.int16, key=key, stream=s),
        lambda s: rn.random.bernoulli(0.3, (999,), key=key, stream=s),
    ]:
        np.testing.assert_array_equal(np.array(make(s1)), np.array(make(s2)))
    a = np.array(rn.random.uniform(shape=(64,), key=key, stream=s1))
    other = rn.array(np.array(key) ^ np.uint32(1))
    b = np.array(rn.random.uniform(shape=(64,), key=other, stream=s1))
    assert not np.array_equal(a, b)


CHILD = """
import hashlib, sys
import numpy as np
import runnel as rn
k = rn.random.key(int(sys.argv[1]))
with rn.stream(rn.cpu):
    outs = [rn.random.uniform(shape=(777, 1001), key=k),
            rn.random.normal((500_000,), rn.float64, key=k),
            rn.random.randint(0, 2**30, (300_000,), rn.int64, key=k),
            rn.random.bits((1 << 20,), key=k)]
    h = hashlib.sha256()
    for o in outs:
        h.update(np.array(o).tobytes())
print(h.hexdigest())
"""


def test_same_values_for_every_thread_count(rng):
    seed = str(int(rng.integers(0, 2**63)))
    sums = set()
    for threads in ["1", "2", "5"]:
        env = dict(os.environ, RUNNEL_CPU_THREADS=threads)
        out = subprocess.run([sys.executable, "-c", CHILD, seed], env=env,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        sums.add(out.stdout.strip())
    assert len(sums) == 1, sums


def test_global_state():
    with rn.stream(rn.cpu):
        rn.random.seed(42)
        a1 = np.array(rn.random.uniform(shape=(100,)))
        a2 = np.array(rn.random.uniform(shape=(100,)))
        assert not np.array_equal(a1, a2)
        rn.random.seed(42)
        np.testing.assert_array_equal(np.array(rn.random.uniform(shape=(100,))), a1)
        np.testing.assert_array_equal(np.array(rn.random.uniform(shape=(100,))), a2)
        # Each call takes the second key of split(state); the first is the
        # new state.
        state, k1 = np.array(rn.random.split(rn.random.key(42)))
        k2 = np.array(rn.random.split(rn.array(state)))[1]
        np.testing.assert_array_equal(
            np.array(rn.random.uniform(shape=(100,), key=rn.array(k1))), a1)
        np.testing.assert_array_equal(
            np.array(rn.random.uniform(shape=(100,), key=rn.array(k2))), a2)
        # Every op without a key advances it.
        rn.random.seed(3)
        draws = [np.array(f()) for f in [
            lambda: rn.random.normal((5,)), lambda: rn.random.randint(0, 9, (5,)),
            lambda: rn.random.bernoulli(0.5, (5,)), lambda: rn.random.bits((5,))]]
        rn.random.seed(3)
        again = [np.array(f()) for f in [
            lambda: rn.random.normal((5,)), lambda: rn.random.randint(0, 9, (5,)),
            lambda: rn.random.bernoulli(0.5, (5,)), lambda: rn.random.bits((5,))]]
        for x, y in zip(draws, again):
            np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("d", FLOATS, ids=str)
def test_uniform_range_and_dtype(d, key):
    u = rn.random.uniform(-3, 5, (20_000,), d, key, stream=rn.cpu)
    assert u.dtype == d and u.shape == (20_000,)
    v = np_values(u)
    assert v.min() >= -3 and v.max() < 5
    assert abs(v.mean() - 1.0) < Z * 8 / math.sqrt(12 * len(v)) + 0.01
    # Rounding up to high is kept below it.
    w = np_values(rn.random.uniform(0, 2048, (20_000,), d, key, stream=rn.cpu))
    assert w.max() < 2048


def test_uniform_array_bounds_broadcast(key, rng):
    lo = rng.uniform(-10, 10, (3, 1)).astype(np.float32)
    hi = lo + rng.uniform(0.001, 5, (3, 1)).astype(np.float32)
    u = np.array(rn.random.uniform(rn.array(lo), rn.array(hi), (3, 500), key=key,
                                   stream=rn.cpu))
    assert np.all(u >= lo) and np.all(u < hi)
    # A float64 bound given as a Python float keeps its value.
    u = np.array(rn.random.uniform(0.1, 0.1 + 1e-12, (100,), rn.float64, key,
                                   stream=rn.cpu))
    assert np.all(u >= 0.1) and np.all(u < 0.1 + 1e-12)


@pytest.mark.parametrize("d", [rn.float32, rn.float64], ids=str)
def test_uniform_distribution(d, key):
    n = 200_000
    v = np_values(rn.random.uniform(shape=(n,), dtype=d, key=key, stream=rn.cpu))
    assert abs(v.mean() - 0.5) < Z * math.sqrt(1 / 12 / n)
    assert abs(v.var(ddof=1) - 1 / 12) < Z * math.sqrt((1 / 80 - 1 / 144) / n)
    assert ks_distance(v, lambda x: x) < ks_bound(n)


@pytest.mark.parametrize("d", [rn.float32, rn.float64], ids=str)
def test_normal_distribution(d, key):
    n = 200_000
    v = np_values(rn.random.normal((n,), d, key=key, stream=rn.cpu))
    assert abs(v.mean()) < Z * math.sqrt(1 / n)
    assert abs(v.var(ddof=1) - 1) < Z * math.sqrt(2 / n)
    assert ks_distance(v, normal_cdf) < ks_bound(n)
    assert np.abs(v).max() < 8.5


@pytest.mark.parametrize("d", FLOATS, ids=str)
def test_normal_loc_scale_dtypes(d, key):
    n = 20_000
    v = np_values(rn.random.normal((n,), d, 3.0, 0.5, key, stream=rn.cpu))
    assert rn.random.normal((2,), d, key=key, stream=rn.cpu).dtype == d
    assert abs(v.mean() - 3.0) < Z * 0.5 / math.sqrt(n) + 0.01
    assert abs(v.std() - 0.5) < Z * 0.5 / math.sqrt(2 * n) + 0.01
    loc = rn.array([[100.0], [-100.0]])
    scale = rn.array([[1.0], [0.001]])
    r = np_values(rn.random.normal((2, 10_000), rn.float32, loc, scale, key,
                                   stream=rn.cpu))
    assert abs(r[0].mean() - 100) < Z / 100
    assert abs(r[1].mean() + 100) < Z * 0.001 / 100 + 1e-5


@pytest.mark.parametrize("d", INTS, ids=str)
def test_randint_range_every_dtype(d, key):
    r = rn.random.randint(3, 17, (10_000,), d, key, stream=rn.cpu)
    assert r.dtype == d
    v = np.array(r).astype(np.int64)
    assert v.min() == 3 and v.max() == 16


def test_randint_bounds(key):
    with rn.stream(rn.cpu):
        v = np.array(rn.random.randint(-1000, 1000, (50_000,), rn.int8, key))
        assert v.min() == -128 and v.max() == 127  # clipped to the dtype
        v = np.array(rn.random.randint(0, 256, (50_000,), rn.uint8, key))
        assert v.min() == 0 and v.max() == 255
        assert np.all(np.array(rn.random.randint(5, 5, (10,), key=key)) == 5)
        lo, hi = rn.array([[0], [100]]), rn.array([[2], [103]])
        w = np.array(rn.random.randint(lo, hi, (2, 500), key=key))
        assert np.all((w[0] >= 0) & (w[0] < 2)) and np.all((w[1] >= 100) & (w[1] < 103))
        big = np.array(rn.random.randint(-(2**63), 2**63 - 1, (1000,), rn.int64, key))
        assert abs((big < 0).sum() - 500) < Z * math.sqrt(250)


@pytest.mark.parametrize("lo,hi,d", [(0, 10, rn.int32), (-3, 4, rn.int8),
                                     (0, 256, rn.uint8), (1000, 1097, rn.int64)])
def test_randint_chi_square(lo, hi, d, key):
    n, k = 200_000, hi - lo
    v = np.array(rn.random.randint(lo, hi, (n,), d, key, stream=rn.cpu)).astype(np.int64)
    counts = np.bincount(v - lo, minlength=k)
    e = n / k
    assert ((counts - e) ** 2 / e).sum() < chi2_bound(k - 1)


@pytest.mark.parametrize("d", FLOATS, ids=str)
def test_bernoulli_frequencies(d, key):
    n = 100_000
    for p in [0.0, 0.1, 0.5, 0.97, 1.0]:
        pa = rn.astype(rn.array(p), d)
        b = rn.random.bernoulli(pa, (n,), key, stream=rn.cpu)
        assert b.dtype == rn.bool_
        pt = float(np_values(pa))
        f = np.array(b).mean()
        assert abs(f - pt) <= Z * math.sqrt(pt * (1 - pt) / n) + 1e-12


def test_bernoulli_shapes(key):
    with rn.stream(rn.cpu):
        assert rn.random.bernoulli(key=key).shape == ()
        assert rn.random.bernoulli().dtype == rn.bool_
        b = np.array(rn.random.bernoulli(rn.array([0.0, 1.0]), key=key))
        assert b.tolist() == [False, True]
        c = np.array(rn.random.bernoulli(rn.array([[0.0], [1.0]]), (2, 50), key))
        assert not c[0].any() and c[1].all()


def test_zero_size_and_scalars(key):
    with rn.stream(rn.cpu):
        assert rn.random.uniform(key=key).shape == ()
        assert 0 <= rn.random.uniform(key=key).item() < 1
        for f in [lambda: rn.random.uniform(shape=(4, 0), key=key),
                  lambda: rn.random.normal((0,), key=key),
                  lambda: rn.random.randint(0, 3, (0, 2), key=key),
                  lambda: rn.random.bernoulli(0.5, (0,), key),
                  lambda: rn.random.bits((0,), key=key)]:
            assert np.array(f()).size == 0


def test_errors(key):
    with rn.stream(rn.cpu):
        with pytest.raises(ValueError, match=r"\[uniform\]"):
            rn.random.uniform(shape=(2,), key=rn.array([1, 2]))
        with pytest.raises(ValueError, match=r"\[uniform\]"):
            rn.random.uniform(shape=(2,), dtype=rn.int32, key=key)
        with pytest.raises(ValueError, match=r"\[uniform\]"):
            rn.random.uniform(rn.zeros((3,)), 1, (2,), key=key)
        with pytest.raises(ValueError, match=r"\[uniform\]"):
            rn.random.uniform(shape=(-1,), key=key)
        with pytest.raises(TypeError, match=r"\[uniform\]"):
            rn.random.uniform(key=[1, 2])
        with pytest.raises(ValueError, match=r"\[normal\]"):
            rn.random.normal((2,), rn.int8, key=key)
        with pytest.raises(ValueError, match=r"\[randint\]"):
            rn.random.randint(0, 5, (2,), rn.float32, key)
        with pytest.raises(ValueError, match=r"\[randint\]"):
            rn.random.randint(0, 5, (2,), rn.bool_, key)
        with pytest.raises(ValueError, match=r"\[bernoulli\]"):
            rn.random.bernoulli(1, (2,), key)
        with pytest.raises(ValueError, match=r"\[bernoulli\]"):
            rn.random.bernoulli(rn.array([0.5, 0.5]), (3,), key)
        with pytest.raises(ValueError, match=r"\[split\]"):
            rn.random.split(rn.array([1, 2, 3], rn.uint32))
        with pytest.raises(ValueError, match=r"\[bits\]"):
            rn.random.bits((2,), 3, key)
        with pytest.raises(TypeError):
            rn.random.uniform(stream="cpu")
