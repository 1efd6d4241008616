"""The module API of convlab.nn against torch.nn: signatures, attributes, dtypes, containers, state, Lazy, pickling.

Tests that need torch as the oracle are marked ``requires_torch`` and skip
cleanly without it; the rest use convlab.reference (the nested loops) or
properties that need no oracle (same seed -> same weights, pickling round trip).
"""
import ast
import copy
import inspect
import pickle
import re
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

import convlab
import convlab.nn as nn
import convlab.nn.functional as F
from convlab import reference as ref
from helpers import assert_close, requires_torch, torch

ROOT = Path(__file__).resolve().parents[1]
EAGER = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]
LAZY = ["Lazy" + n for n in EAGER]
ATTRS = ["in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "output_padding", "groups",
         "padding_mode", "transposed"]


def _nd(name):
    return int(re.search(r"(\d)d$", name).group(1))


def _t(a):
    return torch.from_numpy(np.ascontiguousarray(a))


def _torch_pair(name, *args, dtype=np.float32, **kwargs):
    """The same module in torch and convlab, convlab's loaded with torch's weights."""
    tdtype = torch.float64 if np.dtype(dtype) == np.float64 else torch.float32
    tm = getattr(torch.nn, name)(*args, **kwargs).to(tdtype)
    m = getattr(nn, name)(*args, dtype=dtype, **kwargs)
    m.load_state_dict(tm.state_dict())
    return m, tm


def _sig(obj):
    return [(p.name, p.kind, p.default) for p in inspect.signature(obj).parameters.values()]


# -- signatures ------------------------------------------------------------------------------------------------
@requires_torch
@pytest.mark.parametrize("name", EAGER + LAZY + ["Unfold", "Fold", "Sequential", "Parameter"])
def test_constructor_signature_equals_torch(name):
    """Names, order, kinds and defaults; ``dtype=None`` is torch's too (convlab reads it as float32)."""
    assert _sig(getattr(nn, name)) == _sig(getattr(torch.nn, name))


def _torch_doc_signature(fn):
    """torch's functional convs are builtins: read ``conv2d(input, weight, bias=None, ...)`` from the docstring."""
    first = fn.__doc__.strip().splitlines()[0]
    m = re.match(r"(\w+)\((.*)\)\s*->", first)
    tree = ast.parse(f"def {m.group(1)}({m.group(2)}): pass").body[0].args
    names = [a.arg for a in tree.args]
    defaults = [inspect.Parameter.empty] * (len(names) - len(tree.defaults)) + [ast.literal_eval(d)
                                                                                for d in tree.defaults]
    return list(zip(names, defaults))


@requires_torch
@pytest.mark.parametrize("name", ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                                  "conv_transpose3d", "unfold", "fold", "pad"])
def test_functional_signature_equals_torch(name):
    ours = [(p.name, p.default) for p in inspect.signature(getattr(F, name)).parameters.values()]
    theirs = getattr(torch.nn.functional, name)
    try:
        want = [(p.name, p.default) for p in inspect.signature(theirs).parameters.values()]
    except ValueError:                               # a builtin: no introspectable signature
        want = _torch_doc_signature(theirs)
    assert ours == want


@requires_torch
@pytest.mark.parametrize("name", [f"conv{n}d_{w}" for n in (1, 2, 3) for w in ("input", "weight")])
def test_grad_signature_equals_torch(name):
    assert _sig(getattr(nn.grad, name)) == _sig(getattr(torch.nn.grad, name))


# -- attributes ------------------------------------------------------------------------------------------------
def _attribute_grid():
    cases = []
    for name in EAGER:
        nd = _nd(name)
        transposed = "Transpose" in name
        variants = [
            dict(),
            dict(stride=2, padding=1, dilation=2, groups=2, bias=False),
            dict(kernel_size=tuple(range(2, 2 + nd)), stride=tuple(range(1, 1 + nd)),
                 padding=tuple(range(nd)), dilation=[2] * nd),
        ]
        if transposed:
            variants += [dict(stride=3, output_padding=2), dict(stride=(2,) * nd, output_padding=(1,) * nd,
                                                                 groups=4)]
        else:
            variants += [dict(padding="same", dilation=2, padding_mode="reflect"),
                         dict(padding="valid", padding_mode="circular", groups=4),
                         dict(padding=1, padding_mode="replicate", stride=2)]
        for kw in variants:
            cases.append((name, kw))
    return cases


