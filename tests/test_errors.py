"""Bad input raises a Python exception that names the offending values; it never crashes or lies.

Each case calls convlab (modules, functional and ``nn.grad``) and checks the
exception class and, with ``match=``, that the message carries the offending
numbers. Where PyTorch raises for the same input the case also checks that it
does (skipped without torch); where the two disagree on *whether* something is
an error, ``test_known_disagreements_with_torch`` records it.

The last part runs the nastiest inputs in a child interpreter (a segfault there
fails the test instead of killing pytest) and checks the promises that hold for
every op: the input is never modified, N=0 batches give torch's empty shape,
NaN/inf propagate like torch, and any strided view gives the contiguous result.
"""
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import convlab.nn as nn
import convlab.nn.functional as F
from convlab import reference
from convlab.errors import ShapeError
from convlab.nn import grad as G
from helpers import requires_torch, torch

f32 = np.float32
ROOT = Path(__file__).resolve().parents[1]
TORCH_ERRORS = (RuntimeError, ValueError, TypeError, NotImplementedError, IndexError)


def _x(*shape, dtype=f32):
    return np.random.default_rng(sum(shape) + len(shape)).standard_normal(shape).astype(dtype)


def _t(a):
    return torch.from_numpy(np.ascontiguousarray(a))


def _tnn():
    return torch.nn


def _tF():
    return torch.nn.functional


def _tG():
    return torch.nn.grad


# ----------------------------------------------------------------------------------------------
# The table: (id, convlab call, exception class, regex the message must match, torch call or None)
# Regexes are built from the offending numbers of the call, never copied from convlab's output.
# ----------------------------------------------------------------------------------------------
X2 = _x(2, 3, 8, 8)
W2 = _x(4, 3, 3, 3)
WT2 = _x(3, 2, 3, 3)          # ConvTranspose2d weight: (C_in=3, C_out/groups=2, 3, 3)


def _esc(*parts):
    """A regex that finds ``parts`` in this order, anything in between."""
    return ".*".join(re.escape(str(p)) for p in parts)


CASES = []


def case(id, call, exc, match, torch_call=None):
    CASES.append(pytest.param(call, exc, match, torch_call, id=id))


def _warned_then_called(build, x):
    """A layer torch builds and fails to run: convlab warns when it is built and raises at the call."""
    with pytest.warns(UserWarning, match="will fail on its first call"):
        m = build()
    return m(x)


# -- wrong channel count: names the weight shape, expected and actual channels (as torch) -------
for nd in (1, 2, 3):
    x = _x(2, 3, *(6,) * nd)
    w = _x(4, 2, *(3,) * nd)
    conv = getattr(F, f"conv{nd}d")
    case(f"F.conv{nd}d-channels", lambda x=x, w=w, conv=conv: conv(x, w), ShapeError,
         _esc(list(w.shape), "2 channels", "got 3 channels"),
         lambda x=x, w=w, nd=nd: getattr(_tF(), f"conv{nd}d")(_t(x), _t(w)))
    mod = getattr(nn, f"Conv{nd}d")
    case(f"Conv{nd}d-channels", lambda x=x, mod=mod: mod(2, 4, 3)(x), ShapeError,
         _esc([4, 2] + [3] * nd, "2 channels", "got 3 channels"),
         lambda x=x, nd=nd: getattr(_tnn(), f"Conv{nd}d")(2, 4, 3)(_t(x)))
    wt = _x(2, 5, *(3,) * nd)
    convt = getattr(F, f"conv_transpose{nd}d")
    case(f"F.conv_transpose{nd}d-channels", lambda x=x, wt=wt, convt=convt: convt(x, wt), ShapeError,
         _esc(list(wt.shape), "2 channels", "got 3 channels"),
         lambda x=x, wt=wt, nd=nd: getattr(_tF(), f"conv_transpose{nd}d")(_t(x), _t(wt)))
    modt = getattr(nn, f"ConvTranspose{nd}d")
    case(f"ConvTranspose{nd}d-channels", lambda x=x, modt=modt: modt(2, 5, 3)(x), ShapeError,
         _esc([2, 5] + [3] * nd, "2 channels", "got 3 channels"),
         lambda x=x, nd=nd: getattr(_tnn(), f"ConvTranspose{nd}d")(2, 5, 3)(_t(x)))
    gi = getattr(G, f"conv{nd}d_input")
    case(f"grad.conv{nd}d_input-channels",
         lambda gi=gi, nd=nd: gi((2, 2) + (6,) * nd, _x(4, 3, *(3,) * nd), _x(2, 4, *(4,) * nd)), ShapeError,
         _esc([4, 3] + [3] * nd, "3 channels", "has 2"),
         lambda nd=nd: getattr(_tG(), f"conv{nd}d_input")((2, 2) + (6,) * nd, _t(_x(4, 3, *(3,) * nd)),
                                                          _t(_x(2, 4, *(4,) * nd))))
    gw = getattr(G, f"conv{nd}d_weight")
    case(f"grad.conv{nd}d_weight-channels",
         lambda x=x, gw=gw, nd=nd: gw(x, (4, 2) + (3,) * nd, _x(2, 4, *(4,) * nd)), ShapeError,
         _esc((4, 2) + (3,) * nd, "3 channels"),
         lambda x=x, nd=nd: getattr(_tG(), f"conv{nd}d_weight")(_t(x), (4, 2) + (3,) * nd, _t(_x(2, 4, *(4,) * nd))))

# -- groups ----------------------------------------------------------------------------------------
case("F.conv2d-groups-not-dividing-out", lambda: F.conv2d(X2, _x(4, 1, 3, 3), groups=3), ShapeError,
     _esc("groups=3", "divisible by 3", [4, 1, 3, 3]), lambda: _tF().conv2d(_t(X2), _t(_x(4, 1, 3, 3)), groups=3))
case("F.conv2d-groups-not-dividing-in", lambda: F.conv2d(X2, _x(4, 1, 3, 3), groups=2), ShapeError,
     _esc("groups=2", [4, 1, 3, 3], "2 channels", "got 3"),
     lambda: _tF().conv2d(_t(X2), _t(_x(4, 1, 3, 3)), groups=2))
case("F.conv_transpose2d-groups-not-dividing", lambda: F.conv_transpose2d(X2, WT2, groups=2), ShapeError,
     _esc("groups=2", "divisible by 2", list(WT2.shape)), lambda: _tF().conv_transpose2d(_t(X2), _t(WT2), groups=2))
case("Conv2d-groups-not-dividing-in", lambda: nn.Conv2d(3, 4, 3, groups=2), ValueError,
     _esc("in_channels=3", "groups=2"), lambda: _tnn().Conv2d(3, 4, 3, groups=2))
case("Conv2d-groups-not-dividing-out", lambda: nn.Conv2d(4, 3, 3, groups=2), ValueError,
     _esc("out_channels=3", "groups=2"), lambda: _tnn().Conv2d(4, 3, 3, groups=2))
case("ConvTranspose2d-groups-not-dividing", lambda: nn.ConvTranspose2d(4, 3, 3, groups=2), ValueError,
     _esc("out_channels=3", "groups=2"), lambda: _tnn().ConvTranspose2d(4, 3, 3, groups=2))
case("grad.conv2d_input-groups-not-dividing", lambda: G.conv2d_input((2, 9, 8, 8), W2, _x(2, 4, 6, 6), groups=3),
     ShapeError, _esc("groups=3", "divisible by 3", [4, 3, 3, 3]),
     lambda: _tG().conv2d_input((2, 9, 8, 8), _t(W2), _t(_x(2, 4, 6, 6)), groups=3))
for g in (0, -1):
    case(f"F.conv2d-groups{g}", lambda g=g: F.conv2d(X2, W2, groups=g), ValueError, _esc(">= 1", f"groups={g}"),
         lambda g=g: _tF().conv2d(_t(X2), _t(W2), groups=g))
    case(f"F.conv_transpose2d-groups{g}", lambda g=g: F.conv_transpose2d(X2, WT2, groups=g), ValueError,
         _esc(f"groups={g}"), lambda g=g: _tF().conv_transpose2d(_t(X2), _t(WT2), groups=g))
    case(f"Conv2d-groups{g}", lambda g=g: nn.Conv2d(4, 4, 3, groups=g), ValueError, _esc(f"groups={g}"),
         lambda g=g: _tnn().Conv2d(4, 4, 3, groups=g))
    case(f"LazyConv2d-groups{g}", lambda g=g: nn.LazyConv2d(4, 3, groups=g), ValueError, _esc(f"groups={g}"),
         lambda g=g: _tnn().LazyConv2d(4, 3, groups=g))
    case(f"grad.conv2d_input-groups{g}", lambda g=g: G.conv2d_input(X2.shape, W2, _x(2, 4, 6, 6), groups=g),
         ValueError, _esc(f"groups={g}"),
         lambda g=g: _tG().conv2d_input(X2.shape, _t(W2), _t(_x(2, 4, 6, 6)), groups=g))
    case(f"grad.conv2d_weight-groups{g}", lambda g=g: G.conv2d_weight(X2, W2.shape, _x(2, 4, 6, 6), groups=g),
         ValueError, _esc(f"groups={g}"),
         lambda g=g: _tG().conv2d_weight(_t(X2), W2.shape, _t(_x(2, 4, 6, 6)), groups=g))
case("F.conv2d-groups-float", lambda: F.conv2d(X2, W2, groups=1.5), TypeError, _esc("groups", "1.5"),
     lambda: _tF().conv2d(_t(X2), _t(W2), groups=1.5))
case("F.conv2d-zero-out-channels", lambda: F.conv2d(X2, np.zeros((0, 3, 3, 3), f32)), ShapeError,
     _esc("at least 1", [0, 3, 3, 3]), lambda: _tF().conv2d(_t(X2), torch.zeros(0, 3, 3, 3)))
case("F.conv_transpose2d-zero-in-channels",
     lambda: F.conv_transpose2d(np.zeros((2, 0, 4, 4), f32), np.zeros((0, 2, 3, 3), f32)), ShapeError,
     _esc("at least 1", [0, 2, 3, 3]),
     lambda: _tF().conv_transpose2d(torch.zeros(2, 0, 4, 4), torch.zeros(0, 2, 3, 3)))
case("F.conv_transpose2d-zero-out-channels", lambda: F.conv_transpose2d(X2, np.zeros((3, 0, 3, 3), f32)),
     ShapeError, _esc("at least 1", [3, 0, 3, 3]),
     lambda: _tF().conv_transpose2d(_t(X2), torch.zeros(3, 0, 3, 3)))

# -- kernel larger than the (padded, dilated) input ------------------------------------------------
case("F.conv2d-kernel-too-large-dilated", lambda: F.conv2d(X2, W2, dilation=4), ShapeError,
     _esc((8, 8), (9, 9), "dilation (4, 4)"), lambda: _tF().conv2d(_t(X2), _t(W2), dilation=4))
case("F.conv1d-kernel-too-large-padded", lambda: F.conv1d(_x(1, 1, 4), _x(1, 1, 7), padding=1), ShapeError,
     _esc("(6,)", "(7,)"), lambda: _tF().conv1d(_t(_x(1, 1, 4)), _t(_x(1, 1, 7)), padding=1))
