"""Every kernel path (direct loop, fused im2col+GEMM, 1x1 matmul, transposed GEMM+col2im), forced in turn,
against the reference loops: the size thresholds that pick a path must never change a result.

Every test here runs once per SIMD level this CPU can run (``_kernels.simd_levels()``; the ``simd_level``
fixture), so the baseline, x86-64-v3 and x86-64-v4 copies of the inner loops are each checked against the
reference; a level the CPU lacks is reported by ``test_every_simd_level_of_the_build_is_tested``."""
import hashlib
import math

import numpy as np
import pytest

import convlab
import convlab.nn as nn
from convlab import _kernels
from convlab import reference as ref
from convlab.ops import conv as conv_ops
from helpers import assert_close, run_in_threads, simd_level, torch  # noqa: F401 (simd_level: every level)

PATHS = {
    # non-depthwise layers: direct loop / GEMM per tile / several samples per GEMM; depthwise layers:
    # padded-plane kernel ("direct", "gemm", ...) or channels-last kernel ("gemm-batched" forces it)
    "direct": dict(DIRECT_MAX_MACS=10**12, TINY_MAX_MACS=0, PARALLEL_MIN_MACS=0, DEPTHWISE_CL_MAX_PLANE=0,
                   DEPTHWISE_CL_STRIDED=False, DEPTHWISE_CL_ROWS_MIN_KW=10**9),
    "gemm": dict(DIRECT_MAX_MACS=0, PARALLEL_MIN_MACS=0, BATCH_COLUMNS=0, ROWS_KERNEL=False),
    "gemm-batched": dict(DIRECT_MAX_MACS=0, PARALLEL_MIN_MACS=0, WORKSPACE_BYTES=10**9, BATCH_COLUMNS=10**9,
                         BATCH_MAX_LENGTH=10**9, BATCH_ROWS=False,
                         DEPTHWISE_CL_MAX_PLANE=10**9, DEPTHWISE_CL_MIN_CHANNELS=1, ROWS_KERNEL=False),
    # ... the batched samples' GEMM by cl_gemm_rows, each sample's sums stored straight into the output (float32;
    # at every level here, the planner's only at BATCH_ROWS_LEVELS)
    "gemm-rows-batched": dict(DIRECT_MAX_MACS=0, PARALLEL_MIN_MACS=0, WORKSPACE_BYTES=10**9, BATCH_COLUMNS=10**9,
                              BATCH_MAX_LENGTH=10**9, BATCH_ROWS=True, BATCH_ROWS_LEVELS=_kernels.simd_levels(),
                              BATCH_ROWS_MAX_DEPTH=10**9, ROWS_KERNEL=False),
    # layers without im2col (conv_rows, phase planes when strided): whole planes per task, and one or two
    # rows per task
    "rows": dict(DIRECT_MAX_MACS=0, PARALLEL_MIN_MACS=0, ROWS_MAX_CHANNELS=10**9),
    "rows-short-tasks": dict(DIRECT_MAX_MACS=0, PARALLEL_MIN_MACS=0, ROWS_MAX_CHANNELS=10**9, WORKSPACE_BYTES=4096),
    # (the tests' layers have at most 8 output channels per group: cl_gemm_small's GEMMs by default, BLAS's
    # with SMALL_GEMM_MAX_ROWS=0)
    "gemm-tiny-tiles": dict(DIRECT_MAX_MACS=0, PARALLEL_MIN_MACS=0, WORKSPACE_BYTES=1, MIN_TILE_COLUMNS=1,
                            SMALL_GEMM_MAX_ROWS=0, ROWS_KERNEL=False),
    "gemm-blas-batched": dict(DIRECT_MAX_MACS=0, PARALLEL_MIN_MACS=0, WORKSPACE_BYTES=10**9, BATCH_COLUMNS=10**9,
                              BATCH_MAX_LENGTH=10**9, BATCH_ROWS=False,
                              SMALL_GEMM_MAX_ROWS=0, ROWS_KERNEL=False),
    "serial": dict(DIRECT_MAX_MACS=0, PARALLEL_MIN_MACS=10**12),
    # 3x3 stride-1 layers by Winograd F(2x2, 3x3) / F(4x4, 3x3), one tile row per task (other layers fall
    # through to the GEMM)
    "winograd": dict(DIRECT_MAX_MACS=0, PARALLEL_MIN_MACS=0, WINOGRAD_MIN_CHANNELS=1, WINOGRAD_MIN_PLANE=1,
                     WINOGRAD_MIN_THREAD_CELLS=0, WINOGRAD4_MIN_PLANE=10**9, WINOGRAD_TASK_BYTES=1,
                     WINOGRAD_MIN_TASK_TILES=0, WINOGRAD_MIN_GEMM_TILES=0, WINOGRAD_YIELD_LEVELS=()),
    # ... tasks of 5 tiles or more (whole tile rows, across samples and depths): the budget holds none
    "winograd-wide-tasks": dict(DIRECT_MAX_MACS=0, PARALLEL_MIN_MACS=0, WINOGRAD_MIN_CHANNELS=1, WINOGRAD_MIN_PLANE=1,
                                WINOGRAD_MIN_THREAD_CELLS=0, WINOGRAD4_MIN_PLANE=10**9, WINOGRAD_TASK_BYTES=1,
                                WINOGRAD_MIN_TASK_TILES=0, WINOGRAD_MIN_GEMM_TILES=5, WINOGRAD_WIDE_GEMM_TILES=5,
                                WINOGRAD_YIELD_LEVELS=()),
    # zero-padded 2-d/3-d layers as bands of output rows, each with the kernel rows that reach the input
    "row-bands": dict(DIRECT_MAX_MACS=0, PARALLEL_MIN_MACS=0, ROW_BANDS_MIN_SAVING=0, MIN_TILE_COLUMNS=1),
    "winograd4": dict(DIRECT_MAX_MACS=0, PARALLEL_MIN_MACS=0, WINOGRAD_MIN_CHANNELS=1, WINOGRAD_MIN_PLANE=1,
                      WINOGRAD_MIN_THREAD_CELLS=0, WINOGRAD4_MIN_PLANE=1, WINOGRAD4_FLOAT32=True,
                      WINOGRAD_TASK_BYTES=1, WINOGRAD_MIN_TASK_TILES=0, WINOGRAD_MIN_GEMM_TILES=0,
                      WINOGRAD_YIELD_LEVELS=()),
}


@pytest.fixture(params=list(PATHS))
def path(request, monkeypatch):
    for name, value in PATHS[request.param].items():
        monkeypatch.setattr(conv_ops, name, value)
    return request.param


def _reference_padding(m):
    """A module's padding as the reference loops take it: 'same' as (left, right) per axis (the extra cell of an
    even reach on the right, as torch pads), else the module's ints."""
    if m.padding != "same":
        return m.padding
    return tuple((t // 2, t - t // 2) for t in (d * (k - 1) for d, k in zip(m.dilation, m.kernel_size)))


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nd,size,kernel,stride,padding,dilation,groups,mode", [
    (1, (13,), 3, 2, 1, 2, 2, "zeros"),
    (1, (9,), 4, 1, "same", 1, 1, "reflect"),
    (2, (7, 9), (3, 2), (2, 1), (2, 1), (1, 2), 1, "replicate"),
    (2, (6, 7), 3, 1, 2, 1, 4, "circular"),                 # depthwise
    (2, (6, 5), 1, 1, 0, 1, 1, "zeros"),                    # 1x1 stride 1
    (2, (6, 5), 1, 2, 0, 1, 2, "zeros"),                    # 1x1 strided, grouped
    (3, (4, 5, 6), 1, (2, 1, 2), 0, 1, 1, "zeros"),         # 1x1x1 strided: a tile's rows across depth planes
    (3, (4, 5, 6), (2, 3, 2), (1, 2, 1), (1, 1, 0), (2, 1, 3), 2, "reflect"),
    (2, (7, 9), 3, 1, 1, 1, 1, "zeros"),                    # 3x3 stride 1: Winograd-eligible
    (2, (6, 5), 3, 1, "same", 1, 1, "reflect"),             # ... odd output width: clipped edge tiles
    (2, (5, 8), 3, 1, (2, 0), 1, 1, "replicate"),
    (2, (3, 3), 3, 1, 0, 1, 1, "zeros"),                    # ... a 1x1 output: one clipped tile
    (2, (10, 13), 3, 1, 1, 1, 1, "reflect"),                # ... several whole tiles per row
    (3, (3, 6, 7), (1, 3, 3), 1, (0, 2, 1), 1, 1, "circular"),   # ... depth as a batch axis
    (3, (4, 6, 7), 3, 1, 1, 1, 1, "zeros"),                 # 3x3x3: one 3x3 per depth tap, summed by the GEMMs
    (3, (5, 5, 6), 3, 1, (2, 1, 0), 1, 1, "reflect"),       # ... two reflected planes on each side
    (3, (3, 6, 5), 3, 1, (0, 1, 1), 1, 1, "replicate"),     # ... no depth padding: one output plane
    (3, (4, 5, 5), 3, 1, 1, 1, 1, "circular"),
    (3, (2, 5, 6), (1, 3, 3), 1, 1, 1, 1, "zeros"),         # (1, 3, 3) with depth padding: bias-only planes
    (2, (11, 9), 3, 2, 4, 3, 2, "zeros"),                   # dilated, strided, grouped: rows by kernel-row reach
    (2, (9, 10), 4, 1, "same", 3, 1, "zeros"),              # ... an even dilated kernel, padded unevenly
    (2, (3, 8), 3, 1, 5, 1, 1, "zeros"),                    # ... output rows that read only padding: the bias
])
def test_conv_paths_match_reference(rng, path, threads, dtype, nd, size, kernel, stride, padding, dilation, groups,
                                    mode):
    before = convlab.get_num_threads()
    convlab.set_num_threads(threads)
    try:
        m = getattr(nn, f"Conv{nd}d")(4, 8, kernel, stride=stride, padding=padding, dilation=dilation, groups=groups,
                                      padding_mode=mode, dtype=dtype)
        x = rng.standard_normal((3, 4, *size)).astype(dtype)
        pad = _reference_padding(m)
        want = ref.conv_nd(x.astype(np.float64), m.weight.astype(np.float64), m.bias, m.stride, pad, m.dilation,
                           groups, padding_mode=mode)
        got = m(x)
        assert_close(got, want, dtype, reduction=m.weight[0].size)
        if path.startswith("winograd") and m.kernel_size in ((3, 3), (1, 3, 3), (3, 3, 3)) \
                and set(m.stride) == {1} and set(m.dilation) == {1} and groups == 1:
            assert _plan_kind(m) == "_winograd_runner"
        if path == "row-bands" and mode == "zeros" and nd > 1 and m.kernel_size[-2] > 1 and pad[-2] != 0:
            assert _plan_kind(m) == "_banded_runner"
        lift = [(1,) * (3 - nd) + tuple(v) for v in (m.kernel_size, m.stride, m.dilation, got.shape[2:])]
        fits = _kernels.rows_workspace(4 // groups, *lift, 1) * x.itemsize <= conv_ops.WORKSPACE_BYTES
        if path.startswith("rows") and groups < 4 and math.prod(m.kernel_size) > 1 and fits:
            assert _plan_kind(m) == "_rows_runner"
        if path == "gemm-rows-batched" and groups < 4:
            (plan, _, _), = m._plans.values()
            assert _plan_kind(m) == "_gemm_runner" and (plan.run.samples > 1 or threads > 1)
            assert plan.run.batch_rows == (plan.run.samples > 1 and dtype == np.float32)
    finally:
        convlab.set_num_threads(before)


def _transpose_tiling(monkeypatch, tiling):
    """The transposed GEMM path's two tilings: "row-tiles", one input row per tile (many tiles); "batched", all
    samples' inputs side by side in one GEMM."""
    if tiling == "row-tiles":
        monkeypatch.setattr(conv_ops, "WORKSPACE_BYTES", 1)
        monkeypatch.setattr(conv_ops, "MIN_TILE_COLUMNS", 1)
        monkeypatch.setattr(conv_ops, "TRANSPOSE_BATCH_COLUMNS", 0)
    else:
        monkeypatch.setattr(conv_ops, "TRANSPOSE_BATCH_COLUMNS", 10**9)
        monkeypatch.setattr(conv_ops, "BATCH_MAX_LENGTH", 10**9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,groups,threads,length,kernel,stride,padding,dilation,mode,tile", [
    (1, 1, 2, 40, 3, 1, 1, 1, "zeros", 20),             # one sample: its row in two tiles of 20 cells
    (1, 1, 2, 41, 3, 1, 1, 1, "reflect", 21),           # ... 21 + 20: the last tile shorter
    (1, 1, 3, 40, 5, 2, 2, 1, "circular", 7),           # strided: 18 outputs, tiles of 7, 7, 4
    (1, 1, 2, 47, 4, 1, "same", 3, "replicate", 24),    # 'same', even dilated kernel: one more cell on the right
    (1, 1, 2, 30, 7, 1, 0, 1, "zeros", 12),             # no padding: the second tile starts inside the input
    (1, 2, 3, 33, 3, 2, 4, 2, "zeros", 10),             # 2 groups on 3 threads: each group's 19 cells as 10 + 9
    (1, 1, 2, 1, 3, 1, 1, 1, "zeros", 0),               # a one-cell row: nothing to split
    (2, 1, 2, 40, 3, 1, 1, 1, "zeros", 0),              # two samples feed both threads: whole rows
])
def test_conv1d_gemm_splits_one_row_into_column_tiles_for_idle_threads(
        rng, monkeypatch, dtype, n, groups, threads, length, kernel, stride, padding, dilation, mode, tile):
    """A 1-d output is one row per sample: with fewer samples x groups than threads, conv_gemm takes tiles of
    the row's cells (each a task: its columns' padding, then the GEMM into its part of the row). Every tile
    boundary, padding mode and the uneven 'same' padding give the reference's and torch's result, and one
    thread's within rounding (not the same bits: a GEMM's column blocks, and so its edge code, move with the
    tile's width)."""
    for name, value in PATHS["gemm"].items():
        monkeypatch.setattr(conv_ops, name, value)
    monkeypatch.setattr(conv_ops, "MIN_TILE_COLUMNS", 1)
    monkeypatch.setattr(conv_ops, "BLOCKED", False)
    c_in, c_out = 2 * groups, 3 * groups
    m = nn.Conv1d(c_in, c_out, kernel, stride=stride, padding=padding, dilation=dilation, groups=groups,
                  padding_mode=mode, dtype=dtype)
    x = rng.standard_normal((n, c_in, length)).astype(dtype)
    pad = _reference_padding(m)
    want = ref.conv_nd(x.astype(np.float64), m.weight.astype(np.float64), m.bias, m.stride, pad, m.dilation, groups,
                       padding_mode=mode)
    before = convlab.get_num_threads()
    try:
        convlab.set_num_threads(1)
        one = m(x)
        convlab.set_num_threads(threads)
        got = m(x)
        run = list(m._plans.values())[-1][0].run
        assert run.__qualname__.split(".")[0] == "_gemm_runner" and run.col_tile == tile
    finally:
        convlab.set_num_threads(before)
    assert_close(got, want, dtype, reduction=m.weight[0].size)
    assert_close(got, one, dtype, reduction=m.weight[0].size)
    if torch is not None:
        t = torch.nn.Conv1d(c_in, c_out, kernel, stride=stride, padding=padding, dilation=dilation, groups=groups,
                            padding_mode=mode).to(torch.float64 if dtype == np.float64 else torch.float32)
        t.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in m.state_dict().items()})
        with torch.no_grad():
            assert_close(got, t(torch.from_numpy(x)).numpy(), dtype, reduction=m.weight[0].size)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("c,k,dilation,padding,length", [(16, 3, 4, 8, 1000),     # TCN-like: conv_rows on 1 thread
                                                         (32, 7, 1, 3, 4000)])    # conv_blocked (float32; AVX-512,
                                                                                  # or AVX2 for k >= 5 at stride 1)
def test_conv1d_with_idle_threads_takes_gemm_column_tiles(rng, simd_level, dtype, c, k, dilation, padding, length):
    """conv_rows splits its work by samples, groups and output rows, conv_blocked by samples, pairs of 16-channel
    blocks and rows; a 1-d sample is one row, so one sample of a layer they take on one thread (up to 32 output
    channels: one pair) goes to the GEMM's column tiles on two."""
    m = nn.Conv1d(c, c, k, dilation=dilation, padding=padding, dtype=dtype)
    x = rng.standard_normal((1, c, length)).astype(dtype)
    want = ref.conv_nd(x.astype(np.float64), m.weight.astype(np.float64), m.bias, m.stride, m.padding, m.dilation, 1)
    alone = "_rows_runner" if c <= conv_ops.ROWS_MAX_CHANNELS else \
        "_blocked_runner" if simd_level in ("x86-64-v4", "x86-64-v3") and dtype == np.float32 else "_gemm_runner"
    before = convlab.get_num_threads()
    try:
        for threads, kind in ((1, alone), (2, "_gemm_runner")):
            convlab.set_num_threads(threads)
            got = m(x)
            run = list(m._plans.values())[-1][0].run           # (a plan per thread count)
            assert run.__qualname__.split(".")[0] == kind, threads
            assert_close(got, want, dtype, reduction=m.weight[0].size)
        assert run.col_tile == got.shape[-1] // 2                   # (even output lengths: two equal tiles)
    finally:
        convlab.set_num_threads(before)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nd,size,kernel,stride,padding,output_padding,dilation,groups", [
    (1, (7,), 3, 2, 1, 1, 1, 2),
    (2, (5, 4), (3, 2), (2, 3), (1, 0), (1, 2), (1, 2), 1),
    (2, (4, 4), 2, 2, 0, 0, 1, 4),                      # stride == kernel: no overlap, depthwise
    (2, (3, 4), 2, 2, 0, (1, 0), 1, 1),                 # no overlap + an output_padding tail to fill
    (1, (5,), 3, 3, 0, 2, 1, 2),
    (3, (2, 3, 2), (2, 1, 3), (2, 1, 3), 0, (1, 0, 2), 1, 1),
    (3, (3, 4, 2), 2, (1, 2, 2), (0, 1, 0), (0, 1, 1), (2, 1, 1), 2),
])
@pytest.mark.parametrize("tiling", ["row-tiles", "batched"])
def test_conv_transpose_paths_match_reference(rng, monkeypatch, tiling, threads, dtype, nd, size, kernel, stride,
                                              padding, output_padding, dilation, groups):
    monkeypatch.setattr(conv_ops, "PARALLEL_MIN_MACS", 0)
    _transpose_tiling(monkeypatch, tiling)
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


@pytest.mark.parametrize("tiling", ["row-tiles", "batched"])
@pytest.mark.parametrize("n,groups,og,threads,chunks", [
    (1, 1, 8, 2, 2),            # one sample: its 8 output channels as two runs of 4
    (1, 1, 5, 2, 2),            # uneven: 3 + 2
    (1, 1, 1, 2, 1),            # one output channel: nothing to split, one thread
    (1, 2, 3, 3, 2),            # 2 groups on 3 threads: each group's 3 channels as runs of 2 + 1
    (1, 1, 3, 4, 3),            # more threads than channels: one channel per run, 3 threads
    (2, 1, 6, 2, 1),            # two samples feed both threads already (but when in one GEMM: "batched")
])
def test_conv_transpose_splits_output_channels_when_samples_are_fewer_than_threads(
        rng, monkeypatch, tiling, n, groups, og, threads, chunks):
    """Fewer (sample block, group) tasks than threads: the GEMM + col2im path gives each thread a run of a
    group's output channels (bias included), and the result is the reference's and torch's, the same bits as on
    one thread (each cell's sum runs over the same taps in the same order, whoever computes it)."""
    monkeypatch.setattr(conv_ops, "PARALLEL_MIN_MACS", 0)
    monkeypatch.setattr(conv_ops, "TINY_MAX_MACS", 0)                # never the direct scatter of tiny layers
    _transpose_tiling(monkeypatch, tiling)
    if tiling == "batched":                                         # every sample's columns in one GEMM
        monkeypatch.setattr(conv_ops, "_samples_per_gemm", lambda n, groups, length, threads, columns=None: n)
        if n > 1:
            chunks = threads                                        # so two samples are one task to split
    c_in = 2 * groups
    m = nn.ConvTranspose2d(c_in, og * groups, (4, 3), stride=2, padding=1, output_padding=(1, 0), groups=groups)
    x = rng.standard_normal((n, c_in, 5, 6)).astype(np.float32)
    want = ref.conv_transpose_nd(x.astype(np.float64), m.weight.astype(np.float64), m.bias, m.stride, m.padding,
                                 m.output_padding, groups, m.dilation)
    before = convlab.get_num_threads()
    try:
        convlab.set_num_threads(1)
        one = m(x)
        convlab.set_num_threads(threads)
        plan = conv_ops.TransposePlan(x.shape, m.weight.shape, x.dtype, want.shape[2:], m.kernel_size, m.stride,
                                      m.padding, m.dilation, groups)
        assert (plan.run.channel_chunks, plan.run.threads) == (chunks, min(threads, n * groups * chunks))
        got = m(x)
    finally:
        convlab.set_num_threads(before)
    assert_close(got, want, np.float32, reduction=m.weight[:, 0].size)
    np.testing.assert_array_equal(got, one)
    if torch is not None:
        t = torch.nn.ConvTranspose2d(c_in, og * groups, (4, 3), stride=2, padding=1, output_padding=(1, 0),
                                     groups=groups)
        with torch.no_grad():
            t.weight.copy_(torch.from_numpy(m.weight))
            t.bias.copy_(torch.from_numpy(m.bias))
            assert_close(got, t(torch.from_numpy(x)).numpy(), np.float32, reduction=m.weight[:, 0].size)