@requires_torch
@pytest.mark.parametrize("name,kw", _attribute_grid())
def test_attributes_and_parameter_shapes_equal_torch(name, kw):
    kw = dict(kw)
    kernel = kw.pop("kernel_size", 3)
    args = (4, 8, kernel)
    m, tm = getattr(nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)
    for attr in ATTRS:
        ours, theirs = getattr(m, attr), getattr(tm, attr)
        assert ours == theirs, attr
        assert type(ours) is type(theirs), attr
        if isinstance(ours, tuple):
            assert [type(v) for v in ours] == [type(v) for v in theirs], attr
    assert m.weight.shape == tuple(tm.weight.shape)
    assert (m.bias is None) == (tm.bias is None)
    if m.bias is not None:
        assert m.bias.shape == tuple(tm.bias.shape)
    assert m.training is tm.training is True
    assert repr(m) == repr(tm)


@requires_torch
@pytest.mark.parametrize("name,kw", [("Unfold", dict(kernel_size=(2, 3), dilation=2, padding=(1, 0), stride=1)),
                                     ("Unfold", dict(kernel_size=3)),
                                     ("Fold", dict(output_size=(5, 6), kernel_size=2, stride=(1, 2))),
                                     ("Fold", dict(output_size=7, kernel_size=[3, 1], dilation=(1, 2)))])
def test_fold_attributes_equal_torch(name, kw):
    m, tm = getattr(nn, name)(**kw), getattr(torch.nn, name)(**kw)
    for attr in kw:
        assert getattr(m, attr) == getattr(tm, attr) and type(getattr(m, attr)) is type(getattr(tm, attr))
    assert repr(m) == repr(tm)
    assert list(m.state_dict()) == list(tm.state_dict()) == []


# -- dtypes ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", EAGER)
def test_dtype_of_parameters(name):
    m = getattr(nn, name)(4, 4, 2)
    assert m.weight.dtype == m.bias.dtype == np.float32
    for dtype in (np.float64, "float64", np.dtype("float64")):
        m = getattr(nn, name)(4, 4, 2, dtype=dtype)
        assert m.weight.dtype == m.bias.dtype == np.float64
    with pytest.raises(TypeError):
        getattr(nn, name)(4, 4, 2, dtype=np.int32)


@requires_torch
def test_torch_dtype_is_accepted():
    assert nn.Conv2d(2, 2, 1, dtype=torch.float64).weight.dtype == np.float64
    assert nn.ConvTranspose1d(2, 2, 1, dtype=torch.float32).weight.dtype == np.float32


@pytest.mark.parametrize("name", EAGER + LAZY)
def test_output_follows_input_dtype(rng, name):
    """float64 through a float32 module computes in float64 (not float32 then cast); float32 stays float32."""
    nd = _nd(name)
    m = getattr(nn, name)(*(() if name.startswith("Lazy") else (3,)), 4, 3, stride=2, padding=1)
    x64 = rng.standard_normal((2, 3) + (6, 5, 4)[:nd])
    x32 = x64.astype(np.float32)
    keep64, keep32 = x64.copy(), x32.copy()
    y64, y32 = m(x64), m(x32)
    assert m.weight.dtype == np.float32                     # the module is not converted
    assert y64.dtype == np.float64 and y32.dtype == np.float32
    assert type(y64) is np.ndarray and type(y32) is np.ndarray
    w, b = np.asarray(m.weight, np.float64), np.asarray(m.bias, np.float64)
    if m.transposed:
        want = ref.conv_transpose_nd(x64, w, b, stride=2, padding=1)
    else:
        want = ref.conv_nd(x64, w, b, stride=2, padding=1)
    assert_close(y64, want, np.float64)                   # float64 tolerance: computed in float64
    assert_close(y32, want, np.float32, reduction=w[0].size)
    np.testing.assert_array_equal(x64, keep64)            # inputs never modified
    np.testing.assert_array_equal(x32, keep32)


