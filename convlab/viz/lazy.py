"""A Lazy convolution before and after its first call.

Notebook 6 (LazyConv / LazyConvTranspose). Until it sees an input, a Lazy
module has ``in_channels = 0`` and an ``<UninitializedParameter>`` weight; its
first call reads ``in_channels = input.shape[1]``, makes the weight, initialises
it, and the module becomes (its class changes to) the eager ``Conv{N}d`` /
``ConvTranspose{N}d``.
"""
from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np

from .. import nn
from .._config import manual_seed
from . import style
from ._cells import freeze_layout
from ._widgets import explorer, new_figure, static_explorer

__all__ = ["KINDS", "snapshot", "lazy_html", "draw_lazy", "lazy_explorer", "lazy_static"]

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


def _kind_args(kind, out_channels, kernel_size):
    return getattr(nn, kind)(out_channels, kernel_size)


def _input_shape(kind, in_channels, batch=2, size=6):
    nd = int(kind[-2])
    return (batch, in_channels) + (size,) * nd


def lazy_html(before: dict, after: dict | None) -> str:
    """An HTML table of two :func:`snapshot` s side by side (``after`` may be None: not called yet)."""
    head = "<tr><th></th><th>before the first call</th><th>after the first call</th></tr>"
    rows = []
    for key in _ROWS:
        b = html.escape(before[key])
        a = html.escape(after[key]) if after else "—"
        changed = after is not None and after[key] != before[key]
        style_a = f' style="background:{style.HIGHLIGHT}"' \
            if changed else ""
        rows.append(f"<tr><th>{key}</th><td><code>{b}</code></td><td{style_a}><code>{a}</code></td></tr>")
    return f"<table>{head}{''.join(rows)}</table>"


def draw_lazy(ax, before: dict, after: dict | None, input_shape=None, artists=None):
    """The two snapshots as a drawn table (rows: class, in_channels, weight, bias, repr); the cells that
    changed are highlighted. Returns the artists dict (``"cells"``: ``{(row, col): Text}``)."""
    if artists is None:
        ax.set_axis_off()
        ax.set_xlim(0, 1)
        ax.set_ylim(len(_ROWS) + 1.5, 0)
        cells = {}
        xs = (0.0, 0.12, 0.565)
        for j, head in enumerate(("", "before the first call", "after the first call")):
            cells[(-1, j)] = ax.text(xs[j], 0.5, head, ha="left", va="center", fontsize=style.TITLE_SIZE,
                                     weight="bold", color=style.TEXT)
        for i, key in enumerate(_ROWS):
            y = i + 1.3
            cells[(i, 0)] = ax.text(xs[0], y, key, ha="left", va="center", fontsize=style.FONT_SIZE,
                                    weight="bold", color=style.TEXT)
            for j in (1, 2):
                cells[(i, j)] = ax.text(xs[j], y, "", ha="left", va="center", fontsize=style.FONT_SIZE - 0.5,
                                        family="monospace", color=style.TEXT,
                                        bbox=dict(facecolor="white", edgecolor="none", pad=2))
        caption = ax.text(0, len(_ROWS) + 1.2, "", ha="left", va="center", fontsize=style.FONT_SIZE,
                          color=style.EDGE)
        artists = {"cells": cells, "caption": caption}
    cells = artists["cells"]
    for i, key in enumerate(_ROWS):
        cells[(i, 1)].set_text(before[key])
        a = after[key] if after else "— (not called yet)"
        cells[(i, 2)].set_text(a)
        changed = after is not None and after[key] != before[key]
        cells[(i, 2)].get_bbox_patch().set_facecolor(style.HIGHLIGHT if changed else "white")
    if after is None:
        artists["caption"].set_text("press “call”: the first input fixes in_channels = input.shape[1]")
    else:
        artists["caption"].set_text(f"called on an input of shape {input_shape}: in_channels = "
                                    f"input.shape[1] = {after['in_channels']}; the class became {after['class']}")
    return artists


def _lazy_figure():
    fig = new_figure(10.5, 3.2)
    return fig, fig.add_subplot()


def _lazy_update(ax, arts, out_channels, kernel_size, seed):
    def update(kind, in_channels, called):
        m = getattr(nn, kind)(out_channels, kernel_size)
        before = snapshot(m)
        after = shape = None
        if called:
            manual_seed(seed)
            shape = _input_shape(kind, in_channels)
            y = m(np.zeros(shape, dtype=np.float32))
            after = snapshot(m)
        arts["lazy"] = draw_lazy(ax, before, after, shape, artists=arts.get("lazy"))
        return {"kind": kind, "before": before, "after": after, "input_shape": shape,
                "output_shape": None if not called else y.shape, "html": lazy_html(before, after)}
    return update


def lazy_explorer(kind="LazyConv2d", in_channels=16, out_channels=33, kernel_size=3, seed=0):
    """Pick a Lazy class and the input's channel count, press **call**: the table shows the module
    before and after its first call. ``state``: ``before``, ``after`` (snapshots, ``after`` None until
    called), ``input_shape``, ``output_shape``, ``html``.

    >>> ex = lazy_explorer()
    >>> ex.set(in_channels=5, called=True)["after"]["weight"]
    '(33, 5, 3, 3)'
    """
    fig, ax = _lazy_figure()
    arts = {}
    update = _lazy_update(ax, arts, out_channels, kernel_size, seed)
    controls = {
        "kind": widgets.Dropdown(options=KINDS, value=kind, description="class"),
        "in_channels": widgets.IntSlider(value=in_channels, min=1, max=64, description="input channels"),
        "called": widgets.ToggleButton(value=False, description="call", icon="play"),
    }
    update(**{k: w.value for k, w in controls.items()})
    freeze_layout(fig)
    return explorer(fig, controls, update)


def lazy_static(kind="LazyConv2d", in_channels=16, out_channels=33, kernel_size=3, seed=0):
    """The static form of :func:`lazy_explorer`: two frames, before and after the call."""
    fig, ax = _lazy_figure()
    arts = {}
    update = _lazy_update(ax, arts, out_channels, kernel_size, seed)
    fixed = dict(kind=kind, in_channels=in_channels)
    update(**fixed, called=False)
    freeze_layout(fig)
    return static_explorer(fig, update, "called", [False, True], fixed=fixed, description="called")
