"""The fast path (Cython + BLAS) against the textbook loops of convlab.reference, no torch needed."""
import itertools

import numpy as np
import pytest

import convlab.nn.functional as F
from convlab import reference as ref
from helpers import assert_close

CONV_CASES = [
    # nd, size, kernel, stride, padding, dilation, groups
    (1, (11,), (3,), 1, 0, 1, 1),
    (1, (12,), (4,), 3, 2, 2, 2),
    (2, (7, 9), (3, 2), (2, 1), (1, 0), (1, 2), 1),
    (2, (6, 6), (3, 3), 1, 1, 1, 4),             # depthwise (C_in = groups = 4)
    (2, (5, 8), (1, 1), 2, 0, 1, 2),
    (3, (4, 5, 6), (2, 3, 2), (1, 2, 2), (1, 0, 1), (2, 1, 1), 2),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nd,size,kernel,stride,padding,dilation,groups", CONV_CASES)
def test_conv_matches_reference(rng, dtype, nd, size, kernel, stride, padding, dilation, groups):
    c_in, c_out, n = 4, 8, 2
    x = rng.standard_normal((n, c_in, *size)).astype(dtype)
    w = rng.standard_normal((c_out, c_in // groups, *kernel)).astype(dtype)
    b = rng.standard_normal(c_out).astype(dtype)
    conv = getattr(F, f"conv{nd}d")
    got = conv(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
    want = ref.conv_nd(x.astype(np.float64), w.astype(np.float64), b, stride, padding, dilation, groups)
    assert_close(got, want, dtype, reduction=w[0].size)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_padding_modes_match_reference(rng, mode, nd):
    import convlab.nn as nn
    m = nn.__dict__[f"Conv{nd}d"](2, 3, 3, padding=2, padding_mode=mode, dtype=np.float64)
    x = rng.standard_normal((2, 2) + (5, 4, 3)[:nd])
    want = ref.conv_nd(x, m.weight, m.bias, 1, 2, 1, 1, padding_mode=mode)
    assert_close(m(x), want, np.float64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nd,size,kernel,stride,padding,output_padding,dilation,groups", [
    (1, (7,), (3,), 2, 1, 1, 1, 1),
    (1, (5,), (4,), 3, 0, 2, 2, 2),
    (2, (4, 5), (3, 2), (2, 1), (1, 0), (1, 0), (1, 2), 2),
    (2, (3, 3), (2, 2), 2, 0, 0, 1, 1),                      # stride == kernel: no overlap
    (3, (3, 4, 2), (2, 3, 2), (2, 1, 2), (0, 1, 1), (1, 0, 0), (1, 1, 2), 1),
])
def test_conv_transpose_matches_reference(rng, dtype, nd, size, kernel, stride, padding, output_padding,
                                          dilation, groups):
    c_in, c_out, n = 4, 6, 2
    x = rng.standard_normal((n, c_in, *size)).astype(dtype)
    w = rng.standard_normal((c_in, c_out // groups, *kernel)).astype(dtype)
    b = rng.standard_normal(c_out).astype(dtype)
    convt = getattr(F, f"conv_transpose{nd}d")
    got = convt(x, w, b, stride=stride, padding=padding, output_padding=output_padding, groups=groups,
                dilation=dilation)
    want = ref.conv_transpose_nd(x.astype(np.float64), w.astype(np.float64), b, stride, padding, output_padding,
                                 groups, dilation)
    assert_close(got, want, dtype, reduction=w[:, 0].size)


@pytest.mark.parametrize("kernel,dilation,padding,stride", [
    ((2, 3), 1, 0, 1), (3, (2, 1), 1, 2), ((1, 2), 1, (0, 2), (3, 1)), (2, 2, 2, 2),
])
def test_unfold_fold_match_reference(rng, kernel, dilation, padding, stride):
    x = rng.standard_normal((2, 3, 7, 8))
    cols = F.unfold(x, kernel, dilation, padding, stride)
    assert_close(cols, ref.unfold_nd(x, kernel, dilation, padding, stride), np.float64)
    back = F.fold(cols, (7, 8), kernel, dilation, padding, stride)
    assert_close(back, ref.fold_nd(cols, (7, 8), kernel, dilation, padding, stride), np.float64)


def test_fold_is_adjoint_of_unfold(rng):
    """<unfold(x), y> == <x, fold(y)>: col2im is im2col's transpose, checked without any oracle."""
    x = rng.standard_normal((2, 3, 9, 7))
    args = dict(kernel_size=(3, 2), dilation=(1, 2), padding=(1, 1), stride=(2, 1))
    cols = F.unfold(x, **args)
    y = rng.standard_normal(cols.shape)
    np.testing.assert_allclose(np.vdot(cols, y), np.vdot(x, F.fold(y, (9, 7), **args)), rtol=1e-12)


def test_reference_pad_index_against_numpy_pad():
    x = np.arange(5.0)
    for mode, npmode in [("reflect", "reflect"), ("replicate", "edge"), ("circular", "wrap")]:
        want = np.pad(x, 3, mode=npmode)
        got = [x[ref.pad_index(i, 5, mode)] for i in range(-3, 8)]
        np.testing.assert_array_equal(got, want)