case("F.conv3d-kernel-too-large", lambda: F.conv3d(_x(1, 1, 5, 2, 5), _x(1, 1, 3, 3, 3)), ShapeError,
     _esc((5, 2, 5), (3, 3, 3)), lambda: _tF().conv3d(_t(_x(1, 1, 5, 2, 5)), _t(_x(1, 1, 3, 3, 3))))
case("Conv2d-kernel-too-large", lambda: nn.Conv2d(3, 4, 5, dilation=(1, 2))(X2), ShapeError,
     _esc((8, 8), (5, 9)), lambda: _tnn().Conv2d(3, 4, 5, dilation=(1, 2))(_t(X2)))
case("Conv2d-reflect-kernel-too-large", lambda: nn.Conv2d(3, 4, 9, padding=0, padding_mode="reflect")(X2),
     ShapeError, _esc((8, 8), (9, 9)), lambda: _tnn().Conv2d(3, 4, 9, padding_mode="reflect")(_t(X2)))
case("F.unfold-kernel-too-large", lambda: F.unfold(X2, 9), ShapeError, _esc((8, 8), (9, 9)),
     lambda: _tF().unfold(_t(X2), 9))
case("Unfold-kernel-too-large-dilated", lambda: nn.Unfold(3, dilation=4)(X2), ShapeError, _esc((8, 8), (9, 9)),
     lambda: _tnn().Unfold(3, dilation=4)(_t(X2)))
case("grad.conv2d_input-kernel-too-large", lambda: G.conv2d_input((2, 3, 2, 2), W2, np.zeros((2, 4, 1, 1), f32)),
     ShapeError, _esc((2, 2), (3, 3)),
     lambda: _tG().conv2d_input((2, 3, 2, 2), _t(W2), torch.zeros(2, 4, 1, 1)))
case("grad.conv2d_weight-kernel-too-large", lambda: G.conv2d_weight(X2, (4, 3, 9, 9), np.zeros((2, 4, 1, 1), f32)),
     ShapeError, _esc((8, 8), (9, 9)),
     lambda: _tG().conv2d_weight(_t(X2), (4, 3, 9, 9), torch.zeros(2, 4, 1, 1)))
case("F.conv2d-empty-spatial", lambda: F.conv2d(np.zeros((2, 3, 0, 8), f32), W2, padding=2), ShapeError,
     _esc([2, 3, 0, 8]), lambda: _tF().conv2d(torch.zeros(2, 3, 0, 8), _t(W2), padding=2))
case("F.conv_transpose2d-empty-spatial", lambda: F.conv_transpose2d(np.zeros((1, 3, 0, 4), f32), WT2), ShapeError,
     _esc([1, 3, 0, 4]), lambda: _tF().conv_transpose2d(torch.zeros(1, 3, 0, 4), _t(WT2)))
case("F.conv_transpose2d-padding-eats-output", lambda: F.conv_transpose2d(X2, WT2, padding=10), ShapeError,
     _esc("(8, 8)", "(-10, -10)", "padding=(10, 10)"), lambda: _tF().conv_transpose2d(_t(X2), _t(WT2), padding=10))

# -- non-positive stride / dilation / kernel_size, negative padding ---------------------------------
for name, bad in (("stride", 0), ("stride", -1), ("dilation", 0), ("dilation", -2)):
    case(f"F.conv2d-{name}{bad}", lambda name=name, bad=bad: F.conv2d(X2, W2, **{name: bad}), ValueError,
         _esc("positive", f"{name}=({bad}, {bad})"),
         lambda name=name, bad=bad: _tF().conv2d(_t(X2), _t(W2), **{name: bad}))
    case(f"F.conv_transpose1d-{name}{bad}",
         lambda name=name, bad=bad: F.conv_transpose1d(_x(1, 3, 5), _x(3, 2, 3), **{name: bad}), ValueError,
         _esc(f"{name}=({bad},)"),
         lambda name=name, bad=bad: _tF().conv_transpose1d(_t(_x(1, 3, 5)), _t(_x(3, 2, 3)), **{name: bad}))
    case(f"Conv3d-{name}{bad}", lambda name=name, bad=bad: _warned_then_called(
        lambda: nn.Conv3d(2, 2, 3, **{name: (1, bad, 1)}), _x(1, 2, 5, 5, 5)), RuntimeError,
         _esc(f"{name}=(1, {bad}, 1)"),
         lambda name=name, bad=bad: _tnn().Conv3d(2, 2, 3, **{name: (1, bad, 1)})(torch.zeros(1, 2, 5, 5, 5)))
    case(f"F.unfold-{name}{bad}", lambda name=name, bad=bad: F.unfold(X2, 2, **{name: bad}), ValueError,
         _esc(f"{name}=({bad}, {bad})"), lambda name=name, bad=bad: _tF().unfold(_t(X2), 2, **{name: bad}))
    case(f"Fold-{name}{bad}", lambda name=name, bad=bad: _warned_then_called(
        lambda: nn.Fold((4, 5), 2, **{name: bad}), _x(1, 4, 12)), RuntimeError,
         _esc(f"{name}=({bad}, {bad})"),
         lambda name=name, bad=bad: _tnn().Fold((4, 5), 2, **{name: bad})(torch.zeros(1, 4, 12)))
    case(f"grad.conv2d_input-{name}{bad}",
         lambda name=name, bad=bad: G.conv2d_input(X2.shape, W2, _x(2, 4, 6, 6), **{name: bad}), ValueError,
         _esc(f"{name}=({bad}, {bad})"),
         (lambda name=name, bad=bad: _tG().conv2d_input(X2.shape, _t(W2), _t(_x(2, 4, 6, 6)), **{name: bad}))
         if (name, bad) != ("dilation", 0) else None)
    case(f"grad.conv2d_weight-{name}{bad}",
         lambda name=name, bad=bad: G.conv2d_weight(X2, W2.shape, _x(2, 4, 6, 6), **{name: bad}), ValueError,
         _esc(f"{name}=({bad}, {bad})"),
         (lambda name=name, bad=bad: _tG().conv2d_weight(_t(X2), W2.shape, _t(_x(2, 4, 6, 6)), **{name: bad}))
         if (name, bad) != ("dilation", 0) else None)
case("Conv2d-kernel_size0", lambda: _warned_then_called(lambda: nn.Conv2d(3, 4, (3, 0)), X2), RuntimeError,
     _esc([4, 3, 3, 0]),
     lambda: _tnn().Conv2d(3, 4, (3, 0))(_t(X2)))
case("ConvTranspose1d-kernel_size-neg", lambda: nn.ConvTranspose1d(3, 4, -2), RuntimeError,
     _esc("(3, 4, -2)", "negative"), lambda: _tnn().ConvTranspose1d(3, 4, -2))
case("F.conv2d-weight-kernel0", lambda: F.conv2d(X2, np.zeros((4, 3, 0, 3), f32)), ShapeError,
     _esc([4, 3, 0, 3]), lambda: _tF().conv2d(_t(X2), torch.zeros(4, 3, 0, 3)))
case("F.conv_transpose2d-weight-kernel0", lambda: F.conv_transpose2d(X2, np.zeros((3, 2, 0, 3), f32)), ShapeError,
     _esc([3, 2, 0, 3]), lambda: _tF().conv_transpose2d(_t(X2), torch.zeros(3, 2, 0, 3)))
case("F.unfold-kernel_size0", lambda: F.unfold(X2, 0), ValueError, _esc("kernel_size=(0, 0)"),
     lambda: _tF().unfold(_t(X2), 0))
case("Fold-kernel_size0", lambda: _warned_then_called(lambda: nn.Fold((4, 5), (2, 0)), _x(1, 4, 12)), RuntimeError,
     _esc("kernel_size=(2, 0)"),
     lambda: _tnn().Fold((4, 5), (2, 0))(torch.zeros(1, 4, 12)))
case("grad.conv2d_input-weight-kernel0", lambda: G.conv2d_input(X2.shape, np.zeros((4, 3, 0, 3), f32),
                                                                 _x(2, 4, 9, 6)),
     ShapeError, _esc([4, 3, 0, 3]), lambda: _tG().conv2d_input(X2.shape, torch.zeros(4, 3, 0, 3), _t(_x(2, 4, 9, 6))))
case("grad.conv2d_weight-kernel0", lambda: G.conv2d_weight(X2, (4, 3, 0, 3), _x(2, 4, 9, 6)), ShapeError,
     _esc((4, 3, 0, 3)), lambda: _tG().conv2d_weight(_t(X2), (4, 3, 0, 3), _t(_x(2, 4, 9, 6))))
case("grad.conv2d_weight-kernel-negative", lambda: G.conv2d_weight(X2, (4, 3, -1, 3), _x(2, 4, 10, 6)), TypeError,
     _esc((4, 3, -1, 3)), lambda: _tG().conv2d_weight(_t(X2), (4, 3, -1, 3), _t(_x(2, 4, 10, 6))))
case("F.conv2d-padding-neg", lambda: F.conv2d(X2, W2, padding=(1, -1)), ValueError, _esc("padding=(1, -1)"),
     lambda: _tF().conv2d(_t(X2), _t(W2), padding=(1, -1)))
case("F.conv_transpose2d-padding-neg", lambda: F.conv_transpose2d(X2, WT2, padding=-1), ValueError,
     _esc("padding=(-1, -1)"), lambda: _tF().conv_transpose2d(_t(X2), _t(WT2), padding=-1))
case("Conv1d-padding-neg", lambda: _warned_then_called(lambda: nn.Conv1d(3, 4, 3, padding=-2), _x(1, 3, 8)),
     RuntimeError, _esc("padding=(-2,)"),
     lambda: _tnn().Conv1d(3, 4, 3, padding=-2)(torch.zeros(1, 3, 8)))
case("F.unfold-padding-neg", lambda: F.unfold(X2, 2, padding=-1), ValueError, _esc("padding=(-1, -1)"),
     lambda: _tF().unfold(_t(X2), 2, padding=-1))
case("grad.conv2d_input-padding-neg", lambda: G.conv2d_input(X2.shape, W2, _x(2, 4, 6, 6), padding=-1), ValueError,
     _esc("padding=(-1, -1)"), lambda: _tG().conv2d_input(X2.shape, _t(W2), _t(_x(2, 4, 6, 6)), padding=-1))
case("F.conv_transpose2d-output_padding-neg", lambda: F.conv_transpose2d(X2, WT2, stride=2, output_padding=-1),
     ValueError, _esc("output_padding=(-1, -1)"),
     lambda: _tF().conv_transpose2d(_t(X2), _t(WT2), stride=2, output_padding=-1))

# -- output_padding >= max(stride, dilation); output_size ---------------------------------------
case("ConvTranspose2d-output_padding-eq-stride",
     lambda: _warned_then_called(lambda: nn.ConvTranspose2d(3, 4, 3, stride=2, output_padding=2), X2), RuntimeError, _esc("output_padding=(2, 2)", "stride=(2, 2)", "dilation=(1, 1)", "max(stride, dilation) = (2, 2)"),
     lambda: _tnn().ConvTranspose2d(3, 4, 3, stride=2, output_padding=2)(_t(X2)))
