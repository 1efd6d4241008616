"""Tiny calls (issue 11): the lean entries ``DirectPlan`` / ``DirectTransposePlan`` that a repeated tiny call
runs from the plan caches, the transposed plans (``TransposePlan``), and the cheap ``planner_settings()``.

A repeated call must give what the first gave (the reference, torch), follow every change of threshold,
thread count, dtype, shape or memory layout, and never skip an error torch raises.
"""
import itertools
import re

import numpy as np
import pytest

import convlab
import convlab.nn as nn
import convlab.nn.functional as F
from convlab import _kernels
from convlab import reference as ref
from convlab.ops import conv as conv_ops
from helpers import assert_close, requires_torch, run_in_threads, torch

LEAN = (_kernels.DirectPlan, _kernels.DirectTransposePlan)


@pytest.fixture(autouse=True)
def one_thread():
    before = convlab.get_num_threads()
    convlab.set_num_threads(1)
    F._PLANS.clear()
    yield
    convlab.set_num_threads(before)
    F._PLANS.clear()


def _cached(plans):
    """The runner of the only cached plan."""
    (_, runner, *_), = plans.values()
    return runner


def _want(x, w, b, transposed=False, **kw):
    f = ref.conv_transpose_nd if transposed else ref.conv_nd
    return f(x.astype(np.float64), w.astype(np.float64), None if b is None else b.astype(np.float64), **kw)


# --- 1. the bench's five tiny calls, repeated, against the reference and torch ---------------------------

CASES = [("Conv2d", (1, 1, 8, 8)), ("Conv1d", (1, 1, 16)), ("ConvTranspose2d", (1, 1, 8, 8)),
         ("Conv3d", (2, 1, 4, 4, 4)), ("ConvTranspose1d", (3, 2, 5)), ("Conv2d", (2, 4, 5, 5))]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,shape", CASES)
@pytest.mark.parametrize("batched", [True, False])
def test_repeated_tiny_module_calls_take_the_lean_entry_and_agree(rng, name, shape, dtype, batched):
    transposed = name.startswith("ConvTranspose")
    m = getattr(nn, name)(shape[1], 2 if shape[1] > 1 else 1, 3, dtype=dtype)
    x = rng.standard_normal(shape).astype(dtype)
    if not batched:
        x = x[0]
    want = _want(x if batched else x[None], m.weight, m.bias, transposed)
    want = want if batched else want[0]
    first = m(x)
    assert isinstance(_cached(m._plans), LEAN)
    for _ in range(3):
        got = m(x)
        assert_close(got, want, dtype, reduction=m.weight[0].size)
        np.testing.assert_array_equal(got, first)
    if torch is not None:
        tm = getattr(torch.nn, name)(shape[1], m.out_channels, 3).to(torch.float64)
        with torch.no_grad():
            tm.weight.copy_(torch.from_numpy(m.weight.astype(np.float64)))
            tm.bias.copy_(torch.from_numpy(m.bias.astype(np.float64)))
            assert_close(m(x), tm(torch.from_numpy(x.astype(np.float64))).numpy().astype(dtype), dtype,
                         reduction=m.weight[0].size)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("transposed", [False, True])