@pytest.mark.parametrize("name", EAGER)
def test_integer_input_is_a_type_error(name):
    m = getattr(nn, name)(2, 2, 1)
    with pytest.raises(TypeError, match="astype"):
        m(np.ones((1, 2) + (3,) * _nd(name), dtype=np.int64))


# -- unbatched input -------------------------------------------------------------------------------------------
@requires_torch
@pytest.mark.parametrize("name,kw", [("Conv1d", dict(stride=2, padding=1)), ("Conv2d", dict(padding="same",
                                     padding_mode="reflect")), ("Conv3d", dict(groups=2, dilation=2)),
                                     ("ConvTranspose1d", dict(stride=2, output_padding=1)),
                                     ("ConvTranspose2d", dict(groups=2, padding=1)),
                                     ("ConvTranspose3d", dict(stride=(1, 2, 2)))])
def test_unbatched_input_matches_torch(rng, name, kw):
    nd = _nd(name)
    m, tm = _torch_pair(name, 4, 6, 3, dtype=np.float64, **kw)
    x = rng.standard_normal((4,) + (7, 6, 5)[:nd])
    with torch.no_grad():
        want = tm(_t(x)).numpy()
    got = m(x)
    assert_close(got, want, np.float64)
    assert_close(m(x[None])[0], want, np.float64)


@requires_torch
def test_unbatched_unfold_fold_match_torch(rng):
    x = rng.standard_normal((3, 6, 5))
    cols = nn.Unfold((2, 3), padding=1)(x)
    assert_close(cols, torch.nn.Unfold((2, 3), padding=1)(_t(x)).numpy(), np.float64)
    assert_close(nn.Fold((6, 5), (2, 3), padding=1)(cols),
                 torch.nn.Fold((6, 5), (2, 3), padding=1)(_t(cols)).numpy(), np.float64)


# -- traversal and state_dict ------------------------------------------------------------------------------------
def _build(lib):
    """The same nested network in torch.nn or convlab.nn (a shared child included, as torch allows)."""
    shared = lib.Conv2d(4, 4, 1)
    inner = lib.Sequential(shared, lib.ConvTranspose2d(4, 2, 2, stride=2, bias=False), lib.Unfold(2))
    return lib.Sequential(OrderedDict([("stem", lib.Conv2d(3, 4, 3, padding=1)), ("shared", shared),
                                       ("body", inner), ("lazy", lib.LazyConv1d(5, 3))]))


def _structure(m):
    return dict(
        named_parameters=[(k, tuple(p.shape)) for k, p in m.named_parameters()
                          if not k.startswith("lazy")] + [k for k, _ in m.named_parameters()],
        parameters=len(list(m.parameters())),
        children=[type(c).__name__ for c in m.children()],
        named_children=[k for k, _ in m.named_children()],
        modules=[type(c).__name__ for c in m.modules()],
        named_modules=[k for k, _ in m.named_modules()],
        state_dict=list(m.state_dict()),
        shapes=[tuple(v.shape) for k, v in m.state_dict().items() if not k.startswith("lazy")],
    )


@requires_torch
def test_traversal_and_state_dict_keys_equal_torch_nested():
    assert _structure(_build(nn)) == _structure(_build(torch.nn))


@requires_torch
@pytest.mark.parametrize("name,bias", [(n, b) for n in EAGER for b in (True, False)])
def test_traversal_and_state_dict_keys_equal_torch_single(name, bias):
    args = (4, 2, 3)
    m, tm = getattr(nn, name)(*args, bias=bias), getattr(torch.nn, name)(*args, bias=bias)
    assert _structure(m) == _structure(tm)
    assert list(m.children()) == [] and list(m.modules()) == [m]


def test_state_dict_is_a_view_of_the_parameters():
    m = nn.Conv2d(2, 3, 3)
    sd = m.state_dict()
    assert type(sd["weight"]) is np.ndarray
    assert np.shares_memory(sd["weight"], m.weight) and np.shares_memory(sd["bias"], m.bias)