case("ConvTranspose1d-output_padding-stride1",
     lambda: _warned_then_called(lambda: nn.ConvTranspose1d(3, 4, 3, output_padding=1), _x(1, 3, 5)), RuntimeError,
     _esc("output_padding=(1,)", "stride=(1,)", "dilation=(1,)"),
     lambda: _tnn().ConvTranspose1d(3, 4, 3, output_padding=1)(torch.zeros(1, 3, 5)))
case("ConvTranspose3d-output_padding-eq-dilation",
     lambda: _warned_then_called(lambda: nn.ConvTranspose3d(3, 4, 3, stride=(1, 2, 1), dilation=(3, 1, 1),
                                                         output_padding=(2, 1, 1)), _x(1, 3, 5, 5, 5)),
     RuntimeError, _esc("output_padding=(2, 1, 1)", "max(stride, dilation) = (3, 2, 1)"),
     lambda: _tnn().ConvTranspose3d(3, 4, 3, stride=(1, 2, 1), dilation=(3, 1, 1),
                                    output_padding=(2, 1, 1))(torch.zeros(1, 3, 5, 5, 5)))
case("F.conv_transpose2d-output_padding-too-large", lambda: F.conv_transpose2d(X2, WT2, stride=2, output_padding=2),
     ValueError, _esc("output_padding=(2, 2)", "stride=(2, 2)", "max(stride, dilation) = (2, 2)"),
     lambda: _tF().conv_transpose2d(_t(X2), _t(WT2), stride=2, output_padding=2))
_CT = dict(stride=2)     # 8 -> (8-1)*2 + 3 = 17, valid output sizes 17..18
for size in ((17,), (1, 17, 17), (2, 4, 17, 17, 1)):
    case(f"ConvTranspose2d-output_size-len{len(size)}",
         lambda size=size: nn.ConvTranspose2d(3, 4, 3, **_CT)(X2, output_size=size), ValueError,
         _esc("4D input", "2 or 4 elements", f"got {len(size)}"),
         lambda size=size: _tnn().ConvTranspose2d(3, 4, 3, **_CT)(_t(X2), output_size=size))
for size in ((19, 17), (16, 17), (17, 0)):
    case(f"ConvTranspose2d-output_size-{size}",
         lambda size=size: nn.ConvTranspose2d(3, 4, 3, **_CT)(X2, output_size=size),
         ValueError, _esc(size, "(17, 17)", "(18, 18)", "(8, 8)"),
         lambda size=size: _tnn().ConvTranspose2d(3, 4, 3, **_CT)(_t(X2), output_size=size))
case("ConvTranspose1d-output_size-dilation-range",
     lambda: nn.ConvTranspose1d(3, 4, 3, dilation=3)(_x(1, 3, 8), output_size=(15,)), ValueError,
     _esc("(15,)", "(14,)", "(14,)"),
     lambda: _tnn().ConvTranspose1d(3, 4, 3, dilation=3)(_t(_x(1, 3, 8)), output_size=(15,)))
case("ConvTranspose2d-output_size-float", lambda: nn.ConvTranspose2d(3, 4, 3, **_CT)(X2, output_size=(17.5, 17)),
     TypeError, _esc("output_size", "17.5"),
     lambda: _tnn().ConvTranspose2d(3, 4, 3, **_CT)(_t(X2), output_size=(17.5, 17)))

# -- wrong ndim input, for every op ---------------------------------------------------------------
for nd in (1, 2, 3):
    for ndim in (nd, nd + 3):
        shape = (2, 3, 5, 5, 5, 5, 5, 5)[:ndim]
        xb = _x(*shape)
        expect = _esc(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched)", list(shape))
        tx = lambda xb=xb: _t(xb)  # noqa: E731
        case(f"F.conv{nd}d-ndim{ndim}", lambda xb=xb, nd=nd: getattr(F, f"conv{nd}d")(xb, _x(2, 3, *(1,) * nd)),
             ShapeError, expect,
             lambda tx=tx, nd=nd: getattr(_tF(), f"conv{nd}d")(tx(), torch.zeros(2, 3, *(1,) * nd)))
        case(f"F.conv_transpose{nd}d-ndim{ndim}",
             lambda xb=xb, nd=nd: getattr(F, f"conv_transpose{nd}d")(xb, _x(3, 2, *(1,) * nd)), ShapeError, expect,
             lambda tx=tx, nd=nd: getattr(_tF(), f"conv_transpose{nd}d")(tx(), torch.zeros(3, 2, *(1,) * nd)))
        for kind in ("Conv", "ConvTranspose", "LazyConv", "LazyConvTranspose"):
            lazy = kind.startswith("Lazy")
            args = (2, 1) if lazy else (3, 2, 1)
            expect_mod = _esc(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched)")
            case(f"{kind}{nd}d-ndim{ndim}", lambda xb=xb, kind=kind, nd=nd, args=args:
                 getattr(nn, f"{kind}{nd}d")(*args)(xb), ShapeError, expect_mod,
                 lambda tx=tx, kind=kind, nd=nd, args=args: getattr(_tnn(), f"{kind}{nd}d")(*args)(tx()))
        case(f"grad.conv{nd}d_weight-ndim{ndim}",
             lambda xb=xb, nd=nd: getattr(G, f"conv{nd}d_weight")(xb, (2, 3) + (1,) * nd, _x(2, 2, *(5,) * nd)),
             ShapeError, _esc(f"need {nd + 2} dimensions", shape),
             lambda tx=tx, nd=nd: getattr(_tG(), f"conv{nd}d_weight")(tx(), (2, 3) + (1,) * nd,
                                                                      torch.zeros(2, 2, *(5,) * nd)))
        case(f"grad.conv{nd}d_input-grad_output-ndim{ndim}",
             lambda xb=xb, nd=nd: getattr(G, f"conv{nd}d_input")((2, 3) + (5,) * nd, _x(2, 3, *(1,) * nd), xb),
             ShapeError, _esc(f"need {nd + 2} dimensions", shape))
        case(f"grad.conv{nd}d_input-input_size-len{ndim}",
             lambda shape=shape, nd=nd: getattr(G, f"conv{nd}d_input")(shape, _x(2, 3, *(1,) * nd),
                                                                       _x(2, 2, *(5,) * nd)),
             ShapeError, _esc(f"{nd + 2} entries", shape),
             lambda shape=shape, nd=nd: getattr(_tG(), f"conv{nd}d_input")(shape, torch.zeros(2, 3, *(1,) * nd),
                                                                          torch.zeros(2, 2, *(5,) * nd)))
for ndim in (2, 5):
    xb = _x(*(1, 2, 3, 4, 5)[:ndim])
    case(f"F.unfold-ndim{ndim}", lambda xb=xb: F.unfold(xb, 1), ShapeError, _esc("3D or 4D", f"{ndim}D", xb.shape),
         lambda xb=xb: _tF().unfold(_t(xb), 1))
    case(f"Unfold-ndim{ndim}", lambda xb=xb: nn.Unfold(1)(xb), ShapeError, _esc(f"{ndim}D", xb.shape),
         lambda xb=xb: _tnn().Unfold(1)(_t(xb)))
for ndim in (1, 4):
    xb = _x(*(1, 4, 6, 5)[-ndim:])
    case(f"F.fold-ndim{ndim}", lambda xb=xb: F.fold(xb, (3, 4), 2), ShapeError, _esc(f"{ndim}D", xb.shape),
         lambda xb=xb: _tF().fold(_t(xb), (3, 4), 2))
    case(f"Fold-ndim{ndim}", lambda xb=xb: nn.Fold((3, 4), 2)(xb), ShapeError, _esc(f"{ndim}D", xb.shape),
         lambda xb=xb: _tnn().Fold((3, 4), 2)(_t(xb)))
for mode in ("reflect", "replicate", "circular"):
    case(f"F.pad-{mode}-ndim", lambda mode=mode: F.pad(X2, (1, 1), mode=mode), ShapeError,
         _esc(f"'{mode}'", "length 2", X2.shape), lambda mode=mode: _tF().pad(_t(X2), (1, 1), mode=mode))
    case(f"F.pad-{mode}-1d-input", lambda mode=mode: F.pad(_x(8), (1, 1), mode=mode), ShapeError, _esc("(8,)"),
         lambda mode=mode: _tF().pad(_t(_x(8)), (1, 1), mode=mode))

# -- padding modes and padding strings ------------------------------------------------------------
case("Conv2d-padding_mode-unknown", lambda: nn.Conv2d(3, 4, 3, padding_mode="mirror"), ValueError,
     _esc("zeros", "padding_mode='mirror'"), lambda: _tnn().Conv2d(3, 4, 3, padding_mode="mirror"))
case("LazyConv1d-padding_mode-unknown", lambda: nn.LazyConv1d(4, 3, padding_mode="zero"), ValueError,
     _esc("padding_mode='zero'"), lambda: _tnn().LazyConv1d(4, 3, padding_mode="zero"))
for mode in ("reflect", "replicate", "circular"):
    case(f"ConvTranspose2d-padding_mode-{mode}", lambda mode=mode: nn.ConvTranspose2d(3, 4, 3, padding_mode=mode),
         ValueError, _esc('"zeros"', f"padding_mode='{mode}'"),
         lambda mode=mode: _tnn().ConvTranspose2d(3, 4, 3, padding_mode=mode))
case("F.conv2d-same-stride2", lambda: F.conv2d(X2, W2, padding="same", stride=(1, 2)), ValueError,
     _esc("'same'", "stride=(1, 2)"), lambda: _tF().conv2d(_t(X2), _t(W2), padding="same", stride=(1, 2)))
case("Conv2d-same-stride2", lambda: nn.Conv2d(3, 4, 3, padding="same", stride=2), ValueError,
     _esc("'same'", "stride=(2, 2)"), lambda: _tnn().Conv2d(3, 4, 3, padding="same", stride=2))
case("F.conv1d-padding-string-unknown", lambda: F.conv1d(_x(1, 3, 8), _x(4, 3, 3), padding="full"), ValueError,
     _esc("'full'", "same", "valid"), lambda: _tF().conv1d(_t(_x(1, 3, 8)), _t(_x(4, 3, 3)), padding="full"))
case("Conv3d-padding-string-unknown", lambda: nn.Conv3d(3, 4, 3, padding="SAME"), ValueError, _esc("'SAME'"),
     lambda: _tnn().Conv3d(3, 4, 3, padding="SAME"))
case("F.conv_transpose2d-padding-string", lambda: F.conv_transpose2d(X2, WT2, padding="same"), TypeError,
     _esc("padding='same'"), lambda: _tF().conv_transpose2d(_t(X2), _t(WT2), padding="same"))
case("ConvTranspose2d-padding-string",
     lambda: _warned_then_called(lambda: nn.ConvTranspose2d(3, 4, 3, padding="valid"), X2), TypeError,
     _esc("padding", "'v', 'a', 'l', 'i', 'd'"), lambda: _tnn().ConvTranspose2d(3, 4, 3, padding="valid")(_t(X2)))
