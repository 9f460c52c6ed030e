"""Stream promises under faults: a failure reaches the user once per stream
slot, and never again from a slot once an array of it raised it."""
import numpy as np
import pytest

import runnel as rn


@pytest.fixture
def fault():
    yield rn._testing.set_fault
    rn._testing.set_fault("")


def test_error_raised_by_item_is_not_raised_again_by_synchronize(fault):
    rng = np.random.default_rng()
    s = rn.new_stream(rn.cpu)
    x = rn.array(rng.standard_normal(16).astype(np.float32))
    m = rn.multiply(x, x, stream=s)
    fault("op:multiply:1")
    with pytest.raises(RuntimeError, match=r"\[multiply\] injected failure"):
        rn.sum(m, stream=s).item()
    rn.synchronize(s)  # reported through the array: not raised again
    rn.synchronize(rn.cpu)
    rn.synchronize()
    # The array keeps raising it: its value does not exist.
    with pytest.raises(RuntimeError, match=r"\[multiply\] injected failure"):
        m.tolist()
    with pytest.raises(RuntimeError, match=r"\[multiply\] injected failure"):
        np.array(m)
    rn.synchronize(s)
    # The stream is usable.
    y = rn.add(x, 1.0, stream=s)
    np.testing.assert_allclose(np.array(y), np.array(x) + 1.0, rtol=1e-6)


def test_unwaited_error_is_raised_once_by_the_first_synchronize(fault):
    rng = np.random.default_rng()
    s = rn.new_stream(rn.cpu)
    x = rn.array(rng.standard_normal(16).astype(np.float32))
    m = rn.multiply(x, x, stream=s)
    fault("op:multiply:1")
    rn.async_eval(m)
    with pytest.raises(RuntimeError, match=r"\[multiply\] injected failure"):
        rn.synchronize(rn.cpu)
    rn.synchronize(s)
    rn.synchronize(rn.cpu)
