"""A Lazy convolution before and after its first call.

Notebook 6 (LazyConv / LazyConvTranspose). Until it sees an input, a Lazy
module has ``in_channels = 0`` and an ``<UninitializedParameter>`` weight; its
first call reads ``in_channels = input.shape[1]``, makes the weight, initialises
it, and the module becomes (its class changes to) the eager ``Conv{N}d`` /
``ConvTranspose{N}d``.

:func:`lazy_explorer` is a browser view (:class:`LazyView`, drawn by ``js/lazy.js``) under a class
dropdown, an input-channels slider and a **call** toggle: a table of the module's class, ``in_channels``,
weight, bias and ``repr`` before and after its first call, the cells that changed highlighted, and the
shape of the input that was passed. Every state the controls reach was computed by convlab (real Lazy
modules, called on real arrays) when the explorer was made, so every control works in the book and the
slides too, with no kernel; :meth:`LazyView.drawn_numbers` computes the same again with fresh modules.
"""
from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from .. import nn
from .._config import manual_seed
from ._view import ExplorerBox, View, dropdown, esm, int_slider, traitlets

__all__ = ["KINDS", "snapshot", "LazyView", "lazy_explorer"]

KINDS = ("LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d",
         "LazyConvTranspose3d")
_ROWS = ("class", "in_channels", "weight", "bias", "repr")


def snapshot(module) -> dict:
    """What a learner would print about ``module``: class name, ``in_channels``, weight (its shape, or
    ``<UninitializedParameter>``), bias likewise, and ``repr``.

    >>> m = nn.LazyConv1d(33, 3)
    >>> snapshot(m)["weight"]
    '<UninitializedParameter>'
    >>> _ = m(np.zeros((20, 16, 50), dtype=np.float32)); snapshot(m)["weight"]
    '(33, 16, 3)'
    """
    def shape_of(p):
        if p is None:
            return "None"
        if isinstance(p, nn.UninitializedParameter):
            return repr(p)
        return str(tuple(np.shape(p)))
    return {"class": type(module).__name__, "in_channels": str(module.in_channels),
            "weight": shape_of(module.weight), "bias": shape_of(module.bias), "repr": repr(module)}


def _input_shape(kind, in_channels, batch=2, size=6):
    nd = int(kind[-2])
    return (batch, in_channels) + (size,) * nd


class LazyView(View):
    """The picture of :func:`lazy_explorer` (``js/lazy.js``): the module's snapshot before and after its first
    call side by side, the changed cells highlighted, and the input that fixed ``in_channels``.

    ``kinds`` names the classes (the dropdown's options; ``kind`` is an index into them); ``before[i]`` is the
    :func:`snapshot` of a fresh ``kinds[i]``; ``after[i][c - 1]`` is its snapshot after a call on an input with
    ``c`` channels, with that ``input_shape`` and the ``output_shape`` (all computed by convlab at construction,
    one per state the controls reach, so the page needs no kernel)."""

    _esm = esm("lazy")
    kinds = traitlets.List(traitlets.Unicode(), list(KINDS)).tag(sync=True)
    kind = traitlets.Int(1).tag(sync=True)                 # an index into kinds (the dropdown's)
    in_channels = traitlets.Int(16).tag(sync=True)
    called = traitlets.Bool(False).tag(sync=True)
    out_channels = traitlets.Int(33).tag(sync=True)
    kernel_size = traitlets.Int(3).tag(sync=True)
    max_in_channels = traitlets.Int(64).tag(sync=True)
    before = traitlets.List(traitlets.Dict()).tag(sync=True)
    after = traitlets.List(traitlets.List(traitlets.Dict())).tag(sync=True)

    def __init__(self, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        if not self.before:
            self.before = [snapshot(_fresh(k, self.out_channels, self.kernel_size)) for k in self.kinds]
            self.after = [[_called(k, c, self.out_channels, self.kernel_size, seed)
                           for c in range(1, self.max_in_channels + 1)] for k in self.kinds]

    def drawn_numbers(self) -> dict:
        """What the view shows, from real convlab Lazy modules made now: ``kind`` (the class name), the
        ``before`` snapshot, the ``after`` snapshot (None until ``called``), the ``input_shape`` and
        ``output_shape`` of the call (None until called) and the rows that ``changed``."""
        kind = self.kinds[self.kind]
        m = _fresh(kind, self.out_channels, self.kernel_size)
        before = snapshot(m)
        if not self.called:
            return {"kind": kind, "before": before, "after": None, "input_shape": None, "output_shape": None,
                    "changed": []}
        shape = _input_shape(kind, self.in_channels)
        manual_seed(self.seed)
        y = m(np.zeros(shape, dtype=np.float32))
        after = snapshot(m)
        return {"kind": kind, "before": before, "after": after, "input_shape": shape, "output_shape": y.shape,
                "changed": [r for r in _ROWS if after[r] != before[r]]}


def _fresh(kind, out_channels, kernel_size):
    return getattr(nn, kind)(out_channels, kernel_size)


def _called(kind, in_channels, out_channels, kernel_size, seed) -> dict:
    """The snapshot of a fresh ``kind`` after its first call on ``in_channels`` channels, with the shapes."""
    m = _fresh(kind, out_channels, kernel_size)
    shape = _input_shape(kind, in_channels)
    manual_seed(seed)
    y = m(np.zeros(shape, dtype=np.float32))
    return dict(snapshot(m), input_shape=list(shape), output_shape=list(y.shape))


def lazy_explorer(kind="LazyConv2d", in_channels=16, out_channels=33, kernel_size=3, seed=0, max_in_channels=64):
    """Pick a Lazy class and the input's channel count, press **call**: the table shows the module before and
    after its first call, drawn in the browser (every control works with no kernel).

    ``ex.set(**values)`` (``kind`` by name, ``in_channels``, ``called``) and ``ex.state`` return
    :meth:`LazyView.drawn_numbers`: ``kind``, ``before``, ``after`` (snapshots, ``after`` None until
    called), ``input_shape``, ``output_shape``, ``changed``.

    >>> ex = lazy_explorer()
    >>> ex.set(in_channels=5, called=True)["after"]["weight"]
    '(33, 5, 3, 3)'
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {list(KINDS)}, got {kind!r}")
    if not 1 <= in_channels <= max_in_channels:
        raise ValueError(f"in_channels must be in [1, {max_in_channels}], got {in_channels}")
    view = LazyView(kind=KINDS.index(kind), in_channels=in_channels, out_channels=out_channels,
                    kernel_size=kernel_size, max_in_channels=max_in_channels, seed=seed)
    called = widgets.ToggleButton(value=False, description="call", icon="play",
                                  tooltip="call the module on an input (press again to undo)")
    controls = {
        "kind": dropdown("class", KINDS, kind),
        "in_channels": int_slider("input channels", in_channels, 1, max_in_channels),
        "called": called,
    }
    return ExplorerBox(view, controls)