case("Conv2d-reflect-padding-ge-size", lambda: nn.Conv2d(3, 4, 3, padding=3, padding_mode="reflect")(_x(1, 3, 3, 3)),
     ShapeError, _esc("(3, 3)", "size 3", "0 <= padding <= 2"),
     lambda: _tnn().Conv2d(3, 4, 3, padding=3, padding_mode="reflect")(torch.zeros(1, 3, 3, 3)))
case("Conv1d-circular-padding-gt-size", lambda: nn.Conv1d(3, 4, 3, padding=4, padding_mode="circular")(_x(1, 3, 3)),
     ShapeError, _esc("(4, 4)", "size 3", "0 <= padding <= 3"),
     lambda: _tnn().Conv1d(3, 4, 3, padding=4, padding_mode="circular")(torch.zeros(1, 3, 3)))
case("F.pad-reflect-ge-size", lambda: F.pad(X2, (8, 0, 0, 0), mode="reflect"), ShapeError,
     _esc("(8, 0)", "size 8", "0 <= padding <= 7"), lambda: _tF().pad(_t(X2), (8, 0, 0, 0), mode="reflect"))
case("F.pad-circular-gt-size", lambda: F.pad(X2, (0, 9, 1, 1), mode="circular"), ShapeError,
     _esc("(0, 9)", "size 8", "0 <= padding <= 8"), lambda: _tF().pad(_t(X2), (0, 9, 1, 1), mode="circular"))
case("F.pad-reflect-empty-dim", lambda: F.pad(np.zeros((1, 2, 0), f32), (1, 1), mode="reflect"), ShapeError,
     _esc("size 0", (1, 2, 0)), lambda: _tF().pad(torch.zeros(1, 2, 0), (1, 1), mode="reflect"))
case("F.pad-mode-unknown", lambda: F.pad(X2, (1, 1), mode="wrap"), ValueError, _esc("'wrap'", "constant", "reflect"),
     lambda: _tF().pad(_t(X2), (1, 1), mode="wrap"))
case("F.pad-odd-length", lambda: F.pad(X2, (1, 1, 1)), ValueError, _esc("(1, 1, 1)", "length 3"),
     lambda: _tF().pad(_t(X2), (1, 1, 1)))
case("F.pad-too-long", lambda: F.pad(X2, (1,) * 10), ValueError, _esc("10", "4 dimensions", "8"),
     lambda: _tF().pad(_t(X2), (1,) * 10))
case("F.pad-crop-too-much", lambda: F.pad(X2, (-5, -4)), ShapeError, _esc("(-5, -4)", -1),
     lambda: _tF().pad(_t(X2), (-5, -4)))
case("F.pad-float", lambda: F.pad(X2, (1.5, 1)), TypeError, _esc("1.5"), lambda: _tF().pad(_t(X2), (1.5, 1)))
case("F.pad-reflect-value", lambda: F.pad(X2, (1, 1, 1, 1), mode="reflect", value=2.0), ValueError,
     _esc("'reflect'", "value=2.0"), lambda: _tF().pad(_t(X2), (1, 1, 1, 1), mode="reflect", value=2.0))

# -- dtypes: a TypeError that says how to cast ---------------------------------------------------
for dt in (np.int64, np.int32, np.bool_, np.complex128, np.float16, np.uint8):
    name = np.dtype(dt).name
    how = _esc(name, ".astype(np.float32)")
    xd = X2.astype(dt)
    td = lambda xd=xd: _t(xd)  # noqa: E731
    case(f"F.conv2d-input-{name}", lambda xd=xd: F.conv2d(xd, W2), TypeError, how,
         lambda td=td: _tF().conv2d(td(), _t(W2)))
    case(f"Conv2d-input-{name}", lambda xd=xd: nn.Conv2d(3, 4, 3)(xd), TypeError, how,
         lambda td=td: _tnn().Conv2d(3, 4, 3)(td()))
    case(f"LazyConvTranspose2d-input-{name}", lambda xd=xd: nn.LazyConvTranspose2d(4, 3)(xd), TypeError, how,
         lambda td=td: _tnn().LazyConvTranspose2d(4, 3)(td()))
    case(f"F.conv_transpose2d-input-{name}", lambda xd=xd: F.conv_transpose2d(xd, WT2), TypeError, how,
         lambda td=td: _tF().conv_transpose2d(td(), _t(WT2)))
    case(f"F.conv2d-weight-{name}", lambda dt=dt: F.conv2d(X2, W2.astype(dt)), TypeError, _esc("weight", name),
         lambda dt=dt: _tF().conv2d(_t(X2), _t(W2.astype(dt))))
    case(f"F.conv2d-bias-{name}", lambda dt=dt: F.conv2d(X2, W2, np.ones(4, dt)), TypeError, _esc("bias", name))
    case(f"F.unfold-input-{name}", lambda xd=xd: F.unfold(xd, 2), TypeError, how)
    case(f"Fold-input-{name}", lambda dt=dt: nn.Fold((4, 5), 2)(np.ones((1, 12, 12), dt)), TypeError, how)
    case(f"grad.conv2d_weight-input-{name}", lambda xd=xd: G.conv2d_weight(xd, W2.shape, _x(2, 4, 6, 6)),
         TypeError, how)
    case(f"grad.conv2d_input-grad_output-{name}",
         lambda dt=dt: G.conv2d_input(X2.shape, W2, _x(2, 4, 6, 6).astype(dt)), TypeError, _esc("grad_output", name))
    case(f"F.pad-reflect-{name}", lambda xd=xd: F.pad(xd, (1, 1, 1, 1), mode="reflect"), TypeError, how)
case("F.conv2d-input-object", lambda: F.conv2d(np.array([[["a"]]], object), W2), TypeError, _esc("object"))
case("Conv2d-dtype-int", lambda: nn.Conv2d(3, 4, 3, dtype=np.int32), TypeError, _esc("int32"))

# -- non-integer (or bool) sizes ------------------------------------------------------------------
case("Conv2d-kernel_size-2.5", lambda: nn.Conv2d(3, 4, 2.5), TypeError, _esc("kernel_size", "2.5"),
     lambda: _tnn().Conv2d(3, 4, 2.5))
case("Conv1d-stride-2.5", lambda: _warned_then_called(lambda: nn.Conv1d(3, 4, 3, stride=2.5), _x(1, 3, 8)),
     TypeError, _esc("stride", "2.5"),
     lambda: _tnn().Conv1d(3, 4, 3, stride=2.5)(torch.zeros(1, 3, 8)))
case("ConvTranspose2d-kernel_size-tuple-float", lambda: nn.ConvTranspose2d(3, 4, (3, 2.0)), TypeError,
     _esc("kernel_size", "2.0"), lambda: _tnn().ConvTranspose2d(3, 4, (3, 2.0)))
case("F.conv2d-stride-2.5", lambda: F.conv2d(X2, W2, stride=2.5), TypeError, _esc("stride", "2.5"),
     lambda: _tF().conv2d(_t(X2), _t(W2), stride=2.5))
case("F.conv2d-stride-2.0", lambda: F.conv2d(X2, W2, stride=2.0), TypeError, _esc("stride", "2.0"),
     lambda: _tF().conv2d(_t(X2), _t(W2), stride=2.0))
case("F.conv2d-stride-bool", lambda: F.conv2d(X2, W2, stride=True), TypeError, _esc("stride", "True"),
     lambda: _tF().conv2d(_t(X2), _t(W2), stride=True))
case("F.conv2d-dilation-float-tuple", lambda: F.conv2d(X2, W2, dilation=(1, 1.5)), TypeError, _esc("dilation", "1.5"),
     lambda: _tF().conv2d(_t(X2), _t(W2), dilation=(1, 1.5)))
case("F.conv_transpose2d-stride-2.5", lambda: F.conv_transpose2d(X2, WT2, stride=2.5), TypeError,
     _esc("stride", "2.5"), lambda: _tF().conv_transpose2d(_t(X2), _t(WT2), stride=2.5))
case("F.unfold-kernel_size-2.5", lambda: F.unfold(X2, 2.5), TypeError, _esc("kernel_size", "2.5"),
     lambda: _tF().unfold(_t(X2), 2.5))
case("Fold-kernel_size-2.5", lambda: _warned_then_called(lambda: nn.Fold((4, 5), 2.5), _x(1, 4, 12)), TypeError,
     _esc("kernel_size", "2.5"),
     lambda: _tnn().Fold((4, 5), 2.5)(torch.zeros(1, 4, 12)))
case("grad.conv2d_input-stride-2.5", lambda: G.conv2d_input(X2.shape, W2, _x(2, 4, 3, 3), stride=2.5), TypeError,
     _esc("stride", "2.5"), lambda: _tG().conv2d_input(X2.shape, _t(W2), _t(_x(2, 4, 3, 3)), stride=2.5))
case("grad.conv2d_input-input_size-float", lambda: G.conv2d_input((2, 3, 8.5, 8), W2, _x(2, 4, 6, 6)), TypeError,
     _esc("input_size", "8.5"))
case("Conv2d-in_channels-float", lambda: nn.Conv2d(3.0, 4, 3), TypeError, _esc("in_channels", "3.0"),
     lambda: _tnn().Conv2d(3.0, 4, 3))
case("F.conv2d-stride-3-tuple", lambda: F.conv2d(X2, W2, stride=(1, 1, 1)), ValueError,
     _esc("stride", "(1, 1, 1)", "3 values"), lambda: _tF().conv2d(_t(X2), _t(W2), stride=(1, 1, 1)))
case("F.unfold-kernel_size-3-tuple", lambda: F.unfold(X2, (2, 2, 2)), ValueError, _esc("kernel_size", "(2, 2, 2)"),
     lambda: _tF().unfold(_t(X2), (2, 2, 2)))

# -- Fold / Unfold --------------------------------------------------------------------------------
COLS = _x(2, 12, 12)         # C=3, kernel 2x2 -> 12 rows; (4, 5) output -> 3*4 = 12 blocks
case("F.fold-block-count", lambda: F.fold(COLS, (5, 5), 2), ShapeError, _esc("4 * 4 = 16", "input.size(2)=12"),
     lambda: _tF().fold(_t(COLS), (5, 5), 2))
case("Fold-block-count-strided", lambda: nn.Fold((4, 5), 2, stride=2)(COLS), ShapeError,
     _esc("stride=(2, 2)", "2 * 2 = 4", "input.size(2)=12"), lambda: _tnn().Fold((4, 5), 2, stride=2)(_t(COLS)))
case("Fold-kernel-larger-than-output", lambda: nn.Fold((4, 5), 6)(_x(1, 36, 1)), ShapeError,
     _esc("kernel_size=(6, 6)", "input.size(2)=1"), lambda: _tnn().Fold((4, 5), 6)(_t(_x(1, 36, 1))))
case("F.fold-channels-not-divisible", lambda: F.fold(_x(2, 10, 12), (4, 5), 2), ShapeError,
     _esc("input.size(1)=10", "kernel_size=(2, 2)"), lambda: _tF().fold(_t(_x(2, 10, 12)), (4, 5), 2))
case("Fold-channels-not-divisible-unbatched", lambda: nn.Fold((4, 5), (1, 3))(_x(7, 9)), ShapeError,
     _esc("input.size(1)=7", "kernel_size=(1, 3)"), lambda: _tnn().Fold((4, 5), (1, 3))(_t(_x(7, 9))))
