"""Test helpers shared by the test modules: the optional torch oracle, tolerance-aware comparison, and the
fixtures a module imports to run every test at every SIMD level (``simd_level``) or to set convlab's thread
count (``threads``).

(Kept out of conftest.py: tests/browser has a conftest of its own, and two modules both
named ``conftest`` cannot both be imported by name.)
"""
import numpy as np
import pytest

import convlab
from convlab import _kernels

try:
    import torch
except ImportError:  # the parity tests skip; the golden-array tests still run
    torch = None

requires_torch = pytest.mark.skipif(torch is None, reason="PyTorch 2.13 (the parity oracle) is not installed")


def tol(dtype, reduction=1):
    """Relative tolerance for a result summed over ``reduction`` products."""
    if np.dtype(dtype) == np.float64:
        return 1e-10
    return 1e-5 * max(1.0, np.sqrt(reduction) / 4)


def assert_close(actual, expected, dtype, reduction=1):
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    assert actual.dtype == np.dtype(dtype), (actual.dtype, dtype)
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=tol(dtype, reduction), atol=tol(dtype, reduction) * scale)


@pytest.fixture(autouse=True, params=_kernels.simd_levels())
def simd_level(request):
    """Every test of a module that imports this fixture, at every SIMD level this CPU runs (the active one is
    restored after)."""
    before = _kernels.set_simd_level(request.param)
    try:
        yield request.param
    finally:
        _kernels.set_simd_level(before)


@pytest.fixture
def threads():
    """``convlab.set_num_threads``, with the thread count restored after the test."""
    before = convlab.get_num_threads()
    yield convlab.set_num_threads
    convlab.set_num_threads(before)


def run_in_threads(work, count):
    """Run ``work(i)`` for i < count in that many Python threads at once; return when all have ended."""
    import threading
    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