# col2im at column stride 2 (cl_scatter2_f at x86-64-v4: all of an output row's taps in one pass, in chunks of 16
# output cells): kernel widths 1-9, paddings up to kernel - 1 (taps whose first or last cells fall outside the row),
# output rows of 1-35 cells (one chunk, a chunk and one cell, two full chunks, ...), output_padding (cells no tap
# reaches), both tilings (a tile's rows, all samples' columns side by side)
SCATTER2_CASES = [(kw, pw, width) for kw in range(1, 10) for pw in sorted({0, kw // 2, kw - 1})
                  for width in (1, 4, 7, 8, 9, 16, 17) if (width - 1) * 2 - 2 * pw + kw > 0]


@pytest.mark.parametrize("tiling", ["row-tiles", "batched"])
@pytest.mark.parametrize("kw,pw,width", SCATTER2_CASES)
def test_conv_transpose_column_stride_2_matches_reference_and_baseline(rng, monkeypatch, tiling, kw, pw, width):
    """Every SIMD level gives the reference's result, and the same bits as the baseline level (whose per-tap
    passes add in the order cl_scatter2_f keeps)."""
    monkeypatch.setattr(conv_ops, "PARALLEL_MIN_MACS", 0)
    monkeypatch.setattr(conv_ops, "TINY_MAX_MACS", 0)                # never the direct scatter of tiny layers
    _transpose_tiling(monkeypatch, tiling)
    out_w = (width - 1) * 2 - 2 * pw + kw
    op = 1 if out_w % 2 else 0                  # a cell no tap reaches on odd-width outputs
    m = nn.ConvTranspose2d(3, 5, (2, kw), stride=(1, 2), padding=(0, pw), output_padding=(0, op))
    x = rng.standard_normal((2, 3, 3, width)).astype(np.float32)
    want = ref.conv_transpose_nd(x.astype(np.float64), m.weight.astype(np.float64), m.bias, m.stride, m.padding,
                                 m.output_padding, 1, m.dilation)
    got = m(x)
    assert got.shape == want.shape
    assert_close(got, want, np.float32, reduction=m.weight[:, 0].size)
    level = _kernels.set_simd_level("baseline")
    try:
        np.testing.assert_array_equal(got, m(x))
    finally:
        _kernels.set_simd_level(level)


@pytest.mark.parametrize("kw,pw,width", [(3, 1, 17), (4, 1, 9), (2, 0, 16), (5, 4, 8)])
def test_fold_column_stride_2_matches_reference(rng, kw, pw, width):
    """F.fold (col2im) at column stride 2 at every SIMD level: the reference's sums of overlapping blocks."""
    import convlab.nn.functional as F
    out_size = (4, (width - 1) * 2 - 2 * pw + kw)
    blocks = 3 * width
    cols = rng.standard_normal((2, 2 * 2 * kw, blocks)).astype(np.float32)
    want = ref.fold_nd(cols.astype(np.float64), out_size, (2, kw), padding=(0, pw), stride=(1, 2))
    assert_close(F.fold(cols, out_size, (2, kw), padding=(0, pw), stride=(1, 2)), want, np.float32, reduction=4)


def _assert_matches_reference_with_and_without_bias(m, x, mode):
    """``m(x)`` against the reference loops, then again after ``m.bias = None``."""
    for _ in range(2):
        want = ref.conv_nd(x.astype(np.float64), m.weight.astype(np.float64), m.bias, m.stride, m.padding,
                           m.dilation, m.groups, padding_mode=mode)
        assert_close(m(x), want, x.dtype, reduction=m.weight[0].size)
        m.bias = None


@pytest.mark.parametrize("kernel_name", ["channels-last", "padded-plane"])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nd,size,kernel,stride,padding,dilation,multiplier,mode", [
    (2, (7, 7), 3, 1, 1, 1, 1, "zeros"),                     # MobileNet's 7x7 stage
    (2, (7, 6), 3, 1, 1, 1, 2, "zeros"),                     # channel multiplier 2
    (2, (9, 8), 3, 2, 1, 1, 1, "zeros"),                     # strided
    (2, (8, 9), (3, 2), (1, 2), (2, 1), (2, 1), 1, "reflect"),
    (2, (6, 7), 5, 1, 2, 1, 1, "circular"),
    (2, (5, 6), 3, (2, 1), 0, (1, 2), 1, "replicate"),
    (2, (5, 5), 3, 1, 4, 1, 1, "zeros"),                     # padding wider than the kernel needs
    (1, (17,), 3, 1, 1, 1, 1, "zeros"),
    (1, (20,), 4, 3, 2, 2, 3, "reflect"),
    (3, (4, 5, 6), 3, 1, 1, 1, 1, "zeros"),
    (3, (5, 4, 6), (2, 3, 2), (2, 1, 2), (1, 0, 1), (1, 1, 2), 1, "replicate"),
])
def test_depthwise_kernels_match_reference(rng, monkeypatch, kernel_name, threads, dtype, nd, size, kernel, stride,
                                           padding, dilation, multiplier, mode):
    """Both depthwise kernels (groups == in_channels), forced in turn, on every padding mode, against the loops."""
    monkeypatch.setattr(conv_ops, "DEPTHWISE_CL_MAX_PLANE", 10**9 if kernel_name == "channels-last" else 0)
    monkeypatch.setattr(conv_ops, "DEPTHWISE_CL_STRIDED", kernel_name == "channels-last")
    monkeypatch.setattr(conv_ops, "DEPTHWISE_CL_ROWS_MIN_KW", 0 if kernel_name == "channels-last" else 10**9)
    monkeypatch.setattr(conv_ops, "DEPTHWISE_CL_MIN_CHANNELS", 1)
    monkeypatch.setattr(conv_ops, "PARALLEL_MIN_MACS", 0)
    before = convlab.get_num_threads()
    convlab.set_num_threads(threads)
    try:
        c = 11                                              # not a multiple of any vector width
        m = getattr(nn, f"Conv{nd}d")(c, c * multiplier, kernel, stride=stride, padding=padding, dilation=dilation,
                                      groups=c, padding_mode=mode, dtype=dtype)
        x = rng.standard_normal((3, c, *size)).astype(dtype)
        _assert_matches_reference_with_and_without_bias(m, x, mode)
    finally:
        convlab.set_num_threads(before)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kw", [3, 5, 7])
@pytest.mark.parametrize("stride", [1, 2, (2, 1), (1, 2)])
@pytest.mark.parametrize("c,width,mode,dilation", [
    (11, 0, "zeros", 1),            # output rows exactly 7 wide (one block of cl_dwrow); 1 or 2 vectors + 3 lanes
    (8, 1, "reflect", 1),           # 8 wide: the second block overlaps the first by 6
    (40, 6, "circular", (2, 1)),    # 13 wide; dilated along the height only; 40 channels: 32 per task + 8
    (19, 7, "replicate", 1),        # 14 wide: two whole blocks
])
def test_depthwise_channels_last_by_rows_matches_reference(rng, monkeypatch, threads, dtype, kw, stride, c, width,
                                                            mode, dilation):
    """conv_depthwise_cl's register-blocked rows (cl_dwrow: kernel rows 3/5/7 wide at column stride 1 or 2),
    on output widths around its 7-position block, every padding mode, channel counts off the vector width."""
    monkeypatch.setattr(conv_ops, "PARALLEL_MIN_MACS", 0)
    monkeypatch.setattr(conv_ops, "DEPTHWISE_CL_MAX_PLANE", 10**9)
    monkeypatch.setattr(conv_ops, "DEPTHWISE_CL_MIN_CHANNELS", 1)
    sw = stride if isinstance(stride, int) else stride[1]
    pad = (1, kw // 2)
    size_w = (7 + width - 1) * sw + kw - 2 * pad[1]          # output width 7 + width
    before = convlab.get_num_threads()
    convlab.set_num_threads(threads)
    try:
        m = nn.Conv2d(c, c, (3, kw), stride=stride, padding=pad, dilation=dilation, groups=c, padding_mode=mode,
                      dtype=dtype)
        x = rng.standard_normal((2, c, 9, size_w)).astype(dtype)
        blocks = tuple(int(b) for b in m(x).shape[2:])
        assert blocks[1] == 7 + width
        assert _kernels.depthwise_cl_by_rows((1, 3, kw), (1,) + m.stride, (1,) + m.dilation, (1,) + blocks)
        _assert_matches_reference_with_and_without_bias(m, x, mode)
    finally:
        convlab.set_num_threads(before)


def test_depthwise_cl_by_rows_rule():
    """The planner's question, answered by the kernel's own rule: 3/5/7-wide undilated rows at column stride 1
    or 2 whose output rows are at least 7 wide."""
    yes = _kernels.depthwise_cl_by_rows
    assert yes((1, 5, 5), (1, 1, 1), (1, 1, 1), (1, 28, 28)) and yes((1, 3, 7), (1, 2, 2), (1, 2, 1), (1, 3, 7))
    assert not yes((1, 5, 5), (1, 1, 1), (1, 1, 1), (1, 28, 6))      # rows under 7 wide
    assert not yes((1, 5, 4), (1, 1, 1), (1, 1, 1), (1, 28, 28))     # 4-wide kernel rows
    assert not yes((1, 5, 5), (1, 1, 3), (1, 1, 1), (1, 28, 28))     # column stride 3
    assert not yes((1, 5, 5), (1, 1, 1), (1, 1, 2), (1, 28, 28))     # dilated along the row


def test_depthwise_channels_last_with_many_channels(rng, monkeypatch):
    """More channels than one task's block (64): blocks, a partial last block, and the vector tails."""
    monkeypatch.setattr(conv_ops, "PARALLEL_MIN_MACS", 0)
    assert conv_ops.DEPTHWISE_CL_MIN_CHANNELS <= 64 and conv_ops.DEPTHWISE_CL_MAX_PLANE >= 49
    for c in (64, 100, 133):
        m = nn.Conv2d(c, c, 3, padding=1, groups=c)
        x = rng.standard_normal((2, c, 7, 7)).astype(np.float32)
        want = ref.conv_nd(x.astype(np.float64), m.weight.astype(np.float64), m.bias, (1, 1), (1, 1), (1, 1), c)
        assert_close(m(x), want, np.float32, reduction=9)


def _cpu_flags():
    import platform
    import re
    if platform.system() != "Linux" or platform.machine() != "x86_64":
        return None
    text = open("/proc/cpuinfo").read()
    model = re.search(r"^model name\s*:(.*)$", text, re.M)
    flags = set(re.search(r"^flags\s*:(.*)$", text, re.M).group(1).split())
    return (model.group(1).strip() if model else "?"), flags


def _built_with_levels():
    """True if this build has the three x86-64 levels (GCC >= 12 on x86-64)."""
    import subprocess
    try:
        gcc = int(subprocess.run(["gcc", "-dumpversion"], capture_output=True, text=True).stdout.split(".")[0])
    except (OSError, ValueError):
        return False
    return gcc >= 12


V4_FLAGS = {"avx512f", "avx512bw", "avx512dq", "avx512vl"}


@pytest.mark.parametrize("level,flags", [("x86-64-v3", {"avx2", "fma", "bmi2", "movbe"}), ("x86-64-v4", V4_FLAGS)])
def test_every_simd_level_of_the_build_is_tested(level, flags):
    """The levels the CPU's flags allow are exactly the levels ``simd_levels()`` offers (so the tests above run
    each of them); the best is active by default. A level this CPU lacks is skipped, naming the CPU."""
    cpu = _cpu_flags()
    if cpu is None or not _built_with_levels():
        pytest.skip("the x86-64 levels exist only in GCC >= 12 builds on x86-64 (Linux to read the CPU's flags)")
    model, have = cpu
    assert "baseline" in _kernels.simd_levels()
    if not flags <= have:
        assert level not in _kernels.simd_levels()
        pytest.skip(f"{level} not tested: this CPU ({model}) lacks {', '.join(sorted(flags - have))}; "
                    f"it runs {', '.join(_kernels.simd_levels())}")
    assert level in _kernels.simd_levels()


def test_simd_path_follows_the_setter_and_each_level_runs_its_own_code():
    """``set_simd_level`` moves ``simd_path()``; the FMA probe proves each level's code was compiled for that
    level (a fused multiply-add keeps 2**-60, two roundings lose it). The default is the best level.
    (The loops were once cloned for "arch=haswell", dispatched on the CPU *model*: AMD and newer Intel cores
    silently ran the baseline; so the default is checked against the CPU's flags.)"""
    levels = _kernels.simd_levels()
    assert levels[0] == "baseline" and list(levels) == [v for v in _kernels.SIMD_LEVELS if v in levels]
    before = _kernels.simd_path()
    try:
        for level in levels:
            _kernels.set_simd_level(level)
            assert _kernels.simd_path() == level
            assert _kernels.simd_fma_probe() == (0.0 if level == "baseline" else 2.0 ** -60)
        assert _kernels.set_simd_level("best") == levels[-1] and _kernels.simd_path() == levels[-1]
    finally:
        _kernels.set_simd_level(before)
    cpu = _cpu_flags()
    if cpu is not None and _built_with_levels() and {"avx2", "fma"} <= cpu[1]:
        assert "x86-64-v3" in levels


def test_set_simd_level_refuses_levels_the_cpu_cannot_run():
    """An unknown name or a level this CPU lacks is a ValueError naming the CPU's levels; nothing changes."""
    before = _kernels.simd_path()
    levels = ", ".join(_kernels.simd_levels())
    with pytest.raises(ValueError, match=f"unknown level; this CPU runs {levels}"):
        _kernels.set_simd_level("avx9000")
    for level in _kernels.SIMD_LEVELS:
        if level not in _kernels.simd_levels():
            with pytest.raises(ValueError, match=f"{level}.*this CPU runs {levels}"):
                _kernels.set_simd_level(level)
    assert _kernels.simd_path() == before


@pytest.mark.parametrize("value", ["baseline", "x86-64-v3", "x86-64-v4", "best", "sse9", ""])
def test_convlab_simd_environment_variable(value):
    """``CONVLAB_SIMD`` picks the level at import; a level the CPU lacks or an unknown name warns (naming the
    CPU's levels) and keeps the best; a convolution runs either way (never an illegal instruction)."""
    import os
    import subprocess
    import sys
    code = ("import warnings, numpy as np; warnings.simplefilter('always')\n"
            "import convlab, convlab.nn as nn; from convlab import _kernels\n"
            "m = nn.Conv2d(16, 16, 3, padding=1, groups=16); m(np.ones((1, 16, 9, 9), np.float32))\n"
            "print(_kernels.simd_path())")
    env = dict(os.environ, CONVLAB_SIMD=value)
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    levels = _kernels.simd_levels()
    ok = value in levels or value in ("best", "")
    assert r.stdout.split() == [value if value in levels else levels[-1]]
    if ok:
        assert "CONVLAB_SIMD" not in r.stderr
    else:
        assert f"CONVLAB_SIMD={value}" in r.stderr and f"this CPU runs {', '.join(levels)}" in r.stderr


def test_gemm_path_leaves_blas_threads_as_they_were():
    from threadpoolctl import threadpool_info
    from convlab.ops import _blas
    from convlab import _kernels
    pinned = _blas._setup()[0]
    assert pinned or _kernels.blas_thread_controls() > 0, "no BLAS pinned around the kernels"
    before = [(i["filepath"], i["num_threads"]) for i in threadpool_info()]
    nn.Conv2d(16, 16, 3)(np.ones((4, 16, 32, 32), dtype=np.float32))
    assert [(i["filepath"], i["num_threads"]) for i in threadpool_info()] == before


@pytest.mark.parametrize("pin", ["kernels", "threadpoolctl"])
def test_blas_pinned_by_kernels_or_threadpoolctl_restores_thread_counts(monkeypatch, pin):
    """Either way of pinning the BLAS to one thread during a GEMM kernel leaves every library's count as it was."""
    from threadpoolctl import threadpool_info, threadpool_limits
    from convlab.ops import _blas
    monkeypatch.setenv("CONVLAB_BLAS_PIN", "threadpoolctl" if pin == "threadpoolctl" else "")
    monkeypatch.setattr(conv_ops, "DIRECT_MAX_MACS", 0)
    monkeypatch.setattr(_blas, "_state", None)
    try:
        with threadpool_limits(limits=2):
            before = [(i["filepath"], i["num_threads"]) for i in threadpool_info()]
            nn.Conv2d(8, 8, 3)(np.ones((2, 8, 12, 12), dtype=np.float32))
            nn.ConvTranspose2d(8, 8, 3)(np.ones((2, 8, 12, 12)))
            assert [(i["filepath"], i["num_threads"]) for i in threadpool_info()] == before
    finally:
        monkeypatch.setattr(_blas, "_state", None)
        monkeypatch.delenv("CONVLAB_BLAS_PIN")
        _blas._setup()


@pytest.mark.parametrize("backend", ["as-found", "scipy"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_both_blas_backends_match_reference(rng, monkeypatch, backend, dtype):
    """The GEMMs go through NumPy's bundled OpenBLAS when it is there, else SciPy's cython_blas: both agree."""
    from convlab import _kernels
    from convlab.ops import _blas
    _blas._setup()
    monkeypatch.setattr(conv_ops, "DIRECT_MAX_MACS", 0)
    try:
        if backend == "scipy":
            _kernels.set_blas_gemm(0, 0)
        for cls, args in ((nn.Conv2d, (6, 10, 3)), (nn.ConvTranspose2d, (6, 10, 3))):
            m = cls(*args, stride=2, padding=1, dtype=dtype)
            x = rng.standard_normal((3, 6, 9, 8)).astype(dtype)
            if cls is nn.Conv2d:
                want = ref.conv_nd(x.astype(np.float64), m.weight.astype(np.float64), m.bias, (2, 2), (1, 1), (1, 1), 1)
            else:
                want = ref.conv_transpose_nd(x.astype(np.float64), m.weight.astype(np.float64), m.bias, (2, 2),
                                             (1, 1), (0, 0), 1, (1, 1))
            assert_close(m(x), want, dtype, reduction=54)
    finally:
        state = _blas._state
        _blas._state = None
        _blas._setup()                          # restores the backend found at import
        assert _blas._state[1] == state[1]


def test_numpy_openblas_is_used_when_numpy_bundles_it():
    """NumPy's PyPI wheels on Linux bundle OpenBLAS (ILP64); convlab must find its ?gemm_64_ there."""
    import glob
    import os
    import platform
    from convlab.ops import _blas
    libs = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
    if platform.system() != "Linux" or not glob.glob(os.path.join(libs, "libscipy_openblas64_*")):
        pytest.skip("this NumPy does not bundle scipy-openblas64")
    if os.environ.get("CONVLAB_BLAS") == "scipy":
        pytest.skip("CONVLAB_BLAS=scipy asks for SciPy's BLAS")
    assert _blas.blas_backend() == "numpy-openblas"


@pytest.mark.parametrize("mode", ["zeros", "reflect"])
def test_nonfinite_weights_on_every_path_like_torch(path, mode):
    """An inf weight times a zero-padding cell is NaN in torch; every path must agree on where NaN/inf land."""
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


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("min_elements", [0, 10**12])
def test_unfold_fold_threaded_and_serial_match_reference(rng, monkeypatch, threads, min_elements):
    """im2col/col2im split (sample, channel) planes over threads above a size; both ways agree with the loops."""
    from convlab.nn import functional as F
    import importlib
    im2col_module = importlib.import_module("convlab.ops.step2_im2col")
    monkeypatch.setattr(im2col_module, "PARALLEL_MIN_ELEMENTS", min_elements)
    before = convlab.get_num_threads()
    convlab.set_num_threads(threads)
    try:
        x = rng.standard_normal((3, 5, 9, 8))
        cols = F.unfold(x, (3, 2), dilation=(1, 2), padding=1, stride=(2, 1))
        np.testing.assert_allclose(cols, ref.unfold_nd(x, (3, 2), (1, 2), (1, 1), (2, 1)), rtol=1e-12, atol=1e-12)
        y = F.fold(cols, (9, 8), (3, 2), dilation=(1, 2), padding=1, stride=(2, 1))
        np.testing.assert_allclose(y, ref.fold_nd(cols, (9, 8), (3, 2), (1, 2), (1, 1), (2, 1)), rtol=1e-12,
                                   atol=1e-12)
    finally:
        convlab.set_num_threads(before)


def test_workspace_is_reused_per_thread_and_grown_on_demand():
    import threading
    conv_ops.release_workspace()
    a = conv_ops.workspace((2, 10), np.float32)
    b = conv_ops.workspace((3, 5), np.float64)            # 120 bytes > 80: grown
    c = conv_ops.workspace((4,), np.float32)              # fits: the same buffer
    assert a.shape == (2, 10) and b.shape == (3, 5) and c.dtype == np.float32
    assert np.shares_memory(b, c) and conv_ops.workspace_bytes() >= 120
    other = []
    t = threading.Thread(target=lambda: other.append(conv_ops.workspace((4,), np.float32)))
    t.start()
    t.join()
    assert not np.shares_memory(other[0], c)              # another Python thread, another buffer
    conv_ops.release_workspace()
    assert conv_ops.workspace_bytes() == 0


def test_workspace_starts_on_a_cache_line_whatever_its_size():
    """conv_blocked loads 64-byte vectors of weights from the workspace; NumPy aligns its arrays to 16 bytes only,
    and a large one (its own mmap) starts 16 bytes past a page, so every such load spanned two cache lines."""
    assert conv_ops.WORKSPACE_ALIGN % 64 == 0
    for nbytes in (64, 1000, 4096 + 8, 1 << 20, (5 << 20) + 12, 40 << 20):
        conv_ops.release_workspace()
        for dtype in (np.float32, np.float64):
            ws = conv_ops.workspace((nbytes // np.dtype(dtype).itemsize,), dtype)
            assert ws.__array_interface__["data"][0] % conv_ops.WORKSPACE_ALIGN == 0, (nbytes, dtype)
            ws[:] = 1                                     # all of it is writable memory of the buffer
    conv_ops.release_workspace()


def test_layers_called_from_two_python_threads_at_once(rng):
    """The kernels release the GIL: two threads running layers at the same time must not share scratch."""
    m = nn.Conv2d(8, 16, 3, padding=1)
    t = nn.ConvTranspose2d(8, 4, 3, stride=2)
    d = nn.Conv2d(32, 32, 3, padding=1, groups=32)
    wg = nn.Conv2d(16, 16, 3, padding=1)                      # Winograd (its transformed weights are scratch too)
    xs = [rng.standard_normal((2, 8, 20, 20)).astype(np.float32) for _ in range(2)]
    xd = [rng.standard_normal((2, 32, 7, 7)).astype(np.float32) for _ in range(2)]
    xw = [rng.standard_normal((2, 16, 16, 16)).astype(np.float32) for _ in range(2)]
    want = [(m(x), t(x), d(y), wg(z)) for x, y, z in zip(xs, xd, xw)]
    assert _plan_kind(wg) == "_winograd_runner"
    errors = []

    def work(i):
        for _ in range(30):
            got = (m(xs[i]), t(xs[i]), d(xd[i]), wg(xw[i]))
            if not all(np.array_equal(g, w) for g, w in zip(got, want[i])):
                errors.append(i)

    run_in_threads(work, 2)
    assert not errors


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("output_padding", [0, 1])
def test_conv_transpose_no_overlap_path_stores_every_cell(rng, bias, output_padding):
    """stride == kernel: the kernel stores (not adds) each cell and skips clearing the output first, so a
    cell it missed would hold garbage; the output is filled with NaN beforehand to make that visible."""
    import unittest.mock
    m = nn.ConvTranspose2d(6, 4, 3, stride=3, output_padding=output_padding, bias=bias)
    x = rng.standard_normal((2, 6, 4, 5)).astype(np.float32)
    want = ref.conv_transpose_nd(x.astype(np.float64), m.weight.astype(np.float64), m.bias, (3, 3), (0, 0),
                                 (output_padding,) * 2, 1, (1, 1))
    real_empty = np.empty

    def nan_empty(shape, dtype=float, **kw):
        a = real_empty(shape, dtype=dtype, **kw)
        if np.issubdtype(np.dtype(dtype), np.floating):
            a.fill(np.nan)
        return a

    with unittest.mock.patch.object(conv_ops.np, "empty", nan_empty):
        got = m(x)
    assert not np.isnan(got).any()
    assert_close(got, want, np.float32, reduction=6 * 9)


def test_conv_transpose_module_calls_with_output_size_take_the_cached_path(rng, monkeypatch):
    """``m(x, output_size=skip.shape)`` (a U-Net decoder): a repeated call with the same output_size (a tuple or
    list of ints, spatial or full) runs the cached plan, each output_size its own plan with torch's result, and an
    output_size out of range or of NumPy integers takes the validating path every time."""
    m = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1)
    x = rng.standard_normal((2, 4, 5, 6)).astype(np.float32)
    t = None
    if torch is not None:
        t = torch.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1)
        t.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in m.state_dict().items()})

    def want(size):
        op = tuple(o - (i - 1) * 2 + 2 - 3 for o, i in zip(size[-2:], x.shape[2:]))      # the output_padding
        got = ref.conv_transpose_nd(x.astype(np.float64), m.weight.astype(np.float64), m.bias, m.stride,
                                    m.padding, op, 1, m.dilation)
        if t is not None:
            with torch.no_grad():
                assert_close(t(torch.from_numpy(x), output_size=list(size)).numpy(), got, np.float32, reduction=36)
        return got

    sizes = [(10, 12), [9, 11], (2, 6, 10, 11), (9, 12)]
    wants = [want(size) for size in sizes]
    for size, w in zip(sizes, wants):
        assert_close(m(x, output_size=size), w, np.float32, reduction=36)
    plans = []
    monkeypatch.setattr(conv_ops.TransposePlan, "__init__", lambda *a, **k: plans.append(a))
    for size, w in zip(sizes + sizes[::-1], wants + wants[::-1]):            # each size its own cached plan
        assert_close(m(x, output_size=size), w, np.float32, reduction=36)
    assert plans == []
    monkeypatch.undo()
    with pytest.raises(ValueError, match="valid sizes range"):
        m(x, output_size=(11, 12))
    assert_close(m(x, output_size=(np.int64(10), np.int64(12))), wants[0], np.float32, reduction=36)


def test_conv_transpose_module_repeated_calls_take_the_cached_path(rng):
    """The second call of a ConvTranspose module with the same shapes skips validation (cached): same
    results as the reference, batched and unbatched, and a changed weight shape is validated again."""
    m = nn.ConvTranspose2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 0), output_padding=(1, 0), groups=2)
    for shape in ((3, 4, 5, 6), (4, 5, 6)):
        x = rng.standard_normal(shape).astype(np.float32)
        xb = x if x.ndim == 4 else x[None]
        want = ref.conv_transpose_nd(xb.astype(np.float64), m.weight.astype(np.float64), m.bias, m.stride,
                                     m.padding, m.output_padding, 2, m.dilation)
        want = want if x.ndim == 4 else want[0]
        for _ in range(2):
            assert_close(m(x), want, np.float32, reduction=4 * 3 * 2)
    assert any(k[0] == "transposed" for k in m._plans)
    m.weight = nn.Parameter(np.ones((4, 3, 3, 2), dtype=np.float32))   # groups=2: 4 % 2 ok, new out channels
    assert m(np.ones((1, 4, 5, 6), dtype=np.float32)).shape == (1, 6, 10, 7)
    m.weight = nn.Parameter(np.ones((5, 3, 3, 2), dtype=np.float32))   # 5 input channels: an error again
    with pytest.raises(ValueError):
        m(np.ones((1, 4, 5, 6), dtype=np.float32))