case("F.fold-output_size-len3", lambda: F.fold(COLS, (4, 5, 6), 2), ValueError, _esc("output_size", "(4, 5, 6)"),
     lambda: _tF().fold(_t(COLS), (4, 5, 6), 2))
case("F.fold-output_size0", lambda: F.fold(np.zeros((1, 4, 0), f32), (0, 5), 2), ValueError,
     _esc("output_size=(0, 5)"), lambda: _tF().fold(torch.zeros(1, 4, 0), (0, 5), 2))

# -- bias / weight of the wrong shape ----------------------------------------------------------
case("F.conv2d-bias-length", lambda: F.conv2d(X2, W2, np.zeros(3, f32)), ShapeError, _esc("(4,)", "(3,)"),
     lambda: _tF().conv2d(_t(X2), _t(W2), torch.zeros(3)))
case("F.conv1d-bias-2d", lambda: F.conv1d(_x(1, 3, 8), _x(4, 3, 3), np.zeros((4, 1), f32)), ShapeError,
     _esc("(4,)", "(4, 1)"), lambda: _tF().conv1d(_t(_x(1, 3, 8)), _t(_x(4, 3, 3)), torch.zeros(4, 1)))
case("F.conv_transpose2d-bias-length", lambda: F.conv_transpose2d(X2, WT2, np.zeros(3, f32)), ShapeError,
     _esc("(2,)", "(3,)"), lambda: _tF().conv_transpose2d(_t(X2), _t(WT2), torch.zeros(3)))
case("F.conv_transpose2d-bias-groups", lambda: F.conv_transpose2d(_x(1, 4, 5, 5), _x(4, 2, 3, 3), np.zeros(2, f32),
                                                                  groups=2),
     ShapeError, _esc("(4,)", "(2,)"),
     lambda: _tF().conv_transpose2d(_t(_x(1, 4, 5, 5)), _t(_x(4, 2, 3, 3)), torch.zeros(2), groups=2))
case("F.conv2d-weight-ndim3", lambda: F.conv2d(X2, _x(4, 3, 3)), ShapeError, _esc("4 dimensions", "(4, 3, 3)"),
     lambda: _tF().conv2d(_t(X2), _t(_x(4, 3, 3))))
case("F.conv3d-weight-ndim4", lambda: F.conv3d(_x(1, 3, 4, 4, 4), _x(4, 3, 3, 3)), ShapeError,
     _esc("5 dimensions", "(4, 3, 3, 3)"), lambda: _tF().conv3d(_t(_x(1, 3, 4, 4, 4)), _t(_x(4, 3, 3, 3))))
case("F.conv_transpose1d-weight-ndim4", lambda: F.conv_transpose1d(_x(1, 3, 8), _x(3, 2, 3, 3)), ShapeError,
     _esc("3 dimensions", "(3, 2, 3, 3)"), lambda: _tF().conv_transpose1d(_t(_x(1, 3, 8)), _t(_x(3, 2, 3, 3))))
case("grad.conv2d_input-weight-ndim3", lambda: G.conv2d_input(X2.shape, _x(4, 3, 3), _x(2, 4, 6, 6)), ShapeError,
     _esc("4 dimensions", "(4, 3, 3)"), lambda: _tG().conv2d_input(X2.shape, _t(_x(4, 3, 3)), _t(_x(2, 4, 6, 6))))


def _assigned_weight(shape):
    m = nn.Conv2d(3, 4, 3)
    m.weight = np.zeros(shape, f32)
    return m(X2)


case("Conv2d-assigned-weight-ndim", lambda: _assigned_weight((4, 3, 3)), ShapeError, _esc("(4, 3, 3)"))
case("Conv2d-assigned-weight-channels", lambda: _assigned_weight((4, 2, 3, 3)), ShapeError,
     _esc([4, 2, 3, 3], "2 channels", "got 3"))

# -- nn.grad with inconsistent sizes -------------------------------------------------------------
case("grad.conv2d_input-grad_output-spatial", lambda: G.conv2d_input(X2.shape, W2, _x(2, 4, 5, 6)), ShapeError,
     _esc((2, 4, 6, 6), (2, 4, 5, 6)), lambda: _tG().conv2d_input(X2.shape, _t(W2), _t(_x(2, 4, 5, 6))))
case("grad.conv1d_input-grad_output-batch", lambda: G.conv1d_input((2, 3, 8), _x(4, 3, 3), _x(3, 4, 6)), ShapeError,
     _esc((2, 4, 6), (3, 4, 6)))
case("grad.conv3d_input-grad_output-channels",
     lambda: G.conv3d_input((1, 3, 5, 5, 5), _x(4, 3, 3, 3, 3), _x(1, 5, 3, 3, 3)), ShapeError,
     _esc((1, 4, 3, 3, 3), (1, 5, 3, 3, 3)))
case("grad.conv2d_input-strided-spatial", lambda: G.conv2d_input(X2.shape, W2, _x(2, 4, 4, 3), stride=2), ShapeError,
     _esc((2, 4, 3, 3), (2, 4, 4, 3)))
case("grad.conv2d_weight-grad_output-spatial", lambda: G.conv2d_weight(X2, W2.shape, _x(2, 4, 5, 6)), ShapeError,
     _esc((2, 4, 6, 6), (2, 4, 5, 6)), lambda: _tG().conv2d_weight(_t(X2), W2.shape, _t(_x(2, 4, 5, 6))))
case("grad.conv1d_weight-weight_size-len", lambda: G.conv1d_weight(_x(2, 3, 8), (4, 3), _x(2, 4, 6)), ShapeError,
     _esc("3 entries", "(4, 3)"))
case("grad.conv2d_weight-groups", lambda: G.conv2d_weight(X2, (4, 1, 3, 3), _x(2, 4, 6, 6), groups=3), ShapeError,
     _esc((4, 1, 3, 3), "groups=3", "3 channels"),
     lambda: _tG().conv2d_weight(_t(X2), (4, 1, 3, 3), _t(_x(2, 4, 6, 6)), groups=3))

# -- Lazy modules ------------------------------------------------------------------------------------
case("LazyConv2d-groups-not-dividing-input", lambda: nn.LazyConv2d(4, 3, groups=2)(X2), ValueError,
     _esc("in_channels=3", [2, 3, 8, 8], "groups=2"), lambda: _tnn().LazyConv2d(4, 3, groups=2)(_t(X2)))
case("LazyConvTranspose1d-groups-not-dividing-input", lambda: nn.LazyConvTranspose1d(4, 3, groups=2)(_x(5, 7)),
     ValueError, _esc("in_channels=5", "groups=2"), lambda: _tnn().LazyConvTranspose1d(4, 3, groups=2)(_t(_x(5, 7))))
case("LazyConv2d-out-not-divisible",
     lambda: _warned_then_called(lambda: nn.LazyConv2d(3, 3, groups=2), _x(1, 4, 5, 5)), RuntimeError,
     _esc("groups=2", "divisible by 2", [3, 2, 3, 3]), lambda: _tnn().LazyConv2d(3, 3, groups=2)(torch.zeros(1, 4, 5, 5)))

case("F.conv2d-uninitialized-weight", lambda: F.conv2d(X2, nn.LazyConv2d(4, 3).weight), ValueError,
     _esc("uninitialized parameter", "conv2d"), lambda: _tF().conv2d(_t(X2), _tnn().LazyConv2d(4, 3).weight))
case("F.conv_transpose1d-uninitialized-bias",
     lambda: F.conv_transpose1d(_x(2, 3, 8), _x(3, 4, 3), nn.LazyConvTranspose1d(4, 3).bias), ValueError,
     _esc("uninitialized parameter", "conv_transpose1d"),
     lambda: _tF().conv_transpose1d(_t(_x(2, 3, 8)), _t(_x(3, 4, 3)), _tnn().LazyConvTranspose1d(4, 3).bias))


@requires_torch
def test_an_uninitialized_parameter_is_torchs_value_error():
    """A Lazy module's weight passed to a functional call before the module ran: torch raises ValueError
    ("Attempted to use an uninitialized parameter"), not a complaint about the weight's dtype."""
    with pytest.raises(ValueError, match="uninitialized parameter"):
        torch.nn.functional.conv2d(torch.zeros(1, 3, 5, 5), torch.nn.LazyConv2d(4, 3).weight)
    with pytest.raises(ValueError, match="uninitialized parameter"):
        F.conv2d(np.zeros((1, 3, 5, 5), f32), nn.LazyConv2d(4, 3).weight)


@pytest.mark.parametrize("call,exc,match,torch_call", CASES)
def test_bad_input_raises(call, exc, match, torch_call):
    with pytest.raises(exc, match=match) as info:
        call()
    assert isinstance(info.value, (ValueError, TypeError, RuntimeError))
    if torch_call is not None and torch is not None:
        with warnings.catch_warnings(), pytest.raises(TORCH_ERRORS):
            warnings.simplefilter("ignore")
            torch_call()


def test_shape_error_is_both_value_and_runtime_error():
    with pytest.raises(ValueError):
        F.conv2d(X2, _x(4, 2, 3, 3))
    with pytest.raises(RuntimeError):
        F.conv2d(X2, _x(4, 2, 3, 3))


# -- load_state_dict ----------------------------------------------------------------------------
def test_load_state_dict_lists_missing_unexpected_and_wrong_shapes():
    m = nn.Conv2d(3, 4, 3)
    before = {k: np.array(v) for k, v in m.state_dict().items()}
    with pytest.raises(RuntimeError, match=_esc("Missing key(s)", '"bias"')):
        m.load_state_dict({"weight": np.zeros((4, 3, 3, 3))})
    with pytest.raises(RuntimeError, match=_esc("Unexpected key(s)", '"running_mean"')):
        m.load_state_dict({"weight": np.zeros((4, 3, 3, 3)), "bias": np.zeros(4), "running_mean": np.zeros(4)})
    with pytest.raises(RuntimeError, match=_esc("size mismatch for weight", (4, 3, 3, 2), (4, 3, 3, 3))):
        m.load_state_dict({"weight": np.zeros((4, 3, 3, 2)), "bias": np.zeros(4)})
    # every problem in one message
    with pytest.raises(RuntimeError) as info:
        m.load_state_dict({"weight": np.zeros((3, 3, 3, 3)), "extra": np.zeros(1)})
    text = str(info.value)
    for piece in ('"bias"', '"extra"', "(3, 3, 3, 3)", "(4, 3, 3, 3)"):
        assert piece in text, (piece, text)
    # strict=False still refuses a wrong shape, and the failed loads changed nothing
    with pytest.raises(RuntimeError, match=_esc("size mismatch for bias", "(5,)", "(4,)")):
        m.load_state_dict({"bias": np.zeros(5)}, strict=False)
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    m_nobias = nn.Conv2d(3, 4, 3, bias=False)
    with pytest.raises(RuntimeError, match=_esc("Unexpected key(s)", '"bias"')):
        m_nobias.load_state_dict({"weight": np.zeros((4, 3, 3, 3)), "bias": np.zeros(4)})