@pytest.mark.parametrize("name", EAGER)
def test_state_dict_round_trip_gives_identical_outputs(rng, name):
    nd = _nd(name)
    a, b = getattr(nn, name)(4, 6, 3, groups=2), getattr(nn, name)(4, 6, 3, groups=2)
    x = rng.standard_normal((2, 4) + (6, 5, 4)[:nd]).astype(np.float32)
    assert not np.array_equal(a(x), b(x))
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(a(x), b(x))
    a.weight[...] = 0                                     # a copy was loaded, not a reference
    assert not np.array_equal(a(x), b(x))


def _load_outcome(module, state, strict):
    try:
        r = module.load_state_dict(state, strict=strict)
    except RuntimeError as e:
        return "error", sorted(re.findall(r'"([\w.]+)"', str(e))) + (["size"] if "size mismatch" in str(e) else [])
    return sorted(r.missing_keys), sorted(r.unexpected_keys)


@requires_torch
@pytest.mark.parametrize("strict", [True, False])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("variant", ["exact", "missing_bias", "extra_key", "with_bias", "wrong_shape", "empty"])
def test_load_state_dict_semantics_equal_torch(strict, bias, variant):
    src = torch.nn.Conv2d(3, 4, 3)
    w, b = src.weight.detach(), src.bias.detach()
    state = {"exact": {"weight": w, "bias": b} if bias else {"weight": w},
             "missing_bias": {"weight": w},
             "extra_key": {"weight": w, "bias": b, "running_mean": b},
             "with_bias": {"weight": w, "bias": b},
             "wrong_shape": {"weight": w[:, :, :2], "bias": b},
             "empty": {}}[variant]
    m, tm = nn.Conv2d(3, 4, 3, bias=bias), torch.nn.Conv2d(3, 4, 3, bias=bias)
    theirs = _load_outcome(tm, {k: v.clone() for k, v in state.items()}, strict)
    ours = _load_outcome(m, {k: v.clone() for k, v in state.items()}, strict)
    assert ours == theirs
    if ours[0] != "error" and "weight" in state:      # what was loaded equals torch's parameters
        np.testing.assert_array_equal(m.weight, tm.weight.detach().numpy())


@requires_torch
def test_load_state_dict_accepts_torch_tensors_lists_and_ndarrays(rng):
    tm = torch.nn.Conv1d(2, 3, 2)
    ref_out = None
    x = rng.standard_normal((1, 2, 5)).astype(np.float32)
    for convert in (lambda t: t, lambda t: t.detach().numpy(), lambda t: t.detach().tolist(),
                    lambda t: t.detach().double().numpy()):
        m = nn.Conv1d(2, 3, 2)
        m.load_state_dict({k: convert(v) for k, v in tm.state_dict().items()})
        assert isinstance(m.weight, nn.Parameter) and m.weight.dtype == np.float32
        out = m(x)
        if ref_out is None:
            ref_out = out
            with torch.no_grad():
                assert_close(out, tm(_t(x)).numpy(), np.float32)
        np.testing.assert_array_equal(out, ref_out)


def test_load_state_dict_of_nested_sequential_with_shared_child(rng):
    a, b = _build(nn), _build(nn)
    x = rng.standard_normal((1, 3, 4, 4)).astype(np.float32)
    assert repr(b.load_state_dict(a.state_dict())) == "<All keys matched successfully>"
    np.testing.assert_array_equal(a[:3](x), b[:3](x))
    assert b.lazy.has_uninitialized_params()            # an uninitialized Lazy entry loads as nothing, as torch
    a.lazy(np.zeros((1, 2, 5), np.float32))
    b.load_state_dict(a.state_dict())
    assert type(b.lazy) is nn.LazyConv1d and b.lazy.in_channels == 0     # torch: Lazy until the first call
    np.testing.assert_array_equal(b.lazy.weight, a.lazy.weight)
    with pytest.raises(RuntimeError, match="uninitialized"):
        a.load_state_dict(_build(nn).state_dict())       # uninitialized into initialized: torch refuses too


@requires_torch
def test_uninitialized_lazy_state_loads_like_torch():
    for lib in (nn, torch.nn):
        r = lib.LazyConv2d(3, 2).load_state_dict(lib.LazyConv2d(3, 2).state_dict())
        assert repr(r) == "<All keys matched successfully>"
        with pytest.raises(RuntimeError):
            lib.Conv2d(2, 3, 2).load_state_dict(lib.LazyConv2d(3, 2).state_dict())


