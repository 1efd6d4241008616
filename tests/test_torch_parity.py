"""convlab against PyTorch 2.13 on a generated grid covering every argument of every layer."""
import itertools

import numpy as np
import pytest

import convlab
import convlab.nn as nn
import convlab.nn.functional as F
from helpers import assert_close, requires_torch, torch

pytestmark = requires_torch

DTYPES = [np.float32, np.float64]


def _t(a):
    return torch.from_numpy(np.ascontiguousarray(a))


def _conv_grid():
    """(nd, kernel, stride, padding, dilation, groups, mode) combinations, deterministic."""
    rng = np.random.default_rng(7)
    cases = []
    for nd in (1, 2, 3):
        for groups in (1, 2, "depthwise"):
            for mode in ("zeros", "reflect", "replicate", "circular"):
                for padding in (0, 1, "aniso", "same", "valid"):
                    kernel = tuple(int(k) for k in rng.integers(1, 4, nd))
                    stride = 1 if padding == "same" else tuple(int(s) for s in rng.integers(1, 3, nd))
                    dilation = tuple(int(d) for d in rng.integers(1, 3, nd))
                    pad = tuple(int(p) for p in rng.integers(0, 3, nd)) if padding == "aniso" else padding
                    cases.append((nd, kernel, stride, pad, dilation, groups, mode))
    return cases


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nd,kernel,stride,padding,dilation,groups,mode", _conv_grid())
def test_conv_module_matches_torch(rng, dtype, nd, kernel, stride, padding, dilation, groups, mode):
    c_in = 4
    groups = c_in if groups == "depthwise" else groups
    c_out = 8
    size = (7, 6, 5)[:nd]
    Conv = getattr(nn, f"Conv{nd}d")
    TConv = getattr(torch.nn, f"Conv{nd}d")
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups, padding_mode=mode)
    tm = TConv(c_in, c_out, kernel, **kw).to(torch.float64 if dtype == np.float64 else torch.float32)
    m = Conv(c_in, c_out, kernel, dtype=dtype, **kw)
    m.load_state_dict(tm.state_dict())
    x = rng.standard_normal((3, c_in, *size)).astype(dtype)
    with torch.no_grad():
        want = tm(_t(x)).numpy()
    assert_close(m(x), want, dtype, reduction=m.weight[0].size)
    assert repr(m) == repr(tm)