@requires_torch
def test_load_state_dict_torch_raises_for_the_same_dicts():
    t = torch.nn.Conv2d(3, 4, 3)
    for sd in ({"weight": torch.zeros(4, 3, 3, 3)},
               {"weight": torch.zeros(4, 3, 3, 3), "bias": torch.zeros(4), "running_mean": torch.zeros(4)},
               {"weight": torch.zeros(4, 3, 3, 2), "bias": torch.zeros(4)}):
        with pytest.raises(RuntimeError):
            t.load_state_dict(sd)


@pytest.mark.parametrize("cls,weight,bias,match", [
    (nn.LazyConv2d, (4, 3, 3, 2), (4,), _esc("3 channels", "got 6")),
    (nn.LazyConv2d, (4, 3, 3), (4,), _esc("4 dimensions", "(4, 3, 3)")),
    (nn.LazyConv2d, (5, 6, 3, 3), (4,), _esc("(5,)", "(4,)")),
    (nn.LazyConv2d, (4, 6, 3, 3), (5,), _esc("(4,)", "(5,)")),
    (nn.LazyConvTranspose1d, (3, 5, 3), (5,), _esc([3, 5, 3], "3 channels", "got 6")),
])
def test_lazy_load_state_dict_takes_any_shape_and_fails_at_the_call(cls, weight, bias, match):
    """As torch: a Lazy layer materializes whatever shape it loads; a wrong one fails at the first call."""
    m = cls(4, 3)
    m.load_state_dict({"weight": np.zeros(weight, f32), "bias": np.zeros(bias, f32)})
    assert type(m) is cls and not m.has_uninitialized_params() and m.in_channels == 0
    with pytest.raises(RuntimeError, match=match):
        m(_x(1, 6, *(5,) * m._nd))
    if torch is not None:
        t = getattr(torch.nn, cls.__name__)(4, 3)
        t.load_state_dict({"weight": torch.zeros(weight), "bias": torch.zeros(bias)})
        with pytest.raises(RuntimeError):
            t(torch.zeros(1, 6, *(5,) * m._nd))


# -- disagreements with torch on *whether* something is an error ---------------------------------
DISAGREEMENTS = [
    # (id, convlab call that raises, exception, torch call that does not raise)
    ("F.pad constant on an integer array", lambda: F.pad(np.ones((1, 2, 3), np.int64), (1, 1)), TypeError,
     lambda: torch.nn.functional.pad(torch.ones(1, 2, 3, dtype=torch.long), (1, 1))),
    ("grad.conv2d_input dilation=0", lambda: G.conv2d_input(X2.shape, W2, _x(2, 4, 6, 6), dilation=0), ValueError,
     lambda: torch.nn.grad.conv2d_input(X2.shape, _t(W2), _t(_x(2, 4, 6, 6)), dilation=0)),
    ("grad.conv2d_weight dilation=0", lambda: G.conv2d_weight(X2, W2.shape, _x(2, 4, 6, 6), dilation=0), ValueError,
     lambda: torch.nn.grad.conv2d_weight(_t(X2), W2.shape, _t(_x(2, 4, 6, 6)), dilation=0)),
]


@requires_torch
@pytest.mark.parametrize("label,call,exc,torch_call", DISAGREEMENTS, ids=[d[0] for d in DISAGREEMENTS])
def test_known_disagreements_with_torch(label, call, exc, torch_call):
    """convlab raises (earlier, or where torch silently accepts); torch does not. Kept so a change shows up."""
    with pytest.raises(exc):
        call()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch_call()


@requires_torch
def test_disagreements_convlab_accepts_torch_rejects():
    """Where convlab computes and torch raises; convlab's answer is checked instead."""
    x64 = X2.astype(np.float64)
    # float64 input through a float32 weight: convlab computes in float64 (DESIGN), torch refuses the mix.
    out = F.conv2d(x64, W2)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, reference.conv_nd(x64, W2.astype(np.float64)), rtol=1e-10, atol=1e-10)
    with pytest.raises(RuntimeError):
        torch.nn.functional.conv2d(_t(x64), _t(W2))
    # zero input channels: convlab gives C_out zero channels (plus bias); torch returns 0 output channels.
    z = F.conv2d(np.zeros((2, 0, 8, 8), f32), np.zeros((4, 0, 3, 3), f32), np.arange(4, dtype=f32))
    assert z.shape == (2, 4, 6, 6)
    np.testing.assert_array_equal(z, np.broadcast_to(np.arange(4, dtype=f32)[:, None, None], z.shape))
    tz = torch.nn.functional.conv2d(torch.zeros(2, 0, 8, 8), torch.zeros(4, 0, 3, 3))
    assert tuple(tz.shape) != z.shape


# ----------------------------------------------------------------------------------------------
# No crash: the nastiest inputs in a child interpreter
# ----------------------------------------------------------------------------------------------
CHILD = r'''
import resource, sys
import numpy as np
import convlab.nn as nn, convlab.nn.functional as F
from convlab.nn import grad as G
from convlab import reference as R

resource.setrlimit(resource.RLIMIT_AS, (16 * 2**30, 16 * 2**30))   # a runaway allocation is a MemoryError
f32 = np.float32
rng = np.random.default_rng(0)
x1 = rng.standard_normal((2, 3, 5)).astype(f32)
w1 = rng.standard_normal((4, 3, 3)).astype(f32)
x2 = rng.standard_normal((2, 3, 6, 5)).astype(f32)
w2 = rng.standard_normal((4, 3, 3, 2)).astype(f32)
wt2 = rng.standard_normal((3, 2, 3, 3)).astype(f32)
cases = {}

def case(f):
    cases[f.__name__] = f
    return f

def close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
    return "ok"

# -- huge padding / stride / dilation: index arithmetic near and past 64 bits -----------------------
@case
def conv1d_padding_1e6():
    p = 10**6
    out = F.conv1d(x1, w1, padding=p)
    assert out.shape == (2, 4, 5 + 2 * p - 2)
    centre = F.conv1d(x1, w1, padding=2)                     # outputs that see any input cell
    close(out[..., p - 2:p - 2 + centre.shape[-1]], centre)
    assert not out[..., :p - 2].any() and not out[..., p - 2 + centre.shape[-1]:].any()
    return "ok"

@case
def conv1d_padding_2pow40_stride_2pow40():
    s = 2**40
    out = F.conv1d(x1, w1[..., :1], padding=s, stride=s)     # taps at -2**40, 0, 2**40
    expect = np.zeros((2, 4, 3), f32)
    expect[..., 1] = np.einsum("oc,nc->no", w1[:, :, 0], x1[:, :, 0])
    return close(out, expect)

@case
def conv1d_padding_2pow62():
    return F.conv1d(x1, w1, padding=2**62)

@case
def conv1d_padding_2pow63():
    return F.conv1d(x1, w1, padding=2**63)

@case
def conv1d_stride_2pow63():
    return F.conv1d(x1, w1, stride=2**63)

@case
def conv1d_dilation_2pow70_kernel1():
    return F.conv1d(x1, w1[..., :1], dilation=2**70)

@case
def conv2d_dilation_huge():
    return F.conv2d(x2, w2, dilation=10**12)

@case
def conv3d_blocks_product_wraps_to_zero():
    # per-axis blocks 2**22, 2**21, 2**21: their product is 2**64, 0 in int64
    x = np.ones((1, 1, 1, 1, 1), f32)
    return F.conv3d(x, np.ones((1, 1, 2, 2, 2), f32), padding=(2**21, 2**20, 2**20))

@case
def unfold_blocks_product_wraps_to_zero():
    return F.unfold(np.ones((1, 1, 1, 1), f32), 2, padding=2**31)

@case
def unfold_padding_2pow40_stride_2pow41():
    cols = F.unfold(x2, 2, padding=2**40, stride=2**41)
    assert cols.shape == (2, 12, 4)                           # blocks start at -2**40 and +2**40
    return close(cols, np.zeros_like(cols))                  # both lie in the padding

@case
def fold_padding_2pow40():
    out = F.fold(np.ones((1, 4, 1), f32), (1, 1), 2, padding=2**40, stride=2**41)
    return close(out, np.zeros((1, 1, 1, 1), f32))

@case
def fold_huge_output():
    return F.fold(np.ones((1, 4, 1), f32), (2**40, 2**40), 2)

@case
def conv_transpose1d_stride_2pow62():
    return F.conv_transpose1d(x1, np.ones((3, 1, 1), f32), stride=2**62)

@case
def conv_transpose1d_padding_huge():
    return F.conv_transpose1d(x1, np.ones((3, 1, 3), f32), padding=2**62)

@case
def pad_constant_huge():
    return F.pad(x1, (2**62, 2**62))

@case
def pad_reflect_huge():
    return F.pad(x1, (2**40, 0), mode="reflect")

@case
def conv2d_circular_padding_huge():
    return nn.Conv2d(3, 4, 3, padding=2**40, padding_mode="circular")(x2)

# -- kernel bigger than the input, zero-size dims, N=0 -----------------------------------------------
@case
def conv2d_kernel_bigger_than_input():
    return F.conv2d(x2, rng.standard_normal((4, 3, 7, 7)).astype(f32))

@case
def conv_transpose2d_kernel_bigger_than_input():
    x = rng.standard_normal((1, 3, 2, 2)).astype(f32)
    w = rng.standard_normal((3, 2, 7, 7)).astype(f32)
    return close(F.conv_transpose2d(x, w, padding=2), R.conv_transpose_nd(x, w, padding=2))

@case
def unfold_kernel_bigger_than_input():
    return F.unfold(x2, (7, 1))

@case
def conv2d_N0():
    out = F.conv2d(x2[:0], w2, padding=(1, 2), stride=2)
    assert out.shape == (0, 4, 3, 4)
    return "ok"

@case
def conv_transpose3d_N0():
    out = F.conv_transpose3d(np.zeros((0, 3, 2, 3, 4), f32), np.ones((3, 2, 2, 2, 2), f32), stride=2,
                             output_padding=1)
    assert out.shape == (0, 2, 5, 7, 9)
    return "ok"

@case
def conv2d_zero_spatial():
    return F.conv2d(np.zeros((2, 3, 0, 5), f32), w2, padding=3)

@case
def conv_transpose2d_zero_spatial():
    return F.conv_transpose2d(np.zeros((2, 3, 4, 0), f32), wt2)

@case
def conv2d_zero_out_channels():
    return F.conv2d(x2, np.zeros((0, 3, 3, 3), f32))

@case
def conv_transpose2d_zero_out_channels():
    return F.conv_transpose2d(x2, np.zeros((3, 0, 3, 3), f32))

@case
def conv2d_kernel_zero():
    return F.conv2d(x2, np.zeros((4, 3, 0, 2), f32))

@case
def conv_transpose2d_kernel_zero():
    return F.conv_transpose2d(x2, np.zeros((3, 2, 3, 0), f32))

@case
def unfold_zero_spatial():
    return F.unfold(np.zeros((1, 2, 0, 3), f32), 1)

@case
def fold_N0():
    assert F.fold(np.zeros((0, 12, 12), f32), (4, 5), 2).shape == (0, 3, 4, 5)
    return "ok"

@case
def fold_zero_blocks_kernel_bigger():
    return F.fold(np.zeros((1, 36, 0), f32), (4, 5), 6)

@case
def fold_mismatched_blocks():
    return F.fold(np.ones((1, 12, 13), f32), (4, 5), 2)

@case
def fold_mismatched_blocks_unbatched():
    return nn.Fold((4, 5), 2, stride=2)(np.ones((12, 12), f32))

@case
def fold_channels_not_divisible():
    return F.fold(np.ones((1, 13, 12), f32), (4, 5), 2)

@case
def pad_reflect_zero_dim():
    return F.pad(np.zeros((1, 2, 0), f32), (1, 1), mode="reflect")

@case
def pad_circular_too_much():
    return F.pad(x2, (0, 6, 0, 0), mode="circular")

@case
def grad_input_inconsistent():
    return G.conv2d_input((2, 3, 6, 5), w2, np.ones((2, 4, 5, 4), f32))

@case
def grad_input_kernel_bigger():
    return G.conv2d_input((2, 3, 2, 2), w2, np.ones((2, 4, 1, 1), f32))

@case
def grad_input_wrong_channels():
    return G.conv2d_input((2, 5, 6, 5), w2, np.ones((2, 4, 4, 4), f32))

@case
def grad_weight_inconsistent():
    return G.conv2d_weight(x2, (4, 3, 3, 2), np.ones((2, 4, 4, 5), f32))

@case
def grad_weight_kernel_bigger():
    return G.conv2d_weight(x2, (4, 3, 9, 9), np.ones((2, 4, 1, 1), f32))

@case
def grad_weight_kernel_zero():
    return G.conv2d_weight(x2, (4, 3, 0, 2), np.ones((2, 4, 7, 4), f32))

@case
def grad_input_N0():
    assert G.conv2d_input((0, 3, 6, 5), w2, np.zeros((0, 4, 4, 4), f32)).shape == (0, 3, 6, 5)
    return "ok"

@case
def conv_transpose_output_padding_max():
    x = x2[:1]
    got = F.conv_transpose2d(x, wt2, stride=(2, 3), dilation=(4, 1), output_padding=(3, 2))
    return close(got, R.conv_transpose_nd(x, wt2, stride=(2, 3), dilation=(4, 1), output_padding=(3, 2)))

@case
def conv_transpose_output_padding_equal_stride():
    return F.conv_transpose2d(x2, wt2, stride=2, output_padding=2)

@case
def conv_transpose_output_padding_with_big_padding():
    # output_padding may not push a row that padding removed back inside: (in-1)*s - 2p + ... must stay >= 1
    x = x2[:1]
    got = F.conv_transpose2d(x, wt2, stride=3, padding=(7, 8), output_padding=2)
    return close(got, R.conv_transpose_nd(x, wt2, stride=3, padding=(7, 8), output_padding=2))

@case
def conv_transpose_output_size_out_of_range():
    return nn.ConvTranspose2d(3, 2, 3, stride=2)(x2, output_size=(2**62, 2**62))

@case
def conv_transpose_output_size_huge_negative():
    return nn.ConvTranspose2d(3, 2, 3, stride=2)(x2, output_size=(-2**70, 9))

# -- views ------------------------------------------------------------------------------------------
@case
def negative_stride_views():
    xv = x2[::-1, ::-1, ::-2, ::-1]
    close(F.conv2d(xv, w2[::-1, :, ::-1], stride=(1, 2), padding=1),
          F.conv2d(xv.copy(), w2[::-1, :, ::-1].copy(), stride=(1, 2), padding=1))
    close(F.conv_transpose2d(xv, wt2[:, ::-1], stride=2), F.conv_transpose2d(xv.copy(), wt2[:, ::-1].copy(), stride=2))
    cv = F.unfold(xv, 2)[:, ::-1, ::-1]
    return close(F.fold(cv, (3, 5), 2), F.fold(cv.copy(), (3, 5), 2))

@case
def zero_stride_broadcast_view():
    xv = np.broadcast_to(x2[:1], (64, 3, 6, 5))               # stride 0 along the batch
    out = F.conv2d(xv, w2)
    return close(out, np.broadcast_to(F.conv2d(x2[:1], w2), out.shape))

for name, f in cases.items():
    try:
        r = f()
    except Exception as e:  # a Python exception is fine; a crash is not
        print(f"RESULT {name} raised {type(e).__name__}: {str(e)[:160]!r}", flush=True)
    else:
        status = "ok" if isinstance(r, str) and r == "ok" else f"returned {getattr(r, 'shape', r)}"
        print(f"RESULT {name} {status}", flush=True)
print("DONE", len(cases), flush=True)
'''

