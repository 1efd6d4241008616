"""conv_wgrad_direct: the float32 weight gradient of a layer with stride 1 along rows, computed without columns
or BLAS on AVX-512 (x86-64-v4) CPUs. Checked against the reference loops (unfold + a float64 product) and torch
on the shapes where its blocks of channels, taps and 16-lane chunks are partial; the same result on 1 and 2
threads; inf and NaN in grad_output where the GEMM path puts them; the planner's rule; the checks that stand
before the unchecked inner loop."""
import math

import numpy as np
import pytest

import convlab.nn.grad as G
from convlab import _kernels
from convlab import reference as ref
from convlab.ops import conv as conv_ops
from helpers import assert_close, threads, torch  # noqa: F401 (fixture)

pytestmark = pytest.mark.skipif("x86-64-v4" not in _kernels.simd_levels(),
                                reason="conv_wgrad_direct runs at x86-64-v4 only (this CPU has no AVX-512)")


@pytest.fixture(autouse=True)
def at_v4():
    before = _kernels.set_simd_level("x86-64-v4")
    yield
    _kernels.set_simd_level(before)


def _expand(v, nd):
    return (v,) * nd if isinstance(v, int) else tuple(v)


def _reference_grad(x, go, weight_size, stride, padding, dilation, groups):
    """gw[g*og + o, i, t] = sum over samples and output cells of go * unfold(x), in float64."""
    nd = x.ndim - 2
    c_out, cg = weight_size[:2]
    kernel = weight_size[2:]
    cols = ref.unfold_nd(x.astype(np.float64), kernel, dilation, padding, stride)  # (N, C_in * K, L)
    og, k = c_out // groups, math.prod(kernel)
    g64 = go.astype(np.float64).reshape(go.shape[0], c_out, -1)
    out = np.empty((c_out, cg * k))
    for g in range(groups):
        out[g * og:(g + 1) * og] = np.einsum("nol,nil->oi", g64[:, g * og:(g + 1) * og],
                                             cols[:, g * cg * k:(g + 1) * cg * k])
    assert nd == len(kernel)
    return out.reshape(weight_size)


def _case(rng, n, c_in, c_out, size, kernel, stride, padding, dilation, groups):
    nd = len(size)
    kernel, stride, padding, dilation = (_expand(v, nd) for v in (kernel, stride, padding, dilation))
    blocks = [(s + 2 * p - d * (k - 1) - 1) // st + 1
              for s, k, st, p, d in zip(size, kernel, stride, padding, dilation)]
    x = rng.standard_normal((n, c_in, *size)).astype(np.float32)
    go = rng.standard_normal((n, c_out, *blocks)).astype(np.float32)
    return x, go, (c_out, c_in // groups) + kernel, kernel, stride, padding, dilation, tuple(blocks)


# each case makes some block of cl_wgrad_f partial (the comment says which)
CASES = [
    (1, 16, 16, (9, 10, 16), 3, 1, 1, 1, 1),            # 3-d, full blocks, one chunk of 16 lanes
    (2, 5, 7, (6, 19, 37), 3, (2, 1, 1), 1, 1, 1),      # odd channels: lone last input, 3 of 4 output channels
    (2, 6, 9, (13, 17), (3, 5), (2, 1), (1, 2), (2, 1), 3),  # groups; 5 taps a row: blocks of 3 + 2
    (3, 4, 4, (40,), 7, 1, 3, 2, 2),                    # 1-d, dilated 7-tap rows: 3 + 3 + 1
    (2, 3, 5, (8, 33), (1, 4), 1, (0, 2), 1, 1),        # 33 columns: chunks of 16 + 16 + 1
    (1, 2, 1, (5, 16), 1, 1, 0, 1, 1),                  # 1x1, one output channel
    (2, 8, 12, (4, 15), 3, 1, 4, 1, 1),                 # padding wider than the kernel: rows of padding only
    (1, 3, 3, (6, 6), 3, 1, 1, 1, 3),                   # depthwise
    (2, 4, 8, (3, 5, 31), (2, 3, 2), (1, 2, 1), (1, 0, 1), (2, 1, 3), 2),  # 3-d, every axis different
]


@pytest.mark.parametrize("nthreads", [1, 2])
@pytest.mark.parametrize("n,c_in,c_out,size,kernel,stride,padding,dilation,groups", CASES)
def test_wgrad_direct_matches_reference_and_torch(rng, monkeypatch, threads, nthreads, n, c_in, c_out, size, kernel,
                                                  stride, padding, dilation, groups):
    monkeypatch.setattr(conv_ops, "WGRAD_DIRECT_MIN_LANE_USE", 0.0)
    monkeypatch.setattr(conv_ops, "WGRAD_DIRECT_MAX_NARROW", 10**9)
    monkeypatch.setattr(conv_ops, "PARALLEL_MIN_MACS", 0)
    threads(nthreads)
    x, go, wsize, kernel, stride, padding, dilation, blocks = _case(rng, n, c_in, c_out, size, kernel, stride,
                                                                    padding, dilation, groups)
    assert conv_ops._wgrad_direct_ok(x, kernel, stride, padding, dilation, blocks, c_out // groups,
                                     c_in // groups * math.prod(kernel))
    nd = len(size)
    got = getattr(G, f"conv{nd}d_weight")(x, wsize, go, stride=stride, padding=padding, dilation=dilation,
                                          groups=groups)
    want = _reference_grad(x, go, wsize, stride, padding, dilation, groups)
    reduction = n * math.prod(blocks)
    assert got.shape == wsize and got.dtype == np.float32
    assert_close(got, want, np.float32, reduction=reduction)
    if torch is not None:
        t = getattr(torch.nn.grad, f"conv{nd}d_weight")(torch.from_numpy(x), wsize, torch.from_numpy(go),
                                                       stride=stride, padding=padding, dilation=dilation,
                                                       groups=groups).numpy()
        assert_close(got, t, np.float32, reduction=reduction)


def test_wgrad_direct_same_result_on_any_thread_count(rng, monkeypatch, threads):
    """Threads split the (4 output, 2 input channel) blocks, each written by one thread: bit for bit equal."""
    monkeypatch.setattr(conv_ops, "PARALLEL_MIN_MACS", 0)
    x, go, wsize, kernel, stride, padding, dilation, blocks = _case(rng, 2, 10, 14, (5, 6, 32), 3, 1, 1, 1, 1)
    results = []
    for count in (1, 2, 3):
        threads(count)
        results.append(G.conv3d_weight(x, wsize, go, padding=1))
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])