# -- Parameter -------------------------------------------------------------------------------------------------
def test_parameter_is_an_ndarray_and_arithmetic_returns_plain_arrays():
    data = np.arange(6, dtype=np.float32).reshape(2, 3)
    p = nn.Parameter(data)
    assert isinstance(p, np.ndarray) and isinstance(p, nn.Parameter)
    assert np.shares_memory(p, data)                            # a view, as documented
    assert p.requires_grad is True and nn.Parameter(data, requires_grad=False).requires_grad is False
    for result in (p + 1, p * p, -p, p @ p.T, np.exp(p), p - data, 2 ** p, abs(p)):
        assert type(result) is np.ndarray
    assert type(p.sum()) in (np.float32, float) and float(p.sum()) == 15.0
    np.testing.assert_array_equal(p * 2, data * 2)
    assert repr(p) == "Parameter containing:\n" + repr(data)
    q = pickle.loads(pickle.dumps(nn.Parameter(data, requires_grad=False)))
    assert type(q) is nn.Parameter and q.requires_grad is False
    np.testing.assert_array_equal(q, data)


@requires_torch
def test_parameter_from_torch_tensor_and_repr_header():
    t = torch.nn.Parameter(torch.arange(3.0))
    p = nn.Parameter(t)
    np.testing.assert_array_equal(p, [0.0, 1.0, 2.0])
    assert repr(p).splitlines()[0] == repr(t).splitlines()[0] == "Parameter containing:"


def test_assigning_an_array_keeps_the_parameter_registered():
    m = nn.Conv1d(2, 2, 1)
    m.weight = np.ones((2, 2, 1), dtype=np.float32)
    assert isinstance(m.weight, nn.Parameter)
    assert [k for k, _ in m.named_parameters()] == ["weight", "bias"]
    np.testing.assert_allclose(m(np.ones((1, 2, 3), np.float32)), 2 + m.bias[None, :, None] * np.ones(3), rtol=1e-6)


# -- initialisation --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", EAGER)
def test_manual_seed_makes_initialisation_reproducible(name):
    def make(seed):
        convlab.manual_seed(seed)
        return [getattr(nn, name)(4, 6, 3, groups=2) for _ in range(2)]

    a, b, c = make(7), make(7), make(8)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.weight, y.weight)
        np.testing.assert_array_equal(x.bias, y.bias)
    assert not np.array_equal(a[0].weight, a[1].weight)           # the generator advances
    assert not np.array_equal(a[0].weight, c[0].weight)           # different seeds differ
    assert not np.array_equal(a[0].bias, c[0].bias)


@pytest.mark.parametrize("name", EAGER)
def test_reset_parameters_with_a_generator(name):
    m = getattr(nn, name)(4, 6, 3, groups=2)
    weight = m.weight
    m.reset_parameters(generator=np.random.default_rng(3))
    w1, b1 = m.weight.copy(), m.bias.copy()
    assert m.weight is weight                                       # in place, as torch
    convlab.manual_seed(123)                                         # the default generator does not matter
    m.reset_parameters(generator=np.random.default_rng(3))
    np.testing.assert_array_equal(m.weight, w1)
    np.testing.assert_array_equal(m.bias, b1)
    m.reset_parameters(generator=np.random.default_rng(4))
    assert not np.array_equal(m.weight, w1)
    fan_in = m.weight.shape[1] * np.prod(m.kernel_size)
    bound = 1 / np.sqrt(fan_in)
    assert np.abs(m.weight).max() <= bound and np.abs(m.bias).max() <= bound