# What each child case must do: "ok" (ran, result checked) or the exception class it must raise.
CHILD_EXPECT = {
    "conv1d_padding_1e6": "ok",
    "conv1d_padding_2pow40_stride_2pow40": "ok",
    "conv1d_padding_2pow62": "ValueError",
    "conv1d_padding_2pow63": "ValueError",
    "conv1d_stride_2pow63": "ValueError",
    "conv1d_dilation_2pow70_kernel1": "ValueError",
    "conv2d_dilation_huge": "ShapeError",
    "conv3d_blocks_product_wraps_to_zero": "ValueError",
    "unfold_blocks_product_wraps_to_zero": "ValueError",
    "unfold_padding_2pow40_stride_2pow41": "ok",
    "fold_padding_2pow40": "ok",
    "fold_huge_output": "ShapeError",
    "conv_transpose1d_stride_2pow62": "ValueError",
    "conv_transpose1d_padding_huge": "ShapeError",
    "pad_constant_huge": ("ValueError", "MemoryError"),
    "pad_reflect_huge": "ShapeError",
    "conv2d_circular_padding_huge": "ShapeError",
    "conv2d_kernel_bigger_than_input": "ShapeError",
    "conv_transpose2d_kernel_bigger_than_input": "ok",
    "unfold_kernel_bigger_than_input": "ShapeError",
    "conv2d_N0": "ok",
    "conv_transpose3d_N0": "ok",
    "conv2d_zero_spatial": "ShapeError",
    "conv_transpose2d_zero_spatial": "ShapeError",
    "conv2d_zero_out_channels": "ShapeError",
    "conv_transpose2d_zero_out_channels": "ShapeError",
    "conv2d_kernel_zero": "ShapeError",
    "conv_transpose2d_kernel_zero": "ShapeError",
    "unfold_zero_spatial": "ShapeError",
    "fold_N0": "ok",
    "fold_zero_blocks_kernel_bigger": "ShapeError",
    "fold_mismatched_blocks": "ShapeError",
    "fold_mismatched_blocks_unbatched": "ShapeError",
    "fold_channels_not_divisible": "ShapeError",
    "pad_reflect_zero_dim": "ShapeError",
    "pad_circular_too_much": "ShapeError",
    "grad_input_inconsistent": "ShapeError",
    "grad_input_kernel_bigger": "ShapeError",
    "grad_input_wrong_channels": "ShapeError",
    "grad_weight_inconsistent": "ShapeError",
    "grad_weight_kernel_bigger": "ShapeError",
    "grad_weight_kernel_zero": "ShapeError",
    "grad_input_N0": "ok",
    "conv_transpose_output_padding_max": "ok",
    "conv_transpose_output_padding_equal_stride": "ArgumentError",
    "conv_transpose_output_padding_with_big_padding": "ok",
    "conv_transpose_output_size_out_of_range": "ValueError",
    "conv_transpose_output_size_huge_negative": "ValueError",
    "negative_stride_views": "ok",
    "zero_stride_broadcast_view": "ok",
}


def test_nasty_inputs_never_crash_the_interpreter():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=600, cwd=ROOT, env=env)
    assert proc.returncode == 0, f"child died with {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    results = {}
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            _, name, rest = line.split(" ", 2)
            results[name] = rest
    assert f"DONE {len(CHILD_EXPECT)}" in proc.stdout, proc.stdout[-2000:]
    assert set(results) == set(CHILD_EXPECT)
    wrong = []
    for name, expect in CHILD_EXPECT.items():
        got = results[name]
        allowed = (expect,) if isinstance(expect, str) else expect
        if not any(got == "ok" if e == "ok" else got.startswith(f"raised {e}:") for e in allowed):
            wrong.append(f"{name}: expected {expect}, got {got}")
    assert not wrong, "\n".join(wrong)


# ----------------------------------------------------------------------------------------------
# Promises that hold for every op
# ----------------------------------------------------------------------------------------------
def _ops():
    """(id, callable taking the input array) for every op, with a valid configuration."""
    rng = np.random.default_rng(3)
    w = {nd: rng.standard_normal((4, 2, *(2,) * nd)).astype(f32) for nd in (1, 2, 3)}
    wt = {nd: rng.standard_normal((4, 3, *(2,) * nd)).astype(f32) for nd in (1, 2, 3)}
    b = rng.standard_normal(4).astype(f32)
    bt = rng.standard_normal(6).astype(f32)
    ops = []
    for nd in (1, 2, 3):
        s = (5, 4, 3)[:nd]
        conv, convt = getattr(F, f"conv{nd}d"), getattr(F, f"conv_transpose{nd}d")
        ops += [
            (f"conv{nd}d", (2, 4, *s), lambda x, conv=conv, nd=nd: conv(x, w[nd], b, stride=2, padding=1, groups=2)),
            (f"conv{nd}d-same", (2, 4, *s), lambda x, conv=conv, nd=nd: conv(x, w[nd], None, padding="same",
                                                                             dilation=2, groups=2)),
            (f"conv_transpose{nd}d", (2, 4, *s),
             lambda x, convt=convt, nd=nd: convt(x, wt[nd], bt, stride=2, padding=1, output_padding=1, groups=2)),
            (f"grad.conv{nd}d_input", (2, 4, *(d - 1 for d in s)),
             lambda g, nd=nd, s=s: getattr(G, f"conv{nd}d_input")((len(g), 4, *s), w[nd], g, groups=2)),
            (f"grad.conv{nd}d_weight", (2, 4, *s),
             lambda x, nd=nd, s=s: getattr(G, f"conv{nd}d_weight")(
                 x, w[nd].shape, np.ones((len(x), 4, *(d - 1 for d in s)), f32), groups=2)),
        ]
        for mode in ("reflect", "replicate", "circular"):
            m = getattr(nn, f"Conv{nd}d")(4, 4, 2, padding=1, padding_mode=mode, groups=2)
            ops.append((f"Conv{nd}d-{mode}", (2, 4, *s), m))
            ops.append((f"pad{nd}d-{mode}", (2, 4, *s), lambda x, mode=mode, nd=nd: F.pad(x, (1, 2) * nd, mode=mode)))
        ops.append((f"ConvTranspose{nd}d", (2, 4, *s), getattr(nn, f"ConvTranspose{nd}d")(4, 2, 3, stride=2)))
    ops += [
        ("pad-constant", (2, 4, 5, 4), lambda x: F.pad(x, (1, -1, 2, 0), value=1.5)),
        ("unfold", (2, 4, 5, 4), lambda x: F.unfold(x, (2, 3), dilation=(2, 1), padding=1, stride=(1, 2))),
        ("fold", (2, 4 * 6, 10), lambda x: F.fold(x, (5, 4), (2, 3), dilation=(2, 1), padding=1, stride=(1, 2))),
        ("Unfold", (2, 4, 5, 4), nn.Unfold(2)),
        ("Fold", (2, 4 * 4, 12), nn.Fold((4, 5), 2)),
    ]
    return ops


