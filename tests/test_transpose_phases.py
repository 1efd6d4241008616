"""conv_transpose_blocked: float32 transposed layers (groups 1, dilation 1, kernel >= stride) as their output
phases, each a stride-1 convolution on conv_blocked's micro-kernel, written in place with the output's strides.
Checked against the reference loops and torch where phases have different tap counts, negative paddings and
output_padding, blocks and tasks are partial, at every SIMD level this CPU runs; the phase geometry against a
count of the (input cell, tap) pairs; the planner's rule; the fallback for non-finite weights; the checks that
stand before the unchecked inner loops."""
import itertools

import numpy as np
import pytest

import convlab.nn as nn
from convlab import _kernels
from convlab import reference as ref
from convlab.ops import conv as conv_ops
from helpers import assert_close, simd_level, threads, torch  # noqa: F401 (fixtures: every test at every SIMD level)
from test_blocked import _guarded, buffers, check_buffer_sizes

# every layer below takes the phases, at every SIMD level (conv_blocked's 8-wide copies included)
FORCE = dict(TRANSPOSE_PHASES=True, TRANSPOSE_PHASES_MIN_CELLS=0, BLOCKED_LEVELS=tuple(_kernels.simd_levels()),
             BLOCKED_MIN_CHANNELS=1, BLOCKED_MAX_CHANNEL_WASTE=100.0, PARALLEL_MIN_MACS=0, DIRECT_MAX_MACS=0,
             TINY_MAX_MACS=0)


def _force(monkeypatch):
    for name, value in FORCE.items():
        monkeypatch.setattr(conv_ops, name, value)


def _plan_kind(m):
    (plan, _, _), = m._plans.values()
    return getattr(plan.run, "__qualname__", type(plan.run).__name__).split(".")[0]


def _torch_transpose(m, x):
    f = getattr(torch.nn.functional, f"conv_transpose{x.ndim - 2}d")
    return f(torch.from_numpy(x), torch.from_numpy(m.weight), None if m.bias is None else torch.from_numpy(m.bias),
             stride=m.stride, padding=m.padding, output_padding=m.output_padding).numpy()


@pytest.mark.parametrize("k,s,p", [(k, s, p) for k in range(1, 7) for s in range(1, k + 1) for p in range(k)])
def test_transpose_phases_match_a_count_of_the_taps_that_reach_each_output(k, s, p):
    """Phase r of an axis (output cells s * m + r) sums input cell m - padding + j times tap t0 + s * (J - 1 - j),
    j < J: the pairs (i, t) with i * s - p + t = s * m + r, enumerated for every m."""
    n_in = 7
    out_n = (n_in - 1) * s - 2 * p + k + (s - 1)           # the largest output_padding
    if out_n < 1:
        pytest.skip("no output")
    phases = _kernels.transpose_phases(out_n, k, s, p)
    assert len(phases) == s
    for r, (taps, pad, cells, t0) in enumerate(phases):
        assert cells == len(range(r, out_n, s))
        for m in range(cells):
            pairs = {(i, t) for i in range(-k, n_in + k) for t in range(k) if i * s - p + t == s * m + r}
            assert pairs == {(m - pad + j, t0 + s * (taps - 1 - j)) for j in range(taps)}


@pytest.mark.parametrize("w,out_w,kw,sw,pw", [(8, 16, 4, 2, 1), (9, 19, 3, 2, 1), (5, 12, 5, 3, 2), (7, 14, 4, 2, 3),
                                              (30, 240, 16, 8, 4), (6, 6, 3, 1, 2), (4, 8, 2, 2, 0)])
def test_transpose_blocked_width_holds_every_column_a_phase_reads(w, out_w, kw, sw, pw):
    """The shared blocked row: as many zero columns on the left and right as the phases' cells read past the
    input (a count over every phase, cell and tap)."""
    reads = [e + j - pad for taps, pad, cells, _ in _kernels.transpose_phases(out_w, kw, sw, pw)
             for e in range(cells) for j in range(taps)]
    left, right = max(0, -min(reads)), max(0, max(reads) - (w - 1))
    assert _kernels.transpose_blocked_width(w, out_w, kw, sw, pw) == (w + left + right, left)