@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan])
def test_wgrad_direct_nonfinite_grad_output_like_the_gemm_path(rng, monkeypatch, value):
    """The GEMM path multiplies grad_output by the padding's zeros (inf * 0 is NaN); the direct kernel loads
    zeros there too (rows outside the input included), so NaN and inf land in the same weights."""
    x, go, wsize, *_ = _case(rng, 1, 16, 16, (6, 16), 3, 1, 1, 1, 1)
    go[0, 0, 0, 0] = value
    go[0, 5, 5, 15] = np.nan
    with np.errstate(invalid="ignore"):
        got = G.conv2d_weight(x, wsize, go, padding=1)
        monkeypatch.setattr(conv_ops, "WGRAD_DIRECT", False)
        want = G.conv2d_weight(x, wsize, go, padding=1)
    assert np.isnan(want).any() and np.isfinite(want).any()
    for test in (np.isnan, np.isposinf, np.isneginf):
        np.testing.assert_array_equal(test(got), test(want), err_msg=test.__name__)
    finite = np.isfinite(want)
    assert_close(got[finite], want[finite], np.float32, reduction=6 * 16)


@pytest.mark.parametrize("dtype,size,kernel,stride,c_in,c_out,taken", [
    (np.float32, (8, 16), 3, 1, 3, 64, True),       # 16 columns: every lane used; 3 * 9 = 27 input taps
    (np.float32, (8, 14), 3, 1, 64, 32, True),      # 14 of 16 lanes; 32 output channels
    (np.float32, (8, 12), 3, 1, 64, 16, True),      # 12 of 16: the lane threshold (0.75)
    (np.float32, (8, 11), 3, 1, 64, 16, False),     # 11 of 16
    (np.float32, (8, 20), 3, 1, 64, 16, False),     # 20 of 32
    (np.float32, (8, 16), 3, 1, 64, 33, False),     # 33 outputs and 576 input taps: a wide GEMM
    (np.float32, (8, 16), (2, 4), 1, 4, 64, True),  # 4 * 8 = 32 input taps: the narrow threshold
    (np.float32, (8, 16), 3, 1, 4, 64, False),      # 4 * 9 = 36
    (np.float64, (8, 16), 3, 1, 3, 64, False),      # float64: the GEMM path
    (np.float32, (8, 32), 3, (1, 2), 3, 64, False), # stride 2 along rows
    (np.float32, (8, 32), 3, (2, 1), 3, 64, True),  # stride 2 across rows only
])
def test_wgrad_direct_rule(dtype, size, kernel, stride, c_in, c_out, taken):
    nd = len(size)
    kernel, stride, padding, dilation = (_expand(v, nd) for v in (kernel, stride, 1, 1))
    padding = tuple((k - 1) // 2 for k in kernel)
    blocks = tuple((s + 2 * p - (k - 1) - 1) // st + 1 for s, k, st, p in zip(size, kernel, stride, padding))
    x = np.zeros((1, c_in, *size), dtype=dtype)
    ok = conv_ops._wgrad_direct_ok(x, kernel, stride, padding, dilation, blocks, c_out, c_in * math.prod(kernel))
    assert ok is taken
    if dtype == np.float32 and stride[-1] == 1:         # the gradient itself, by whichever path, against torch
        rng = np.random.default_rng(3)
        x = rng.standard_normal((2, c_in, *size)).astype(np.float32)
        go = rng.standard_normal((2, c_out, *blocks)).astype(np.float32)
        got = G.conv2d_weight(x, (c_out, c_in) + kernel, go, stride=stride, padding=padding)
        want = _reference_grad(x, go, (c_out, c_in) + kernel, stride, padding, dilation, 1)
        assert_close(got, want, np.float32, reduction=2 * math.prod(blocks))


def test_wgrad_direct_checks_before_its_loops(rng):
    """Shapes that would make the unchecked loop read or write out of bounds are a ValueError."""
    x = rng.standard_normal((1, 4, 1, 5, 16)).astype(np.float32)
    go = np.zeros((1, 6, 1, 5, 16), dtype=np.float32)
    args = ((1, 3, 3), (1, 1, 1), (0, 1, 1), (1, 1, 1), 1)
    gw = np.zeros((6, 4, 9), dtype=np.float32)
    _kernels.conv_wgrad_direct(x, go, gw, *args)
    want = _reference_grad(x[:, :, 0], go[:, :, 0], (6, 4, 3, 3), 1, 1, 1, 1).reshape(6, 4, 9)
    assert_close(gw, want, np.float32, reduction=80)
    with pytest.raises(ValueError, match="stride"):
        _kernels.conv_wgrad_direct(x, go, gw, (1, 3, 3), (1, 1, 2), (0, 1, 1), (1, 1, 1), 1)
    with pytest.raises(ValueError, match="is not the output"):
        _kernels.conv_wgrad_direct(x, go[..., :15].copy(), gw, *args)
    with pytest.raises(ValueError, match="is not the output"):
        _kernels.conv_wgrad_direct(x, np.zeros((2, 6, 1, 5, 16), np.float32), gw, *args)
    with pytest.raises(ValueError, match="gw must be"):
        _kernels.conv_wgrad_direct(x, go, np.zeros((6, 4, 8), np.float32), *args)
    with pytest.raises(ValueError, match="groups"):
        _kernels.conv_wgrad_direct(x, go, gw, (1, 3, 3), (1, 1, 1), (0, 1, 1), (1, 1, 1), 4)
    with pytest.raises(ValueError, match="padding"):
        _kernels.conv_wgrad_direct(x, go, gw, (1, 3, 3), (1, 1, 1), (0, -1, 1), (1, 1, 1), 1)
    before = _kernels.set_simd_level("x86-64-v3")
    try:
        with pytest.raises(RuntimeError, match="x86-64-v4"):
            _kernels.conv_wgrad_direct(x, go, gw, *args)
    finally:
        _kernels.set_simd_level(before)


@pytest.mark.parametrize("slab", [1, 3, 7, 10**6])
@pytest.mark.parametrize("nthreads", [1, 2])
def test_wgrad_direct_slabs_of_rows(rng, slab, nthreads):
    """Slabs of 1 row, of rows that straddle two samples (3 and 7 of 2 x 5 x 4 rows) and of every row: the sums
    reduced once per slab add up to the same gradient."""
    x = rng.standard_normal((2, 6, 5, 4, 17)).astype(np.float32)
    go = rng.standard_normal((2, 8, 5, 4, 17)).astype(np.float32)
    gw = np.zeros((8, 6, 27), dtype=np.float32)
    _kernels.conv_wgrad_direct(x, go, gw, (3, 3, 3), (1, 1, 1), (1, 1, 1), (1, 1, 1), 1, slab, nthreads)
    want = _reference_grad(x, go, (8, 6, 3, 3, 3), 1, 1, 1, 1).reshape(8, 6, 27)
    assert_close(gw, want, np.float32, reduction=2 * 5 * 4 * 17)