def _plan_kind(m):
    """Which runner a module's cached plan uses ("_winograd_runner", "_gemm_runner", "ConvPlan", ...)."""
    (plan, _, _), = m._plans.values()
    return plan.run.__qualname__.split(".")[0]


def test_rows_kernel_takes_shallow_layers_of_up_to_64_channels_on_avx512_only(simd_level):
    """The planner's rule for conv_rows beyond 16 output channels per group: float32, C_in/groups x taps up to
    ROWS_WIDE_MAX_DEPTH (from ROWS_WIDE_MIN_DEPTH, 1), output planes of at least ROWS_WIDE_MIN_CELLS, at a level of
    ROWS_WIDE_LEVELS; everything else as before (conv_rows up to 16). (Run at each level by the module's
    simd_level fixture.)"""
    layers = [  # (layer, input shape, conv_rows at x86-64-v4?)
        (nn.Conv2d(3, 64, 7, padding=3, padding_mode="reflect"), (1, 3, 40, 40), True),     # CycleGAN's first
        (nn.Conv1d(64, 64, 3, dilation=4, padding=8), (2, 64, 1000), True),                # TCN: depth 192
        (nn.Conv1d(64, 64, 4, dilation=4, padding=8), (2, 64, 1000), False),               # depth 256
        (nn.Conv2d(3, 64, 7, stride=2, padding=3), (1, 3, 40, 40), True),                  # ResNet's stem, stride 2
        (nn.Conv2d(3, 64, 3, padding=1, dtype=np.float64), (1, 3, 40, 40), False),         # float64
        (nn.Conv2d(3, 65, 3, padding=1), (1, 3, 40, 40), False),                           # 65 channels
        (nn.Conv2d(3, 16, 3, stride=2, padding=1), (1, 3, 40, 40), True),                  # <= 16: any stride
        (nn.Conv2d(2, 64, 3, padding=1), (1, 2, 40, 40), True),                            # depth 18
        (nn.Conv2d(1, 64, 4, padding=1), (1, 1, 40, 40), True),                            # depth 16
        (nn.Conv2d(1, 64, 3, padding=1), (1, 1, 40, 40), True),                            # depth 9 (MNIST's)
        (nn.Conv1d(1, 64, 3, padding=1), (2, 1, 400), True),                               # depth 3
        (nn.Conv2d(1, 64, 1), (1, 1, 40, 40), True),                                       # depth 1
        (nn.Conv2d(3, 64, 3, stride=2, padding=1), (1, 3, 11, 15), True),                  # 6 x 8 = 48 cells
        (nn.Conv2d(3, 64, 3, stride=2, padding=1), (1, 3, 13, 11), False),                 # 7 x 6 = 42
        (nn.Conv1d(16, 33, 3, stride=2), (2, 16, 50), False),                              # the article's: 24 cells
    ]
    rng = np.random.default_rng(5)
    for m, shape, wide in layers:
        x = rng.standard_normal(shape).astype(m.weight.dtype)
        got = m(x)
        rows = m.out_channels <= conv_ops.ROWS_MAX_CHANNELS or (wide and simd_level in conv_ops.ROWS_WIDE_LEVELS)
        assert (_plan_kind(m) == "_rows_runner") == rows, (simd_level, m, shape)
        want = ref.conv_nd(x.astype(np.float64), m.weight.astype(np.float64), m.bias, m.stride, m.padding,
                           m.dilation, 1, padding_mode=m.padding_mode)
        assert_close(got, want, x.dtype, reduction=m.weight[0].size)


@pytest.mark.parametrize("rows_3d", [True, False])
def test_rows_kernel_takes_3d_layers_with_few_output_channels_per_group(monkeypatch, simd_level, rows_3d):
    """The planner's rule for 3-d layers on conv_rows (ROWS_3D): as 1-d/2-d layers (up to 16 output channels per
    group, up to 64 for shallow float32 layers at ROWS_WIDE_LEVELS), except that at ROWS_3D_BLOCKED_FIRST_LEVELS a
    strided 3-d layer conv_blocked takes stays on it. With ROWS_3D off, no 3-d layer takes conv_rows. Each output
    against torch (the layers are too large for the reference loops)."""
    monkeypatch.setattr(conv_ops, "ROWS_3D", rows_3d)
    v4 = simd_level in conv_ops.ROWS_WIDE_LEVELS
    blocked_first = simd_level in conv_ops.ROWS_3D_BLOCKED_FIRST_LEVELS
    layers = [  # (layer, input shape, conv_rows?, the path otherwise)
        (nn.Conv3d(64, 64, 3, padding=1, groups=8), (1, 64, 6, 20, 20), True, "_gemm_runner"),      # 8 a group
        (nn.Conv3d(128, 128, 3, stride=2, padding=1, groups=32), (1, 128, 4, 16, 16), True, "_gemm_runner"),
        (nn.Conv3d(32, 3, 1), (1, 32, 8, 16, 16), True, None),      # a 1x1x1 head, read in place (else a matmul or
                                                                     # the GEMM path, by the thread count)
        (nn.Conv3d(32, 2, 3, padding=1), (1, 32, 6, 16, 16), True, "_gemm_runner"),    # two classes
        (nn.Conv3d(1, 32, 3, padding=1), (1, 1, 8, 16, 16), v4, "_gemm_runner"),       # depth 27, 32 outputs
        (nn.Conv3d(64, 64, 3, padding=1, groups=2), (1, 64, 4, 12, 12), False, "_gemm_runner"),  # 32 a group,
                                                                                        # depth 864: not wide
        (nn.Conv3d(16, 16, 3, stride=2, padding=1), (1, 16, 16, 64, 64), not blocked_first,  # (padding 6% of taps)
         "_blocked_runner" if simd_level in conv_ops.BLOCKED_3D_STRIDED_LEVELS + conv_ops.BLOCKED_LEVELS
         else "_gemm_runner"),
    ]
    rng = np.random.default_rng(7)
    for m, shape, rows, other in layers:
        x = rng.standard_normal(shape).astype(np.float32)
        got = m(x)
        kind = _plan_kind(m)
        if rows and rows_3d:
            assert kind == "_rows_runner", (simd_level, m, shape)
        else:
            assert kind != "_rows_runner" and kind == (other or kind), (simd_level, m, shape)
        if torch is not None:
            t = torch.nn.functional.conv3d(torch.from_numpy(x), torch.from_numpy(m.weight), torch.from_numpy(m.bias),
                                           m.stride, m.padding, m.dilation, m.groups).numpy()
            assert_close(got, t, np.float32, reduction=m.weight[0].size)


@pytest.mark.parametrize("threads", [1, 2])
def test_rows_kernel_takes_long_rows_whose_planes_fit_its_workspace(monkeypatch, threads, simd_level):
    """conv_rows' workspace is its phase planes (re-read by every 4 output channels: within WORKSPACE_BYTES); the
    sums go straight to the output, so the output's size bounds nothing. A raw-audio front-end (M5's Conv1d(1, 64,
    80, stride 4)) has planes of 4 x 4000 cells and 64 x 3981 outputs a sample: at the bound conv_rows takes it, a
    byte under the GEMM path does, and both match the reference and torch."""
    m = nn.Conv1d(1, 64, 80, stride=4)
    x = np.random.default_rng(11).standard_normal((2, 1, 16000)).astype(np.float32)
    lift = ((1, 1, 80), (1, 1, 4), (1, 1, 1), (1, 1, 3981))
    planes = _kernels.rows_workspace(1, *lift, 1) * 4
    assert planes == 4 * 4000 * 4                                      # Wq = 3981 + 79 // 4 cells a row
    want = ref.conv_nd(x.astype(np.float64), m.weight.astype(np.float64), m.bias, m.stride, m.padding, m.dilation, 1)
    t = None if torch is None else torch.nn.functional.conv1d(
        torch.from_numpy(x), torch.from_numpy(m.weight), torch.from_numpy(m.bias), stride=4).numpy()
    before = convlab.get_num_threads()
    convlab.set_num_threads(threads)
    try:
        for work, kind in [(planes, "_rows_runner"), (planes - 1, "_gemm_runner")]:
            monkeypatch.setattr(conv_ops, "WORKSPACE_BYTES", work)
            layer = nn.Conv1d(1, 64, 80, stride=4)                # a module whose one plan is this setting's
            layer.load_state_dict(m.state_dict())
            got = layer(x)
            rows = simd_level in conv_ops.ROWS_WIDE_LEVELS and kind == "_rows_runner"
            assert _plan_kind(layer) == ("_rows_runner" if rows else "_gemm_runner"), (work, simd_level)
            assert_close(got, want, np.float32, reduction=m.weight[0].size)
            if t is not None:
                assert_close(got, t, np.float32, reduction=m.weight[0].size)
    finally:
        convlab.set_num_threads(before)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("c_in,c_out,groups,size,kernel,stride,padding,dilation,per,bias", [
    (3, 64, 1, (20, 37), 7, 2, 3, 1, 4, True),       # a stem: 19 outputs in rows of 22, vectors across rows
    (2, 5, 1, (9, 4), 3, 1, 1, 1, 9, True),          # rows of 4 in 6: one vector spans 3+ rows; a lone 5th output
    (1, 4, 1, (5, 60), (2, 35), 1, 0, 1, 2, False),  # 34 spare numbers a row, more than a vector's lanes
    (2, 3, 1, (3, 5), 3, 1, 0, 1, 1, True),          # one row of 3 outputs: fewer than a vector, cell by cell
    (2, 4, 1, (4, 4), 3, 1, 0, 1, 2, True),          # 2 rows of 2 in 4: 6 numbers in all
    (4, 8, 2, (11, 14), 3, 2, 2, 2, 3, False),       # dilated, strided, grouped; the last vector moved back
    (1, 16, 1, (1, 300), (1, 9), (1, 3), (0, 4), 1, 1, True),   # a 1-d row of 100
    (2, 26, 2, (6, 21), 3, 1, 1, 1, 2, True),        # 13 outputs a group: a block of 8, then one of 4 and one of 1
    (3, 24, 1, (5, 3), 3, 1, 1, 1, 5, True),         # rows of 3: 15 outputs, cell by cell below a vector
    (6, 16, 1, (14, 14), 5, 1, 0, 1, 10, True),      # LeNet-5's 5x5 6 -> 16: 136 numbers, 2 strips and 40 left:
                                                     # a strip moved back, its vectors across rows of 10 in 14
    (2, 9, 1, (9, 14), 3, 1, 1, 1, 9, False),        # 9 rows of 14 in 16 (142 numbers): 46 left after 2 strips
                                                     # at float32, 22 after 5 at float64
])
def test_rows_kernel_stores_each_real_output_once_and_nothing_else(rng, rows8, dtype, c_in, c_out, groups, size,
                                                                   kernel, stride, padding, dilation, per, bias):
    """conv_rows stores its sums straight into the output: rows of Wo real cells, numbered Wq apart in its GEMM.
    Vectors within a row, across rows, over a row's spare numbers, past more spare numbers than a vector holds,
    the moved-back last vector and cell-by-cell rows, on 2 threads with several tasks a sample, in blocks of 8
    and 4 output channels (x86-64-v4) or of 4 only: each output cell matches the reference, and the samples
    before and after the output (NaN) are untouched."""
    two = lambda v: v if isinstance(v, tuple) else (v, v)  # noqa: E731
    kernel, stride, padding, dilation = two(kernel), two(stride), two(padding), two(dilation)
    n, cg = 3, c_in // groups
    x = rng.standard_normal((n, c_in) + size).astype(dtype)
    w = rng.standard_normal((c_out, cg) + kernel).astype(dtype)
    b = rng.standard_normal(c_out).astype(dtype) if bias else None
    out_size = tuple((s + 2 * p - d * (k - 1) - 1) // st + 1 for s, p, d, k, st in zip(size, padding, dilation,
                                                                                      kernel, stride))
    lift = [(1,) + v for v in (kernel, stride, dilation, out_size)]
    big = np.full((n + 2, c_out, math.prod(out_size)), np.nan, dtype=dtype)
    ws = np.full((2, _kernels.rows_workspace(cg, *lift, per)), np.nan, dtype=dtype)
    kern = _kernels.conv_rows["float" if dtype == np.float32 else "double"]
    kern(x.reshape((n, c_in, 1) + size), w.reshape(c_out, -1), b, big[1:-1], lift[0], lift[1],
         (0,) + padding, lift[2], lift[3], groups, conv_ops.MODE_CODES["zeros"], per, ws, 2)
    want = ref.conv_nd(x.astype(np.float64), w.astype(np.float64), b, stride, padding, dilation, groups)
    assert_close(big[1:-1].reshape(want.shape), want, dtype, reduction=cg * math.prod(kernel))
    assert np.isnan(big[0]).all() and np.isnan(big[-1]).all()
    with pytest.raises(ValueError, match="do not match"):
        kern(x.reshape((n, c_in, 1) + size), w.reshape(c_out, -1), b, big[1:-1], lift[0], lift[1], (0,) + padding,
             lift[2], lift[3], groups, 0, per + 1, ws, 2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("c_in,c_out,groups,size,stride,padding,per,in_place", [
    (6, 5, 1, (7, 9), 1, 0, 2, True),       # 1x1 at stride 1: rows of 9, tasks of 2 rows (the last of 1)
    (8, 24, 2, (5, 40), 1, 0, 3, True),     # grouped, 12 outputs per group, tasks of 3 rows and 2
    (4, 6, 1, (1, 70), 1, 0, 1, True),      # a 1-d row
    (3, 4, 1, (4, 4), 1, 0, 4, True),       # a whole 16-cell plane in one task: one vector
    (4, 6, 1, (6, 8), 1, 1, 2, False),      # padding 1: the planes hold the padded rows (a copy)
    (4, 6, 1, (6, 8), 2, 0, 2, False),      # stride 2: phase planes (a copy)
    (5, 16, 1, (3, 30), 1, 0, 3, True),     # 90 numbers in place (dense stores, rows as they lie): a strip and 42
                                            # left, a strip moved back
])
def test_rows_kernel_reads_1x1_stride_1_inputs_in_place(rng, dtype, c_in, c_out, groups, size, stride, padding,
                                                        per, in_place):
    """conv_rows on a 1x1 kernel at stride 1 without padding takes each task's rows from the input itself (one
    run of the plane per channel) instead of copying them into its workspace, which it then never writes (NaN
    before, NaN after); with padding or a stride it copies, as before. Both on 2 threads against the reference
    and torch, the samples around the output untouched."""
    n, cg = 3, c_in // groups
    x = rng.standard_normal((n, c_in) + size).astype(dtype)
    w = rng.standard_normal((c_out, cg, 1, 1)).astype(dtype)
    b = rng.standard_normal(c_out).astype(dtype)
    out_size = tuple((s + 2 * padding - 1) // stride + 1 for s in size)
    lift = [(1,) + v for v in ((1, 1), (stride, stride), (1, 1), out_size)]
    big = np.full((n + 2, c_out, math.prod(out_size)), np.nan, dtype=dtype)
    ws = np.full((2, _kernels.rows_workspace(cg, *lift, per)), np.nan, dtype=dtype)
    kern = _kernels.conv_rows["float" if dtype == np.float32 else "double"]
    kern(x.reshape((n, c_in, 1) + size), w.reshape(c_out, -1), b, big[1:-1], lift[0], lift[1],
         (0, padding, padding), lift[2], lift[3], groups, conv_ops.MODE_CODES["zeros"], per, ws, 2)
    want = ref.conv_nd(x.astype(np.float64), w.astype(np.float64), b, (stride,) * 2, (padding,) * 2, (1, 1), groups)
    got = big[1:-1].reshape(want.shape)
    assert_close(got, want, dtype, reduction=cg)
    assert np.isnan(big[0]).all() and np.isnan(big[-1]).all()
    assert np.isnan(ws).all() == in_place
    if torch is not None:
        t = torch.nn.functional.conv2d(torch.from_numpy(x.astype(np.float64)), torch.from_numpy(w.astype(np.float64)),
                                       torch.from_numpy(b.astype(np.float64)), stride, padding, 1, groups).numpy()
        assert_close(got, t, dtype, reduction=cg)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("c_in,c_out,groups,size,kernel,stride,padding,dilation,mode,per", [
    (8, 8, 2, (5, 6, 7), 3, 1, 1, 1, "zeros", 2),            # 3x3x3 'same': the first and last planes read a plane of
                                                             # zeros; tasks of 2 rows (the last of 2 of 6)
    (4, 6, 2, (7, 9, 8), 3, 2, 1, 1, "zeros", 3),            # stride 2 in depth and the plane: phase planes
    (3, 4, 1, (6, 5, 6), (3, 2, 3), (2, 1, 1), (2, 1, 1), (2, 1, 1), "zeros", 5),  # depth dilation, depth padding 2:
                                                             # the first plane's kernel planes 0 and 1 read zeros
    (4, 4, 4, (4, 5, 5), 3, 1, 1, 1, "reflect", 1),          # depthwise, reflected planes; one row a task
    (2, 3, 1, (3, 4, 6), 3, 1, 2, 1, "replicate", 2),        # padding 2 of a 3-plane input: the edge plane repeated
    (2, 4, 2, (4, 4, 5), (3, 3, 2), 1, (2, 1, 0), 1, "circular", 3),  # the planes wrapped around
    (6, 4, 1, (5, 3, 7), (2, 1, 3), (1, 1, 2), 0, (3, 1, 1), "zeros", 3),   # an even kernel depth, dilated by 3
    (4, 6, 2, (6, 4, 9), 1, (2, 1, 1), 0, 1, "zeros", 2),    # 1x1x1 at depth stride 2: rows read in place
    (5, 3, 1, (4, 1, 40), (3, 1, 5), 1, (1, 0, 2), 1, "zeros", 1),   # planes of one row
])
@pytest.mark.parametrize("planes", [1, 2, 100])
def test_rows_kernel_3d_matches_reference_and_torch(rng, dtype, c_in, c_out, groups, size, kernel, stride, padding,
                                                    dilation, mode, per, planes):
    """conv_rows on 3-d layers: a task's slab holds, per channel, its rows of the kd input planes its output plane
    reads (zeros for a plane of zero padding, the plane the mode names otherwise). Depth padding, stride and
    dilation, every padding mode along depth, even kernel depths, grouped and depthwise layers, on 2 threads with
    several tasks a plane, against the reference and torch; the samples around the output are untouched, and a
    1x1x1 kernel at stride 1 within the plane reads its rows in place (the workspace stays NaN). Tasks of one
    output plane, of two (the last of a sample maybe one) and of all: at depth stride and dilation 1 the kernel
    planes' sections are a ring, one input plane copied a channel for each plane after a task's first (other
    layers take one plane a task whatever is asked)."""
    three = lambda v: v if isinstance(v, tuple) else (v,) * 3  # noqa: E731
    kernel, stride, padding, dilation = three(kernel), three(stride), three(padding), three(dilation)
    n, cg = 2, c_in // groups
    x = rng.standard_normal((n, c_in) + size).astype(dtype)
    w = rng.standard_normal((c_out, cg) + kernel).astype(dtype)
    b = rng.standard_normal(c_out).astype(dtype)
    out_size = tuple((s + 2 * p - d * (k - 1) - 1) // st + 1 for s, p, d, k, st in zip(size, padding, dilation,
                                                                                      kernel, stride))
    big = np.full((n + 2, c_out, math.prod(out_size)), np.nan, dtype=dtype)
    ws = np.full((2, _kernels.rows_workspace(cg, kernel, stride, dilation, out_size, per)), np.nan, dtype=dtype)
    kern = _kernels.conv_rows["float" if dtype == np.float32 else "double"]
    kern(x, w.reshape(c_out, -1), b, big[1:-1], kernel, stride, padding, dilation, out_size, groups,
         conv_ops.MODE_CODES[mode], per, ws, 2, planes)
    want = ref.conv_nd(x.astype(np.float64), w.astype(np.float64), b, stride, padding, dilation, groups,
                       padding_mode=mode)
    got = big[1:-1].reshape(want.shape)
    assert_close(got, want, dtype, reduction=cg * math.prod(kernel))
    assert np.isnan(big[0]).all() and np.isnan(big[-1]).all()
    assert np.isnan(ws).all() == (kernel == (1, 1, 1) and stride[1:] == (1, 1) and not any(padding))
    if torch is not None:
        xt = torch.from_numpy(x.astype(np.float64))
        if mode != "zeros":
            xt = torch.nn.functional.pad(xt, tuple(p for p in padding[::-1] for _ in range(2)), mode=mode)
        t = torch.nn.functional.conv3d(xt, torch.from_numpy(w.astype(np.float64)), torch.from_numpy(b.astype(
            np.float64)), stride, padding if mode == "zeros" else 0, dilation, groups).numpy()
        assert_close(got, t, dtype, reduction=cg * math.prod(kernel))
    with pytest.raises(ValueError, match="planes_per_task >= 1"):
        kern(x, w.reshape(c_out, -1), b, big[1:-1], kernel, stride, padding, dilation, out_size, groups,
             conv_ops.MODE_CODES[mode], per, ws, 2, 0)


@pytest.mark.parametrize("threads", [1, 2])
def test_rows_runner_takes_planes_in_rings_at_depth_stride_1(threads):
    """_rows_runner's tasks take several output planes (ROWS_PLANE_RING) where the depth stride and dilation are 1
    and the kernel has depth: all of a sample's at 1 thread, as many as leave ROWS_RING_TASKS_PER_THREAD tasks a
    thread at 2; one plane a task at depth stride 2, for a kernel of depth 1, and with the setting off. Each
    output against the reference."""
    before = convlab.get_num_threads()
    convlab.set_num_threads(threads)
    rng = np.random.default_rng(3)
    try:
        for m, shape, want_planes in [
                (nn.Conv3d(16, 16, 3, padding=1, groups=4), (1, 16, 6, 9, 10), 6 if threads == 1 else 3),
                (nn.Conv3d(16, 16, 3, stride=(2, 1, 1), padding=1, groups=4), (1, 16, 6, 9, 10), 1),
                (nn.Conv3d(16, 16, (1, 3, 3), padding=(0, 1, 1), groups=4), (1, 16, 6, 9, 10), 1)]:
            for ring in (True, False):
                with pytest.MonkeyPatch.context() as mp:
                    mp.setattr(conv_ops, "ROWS_PLANE_RING", ring)
                    mp.setattr(conv_ops, "PARALLEL_MIN_MACS", 0)
                    mp.setattr(conv_ops, "DIRECT_MAX_MACS", 0)
                    x = rng.standard_normal(shape).astype(np.float32)
                    m._plans.clear()
                    got = m(x)
                    (plan, _, _), = m._plans.values()
                    assert plan.run.__qualname__.split(".")[0] == "_rows_runner"
                    assert plan.run.planes_per_task == (want_planes if ring else 1), (m, threads, ring)
                    want = ref.conv_nd(x.astype(np.float64), m.weight.astype(np.float64), m.bias, m.stride,
                                       m.padding, m.dilation, m.groups)
                    assert_close(got, want, np.float32, reduction=m.weight[0].size)
    finally:
        convlab.set_num_threads(before)


@pytest.fixture(params=[True, False], ids=["rows8", "rows4"])
def rows8(request):
    """cl_gemm_small / cl_gemm_rows at x86-64-v4 with blocks of 8 output channels before those of 4 (the default),
    and with blocks of 4 only; restored after the test. (Other levels always take blocks of 4.)"""
    before = _kernels.gemm_small_rows8(request.param)
    yield request.param
    _kernels.gemm_small_rows8(before)


@pytest.fixture
def gemm_small_chunk():
    """Sets cl_gemm_small's L1 so large that every chunk fits it with A (the chunks the test asks for are the ones
    run, on any machine), and restores both settings after the test."""
    before, l1 = _kernels.gemm_small_chunk(), _kernels.gemm_small_l1(1 << 40)
    yield _kernels.gemm_small_chunk
    _kernels.gemm_small_chunk(before)
    _kernels.gemm_small_l1(l1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m,k,n", [(6, 10, 3 * 48 + 17), (5, 7, 200), (9, 96, 301), (4, 3, 40), (1, 1, 97),
                                   (12, 5, 150)])