@pytest.mark.parametrize("nthreads", [1, 2])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("nd,c_in,c_out,size,kernel,stride,padding,output_padding", [
    (2, 16, 32, (6, 6), 4, 2, 1, 0),                  # DCGAN: four 2x2 phases, one pair of output blocks
    (2, 17, 40, (5, 7), 4, 2, 1, 0),                  # partial input block; a pair and a lone output block
    (2, 16, 16, (6, 6), 3, 2, 1, 1),                  # k3 s2: phases of 2x2, 2x1, 1x2 and 1x1 taps
    (2, 16, 48, (5, 9), (5, 3), (3, 2), (2, 0), (2, 1)),  # 3 x 2 phases, mixed strides, output_padding
    (2, 16, 16, (6, 6), 4, 2, 3, 0),                  # padding 3: a phase's padding is -1 (reads from cell 1)
    (2, 16, 32, (6, 7), 3, 1, 1, 0),                  # stride 1: one phase, the flipped kernel
    (2, 16, 16, (4, 5), (2, 4), (2, 2), (0, 1), 0),   # 1 x 2 taps: rows of 1-tap phases
    (2, 33, 100, (5, 5), 4, 2, 1, 1),                 # the last pair partial; output_padding past the phases' rows
    (1, 16, 32, (30,), 16, 8, 4, 0),                  # 1-d, MelGAN's k16 s8: 8 phases of 2 taps
    (1, 32, 16, (41,), 4, 2, 1, 1),                   # 1-d, HiFi-GAN's k4 s2, output_padding
])
def test_phases_match_reference_and_torch(rng, monkeypatch, threads, nthreads, bias, nd, c_in, c_out, size, kernel,
                                          stride, padding, output_padding):
    _force(monkeypatch)
    threads(nthreads)
    m = getattr(nn, f"ConvTranspose{nd}d")(c_in, c_out, kernel, stride=stride, padding=padding,
                                           output_padding=output_padding, bias=bias, dtype=np.float32)
    x = rng.standard_normal((3, c_in, *size)).astype(np.float32)
    got = m(x)
    assert _plan_kind(m) == "_phases_runner"
    want = ref.conv_transpose_nd(x.astype(np.float64), m.weight.astype(np.float64), m.bias, m.stride, m.padding,
                                 m.output_padding)
    reduction = c_in * int(np.prod(m.kernel_size))
    assert_close(got, want, np.float32, reduction=reduction)
    if torch is not None:
        assert_close(got, _torch_transpose(m, x), np.float32, reduction=reduction)


@pytest.mark.parametrize("first", [True, False])
@pytest.mark.parametrize("n,c_out,h", [(1, 32, 5), (3, 32, 5), (8, 32, 5), (1, 160, 5), (2, 320, 5), (4, 64, 24)])
def test_phases_split_tasks_over_threads_bit_for_bit(rng, monkeypatch, threads, n, c_out, h, first):
    """A task is a pair of output blocks over a chunk of samples and of every phase's rows: 2 threads (samples,
    then rows, split when pairs are few; numbered chunk by chunk or, with TRANSPOSE_BLOCKED_CHUNKS_FIRST off, pair
    by pair) give the 1-thread result bit for bit. 2 pairs on 4 samples of 24 rows (the weights 1.3x the blocked
    input): 4 sample chunks, chunk by chunk (2 samples x 2 pairs per thread, as many as 2 pairs x 4 samples)."""
    _force(monkeypatch)
    monkeypatch.setattr(conv_ops, "TRANSPOSE_BLOCKED_CHUNKS_FIRST", first)
    x = rng.standard_normal((n, 16, h, 6)).astype(np.float32)
    m = nn.ConvTranspose2d(16, c_out, 4, stride=2, padding=1, dtype=np.float32)
    threads(1)
    one = m(x)
    threads(2)
    two = nn.ConvTranspose2d(16, c_out, 4, stride=2, padding=1, dtype=np.float32)
    two.load_state_dict(m.state_dict())
    got = two(x)
    run = two._plans[next(iter(two._plans))][0].run
    assert run.threads == 2 and (run.sample_chunks > 1 or run.row_chunks > 1 or c_out > 128)
    if h == 24:
        assert (run.sample_chunks, run.row_chunks, run.chunks_first) == (4, 1, first)
    if not first:
        assert not run.chunks_first
    np.testing.assert_array_equal(got, one)