# -- Lazy modules ----------------------------------------------------------------------------------------------
@requires_torch
@pytest.mark.parametrize("name", LAZY)
@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1, bias=False, groups=2)])
def test_lazy_repr_and_class_equal_torch(rng, name, kw):
    nd = _nd(name)
    m, tm = getattr(nn, name)(6, 3, **kw), getattr(torch.nn, name)(6, 3, **kw)
    eager = getattr(nn, name[len("Lazy"):])
    assert repr(m) == repr(tm)
    assert isinstance(m, eager) and isinstance(m, getattr(nn, name))
    assert m.in_channels == tm.in_channels == 0
    assert [k for k, _ in m.named_parameters()] == [k for k, _ in tm.named_parameters()]
    assert list(m.state_dict()) == list(tm.state_dict())
    x = rng.standard_normal((2, 4) + (5, 4, 3)[:nd]).astype(np.float32)
    y = m(x)
    with torch.no_grad():
        ty = tm(_t(x))
    assert type(m).__name__ == type(tm).__name__ == name[len("Lazy"):]
    assert type(m) is eager and isinstance(m, eager)
    assert m.in_channels == tm.in_channels == 4
    assert m.weight.shape == tuple(tm.weight.shape) and y.shape == tuple(ty.shape)
    assert repr(m) == repr(tm)


@requires_torch
@pytest.mark.parametrize("name", LAZY)
def test_load_state_dict_into_uninitialised_lazy_then_forward(rng, name):
    nd = _nd(name)
    eager = name[len("Lazy"):]
    tm = getattr(torch.nn, eager)(4, 6, 3, stride=2, groups=2).double()
    m = getattr(nn, name)(6, 3, stride=2, groups=2, dtype=np.float64)
    m.load_state_dict(tm.state_dict())
    x = rng.standard_normal((2, 4) + (5, 4, 3)[:nd])
    with torch.no_grad():
        want = tm(_t(x)).numpy()
    assert_close(m(x), want, np.float64)
    assert type(m).__name__ == eager and m.in_channels == 0    # torch's quirk: a loaded Lazy layer keeps 0
    assert m.weight.dtype == np.float64


@pytest.mark.parametrize("name", LAZY)
def test_lazy_uses_its_dtype_and_infers_from_unbatched_input(rng, name):
    nd = _nd(name)
    m = getattr(nn, name)(2, 3, dtype=np.float64)
    y = m(rng.standard_normal((5,) + (4, 4, 4)[:nd]))
    assert m.in_channels == 5 and m.weight.dtype == m.bias.dtype == np.float64 and y.shape[0] == 2


# -- Sequential ------------------------------------------------------------------------------------------------
def test_sequential_indexing_len_iteration_append(rng):
    a, b, c = nn.Conv2d(3, 4, 3), nn.ConvTranspose2d(4, 2, 2, stride=2), nn.Conv2d(2, 2, 1)
    s = nn.Sequential(a, b)
    assert len(s) == 2 and s[0] is a and s[1] is b and s[-1] is b and s[-2] is a
    assert list(s) == [a, b]
    with pytest.raises(IndexError):
        s[2]
    with pytest.raises(IndexError):
        s[-3]
    assert s.append(c) is s and len(s) == 3 and s[2] is c
    assert [k for k, _ in s.named_children()] == ["0", "1", "2"]
    head = s[:2]
    assert type(head) is nn.Sequential and list(head) == [a, b]
    assert list(s[1:]) == [b, c] and [k for k, _ in s[1:].named_children()] == ["1", "2"]
    x = rng.standard_normal((1, 3, 6, 6)).astype(np.float32)
    np.testing.assert_array_equal(s(x), c(b(a(x))))
    named = nn.Sequential(OrderedDict([("conv", a), ("up", b)]))
    assert [k for k, _ in named.named_children()] == ["conv", "up"] and named.conv is a


@requires_torch
def test_sequential_slicing_and_append_equal_torch():
    def build(lib):
        s = lib.Sequential(OrderedDict([("a", lib.Conv1d(1, 2, 3)), ("b", lib.Conv1d(2, 2, 1)),
                                        ("c", lib.ConvTranspose1d(2, 1, 2))]))
        s.append(lib.Conv1d(1, 1, 1))
        return s
    s, ts = build(nn), build(torch.nn)
    assert repr(s) == repr(ts) and len(s) == len(ts)
    for idx in (slice(1, None), slice(None, None, 2), slice(-2, None)):
        assert repr(s[idx]) == repr(ts[idx])
        assert list(s[idx].state_dict()) == list(ts[idx].state_dict())