@pytest.mark.parametrize("columns", [1, 48, 100, 10 ** 6])
def test_gemm_small_in_chunks_of_columns_matches_numpy(rng, gemm_small_chunk, dtype, m, k, n, columns):
    """cl_gemm_small takes B's columns in chunks where k >= m (as many as fit gemm_small_chunk()'s bytes of its k
    rows, in whole strips of 3 vectors, at least one strip), every block of rows over a chunk before the next:
    one strip per chunk (1 byte), chunks that end inside the last strips and tails (100 columns' bytes: 96
    columns, or 48 at AVX2), one chunk for all; k < m (4 x 3, 12 x 5) in one chunk whatever the setting. Every
    column, plain and accumulated, against NumPy in float64."""
    gemm_small_chunk(columns * k * np.dtype(dtype).itemsize)
    _check_gemm_small(rng, dtype, m, k, n)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m,k,n", [(6, 10, 3 * 48 + 17), (9, 96, 301), (16, 147, 200)])
@pytest.mark.parametrize("l1", [1, 10 * 1024])
def test_gemm_small_in_one_chunk_where_a_and_a_chunk_overflow_l1(rng, gemm_small_chunk, dtype, m, k, n, l1):
    """Where A (m x k) and a chunk do not fit gemm_small_l1()'s bytes together, cl_gemm_small takes B in one chunk
    whatever gemm_small_chunk() says: an L1 of 1 byte (never chunks) and of 10 KiB (chunks for the small A only),
    with one-strip chunks asked for. Every column against NumPy in float64."""
    gemm_small_chunk(1)
    _kernels.gemm_small_l1(l1)
    _check_gemm_small(rng, dtype, m, k, n)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m,k,n", [(8, 10, 3 * 48 + 17), (13, 7, 200), (16, 96, 96), (24, 5, 20), (9, 3, 7),
                                   (17, 40, 301), (16, 9, 48 + 33), (8, 6, 2 * 48 + 47), (8, 5, 47), (8, 4, 24 + 23),
                                   (16, 7, 2 * 48 + 32), (8, 3, 24 + 16)])
@pytest.mark.parametrize("columns", [1, 10 ** 6])
def test_gemm_small_in_blocks_of_8_rows_leaves_nothing_else_written(rng, gemm_small_chunk, rows8, dtype, m, k, n,
                                                                   columns):
    """cl_gemm_small's blocks of 8 rows (x86-64-v4) take the whole strips, the whole vectors after them and the
    moved-back last vector, or, with more than two vectors' columns left after the strips (33-47 at float32,
    17-23 at float64), one more strip moved back to end at n (48 + 33, 2 x 48 + 47; at float64 24 + 23, 40 and 47
    columns, and 2 x 48 + 32, 24 + 16 just below the rule); blocks of 4 the rows left (8 + 5, 16 + 1) and rows
    shorter than a vector (n = 7). Whole strips only (96 = 2 x 48 columns at float32), a vector and a moved-back
    one (20), n = 47 with no whole strip, chunks of one strip and one chunk, with the setting on and off: every
    cell against NumPy in float64, plain and accumulated (a column stored twice is added twice), and the rows
    around C (NaN) untouched."""
    gemm_small_chunk(columns * k * np.dtype(dtype).itemsize)
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    want = a.astype(np.float64) @ b.astype(np.float64)
    for accumulate in (False, True):
        big = np.full((m + 2, n), np.nan, dtype=dtype)
        big[1:-1] = rng.standard_normal((m, n)) if accumulate else np.nan
        c0 = big[1:-1].copy()
        _kernels.gemm_small(a, b, big[1:-1], accumulate=accumulate)
        assert_close(big[1:-1], want + c0 if accumulate else want, dtype, reduction=k)
        assert np.isnan(big[0]).all() and np.isnan(big[-1]).all()


@pytest.mark.parametrize("bad", [1, 0, None.__class__, "yes"])
def test_gemm_small_rows8_takes_a_bool(bad):
    before = _kernels.gemm_small_rows8()
    with pytest.raises(TypeError, match="gemm_small_rows8: on must be a bool"):
        _kernels.gemm_small_rows8(bad)
    assert _kernels.gemm_small_rows8() == before


def test_gemm_small_l1_is_the_machines_l1d():
    """convlab.ops.conv sets cl_gemm_small's L1 to the L1 data cache it reads from sysfs (32 KiB when it cannot)."""
    assert _kernels.gemm_small_l1() == conv_ops.L1_SETS * conv_ops.L1_WAYS * conv_ops.LINE_BYTES


@pytest.mark.parametrize("columns", [1, 10 ** 6])
def test_conv_rows_in_chunks_of_columns_matches_torch(rng, gemm_small_chunk, columns):
    """conv_rows' GEMM (cl_gemm_rows) in chunks of one strip and in one chunk: a stem-like 7x7 s2 layer (rows
    of the phase planes with spare numbers) and a 1x1 layer read in place, against the reference and torch."""
    gemm_small_chunk(columns)
    for layer, shape in [(nn.Conv2d(3, 16, 7, stride=2, padding=3), (2, 3, 30, 37)),
                         (nn.Conv2d(24, 12, 1), (2, 24, 13, 29))]:
        x = rng.standard_normal(shape).astype(np.float32)
        got = layer(x)
        want = ref.conv_nd(x.astype(np.float64), layer.weight.astype(np.float64), layer.bias, layer.stride,
                           layer.padding, layer.dilation, 1)
        assert _plan_kind(layer) == "_rows_runner"
        assert_close(got, want, np.float32, reduction=layer.weight[0].size)
        if torch is not None:
            tl = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(layer.weight),
                                            torch.from_numpy(layer.bias), layer.stride, layer.padding).numpy()
            assert_close(got, tl, np.float32, reduction=layer.weight[0].size)


@pytest.mark.parametrize("setter", ["gemm_small_chunk", "gemm_small_l1"])
@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "32"])
def test_gemm_small_settings_reject_what_is_not_a_positive_int(gemm_small_chunk, setter, bad):
    with pytest.raises(ValueError, match=f"{setter}: nbytes must be an int >= 1"):
        getattr(_kernels, setter)(bad)


# Lavin and Gray's filter transforms (arXiv:1509.09308): F(2, 3) and F(4, 3)
_WINO_G = {2: np.array([[1, 0, 0], [1 / 2, 1 / 2, 1 / 2], [1 / 2, -1 / 2, 1 / 2], [0, 0, 1]]),
           4: np.array([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6], [1 / 24, 1 / 12, 1 / 6],
                        [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]])}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("tile", [2, 4])
@pytest.mark.parametrize("c_out,c_in,nthreads", [(3, 5, 1), (16, 16, 2), (7, 33, 2), (17, 16, 2), (40, 40, 2)])
def test_winograd_weights_match_g_w_gt_in_blocks_of_16_filters(dtype, tile, c_out, c_in, nthreads):
    """U[e, f] = (G w_f G^T)[e] for every filter f, 16 filters a vector (15, 231 or 272 filters: a partial last
    block; 2 threads: runs of whole blocks), against G w G^T in float64; the row's skew past C_out x C_in is never
    written; an inf or NaN anywhere (first filter, last of a partial block, the second thread's run) is reported."""
    rng = np.random.default_rng(tile + c_out)
    w = rng.standard_normal((c_out, c_in, 9)).astype(dtype)
    n, total = (tile + 2) ** 2, c_out * c_in
    u = np.full((n, total + 7), np.nan, dtype)
    assert _kernels.winograd_weights(w, u, nthreads, tile)
    g = _WINO_G[tile]
    want = np.einsum("ab,fbc,dc->fad", g, w.reshape(total, 3, 3).astype(np.float64), g).reshape(total, n).T
    assert_close(u[:, :total], want, dtype, reduction=9)
    assert np.isnan(u[:, total:]).all()
    for f in sorted({0, total - 1, total // 2 + 1}):
        for bad in (np.inf, np.nan):
            v = w.copy()
            v.reshape(total, 9)[f, f % 9] = bad
            assert not _kernels.winograd_weights(v, u, nthreads, tile), (f, bad)


@pytest.mark.parametrize("nd,size", [(2, (22, 25)), (2, (30, 29)),            # F(2x2, 3x3), F(4x4, 3x3)
                                     (3, (6, 20, 21)), (3, (3, 30, 29))])     # ... 3x3x3, one per depth tap
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("threads", [1, 2])
def test_winograd_is_chosen_for_3x3_and_3x3x3_layers_and_matches_torch(rng, dtype, threads, nd, size):
    """Default thresholds: a ResNet-style 3x3 layer and a 3x3x3 one (C3D, 3-d U-Net: each depth tap a 3x3
    Winograd conv whose sums the GEMMs add) take the Winograd path, and their rounding stays within the
    tolerance every other path meets."""
    if torch is None:
        pytest.skip("PyTorch 2.13 (the parity oracle) is not installed")
    before = convlab.get_num_threads()
    convlab.set_num_threads(threads)
    c_in, c_out = (32, 48) if nd == 2 else (16, 24)
    try:
        m = getattr(nn, f"Conv{nd}d")(c_in, c_out, 3, padding=1, dtype=dtype)
        x = rng.standard_normal((3 if nd == 2 else 2, c_in, *size)).astype(dtype)
        got = m(x)
        assert _plan_kind(m) == "_winograd_runner"
        (plan, _, _), = m._plans.values()
        # F(4x4, 3x3) on planes >= 28x28, in float64 only by default (its float32 rounding is ~20x coarser)
        assert plan.run.tile == (4 if size[-2:] == (30, 29) and dtype == np.float64 else 2)
        t = getattr(torch.nn, f"Conv{nd}d")(c_in, c_out, 3, padding=1).double()
        t.load_state_dict({k: torch.from_numpy(np.array(v, np.float64)) for k, v in m.state_dict().items()})
        want = t(torch.from_numpy(x.astype(np.float64))).detach().numpy()
        assert_close(got, want, dtype, reduction=m.weight[0].size)
    finally:
        convlab.set_num_threads(before)


@pytest.mark.parametrize("channels,plane,dtype", [(64, 56, np.float32), (128, 28, np.float32), (192, 28, np.float32),
                                                  (256, 25, np.float32), (256, 14, np.float32),
                                                  (64, 56, np.float64), (96, 28, np.float64)])
def test_winograd_task_is_its_byte_budget_or_the_minimum_gemm_width(monkeypatch, channels, plane, dtype):
    """One thread: a Winograd task is as many whole tile rows as WINOGRAD_TASK_BYTES holds (V and M: 16 planes
    of C_in + C_out values per tile); where the budget holds fewer than WINOGRAD_MIN_GEMM_TILES tiles (wide
    channels), the fewest whole rows that reach that many, or WINOGRAD_WIDE_GEMM_TILES where U (the transformed
    weights, all planes) is larger than L2 (each task reads it from beyond L2, each GEMM packs its plane)."""
    monkeypatch.setattr(conv_ops, "PARALLEL_MIN_MACS", 10**15)
    monkeypatch.setattr(conv_ops, "WINOGRAD_MIN_THREAD_CELLS", 0)      # (two 14x14 samples: too few cells)
    monkeypatch.setattr(conv_ops, "L2_BYTES", 2 << 20)      # float64 64 -> 64 fits, 192 channels on do not: any CPU
    itemsize = np.dtype(dtype).itemsize
    plan = conv_ops.ConvPlan((2, channels, plane, plane), (channels, channels, 3, 3), dtype, (3, 3), (1, 1), (1, 1),
                             (1, 1), (plane, plane), 1)
    assert plan.run.__qualname__.split(".")[0] == "_winograd_runner"
    per_row = -(-plane // plan.run.tile)
    per_tile = (plan.run.tile + 2) ** 2 * 2 * channels * itemsize
    budget = conv_ops.WINOGRAD_TASK_BYTES // per_tile
    tiles = plan.run.tiles_per_task
    assert tiles % per_row == 0
    if budget < conv_ops.WINOGRAD_MIN_GEMM_TILES:
        u_bytes = (plan.run.tile + 2) ** 2 * channels * channels * itemsize
        least = conv_ops.WINOGRAD_WIDE_GEMM_TILES if u_bytes > conv_ops.L2_BYTES else conv_ops.WINOGRAD_MIN_GEMM_TILES
        assert tiles >= least > tiles - per_row, (budget, u_bytes, tiles, per_row)
    else:
        assert tiles <= max(budget, per_row) < tiles + per_row, (budget, tiles, per_row)


@pytest.mark.parametrize("threads,n,channels,plane,winograd", [
    (1, 1, 256, 14, False),     # one 14x14 sample: 196 output cells, under 2.5 x 256 = 640
    (1, 4, 256, 14, True),      # four: 784
    (2, 4, 256, 14, False),     # ... but 392 per thread on two
    (2, 2, 256, 25, False),     # RetinaNet's head on two samples: 1250, under 2 x 640
    (1, 2, 256, 25, True),
    (1, 1, 64, 28, True),       # 64 channels: 160 cells per thread are enough
    (2, 1, 64, 28, True),
])
def test_winograd_needs_output_cells_per_thread_and_channel(rng, monkeypatch, threads, n, channels, plane, winograd):
    """Few output cells per thread make the transformed GEMMs too narrow for Winograd to pay (one sample of
    ResNet's 256 -> 256 on 14x14 ran 1.5x the time of the other path): below WINOGRAD_MIN_THREAD_CELLS cells per
    thread and channel another path takes the layer, with torch's result. (The rule alone: Winograd's yielding
    to conv_blocked on narrow layers, which would take the 64-channel rows at x86-64-v4, set aside.)"""
    monkeypatch.setattr(conv_ops, "WINOGRAD_YIELD_LEVELS", ())
    before = convlab.get_num_threads()
    convlab.set_num_threads(threads)
    try:
        m = nn.Conv2d(channels, channels, 3, padding=1)
        x = rng.standard_normal((n, channels, plane, plane)).astype(np.float32)
        got = m(x)
        assert (_plan_kind(m) == "_winograd_runner") == winograd, _plan_kind(m)
    finally:
        convlab.set_num_threads(before)
    if torch is not None:
        t = torch.nn.Conv2d(channels, channels, 3, padding=1)
        t.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in m.state_dict().items()})
        with torch.no_grad():
            assert_close(got, t(torch.from_numpy(x)).numpy(), np.float32, reduction=m.weight[0].size)


@pytest.mark.parametrize("nd,c_in,c_out,dtype,winograd", [
    (2, 512, 512, np.float32, True),     # 96 tiles: 16 x (512 + 512) x 4 bytes x 96 = 6.3 MB
    (3, 256, 256, np.float32, True),     # 3x3x3: the GEMMs' K is 3 x 256, 6.3 MB again
    (3, 512, 512, np.float32, False),    # 12.6 MB
    (2, 512, 512, np.float64, False),    # 12.6 MB
    (2, 640, 640, np.float32, True),     # 7.9 MB, under 8 MiB
    (2, 704, 704, np.float32, False),    # 8.7 MB
])
def test_winograd_takes_wide_layers_whose_task_fits_its_memory_bound(monkeypatch, nd, c_in, c_out, dtype, winograd):
    """Wide layers (C_in + C_out past 682 float32 channels, whose 1 MiB budget holds fewer than 24 tiles) take
    Winograd where a task of WINOGRAD_WIDE_GEMM_TILES tiles needs at most WINOGRAD_MAX_TASK_BYTES per thread."""
    monkeypatch.setattr(conv_ops, "WINOGRAD_MIN_THREAD_CELLS", 0)
    monkeypatch.setattr(conv_ops, "PARALLEL_MIN_MACS", 10**15)         # one thread
    monkeypatch.setattr(conv_ops, "L2_BYTES", 2 << 20)
    size = (14, 14) if nd == 2 else (4, 14, 14)
    k = (3,) * nd
    plan = conv_ops.ConvPlan((1, c_in, *size), (c_out, c_in, *k), dtype, k, (1,) * nd, (1,) * nd, (1,) * nd, size, 1)
    assert (plan.run.__qualname__.split(".")[0] == "_winograd_runner") == winograd, plan.run.__qualname__
    if winograd:
        # 7 tiles a row: 14 rows (98 tiles) or all of them (2-d: 49; 3-d: 4 planes of 7 rows)
        assert plan.run.tiles_per_task == 7 * min(14, math.prod(size[:-1]) // 2), plan.run.tiles_per_task


def test_a_wide_winograd_layer_matches_torch(rng, monkeypatch):
    """512 -> 512 on 14x14 by Winograd (one task of the sample's 49 tiles; the cells-per-channel rule set aside),
    against torch in float64."""
    if torch is None:
        pytest.skip("PyTorch 2.13 (the parity oracle) is not installed")
    monkeypatch.setattr(conv_ops, "WINOGRAD_MIN_THREAD_CELLS", 0)
    m = nn.Conv2d(512, 512, 3, padding=1)
    x = rng.standard_normal((1, 512, 14, 14)).astype(np.float32)
    got = m(x)
    assert _plan_kind(m) == "_winograd_runner"
    t = torch.nn.Conv2d(512, 512, 3, padding=1).double()
    t.load_state_dict({k: torch.from_numpy(np.array(v, np.float64)) for k, v in m.state_dict().items()})
    want = t(torch.from_numpy(x.astype(np.float64))).detach().numpy()
    assert_close(got, want, np.float32, reduction=m.weight[0].size)


def _static_busiest(total, rows, threads):
    """Tile rows of the busiest thread when ``total`` tile rows in tasks of ``rows`` (the last one short) are dealt
    as OpenMP's static schedule deals them: contiguous runs, the first ``tasks % threads`` threads one task more."""
    sizes = [min(rows, total - i) for i in range(0, total, rows)]
    base, extra = divmod(len(sizes), threads)
    loads, start = [], 0
    for t in range(threads):
        n = base + (t < extra)
        loads.append(sum(sizes[start:start + n]))
        start += n
    return max(loads)


@pytest.mark.parametrize("threads", [2, 3, 4])
def test_winograd_tasks_leave_the_busiest_thread_the_fewest_rows(threads):
    """``_balanced_task_rows`` against the static schedule dealt out by hand: where a count of rows down to three
    quarters of it leaves the busiest thread at least a tenth fewer tile rows, no other count leaves it fewer and
    none larger as few; else the rows stay."""
    gains = 0
    for total in range(1, 90):
        for rows in range(1, min(total, 24) + 1):
            got = conv_ops._balanced_task_rows(total, rows, threads)
            cands = range(-(-3 * rows // 4), rows + 1)
            best = min(_static_busiest(total, r, threads) for r in cands)
            if best > 0.9 * _static_busiest(total, rows, threads):
                assert got == rows, (total, rows, got)
                continue
            gains += 1
            assert _static_busiest(total, got, threads) == best, (total, rows, got)
            assert all(_static_busiest(total, r, threads) > best for r in cands if r > got), (total, rows, got)
    assert gains > 100          # (the cases above do reach the balanced branch)


def test_winograd_balances_inception_17x17_at_two_threads(rng):
    """Inception-v3's 384 -> 384 on 17x17, 8 samples (72 tile rows of 9 tiles) at 2 threads: tasks of 9 tile rows
    (8 tasks), where the 96-tile width alone gives 11 (7 tasks: 44 rows against 28); and torch's result."""
    before = convlab.get_num_threads()
    convlab.set_num_threads(2)
    try:
        m = nn.Conv2d(384, 384, 3, padding=1)
        x = rng.standard_normal((8, 384, 17, 17)).astype(np.float32)
        got = m(x)
        assert _plan_kind(m) == "_winograd_runner"
        (plan, _, _), = m._plans.values()
        assert plan.run.tiles_per_task == 9 * 9
    finally:
        convlab.set_num_threads(before)
    if torch is not None:
        t = torch.nn.Conv2d(384, 384, 3, padding=1).double()
        t.load_state_dict({k: torch.from_numpy(np.array(v, np.float64)) for k, v in m.state_dict().items()})
        want = t(torch.from_numpy(x.astype(np.float64))).detach().numpy()
        assert_close(got, want, np.float32, reduction=m.weight[0].size)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("shape,c_out,kwargs,dtype,kind", [
    ((2, 64, 30, 30), 64, {}, np.float32, "_blocked_runner"),          # 64 x 64 x 15 x 15 tiles: 921,600
    ((2, 64, 32, 32), 64, {}, np.float32, "_winograd_runner"),         # 64 x 64 x 16 x 16 = 2**20: not below
    ((2, 64, 31, 31), 64, {}, np.float32, "_winograd_runner"),         # ... 16 x 16 tiles too (the last ones cut)
    ((1, 64, 30, 30), 128, {}, np.float32, "_winograd_runner"),        # 64 x 128 x 225: 1,843,200
    ((2, 48, 20, 20), 48, {}, np.float32, "_winograd_runner"),         # 48 channels: a third of a pair empty
    ((2, 32, 20, 20), 64, {}, np.float32, "_blocked_runner"),          # (pairs filled by the output channels)
    ((2, 16, 20, 20), 16, {}, np.float32, "_rows_runner"),             # 16 outputs: conv_rows, not conv_blocked
    ((2, 64, 30, 30), 64, dict(padding_mode="reflect"), np.float32, "_winograd_runner"),  # neither takes it
    ((2, 64, 30, 30), 64, {}, np.float64, "_winograd_runner"),         # float32 only
    ((1, 32, 4, 16, 16), 32, {}, np.float32, "_blocked_runner"),       # 3x3x3: 3 x 32 x 32 x 64 = 196,608
    ((1, 64, 4, 32, 32), 32, {}, np.float32, "_winograd_runner"),      # 3 x 64 x 32 x 256 = 1,572,864
])
def test_winograd_yields_to_blocked_and_rows_on_narrow_small_layers(rng, monkeypatch, threads, shape, c_out, kwargs,
                                                                     dtype, kind):
    """At WINOGRAD_YIELD_LEVELS (x86-64-v4; here the level this machine runs, so the rule is tested everywhere)
    float32 3x3 / 3x3x3 layers whose kd x C_in x C_out x (2x2 tiles per output plane) is below
    WINOGRAD_YIELD_MAX_WORK go to conv_blocked (its pairs of 16-channel blocks filled to within
    WINOGRAD_YIELD_MAX_PAIR_WASTE) or conv_rows, where the planner would take one of them without Winograd; the
    boundary shapes on both sides, each against torch."""
    level = _kernels.simd_path()
    monkeypatch.setattr(conv_ops, "WINOGRAD_YIELD_LEVELS", (level,))
    monkeypatch.setattr(conv_ops, "BLOCKED_LEVELS", (level,))
    monkeypatch.setattr(conv_ops, "ROWS_WIDE_LEVELS", ())
    monkeypatch.setattr(conv_ops, "WINOGRAD_MIN_THREAD_CELLS", 0)
    before = convlab.get_num_threads()
    convlab.set_num_threads(threads)
    try:
        nd = len(shape) - 2
        m = getattr(nn, f"Conv{nd}d")(shape[1], c_out, 3, padding=1, dtype=dtype, **kwargs)
        x = rng.standard_normal(shape).astype(dtype)
        got = m(x)
        assert _plan_kind(m) == kind
    finally:
        convlab.set_num_threads(before)
    if torch is not None:
        t = getattr(torch.nn, f"Conv{nd}d")(shape[1], c_out, 3, padding=1, **kwargs).double()
        t.load_state_dict({k: torch.from_numpy(np.array(v, np.float64)) for k, v in m.state_dict().items()})
        with torch.no_grad():
            want = t(torch.from_numpy(x.astype(np.float64))).numpy()
        assert_close(got, want, dtype, reduction=m.weight[0].size)


@pytest.mark.parametrize("kwargs", [dict(stride=2), dict(dilation=2), dict(groups=2), dict(kernel_size=(3, 5))])
def test_winograd_is_not_chosen_outside_3x3_stride_1(rng, simd_level, kwargs):
    kwargs = dict(dict(kernel_size=3, padding=1), **kwargs)
    m = nn.Conv2d(32, 32, **kwargs)
    m(rng.standard_normal((1, 32, 30, 30)).astype(np.float32))
    # groups=2: 16 output channels per group, a stride-1 layer for conv_rows; 3x3 s2, dilated 3x3 and 3x5 kernels
    # put 2.25, 9 and 15 copies of the input in im2col's columns: conv_blocked at x86-64-v4 (and the 3x5 kernel,
    # stride 1 and 5 wide, at x86-64-v3), else the GEMM
    blocked = simd_level == "x86-64-v4" or (simd_level == "x86-64-v3" and kwargs["kernel_size"] == (3, 5))
    assert _plan_kind(m) == ("_rows_runner" if kwargs.get("groups") == 2
                             else "_blocked_runner" if blocked else "_gemm_runner")


@pytest.mark.parametrize("path_name", ["winograd", "winograd4"])
@pytest.mark.parametrize("mode", ["zeros", "reflect"])
@pytest.mark.parametrize("nd", [2, 3])
def test_winograd_path_puts_nonfinite_inputs_where_torch_does(monkeypatch, mode, path_name, nd):
    """The transforms would smear an inf over its whole 4x4 tile (inf - inf = NaN); such calls go
    through the exact GEMM path instead."""
    if torch is None:
        pytest.skip("PyTorch 2.13 (the parity oracle) is not installed")
    for name, value in PATHS[path_name].items():
        monkeypatch.setattr(conv_ops, name, value)
    x = np.random.default_rng(5).standard_normal((2, 4, 3, 9, 8) if nd == 3 else (2, 4, 9, 8))
    depth = (lambda d: (d,)) if nd == 3 else (lambda d: ())
    x[(0, 1, *depth(1), 4, 4)] = np.inf
    x[(1, 2, *depth(2), 0, 7)] = -np.inf
    x[(1, 3, *depth(0), 6, 2)] = np.nan
    m = getattr(nn, f"Conv{nd}d")(4, 6, 3, padding=1, padding_mode=mode, dtype=np.float64)
    t = getattr(torch.nn, f"Conv{nd}d")(4, 6, 3, padding=1, padding_mode=mode).double()
    t.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in m.state_dict().items()})
    with np.errstate(invalid="ignore"):
        got = m(x)
        finite = m(np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0))
    assert _plan_kind(m) == "_winograd_runner"
    want = t(torch.from_numpy(x)).detach().numpy()
    for test in (np.isnan, np.isposinf, np.isneginf):
        np.testing.assert_array_equal(test(got), test(want), err_msg=test.__name__)
    assert np.isfinite(finite).all()
    ok = np.isfinite(want)
    np.testing.assert_allclose(got[ok], want[ok], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (3, 5, 7), (4, 9, 24), (5, 13, 49), (8, 72, 100), (16, 400, 77),
                                   (7, 3, 200), (2, 0, 9), (9, 31, 8), (6, 2, 23)])
