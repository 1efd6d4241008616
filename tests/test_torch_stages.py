"""Errors at torch's stage: a grid of bad constructor arguments run through torch 2.13 and convlab side by side.

Every case builds a layer, loads a state dict into it and calls it, in torch and in
convlab. The oracle is torch itself, run here: for each case the test finds the stage at
which torch raises (``construct`` / ``load`` / ``call`` / ``ok``) and its exception class,
and checks that convlab raises at the same stage an exception that ``isinstance``-checks as
torch's class. Where torch raises at the call, convlab must have warned at construction
("this layer will fail on its first call"), unless the failure depends on the input; where
torch raises nothing, convlab must not warn. When both succeed, the output shapes agree.

The grid is generated: argument kinds x bad values x the 14 layer classes (the Lazy ones
also after a ``load_state_dict``). The Lazy lifecycle (class, in_channels, weight and bias
state, repr after construction, load and first call) is compared the same way.
"""
import itertools
import re
import warnings

import numpy as np
import pytest

import convlab.nn as nn
from helpers import requires_torch, torch

pytestmark = requires_torch

BASES = (TypeError, ValueError, RuntimeError)
N = 2          # batch
S = 8          # spatial size of the call's input

# Bad (or odd) values per argument kind; a value is a dict of keyword arguments so that
# pairs (output_padding with stride, 'same' with stride) are one case. ``{nd}`` entries are
# made per dimension: a tuple one too long, one too short.
def _kinds(nd, transposed, lazy):
    long, short = (3,) * (nd + 1), (3,) * (nd - 1)
    kinds = {
        "kernel_size": [0, -1, long, short, 2.5, (3,) * (nd - 1) + (0,), 20],
        "stride": [0, -1, (1,) * (nd + 1), 1.5, "a"],
        "padding": [-1, (1,) * (nd + 1), 1.5, "same", "valid", "foo", {"padding": "same", "stride": 2}],
        "dilation": [0, -1, (1,) * (nd + 1), 1.5],
        "groups": [0, -1, 3, 1.5, 2.0, "a"],
        "out_channels": [0, -1, 4.0, 6],
        "padding_mode": ["foo", "reflect", {"padding_mode": "circular", "padding": 1}],
        "bias": [None, "yes", 0],
    }
    if not lazy:
        kinds["in_channels"] = [0, -1, 4.0, 6]
    if transposed:
        kinds["output_padding"] = [1, -1, (0,) * (nd + 1), 1.5, {"output_padding": 2, "stride": 2},
                                   {"output_padding": 1, "dilation": 2}]
    return kinds


# Failures that depend on the call's input, which a layer cannot see when it is built.
def _input_dependent(cls_name, kw):
    return kw.get("kernel_size") == 20 or (cls_name.startswith("LazyConvTranspose") and kw.get("groups") == 3)


def _layer_cases():
    for nd, transposed, lazy in itertools.product((1, 2, 3), (False, True), (False, True)):
        name = ("Lazy" if lazy else "") + ("ConvTranspose" if transposed else "Conv") + f"{nd}d"
        for kind, values in _kinds(nd, transposed, lazy).items():
            for value in values:
                kw = value if isinstance(value, dict) else {kind: value}
                loads = (False, True) if lazy else (True,)
                for load in loads:
                    yield pytest.param(name, nd, kw, load, id=f"{name}-{kw}-{'load' if load else 'noload'}")


def _fold_cases():
    bad = {"kernel_size": [0, -1, (2, 2, 2), 2.5, 20], "stride": [0, -1, (1, 1, 1), 1.5],
           "padding": [-1, (1, 1, 1), 1.5], "dilation": [0, -1, (1, 1, 1), 1.5]}
    for name in ("Unfold", "Fold"):
        for kind, values in bad.items():
            for value in values:
                yield pytest.param(name, 2, {kind: value}, True, id=f"{name}-{kind}={value!r}")
    for value in (0, -1, (8, 8, 8), 8.5):
        yield pytest.param("Fold", 2, {"output_size": value}, True, id=f"Fold-output_size={value!r}")


def _args_for(name, nd, kw):
    if name in ("Unfold", "Fold"):
        args = {"kernel_size": 2}
        if name == "Fold":
            args["output_size"] = (S, S)
        args.update(kw)
        return args
    args = {"out_channels": 4, "kernel_size": 3}
    if not name.startswith("Lazy"):
        args["in_channels"] = 4
    args.update(kw)
    return args


def _input(name, nd, args, lib):
    if name == "Unfold":
        shape = (N, 4, S, S)
    elif name == "Fold":
        shape = (N, 16, 49)
    else:
        c = args.get("in_channels", 4)
        c = c if isinstance(c, int) and c >= 0 else 4
        shape = (N, c) + (S,) * nd
    x = np.random.default_rng(len(shape)).standard_normal(shape).astype(np.float32)
    return torch.from_numpy(x) if lib is torch.nn else x