# -- pickling --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("factory", [
    lambda: nn.Conv1d(3, 4, 3, padding="same", padding_mode="circular"),
    lambda: nn.Conv2d(3, 6, (3, 2), stride=2, groups=3, dtype=np.float64),
    lambda: nn.Conv3d(3, 2, 2, bias=False),
    lambda: nn.ConvTranspose2d(3, 4, 3, stride=2, output_padding=1),
    lambda: nn.Sequential(nn.Conv2d(3, 4, 3), nn.ConvTranspose2d(4, 2, 2, stride=2), nn.Unfold(2)),
    lambda: nn.LazyConv2d(4, 3),
], ids=["conv1d", "conv2d", "conv3d", "convT2d", "sequential", "lazy"])
def test_pickle_round_trip_gives_identical_outputs(rng, factory):
    m = factory()
    nd = _nd(type(m).__name__) if not isinstance(m, nn.Sequential) else 2
    x = rng.standard_normal((2, 3) + (7, 6, 5)[:nd]).astype(np.float32)
    if isinstance(m, nn.LazyConv2d):                    # an uninitialized clone initialises on its own call
        clone = pickle.loads(pickle.dumps(m))
        assert type(clone) is nn.LazyConv2d and repr(clone) == repr(m)
        assert clone(x).shape == m(x).shape and type(clone) is type(m) is nn.Conv2d
    for clone in (pickle.loads(pickle.dumps(m)), copy.deepcopy(m)):
        assert type(clone) is type(m) and repr(clone) == repr(m)
        out = clone(x)
        np.testing.assert_array_equal(out, m(x))
        assert all(isinstance(p, nn.Parameter) for p in clone.parameters())
    m2 = pickle.loads(pickle.dumps(m))                   # after materialising too (Lazy)
    np.testing.assert_array_equal(m2(x), m(x))
    assert type(m2) is type(m)


# -- ConvTranspose output_size ----------------------------------------------------------------------------------
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_output_size_forms_agree(rng, nd):
    m = getattr(nn, f"ConvTranspose{nd}d")(3, 2, 3, stride=3, padding=1)
    x = rng.standard_normal((2, 3) + (4,) * nd).astype(np.float32)
    spatial = tuple(range(10, 10 + nd))                # 10..12 are valid per axis
    want = m(x, output_size=spatial)
    assert want.shape == (2, 2) + spatial
    for form in (list(spatial), np.array(spatial), (2, 2) + spatial, [np.int64(v) for v in spatial]):
        np.testing.assert_array_equal(m(x, output_size=form), want)
    # unbatched: (C, *spatial) is the "full" shape
    np.testing.assert_array_equal(m(x[1], output_size=(2,) + spatial), want[1])
    np.testing.assert_array_equal(m(x[1], output_size=spatial), want[1])
    with pytest.raises(ValueError, match="10"):
        m(x, output_size=(13,) * nd)


@requires_torch
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_output_size_as_torch_size_matches_torch(rng, nd):
    m, tm = _torch_pair(f"ConvTranspose{nd}d", 4, 2, 3, stride=(2, 3, 2)[:nd], padding=1, groups=2,
                        dtype=np.float64)
    x = rng.standard_normal((2, 4) + (3, 4, 3)[:nd])
    size = tuple(s * k for s, k in zip((2, 3, 2)[:nd], (3, 4, 3)[:nd]))      # the largest valid size
    for form in (torch.Size(size), torch.Size((2, 2) + size), size):
        with torch.no_grad():
            want = tm(_t(x), output_size=form).numpy()
        assert_close(m(x, output_size=form), want, np.float64)
    with torch.no_grad():
        want = tm(_t(x[0]), output_size=torch.Size((2,) + size)).numpy()
    assert_close(m(x[0], output_size=torch.Size((2,) + size)), want, np.float64)