@pytest.mark.parametrize("value", [np.inf, np.nan])
def test_phases_fall_back_for_nonfinite_weights(rng, monkeypatch, value):
    """A phase's run computes taps on zero columns: inf x 0 there would make NaNs the scatter never makes. Such
    weights go to GEMM + col2im, whose inf and NaN cells are torch's."""
    _force(monkeypatch)
    m = nn.ConvTranspose2d(16, 32, 4, stride=2, padding=1, dtype=np.float32)
    x = rng.standard_normal((2, 16, 5, 5)).astype(np.float32)
    m.weight[3, 5, 0, 0] = value
    got = m(x)
    monkeypatch.setattr(conv_ops, "TRANSPOSE_PHASES", False)
    gemm = nn.ConvTranspose2d(16, 32, 4, stride=2, padding=1, dtype=np.float32)
    gemm.load_state_dict(m.state_dict())
    np.testing.assert_array_equal(np.isnan(got), np.isnan(gemm(x)))
    assert 0 < np.isnan(got).sum() < got.size or value == np.inf
    finite = np.isfinite(got)
    assert_close(got[finite], gemm(x)[finite], np.float32, reduction=16 * 16)
    if torch is not None:
        t = _torch_transpose(m, x)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(t))
        np.testing.assert_array_equal(np.isinf(got), np.isinf(t))


def _level_takes(simd_level):
    return simd_level in conv_ops.BLOCKED_LEVELS


@pytest.mark.parametrize("layer,shape,phases", [
    (lambda: nn.ConvTranspose2d(256, 128, 4, stride=2, padding=1), (16, 256, 8, 8), True),    # DCGAN
    (lambda: nn.ConvTranspose2d(512, 256, 4, stride=2, padding=1), (16, 512, 4, 4), True),    # 256 input cells
    (lambda: nn.ConvTranspose2d(512, 256, 4, stride=2, padding=1), (15, 512, 4, 4), False),   # 240
    (lambda: nn.ConvTranspose2d(1024, 512, 4, stride=2, padding=1), (1, 1024, 8, 8), False),  # pix2pix: 64
    (lambda: nn.ConvTranspose2d(64, 64, 3, stride=2, padding=1, output_padding=1), (2, 64, 16, 16), True),
    (lambda: nn.ConvTranspose2d(128, 64, 2, stride=2), (2, 128, 16, 16), False),   # 1-tap phases: the GEMM's
    (lambda: nn.ConvTranspose2d(64, 64, 2, stride=3), (2, 64, 16, 16), False),     # kernel < stride
    (lambda: nn.ConvTranspose2d(64, 64, 3, stride=2, dilation=2), (2, 64, 16, 16), False),
    (lambda: nn.ConvTranspose2d(64, 64, 4, stride=2, padding=1, groups=2), (2, 64, 16, 16), False),
    (lambda: nn.ConvTranspose2d(64, 64, 4, stride=2, padding=1, dtype=np.float64), (2, 64, 16, 16), False),
    (lambda: nn.ConvTranspose2d(64, 3, 4, stride=2, padding=1), (2, 64, 16, 16), False),      # 3 outputs
    (lambda: nn.ConvTranspose2d(64, 36, 4, stride=2, padding=1), (2, 64, 16, 16), False),     # 33% waste
    (lambda: nn.ConvTranspose1d(128, 64, 4, stride=2, padding=1), (2, 128, 300), True),       # HiFi-GAN
    (lambda: nn.ConvTranspose1d(512, 256, 16, stride=8, padding=4), (4, 512, 32), False),     # MelGAN: 128
    (lambda: nn.ConvTranspose3d(64, 32, 4, stride=2, padding=1), (1, 64, 4, 4, 4), False),
])
def test_planner_takes_phases_by_its_rule(rng, simd_level, layer, shape, phases):
    """Default thresholds: the phases for float32, groups-1, dilation-1 1-d/2-d transposed layers with kernel >=
    stride (longer on an axis), channels as conv_blocked takes them and at least TRANSPOSE_PHASES_MIN_CELLS input
    cells, at BLOCKED_LEVELS; the other layers keep GEMM + col2im."""
    m = layer()
    x = rng.standard_normal(shape).astype(m.weight.dtype)
    got = m(x)
    assert (_plan_kind(m) == "_phases_runner") == (phases and _level_takes(simd_level))
    if phases and torch is not None and shape[0] * np.prod(shape[2:]) <= 1024:
        assert_close(got, _torch_transpose(m, x), x.dtype, reduction=shape[1] * int(np.prod(m.kernel_size)))


