"""rn.finfo and rn.iinfo against numpy's (ml_dtypes' for bfloat16), and
against runnel's own arithmetic."""

import numpy as np
import pytest

import runnel as rn

ml_dtypes = pytest.importorskip("ml_dtypes")

FLOATS = [rn.float16, rn.bfloat16, rn.float32, rn.float64]
INTS = [rn.uint8, rn.uint16, rn.uint32, rn.uint64, rn.int8, rn.int16, rn.int32, rn.int64]


def reference_finfo(d):
    if d == rn.bfloat16:
        return ml_dtypes.finfo(ml_dtypes.bfloat16)
    return np.finfo(str(d).removeprefix("runnel."))


@pytest.mark.parametrize("d", FLOATS, ids=str)
def test_finfo_matches_numpy(d):
    f = rn.finfo(d)
    ref = reference_finfo(d)
    assert f.dtype == d
    for field in ["bits", "nmant", "nexp", "iexp", "maxexp", "minexp", "machep",
                  "negep", "precision"]:
        assert getattr(f, field) == int(getattr(ref, field)), field
    for field in ["eps", "epsneg", "max", "min", "tiny", "smallest_normal",
                  "smallest_subnormal", "resolution"]:
        got, want = getattr(f, field), float(getattr(ref, field))
        assert isinstance(got, float), field
        assert got == want, (field, got, want)
    assert str(d) in repr(f)


@pytest.mark.parametrize("d", FLOATS, ids=str)
def test_finfo_values_hold_in_runnel_arithmetic(d):
    f = rn.finfo(d)
    with rn.stream(rn.cpu):
        one = rn.array(1.0, d)
        assert rn.add(one, rn.array(f.eps, d)).item() == 1.0 + f.eps
        assert rn.add(one, rn.array(f.eps / 2, d)).item() == 1.0  # ties to even
        big = rn.array(f.max, d)
        assert big.item() == f.max and rn.array(f.min, d).item() == f.min
        assert rn.multiply(big, 2).item() == float("inf")
        assert rn.array(f.tiny, d).item() == f.tiny
        sub = rn.array(f.smallest_subnormal, d)
        assert sub.item() == f.smallest_subnormal
        assert rn.multiply(sub, 0.25).item() == 0.0


@pytest.mark.parametrize("d", INTS, ids=str)
def test_iinfo_matches_numpy(d):
    i = rn.iinfo(d)
    ref = np.iinfo(str(d).removeprefix("runnel."))
    assert (i.min, i.max, i.bits, i.kind) == (int(ref.min), int(ref.max), ref.bits, ref.kind)
    assert isinstance(i.min, int) and isinstance(i.max, int)
    assert i.dtype == d and str(d) in repr(i)
    with rn.stream(rn.cpu):
        # (A Python int past int64 is rejected by rn.array: numpy carries it.)
        top = rn.array(np.array(i.max, dtype=str(d).removeprefix("runnel.")))
        assert top.dtype == d and top.item() == i.max
        assert rn.array(i.min, d).item() == i.min
        # Wrapping at the limits, as numpy.
        assert rn.add(top, 1).item() == i.min


def test_info_of_an_array_uses_its_dtype():
    assert rn.finfo(rn.array(1.0)).dtype == rn.float32
    assert rn.iinfo(rn.array(1)).max == 2**31 - 1


def test_info_errors():
    with pytest.raises(ValueError, match=r"\[finfo\] int32"):
        rn.finfo(rn.int32)
    with pytest.raises(ValueError, match=r"\[finfo\] bool"):
        rn.finfo(rn.bool_)
    with pytest.raises(ValueError, match=r"\[iinfo\] float32"):
        rn.iinfo(rn.float32)
    with pytest.raises(ValueError, match=r"\[iinfo\] bool"):
        rn.iinfo(rn.bool_)
    with pytest.raises(TypeError, match=r"\[finfo\]"):
        rn.finfo("float32")
    with pytest.raises(TypeError, match=r"\[iinfo\]"):
        rn.iinfo(np.int32)
