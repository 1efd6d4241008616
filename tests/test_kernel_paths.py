"""Every kernel path (direct loop, fused im2col+GEMM, 1x1 matmul, transposed GEMM+col2im), forced in turn,
against the reference loops: the size thresholds that pick a path must never change a result."""
import numpy as np
import pytest

import convlab
import convlab.nn as nn
from convlab import reference as ref
from convlab.ops import conv as conv_ops
from helpers import assert_close

PATHS = {
    "direct": dict(DIRECT_MAX_MACS=10**12, PARALLEL_MIN_MACS=0),
    "gemm": dict(DIRECT_MAX_MACS=0, PARALLEL_MIN_MACS=0),
    "gemm-tiny-tiles": dict(DIRECT_MAX_MACS=0, PARALLEL_MIN_MACS=0, WORKSPACE_BYTES=1, MIN_TILE_COLUMNS=1),
    "serial": dict(DIRECT_MAX_MACS=0, PARALLEL_MIN_MACS=10**12),
}


@pytest.fixture(params=list(PATHS))
def path(request, monkeypatch):
    for name, value in PATHS[request.param].items():
        monkeypatch.setattr(conv_ops, name, value)
    return request.param


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nd,size,kernel,stride,padding,dilation,groups,mode", [
    (1, (13,), 3, 2, 1, 2, 2, "zeros"),
    (1, (9,), 4, 1, "same", 1, 1, "reflect"),
    (2, (7, 9), (3, 2), (2, 1), (2, 1), (1, 2), 1, "replicate"),
    (2, (6, 7), 3, 1, 2, 1, 4, "circular"),                 # depthwise
    (2, (6, 5), 1, 1, 0, 1, 1, "zeros"),                    # 1x1 stride 1
    (2, (6, 5), 1, 2, 0, 1, 2, "zeros"),                    # 1x1 strided, grouped
    (3, (4, 5, 6), (2, 3, 2), (1, 2, 1), (1, 1, 0), (2, 1, 3), 2, "reflect"),
])
def test_conv_paths_match_reference(rng, path, threads, dtype, nd, size, kernel, stride, padding, dilation, groups,
                                    mode):
    before = convlab.get_num_threads()
    convlab.set_num_threads(threads)
    try:
        m = getattr(nn, f"Conv{nd}d")(4, 8, kernel, stride=stride, padding=padding, dilation=dilation, groups=groups,
                                      padding_mode=mode, dtype=dtype)
        x = rng.standard_normal((3, 4, *size)).astype(dtype)
        if padding == "same":
            total = [d * (k - 1) for d, k in zip(m.dilation, m.kernel_size)]
            pad = tuple((t // 2, t - t // 2) for t in total)
        else:
            pad = m.padding
        want = ref.conv_nd(x.astype(np.float64), m.weight.astype(np.float64), m.bias, m.stride, pad, m.dilation,
                           groups, padding_mode=mode)
        assert_close(m(x), want, dtype, reduction=m.weight[0].size)
    finally:
        convlab.set_num_threads(before)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nd,size,kernel,stride,padding,output_padding,dilation,groups", [
    (1, (7,), 3, 2, 1, 1, 1, 2),
    (2, (5, 4), (3, 2), (2, 3), (1, 0), (1, 2), (1, 2), 1),
    (2, (4, 4), 2, 2, 0, 0, 1, 4),                      # stride == kernel: no overlap, depthwise
    (3, (3, 4, 2), 2, (1, 2, 2), (0, 1, 0), (0, 1, 1), (2, 1, 1), 2),
])
def test_conv_transpose_paths_match_reference(rng, monkeypatch, threads, dtype, nd, size, kernel, stride, padding,
                                              output_padding, dilation, groups):
    monkeypatch.setattr(conv_ops, "PARALLEL_MIN_MACS", 0)
    monkeypatch.setattr(conv_ops, "WORKSPACE_BYTES", 1)      # one input row per tile: many tiles
    monkeypatch.setattr(conv_ops, "MIN_TILE_COLUMNS", 1)
    before = convlab.get_num_threads()
    convlab.set_num_threads(threads)
    try:
        m = getattr(nn, f"ConvTranspose{nd}d")(4, 8, kernel, stride=stride, padding=padding,
                                               output_padding=output_padding, dilation=dilation, groups=groups,
                                               dtype=dtype)
        x = rng.standard_normal((3, 4, *size)).astype(dtype)
        want = ref.conv_transpose_nd(x.astype(np.float64), m.weight.astype(np.float64), m.bias, m.stride, m.padding,
                                     m.output_padding, groups, m.dilation)
        assert_close(m(x), want, dtype, reduction=m.weight[:, 0].size)
    finally:
        convlab.set_num_threads(before)


def test_gemm_path_leaves_blas_threads_as_they_were():
    from convlab.ops._blas import _scipy_blas_controllers
    before = [c.num_threads for c in _scipy_blas_controllers()]
    nn.Conv2d(16, 16, 3)(np.ones((4, 16, 32, 32), dtype=np.float32))
    assert [c.num_threads for c in _scipy_blas_controllers()] == before


@pytest.mark.parametrize("mode", ["zeros", "reflect"])
def test_nonfinite_weights_on_every_path_like_torch(path, mode):
    """An inf weight times a zero-padding cell is NaN in torch; every path must agree on where NaN/inf land."""
    from helpers import torch
    if torch is None:
        pytest.skip("PyTorch 2.13 (the parity oracle) is not installed")
    x = np.random.default_rng(3).standard_normal((2, 4, 6, 5))
    for groups in (1, 4):
        m = nn.Conv2d(4, 8, 3, padding=2, groups=groups, padding_mode=mode, dtype=np.float64)
        m.weight[0, 0, 0, 0] = np.inf
        m.weight[3, 0, 1, 2] = np.nan
        t = torch.nn.Conv2d(4, 8, 3, padding=2, groups=groups, padding_mode=mode).double()
        t.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in m.state_dict().items()})
        with np.errstate(invalid="ignore"):
            got = m(x)
        want = t(torch.from_numpy(x)).detach().numpy()
        for test in (np.isnan, np.isposinf, np.isneginf):
            np.testing.assert_array_equal(test(got), test(want), err_msg=f"{test.__name__} groups={groups}")