# -- arbitrary strides ------------------------------------------------------------------------------------------
def _views(base, nd):
    """Non-contiguous views of ``base`` (N=2, C=6, spatial 2*(9, 8, 7)) with the shape (2, 3, *spatial)."""
    full = (slice(None),)
    sp = (slice(None, None, 2),) * nd
    axes = tuple(range(base.ndim))
    flipped = axes[:2] + axes[2:][::-1]
    return {
        "step": base[(slice(None), slice(None, None, 2)) + sp],
        "negative": base[(slice(None, None, -1), slice(5, None, -2)) + (slice(None, None, -2),) * nd],
        "transposed": base.transpose(flipped)[(slice(None), slice(0, 3)) + sp],
        "offset": base[(slice(None), slice(1, 4)) + (slice(1, None, 2),) * nd],
        "fortran": np.asfortranarray(base[(slice(None), slice(0, 3)) + sp]),
        "broadcast": np.broadcast_to(base[(slice(0, 1), slice(0, 3)) + sp], (2, 3) + base[full * 2 + sp].shape[2:]),
    }


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kw", [("Conv1d", dict(stride=2, padding=1, padding_mode="reflect")),
                                     ("Conv2d", dict(groups=3, dilation=2, padding="same")),
                                     ("Conv3d", dict(padding=1, padding_mode="circular")),
                                     ("ConvTranspose1d", dict(stride=2)),
                                     ("ConvTranspose2d", dict(stride=(2, 1), output_padding=(1, 0), groups=3)),
                                     ("ConvTranspose3d", dict(padding=1, dilation=2))])
def test_strided_views_give_the_contiguous_result(rng, dtype, name, kw):
    nd = _nd(name)
    m = getattr(nn, name)(3, 6, 3, dtype=dtype, **kw)
    base = rng.standard_normal((2, 6) + tuple(2 * s for s in (9, 8, 7)[:nd])).astype(dtype)
    keep = base.copy()
    for label, v in _views(base, nd).items():
        assert v.shape[:2] == (2, 3) and not v.flags.c_contiguous, label
        want = m(np.ascontiguousarray(v))
        np.testing.assert_allclose(m(v), want, rtol=1e-12 if dtype == np.float64 else 1e-6,
                                   atol=1e-12 if dtype == np.float64 else 1e-6, err_msg=label)
        np.testing.assert_allclose(m(v[0]), want[0], rtol=1e-6, atol=1e-6, err_msg=label + " unbatched")
    np.testing.assert_array_equal(base, keep)


def test_strided_views_through_unfold_and_fold(rng):
    base = rng.standard_normal((3, 4, 14, 16))
    v = base[::-1, 1::2, ::2, ::-2]
    unfold, fold = nn.Unfold((2, 3), padding=1, stride=(1, 2)), nn.Fold((7, 8), (2, 3), padding=1, stride=(1, 2))
    cols = unfold(v)
    assert_close(cols, ref.unfold_nd(np.ascontiguousarray(v), (2, 3), 1, 1, (1, 2)), np.float64)
    cview = np.ascontiguousarray(cols.transpose(0, 2, 1)).transpose(0, 2, 1)       # column-major columns
    assert not cview.flags.c_contiguous
    assert_close(fold(cview), fold(np.ascontiguousarray(cols)), np.float64)
    assert_close(fold(cols[::-1]), ref.fold_nd(cols[::-1].copy(), (7, 8), (2, 3), 1, 1, (1, 2)), np.float64)


# -- the API reference (book/api/*.md, generated from these docstrings) ---------------------------------------
def _public(module):
    return [(module.__name__, name, getattr(module, name)) for name in module.__all__
            if not inspect.ismodule(getattr(module, name))]


@pytest.mark.parametrize("module_name,name,obj", [
    item for mod in ("convlab.nn", "convlab.nn.functional", "convlab.nn.grad", "convlab.shapes")
    for item in _public(__import__(mod, fromlist=["_"]))], ids=lambda v: v if isinstance(v, str) else "")
def test_every_public_object_has_a_shape_section_an_example_and_an_api_page(module_name, name, obj):
    doc = inspect.getdoc(obj) or ""
    assert re.search(r"^Shape\n-----$", doc, re.M), f"{module_name}.{name}: no Shape section"
    assert ">>> " in doc, f"{module_name}.{name}: no example"
    page = (ROOT / "book" / "api" / f"{module_name.split('.')[-1]}.md").read_text()
    assert re.search(rf"^   {re.escape(name)}$", page, re.M), f"{name} is missing from the API page"