OPS = _ops()
OP_IDS = [o[0] for o in OPS]


@pytest.mark.parametrize("name,shape,op", OPS, ids=OP_IDS)
def test_input_is_never_modified(name, shape, op):
    x = np.random.default_rng(5).standard_normal(shape).astype(f32)
    keep = x.copy()
    op(x)
    np.testing.assert_array_equal(x, keep)
    x.flags.writeable = False                   # read-only input works and gives the same answer
    np.testing.assert_array_equal(op(x), op(keep))


@pytest.mark.parametrize("lazy", [nn.LazyConv2d, nn.LazyConvTranspose2d])
def test_lazy_input_is_never_modified(lazy):
    y = np.random.default_rng(6).standard_normal((1, 4, 5, 5)).astype(f32)
    y_keep = y.copy()
    lazy(3, 2)(y)
    np.testing.assert_array_equal(y, y_keep)


@pytest.mark.parametrize("name,shape,op", OPS, ids=OP_IDS)
def test_views_give_the_contiguous_result(name, shape, op):
    x = np.random.default_rng(7).standard_normal(shape).astype(f32)
    big = np.random.default_rng(8).standard_normal(tuple(2 * s + 1 for s in shape)).astype(f32)
    views = {
        "negative-strides": x[tuple(slice(None, None, -1) for _ in shape)],
        "step-2": big[tuple(slice(1, None, 2) for _ in shape)],
        "fortran": np.asfortranarray(x),
        "swapped": np.swapaxes(np.swapaxes(x, 0, -1).copy(), 0, -1),
    }
    for label, v in views.items():
        assert not v.flags.c_contiguous
        np.testing.assert_allclose(op(v), op(np.ascontiguousarray(v)), rtol=1e-6, atol=1e-6, err_msg=label)


def test_views_of_weight_and_bias():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 4, 6, 5)).astype(f32)
    w = rng.standard_normal((6, 2, 3, 3)).astype(f32)[::-1, :, ::-1]
    b = rng.standard_normal(12).astype(f32)[::2]
    np.testing.assert_allclose(F.conv2d(x, w, b, groups=2), F.conv2d(x, w.copy(), b.copy(), groups=2), rtol=1e-6)
    wt = rng.standard_normal((4, 3, 3, 3)).astype(f32)[:, ::-1, :, ::-1]
    np.testing.assert_allclose(F.conv_transpose2d(x, wt, b, stride=2, groups=2),
                               F.conv_transpose2d(x, wt.copy(), b.copy(), stride=2, groups=2), rtol=1e-6)
    g = rng.standard_normal((2, 6, 4, 3)).astype(f32)[:, ::-1]
    np.testing.assert_allclose(G.conv2d_input(x.shape, w, g, groups=2),
                               G.conv2d_input(x.shape, w.copy(), g.copy(), groups=2), rtol=1e-6)


@requires_torch
@pytest.mark.parametrize("name,shape,op", OPS, ids=OP_IDS)
def test_empty_batch_matches_torch(name, shape, op):
    x0 = np.zeros((0, *shape[1:]), f32)
    out = op(x0)
    xt = np.random.default_rng(1).standard_normal((1, *shape[1:])).astype(f32)
    one = op(xt)                                # the per-sample shape, checked against torch below
    expect = one.shape if "_weight" in name else (0, *one.shape[1:])   # a weight gradient keeps its shape
    assert out.shape == expect and out.dtype == np.float32
    if "_weight" in name:
        assert not out.any()                    # an empty batch contributes nothing
    assert _torch_twin(name, shape, op, torch.zeros(0, *shape[1:])).shape == out.shape


def _torch_twin(name, shape, op, xt):
    """The same op in torch, for the N=0 shape comparison."""
    tF, tG = torch.nn.functional, torch.nn.grad
    nd = len(shape) - 2
    if isinstance(op, nn.Module):
        if isinstance(op, (nn.Unfold, nn.Fold)):
            t = (torch.nn.Unfold(**{k: getattr(op, k) for k in ("kernel_size", "dilation", "padding", "stride")})
                 if isinstance(op, nn.Unfold) else
                 torch.nn.Fold(**{k: getattr(op, k) for k in ("output_size", "kernel_size", "dilation", "padding",
                                                                "stride")}))
            return t(xt)
        cls = getattr(torch.nn, type(op).__name__)
        kw = dict(stride=op.stride, padding=op.padding, dilation=op.dilation, groups=op.groups)
        if op.transposed:
            t = cls(op.in_channels, op.out_channels, op.kernel_size, output_padding=op.output_padding, **kw)
        else:
            t = cls(op.in_channels, op.out_channels, op.kernel_size, padding_mode=op.padding_mode, **kw)
        return t(xt)
    w = torch.zeros(4, 2, *(2,) * nd)
    wt = torch.zeros(4, 3, *(2,) * nd)
    s = tuple(shape[2:])
    base = name.split("-")[0]
    if base.startswith("grad.") and base.endswith("_input"):
        return getattr(tG, f"conv{nd}d_input")((0, 4, *(d + 1 for d in s)), w, xt, groups=2)
    if base.startswith("grad.") and base.endswith("_weight"):
        return getattr(tG, f"conv{nd}d_weight")(xt, tuple(w.shape), torch.zeros(0, 4, *(d - 1 for d in s)), groups=2)
    if name.startswith("conv_transpose"):
        return getattr(tF, f"conv_transpose{nd}d")(xt, wt, stride=2, padding=1, output_padding=1, groups=2)
    if name.endswith("-same"):
        return getattr(tF, f"conv{nd}d")(xt, w, padding="same", dilation=2, groups=2)
    if name.startswith("conv"):
        return getattr(tF, f"conv{nd}d")(xt, w, stride=2, padding=1, groups=2)
    if name == "pad-constant":
        return tF.pad(xt, (1, -1, 2, 0), value=1.5)
    if name.startswith("pad"):
        return tF.pad(xt, (1, 2) * nd, mode=name.split("-")[1])
    if name == "unfold":
        return tF.unfold(xt, (2, 3), dilation=(2, 1), padding=1, stride=(1, 2))
    if name == "fold":
        return tF.fold(xt, (5, 4), (2, 3), dilation=(2, 1), padding=1, stride=(1, 2))
    raise AssertionError(name)


@requires_torch
@pytest.mark.parametrize("name,shape,op", [o for o in OPS if not isinstance(o[2], nn.Module)],
                         ids=[o[0] for o in OPS if not isinstance(o[2], nn.Module)])
def test_nan_and_inf_propagate_like_torch(name, shape, op):
    rng = np.random.default_rng(11)
    x = rng.standard_normal(shape)
    flat = x.reshape(-1)
    idx = rng.choice(flat.size, size=3, replace=False)
    flat[idx] = [np.nan, np.inf, -np.inf]
    with np.errstate(invalid="ignore"):         # inf - inf and 0 * inf are NaN, as in torch
        got = op(x)                             # float64 in, float64 out
    want = _torch_twin_values(name, shape, x)
    assert got.shape == want.shape
    for test in (np.isnan, np.isposinf, np.isneginf):
        np.testing.assert_array_equal(test(got), test(want), err_msg=test.__name__)
    finite = np.isfinite(want)
    np.testing.assert_allclose(got[finite], want[finite], rtol=1e-9, atol=1e-9)


def _torch_twin_values(name, shape, x):
    """Run the functional op of OPS[name] in torch with the same (float64) weights."""
    nd = len(shape) - 2
    rng = np.random.default_rng(3)             # the weights _ops() drew, in the same order
    w = {d: rng.standard_normal((4, 2, *(2,) * d)) for d in (1, 2, 3)}
    wt = {d: rng.standard_normal((4, 3, *(2,) * d)) for d in (1, 2, 3)}
    b = rng.standard_normal(4).astype(f32).astype(np.float64)
    bt = rng.standard_normal(6).astype(f32).astype(np.float64)
    w = {d: torch.from_numpy(v.astype(f32).astype(np.float64)) for d, v in w.items()}
    wt = {d: torch.from_numpy(v.astype(f32).astype(np.float64)) for d, v in wt.items()}
    tF, tG = torch.nn.functional, torch.nn.grad
    xt = torch.from_numpy(x)
    s = tuple(shape[2:])
    base = name.split("-")[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if base.startswith("grad.") and base.endswith("_input"):
            out = getattr(tG, f"conv{nd}d_input")((2, 4, *(d + 1 for d in s)), w[nd], xt, groups=2)
        elif base.startswith("grad.") and base.endswith("_weight"):
            out = getattr(tG, f"conv{nd}d_weight")(xt, tuple(w[nd].shape), torch.ones(2, 4, *(d - 1 for d in s),
                                                                                      dtype=torch.float64), groups=2)
        elif name.startswith("conv_transpose"):
            out = getattr(tF, f"conv_transpose{nd}d")(xt, wt[nd], torch.from_numpy(bt), stride=2, padding=1,
                                                      output_padding=1, groups=2)
        elif name.endswith("-same"):
            out = getattr(tF, f"conv{nd}d")(xt, w[nd], None, padding="same", dilation=2, groups=2)
        elif name.startswith("conv"):
            out = getattr(tF, f"conv{nd}d")(xt, w[nd], torch.from_numpy(b), stride=2, padding=1, groups=2)
        elif name == "pad-constant":
            out = tF.pad(xt, (1, -1, 2, 0), value=1.5)
        elif name.startswith("pad"):
            out = tF.pad(xt, (1, 2) * nd, mode=name.split("-")[1])
        elif name == "unfold":
            out = tF.unfold(xt, (2, 3), dilation=(2, 1), padding=1, stride=(1, 2))
        elif name == "fold":
            out = tF.fold(xt, (5, 4), (2, 3), dilation=(2, 1), padding=1, stride=(1, 2))
        else:
            raise AssertionError(name)
    return out.numpy()


@requires_torch
@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_nan_and_inf_through_modules_and_weights_like_torch(mode):
    rng = np.random.default_rng(12)
    x = rng.standard_normal((2, 3, 6, 5))
    x[0, 1, 0, 0], x[1, 2, 5, 4], x[1, 0, 2, 2] = np.nan, np.inf, -np.inf
    m = nn.Conv2d(3, 4, 3, padding=2, stride=(1, 2), padding_mode=mode, dtype=np.float64)
    m.weight[0, 0, 0, 0] = np.inf               # inf weight times padded zeros is NaN in both
    t = torch.nn.Conv2d(3, 4, 3, padding=2, stride=(1, 2), padding_mode=mode).double()
    t.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in m.state_dict().items()})
    with np.errstate(invalid="ignore"):
        got = m(x)
    want = t(torch.from_numpy(x)).detach().numpy()
    for test in (np.isnan, np.isposinf, np.isneginf):
        np.testing.assert_array_equal(test(got), test(want), err_msg=test.__name__)
    finite = np.isfinite(want)
    np.testing.assert_allclose(got[finite], want[finite], rtol=1e-9, atol=1e-9)