def test_gemm_small_matches_numpy(rng, dtype, m, k, n):
    """cl_gemm_small (conv_gemm's GEMM for few output channels per group) at this SIMD level: blocks of
    4 rows x 3 vectors, one vector, single columns, and a last block of fewer than 4 rows."""
    _check_gemm_small(rng, dtype, m, k, n)


def _check_gemm_small(rng, dtype, m, k, n):
    """_kernels.gemm_small on random (m, k) @ (k, n), plain and accumulated into random C, against NumPy in
    float64."""
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    c0 = rng.standard_normal((m, n)).astype(dtype)
    want = a.astype(np.float64) @ b.astype(np.float64)
    c = c0.copy()
    _kernels.gemm_small(a, b, c)
    assert_close(c, want, dtype, reduction=max(k, 1))
    c = c0.copy()
    _kernels.gemm_small(a, b, c, accumulate=True)
    assert_close(c, want + c0, dtype, reduction=max(k, 1))


@pytest.mark.parametrize("groups,c_out,small", [(1, 16, True), (1, 17, False), (4, 64, True), (2, 8, True),
                                                 (1, 32, False)])
def test_small_gemm_is_chosen_by_output_channels_per_group(rng, monkeypatch, groups, c_out, small):
    monkeypatch.setattr(conv_ops, "ROWS_KERNEL", False)      # (else conv_rows takes these layers)
    m = nn.Conv2d(8, c_out, 3, stride=2, groups=groups)
    x = rng.standard_normal((2, 8, 20, 20)).astype(np.float32)
    got = m(x)
    (plan, _, _), = m._plans.values()
    assert plan.run.small_gemm is small
    want = ref.conv_nd(x.astype(np.float64), m.weight.astype(np.float64), m.bias, m.stride, m.padding, m.dilation,
                       groups)
    assert_close(got, want, np.float32, reduction=m.weight[0].size)


# conv_rows at column stride 2 (_phase_pair): each input row split into its even and odd columns in one pass
# (cl_deinterleave: whole vectors of pairs, the last moved back to end at the row's last pair; fewer pairs than a
# vector one by one), the cells only one phase holds and the padding cell by cell. Widths put the pairs both
# phases hold around 1, 2 and 4 vectors (16 float32 lanes at x86-64-v4, 8 below; float64 half that); the left
# padding's parity decides which phase takes the even columns. The output widths also end cl_gemm_rows' rows
# on a vector, one past it and short of it (its last vector moved back), and cl_bias_rows' copy-out likewise.
PHASE_PAIR_CASES = [
    # width, kernel width, left/right padding
    (3, 3, 2),          # more padding than input: the phases share no pair (no vector call)
    (8, 3, 1),          # 3 pairs: cell by cell; output width 4
    (15, 3, 0),         # 7 / 6 pairs (odd width: the odd phase holds one pair fewer)
    (30, 3, 1),         # 14 / 15 pairs; output width 15
    (32, 2, 0),         # 16 pairs: one float32 vector at x86-64-v4, output width 16
    (33, 3, 0),         # 16 / 15 pairs
    (34, 3, 2),         # 17 pairs: a vector and one moved back by 15; output width 18
    (35, 5, 2),
    (65, 3, 1),         # 32 / 33 pairs; output width 33
    (66, 4, 3),
    (67, 3, 0),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("width,kw,pw", PHASE_PAIR_CASES)
def test_conv_rows_splits_rows_into_both_column_phases_at_once(rng, monkeypatch, dtype, mode, width, kw, pw):
    monkeypatch.setattr(conv_ops, "DIRECT_MAX_MACS", 0)
    monkeypatch.setattr(conv_ops, "PARALLEL_MIN_MACS", 0)
    m = nn.Conv2d(4, 6, (3, kw), stride=2, padding=(1, pw), groups=2, padding_mode=mode, dtype=dtype)
    x = rng.standard_normal((2, 4, 5, width)).astype(dtype)
    got = m(x)
    assert _plan_kind(m) == "_rows_runner"
    want = ref.conv_nd(x.astype(np.float64), m.weight.astype(np.float64), m.bias, m.stride, m.padding, m.dilation,
                       2, padding_mode=mode)
    assert_close(got, want, dtype, reduction=m.weight[0].size)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("width", [30, 32, 33, 34, 35, 66, 67])
def test_winograd_splits_wide_rows_by_vectors(rng, monkeypatch, dtype, width):
    """Winograd F(2x2)'s band rows are split into even and odd columns by the same cl_deinterleave: rows of
    14-33 column pairs cross its vector boundaries (the cases above stay under one vector there)."""
    for name, value in PATHS["winograd"].items():
        monkeypatch.setattr(conv_ops, name, value)
    m = nn.Conv2d(4, 8, 3, padding=1, padding_mode="reflect", dtype=dtype)
    x = rng.standard_normal((2, 4, 6, width)).astype(dtype)
    got = m(x)
    assert _plan_kind(m) == "_winograd_runner"
    want = ref.conv_nd(x.astype(np.float64), m.weight.astype(np.float64), m.bias, m.stride, m.padding, m.dilation,
                       1, padding_mode="reflect")
    assert_close(got, want, dtype, reduction=m.weight[0].size)


# im2col's two row copies (_gather in _kernels.pyx): kernel rows wider than the column stride are copied from each
# input row's column phases (_gather_rows), the others tap by tap (_gather_taps). Each case sits on one side of
# that rule or on an edge of the phase rows.
GATHER_CASES = [
    # nd, size, kernel, stride, padding, dilation, mode
    (1, (3,), 3, 2, 2, 1, "reflect"),         # rows: phase 1 could run past the reflected edge (only what taps read)
    (1, (40,), 9, 4, 3, 1, "circular"),       # rows: 4 phases, two taps each
    (1, (3000,), 5, 2, 2, 1, "zeros"),        # rows: a long row (phase rows of 1500 cells)
    (1, (11,), 3, 2, 1, 2, "replicate"),      # rows: dilation 2, stride 2: every tap in phase 0, phase 1 unread
    (1, (12,), 2, 2, 0, 1, "zeros"),          # taps: kernel == stride
    (1, (12,), 3, 3, 1, 2, "reflect"),        # taps: kernel == stride, dilated
    (2, (9, 12), (4, 4), 2, 1, 1, "zeros"),   # rows: DCGAN discriminator's 4x4 s2 p1
    (2, (15, 14), 7, 2, 3, 1, "replicate"),   # rows: ResNet's 7x7 s2 p3 stem
    (2, (8, 9), (1, 7), 1, (0, 3), 1, "circular"),   # rows: Inception's 1x7, stride 1
    (2, (8, 9), (7, 1), 1, (3, 0), 1, "reflect"),    # taps: 7x1 (one tap per row)
    (2, (9, 9), 1, 2, 0, 1, "zeros"),         # point (1x1, no padding): s2, 5-cell rows
    (2, (9, 9), 1, (2, 1), 0, 1, "zeros"),    # point: every other row, each copied whole
    (2, (5, 10), 1, (1, 3), 0, 1, "zeros"),   # point: column stride 3
    (3, (5, 6, 7), 1, (2, 1, 2), 0, 1, "zeros"),  # point: depth stride 2, output rows across depth planes
    (1, (20,), 1, 3, 0, 1, "zeros"),          # point: 1-d, stride 3
    (2, (6, 7), 1, 1, 1, 1, "reflect"),       # taps: 1x1 with padding (the point copy takes none)
    # stride-2 row copies (cl_copy_f/d): a vector of cells and more by shuffles, the last vector moved back
    (2, (3, 10), 1, 2, 0, 1, "zeros"),        # taps: 5 cells (float64: one vector + the last moved back by 3)
    (2, (3, 16), 1, 2, 0, 1, "zeros"),        # taps: 8 cells (float32: exactly one vector, copied cell by cell)
    (2, (3, 17), 1, 2, 0, 1, "zeros"),        # taps: 9 cells (float32: one vector + the last moved back by 7)
    (2, (3, 33), 1, 2, 0, 1, "zeros"),        # taps: 17 cells (two vectors + the last)
    (1, (36,), 3, 2, 1, 1, "reflect"),        # rows: phase rows of 17 and 18 cells, reflected edges
    (3, (4, 6, 7), (2, 3, 3), (1, 2, 2), 1, 1, "circular"),   # rows, 3-d
]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batched", ["gemm", "gemm-blas-batched", "gemm-rows-batched"])
@pytest.mark.parametrize("nd,size,kernel,stride,padding,dilation,mode", GATHER_CASES)
def test_im2col_row_copies_match_reference_and_torch(rng, monkeypatch, threads, dtype, batched, nd, size, kernel,
                                                     stride, padding, dilation, mode):
    """The GEMM path (im2col per tile; batched, several samples side by side in one tile, multiplied by BLAS and
    copied out, or by cl_gemm_rows straight into the output: 20 output channels, blocks of 8, 8 and 4) against the
    reference loops and torch, and Unfold (the same gather) against the reference, on both row copies."""
    settings = PATHS[batched]
    for name, value in dict(settings, WINOGRAD=False).items():
        monkeypatch.setattr(conv_ops, name, value)
    before = convlab.get_num_threads()
    convlab.set_num_threads(threads)
    try:
        m = getattr(nn, f"Conv{nd}d")(3, 20, kernel, stride=stride, padding=padding, dilation=dilation,
                                      padding_mode=mode, dtype=dtype)
        x = rng.standard_normal((3, 3, *size)).astype(dtype)
        got = m(x)
        assert _plan_kind(m) == "_gemm_runner"
        (plan, _, _), = m._plans.values()
        assert plan.run.batch_rows == (batched == "gemm-rows-batched" and dtype == np.float32 and threads == 1)
        want = ref.conv_nd(x.astype(np.float64), m.weight.astype(np.float64), m.bias, m.stride, m.padding,
                           m.dilation, 1, padding_mode=mode)
        assert_close(got, want, dtype, reduction=m.weight[0].size)
        if torch is not None:
            t = getattr(torch.nn, f"Conv{nd}d")(3, 20, kernel, stride=stride, padding=padding, dilation=dilation,
                                                padding_mode=mode).double()
            with torch.no_grad():
                t.weight.copy_(torch.from_numpy(m.weight.astype(np.float64)))
                t.bias.copy_(torch.from_numpy(m.bias.astype(np.float64)))
                assert_close(got, t(torch.from_numpy(x.astype(np.float64))).numpy(), dtype,
                             reduction=m.weight[0].size)
        if nd == 2 and mode == "zeros":
            cols = nn.functional.unfold(x, kernel, dilation=dilation, padding=padding, stride=stride)
            assert_close(cols, ref.unfold_nd(x, kernel, dilation=dilation, padding=padding, stride=stride), dtype)
    finally:
        convlab.set_num_threads(before)


@pytest.mark.parametrize("kernel,stride,padding,height", [((2049, 2), 1, 0, 2050), ((2049, 3), (1, 2), (1, 1), 2050),
                                                          ((1024, 3), 1, (0, 1), 1028)])
def test_im2col_of_kernels_taller_than_its_offset_table(rng, kernel, stride, padding, height):
    """Kernels of more rows than _gather keeps source offsets for (GATHER_OFFSETS = 2048: the offsets are then
    worked out row by row; 1024 rows: two output rows per chunk, 5 output rows), through Unfold and the GEMM
    path. (Small outputs: the reference loops visit every (output, tap) pair.)"""
    x = rng.standard_normal((2, 2, height, 6))
    cols = nn.functional.unfold(x, kernel, padding=padding, stride=stride)
    assert_close(cols, ref.unfold_nd(x, kernel, padding=padding, stride=stride), np.float64)
    w = rng.standard_normal((3, 2) + kernel)
    got = nn.functional.conv2d(x, w, stride=stride, padding=padding)
    assert_close(got, ref.conv_nd(x, w, None, stride, padding), np.float64, reduction=w[0].size)


@pytest.mark.parametrize("n,groups,length,threads", [(20, 1, 30, 2), (7, 1, 10, 2), (9, 3, 10, 2), (20, 1, 24, 2),
                                                     (64, 1, 10, 2), (20, 1, 30, 1), (3, 1, 10, 2)])
def test_samples_per_gemm_gives_every_thread_as_many_blocks(n, groups, length, threads):
    """Several small samples share a GEMM, but never so unevenly that one thread waits out another's extra
    block (20 samples in blocks of 8 would be 3 tasks for 2 threads); columns stay within BATCH_COLUMNS."""
    s = conv_ops._samples_per_gemm(n, groups, length, threads)
    assert 1 <= s <= n and (s == 1 or s * length <= conv_ops.BATCH_COLUMNS)
    tasks = -(-n // s) * groups
    if threads > 1 and tasks < n * groups:                    # not already one sample per task
        assert tasks % threads == 0, (s, tasks)


@pytest.mark.parametrize("n,length", [(8, 49), (8, 100), (30, 49), (8, 128), (8, 129), (8, 196), (3, 10), (1, 10)])
def test_samples_per_gemm_fill_batch_columns_up_to_batch_max_length(n, length):
    """At one thread, outputs of up to BATCH_MAX_LENGTH cells share a GEMM with as many samples as fit
    BATCH_COLUMNS columns (or all of them); longer outputs keep a GEMM each."""
    s = conv_ops._samples_per_gemm(n, 1, length, 1)
    if length > conv_ops.BATCH_MAX_LENGTH:
        assert s == 1
    else:
        assert 2 <= s * length <= conv_ops.BATCH_COLUMNS or n == 1
        assert s == n or (s + 1) * length > conv_ops.BATCH_COLUMNS, s


@pytest.mark.parametrize("row_bytes,rows,tasks,threads,row_len", [
    (3456 * 13 * 4, 13, 8, 1, 13),       # AlexNet 384 -> 256 on 13x13: 5 rows fit the workspace, 65 columns
    (4608 * 28 * 4, 28, 4, 1, 28),       # VGG-16 512 -> 512 on 28x28
    (2592 * 17 * 4, 17, 8, 1, 17),       # Inception 3x3 s2 on 35x35: 17 output rows
    (2592 * 17 * 4, 17, 8, 2, 17),
    (64 * 3 * 28 * 4, 224, 1, 2, 28),    # R(2+1)D 3x1x1 on (8, 28, 28), one sample: 224 rows
    (64 * 3 * 28 * 4, 224, 1, 1, 28),
    (1152 * 14 * 4, 14, 8, 2, 14),       # fits: one tile per sample
    (0, 20, 3, 2, 21),                   # a 1x1 layer read in place (no workspace), 3 samples
    (0, 7, 1, 2, 1), (100, 7, 3, 2, 1), (10, 1, 1, 2, 50), (10, 5, 5, 3, 1), (40_000, 97, 2, 2, 3),
])
def test_rows_per_tile_fills_wide_even_and_balanced_tiles(row_bytes, rows, tasks, threads, row_len):
    """Tiles of a sample's output rows: WIDE_TILE_COLUMNS columns or more where rows that fit the workspace
    would make a GEMM narrower than MIN_TILE_COLUMNS; with EVEN_TILES as many tiles as without it, each as even
    as it goes (a row fewer per tile would need another tile); with few tiles per thread, a count every thread
    gets as many of (or one row per tile)."""
    def tiles(per):
        return -(-rows // per)
    per = conv_ops._rows_per_tile(row_bytes, rows, tasks, threads, row_len)
    assert 1 <= per <= rows
    assert per == 1 or tiles(per - 1) > tiles(per), per           # as even as it goes
    fit = max(1, conv_ops.WORKSPACE_BYTES // max(row_bytes, 1))
    if threads == 1:
        if fit * row_len < conv_ops.MIN_TILE_COLUMNS:             # the wide rule: deep layers
            want = min(rows, -(-conv_ops.WIDE_TILE_COLUMNS // row_len))
            assert tiles(per) == tiles(want), (per, want)
            assert 2 * per * row_len >= conv_ops.WIDE_TILE_COLUMNS or per == rows   # (tiles of 9 + 8 for 16 + 1)
        else:
            assert tiles(per) == tiles(min(fit, rows)), (per, fit)
    else:
        total = tasks * tiles(per)
        if total < conv_ops.BALANCE_MAX_TILES * threads:
            assert total % threads == 0 or per == 1, (per, total)
        assert total >= min(2 * threads, tasks * rows), (per, total)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("wide,even", [(256, True), (128, False)])
@pytest.mark.parametrize("shape,c_out,kernel,stride,padding", [
    ((3, 24, 13, 13), 20, 3, 1, 1),      # 13 rows of 13: 5 fit the workspace set below (65 columns): tiles of
                                         # 5, 5, 3 (128) or a sample per tile (256; 7 + 6 at 2 threads)
    ((2, 16, 41, 9), 12, 3, 2, 1),       # 21 rows of 5 (s2): 19 + 2 (128) or a sample per tile (256)
    ((1, 8, 4, 30, 7), 8, (3, 1, 1), 1, (1, 0, 0)),   # 3-d, one sample of 120 rows: 83 + 37 or 60 + 60
    ((1, 8, 12, 30, 7), 8, (3, 1, 1), 1, (1, 0, 0)),  # ... 360 rows: 5 tiles of 72, or 6 of 60 at 2 threads
])
def test_gemm_tiles_of_the_wide_even_and_balanced_rule_match_the_reference(rng, monkeypatch, threads, wide, even,
                                                                              shape, c_out, kernel, stride,
                                                                              padding):
    """conv_gemm's tiles as _rows_per_tile makes them (WIDE_TILE_COLUMNS, EVEN_TILES, BALANCE_MAX_TILES) and as
    before (128 columns, uneven): the same result as the reference loops and torch, at 1 and 2 threads, with a
    workspace made small enough that the layers' rows do not fit it."""
    for name, value in dict(DIRECT_MAX_MACS=0, PARALLEL_MIN_MACS=0, ROWS_KERNEL=False, BLOCKED=False,
                            WINOGRAD=False, ROW_BANDS=False, BATCH_MAX_LENGTH=0, SMALL_GEMM_MAX_ROWS=0,
                            WORKSPACE_BYTES=24 * 9 * 13 * 4 * 5 + 1, MIN_TILE_COLUMNS=wide // 2 + 1,
                            WIDE_TILE_COLUMNS=wide, EVEN_TILES=even).items():
        monkeypatch.setattr(conv_ops, name, value)
    before = convlab.get_num_threads()
    convlab.set_num_threads(threads)
    try:
        nd = len(shape) - 2
        m = getattr(nn, f"Conv{nd}d")(shape[1], c_out, kernel, stride=stride, padding=padding)
        x = rng.standard_normal(shape).astype(np.float32)
        got = m(x)
        assert _plan_kind(m) == "_gemm_runner"
        want = ref.conv_nd(x.astype(np.float64), m.weight.astype(np.float64), m.bias, m.stride, m.padding)
        assert_close(got, want, np.float32, reduction=m.weight[0].size)
        if torch is not None:
            t = getattr(torch.nn.functional, f"conv{nd}d")
            tw = t(torch.from_numpy(x.astype(np.float64)), torch.from_numpy(m.weight.astype(np.float64)),
                   torch.from_numpy(m.bias.astype(np.float64)), stride=stride, padding=padding)
            assert_close(got, tw.numpy(), np.float32, reduction=m.weight[0].size)
    finally:
        convlab.set_num_threads(before)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,size,stride,kinds", [
    # kinds: the runner at 1 and at 2 threads
    (8, (7, 7), 1, ("_gemm_runner",) * 2),    # small planes: the samples' columns side by side in one GEMM
    (8, (7, 7), 2, ("_gemm_runner",) * 2),    # ... strided: the same, every other cell gathered
    (4, (5, 9, 4), 1, ("_gemm_runner",) * 2),  # 3-d, 180 cells (BATCH_MAX_LENGTH 180 here): 2 samples per GEMM
    (1, (7, 7), 1, ("_gemm_runner", "ConvPlan")),   # one sample: its columns read in place; at 2 threads a
                                                    # matmul (BLAS's threads split the sample's GEMM)
    (4, (12, 12), 1, ("_gemm_runner",) * 2),  # 144 cells: a GEMM per sample, its columns read in place
    (2, (20, 21), 1, ("_gemm_runner",) * 2),  # ... 2 threads: each sample in 2 tiles of 10 rows
    (3, (20, 21), 1, ("_gemm_runner",) * 2),  # ... 3 samples: tiles of 10 rows (6 tiles, 3 per thread)
])
def test_pointwise_layers_take_batched_or_in_place_gemms(rng, monkeypatch, threads, dtype, n, size, stride, kinds):
    """1x1(x1) layers: several samples on small planes go to conv_gemm's batched GEMMs (the 1x1 gather,
    _gather_point), a sample or more per thread to its GEMMs on tiles read in place, fewer samples than threads to
    one matmul per sample; each matches the reference and torch."""
    monkeypatch.setattr(conv_ops, "DIRECT_MAX_MACS", 0)
    monkeypatch.setattr(conv_ops, "PARALLEL_MIN_MACS", 0)
    monkeypatch.setattr(conv_ops, "ROWS_KERNEL", False)      # (conv_rows takes 40 outputs on AVX-512)
    if len(size) == 3:
        monkeypatch.setattr(conv_ops, "BATCH_MAX_LENGTH", 180)
    before = convlab.get_num_threads()
    convlab.set_num_threads(threads)
    try:
        m = getattr(nn, f"Conv{len(size)}d")(24, 40, 1, stride=stride, dtype=dtype)
        x = rng.standard_normal((n, 24, *size)).astype(dtype)
        got = m(x)
        want = ref.conv_nd(x.astype(np.float64), m.weight.astype(np.float64), m.bias, m.stride, 0)
        assert_close(got, want, dtype, reduction=24)
        if torch is not None:
            t = getattr(torch.nn.functional, f"conv{len(size)}d")
            tw = t(torch.from_numpy(x.astype(np.float64)), torch.from_numpy(m.weight.astype(np.float64)),
                   torch.from_numpy(m.bias.astype(np.float64)), stride=stride)
            assert_close(got, tw.numpy(), dtype, reduction=24)
        assert _plan_kind(m) == kinds[threads - 1]
    finally:
        convlab.set_num_threads(before)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,samples,groups,c_out,size,threads", [
    (5, 2, 1, 13, (3, 5), 1),       # 15-cell planes (shorter than a vector), a last block of one sample, 8 + 4 + 1 rows
    (4, 4, 2, 18, (6, 7), 2),       # 42-cell planes, 2 groups of 9 outputs on 2 threads
    (3, 3, 1, 8, (1, 40), 1),       # one 40-cell row per sample: whole vectors and a moved-back one
])
def test_conv_gemm_batched_samples_by_gemm_rows_match_reference(rng, dtype, n, samples, groups, c_out, size, threads):
    """conv_gemm's batched samples with batch_rows (cl_gemm_rows storing each sample's sums into the output, a
    sample's C_out x L cells apart), called directly in both dtypes (the planner takes it for float32 only), into an
    output guarded by NaN samples before and after: every real cell written, nothing else."""
    c_in = 3 * groups
    x = rng.standard_normal((n, c_in, 1) + size).astype(dtype)
    w = rng.standard_normal((c_out, 3 * 9)).astype(dtype)
    b = rng.standard_normal(c_out).astype(dtype)
    blocks = (1, size[0], size[1])
    geometry = ((1, 3, 3), (1, 1, 1), (0, 1, 1), (1, 1, 1), blocks, groups)
    L = size[0] * size[1]
    guarded = np.full((n + 2, c_out, L), np.nan, dtype)
    ws = np.empty((threads, 27 * _odd_lines(samples * L, dtype)), dtype)   # the columns only: no result block
    _kernels.conv_gemm(x, w, b, guarded[1:-1], *geometry, 0, size[0], ws, threads, samples, batch_rows=True)
    want = ref.conv_nd(x[:, :, 0].astype(np.float64), w.reshape(c_out, 3, 3, 3).astype(np.float64), b, (1, 1),
                       (1, 1), groups=groups)
    assert_close(guarded[1:-1], want.reshape(n, c_out, L), dtype, reduction=27)
    assert np.isnan(guarded[0]).all() and np.isnan(guarded[-1]).all()


def _odd_lines(n, dtype):
    """n elements in whole 64-byte cache lines, an odd count of them (the row stride conv_gemm's columns take)."""
    line = 64 // np.dtype(dtype).itemsize
    lines = -(-n // line)
    return (lines + (lines > 0 and lines % 2 == 0)) * line


def test_lined_rounds_up_to_an_odd_count_of_cache_lines():
    """lined(n, itemsize): the row stride conv_gemm gives its gathered columns, n elements rounded up to whole
    64-byte lines (16 floats, 8 doubles), an odd count of them (rows an even count of lines apart fall into a
    fraction of the cache's sets when read down a column); bad arguments raise."""
    for n, floats, doubles in [(0, 0, 0), (1, 16, 8), (8, 16, 8), (9, 16, 24), (16, 16, 24), (17, 48, 24),
                               (392, 400, 392), (400, 400, 408)]:
        assert _kernels.lined(n, 4) == floats and _kernels.lined(n, 8) == doubles
    for n, itemsize in [(-1, 4), (3, 0), (3, 3), (3, 128)]:
        with pytest.raises(ValueError, match=r"lined: n must be >= 0 and itemsize divide 64"):
            _kernels.lined(n, itemsize)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemm_workspace_counts_the_column_rows_and_the_result_block(dtype):
    """gemm_workspace (the planner's workspace row and conv_gemm's check): kk rows of gathered columns in an odd
    count of lines, 2 samples of 35 cells side by side (+ the og rows of BLAS's result block without batch_rows),
    or one tile's cells; bad sizes raise."""
    size = np.dtype(dtype).itemsize
    assert _kernels.gemm_workspace(27, 4, 2, 35, 0, False, size) == (27 + 4) * _odd_lines(70, dtype)
    assert _kernels.gemm_workspace(27, 4, 2, 35, 0, True, size) == 27 * _odd_lines(70, dtype)
    assert _kernels.gemm_workspace(27, 4, 1, 35, 18, False, size) == 27 * _odd_lines(18, dtype)
    assert _kernels.gemm_workspace(27, 4, 1, 35, 0, True, size) == 0
    for bad in [(-1, 4, 1, 35, 18), (27, 4, 0, 35, 18), (27, 4, 1, 35, -1)]:
        with pytest.raises(ValueError, match=r"gemm_workspace: needs sizes >= 0, samples >= 1"):
            _kernels.gemm_workspace(*bad, False, size)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nd,shape,kernel,stride,threads,tiling", [
    (2, (6, 6, 5, 5), 3, 1, 1, "samples"),          # 25-cell planes: 6 samples side by side (150 columns)
    (2, (8, 6, 9, 5), 3, 2, 2, "samples"),          # ... 15 cells a plane, stride 2, blocks of samples on 2 threads
    (1, (1, 6, 61), 3, 1, 2, "columns"),            # one sample's 61-cell row in two tiles for 2 threads
    (2, (2, 6, 19, 21), 3, 1, 2, "rows"),           # tiles of output rows (21 cells each)
    (3, (1, 6, 5, 7, 9), 3, 2, 1, "rows"),          # 3-d, strided
])
def test_conv_gemm_gathers_column_rows_onto_cache_lines(rng, monkeypatch, dtype, nd, shape, kernel, stride, threads,
                                                          tiling):
    """The planner gives conv_gemm a workspace on a cache line whose per-thread rows are whole lines, so that
    with the kernel's row stride (lined) every gathered row of columns starts on a line (a 64-byte vector
    across two lines costs two loads: the small GEMM's strips ran 0.89x as fast); each tiling's result
    against the reference and torch. The sizes are chosen so that no unpadded row length is a whole line."""
    for name, value in PATHS["gemm-rows-batched" if tiling == "samples" else "gemm"].items():
        monkeypatch.setattr(conv_ops, name, value)
    for name in ("BLOCKED", "WINOGRAD", "ROW_BANDS"):
        monkeypatch.setattr(conv_ops, name, False)
    monkeypatch.setattr(conv_ops, "MIN_TILE_COLUMNS", 1)
    if tiling == "rows":
        monkeypatch.setattr(conv_ops, "WORKSPACE_BYTES", 1)         # the smallest tiles: a row or two each
    seen = []
    real = _kernels.conv_gemm

    class Spy:                                       # the workspace of each conv_gemm call
        def __getitem__(self, spec):
            def kern(*args, **kwargs):
                seen.append(args[12])
                return real[spec](*args, **kwargs)
            return kern
    monkeypatch.setattr(_kernels, "conv_gemm", Spy())
    m = getattr(nn, f"Conv{nd}d")(6, 5, kernel, stride=stride, padding=1, dtype=dtype)
    x = rng.standard_normal(shape).astype(dtype)
    before = convlab.get_num_threads()
    try:
        convlab.set_num_threads(threads)
        got = m(x)
        run = m._plans[next(iter(m._plans))][0].run
    finally:
        convlab.set_num_threads(before)
    assert run.__qualname__.split(".")[0] == "_gemm_runner"
    assert {"samples": run.samples > 1, "columns": run.col_tile > 0,
            "rows": run.samples == 1 and run.col_tile == 0}[tiling]
    ws, = seen
    assert ws.ctypes.data % 64 == 0 and ws.strides[0] % 64 == 0, (ws.ctypes.data % 64, ws.strides)
    want = ref.conv_nd(x.astype(np.float64), m.weight.astype(np.float64), m.bias, m.stride, m.padding, m.dilation, 1)
    assert_close(got, want, dtype, reduction=m.weight[0].size)
    if torch is not None:
        t = getattr(torch.nn, f"Conv{nd}d")(6, 5, kernel, stride=stride, padding=1).to(
            torch.float64 if dtype == np.float64 else torch.float32)
        t.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in m.state_dict().items()})
        with torch.no_grad():
            assert_close(got, t(torch.from_numpy(x)).numpy(), dtype, reduction=m.weight[0].size)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("samples,batch_rows", [(1, False), (2, False), (2, True)])
