"""Channels and groups: which input channels feed which output channels, and the weight that stores it.

Introduced in notebooks 2 and 3 (``groups`` and depthwise convolution). With
``groups = g`` the channels split into ``g`` equal blocks; output channel ``o``
reads only the input channels of its block, ``o // (out_channels / g)``. The
weight stores one kernel per (output channel, input channel of its block):
Conv ``(out_channels, in_channels / groups, *kernel_size)``, ConvTranspose
``(in_channels, out_channels / groups, *kernel_size)``.
"""
from __future__ import annotations

import math

import ipywidgets as widgets
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgba

from .. import nn, shapes
from . import style
from ._cells import add_labels
from ._widgets import new_figure, release_snapshot, snapshot_axes, static_explorer
from .window import RangedExplorer, _int_slider, blank_axes, freeze_layout, set_title

__all__ = ["valid_groups", "group_of", "draw_group_connections", "update_group_connections", "draw_weight_blocks",
           "update_weight_blocks", "parameter_text",
           "groups_explorer", "groups_static"]


def valid_groups(in_channels, out_channels) -> list:
    """The ``groups`` values that divide both channel counts."""
    g = math.gcd(in_channels, out_channels)
    return [d for d in range(1, g + 1) if g % d == 0]


def group_of(channel, channels, groups) -> int:
    """The group of ``channel`` among ``channels`` channels split into ``groups`` blocks."""
    return channel // (channels // groups)


def _check(in_channels, out_channels, groups):
    if in_channels % groups or out_channels % groups:
        raise ValueError(f"groups={groups} must divide in_channels={in_channels} and out_channels={out_channels}; "
                         f"valid: {valid_groups(in_channels, out_channels)}")


def draw_group_connections(ax, in_channels, out_channels, groups, *, artists=None) -> dict:
    """Input channels (left column) joined to the output channels (right column) they feed.

    Input channel ``i`` sits at ``(0, i)``, output channel ``o`` at ``(1, o)`` (rows
    scaled to the same height when the counts differ; y down). One line per
    (input, output) pair of the same group, coloured ``style.group_color(group)``.
    Returns ``{"lines": LineCollection, "pairs": [(i, o), …] in line order,
    "in_nodes", "out_nodes"}`` (scatter collections with one colour per channel) and
    ``"names"`` (Labels ``in i`` / ``out o``); :func:`update_group_connections` recolours
    them for another ``groups``. Pass the dict back as ``artists`` to redraw in place for
    other channel counts.
    """
    _check(in_channels, out_channels, groups)
    n = max(in_channels, out_channels)
    yi = np.linspace(0, n - 1, in_channels) if in_channels > 1 else np.array([(n - 1) / 2])
    yo = np.linspace(0, n - 1, out_channels) if out_channels > 1 else np.array([(n - 1) / 2])
    if artists is None:
        artists = {
            "lines": ax.add_collection(LineCollection([], linewidths=1.4, alpha=0.8, zorder=1)),
            "in_nodes": ax.scatter([], [], s=110, edgecolors=style.EDGE, zorder=3),
            "out_nodes": ax.scatter([], [], s=110, edgecolors=style.EDGE, marker="s", zorder=3),
            "names": {"in": add_labels(ax, fontsize=style.FONT_SIZE - 1, ha="right"),
                      "out": add_labels(ax, fontsize=style.FONT_SIZE - 1, ha="left")},
        }
        blank_axes(ax)
    artists["in_nodes"].set_offsets(np.column_stack([np.zeros(in_channels), yi]))
    artists["out_nodes"].set_offsets(np.column_stack([np.ones(out_channels), yo]))
    artists["names"]["in"].set_labels([(-0.08, y) for y in yi], [f"in {i}" for i in range(in_channels)])
    artists["names"]["out"].set_labels([(1.08, y) for y in yo], [f"out {o}" for o in range(out_channels)])
    artists["_y"] = (yi, yo)
    ax.set_xlim(-0.45, 1.45)
    ax.set_ylim(n - 0.5, -0.8)
    set_title(ax, f"in_channels={in_channels} → out_channels={out_channels}")
    update_group_connections(artists, groups)
    return artists


def update_group_connections(art, groups) -> None:
    """Redraw the lines and node colours of :func:`draw_group_connections` for another ``groups``."""
    yi, yo = art["_y"]
    in_channels, out_channels = len(yi), len(yo)
    _check(in_channels, out_channels, groups)
    pairs, segments, colors = [], [], []
    per = in_channels // groups
    for o in range(out_channels):
        g = group_of(o, out_channels, groups)
        for i in range(g * per, (g + 1) * per):
            pairs.append((i, o))
            segments.append(((0, yi[i]), (1, yo[o])))
            colors.append(style.group_color(g))
    art["lines"].set_segments(segments)
    art["lines"].set_color(colors)
    art["in_nodes"].set_facecolor([style.group_color(group_of(i, in_channels, groups)) for i in range(in_channels)])
    art["out_nodes"].set_facecolor([style.group_color(group_of(o, out_channels, groups))
                                    for o in range(out_channels)])
    art["pairs"] = pairs