def test_repeated_tiny_functional_calls_take_the_lean_entry_and_agree(rng, nd, dtype, transposed):
    x = rng.standard_normal((1, 2) + ((5,) * nd if nd < 3 else (3, 3, 3))).astype(dtype)
    w = rng.standard_normal((2, 1 if transposed else 2) + (2,) * nd).astype(dtype)
    b = rng.standard_normal(1 if transposed else 2).astype(dtype)
    f = getattr(F, f"conv_transpose{nd}d" if transposed else f"conv{nd}d")
    kw = dict(stride=2, padding=1) if transposed else dict(padding=1)
    want = _want(x, w, b, transposed, **kw)
    for _ in range(3):
        assert_close(f(x, w, b, **kw), want, dtype, reduction=w[0].size * 2)
    assert isinstance(_cached(F._PLANS), LEAN)
    for _ in range(2):                                          # unbatched: its own entry, its own shape
        assert_close(f(x[0], w, None, **kw), _want(x, w, None, transposed, **kw)[0], dtype, reduction=w[0].size * 2)
    assert len(F._PLANS) == 2


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("threads", [1, 2])
def test_direct_transposed_scatter_matches_reference_over_a_grid(rng, nd, threads, monkeypatch):
    """DirectTransposePlan (new: a scatter, not GEMM + col2im) over strides, paddings, dilations,
    output_padding and groups; two threads split the output planes."""
    monkeypatch.setattr(conv_ops, "TINY_MAX_MACS", 10**9)
    monkeypatch.setattr(conv_ops, "DIRECT_MAX_MACS", 10**9)
    monkeypatch.setattr(conv_ops, "PARALLEL_MIN_MACS", 0 if threads > 1 else 10**12)
    convlab.set_num_threads(threads)
    for stride, padding, dilation, groups, k in itertools.product((1, 2, 3), (0, 1, 2), (1, 2), (1, 2), (1, 2, 3)):
        output_padding = 1 if max(stride, dilation) > 1 else 0
        size = (4, 3, 5)[:nd]
        if any((s - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1 <= 0 for s in size):
            continue
        x = rng.standard_normal((2, 2) + size)
        w = rng.standard_normal((2, 3) + (k,) * nd)
        b = rng.standard_normal(3 * groups)
        kw = dict(stride=stride, padding=padding, output_padding=output_padding, groups=groups, dilation=dilation)
        got = getattr(F, f"conv_transpose{nd}d")(x, w, b, **kw)
        assert isinstance(_cached(F._PLANS), _kernels.DirectTransposePlan)
        assert_close(got, _want(x, w, b, True, **kw), np.float64)
        F._PLANS.clear()


def test_tiny_paths_keep_nonfinite_values_like_torch(rng):
    """A NaN/inf weight times a zero-padding cell is NaN in torch; the cached lean entries keep that."""
    x = rng.standard_normal((1, 1, 6, 6)).astype(np.float32)
    w = rng.standard_normal((1, 1, 3, 3)).astype(np.float32)
    w[0, 0, 0, 0] = np.inf
    for f, kw in ((F.conv2d, dict(padding=1)), (F.conv_transpose2d, dict(padding=1, stride=2))):
        first = f(x, w, **kw)
        second = f(x, w, **kw)
        np.testing.assert_array_equal(np.isnan(first), np.isnan(second))
        np.testing.assert_array_equal(first, second)
        if torch is not None:
            tf = getattr(torch.nn.functional, f.__name__)
            want = tf(torch.from_numpy(x), torch.from_numpy(w), **kw).numpy()
            np.testing.assert_array_equal(np.isnan(second), np.isnan(want))
            np.testing.assert_array_equal(np.isinf(second), np.isinf(want))


# --- 2. what a cached plan must follow -------------------------------------------------------------------

def test_planner_settings_follow_every_threshold_assignment_and_the_thread_count(monkeypatch):
    before = conv_ops.planner_settings()
    monkeypatch.setattr(conv_ops, "TINY_MAX_MACS", conv_ops.TINY_MAX_MACS)   # even the same value: a new key
    assert conv_ops.planner_settings() != before
    middle = conv_ops.planner_settings()
    monkeypatch.undo()
    assert conv_ops.planner_settings() not in (before, middle)
    for name in sorted(conv_ops._THRESHOLDS):
        s = conv_ops.planner_settings()
        setattr(conv_ops, name, getattr(conv_ops, name))
        assert conv_ops.planner_settings() != s, name
    s = conv_ops.planner_settings()
    convlab.set_num_threads(2)
    assert conv_ops.planner_settings() != s
    assert {"DIRECT_MAX_MACS", "TINY_MAX_MACS", "PARALLEL_MIN_MACS", "WINOGRAD"} <= conv_ops._THRESHOLDS


@pytest.mark.parametrize("transposed", [False, True])
def test_functional_cache_follows_thresholds_threads_dtype_and_shape(rng, monkeypatch, transposed):
    f = F.conv_transpose2d if transposed else F.conv2d
    x = rng.standard_normal((1, 1, 8, 8)).astype(np.float32)
    w = rng.standard_normal((1, 1, 3, 3)).astype(np.float32)
    want = _want(x, w, None, transposed)
    f(x, w)
    assert isinstance(_cached(F._PLANS), LEAN)
    monkeypatch.setattr(conv_ops, "TINY_MAX_MACS", 0)                    # the next call plans again:
    for _ in range(2):
        assert_close(f(x, w), want, np.float32, reduction=9)
    runner = F._PLANS[[k for k in F._PLANS if k[-1] == conv_ops.planner_settings()][0]][1]
    assert not isinstance(runner, LEAN)                                 # ... on the GEMM or depthwise path
    monkeypatch.undo()
    convlab.set_num_threads(2)
    assert_close(f(x, w), want, np.float32, reduction=9)
    assert len(F._PLANS) == 3
    x64, w64 = x.astype(np.float64), w.astype(np.float64)
    for _ in range(2):
        got = f(x64, w64)
        assert got.dtype == np.float64
        assert_close(got, want, np.float64)
    x2 = rng.standard_normal((2, 1, 9, 7)).astype(np.float32)
    for _ in range(2):
        assert_close(f(x2, w), _want(x2, w, None, transposed), np.float32, reduction=9)


def _layouts(x):
    """The same values in other memory layouts: strided, negative steps, Fortran order, read-only."""
    wide = np.zeros(x.shape[:-1] + (2 * x.shape[-1],), x.dtype)
    wide[..., ::2] = x
    flipped = np.ascontiguousarray(x[..., ::-1])[..., ::-1]
    ro = x.copy()
    ro.flags.writeable = False
    return {"strided": wide[..., ::2], "negative": flipped, "fortran": np.asfortranarray(x), "readonly": ro}


@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("layout", ["strided", "negative", "fortran", "readonly"])
def test_cached_tiny_plans_take_any_layout(rng, transposed, layout):
    """The cache keys on shapes, not strides: a cached lean entry must copy what is not C-contiguous."""
    m = (nn.ConvTranspose2d if transposed else nn.Conv2d)(2, 3, 3)
    x = rng.standard_normal((2, 2, 4, 4)).astype(np.float32)
    want = m(x)
    assert isinstance(_cached(m._plans), LEAN)
    other = _layouts(x)[layout]
    before = other.copy()
    for _ in range(2):
        np.testing.assert_array_equal(m(other), want)
        fn = F.conv_transpose2d if transposed else F.conv2d
        np.testing.assert_array_equal(fn(other, np.asarray(m.weight), np.asarray(m.bias)),
                                      fn(x, np.asarray(m.weight), np.asarray(m.bias)))
    np.testing.assert_array_equal(other, before)                      # inputs are never written
    w_views = _layouts(np.asarray(m.weight))
    for _ in range(2):
        np.testing.assert_array_equal(F.conv_transpose2d(x, w_views[layout]) if transposed
                                      else F.conv2d(x, w_views[layout]),
                                      F.conv_transpose2d(x, np.asarray(m.weight)) if transposed
                                      else F.conv2d(x, np.asarray(m.weight)))


@pytest.mark.parametrize("cls", [nn.Conv2d, nn.ConvTranspose2d])
def test_module_bias_views_and_dtypes_on_the_lean_entry(rng, cls):
    m = cls(2, 2, 3)
    x = rng.standard_normal((1, 2, 5, 5)).astype(np.float32)
    wide = rng.standard_normal(4)
    m.bias = nn.Parameter(wide[::2])                          # a strided float64 view on a float32 module
    want = _want(x, m.weight, wide[::2].copy(), cls is nn.ConvTranspose2d)
    for _ in range(3):
        got = m(x)
        assert got.dtype == np.float32
        assert_close(got, want, np.float32, reduction=18)
    assert isinstance(_cached(m._plans), LEAN)


def test_lean_entries_refuse_arrays_of_the_wrong_size():
    """They trust the caches' shape checks, but never read past an array handed to them directly."""
    a = lambda *s: np.zeros(s, np.float32)                              # noqa: E731
    p = _kernels.DirectPlan((1, 1, 1, 4, 4), (1, 1, 9), np.float32, (1, 3, 3), (1, 1, 1), (0, 0, 0), (1, 1, 1),
                            (1, 2, 2), 1, 0, 1, (1, 1, 2, 2))
    assert p(a(1, 1, 4, 4), a(1, 1, 3, 3)).shape == (1, 1, 2, 2)
    for x, w, b in ((a(1, 1, 4, 3), a(1, 1, 3, 3), None), (a(1, 1, 4, 4), a(1, 1, 3, 2), None),
                    (a(1, 1, 4, 4), a(1, 1, 3, 3), a(2))):
        with pytest.raises(ValueError, match="the plan expects"):
            p(x, w, b)
    t = _kernels.DirectTransposePlan((1, 1, 1, 2, 2), (1, 1, 9), np.float32, (1, 4, 4), (1, 3, 3), (1, 1, 1),
                                     (0, 0, 0), (1, 1, 1), 1, 1, (1, 1, 4, 4))
    assert t(a(1, 1, 2, 2), a(1, 1, 3, 3)).shape == (1, 1, 4, 4)
    with pytest.raises(ValueError, match="the plan expects"):
        t(a(1, 1, 2, 3), a(1, 1, 3, 3))
    with pytest.raises(ValueError, match="out_shape"):
        _kernels.DirectPlan((1, 1, 1, 4, 4), (1, 1, 9), np.float32, (1, 3, 3), (1, 1, 1), (0, 0, 0), (1, 1, 1),
                            (1, 2, 2), 1, 0, 1, (1, 1, 3))


# --- 3. errors after a good cached call ------------------------------------------------------------------

def _message(fn, *args, **kw):
    with pytest.raises((ValueError, TypeError, RuntimeError)) as info:
        fn(*args, **kw)
    return type(info.value), str(info.value)


@pytest.mark.parametrize("transposed", [False, True])
def test_a_bad_call_after_a_cached_good_one_raises_the_uncached_error(rng, transposed):
    f = F.conv_transpose2d if transposed else F.conv2d
    x = rng.standard_normal((1, 2, 5, 5)).astype(np.float32)
    w = rng.standard_normal((2, 2, 3, 3)).astype(np.float32)
    bad = [((x[:, :1], w), {}), ((x, w), dict(stride=0)), ((x, w), dict(padding=-1)), ((x, w), dict(groups=3)),
           ((x, w[:, :, :2]), dict(stride=(1, 1, 1))), ((x.astype(np.int32), w), {}), ((x, w, np.ones(3, np.float32)), {}),
           ((x[0, 0], w), {}), ((x, w), dict(dilation=True))]
    if transposed:
        bad.append(((x, w), dict(output_padding=1)))
    fresh = []
    for args, kw in bad:
        F._PLANS.clear()
        fresh.append(_message(f, *args, **kw))
    F._PLANS.clear()
    for _ in range(2):
        f(x, w)
    assert isinstance(_cached(F._PLANS), LEAN)
    for (args, kw), want in zip(bad, fresh):
        assert _message(f, *args, **kw) == want, (args[0].shape, kw)
    if torch is not None:                                                # and torch refuses them too
        tf = getattr(torch.nn.functional, f.__name__)
        for args, kw in bad[:4]:
            with pytest.raises(Exception):
                tf(*(torch.from_numpy(a) for a in args), **kw)


@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("size", [5, 14])                # a lean plan; the GEMM / blocked paths
def test_functional_calls_on_a_modules_parameters_run_the_cached_plan(rng, monkeypatch, transposed, size):
    """``F.conv2d(x, self.weight, self.bias)`` in a module's forward: the parameters (Parameter, an ndarray
    subclass) key the cache as plain ndarrays do, so the repeated call plans nothing; it reads the parameters'
    current values, and a mix of Parameter and ndarray arguments agrees as well."""
    m = (nn.ConvTranspose2d if transposed else nn.Conv2d)(8, 16, 3, stride=2)
    f = F.conv_transpose2d if transposed else F.conv2d
    x = rng.standard_normal((2, 8, size, size)).astype(np.float32)
    assert type(m.weight) is nn.Parameter and type(m.bias) is nn.Parameter
    want = _want(x, m.weight, m.bias, transposed, stride=2)
    assert_close(f(x, m.weight, m.bias, stride=2), want, np.float32, reduction=72)
    assert len(F._PLANS) == 1
    plans = []
    monkeypatch.setattr(conv_ops.ConvPlan, "__init__", lambda *a, **k: plans.append(a))
    monkeypatch.setattr(conv_ops.TransposePlan, "__init__", lambda *a, **k: plans.append(a))
    assert_close(f(x, m.weight, m.bias, stride=2), want, np.float32, reduction=72)
    m.weight[...] = rng.standard_normal(m.weight.shape)                  # new values, same array
    want2 = _want(x, m.weight, m.bias, transposed, stride=2)
    assert_close(f(x, m.weight, m.bias, stride=2), want2, np.float32, reduction=72)
    assert_close(f(x, np.array(m.weight), m.bias, stride=2), want2, np.float32, reduction=72)
    assert plans == [] and len(F._PLANS) == 1


@pytest.mark.parametrize("cls", [nn.Conv2d, nn.ConvTranspose2d, nn.Conv1d])
def test_a_module_refuses_a_bad_input_after_cached_good_ones(rng, cls):
    nd = 1 if cls is nn.Conv1d else 2
    m = cls(2, 2, 3)
    x = rng.standard_normal((1, 2) + (6,) * nd).astype(np.float32)
    m(x)
    m(x)
    with pytest.raises(ValueError, match=re.escape("channels")):
        m(x[:, :1])
    with pytest.raises(TypeError):
        m(x.astype(np.int64))
    m.weight = nn.Parameter(np.ones((2, 3) + (3,) * nd, np.float32))    # the weight's shape changed: checked again
    with pytest.raises(ValueError):
        m(x)


# --- 4. threads --------------------------------------------------------------------------------------------

def test_cached_tiny_plans_called_from_two_python_threads_at_once(rng):
    c, t = nn.Conv2d(1, 1, 3), nn.ConvTranspose2d(1, 1, 3)
    xs = [rng.standard_normal((1, 1, 8, 8)).astype(np.float32) for _ in range(2)]
    w = rng.standard_normal((1, 1, 3, 3)).astype(np.float32)
    want = [(c(x), t(x), F.conv2d(x, w), F.conv_transpose2d(x, w)) for x in xs]
    errors = []

    def work(i):
        for _ in range(200):
            got = (c(xs[i]), t(xs[i]), F.conv2d(xs[i], w), F.conv_transpose2d(xs[i], w))
            if not all(np.array_equal(g, v) for g, v in zip(got, want[i])):
                errors.append(i)

    run_in_threads(work, 2)
    assert not errors