def _state_for(name, nd, args, lib, module):
    """What the case loads: its own state (eager), or an eager twin's with 4 input channels (Lazy)."""
    if not name.startswith("Lazy"):
        return module.state_dict()
    eager = getattr(lib, name[len("Lazy"):])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return eager(4, **args).state_dict()
        except BASES:
            return None


def _run(lib, name, nd, kw, load):
    """Run the three stages; return (stage, exception or output shape, construction warnings)."""
    args = _args_for(name, nd, kw)
    cls = getattr(lib, name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            m = cls(**args)
        except BASES as error:
            return "construct", error, []
    ours = [str(w.message) for w in caught if "will fail on its first call" in str(w.message)]
    if load and name not in ("Unfold", "Fold"):
        state = _state_for(name, nd, args, lib, m)
        if state is not None:
            try:
                m.load_state_dict(state)
            except BASES as error:
                return "load", error, ours
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = m(_input(name, nd, args, lib))
    except BASES as error:
        return "call", error, ours
    return "ok", tuple(out.shape), ours


def _torch_base(error):
    return next(b for b in BASES if isinstance(error, b))


CASES = list(_layer_cases()) + list(_fold_cases())


def test_grid_size():
    """The size of the grid (the report quotes it): 12 conv classes and Unfold/Fold."""
    assert len(CASES) > 600, len(CASES)


@pytest.mark.parametrize("name,nd,kw,load", CASES)
def test_error_at_torchs_stage(name, nd, kw, load):
    t_stage, t_result, _ = _run(torch.nn, name, nd, kw, load)
    c_stage, c_result, warned = _run(nn, name, nd, kw, load)
    assert c_stage == t_stage, (f"torch: {t_stage} {t_result!r}; convlab: {c_stage} {c_result!r}")
    if t_stage in ("construct", "load", "call"):
        base = _torch_base(t_result)
        assert isinstance(c_result, base), (t_result, c_result)
        assert str(c_result), "convlab's message is empty"
    if t_stage == "ok":
        assert not warned, warned
        zero_in = isinstance(kw.get("in_channels"), int) and kw["in_channels"] == 0 and "Transpose" not in name
        if not zero_in:       # zero input channels: torch returns 0 output channels (test_errors records it)
            assert c_result == t_result
    if t_stage == "call" and not _input_dependent(name, kw):
        assert warned, f"no construction warning; torch fails at the call with {t_result!r}"
        assert re.search(r"will fail on its first call: .+", warned[0])


# -- the Lazy lifecycle -------------------------------------------------------------------------------------
def _state(m):
    """(class name, in_channels, weight state, bias state, repr) of a module, comparable across libraries."""
    def param(p):
        if p is None:
            return None
        if type(p).__name__ == "UninitializedParameter":
            return "uninitialized"
        return tuple(p.shape)
    return (type(m).__name__, m.in_channels, param(m.weight), param(m.bias), repr(m))


def _lifecycle(lib, name, nd, load):
    transposed = "Transpose" in name
    eager = getattr(lib, name[len("Lazy"):])
    seen = []
    m = getattr(lib, name)(6, 3)
    seen.append(("built", _state(m)))
    if load == "eager twin":
        state = eager(5, 6, 3).state_dict()
    elif load == "other layout":      # a Conv-layout weight into a transposed layer and vice versa
        other = getattr(lib, ("Conv" if transposed else "ConvTranspose") + f"{nd}d")
        state = other(5, 6, 3).state_dict()
    elif load == "wrong kernel":
        state = eager(5, 6, 2).state_dict()
    else:
        state = None
    if state is not None:
        try:
            m.load_state_dict(state)
            seen.append(("loaded", _state(m)))
        except BASES as error:
            return seen + [("load error", error)]
    x = np.random.default_rng(0).standard_normal((2, 5) + (7,) * nd).astype(np.float32)
    try:
        out = m(torch.from_numpy(x) if lib is torch.nn else x)
        seen.append(("called", _state(m), tuple(out.shape)))
    except BASES as error:
        seen.append(("call error", error, _state(m)))
    return seen


LAZY = [f"Lazy{t}{nd}d" for t in ("Conv", "ConvTranspose") for nd in (1, 2, 3)]


@pytest.mark.parametrize("load", [None, "eager twin", "other layout", "wrong kernel"])
@pytest.mark.parametrize("name", LAZY)
def test_lazy_lifecycle_equals_torch(name, load):
    nd = int(name[-2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = _lifecycle(torch.nn, name, nd, load)
        ours = _lifecycle(nn, name, nd, load)
    assert len(ours) == len(theirs), (ours, theirs)
    for mine, torchs in zip(ours, theirs):
        if torchs[0].endswith("error"):          # the same stage, an exception of torch's class
            assert mine[0] == torchs[0] and isinstance(mine[1], _torch_base(torchs[1])), (mine, torchs)
            assert mine[2:] == torchs[2:]
        else:
            assert mine == torchs