def test_conv_gemm_is_right_on_a_workspace_off_a_cache_line(rng, dtype, samples, batch_rows):
    """A workspace that starts off a cache line (one element in) and rows longer than needed only costs time:
    conv_gemm's result is the reference's for row tiles, batched samples and batch_rows."""
    x = rng.standard_normal((2, 3, 1, 5, 7)).astype(dtype)
    w = rng.standard_normal((4, 27)).astype(dtype)
    b = rng.standard_normal(4).astype(dtype)
    geometry = ((1, 3, 3), (1, 1, 1), (0, 1, 1), (1, 1, 1), (1, 5, 7), 1)
    row = (27 + 4) * 80 + 3                 # the columns of 2 samples (70 cells, 5 lines), BLAS's result block
    ws = np.empty(2 * row + 1, dtype)[1:].reshape(2, row)
    assert ws.ctypes.data % 64 != 0
    out = np.empty((2, 4, 35), dtype)
    _kernels.conv_gemm(x, w, b, out, *geometry, 0, 5 if samples > 1 else 2, ws, 2, samples, batch_rows=batch_rows)
    want = ref.conv_nd(x[:, :, 0].astype(np.float64), w.reshape(4, 3, 3, 3).astype(np.float64), b, (1, 1), (1, 1))
    assert_close(out, want.reshape(2, 4, 35), dtype, reduction=27)


def test_conv_gemm_refuses_a_workspace_smaller_than_its_tiles(rng):
    """conv_gemm checks its workspace before the loops that run without bounds checks: a row per thread of the
    tile's columns (here 3 channels x 18 cells, each channel's row in an odd count of 64-byte cache lines: 48
    floats), and none needed for a 1x1 layer read in place."""
    x = rng.standard_normal((2, 3, 1, 3, 4)).astype(np.float32)
    out = np.empty((2, 5, 12), np.float32)
    geometry = ((1, 1, 1), (1, 1, 1), (0, 0, 0), (1, 1, 1), (1, 3, 4), 1)
    w1 = rng.standard_normal((5, 3)).astype(np.float32)
    _kernels.conv_gemm(x, w1, None, out, *geometry, 0, 3, np.empty((1, 1), np.float32), 1)   # 1x1: in place
    assert_close(out, np.einsum("oc,ncl->nol", w1, x.reshape(2, 3, 12)), np.float32)
    padded = ((1, 1, 1), (1, 1, 1), (0, 0, 1), (1, 1, 1), (1, 3, 6), 1)       # padded: gathered, 3 x 18 cells
    with pytest.raises(ValueError, match=r"workspace \(1, 143\) is smaller than \(1, 144\)"):
        _kernels.conv_gemm(x, w1, None, np.empty((2, 5, 18), np.float32), *padded, 0, 3,
                           np.empty((1, 143), np.float32), 1)
    with pytest.raises(ValueError, match=r"workspace \(1, 144\) is smaller than \(2, 144\)"):
        _kernels.conv_gemm(x, w1, None, np.empty((2, 5, 18), np.float32), *padded, 0, 3,
                           np.empty((1, 144), np.float32), 2)
    out1 = np.empty((2, 5, 18), np.float32)
    _kernels.conv_gemm(x, w1, None, out1, *padded, 0, 3, np.empty((1, 144), np.float32), 1)
    # two samples per GEMM: their columns (3 rows of 2 x 18 = 36 cells, 3 lines: 48) and BLAS's result block (5
    # such rows), or with batch_rows (cl_gemm_rows storing into the output) the columns alone
    out2 = np.empty((2, 5, 18), np.float32)
    with pytest.raises(ValueError, match=r"workspace \(1, 383\) is smaller than \(1, 384\)"):
        _kernels.conv_gemm(x, w1, None, out2, *padded, 0, 3, np.empty((1, 383), np.float32), 1, 2)
    with pytest.raises(ValueError, match=r"workspace \(1, 143\) is smaller than \(1, 144\)"):
        _kernels.conv_gemm(x, w1, None, out2, *padded, 0, 3, np.empty((1, 143), np.float32), 1, 2, batch_rows=True)
    out3 = np.empty((2, 5, 18), np.float32)
    _kernels.conv_gemm(x, w1, None, out3, *padded, 0, 3, np.empty((1, 384), np.float32), 1, 2)
    _kernels.conv_gemm(x, w1, None, out2, *padded, 0, 3, np.empty((1, 144), np.float32), 1, 2, batch_rows=True)
    want = ref.conv_nd(x[:, :, 0].astype(np.float64), w1.reshape(5, 3, 1, 1).astype(np.float64), None, (1, 1),
                       (0, 1), groups=1)
    for got in (out1, out2, out3):
        assert_close(got, want.reshape(2, 5, 18), np.float32)


# --- F.pad by _kernels.pad_volume -----------------------------------------------------------------

def _pad_reference(x, pad, mode, value):
    """Every output cell from reference.pad_index per padded axis (the fill for 'constant' outside)."""
    npad = len(pad) // 2
    lefts = [pad[2 * j] for j in reversed(range(npad))]
    rights = [pad[2 * j + 1] for j in reversed(range(npad))]
    lead = x.shape[:x.ndim - npad]
    out = np.empty(lead + tuple(s + a + b for s, a, b in zip(x.shape[x.ndim - npad:], lefts, rights)), x.dtype)
    refmode = "zeros" if mode == "constant" else mode
    for idx in np.ndindex(*out.shape[x.ndim - npad:]):
        src = [ref.pad_index(i - a, s, refmode) for i, a, s in zip(idx, lefts, x.shape[x.ndim - npad:])]
        sel = (Ellipsis,) + idx
        out[sel] = value if any(v is None for v in src) else x[(Ellipsis,) + tuple(src)]
    return out


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("shape,pad", [
    ((2, 3, 5), (4, 0)),                            # 1-d: the largest reflect pad on one side
    ((2, 3, 5), (0, 5)),                            # ... the largest circular pad (== size)
    ((3, 4, 5), (1, 2, 3, 0)),                      # 2-d unbatched
    ((2, 2, 4, 5), (4, 4, 3, 3)),                   # 2-d batched, pads at the reflect limit (size - 1)
    ((1, 2, 3, 4, 5), (1, 0, 2, 1, 0, 2)),          # 3-d
    ((2, 3, 1, 6), (0, 0, 0, 0)),                   # nothing to pad: a copy
])
def test_pad_kernel_matches_reference_and_torch(monkeypatch, rng, threads, dtype, mode, shape, pad):
    """F.pad's kernel (one pass over the output, parallel over rows above PARALLEL_MIN_BYTES, forced here)
    against the reference index map and torch, on contiguous and strided inputs, at each mode's limits."""
    from convlab.nn import functional as F
    from convlab.ops import step1_pad
    monkeypatch.setattr(step1_pad, "PARALLEL_MIN_BYTES", 0)
    sizes = shape[::-1][:len(pad) // 2]             # the padded sizes, last dimension first, as pad lists them
    limit = {"reflect": -1, "circular": 0}.get(mode)
    if limit is not None and any(max(pad[2 * j:2 * j + 2]) > s + limit for j, s in enumerate(sizes)):
        pytest.skip(f"pad {pad} exceeds {mode}'s limit for sizes {sizes[::-1]} (an error: test_errors)")
    value = 0.5 if mode == "constant" else None
    before = convlab.get_num_threads()
    convlab.set_num_threads(threads)
    try:
        x = rng.standard_normal(shape).astype(dtype)
        for view in (x, np.flip(x, -1), np.asfortranarray(x)):
            got = F.pad(view, pad, mode=mode, value=value)
            want = _pad_reference(view, pad, mode, 0.5 if mode == "constant" else 0.0)
            np.testing.assert_array_equal(got, want)
            assert got.dtype == dtype
            if torch is not None:
                t = torch.nn.functional.pad(torch.from_numpy(np.ascontiguousarray(view)), pad, mode=mode,
                                            value=value)
                np.testing.assert_array_equal(got, t.numpy())
    finally:
        convlab.set_num_threads(before)


_NP_MODE = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _np_pad(x, pad, mode, value):
    """np.pad with torch's pad list (last dimension first): the second, independent oracle."""
    npad = len(pad) // 2
    widths = [(0, 0)] * (x.ndim - npad) + [(pad[2 * j], pad[2 * j + 1]) for j in reversed(range(npad))]
    kw = {"constant_values": value} if mode == "constant" else {}
    return np.pad(x, widths, mode=_NP_MODE[mode], **kw)


# each case takes a branch of cl_pad_rows / pad_volume (the comment says which)
PAD_ROW_CASES = [
    ((2, 3, 1), (1, 2)),                    # rows of one cell (reflect: an error, skipped)
    ((2, 3, 2), (2, 1)),                    # two cells: circular and reflect at their limits
    ((2, 3, 3), (2, 3)),                    # three cells, circular pad == size on the right
    ((3, 2, 7), (6, 6)),                    # a row shorter than one vector (float32), reflect at size - 1
    ((3, 2, 17), (9, 8)),                   # edges of >= 8 cells (vector fill / copy), a copy with a moved-back tail
    ((2, 2, 100), (40, 40)),                # the bench's 1-d reflect shape, scaled down: long mirrored edges
    ((2, 2, 1100), (3, 1030)),              # a row copied by memcpy (>= 1024 cells), circular edge >= 1024
    ((2, 3, 5, 7), (0, 0, 2, 3)),           # rows not padded: runs of rows as one copy, broken where rows wrap
    ((2, 2, 4, 6, 5), (0, 0, 0, 0, 2, 1)),  # only depth padded: whole planes, fill planes for 'constant'
    ((1, 2, 3, 4, 9), (0, 0, 4, 4, 0, 0)),  # rows padded by their count (circular == size), one run per plane
    ((1, 1, 3, 4, 5), (1, 2, 3, 0, 2, 2)),  # 3-d, every axis padded differently
    ((1, 40, 33), (5, 5, 5, 5)),            # unbatched 2-d, one plane: split into row blocks on 2 threads
    ((2, 3, 4, 5), (0, 0, 0, 0)),           # nothing padded: one copy
    ((1, 2, 6, 8), (1, 1, 1, 1)),           # rows of exactly one float32 vector
    # the same pad of 1, 2 or 3 on both sides of a row (cl_pad_rows' fixed-width edges)
    ((2, 3, 7, 9), (2, 2, 1, 1)),           # 2 each side, rows of 9 (one vector and a moved-back one)
    ((2, 2, 5, 4), (3, 3, 2, 2)),           # 3 each side of rows of 4 (shorter than a vector; reflect's limit)
    ((1, 2, 3, 4, 12), (1, 1, 2, 2, 1, 1)), # 1 each side, 3-d: fill rows and fill planes for 'constant'
    ((2, 3, 16), (3, 3)),                   # 1-d, 3 each side
    ((2, 2, 3, 23), (1, 1, 1, 1)),          # rows of 23: three vectors, the last moved back (float32); 6 float64 ones
    ((1, 2, 3, 24), (2, 2, 1, 1)),          # rows of 24: no moved-back vector (float32); 6 float64 vectors
    ((1, 1, 2, 3, 8), (3, 3, 1, 1, 1, 1)),  # rows of one float32 vector, two float64 ones, 3-d
    # middles of NV = ceil(W / VN) <= 4 vectors loaded whole (CL_PAD_MID; VN 8 for float32, 4 for float64),
    # longer ones two vectors a step; runs of rows with consecutive sources broken where the rows wrap
    ((1, 2, 3, 13), (1, 1, 2, 2)),          # NV 2 (float32) / 4 (float64), rows padded by 2
    ((1, 1, 4, 31), (3, 3, 1, 1)),          # NV 4 / two vectors a step and a moved-back last
    ((1, 1, 2, 40), (2, 2, 2, 2)),          # NV 5 / 10: two vectors a step for both
    ((2, 1, 3, 56), (2, 2, 3, 3)),          # rows padded by their count: runs of one row
    ((1, 1, 2, 64), (1, 1, 0, 0)),          # rows not padded: one run per plane
    ((1, 2, 3, 1023), (1, 1, 2, 2)),        # the longest row of the fixed-width loop
    ((1, 2, 2, 1024), (3, 3, 1, 1)),        # the shortest past it: CL_PADCOPY's memcpy
]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("shape,pad", PAD_ROW_CASES)
def test_pad_rows_match_numpy_and_torch(monkeypatch, rng, threads, dtype, mode, shape, pad):
    """cl_pad_rows' branches (short rows, long edges, memcpy rows, runs of unpadded rows, depth-only pads,
    row blocks) against np.pad and torch, on contiguous, reversed and transposed inputs, 1 and 2 threads."""
    from convlab.nn import functional as F
    from convlab.ops import step1_pad
    monkeypatch.setattr(step1_pad, "PARALLEL_MIN_BYTES", 0)
    sizes = shape[::-1][:len(pad) // 2]
    limit = {"reflect": -1, "circular": 0}.get(mode)
    if limit is not None and any(max(pad[2 * j:2 * j + 2]) > s + limit for j, s in enumerate(sizes)):
        pytest.skip(f"pad {pad} exceeds {mode}'s limit for sizes {sizes[::-1]} (an error: test_errors)")
    value = -1.5 if mode == "constant" else None
    before = convlab.get_num_threads()
    convlab.set_num_threads(threads)
    try:
        x = rng.standard_normal(shape).astype(dtype)
        for view in (x, x[..., ::-1], np.swapaxes(x, -1, -2).copy().swapaxes(-1, -2)):
            got = F.pad(view, pad, mode=mode, value=value)
            np.testing.assert_array_equal(got, _np_pad(view, pad, mode, -1.5))
            assert got.dtype == dtype and got.flags.c_contiguous
            if torch is not None:
                t = torch.nn.functional.pad(torch.from_numpy(view.copy()), pad, mode=mode, value=value)
                np.testing.assert_array_equal(got, t.numpy())
    finally:
        convlab.set_num_threads(before)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("p", [1, 2, 3])
def test_pad_rows_of_every_width_match_numpy_and_torch(monkeypatch, rng, threads, dtype, mode, p):
    """The same pad p on both sides of rows 4-45 cells wide (float32 vectors of 8, float64 of 4): rows shorter
    than a vector (the general loop), then rows written as whole vectors -- a first and a last vector holding
    the edges, K = (W + p) // VN - 1 middle vectors (none, one to four, or the loop past four, odd and even
    counts) and, where they leave cells uncovered, the row's last source vector once more. Five planes, so two
    threads split them unevenly, each thread's planes going to the row loop in one call."""
    from convlab.nn import functional as F
    from convlab.ops import step1_pad
    monkeypatch.setattr(step1_pad, "PARALLEL_MIN_BYTES", 0)
    before = convlab.get_num_threads()
    convlab.set_num_threads(threads)
    try:
        for width in range(4, 46):
            if mode == "reflect" and p >= width:
                continue
            x = rng.standard_normal((1, 5, 4, width)).astype(dtype)
            value = -1.5 if mode == "constant" else None
            got = F.pad(x, (p, p, p, p), mode=mode, value=value)
            np.testing.assert_array_equal(got, _np_pad(x, (p, p, p, p), mode, -1.5), err_msg=f"width {width}")
            if torch is not None:
                t = torch.nn.functional.pad(torch.from_numpy(x), (p, p, p, p), mode=mode, value=value)
                np.testing.assert_array_equal(got, t.numpy(), err_msg=f"width {width}")
    finally:
        convlab.set_num_threads(before)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,pad", [((2, 3, 0), (1, 2)), ((2, 0, 3), (1, 1, 2, 0)), ((0, 2, 3), (1, 1)),
                                       ((1, 0, 2, 3), (0, 0, 1, 1, 1, 1)), ((2, 1, 3), (20, 9))])
