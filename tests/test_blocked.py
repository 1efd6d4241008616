"""conv_blocked: float32 1-d/2-d/3-d layers (groups 1, zero padding) computed directly on blocks of 16 channels,
skipping the taps whose run of cells reads only padding (a run's edge cells read zero columns). Checked against
the reference loops and torch on the shapes where its blocks, tasks and runs are partial, at every SIMD level this
CPU runs; the planner's rules; the fallback for non-finite weights; the checks that stand before the unchecked
inner loops."""
import itertools

import numpy as np
import pytest

import convlab.nn as nn
from convlab import _kernels
from convlab import reference as ref
from convlab.ops import conv as conv_ops
from helpers import assert_close, simd_level, threads, torch  # noqa: F401 (fixtures: every test at every SIMD level)

# every layer below takes conv_blocked, at every SIMD level (its 8-wide copies included)
FORCE = dict(BLOCKED=True, BLOCKED_LEVELS=tuple(_kernels.simd_levels()), BLOCKED_MIN_CHANNELS=1,
             BLOCKED_MAX_CHANNEL_WASTE=100.0, BLOCKED_MAX_PLANE=10**9, WINOGRAD=False, PARALLEL_MIN_MACS=0,
             DIRECT_MAX_MACS=0, TINY_MAX_MACS=0)


def _force(monkeypatch):
    for name, value in FORCE.items():
        monkeypatch.setattr(conv_ops, name, value)


def _plan_kind(m):
    (plan, _, _), = m._plans.values()
    return plan.run.__qualname__.split(".")[0]