def draw_weight_blocks(ax, in_channels, out_channels, groups, kernel_size, transposed=False, *,
                       artists=None) -> dict:
    """The weight's block structure: a channel-by-channel matrix, one cell per stored kernel.

    Conv: rows are output channels, columns input channels; ConvTranspose: rows
    are input channels, columns output channels (torch's layout). Cells inside a
    group's diagonal block (the pairs that exist) take the group's colour; the
    rest (never stored) stay white. Returns ``{"image": AxesImage, "rgba",
    "shape": Derivation (``shapes.conv_weight_shape``), "label": Text}``;
    :func:`update_weight_blocks` recolours them for another ``groups``. Pass the dict
    back as ``artists`` to redraw in place for other channel counts.
    """
    _check(in_channels, out_channels, groups)
    rows, cols = (in_channels, out_channels) if transposed else (out_channels, in_channels)
    if artists is None:
        artists = {"image": ax.imshow(np.ones((1, 1, 4)), interpolation="nearest"),
                   "grid": ax.add_collection(LineCollection([], colors=style.EDGE, linewidths=0.5, zorder=2)),
                   "caption": ax.text(0, 0, "", ha="center", va="top", fontsize=style.FONT_SIZE),
                   "label": ax.text(0, 0, "", ha="center", va="top", fontsize=style.FONT_SIZE, fontweight="bold")}
        blank_axes(ax)
    artists["_args"] = (in_channels, out_channels, kernel_size, transposed)
    artists["image"].set_extent((0, cols, rows, 0))
    segs = [((c, 0), (c, rows)) for c in range(cols + 1)] + [((0, r), (cols, r)) for r in range(rows + 1)]
    artists["grid"].set_segments(segs)
    ax.set_xlim(-0.1, cols + 0.1)
    ax.set_ylim(rows + 0.1, -0.1)
    ax.set_aspect("equal")
    rname, cname = ("in", "out") if transposed else ("out", "in")
    artists["caption"].set_position((cols / 2, rows + 0.3))
    artists["caption"].set_text(f"rows: {rname}_channels, columns: {cname}_channels")
    artists["label"].set_position((cols / 2, rows + 0.3 + 0.06 * max(rows, 4)))
    kernel = tuple(kernel_size) if isinstance(kernel_size, (tuple, list)) else (kernel_size,)
    set_title(ax, "weight blocks (one cell = one kernel " + "×".join(map(str, kernel)) + ")")
    update_weight_blocks(artists, groups)
    return artists