def _transpose_grid():
    rng = np.random.default_rng(11)
    cases = []
    for nd in (1, 2, 3):
        for groups in (1, 2, "depthwise"):
            for _ in range(4):
                kernel = tuple(int(k) for k in rng.integers(1, 4, nd))
                stride = tuple(int(s) for s in rng.integers(1, 4, nd))
                dilation = tuple(int(d) for d in rng.integers(1, 3, nd))
                padding = tuple(int(rng.integers(0, 1 + d * (k - 1) // 2 + 1)) for k, d in zip(kernel, dilation))
                output_padding = tuple(int(rng.integers(0, max(s, d))) for s, d in zip(stride, dilation))
                cases.append((nd, kernel, stride, padding, output_padding, dilation, groups))
    return cases


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nd,kernel,stride,padding,output_padding,dilation,groups", _transpose_grid())
def test_conv_transpose_module_matches_torch(rng, dtype, nd, kernel, stride, padding, output_padding, dilation,
                                             groups):
    c_in, c_out = 4, 8
    groups = c_in if groups == "depthwise" else groups
    size = (5, 4, 3)[:nd]
    kw = dict(stride=stride, padding=padding, output_padding=output_padding, dilation=dilation, groups=groups)
    tm = getattr(torch.nn, f"ConvTranspose{nd}d")(c_in, c_out, kernel, **kw)
    tm = tm.to(torch.float64 if dtype == np.float64 else torch.float32)
    m = getattr(nn, f"ConvTranspose{nd}d")(c_in, c_out, kernel, dtype=dtype, **kw)
    m.load_state_dict(tm.state_dict())
    x = rng.standard_normal((2, c_in, *size)).astype(dtype)
    with torch.no_grad():
        want = tm(_t(x)).numpy()
    assert_close(m(x), want, dtype, reduction=m.weight[:, 0].size)
    assert repr(m) == repr(tm)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_conv_transpose_output_size_matches_torch(rng, nd):
    tm = getattr(torch.nn, f"ConvTranspose{nd}d")(3, 2, 3, stride=3, padding=1).double()
    m = getattr(nn, f"ConvTranspose{nd}d")(3, 2, 3, stride=3, padding=1, dtype=np.float64)
    m.load_state_dict(tm.state_dict())
    x = rng.standard_normal((1, 3) + (4,) * nd)
    for extra in range(3):                     # valid sizes: 10, 11, 12 per axis
        size = (10 + extra,) * nd
        with torch.no_grad():
            want = tm(_t(x), output_size=size).numpy()
        assert_close(m(x, output_size=size), want, np.float64)
        full = (1, 2) + size                   # full shapes are accepted too
        assert m(x, output_size=full).shape == full


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel,dilation,padding,stride", [
    (3, 1, 1, 1), ((2, 3), (1, 2), (0, 1), (2, 1)), (1, 1, 0, 1), ((3, 1), 2, (2, 0), (1, 3)),
])
def test_unfold_fold_match_torch(rng, dtype, kernel, dilation, padding, stride):
    x = rng.standard_normal((2, 3, 9, 8)).astype(dtype)
    args = dict(kernel_size=kernel, dilation=dilation, padding=padding, stride=stride)
    want = torch.nn.functional.unfold(_t(x), **args).numpy()
    cols = nn.Unfold(**args)(x)
    assert_close(cols, want, dtype)
    assert_close(nn.Fold((9, 8), **args)(cols), torch.nn.functional.fold(_t(cols), (9, 8), **args).numpy(), dtype)
    assert repr(nn.Unfold(**args)) == repr(torch.nn.Unfold(**args))
    assert repr(nn.Fold((9, 8), **args)) == repr(torch.nn.Fold((9, 8), **args))


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("stride,padding,dilation,groups", [(1, 0, 1, 1), (2, 1, 1, 2), (3, 2, 2, 1), (2, 0, 1, 4)])
def test_grad_functions_match_torch(rng, nd, stride, padding, dilation, groups):
    x = rng.standard_normal((2, 4) + (9, 8, 7)[:nd])
    w = rng.standard_normal((8, 4 // groups) + (3,) * nd)
    conv = getattr(torch.nn.functional, f"conv{nd}d")
    args = (stride, padding, dilation, groups)
    y = conv(_t(x), _t(w), None, *args)
    gy = rng.standard_normal(tuple(y.shape))
    gi = getattr(torch.nn.grad, f"conv{nd}d_input")(x.shape, _t(w), _t(gy), *args).numpy()
    gw = getattr(torch.nn.grad, f"conv{nd}d_weight")(_t(x), w.shape, _t(gy), *args).numpy()
    assert_close(getattr(nn.grad, f"conv{nd}d_input")(x.shape, w, gy, *args), gi, np.float64)
    assert_close(getattr(nn.grad, f"conv{nd}d_weight")(x, w.shape, gy, *args), gw, np.float64)


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("shape,pad", [((2, 3, 5), (2, 1)), ((1, 2, 4, 5), (1, 2, 3, 0)),
                                       ((1, 1, 3, 4, 5), (1, 1, 2, 0, 0, 2)), ((2, 4, 4), (0, 3, 1, 1))])
def test_pad_matches_torch(rng, mode, shape, pad):
    x = rng.standard_normal(shape)
    assert_close(F.pad(x, pad, mode=mode), torch.nn.functional.pad(_t(x), pad, mode=mode).numpy(), np.float64)


def test_pad_constant_value_and_negative_crop(rng):
    x = rng.standard_normal((2, 3, 6))
    for pad in [(1, 2), (-1, 2), (-2, -3), (0, 0, 1, -1)]:
        want = torch.nn.functional.pad(_t(x), pad, value=1.5).numpy()
        assert_close(F.pad(x, pad, value=1.5), want, np.float64)


@pytest.mark.parametrize("name,args", [
    ("Conv1d", (16, 33, 3)), ("Conv2d", (16, 33, (3, 5))), ("Conv3d", (4, 6, (3, 2, 2))),
    ("ConvTranspose1d", (16, 33, 3)), ("ConvTranspose2d", (6, 4, (3, 5))), ("ConvTranspose3d", (4, 6, 2)),
    ("Conv2d", (8, 8, 3)), ("ConvTranspose2d", (8, 4, 3)),
])
def test_init_bounds_match_torch_statistically(name, args):
    """Weights and biases are U(-b, b) with torch's b: compare range, mean and variance over many draws."""
    convlab.manual_seed(0)
    torch.manual_seed(0)
    kw = {"groups": 2} if args[0] == 8 else {}
    ours = [getattr(nn, name)(*args, **kw) for _ in range(20)]
    theirs = [getattr(torch.nn, name)(*args, **kw) for _ in range(20)]
    for attr in ("weight", "bias"):
        a = np.concatenate([np.ravel(getattr(m, attr)) for m in ours])
        b = np.concatenate([getattr(m, attr).detach().numpy().ravel() for m in theirs])
        bound = 1 / np.sqrt(ours[0].weight.shape[1] * np.prod(ours[0].kernel_size))
        assert np.abs(a).max() <= bound and np.abs(b).max() <= bound
        assert np.abs(a).max() > 0.9 * bound and np.abs(b).max() > 0.9 * bound
        np.testing.assert_allclose(a.var(), b.var(), rtol=0.25)
        np.testing.assert_allclose(a.var(), bound**2 / 3, rtol=0.25)
        assert abs(a.mean()) < 4 * bound / np.sqrt(3 * a.size)


def test_state_dict_round_trip_with_torch(rng):
    tm = torch.nn.Conv2d(3, 6, 3, padding=1, groups=3).double()
    m = nn.Conv2d(3, 6, 3, padding=1, groups=3, dtype=np.float64)
    m.load_state_dict(tm.state_dict())
    x = rng.standard_normal((2, 3, 8, 8))
    # and back: our state_dict loads into torch and gives the same outputs
    tm2 = torch.nn.Conv2d(3, 6, 3, padding=1, groups=3).double()
    tm2.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in m.state_dict().items()})
    with torch.no_grad():
        assert_close(m(x), tm2(_t(x)).numpy(), np.float64)
        assert_close(m(x), tm(_t(x)).numpy(), np.float64)


@pytest.mark.parametrize("name,args,shape", [
    ("LazyConv1d", (6, 3), (2, 4, 9)), ("LazyConv2d", (6, (3, 2)), (2, 4, 7, 6)),
    ("LazyConv3d", (6, 2), (1, 4, 4, 5, 3)), ("LazyConvTranspose1d", (6, 3), (2, 4, 5)),
    ("LazyConvTranspose2d", (6, 3), (4, 5, 5)), ("LazyConvTranspose3d", (6, 2), (1, 4, 2, 3, 3)),
])
def test_lazy_modules_match_torch(rng, name, args, shape):
    tm = getattr(torch.nn, name)(*args).double()
    m = getattr(nn, name)(*args, dtype=np.float64)
    assert repr(m) == repr(tm)
    x = rng.standard_normal(shape)
    with torch.no_grad():
        tm(_t(x))
    m(x)
    assert type(m).__name__ == type(tm).__name__
    assert isinstance(m, getattr(nn, name.replace("Lazy", "")))
    assert m.in_channels == tm.in_channels == 4
    assert m.weight.shape == tuple(tm.weight.shape)
    m.load_state_dict(tm.state_dict())
    with torch.no_grad():
        assert_close(m(x), tm(_t(x)).numpy(), np.float64)
    assert repr(m) == repr(tm)


def test_sequential_repr_matches_torch():
    ours = nn.Sequential(nn.Conv2d(3, 8, 3, padding="same", padding_mode="reflect"),
                         nn.ConvTranspose2d(8, 4, 2, stride=2, bias=False), nn.Unfold(2))
    theirs = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding="same", padding_mode="reflect"),
                                 torch.nn.ConvTranspose2d(8, 4, 2, stride=2, bias=False), torch.nn.Unfold(2))
    assert repr(ours) == repr(theirs)
    assert [k for k, _ in ours.named_parameters()] == [k for k, _ in theirs.named_parameters()]