def _padding(m, padding):
    if padding != "same":
        return m.padding
    total = [d * (k - 1) for d, k in zip(m.dilation, m.kernel_size)]
    return tuple((t // 2, t - t // 2) for t in total)


@pytest.mark.parametrize("nthreads", [1, 2])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("nd,c_in,c_out,size,kernel,stride,padding,dilation", [
    (2, 16, 32, (7, 7), 3, 1, 1, 1),                 # one pair of output blocks, one input block
    (2, 17, 33, (9, 8), 3, 1, 1, 1),                 # partial input block; a pair and a lone output block
    (2, 20, 16, (5, 15), (1, 7), 1, (0, 3), 1),      # 1x7: rows in runs of 7 + 8 cells (v4), 5 + 5 + 5 (v3)
    (2, 8, 24, (13, 6), (7, 1), 1, (3, 0), 1),       # 7x1: one run narrower than the register block
    (2, 16, 16, (15, 14), 3, 2, 1, 1),               # strided (stride 2 along rows: its own compiled copy)
    (2, 16, 32, (11, 20), 4, (2, 3), 1, 1),          # stride 3 along rows: the copy with the stride a variable
    (2, 16, 32, (11, 12), 3, 1, 4, 3),               # dilated: rows and columns reach the input by 1-3 taps
    (2, 16, 16, (3, 8), 3, 1, 5, 1),                 # output rows and columns that read only padding: the bias
    (2, 24, 40, (6, 7), (2, 4), (1, 2), (1, 2), (2, 1)),  # even kernel, mixed stride and dilation
    (2, 16, 16, (9, 10), 4, 1, "same", 1),           # 'same' with an even kernel: padded (1, 2) per axis
    (1, 16, 32, (29,), 5, 2, 2, 1),                  # 1-d: one row
    (1, 32, 16, (50,), 3, 1, 4, 4),
    (2, 16, 64, (9, 15), 3, 1, 1, 1),                # two pairs; 15 cells in runs of 7 + 8 / 5 + 5 + 5
    (2, 17, 80, (8, 13), 3, 1, 1, 1),                # two pairs and a lone block (own runs at v4); 13 = 6 + 7 / 7 + 6
    (2, 33, 100, (7, 7), 3, 2, 1, 1),                # the last pair partial; a partial input block
    (2, 6, 16, (14, 14), 5, 1, 0, 1),                # LeNet-5's 6 -> 16: 6 of 16 input channels summed, a lone
                                                     # block (v4: two rows of 10 cells in one run)
    (2, 3, 48, (9, 30), 3, 1, 1, 1),                 # 3 input channels; a pair, then a lone block in runs of 10
    (1, 1, 16, (40,), 7, 1, 3, 1),                   # 1-d, one input channel: runs of 14 cells (v4)
    (2, 16, 32, (9, 33), 3, 1, 6, 6),                # dilated 'same': edge runs read mostly zero columns
    # 3-d: the input's planes stacked as one column of rows, a run summing the kernel planes that reach the input
    # as it sums the kernel rows; the rows a task splits are (plane, row) pairs
    (3, 16, 32, (4, 6, 7), 3, 1, 1, 1),              # planes and rows padded by 1
    (3, 17, 33, (5, 9, 8), (3, 2, 3), (2, 1, 2), (1, 0, 1), (1, 2, 1)),  # partial blocks, mixed geometry
    (3, 16, 16, (3, 4, 4), 3, 1, 2, 1),              # output planes that read only padding: the bias
    (3, 20, 48, (6, 5, 8), (2, 3, 1), (1, 2, 1), (0, 1, 0), (2, 1, 1)),  # dilated along depth; a lone block
    (3, 16, 64, (8, 14, 14), 3, 2, 1, 1),            # R3D-18's 3x3x3 s2, two pairs
    (3, 16, 32, (5, 7, 9), (3, 1, 1), 1, (1, 0, 0), 1),  # R(2+1)D's temporal 3x1x1
    (3, 16, 32, (4, 6, 7), (1, 3, 3), 1, (0, 1, 1), 1),  # ... and spatial 1x3x3
    (3, 16, 32, (3, 6, 5), (2, 3, 3), 1, (0, 1, 1), (1, 3, 1)),  # 2 rows a plane whose kernel rows reach the
                                                     # input alike, and alike from plane to plane: no pair of rows
                                                     # may span two planes (one's last row, the next's first)
    (3, 16, 16, (5, 6, 7), 4, 1, "same", 1),         # 'same' with an even kernel: padded (1, 2) per axis
    (3, 5, 16, (4, 6, 14), 3, 1, 1, 1),              # 5 input channels, a lone block in runs of 14 on two rows
])
def test_blocked_matches_reference_and_torch(rng, monkeypatch, threads, nthreads, bias, nd, c_in, c_out, size,
                                             kernel, stride, padding, dilation):
    _force(monkeypatch)
    threads(nthreads)
    m = getattr(nn, f"Conv{nd}d")(c_in, c_out, kernel, stride=stride, padding=padding, dilation=dilation,
                                  bias=bias, dtype=np.float32)
    x = rng.standard_normal((3, c_in, *size)).astype(np.float32)
    got = m(x)
    assert _plan_kind(m) == "_blocked_runner"
    want = ref.conv_nd(x.astype(np.float64), m.weight.astype(np.float64), m.bias, m.stride, _padding(m, padding),
                       m.dilation, 1)
    assert_close(got, want, np.float32, reduction=m.weight[0].size)
    if torch is not None:
        t = getattr(torch.nn.functional, f"conv{nd}d")(
            torch.from_numpy(x), torch.from_numpy(m.weight), None if m.bias is None else torch.from_numpy(m.bias),
            stride=m.stride, padding=padding if padding == "same" else m.padding, dilation=m.dilation).numpy()
        assert_close(got, t, np.float32, reduction=m.weight[0].size)


@pytest.mark.parametrize("rows", [3, 7])
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("out_w", list(range(1, 30)))
def test_blocked_runs_of_every_length_match_reference_and_torch(rng, monkeypatch, threads, out_w, stride, rows):
    """A row of out_w cells goes to the micro-kernel in the fewest runs of at most 14 cells (x86-64-v4; 6 on the
    8-wide levels), as even as they go, each run by the copy compiled for its length; at x86-64-v4 two rows
    whose kernel rows reach the input alike go together, in runs of at most 7 cells each for the pair of blocks
    and of at most 14 for the lone third block (one vector of sums a cell). Widths 1-29 give every length at each
    register block, with the first and last run of a row reading the left and right zero columns.
    3 rows padded by 1: three kinds of rows (top, inside, bottom), each alone; 7 rows at stride 1: the top row
    alone, 2 pairs of inside rows, the last inside row alone (its neighbour is the bottom row) and the bottom
    row (stride 2: 4 rows, the 2 inside ones a pair). Strides 1 and 2 run copies with the stride a constant
    (the cells' offsets are constants), stride 3 the copy that reads it from the geometry."""
    _force(monkeypatch)
    threads(1)
    m = nn.Conv2d(16, 48, 3, stride=stride, padding=1, dtype=np.float32)   # a pair of blocks and a lone one
    x = rng.standard_normal((2, 16, rows, stride * out_w)).astype(np.float32)
    got = m(x)
    assert _plan_kind(m) == "_blocked_runner" and got.shape[-1] == out_w
    want = ref.conv_nd(x.astype(np.float64), m.weight.astype(np.float64), m.bias, stride, 1, 1, 1)
    assert_close(got, want, np.float32, reduction=m.weight[0].size)
    if torch is not None:
        t = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(m.weight), torch.from_numpy(m.bias),
                                       stride=stride, padding=1).numpy()
        assert_close(got, t, np.float32, reduction=m.weight[0].size)


@pytest.mark.parametrize("n,c_out,samples,chunks", [(1, 32, 1, 8), (3, 32, 3, 3), (8, 32, 8, 1), (1, 160, 1, 2),
                                                     (2, 320, 1, 1)])
def test_blocked_tasks_split_samples_then_rows_over_threads(rng, monkeypatch, threads, n, c_out, samples, chunks):
    """A task is a pair of output blocks (32 channels) over all samples; with fewer than 4 pairs per thread the
    samples split, then the rows (8 here): 2 threads give the 1-thread result bit for bit."""
    _force(monkeypatch)
    x = rng.standard_normal((n, 16, 10, 9)).astype(np.float32)
    m = nn.Conv2d(16, c_out, 3, padding=1, dtype=np.float32)
    threads(1)
    one = m(x)
    threads(2)
    m2 = nn.Conv2d(16, c_out, 3, padding=1, dtype=np.float32)
    m2.load_state_dict(m.state_dict())
    two = m2(x)
    (plan, _, _), = m2._plans.values()
    assert (plan.run.sample_chunks, plan.run.row_chunks) == (samples, chunks)
    np.testing.assert_array_equal(one, two)     # each output cell is one sum in one order either way


@pytest.mark.parametrize("shape,split", [
    ((1, 16, 24, 20), (1, 4, True)),     # 2 pairs x 4 row chunks: 24 rows each either way; weights 1.1x the input
    ((3, 16, 24, 20), (3, 2, True)),     # 3 samples x 2 row chunks: 72 (sample, row) pairs each either way
    ((3, 16, 5, 40), (3, 2, False)),     # 5 rows in 2 + 3: chunk by chunk 18 against 15 pair by pair; (1, 2) too
    ((1, 16, 8, 8), (1, 4, False)),      # the weights 5.8x the input: pair by pair
])
def test_blocked_tasks_go_chunk_by_chunk_where_the_threads_stay_as_even(rng, monkeypatch, threads, shape, split):
    """With 2 threads and 2 pairs (64 output channels), conv_blocked numbers its tasks chunk by chunk where the
    weights are at most BLOCKED_CHUNKS_FIRST_MAX_WEIGHTS times a call's blocked input and the busiest thread
    runs no more (sample, row) pairs than pair by pair (the splits worked out by hand in the comments); the
    result is the 1-thread result bit for bit and the reference's. With BLOCKED_CHUNKS_FIRST off, pair by pair."""
    _force(monkeypatch)
    monkeypatch.setattr(conv_ops, "BLOCKED_INPUT_BYTES", 1 << 20)
    x = rng.standard_normal(shape).astype(np.float32)
    m = nn.Conv2d(16, 64, 3, padding=1, dtype=np.float32)
    threads(1)
    one = m(x)
    for first in (True, False):
        monkeypatch.setattr(conv_ops, "BLOCKED_CHUNKS_FIRST", first)
        threads(2)
        m2 = nn.Conv2d(16, 64, 3, padding=1, dtype=np.float32)
        m2.load_state_dict(m.state_dict())
        two = m2(x)
        (plan, _, _), = m2._plans.values()
        run = plan.run
        assert run.__qualname__.split(".")[0] == "_blocked_runner" and run.samples_per_call == shape[0]
        assert (run.sample_chunks, run.row_chunks, run.chunks_first) == (split if first else split[:2] + (False,))
        np.testing.assert_array_equal(one, two)
    want = ref.conv_nd(x.astype(np.float64), m.weight.astype(np.float64), m.bias, (1, 1), (1, 1), (1, 1), 1)
    assert_close(one, want, np.float32, reduction=16 * 9)


@pytest.mark.parametrize("pairs,samples,chunks,step,rows,threads,first,want", [
    (2, 1, 4, 1, 24, 2, False, 24), (2, 1, 4, 1, 24, 2, True, 24),       # pair 0's 4 chunks; chunks 0-1's pairs
    (2, 3, 2, 3, 5, 2, True, 18), (2, 3, 2, 3, 5, 2, False, 15),         # rows 2 + 3: chunk 1's 3 x 3 x 2
    (3, 1, 1, 2, 10, 2, False, 40),     # tasks 2 + 1 of 2 samples x 10 rows
    (5, 2, 1, 3, 4, 3, True, 24),       # tasks 4 + 3 + 3; the last thread's 3 hold 2 samples (3 in 1 + 2) x 4 rows
])
def test_static_loads_are_the_busiest_threads_share(pairs, samples, chunks, step, rows, threads, first, want):
    """_static_loads against shares counted by hand: OpenMP's static schedule gives the first ``total % threads``
    threads a task more, each a contiguous run; a task's samples and rows are cut as the kernel cuts them
    (3 samples in 2 chunks: 1 + 2; 5 rows in 2: 2 + 3)."""
    assert conv_ops._static_loads(pairs, samples, chunks, step, rows, threads, first) == want


@pytest.mark.parametrize("first", [False, True])
@pytest.mark.parametrize("pairs,n,nc,rc", [(3, 5, 2, 3), (1, 1, 1, 1), (4, 7, 3, 2), (2, 3, 3, 1)])
def test_pair_task_covers_every_pair_sample_and_chunk_once(pairs, n, nc, rc, first):
    """_kernels.pair_task, the numbering both blocked kernels run (and _static_loads models), against the order
    written out here: pair by pair the row chunk varies fastest, then the sample chunk, then the pair; chunk by
    chunk the pair varies fastest, then the sample chunk, then the row chunk. A sample chunk q holds samples
    [q * n // nc, (q + 1) * n // nc)."""
    if first:
        want = [(p, q, ch) for ch in range(rc) for q in range(nc) for p in range(pairs)]
    else:
        want = [(p, q, ch) for p in range(pairs) for q in range(nc) for ch in range(rc)]
    got = [_kernels.pair_task(t, pairs, n, nc, rc, first) for t in range(pairs * nc * rc)]
    assert got == [(p, q * n // nc, (q + 1) * n // nc, ch) for p, q, ch in want]


@pytest.mark.parametrize("t,pairs,nc,rc", [(6, 1, 2, 3), (-1, 1, 2, 3), (0, 0, 1, 1), (0, 1, 0, 1), (0, 1, 1, 0)])
def test_pair_task_names_a_task_out_of_range(t, pairs, nc, rc):
    with pytest.raises(ValueError, match=f"got t={t}, pairs={pairs}, N=4, NC={nc}, RC={rc}"):
        _kernels.pair_task(t, pairs, 4, nc, rc, False)


@pytest.mark.parametrize("nthreads", [1, 2])
@pytest.mark.parametrize("n,budget_samples,per_call", [(5, 2, 2), (7, 3, 3), (4, 3, 2), (3, 0, 1), (3, 9, 3)])
def test_blocked_copies_at_most_its_budget_of_input_per_call(rng, monkeypatch, threads, nthreads, n,
                                                             budget_samples, per_call):
    """BLOCKED_INPUT_BYTES bounds the blocked copy of the input: the samples go to the kernel in calls of as many
    as fit (at least one, the calls as even as they go: 5 samples in 2s are 2 + 2 + 1, 4 in 3s are 2 + 2), the
    workspace stays that size, and the result is the one-call result bit for bit and the reference's."""
    for name, value in FORCE.items():
        monkeypatch.setattr(conv_ops, name, value)
    threads(nthreads)
    x = rng.standard_normal((n, 20, 6, 7)).astype(np.float32)          # 20 channels: 2 blocks of 16 per sample
    m = nn.Conv2d(20, 40, 3, padding=1, dtype=np.float32)
    whole = m(x)
    per_sample = 2 * 16 * 6 * 9 * 4                                     # rows of 7 cells between 2 zero columns
    monkeypatch.setattr(conv_ops, "BLOCKED_INPUT_BYTES", budget_samples * per_sample + per_sample // 2)
    conv_ops.release_workspace()
    m2 = nn.Conv2d(20, 40, 3, padding=1, dtype=np.float32)
    m2.load_state_dict(m.state_dict())
    got = m2(x)
    (plan, _, _), = m2._plans.values()
    assert plan.run.samples_per_call == per_call
    xs, ws, bs = _kernels.blocked_sizes(per_call, 20, 40, 6, 9, 9)
    rows = 2 if per_call < n else nthreads          # several calls keep a row of weights per pair (40: 2 pairs)
    assert conv_ops.workspace_bytes() == 4 * (xs + rows * ws + bs)
    np.testing.assert_array_equal(got, whole)
    want = ref.conv_nd(x.astype(np.float64), m.weight.astype(np.float64), m.bias, 1, 1, 1, 1)
    assert_close(got, want, np.float32, reduction=m.weight[0].size)


@pytest.mark.parametrize("nthreads", [1, 2])
@pytest.mark.parametrize("n,c_out", [(5, 40), (3, 100), (4, 16)])
def test_blocked_weights_kept_across_calls_are_this_calls_weights(rng, monkeypatch, threads, nthreads, n, c_out):
    """On several kernel calls (one sample each here) the first deals the weights to a row per pair and the
    others reuse them: each layer call deals afresh, so weights changed in place between calls (as an optimiser
    does) give the new result, on every sample, not the last call's; and the result is the one-call result bit
    for bit. On 1 thread a pair is one task (the tasks deal the weights); on 2, the output rows of 1, 2 or 4 pairs
    split into chunks (the weights dealt before the tasks)."""
    _force(monkeypatch)
    threads(nthreads)
    x = rng.standard_normal((n, 20, 6, 7)).astype(np.float32)
    m = nn.Conv2d(20, c_out, 3, padding=1, dtype=np.float32)
    whole = m(x)
    monkeypatch.setattr(conv_ops, "BLOCKED_INPUT_BYTES", 1)         # a sample per call
    m2 = nn.Conv2d(20, c_out, 3, padding=1, dtype=np.float32)
    m2.load_state_dict(m.state_dict())
    np.testing.assert_array_equal(m2(x), whole)
    (plan, _, _), = m2._plans.values()
    assert plan.run.samples_per_call == 1 and _plan_kind(m2) == "_blocked_runner"
    for _ in range(3):
        m2.weight[...] = rng.standard_normal(m2.weight.shape).astype(np.float32)     # in place: the same array
        m2.bias[...] = rng.standard_normal(c_out).astype(np.float32)
        got = m2(x)
        want = ref.conv_nd(x.astype(np.float64), m2.weight.astype(np.float64), m2.bias, 1, 1, 1, 1)
        assert_close(got, want, np.float32, reduction=m2.weight[0].size)


@pytest.mark.parametrize("nthreads,c_out", [(1, 64), (2, 64), (2, 128)])
def test_blocked_kept_weights_are_read_from_the_rows_not_from_w(rng, nthreads, c_out):
    """keep_weights 2 computes with the rows an earlier call dealt (keep_weights 1), not with the w it is
    given: a w of NaN then gives the first w's result. Each keep_weights on its own gives the reference, and a
    NaN weight found while dealing (keep_weights 1, before the tasks or by them) returns 1."""
    x = rng.standard_normal((3, 16, 5, 6)).astype(np.float32)
    w = rng.standard_normal((c_out, 16, 9)).astype(np.float32)
    b = rng.standard_normal(c_out).astype(np.float32)
    want = ref.conv_nd(x.astype(np.float64), w.reshape(c_out, 16, 3, 3).astype(np.float64), b, 1, 1, 1, 1)
    xs, ws, bs = _kernels.blocked_sizes(1, 16, c_out, 5, 8, 9)
    pairs = c_out // 32
    geo = ((3, 3), (1, 1), (1, 1), (1, 1), (5, 6))
    for chunks in (1, 2):                     # 1: a task per pair on 2 pairs and 2 threads; 2: rows in chunks
        xb, wb, bb = np.empty(xs, np.float32), np.full((pairs, ws), np.nan, np.float32), np.empty(bs, np.float32)
        out = np.full((3, c_out, 30), np.nan, np.float32)
        for i in range(3):
            keep = 1 if i == 0 else 2
            wi = w if i == 0 else np.full_like(w, np.nan)
            assert _kernels.conv_blocked(x[i:i + 1], wi, b, out[i:i + 1], *geo, xb, wb, bb, 1, chunks, nthreads,
                                         keep) == 0
        assert_close(out.reshape(want.shape), want, np.float32, reduction=16 * 9)
        bad = w.copy()
        bad[-1, 3, 4] = np.nan                # the last pair's
        assert _kernels.conv_blocked(x[:1], bad, b, out[:1], *geo, xb, wb, bb, 1, chunks, nthreads, 1) == 1
    out = np.empty((3, c_out, 30), np.float32)
    xb3 = np.empty(_kernels.blocked_sizes(3, 16, c_out, 5, 8, 9)[0], np.float32)
    assert _kernels.conv_blocked(x, w, b, out, *geo, xb3, np.empty((nthreads, ws), np.float32), bb, 1, 1,
                                 nthreads, 0) == 0
    assert_close(out.reshape(want.shape), want, np.float32, reduction=16 * 9)


@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan])
def test_blocked_falls_back_for_nonfinite_weights(rng, monkeypatch, value):
    """A non-finite weight times a zero-padding cell is NaN on every other path (and in torch's float64 layers,
    test_kernel_paths.py); skipping that tap would lose it, so the layer runs the path that computes padding
    taps: NaN and inf land where the GEMM path puts them. (torch's float32 result depends on its backend:
    a 16 -> 32 3x3 layer padded by 2 on 6x5 gives no NaN there, a 16 -> 16 one padded by 1 on 5x5 does.)"""
    for name, v in FORCE.items():
        monkeypatch.setattr(conv_ops, name, v)
    m = nn.Conv2d(16, 32, 3, padding=2, dtype=np.float32)
    m.weight[0, 0, 0, 0] = value
    m.weight[5, 3, 1, 2] = np.nan
    x = rng.standard_normal((2, 16, 6, 5)).astype(np.float32)
    with np.errstate(invalid="ignore"):
        got = m(x)
        assert _plan_kind(m) == "_blocked_runner"
        monkeypatch.setattr(conv_ops, "BLOCKED", False)
        g = nn.Conv2d(16, 32, 3, padding=2, dtype=np.float32)
        g.load_state_dict(m.state_dict())
        want = g(x)
        assert _plan_kind(g) != "_blocked_runner"
    assert np.isnan(want).any() and np.isfinite(want).any()
    for test in (np.isnan, np.isposinf, np.isneginf):
        np.testing.assert_array_equal(test(got), test(want), err_msg=test.__name__)
    finite = np.isfinite(want)
    assert_close(got[finite], want[finite], np.float32, reduction=m.weight[0].size)
    monkeypatch.setattr(conv_ops, "BLOCKED", True)
    m = nn.Conv2d(16, 32, 3, padding=2, dtype=np.float32)       # finite weights: the blocked result
    got = m(x)
    assert _plan_kind(m) == "_blocked_runner"
    want = ref.conv_nd(x.astype(np.float64), m.weight.astype(np.float64), m.bias, m.stride, m.padding, m.dilation, 1)
    assert_close(got, want, np.float32, reduction=m.weight[0].size)


@pytest.mark.parametrize("size,kernel,stride,padding,dilation", [
    ((7,), (3,), (1,), (1,), (1,)), ((33, 33), (3, 3), (1, 1), (6, 6), (6, 6)),
    ((5, 9), (4, 2), (2, 3), (3, 0), (1, 2)), ((3,), (5,), (1,), (6,), (1,)),
    ((12, 1), (1, 1), (1, 1), (0, 0), (1, 1)), ((10,), (3,), (4,), (9,), (5,)),
])
def test_padding_share_counts_the_taps_that_read_padding(size, kernel, stride, padding, dilation):
    """_padding_share against a count over every (output cell, tap) pair of a zero-padded input."""
    blocks = [(n + 2 * p - d * (k - 1) - 1) // s + 1 for n, k, s, p, d in zip(size, kernel, stride, padding, dilation)]
    inside = np.ones(blocks + list(kernel), dtype=bool)
    for axis, (n, o, k, s, p, d) in enumerate(zip(size, blocks, kernel, stride, padding, dilation)):
        pos = np.arange(o)[:, None] * s + np.arange(k)[None, :] * d - p
        ok = (pos >= 0) & (pos < n)
        shape = [1] * (2 * len(size))
        shape[axis], shape[len(size) + axis] = o, k
        inside &= ok.reshape(shape)
    want = 1 - inside.mean()
    assert conv_ops._padding_share(size, blocks, kernel, stride, padding, dilation) == pytest.approx(want)


def _level_takes(simd_level, m):
    """The levels the rule runs at: every layer at x86-64-v4; at x86-64-v3 (8-wide sums) only stride-1 layers
    with kernels 5 or more cells wide along an axis, and strided 3-d layers."""
    return simd_level == "x86-64-v4" or (simd_level == "x86-64-v3" and (
        (max(m.kernel_size) >= 5 and max(m.stride) == 1) or (len(m.kernel_size) == 3 and max(m.stride) > 1)))


@pytest.mark.parametrize("layer,shape,blocked", [
    (lambda: nn.Conv2d(512, 512, 3, padding=1), (2, 512, 7, 7), True),            # small plane (ResNet)
    (lambda: nn.Conv2d(256, 256, 3, padding=6, dilation=6), (1, 256, 33, 33), True),  # 23% padding taps
    (lambda: nn.Conv2d(128, 128, (1, 7), padding=(0, 3)), (1, 128, 17, 17), True),   # 10% padding taps
    (lambda: nn.Conv2d(64, 64, 3, padding=1), (1, 64, 56, 56), False),            # Winograd's
    (lambda: nn.Conv2d(256, 512, 1, stride=2), (1, 256, 14, 14), False),          # 1x1: the GEMM's
    (lambda: nn.Conv2d(64, 128, 4, stride=2, padding=1), (2, 64, 32, 32), True),   # 16x16 out, 3% padding, but
                                                                                   # 16 taps / 4: 4 copies (DCGAN)
    (lambda: nn.Conv2d(64, 64, 5, padding=2), (1, 64, 32, 32), True),             # 7% padding; 25 copies
    (lambda: nn.Conv2d(64, 64, 3, padding=2, dilation=2), (1, 64, 64, 64), True),  # dilated: not Winograd's
    (lambda: nn.Conv2d(64, 64, 2), (1, 64, 32, 32), True),                        # 4 copies
    (lambda: nn.Conv2d(64, 64, (1, 7), stride=(1, 2), padding=(0, 3)), (1, 64, 16, 64), True),  # 3.5 copies
    (lambda: nn.Conv2d(64, 128, 3, stride=2, padding=1), (1, 64, 56, 56), True),   # 2.25 copies (ResNet): the
                                                                                   # boundary
    (lambda: nn.Conv2d(288, 384, 3, stride=2), (1, 288, 35, 35), True),           # 2.25, no padding (Inception)
    (lambda: nn.Conv1d(512, 512, 3, stride=2), (1, 512, 3199), False),            # long rows, no padding, 1.5
    (lambda: nn.Conv1d(128, 128, 2), (1, 128, 2000), False),                      # 2 copies
    (lambda: nn.Conv1d(128, 128, 5, padding=2), (1, 128, 2048), True),            # 5 copies
    (lambda: nn.Conv1d(64, 64, 3, padding=8, dilation=4), (1, 64, 1000), False),  # 3 copies, but conv_rows' (TCN)
    (lambda: nn.Conv2d(512, 512, 3, padding=1, dtype=np.float64), (2, 512, 7, 7), False),
    (lambda: nn.Conv2d(512, 512, 3, padding=1, groups=2), (2, 512, 7, 7), False),
    (lambda: nn.Conv2d(512, 512, 3, padding=1, padding_mode="reflect"), (2, 512, 7, 7), False),
    (lambda: nn.Conv2d(512, 36, 3, padding=1), (2, 512, 7, 7), False),           # 36 -> 48 channels: 33% waste
    (lambda: nn.Conv2d(8, 512, 3, padding=1), (2, 8, 7, 7), False),              # half a block of input channels
    (lambda: nn.Conv3d(64, 64, 3, padding=1), (1, 64, 4, 7, 7), True),            # 3-d, small planes
    (lambda: nn.Conv3d(32, 64, 3, stride=2, padding=1), (1, 32, 8, 16, 16), True),  # 27 taps / 8: 3.4 copies (R3D)
    (lambda: nn.Conv3d(64, 64, (3, 1, 1), padding=(1, 0, 0)), (1, 64, 8, 28, 28), True),  # 3 copies (R(2+1)D)
    (lambda: nn.Conv3d(64, 64, 3, padding=1), (1, 64, 8, 16, 16), True),          # Winograd's at x86-64-v3; too
                                                                                   # narrow for it at v4 (3 x 64 x
                                                                                   # 64 x 64 tiles < 2**20)
    (lambda: nn.Conv3d(64, 64, 3, padding=1), (1, 64, 8, 32, 32), False),         # 3 x 64 x 64 x 256: Winograd's
    (lambda: nn.Conv3d(64, 64, 2, stride=2), (1, 64, 8, 16, 16), False),          # 1 copy: the GEMM's
    (lambda: nn.Conv3d(64, 64, 3, padding=1, padding_mode="replicate"), (1, 64, 4, 7, 7), False),
])
def test_planner_takes_blocked_by_its_rule(rng, simd_level, layer, shape, blocked):
    """Default thresholds: conv_blocked for float32, groups-1, zero-padded 1-d/2-d/3-d layers of >= 16 channels with
    small output planes, columns holding >= 2.25 copies of the input (taps / stride product; not conv_rows'
    layers) or many padding taps, at x86-64-v4, and at x86-64-v3 those of them with stride 1 and kernels 5+
    cells wide; the other layers keep their paths."""
    m = layer()
    m(rng.standard_normal(shape).astype(m.weight.dtype))
    assert (_plan_kind(m) == "_blocked_runner") == (blocked and _level_takes(simd_level, m))


@pytest.mark.parametrize("nd,size", [(2, (12, 16)), (3, (3, 4, 16))])
def test_planner_keeps_samples_over_the_byte_bound_off_blocked(rng, monkeypatch, nd, size):
    """A call of conv_blocked holds one sample at the least: where one sample's blocked copy (C_in rounded up to
    16 x its cells, 4 bytes each) is over BLOCKED_MAX_SAMPLE_BYTES, the layer takes another path, so its extra
    memory stays bounded; at the bound it is still conv_blocked's. 60 channels: 64 in the copy."""
    monkeypatch.setattr(conv_ops, "BLOCKED_LEVELS", tuple(_kernels.simd_levels()))
    x = rng.standard_normal((1, 60, *size)).astype(np.float32)
    copy = 4 * 64 * x[0, 0].size
    for bound, blocked in ((copy, True), (copy - 1, False)):
        monkeypatch.setattr(conv_ops, "BLOCKED_MAX_SAMPLE_BYTES", bound)
        m = getattr(nn, f"Conv{nd}d")(60, 32, 3, stride=2, padding=1)
        got = m(x)
        assert (_plan_kind(m) == "_blocked_runner") == blocked
        want = ref.conv_nd(x.astype(np.float64), m.weight.astype(np.float64), m.bias, m.stride, m.padding,
                           m.dilation, 1)
        assert_close(got, want, np.float32, reduction=m.weight[0].size)


@pytest.mark.parametrize("nd,c_in,c_out,size,kernel,stride,padding,dilation,blocked", [
    (2, 16, 80, (17, 17), 2, 1, 0, 1, True),               # 4 copies of the input: conv_blocked (at x86-64-v4)
    (2, 16, 80, (20, 33), (1, 7), (1, 2), (0, 3), 1, True),  # 3.5 copies
    (2, 16, 80, (12, 20), (1, 5), 1, (0, 2), 1, True),      # 1x5 at stride 1: 5 copies, at x86-64-v3 too
    (2, 16, 80, (12, 20), (1, 4), 1, (0, 2), 1, True),      # 1x4: at x86-64-v4 only
    (2, 16, 32, (20, 33), (1, 7), (1, 2), (0, 3), 1, False),  # ... but depth 112, 32 outputs: conv_rows' (v4)
    (2, 16, 48, (33, 35), 4, 2, 1, 1, True),               # 4x4 s2 (DCGAN), 16x17 out
    (2, 16, 80, (35, 33), 3, 2, 1, 1, True),               # 3x3 s2: 2.25 copies, the boundary
    (2, 16, 32, (24, 25), 3, 1, 2, 2, True),               # dilated 3x3
    (1, 16, 80, (600,), 2, 1, 0, 1, False),                # 1-d k2: 2 copies, the GEMM
    (1, 16, 32, (600,), 3, 2, 1, 1, False),                # 1-d k3 s2: 1.5 copies, the GEMM
    (1, 16, 80, (300,), 4, 1, 1, 1, True),                 # 1-d k4: 4 copies
    (1, 16, 32, (300,), 3, 1, 1, 1, False),                # 1-d k3, 3 copies: conv_rows' at x86-64-v4
    (2, 16, 16, (33, 35), 4, 2, 1, 1, False),              # 4x4 s2, 16 channels: conv_rows' at every level
])
def test_planner_expansion_boundary_matches_reference_and_torch(rng, simd_level, nd, c_in, c_out, size, kernel,
                                                                 stride, padding, dilation, blocked):
    """Both sides of BLOCKED_MIN_EXPANSION at the default thresholds (output planes over BLOCKED_MAX_PLANE,
    padding shares under BLOCKED_MIN_PADDING), against the reference loops and torch."""
    m = getattr(nn, f"Conv{nd}d")(c_in, c_out, kernel, stride=stride, padding=padding, dilation=dilation)
    x = rng.standard_normal((2, c_in, *size)).astype(np.float32)
    got = m(x)
    assert (_plan_kind(m) == "_blocked_runner") == (blocked and _level_takes(simd_level, m))
    if not blocked and c_out <= 64 and m.stride in ((1,), (1, 2)) and simd_level == "x86-64-v4":
        assert _plan_kind(m) == "_rows_runner"
    want = ref.conv_nd(x.astype(np.float64), m.weight.astype(np.float64), m.bias, m.stride, m.padding, m.dilation, 1)
    assert_close(got, want, np.float32, reduction=m.weight[0].size)
    if torch is not None:
        t = getattr(torch.nn.functional, f"conv{nd}d")(
            torch.from_numpy(x), torch.from_numpy(m.weight), torch.from_numpy(m.bias), stride=m.stride,
            padding=m.padding, dilation=m.dilation).numpy()
        assert_close(got, t, np.float32, reduction=m.weight[0].size)


@pytest.mark.parametrize("w,out_w,kw,sw,pw,dw,right", [
    (5, 5, 3, 1, 1, 1, 1),          # 'same' 3x3: one zero column either side
    (9, 5, 3, 2, 2, 1, 0),          # stride 2: the last output cell's taps end on the row's last cell
    (10, 10, 4, 1, 1, 1, 2),        # 'same' with an even kernel: padded (1, 2)
    (33, 33, 3, 1, 6, 6, 6),        # dilated 'same' (ASPP d6)
    (8, 3, 2, 3, 0, 1, 0),          # stride past the kernel: cells the taps never reach, no zero column
    (12, 4, 3, 2, 3, 5, 2),         # dilated and strided, padded by 3: the taps reach 2 of the 3 on the right
])
def test_blocked_width_counts_the_zero_columns_the_taps_reach(w, out_w, kw, sw, pw, dw, right):
    """blocked_width = the row, pw zero columns on the left and, on the right, as many as a count of the columns
    the output cells' taps read past the row."""
    reach = max(x * sw + t * dw - pw for x in range(out_w) for t in range(kw))
    assert right == max(0, reach - (w - 1))
    assert _kernels.blocked_width(w, out_w, kw, sw, pw, dw) == w + pw + right


def buffers(sizes, threads=1, short=-1):
    """The three float32 buffers of a blocked kernel (input, ``threads`` rows of weights, bias) of ``sizes``,
    buffer ``short`` one float short."""
    return [np.empty((threads, sizes[1] - (short == 1)) if i == 1 else sizes[i] - (short == i), np.float32)
            for i in range(3)]


def check_buffer_sizes(call, sizes):
    """``call(xb, wb, bb[, sample_chunks, row_chunks, threads])`` runs on buffers of ``sizes`` and is a ValueError
    naming the buffers when one is a float short or there are fewer rows of weights than threads."""
    assert call(*buffers(sizes)) == 0
    for j in range(3):
        with pytest.raises(ValueError, match="buffers"):
            call(*buffers(sizes, short=j))
    with pytest.raises(ValueError, match="buffers"):         # a row of weights per thread
        call(*buffers(sizes, threads=1), 1, 1, 2)
    assert call(*buffers(sizes, threads=2), 1, 1, 2) == 0


def test_conv_blocked_checks_its_arguments(rng):
    """The unchecked inner loops run only on buffers and shapes that match: anything else is a ValueError."""
    x = rng.standard_normal((2, 16, 5, 5)).astype(np.float32)
    w = rng.standard_normal((32, 16, 9)).astype(np.float32)
    out = np.empty((2, 32, 25), np.float32)
    assert _kernels.blocked_width(5, 5, 3, 1, 1, 1) == 7        # a zero column either side
    sizes = _kernels.blocked_sizes(2, 16, 32, 5, 7, 9)
    assert sizes == (2 * 1 * 5 * 7 * 16, 2 * 1 * 9 * 256, 32)

    geo = ((3, 3), (1, 1), (1, 1), (1, 1), (5, 5))
    check_buffer_sizes(lambda *args: _kernels.conv_blocked(x, w, None, out, *geo, *args), sizes)
    bufs = buffers(sizes)
    with pytest.raises(ValueError, match="do not match"):
        _kernels.conv_blocked(x, w, None, np.empty((2, 32, 24), np.float32), *geo, *bufs)
    with pytest.raises(ValueError, match="do not match"):
        _kernels.conv_blocked(x, np.ascontiguousarray(w[:, :, :8]), None, out, *geo, *bufs)
    with pytest.raises(ValueError, match="do not match"):
        _kernels.conv_blocked(x, w, np.zeros(31, np.float32), out, *geo, *bufs)
    with pytest.raises(ValueError, match="stride"):
        _kernels.conv_blocked(x, w, None, out, (3, 3), (0, 1), (1, 1), (1, 1), (5, 5), *bufs)
    for bad in ((0, 1, 1), (1, 0, 1), (1, 1, 0), (1, 1, 1, 3), (1, 1, 1, -1)):
        with pytest.raises(ValueError, match="row_chunks"):
            _kernels.conv_blocked(x, w, None, out, *geo, *bufs, *bad)
    with pytest.raises(ValueError, match="all 2-tuples"):
        _kernels.conv_blocked(x, w, None, out, (1, 3, 3), (1, 1), (1, 1), (1, 1), (5, 5), *bufs)
    with pytest.raises(ValueError, match="depth must be 1"):
        _kernels.conv_blocked(x, w, None, out, *geo, *bufs, depth=5)
    x3 = rng.standard_normal((2, 16, 2 * 5, 5)).astype(np.float32)   # 3-d: 2 planes of 5 rows, stacked
    w3 = rng.standard_normal((32, 16, 27)).astype(np.float32)
    out3 = np.empty((2, 32, 2 * 25), np.float32)
    geo3 = ((3, 3, 3), (1, 1, 1), (1, 1, 1), (1, 1, 1), (2, 5, 5))
    sizes3 = _kernels.blocked_sizes(2, 16, 32, 10, 7, 27)
    check_buffer_sizes(lambda *args: _kernels.conv_blocked(x3, w3, None, out3, *geo3, *args, depth=2), sizes3)
    for depth in (3, 0):                              # 10 rows are not 3 planes, nor 0
        with pytest.raises(ValueError, match="depth must"):
            _kernels.conv_blocked(x3, w3, None, out3, *geo3, *buffers(sizes3), depth=depth)
    with pytest.raises(ValueError, match="do not match"):             # 9 taps for a 3x3x3 kernel
        _kernels.conv_blocked(x3, w, None, out3, *geo3, *buffers(sizes3), depth=2)
    with pytest.raises(ValueError, match="stride"):
        _kernels.conv_blocked(x3, w3, None, out3, (3, 3, 3), (0, 1, 1), (1, 1, 1), (1, 1, 1), (2, 5, 5),
                              *buffers(sizes3), depth=2)
    w64 = rng.standard_normal((64, 16, 9)).astype(np.float32)       # 2 pairs: kept weights need 2 rows
    out64 = np.empty((2, 64, 25), np.float32)
    xb, _, bb = buffers(_kernels.blocked_sizes(2, 16, 64, 5, 7, 9))
    for keep in (1, 2):
        with pytest.raises(ValueError, match="2 rows of weights, one per pair"):
            _kernels.conv_blocked(x, w64, None, out64, *geo, xb, np.empty((1, sizes[1]), np.float32), bb, 1, 1, 2,
                                  keep)
        assert _kernels.conv_blocked(x, w64, None, out64, *geo, xb, np.zeros((2, sizes[1]), np.float32), bb, 1, 1,
                                     2, keep) == 0


def _guarded(n, dtype=np.float32):
    """An array of n elements that ends where an unreadable page begins: a read past its end is a fault."""
    import ctypes
    import mmap
    page = mmap.PAGESIZE
    nbytes = n * np.dtype(dtype).itemsize
    total = -(-nbytes // page) * page + page
    region = mmap.mmap(-1, total)
    base = ctypes.addressof(ctypes.c_char.from_buffer(region))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mprotect.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    assert libc.mprotect(base + total - page, page, 0) == 0          # PROT_NONE
    return np.frombuffer(region, dtype=dtype, count=n, offset=total - page - nbytes)


@pytest.mark.parametrize("c_in,c_out,w", [(17, 48, 9), (16, 16, 9), (40, 80, 9), (16, 112, 9), (16, 16, 29),
                                         (6, 48, 29)])
def test_conv_blocked_reads_nothing_past_its_buffers(rng, c_in, c_out, w):
    """Input, weights, bias and the three buffers each end at an unreadable page (a lone last block of output
    channels, partial input blocks, runs shorter than the register block; 29 columns: rows of 16 cells, a lone
    block's two-row runs of 8 and 8 at x86-64-v4): a read past any of them would crash. The buffers start full of
    NaN: every cell the micro-kernel reads (zero columns, zero weight slots of absent blocks and channels) is
    written by the call first."""
    n, h = 2, 5
    x = _guarded(n * c_in * h * w).reshape(n, c_in, h, w)
    x[...] = rng.standard_normal(x.shape)
    wt = _guarded(c_out * c_in * 9).reshape(c_out, c_in, 9)
    wt[...] = rng.standard_normal(wt.shape)
    b = _guarded(c_out)
    b[...] = rng.standard_normal(c_out)
    oh, ow = (h + 4 - 3) // 2 + 1, (w + 4 - 3) // 2 + 1
    out = np.empty((n, c_out, oh * ow), np.float32)
    xs, ws, bs = _kernels.blocked_sizes(n, c_in, c_out, h, _kernels.blocked_width(w, ow, 3, 2, 2, 1), 9)
    bufs = [_guarded(xs), _guarded(2 * ws).reshape(2, ws), _guarded(bs)]
    pairs = -(-c_out // 32)
    kept = [bufs[0], _guarded(pairs * ws).reshape(pairs, ws), bufs[2]]     # a row per pair (keep_weights 1, 2)
    want = ref.conv_nd(x.astype(np.float64), wt.reshape(c_out, c_in, 3, 3).astype(np.float64), b, (2, 2),
                       (2, 2), (1, 1), 1)
    for (threads, samples, chunks), first, (keep, use) in itertools.product(
            ((1, 1, 1), (2, 1, 2), (2, 2, 1), (2, 2, 3)), (False, True), ((0, bufs), (1, kept), (2, kept))):
        for buf in use[:1] + use[2:] + (use[1:2] if keep < 2 else []):
            buf[...] = np.nan
        out[...] = np.nan
        assert _kernels.conv_blocked(x, wt, b, out, (3, 3), (2, 2), (2, 2), (1, 1), (oh, ow), *use, samples,
                                     chunks, threads, keep, chunks_first=first) == 0
        assert_close(out.reshape(want.shape), want, np.float32, reduction=c_in * 9)


@pytest.mark.parametrize("c_in,c_out", [(17, 48), (16, 80)])
def test_conv_blocked_3d_reads_nothing_past_its_buffers(rng, c_in, c_out):
    """A 3-d layer (planes padded by 1, stride 2 along depth) on guarded arrays, its rows split into 1-5 chunks
    that start and end inside planes, by 1 and 2 threads, chunk by chunk or pair by pair: every read stays
    inside the arrays (a read past one would crash) and the result is the reference."""
    n, d, h, w = 2, 5, 4, 7
    x = _guarded(n * c_in * d * h * w).reshape(n, c_in, d * h, w)
    x[...] = rng.standard_normal(x.shape)
    wt = _guarded(c_out * c_in * 27).reshape(c_out, c_in, 27)
    wt[...] = rng.standard_normal(wt.shape)
    b = _guarded(c_out)
    b[...] = rng.standard_normal(c_out)
    od, oh, ow = (d + 2 - 3) // 2 + 1, h, w
    geo = ((3, 3, 3), (2, 1, 1), (1, 1, 1), (1, 1, 1), (od, oh, ow))
    out = np.empty((n, c_out, od * oh * ow), np.float32)
    xs, ws, bs = _kernels.blocked_sizes(n, c_in, c_out, d * h, _kernels.blocked_width(w, ow, 3, 1, 1, 1), 27)
    bufs = [_guarded(xs), _guarded(2 * ws).reshape(2, ws), _guarded(bs)]
    want = ref.conv_nd(x.reshape(n, c_in, d, h, w).astype(np.float64),
                       wt.reshape(c_out, c_in, 3, 3, 3).astype(np.float64), b, (2, 1, 1), (1, 1, 1), (1, 1, 1), 1)
    for (threads, samples, chunks), first in itertools.product(
            ((1, 1, 1), (1, 1, 5), (2, 1, 2), (2, 2, 3), (2, 1, 5)), (False, True)):
        for buf in bufs:
            buf[...] = np.nan
        out[...] = np.nan
        assert _kernels.conv_blocked(x, wt, b, out, *geo, *bufs, samples, chunks, threads, 0, chunks_first=first,
                                     depth=d) == 0
        assert_close(out.reshape(want.shape), want, np.float32, reduction=c_in * 27)