def update_weight_blocks(art, groups) -> None:
    """Recolour the blocks of :func:`draw_weight_blocks` for another ``groups``; updates ``shape``/``rgba``."""
    in_channels, out_channels, kernel_size, transposed = art["_args"]
    _check(in_channels, out_channels, groups)
    rows, cols = (in_channels, out_channels) if transposed else (out_channels, in_channels)
    rgba = np.ones((rows, cols, 4))
    for r in range(rows):
        g = group_of(r, rows, groups)
        c0 = g * (cols // groups)
        rgba[r, c0:c0 + cols // groups] = to_rgba(style.group_color(g))
    art["image"].set_data(rgba)
    kernel = tuple(kernel_size) if isinstance(kernel_size, (tuple, list)) else (kernel_size,)
    art["shape"] = shapes.conv_weight_shape(in_channels, out_channels, kernel, groups, transposed)
    art["rgba"] = rgba
    art["label"].set_text(f"weight.shape = {art['shape'].value}")


def parameter_text(in_channels, out_channels, kernel_size, groups=1, bias=True, transposed=False) -> str:
    """The parameter count with its derivation (``shapes.parameter_count``), one line."""
    kernel = tuple(kernel_size) if isinstance(kernel_size, (tuple, list)) else (kernel_size,)
    d = shapes.parameter_count(in_channels, out_channels, kernel, groups, bias, transposed)
    return f"parameters: {d.text}"


class _GroupsScene:
    def __init__(self, kernel_size, transposed, max_channels):
        self.kernel_size, self.transposed = kernel_size, transposed
        self.figure = new_figure(9.0, max(3.6, 0.32 * max_channels + 1.6))
        gs = self.figure.add_gridspec(2, 2, width_ratios=[1, 1], height_ratios=[6, 1])
        self.ax_c = self.figure.add_subplot(gs[0, 0])
        self.ax_w = self.figure.add_subplot(gs[0, 1])
        ax_t = self.figure.add_subplot(gs[1, :])
        blank_axes(ax_t)
        self.text = ax_t.text(0, 1, "", va="top", fontsize=style.FONT_SIZE, transform=ax_t.transAxes)
        self.depthwise = ax_t.text(0, 0.35, "", va="top", ha="left", fontsize=style.FONT_SIZE, fontweight="bold",
                                   transform=ax_t.transAxes, color=style.WINDOW)
        self.channels = None
        self.con = self.blocks = None

    def update(self, in_channels=4, out_channels=8, groups=2):
        valid = valid_groups(in_channels, out_channels)
        if groups not in valid:                      # the largest valid value not above the request
            groups = max(g for g in valid if g <= groups) if groups >= 1 else 1
        if self.channels != (in_channels, out_channels):          # the grids change size: draw them again
            for ax in (self.ax_c, self.ax_w):
                release_snapshot(ax)                              # (the hidden artists come back first)
            self.con = draw_group_connections(self.ax_c, in_channels, out_channels, groups, artists=self.con)
            self.blocks = draw_weight_blocks(self.ax_w, in_channels, out_channels, groups, self.kernel_size,
                                             self.transposed, artists=self.blocks)
            self.channels = (in_channels, out_channels)
            fresh = True
        else:
            update_group_connections(self.con, groups)
            update_weight_blocks(self.blocks, groups)
            fresh = False
        con, blocks = self.con, self.blocks
        cls = nn.ConvTranspose1d if self.transposed else nn.Conv1d
        layer = cls(in_channels, out_channels, self.kernel_size, groups=groups)
        count = sum(p.size for p in layer.parameters())
        self.text.set_text(f"groups={groups}   " + parameter_text(in_channels, out_channels, self.kernel_size, groups,
                                                               transposed=self.transposed)
                           + f"   (nn.{cls.__name__}: {count})")
        depthwise = groups == in_channels
        self.depthwise.set_text(f"depthwise: groups == in_channels, {out_channels // in_channels} filter(s) "
                                "per input channel" if depthwise else "")
        freeze_layout(self.figure)
        if fresh:                # the channel labels and grid lines stay until the channel counts change
            snapshot_axes(self.ax_c, [con["lines"], con["in_nodes"], con["out_nodes"]])
            snapshot_axes(self.ax_w, [blocks["image"], blocks["grid"], blocks["label"]])
        return {"in_channels": in_channels, "out_channels": out_channels, "groups": groups, "valid_groups": valid,
                "pairs": len(con["pairs"]), "weight_shape": tuple(layer.weight.shape),
                "formula_weight_shape": blocks["shape"].value, "parameters": count,
                "formula_parameters": int(shapes.parameter_count(in_channels, out_channels, (self.kernel_size,),
                                                                 groups, True, self.transposed)),
                "depthwise": depthwise}


def _ranges(state):
    return {"groups": {"options": state["valid_groups"], "value": state["groups"]}}


def groups_explorer(in_channels=4, out_channels=8, groups=2, kernel_size=3, *, transposed=False, max_channels=12):
    """Sliders for in_channels and out_channels, and ``groups`` offered only among their common divisors.

    Draws the channel connections coloured by group and the weight's block
    structure, with the parameter count; ``groups == in_channels`` (depthwise) is
    called out. ``state`` holds ``groups``, ``valid_groups``, ``pairs`` (connected
    channel pairs), ``weight_shape`` (from a real ``nn.Conv1d``/``nn.ConvTranspose1d``)
    beside ``formula_weight_shape``, ``parameters`` beside ``formula_parameters``, ``depthwise``.

    Examples
    --------
    >>> ex = groups_explorer()
    >>> ex.set(in_channels=6, out_channels=6, groups=6)["depthwise"]
    True
    """
    scene = _GroupsScene(kernel_size, transposed, max_channels)
    valid = valid_groups(in_channels, out_channels)
    controls = {
        "in_channels": _int_slider("in_channels", in_channels, 1, max_channels),
        "out_channels": _int_slider("out_channels", out_channels, 1, max_channels),
        "groups": widgets.Dropdown(options=valid, value=groups if groups in valid else 1, description="groups",
                                   layout=widgets.Layout(width="160px")),
    }
    ex = RangedExplorer(scene.figure, controls, scene.update, _ranges, ranged=("groups",))
    ex.scene = scene
    return ex


def groups_static(in_channels=4, out_channels=8, kernel_size=3, *, transposed=False):
    """The book's form of :func:`groups_explorer`: one frame per valid ``groups`` value."""
    scene = _GroupsScene(kernel_size, transposed, max(in_channels, out_channels))
    return static_explorer(scene.figure, scene.update, "groups", valid_groups(in_channels, out_channels),
                           dict(in_channels=in_channels, out_channels=out_channels))