def test_pad_constant_of_empty_and_thin_inputs(dtype, shape, pad):
    """'constant' pads of inputs with an empty padded dimension (rows or planes that are all fill, a row
    that has no middle) and of a 3-cell row with wide fills, against np.pad (and torch where it agrees)."""
    from convlab.nn import functional as F
    x = np.arange(math.prod(shape), dtype=dtype).reshape(shape)
    got = F.pad(x, pad, value=2.5)
    np.testing.assert_array_equal(got, _np_pad(x, pad, "constant", 2.5))
    if torch is not None:
        np.testing.assert_array_equal(got, torch.nn.functional.pad(torch.from_numpy(x), pad, value=2.5).numpy())


def test_pad_plan_cache_keeps_every_check(rng):
    """A repeated F.pad call reuses its checked plan; the plan never lets through what the checks refuse
    (a float or bool pad equal to a cached int pad, a fill value in a non-constant mode) and never mixes
    up calls that differ (fill value, dtype, mode); an unhashable fill value still pads."""
    from convlab.nn import functional as F
    from convlab.ops import step1_pad
    x = rng.standard_normal((2, 3, 6)).astype(np.float32)
    step1_pad._PLANS.clear()
    for _ in range(2):
        np.testing.assert_array_equal(F.pad(x, (2, 1), mode="reflect"), _np_pad(x, (2, 1), "reflect", 0))
    assert len(step1_pad._PLANS) == 1
    with pytest.raises(TypeError, match="2.0"):
        F.pad(x, (2.0, 1), mode="reflect")
    with pytest.raises(TypeError, match="True"):
        F.pad(x, (True, 1), mode="reflect")
    with pytest.raises(ValueError, match="value"):
        F.pad(x, (2, 1), mode="reflect", value=1.0)
    np.testing.assert_array_equal(F.pad(x, [2, 1], mode="reflect"), _np_pad(x, (2, 1), "reflect", 0))
    np.testing.assert_array_equal(F.pad(x, (2, 1), mode="circular"), _np_pad(x, (2, 1), "circular", 0))
    for value in (0.5, 2.0, 0.5, np.array(-3.0)):
        np.testing.assert_array_equal(F.pad(x, (2, 1), value=value), _np_pad(x, (2, 1), "constant", value))
    x64 = x.astype(np.float64)
    got = F.pad(x64, (2, 1), mode="reflect")
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, _np_pad(x64, (2, 1), "reflect", 0))
    step1_pad._PLANS.clear()


def test_pad_volume_checks_its_arrays_and_sizes_before_its_loops():
    """_kernels.pad_volume takes the volumes' sizes as numbers (F.pad's cached calls pass no 4-d views), so it
    checks them against the arrays and the pads against the sizes before its unchecked loops run; a valid
    call pads as np.pad does."""
    from convlab import _kernels
    modes = _kernels.padding_modes()
    x = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    out = np.empty((2, 5, 6), np.float32)
    ok = (2, 1, 3, 4, 1, 5, 6, 0, 1, 1)                        # P, D, H, W, Do, Ho, Wo, ld, lh, lw
    _kernels.pad_volume(x, out, *ok, modes["reflect"])
    np.testing.assert_array_equal(out, np.pad(x, [(0, 0), (1, 1), (1, 1)], mode="reflect"))
    cases = [
        ((x.astype(np.float64), out, *ok, modes["reflect"]), TypeError, "got float64 and float32"),
        ((x.astype(np.int32), out.astype(np.int32), *ok, modes["reflect"]), TypeError, "int32"),
        ((list(x.ravel()), out, *ok, modes["reflect"]), TypeError, "list"),
        ((x[:, :, ::-1], out, *ok, modes["reflect"]), ValueError, "C-contiguous"),
        ((x, out[:, :, :3].copy(), *ok, modes["reflect"]), ValueError, "out 30"),
        ((x, out, 2, 1, 3, 5, 1, 5, 6, 0, 1, 1, modes["reflect"]), ValueError, r"\(2, 1, 3, 5\)"),
        ((x, out, 2, 1, 3, 4, 1, 5, 6, 0, 3, 1, modes["reflect"]), ValueError,
         r"height axis must be >= 0, got \(3, -1\)"),
        ((x[:, :2].copy(), np.empty((2, 6, 6), np.float32), 2, 1, 2, 4, 1, 6, 6, 0, 2, 1, modes["reflect"]),
         ValueError, r"reflect pads of the height axis must be < its size 2, got \(2, 2\)"),
        ((x, np.empty((2, 11, 6), np.float32), 2, 1, 3, 4, 1, 11, 6, 0, 4, 1, modes["circular"]),
         ValueError, r"circular pads of the height axis must be <= its size 3, got \(4, 4\)"),
        ((x, out, -2, -1, 3, 4, -1, 5, 6, 0, 1, 1, modes["reflect"]), ValueError, "sizes must be >= 0"),
        ((x, out, *ok, 7), ValueError, "mode must be"),
        ((x, out, *ok, modes["reflect"], 0.0, 0), ValueError, "num_threads"),
    ]
    for args, error, message in cases:
        with pytest.raises(error, match=message):
            _kernels.pad_volume(*args)


# --- the functional plan cache ---------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_functional_plan_cache_follows_thresholds_and_threads(rng, monkeypatch, dtype):
    """A repeated F.conv2d call runs its cached plan; forcing another path (the thresholds) or another
    thread count makes a new plan, and every result equals the reference."""
    from convlab.nn import functional as F
    x = rng.standard_normal((2, 4, 9, 10)).astype(dtype)
    w = rng.standard_normal((8, 4, 3, 3)).astype(dtype)
    b = rng.standard_normal(8).astype(dtype)
    want = ref.conv_nd(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64), 1, 1, 1, 1)
    F._PLANS.clear()
    kinds = set()
    before = convlab.get_num_threads()
    try:
        for name in ["direct", "gemm", "winograd", "direct"]:
            for attr, value in PATHS[name].items():
                monkeypatch.setattr(conv_ops, attr, value)
            for threads in (1, 2):
                convlab.set_num_threads(threads)
                for _ in range(2):                           # the second call is a cache hit
                    assert_close(F.conv2d(x, w, b, padding=1), want, dtype, reduction=w[0].size)
                key, = [k for k in F._PLANS if k[-1] == conv_ops.planner_settings()]
                kinds.add(F._PLANS[key][0].run.__qualname__.split(".")[0])
            monkeypatch.undo()
    finally:
        convlab.set_num_threads(before)
    assert len(kinds) >= 2, kinds


def test_functional_plan_cache_keeps_torch_errors(rng):
    """A call torch refuses stays refused after a valid call of the same shapes was cached; an unbatched
    call after a batched one of the same sizes keeps its own shape."""
    from convlab.nn import functional as F
    x = rng.standard_normal((1, 2, 6)).astype(np.float32)
    w = rng.standard_normal((3, 2, 3)).astype(np.float32)
    ok = F.conv1d(x, w, stride=1)
    assert ok.shape == (1, 3, 4)
    F.conv1d(x, w, stride=1)
    if torch is not None:
        with pytest.raises(Exception):
            torch.nn.functional.conv1d(torch.from_numpy(x), torch.from_numpy(w), stride=0)
    with pytest.raises((ValueError, TypeError)):
        F.conv1d(x, w, stride=0)
    assert F.conv1d(x[0], w).shape == (3, 4)
    assert F.conv1d(x, w).shape == (1, 3, 4)


@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("name,value", [("stride", (True,)), ("stride", (1.0,)), ("stride", 1.0), ("stride", True),
                                        ("padding", (False,)), ("dilation", (1.0,)), ("groups", True),
                                        ("output_padding", (False,))])
def test_functional_plan_cache_keys_equal_but_refused_arguments(rng, transposed, name, value):
    """``(True,) == (1,)`` and ``1.0 == 1`` (and hash alike), so such a call finds the plan of a valid call as its
    key: it must still be refused as torch refuses it (a TypeError), not run the cached plan. A new but equal
    tuple of ints takes the plan (no second entry)."""
    from convlab.nn import functional as F
    if name == "output_padding" and not transposed:
        pytest.skip("conv1d has no output_padding")
    fn = F.conv_transpose1d if transposed else F.conv1d
    x = rng.standard_normal((1, 2, 6)).astype(np.float32)
    w = rng.standard_normal((2, 3, 3) if transposed else (3, 2, 3)).astype(np.float32)
    plain = {"stride": (1,), "padding": (0,), "dilation": (1,), "groups": 1, "output_padding": (0,)}[name]
    F._PLANS.clear()
    want = fn(x, w, **{name: plain})
    fn(x, w, **{name: plain})                                   # cached
    assert len(F._PLANS) == 1
    if torch is not None:
        tfn = torch.nn.functional.conv_transpose1d if transposed else torch.nn.functional.conv1d
        with pytest.raises(TypeError):
            tfn(torch.from_numpy(x), torch.from_numpy(w), **{name: value})
    with pytest.raises(TypeError):
        fn(x, w, **{name: value})
    again = fn(x, w, **{name: tuple(list(plain)) if type(plain) is tuple else plain})   # equal, another object
    np.testing.assert_array_equal(again, want)
    assert len(F._PLANS) == 1


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nd,c_in,c_out,kernel,stride,padding,mode,wide_rows", [
    (1, 4, 4, 5, 1, 2, "reflect", False),       # multiplier 1: conv_depthwise
    (2, 3, 3, 3, 2, 1, "zeros", False),         # ... strided, 2-d
    (1, 4, 8, 5, 1, 2, "reflect", False),       # multiplier 2: conv_rows (2 outputs per group)
    (1, 1, 8, 64, 4, 0, "zeros", False),        # 8: conv_rows (a raw-audio front-end's shape; 1 -> 4 of these ran
                                                # 3.7x torch's time on conv_depthwise)
    (2, 2, 16, 3, 2, 1, "circular", False),     # 8, two groups, strided
    (2, 1, 32, 3, 1, 1, "replicate", True),     # 32 from one channel (depth 9): conv_rows in float32 at x86-64-v4
                                                # (9 x 11 output cells), else the GEMM
    (3, 1, 32, 3, 1, 1, "zeros", False),        # a 3-d U-Net's first layer on 6 x 7 output planes: the GEMM
])
def test_channel_multiplier_boundary_matches_reference(rng, threads, dtype, nd, c_in, c_out, kernel, stride,
                                                       padding, mode, wide_rows):
    """Grouped layers with one input channel per group: conv_depthwise for a channel multiplier (C_out / C_in)
    up to DEPTHWISE_MAX_MULTIPLIER (1), above it conv_rows (up to ROWS_MAX_CHANNELS outputs per group, or the
    wide rule's 64 in float32 at x86-64-v4) or the GEMM; each against the reference and torch."""
    before = convlab.get_num_threads()
    convlab.set_num_threads(threads)
    try:
        m = getattr(nn, f"Conv{nd}d")(c_in, c_out, kernel, stride=stride, padding=padding, groups=c_in,
                                      padding_mode=mode, dtype=dtype)
        size = {1: (300,), 2: (9, 11), 3: (5, 6, 7)}[nd]
        x = rng.standard_normal((3, c_in, *size)).astype(dtype)
        want = ref.conv_nd(x.astype(np.float64), m.weight.astype(np.float64), m.bias, m.stride, m.padding,
                           m.dilation, c_in, padding_mode=mode)
        got = m(x)
        assert_close(got, want, dtype, reduction=m.weight[0].size)
        if torch is not None:
            t = getattr(torch.nn, f"Conv{nd}d")(c_in, c_out, kernel, stride=stride, padding=padding, groups=c_in,
                                                padding_mode=mode).to(torch.float64 if dtype == np.float64
                                                                      else torch.float32)
            t.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in m.state_dict().items()})
            with torch.no_grad():
                assert_close(got, t(torch.from_numpy(x)).numpy(), dtype, reduction=m.weight[0].size)
        (plan, _, _), = m._plans.values()
        og = c_out // c_in
        if og == 1:
            assert _plan_kind(m) == "ConvPlan" and plan._direct is None     # conv_depthwise (not the direct loop)
        else:
            v4_wide = wide_rows and dtype == np.float32 and _kernels.simd_path() in conv_ops.ROWS_WIDE_LEVELS
            expect = "_rows_runner" if og <= conv_ops.ROWS_MAX_CHANNELS or v4_wide else "_gemm_runner"
            assert _plan_kind(m) == expect, (_kernels.simd_path(), dtype)
    finally:
        convlab.set_num_threads(before)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_module_plan_follows_set_num_threads(rng, monkeypatch, dtype):
    """A module's cached plan is keyed on the kernel thread count, as the functional cache is: after
    ``set_num_threads`` the next call plans again and runs on the new count (it once kept the count the
    first call was planned with)."""
    from convlab import _kernels
    monkeypatch.setattr(conv_ops, "PARALLEL_MIN_MACS", 0)
    monkeypatch.setattr(conv_ops, "DIRECT_MAX_MACS", 0)
    monkeypatch.setattr(conv_ops, "ROWS_KERNEL", False)
    seen = []
    real = _kernels.conv_gemm

    class Spy:                                       # records the thread count each conv_gemm call gets
        def __getitem__(self, spec):
            def kern(*args, **kwargs):
                seen.append(args[-2])
                return real[spec](*args, **kwargs)
            return kern
    monkeypatch.setattr(_kernels, "conv_gemm", Spy())
    m = nn.Conv2d(4, 8, 3, padding=1, dtype=dtype)
    x = rng.standard_normal((4, 4, 9, 10)).astype(dtype)
    want = ref.conv_nd(x.astype(np.float64), m.weight.astype(np.float64), m.bias, 1, 1, 1, 1)
    before = convlab.get_num_threads()
    try:
        for threads in (1, 2, 1):
            convlab.set_num_threads(threads)
            for _ in range(2):                       # the second call is a cache hit
                assert_close(m(x), want, dtype, reduction=m.weight[0].size)
            assert seen[-2:] == [threads, threads], seen
    finally:
        convlab.set_num_threads(before)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_module_plan_follows_threshold_changes(rng, monkeypatch, dtype):
    """A module's cached plan is keyed on ``planner_settings()`` (the thresholds' version and the thread count),
    as the functional cache is: after a threshold changes, the next call plans again (modules once kept the
    plan made under the old thresholds). Forward: Winograd -> GEMM; transposed: the direct scatter -> GEMM."""
    from convlab import _kernels
    monkeypatch.setattr(conv_ops, "BLOCKED", False)     # (on AVX-512 it would take this float32 layer from the GEMM,
    monkeypatch.setattr(conv_ops, "ROWS_KERNEL", False)  # as would conv_rows)
    m = nn.Conv2d(16, 32, 3, padding=1, dtype=dtype)
    x = rng.standard_normal((2, 16, 16, 16)).astype(dtype)
    want = ref.conv_nd(x.astype(np.float64), m.weight.astype(np.float64), m.bias, 1, 1, 1, 1)
    t = nn.ConvTranspose2d(1, 1, 3, dtype=dtype)
    xt = rng.standard_normal((1, 1, 8, 8)).astype(dtype)
    want_t = ref.conv_transpose_nd(xt.astype(np.float64), t.weight.astype(np.float64), t.bias, 1, 0, 0, 1, 1)

    def current(module):                                 # the plan made last
        plan, *_ = list(module._plans.values())[-1]
        return plan

    kinds = []
    for winograd, tiny in ((True, conv_ops.TINY_MAX_MACS), (False, 0)):
        monkeypatch.setattr(conv_ops, "WINOGRAD", winograd)
        monkeypatch.setattr(conv_ops, "TINY_MAX_MACS", tiny)
        for _ in range(2):                               # the second call is a cache hit
            assert_close(m(x), want, dtype, reduction=m.weight[0].size)
            assert_close(t(xt), want_t, dtype, reduction=t.weight[0].size)
        kinds.append((current(m).run.__qualname__.split(".")[0],
                      isinstance(current(t).run, _kernels.DirectTransposePlan)))
    assert kinds == [("_winograd_runner", True), ("_gemm_runner", False)], kinds


_REFERENCE = {}