def test_conv_transpose_blocked_checks_its_arguments(rng):
    """The unchecked inner loops run only on buffers and shapes that match: anything else is a ValueError."""
    x = rng.standard_normal((2, 16, 5, 5)).astype(np.float32)
    w = rng.standard_normal((16, 32, 16)).astype(np.float32)
    out = np.empty((2, 32, 100), np.float32)
    wp, pwl = _kernels.transpose_blocked_width(5, 10, 4, 2, 1)
    assert (wp, pwl) == (7, 1)                                 # one zero column either side
    sizes = _kernels.transpose_blocked_sizes(2, 16, 32, 5, wp, 16)
    assert sizes == (2 * 1 * 5 * 7 * 16, 2 * 1 * 16 * 256 + 16 * 32, 32)

    geo = ((4, 4), (2, 2), (1, 1), (10, 10))
    check_buffer_sizes(lambda *args: _kernels.conv_transpose_blocked(x, w, None, out, *geo, *args), sizes)
    bufs = buffers(sizes)
    with pytest.raises(ValueError, match="do not match"):
        _kernels.conv_transpose_blocked(x, w, None, np.empty((2, 32, 99), np.float32), *geo, *bufs)
    with pytest.raises(ValueError, match="do not match"):
        _kernels.conv_transpose_blocked(x, np.ascontiguousarray(w[:, :, :9]), None, out, *geo, *bufs)
    with pytest.raises(ValueError, match="do not match"):
        _kernels.conv_transpose_blocked(x, w, np.zeros(31, np.float32), out, *geo, *bufs)
    with pytest.raises(ValueError, match="kernel >= stride"):
        _kernels.conv_transpose_blocked(x, w, None, out, (4, 4), (5, 2), (1, 1), (10, 10), *bufs)
    with pytest.raises(ValueError, match="kernel >= stride"):
        _kernels.conv_transpose_blocked(x, w, None, out, (4, 4), (2, 2), (-1, 1), (10, 10), *bufs)
    for bad in ((0, 1, 1), (1, 0, 1), (1, 1, 0)):
        with pytest.raises(ValueError, match="row_chunks"):
            _kernels.conv_transpose_blocked(x, w, None, out, *geo, *bufs, *bad)
    with pytest.raises(ValueError, match="kernel >= stride"):
        _kernels.transpose_phases(10, 2, 3, 0)


@pytest.mark.parametrize("c_in,c_out,kernel,stride,padding", [(17, 48, 4, 2, 1), (16, 16, 3, 2, 1),
                                                              (40, 80, (5, 3), (3, 2), (2, 0)), (16, 112, 4, 2, 3)])
def test_conv_transpose_blocked_reads_nothing_past_its_buffers(rng, c_in, c_out, kernel, stride, padding):
    """Input, weights, bias and the three buffers each end at an unreadable page (a lone last block of output
    channels, partial input blocks, phases of several tap counts, a negative phase padding): a read past any of
    them would crash. The buffers and the output start full of NaN: every cell a phase reads is written by the
    call first, and every output cell belongs to a phase."""
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, h, w = 2, 5, 9
    oh, ow = (h - 1) * sh - 2 * ph + kh + sh - 1, (w - 1) * sw - 2 * pw + kw + sw - 1   # largest output_padding
    x = _guarded(n * c_in * h * w).reshape(n, c_in, h, w)
    x[...] = rng.standard_normal(x.shape)
    wt = _guarded(c_in * c_out * kh * kw).reshape(c_in, c_out, kh * kw)
    wt[...] = rng.standard_normal(wt.shape)
    b = _guarded(c_out)
    b[...] = rng.standard_normal(c_out)
    out = np.empty((n, c_out, oh * ow), np.float32)
    wp, _ = _kernels.transpose_blocked_width(w, ow, kw, sw, pw)
    xs, ws, bs = _kernels.transpose_blocked_sizes(n, c_in, c_out, h, wp, kh * kw)
    bufs = [_guarded(xs), _guarded(2 * ws).reshape(2, ws), _guarded(bs)]
    want = ref.conv_transpose_nd(x.astype(np.float64), wt.reshape(c_in, c_out, kh, kw).astype(np.float64), b,
                                 (sh, sw), (ph, pw), (sh - 1, sw - 1))
    for threads, samples, chunks, first in itertools.product((1, 2), (1, 2), (1, 3), (False, True)):
        for buf in bufs + [out]:
            buf[...] = np.nan
        assert _kernels.conv_transpose_blocked(x, wt, b, out, (kh, kw), (sh, sw), (ph, pw), (oh, ow), *bufs, samples,
                                               chunks, threads, chunks_first=first) == 0
        assert_close(out.reshape(want.shape), want, np.float32, reduction=c_in * kh * kw)