def _reference_once(x, w, b, *args, **kw):
    """ref.conv_nd, computed once per input, weights and arguments in this process: the parametrizations over
    SIMD level and thread count share it (the naive loops take seconds on the larger depthwise planes)."""
    digest = hashlib.sha256()
    for a in (x, w, b):
        digest.update(repr((a.shape, a.dtype.str)).encode())
        digest.update(np.ascontiguousarray(a).tobytes())
    key = (digest.hexdigest(), repr(args), repr(sorted(kw.items())))
    if key not in _REFERENCE:
        _REFERENCE[key] = ref.conv_nd(x, w, b, *args, **kw)
    return _REFERENCE[key]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("c,size,kernel,stride,padding,dilation,mode,kernel_name", [
    (16, (11, 12), 5, 2, 2, 1, "zeros", "channels-last"),        # strided, plane 132 > 100: channels-last
    (16, (11, 12), 5, 1, 2, 1, "zeros", "channels-last"),        # ... the same layer at stride 1: by rows (5 wide)
    (16, (20, 6), 5, 1, 2, 1, "zeros", "padded-plane"),          # ... plane 120, output rows 6 wide, under cl_dwrow's 7
    (16, (20, 7), 5, 1, 2, 1, "reflect", "channels-last"),       # ... plane 140, 7 wide
    (16, (11, 12), (5, 4), 1, 2, 1, "zeros", "padded-plane"),    # 4-wide rows: no row kernel
    (16, (150,), 5, 1, 2, 1, "zeros", "padded-plane"),           # 1-d: 5-wide rows stay on the padded plane
    (24, (40, 41), 7, 1, 3, 1, "zeros", "channels-last"),        # large plane: 16 channels per task, 8 left; 41 wide
    (16, (30, 29), 3, 2, 1, 1, "replicate", "channels-last"),    # strided 3-wide rows by rows, 15 wide
    (16, (11, 12), 5, (1, 2), 2, 1, "reflect", "channels-last"),  # a stride along one axis is enough
    (15, (11, 12), 5, 2, 2, 1, "zeros", "padded-plane"),         # one channel under DEPTHWISE_CL_MIN_CHANNELS
    (16, (10, 10), 3, 1, 1, 1, "circular", "channels-last"),     # plane 100 = DEPTHWISE_CL_MAX_PLANE
    (16, (10, 11), 3, 1, 1, 1, "circular", "channels-last"),     # plane 110, 3-wide rows 11 wide: by rows
    (16, (20, 6), 3, 1, 1, 1, "circular", "padded-plane"),       # ... plane 120, output rows 6 wide: not by rows
    (16, (32, 32), 3, 1, 1, 1, "zeros", "padded-plane"),         # 3-wide rows, planes 4 KiB apart: crowded L1 sets
    (16, (32, 30), 3, 1, 1, 1, "reflect", "channels-last"),      # ... planes 3840 bytes apart: spread
    (16, (32, 32), 5, 1, 2, 1, "zeros", "channels-last"),        # ... 5-wide rows on the crowded planes: by rows
    (64, (16, 16), 3, 1, 1, 1, "replicate", "padded-plane"),     # 64 channels of planes 1 KiB apart: crowded
    (16, (19, 20), 8, 2, 3, 1, "replicate", "channels-last"),    # 64 taps = DEPTHWISE_CL_MAX_TAPS
    (16, (19, 20), (5, 13), 2, 3, 1, "replicate", "padded-plane"),  # 65 taps
    (40, (70, 71), 3, 2, 1, 2, "zeros", "channels-last"),        # large plane: 32 channels per task, 8 left
    (24, (150,), 7, 3, 4, 1, "reflect", "channels-last"),        # 1-d, strided
    (16, (11, 12), 7, 1, 3, 1, "reflect", "channels-last"),      # 7-wide rows: by rows
    (15, (11, 12), 7, 1, 3, 1, "reflect", "padded-plane"),       # ... 15 channels: 7-wide rows in one pass (_rowk)
    (16, (11, 12), (3, 6), 1, 2, 1, "zeros", "padded-plane"),    # 6-wide: one pass per tap
    (16, (11, 12), 5, 1, 4, (1, 2), "replicate", "padded-plane"),  # 5-wide, dilated
    (15, (1, 6), 5, 1, 2, 1, "zeros", "padded-plane"),           # 5-wide, a run under 16 (inline loop)
    (16, (4, 11, 12), (2, 3, 5), 1, (1, 1, 2), 1, "circular", "channels-last"),  # 3-d, 5-wide rows
    (16, (4, 11, 12), (2, 3, 5), 1, (1, 1, 2), (1, 1, 2), "circular", "padded-plane"),  # ... dilated along rows
])
def test_depthwise_planner_boundaries_match_reference_and_torch(rng, monkeypatch, threads, dtype, c, size, kernel,
                                                                 stride, padding, dilation, mode, kernel_name):
    """Both sides of every switch between the two depthwise kernels (stride, plane size, channel count, taps,
    channels per task), with the planner's own thresholds, against the reference loops and torch."""
    monkeypatch.setattr(conv_ops, "PARALLEL_MIN_MACS", 0)
    calls = _spy_depthwise_kernels(monkeypatch)
    before = convlab.get_num_threads()
    convlab.set_num_threads(threads)
    try:
        nd = len(size)
        m = getattr(nn, f"Conv{nd}d")(c, c, kernel, stride=stride, padding=padding, dilation=dilation, groups=c,
                                      padding_mode=mode, dtype=dtype)
        x = rng.standard_normal((3, c, *size)).astype(dtype)
        m.weight[...] = rng.uniform(-0.5, 0.5, m.weight.shape)     # the same layer at every level and thread count
        m.bias[...] = rng.uniform(-0.5, 0.5, m.bias.shape)
        got = m(x)
        assert calls == ["conv_depthwise_cl" if kernel_name == "channels-last" else "conv_depthwise"]
        _assert_depthwise_matches_reference_and_torch(m, x, got)
    finally:
        convlab.set_num_threads(before)


def _spy_depthwise_kernels(monkeypatch):
    """A list that records the name of each depthwise kernel (conv_depthwise, conv_depthwise_cl) as it runs."""
    calls = []
    for name in ("conv_depthwise", "conv_depthwise_cl"):
        real = getattr(_kernels, name)

        class Spy:
            def __init__(self, real, name):
                self.real, self.name = real, name

            def __getitem__(self, spec):
                kern = self.real[spec]

                def run(*args):
                    calls.append(self.name)
                    return kern(*args)
                return run
        monkeypatch.setattr(_kernels, name, Spy(real, name))
    return calls


def _assert_depthwise_matches_reference_and_torch(m, x, got):
    """``got = m(x)`` for a depthwise layer ``m``, against the reference loops and torch's layer with the same
    weights (float64)."""
    nd, c = x.ndim - 2, x.shape[1]
    want = _reference_once(x.astype(np.float64), m.weight.astype(np.float64), m.bias.astype(np.float64),
                           m.stride, m.padding, m.dilation, c, padding_mode=m.padding_mode)
    assert_close(got, want, x.dtype, reduction=m.weight[0].size)
    if torch is not None:
        tm = getattr(torch.nn, f"Conv{nd}d")(c, c, m.kernel_size, stride=m.stride, padding=m.padding,
                                             dilation=m.dilation, groups=c, padding_mode=m.padding_mode,
                                             dtype=torch.float64)
        with torch.no_grad():
            tm.weight.copy_(torch.from_numpy(m.weight.astype(np.float64)))
            tm.bias.copy_(torch.from_numpy(m.bias.astype(np.float64)))
            assert_close(got, tm(torch.from_numpy(x.astype(np.float64))).numpy(), x.dtype,
                         reduction=m.weight[0].size)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("c,size,kernel,stride,padding", [
    (5, (9, 7), 3, 1, 1),              # rows 7 wide: the plane transposed once, then row copies (staged)
    (5, (9, 8), 3, 1, 1),              # rows 8 wide: each row transposed into the padded extent; 5 channels
    (11, (9, 8), 3, 1, 1),             # ... 11 channels: a block of 8, then one moved back to end at 11
    (19, (6, 13), 5, 1, 2),            # 13 wide: a block of 8, then one moved back to end at 13
    (9, (10, 10), 3, 5, 1),            # stride 5: the extent ends before the last real column (7 of 10 kept)
    (9, (20, 20), 5, 7, 2),            # ... 17 of 20 kept; circular's left border reads columns past the extent
    (11, (3, 5, 9), 3, (1, 2, 2), 1),  # 3-d
    (13, (30,), 5, 3, 2),              # 1-d
])
def test_depthwise_channels_last_padded_extent_matches_reference_and_torch(rng, monkeypatch, threads, dtype, mode,
                                                                          c, size, kernel, stride, padding):
    """conv_depthwise_cl builds each task's padded extent in one of two ways: rows narrower than 8 from one
    transpose of the whole plane, wider rows each transposed straight into the extent (border rows again from
    their source row, border cells from the row's own cells, or from x where the extent stops short of them).
    Both, on every padding mode, with channel and column counts off the 8x8 transpose block, against the
    reference loops and torch."""
    monkeypatch.setattr(conv_ops, "PARALLEL_MIN_MACS", 0)
    monkeypatch.setattr(conv_ops, "TINY_MAX_MACS", 0)
    monkeypatch.setattr(conv_ops, "DEPTHWISE_CL_MAX_PLANE", 10**9)
    monkeypatch.setattr(conv_ops, "DEPTHWISE_CL_MIN_CHANNELS", 1)
    calls = _spy_depthwise_kernels(monkeypatch)
    before = convlab.get_num_threads()
    convlab.set_num_threads(threads)
    try:
        nd = len(size)
        m = getattr(nn, f"Conv{nd}d")(c, c, kernel, stride=stride, padding=padding, groups=c, padding_mode=mode,
                                      dtype=dtype)
        x = rng.standard_normal((3, c, *size)).astype(dtype)
        got = m(x)
        assert calls == ["conv_depthwise_cl"]
        _assert_depthwise_matches_reference_and_torch(m, x, got)
    finally:
        convlab.set_num_threads(before)


def test_cache_sizes_and_geometry_from_a_sysfs_tree(tmp_path):
    """cache_bytes and cache_geometry read Linux's cache folders: the data (or unified) cache of the level asked
    for, never the instruction cache listed before it; the default where a file is missing or unreadable."""
    caches = {"index0": dict(level=1, type="Instruction", size="64K", number_of_sets=128, ways_of_associativity=8,
                             coherency_line_size=64),
              "index1": dict(level=1, type="Data", size="48K", number_of_sets=64, ways_of_associativity=12,
                             coherency_line_size=64),
              "index2": dict(level=2, type="Unified", size="2M", number_of_sets=2048, ways_of_associativity=16,
                             coherency_line_size=64)}
    for entry, files in caches.items():
        (tmp_path / entry).mkdir()
        for name, value in files.items():
            (tmp_path / entry / name).write_text(f"{value}\n")
    root = str(tmp_path)
    assert conv_ops.cache_bytes(1, 0, root) == 48 << 10 and conv_ops.cache_bytes(2, 0, root) == 2 << 20
    assert conv_ops.cache_geometry(1, None, root) == (64, 12, 64)
    assert conv_ops.cache_geometry(2, None, root) == (2048, 16, 64)
    assert conv_ops.cache_bytes(3, 7, root) == 7 and conv_ops.cache_geometry(3, (1, 2, 3), root) == (1, 2, 3)
    (tmp_path / "index1" / "ways_of_associativity").unlink()
    assert conv_ops.cache_geometry(1, (64, 8, 64), root) == (64, 8, 64)
    (tmp_path / "index2" / "size").write_text("lots\n")
    assert conv_ops.cache_bytes(2, 5, root) == 5
    assert conv_ops.cache_bytes(2, 5, str(tmp_path / "missing")) == 5


@pytest.mark.parametrize("sets,ways", [(64, 8), (64, 12), (32, 8)])
def test_cl_crowded_matches_a_count_of_lines_per_set(monkeypatch, sets, ways):
    """_cl_crowded (channel planes too crowded in L1 for conv_depthwise_cl's 3-wide rows) against a count: the
    first line of each of the channel rows, the set it maps to, and the most lines any set receives."""
    monkeypatch.setattr(conv_ops, "L1_SETS", sets)
    monkeypatch.setattr(conv_ops, "L1_WAYS", ways)
    monkeypatch.setattr(conv_ops, "LINE_BYTES", 64)
    for plane_bytes in (64, 256, 1024, 2048, 3136, 3840, 4096, 8192, 9216, 12544, 50176, 200704):
        for channels in (8, 12, 16, 24, 32, 48, 64, 96):
            per_set = {}
            for c in range(channels):
                line_set = (c * plane_bytes // 64) % sets
                per_set[line_set] = per_set.get(line_set, 0) + 1
            counted = plane_bytes % 64 == 0 and max(per_set.values()) > ways
            assert conv_ops._cl_crowded(plane_bytes, channels) == counted, (plane_bytes, channels)


def test_depthwise_cl_task_cells_count_the_input_plane():
    """The planner sizes conv_depthwise_cl's channel blocks by the cells a task moves (input plane, padded
    extent, output plane), also where the workspace holds no copy of the input plane (rows 8 or more wide)."""
    args = ((1, 3, 3), (1, 2, 2), (1, 1, 1), (1, 28, 28))     # MobileNetV2's 3x3 s2 on 56x56: extent 57x57
    assert _kernels.depthwise_cl_workspace((1, 56, 56), *args) == 57 * 57 + 28 * 28
    assert _kernels.depthwise_cl_task_cells((1, 56, 56), *args) == 56 * 56 + 57 * 57 + 28 * 28
    args = ((1, 3, 3), (1, 1, 1), (1, 1, 1), (1, 7, 7))       # 7 wide: the plane is staged in the workspace
    assert _kernels.depthwise_cl_workspace((1, 7, 7), *args) == 49 + 81 + 49
    assert _kernels.depthwise_cl_task_cells((1, 7, 7), *args) == 49 + 81 + 49


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("groups", [1, 2, 4])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_weight_gradient_over_many_tiles_and_threads_matches_torch(monkeypatch, rng, nd, groups, threads, dtype):
    """``nn.grad.conv*_weight`` through conv_weight_gemm with one output row per tile (many tiles per sample,
    split over the threads), each group's partial gradient kept transposed by the kernel and put back by the
    caller: against torch's, in float64, for every group count and dimension."""
    if torch is None:
        pytest.skip("PyTorch 2.13 (the parity oracle) is not installed")
    for name, value in dict(WORKSPACE_BYTES=1, MIN_TILE_COLUMNS=1, PARALLEL_MIN_MACS=0).items():
        monkeypatch.setattr(conv_ops, name, value)
    before = convlab.get_num_threads()
    convlab.set_num_threads(threads)
    try:
        x = rng.standard_normal((3, 8) + (7, 6, 5)[:nd]).astype(dtype)
        w_shape = (12, 8 // groups) + (3, 2, 3)[:nd]
        args = dict(stride=1, padding=1, dilation=1, groups=groups)
        y = getattr(torch.nn.functional, f"conv{nd}d")(torch.from_numpy(x.astype(np.float64)),
                                                     torch.zeros(w_shape, dtype=torch.float64), None, **args)
        gy = rng.standard_normal(tuple(y.shape)).astype(dtype)
        want = getattr(torch.nn.grad, f"conv{nd}d_weight")(torch.from_numpy(x.astype(np.float64)), w_shape,
                                                          torch.from_numpy(gy.astype(np.float64)), **args).numpy()
        got = getattr(nn.grad, f"conv{nd}d_weight")(x, w_shape, gy, **args)
        assert got.shape == w_shape and got.dtype == dtype
        assert_close(got, want, dtype, reduction=3 * int(np.prod(y.shape[2:])))
    finally:
        convlab.set_num_threads(before)


@pytest.mark.parametrize("slices", [1, 2, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("threads", [1, 2])
def test_transpose_blocks_sums_the_slices_and_transposes_each_block(rng, slices, dtype, threads):
    """transpose_blocks (the weight gradient's last step) against NumPy: the slices summed in order, each group's
    block transposed, on both sides of its tiles' edges (256 rows, 64 columns) and of the 8x8 / 4x4 register
    blocks (fewer rows or columns than one block)."""
    for groups, rows, cols in [(1, 1, 1), (2, 7, 3), (1, 8, 8), (3, 9, 65), (1, 255, 64), (2, 256, 63),
                               (1, 257, 130), (1, 600, 7), (2, 5, 200)]:
        src = rng.standard_normal((slices, groups, rows, cols)).astype(dtype)
        acc = src[0].copy()
        for s in range(1, slices):                      # the kernel's order: (s0 + s1) + s2
            acc += src[s]
        want = acc.transpose(0, 2, 1)
        got = np.full((groups, cols, rows), np.nan, dtype)
        _kernels.transpose_blocks(src, got, threads)
        np.testing.assert_array_equal(got, want, err_msg=f"{(slices, groups, rows, cols)}")


def test_transpose_blocks_refuses_shapes_that_do_not_match():
    src = np.zeros((2, 1, 4, 3), np.float32)
    with pytest.raises(ValueError, match=r"dst be \(G, C, R\) = \(1, 3, 4\)"):
        _kernels.transpose_blocks(src, np.zeros((1, 4, 3), np.float32))
    with pytest.raises(ValueError, match="at least one slice"):
        _kernels.transpose_blocks(np.zeros((0, 1, 4, 3), np.float32), np.zeros((1, 3, 4), np.float32))
    with pytest.raises(ValueError, match="num_threads must be >= 1, got 0"):
        _kernels.transpose_blocks(src, np.zeros((1, 3, 4), np.float32), 0)


@pytest.mark.parametrize("split_min", [10**12, 0])
@pytest.mark.parametrize("threads", [1, 2])
def test_weight_gradient_split_by_channels_or_by_samples_matches_torch(monkeypatch, rng, threads, split_min):
    """The weight gradient with group blocks (C_in/groups * taps x C_out/groups: 459 x 102, 153 x 34) that span
    several of transpose_blocks' tiles, on 2 threads as each thread's copy of the gradient summed (groups 1 and 3
    under a WGRAD_SPLIT_MIN_BYTES no gradient reaches) or as tasks owning a group's rows (groups 2: a group a
    thread, whatever the threshold; at threshold 0, groups 1 in chunks of 26 + 25 channels, groups 3 of 9 + 8):
    against torch's, in float64."""
    if torch is None:
        pytest.skip("PyTorch 2.13 (the parity oracle) is not installed")
    monkeypatch.setattr(conv_ops, "WGRAD_SPLIT_MIN_BYTES", split_min)
    before = convlab.get_num_threads()
    convlab.set_num_threads(threads)
    try:
        for c_in, groups in ((51, 1), (51, 3), (32, 2)):
            x = rng.standard_normal((2, c_in, 6, 5))
            w_shape = (102, c_in // groups, 3, 3)
            gy = rng.standard_normal((2, 102, 6, 5))
            cc = conv_ops._wgrad_channel_chunk(c_in // groups, 9, 102 // groups, groups, threads, 8)
            assert cc == (0 if threads == 1 or (groups != 2 and split_min) else
                          c_in // groups if groups == 2 else -(-(c_in // groups) // 2)), (c_in, groups, cc)
            want = torch.nn.grad.conv2d_weight(torch.from_numpy(x), w_shape, torch.from_numpy(gy), padding=1,
                                               groups=groups).numpy()
            got = nn.grad.conv2d_weight(x, w_shape, gy, padding=1, groups=groups)
            assert_close(got, want, np.float64, reduction=2 * 30)
    finally:
        convlab.set_num_threads(before)


def _bands_oracle(size, kh, s, p, d, ho):
    """Kernel rows whose input row lies inside [0, size), output row by output row, grouped into runs."""
    runs = []
    for y in range(ho):
        taps = [a for a in range(kh) if 0 <= y * s - p + a * d < size]
        span = (taps[0], taps[-1] + 1) if taps else None
        if runs and runs[-1][2] == span:
            runs[-1][1] = y + 1
        else:
            runs.append([y, y + 1, span])
    return runs


@pytest.mark.parametrize("size,kh,s,p,d", [(33, 3, 1, 6, 6), (33, 3, 1, 12, 12), (33, 3, 1, 18, 18), (20, 5, 2, 7, 3),
                                           (6, 3, 1, 9, 1), (17, 4, 3, 5, 2), (10, 2, 1, 1, 4)])
def test_row_bands_are_the_kernel_rows_that_reach_the_input(monkeypatch, size, kh, s, p, d):
    """The bands against a count of each output row's kernel rows; then the rule: banded from the share of
    multiply-adds skipped (ROW_BANDS_MIN_SAVING, inclusive) and only with bands of MIN_TILE_COLUMNS outputs."""
    ho = (size + 2 * p - d * (kh - 1) - 1) // s + 1
    monkeypatch.setattr(conv_ops, "ROW_BANDS_MIN_SAVING", 0)
    monkeypatch.setattr(conv_ops, "MIN_TILE_COLUMNS", 1)
    geometry = ((1, 1, size, 7), (kh, 1), (s, 1), (p, 0), (d, 1), (ho, 7))
    bands = conv_ops._row_bands(*geometry)
    want = _bands_oracle(size, kh, s, p, d, ho)
    assert [(y0, y1) for y0, y1, *_ in bands] == [(y0, y1) for y0, y1, _ in want]
    for (_, _, a0, a1), (_, _, span) in zip(bands, want):
        assert (a0, a1) == (span or (0, 0))
    saving = 1 - sum((y1 - y0) * len(range(*(span or (0, 0)))) for y0, y1, span in want) / (ho * kh)
    monkeypatch.setattr(conv_ops, "ROW_BANDS_MIN_SAVING", saving)
    assert conv_ops._row_bands(*geometry) == bands
    monkeypatch.setattr(conv_ops, "ROW_BANDS_MIN_SAVING", saving + 1e-9)
    assert conv_ops._row_bands(*geometry) is None
    monkeypatch.setattr(conv_ops, "ROW_BANDS_MIN_SAVING", 0)
    narrowest = min(y1 - y0 for y0, y1, _ in want) * 7
    monkeypatch.setattr(conv_ops, "MIN_TILE_COLUMNS", narrowest + 1)
    assert conv_ops._row_bands(*geometry) is None


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("nd,size,kernel,padding,dilation,stride", [
    (2, (33, 30), 3, 6, 6, 1),                  # DeepLab's ASPP 3x3, dilation 6, 'same'
    (2, (33, 30), 3, 12, 12, 1),                # ... dilation 12: a band in the middle reads all three rows
    (2, (5, 130), 3, (8, 1), 1, (2, 1)),        # rows reading only padding (the bias), strided
    (3, (3, 20, 12), 3, (1, 4, 2), (1, 4, 1), 1),   # 3-d: bands along the height
])
def test_banded_layers_match_torch_and_take_the_bands_by_default(rng, threads, dtype, bias, nd, size, kernel,
                                                                 padding, dilation, stride):
    """At the default thresholds these layers skip >= 8% of their multiply-adds by bands; against torch."""
    if torch is None:
        pytest.skip("PyTorch 2.13 (the parity oracle) is not installed")
    before = convlab.get_num_threads()
    convlab.set_num_threads(threads)
    try:
        m = getattr(nn, f"Conv{nd}d")(16, 24, kernel, stride=stride, padding=padding, dilation=dilation, bias=bias,
                                      dtype=dtype)
        t = getattr(torch.nn, f"Conv{nd}d")(16, 24, kernel, stride=stride, padding=padding, dilation=dilation,
                                            bias=bias).to(torch.float64)
        t.load_state_dict({k: torch.from_numpy(np.array(v, dtype=np.float64)) for k, v in m.state_dict().items()})
        x = rng.standard_normal((2, 16, *size)).astype(dtype)
        got = m(x)
        assert _plan_kind(m) == "_banded_runner"
        want = t(torch.from_numpy(x.astype(np.float64))).detach().numpy()
        assert_close(got, want, dtype, reduction=m.weight[0].size)
    finally:
        convlab.set_num_threads(before)


def test_rows_kernel_column_phases_on_many_threads_match_the_reference(rng):
    """conv_rows at column stride 3 on 4 threads, 20 output rows a task: each task copies 3 column phases, whose
    first and last input cells differ by phase (60 columns, padding 2). Those bounds were once shared by the
    threads (a prange variable written only through a pointer), so a thread could copy its phase's rows with
    another phase's bounds, reading a cell before or past an input row. 40 calls, each against the reference."""
    n, c_in, c_out, h, w, s = 4, 2, 8, 81, 60, 3
    x = rng.standard_normal((n, c_in, 1, h, w)).astype(np.float32)
    wt = rng.standard_normal((c_out, c_in, 3, 7)).astype(np.float32)
    b = rng.standard_normal(c_out).astype(np.float32)
    oh, ow = h + 2 - 2, (w + 2 * 2 - 7) // s + 1
    lift = [(1, 3, 7), (1, 1, s), (1, 1, 1), (1, oh, ow)]
    want = ref.conv_nd(x[:, :, 0].astype(np.float64), wt.astype(np.float64), b, (1, s), (1, 2), 1, 1)
    ws = np.full((4, _kernels.rows_workspace(c_in, *lift, 20)), np.nan, dtype=np.float32)
    for _ in range(40):
        out = np.full((n, c_out, oh * ow), np.nan, dtype=np.float32)
        _kernels.conv_rows["float"](x, wt.reshape(c_out, -1), b, out, lift[0], lift[1], (0, 1, 2), lift[2], lift[3],
                                    1, conv_ops.MODE_CODES["zeros"], 20, ws, 4)
        assert_close(out.reshape(want.shape), want, np.float32, reduction=c_in * 21)
