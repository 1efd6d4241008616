"""Unfold / Fold, and how convlab itself computes every convolution with them.

Notebook 7 (Unfold / Fold). Three pictures on small integer arrays:

* **Unfold** (im2col): each sliding block of the (padded) input becomes one
  column of ``cols``, shape ``(C·∏kernel_size, L)``; rows go channel by
  channel, then tap by tap. A selected block is outlined in the input and in
  ``cols``.
* **Conv = matmul**: ``F.conv2d(x, weight) == (weight.reshape(C_out, −1) @ unfold(x)).reshape(C_out, H_out, W_out)``.
* **ConvTranspose = fold**: ``F.conv_transpose2d(y, weight) == fold(weight.reshape(C_in, −1).T @ y.reshape(C_in, −1))``,
  ``fold`` summing the overlapping blocks back into place.

Shape: ``L = ∏_d ⌊(S_d + 2·padding_d − dilation_d·(kernel_size_d − 1) − 1) / stride_d⌋ + 1``.
"""
from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from .. import geometry
from ..nn import functional as F
from . import style
from ._cells import Cells, by_role, by_value, fit, freeze_layout, move_outline, outline, prepare_axes
from ._widgets import explorer, new_figure, release_snapshot, snapshot_axes, static_explorer

__all__ = ["example_arrays", "unfold_views", "block_taps", "draw_unfold", "draw_conv_matmul",
           "draw_transpose_fold", "unfold_explorer", "unfold_static"]


def _pair(v):
    return tuple(int(a) for a in v) if isinstance(v, (tuple, list)) else (int(v), int(v))


def example_arrays(channels=2, size=(4, 4), out_channels=2, kernel_size=2):
    """Small integer ``x`` ``(channels, H, W)`` (values 1…5) and ``weight`` ``(out_channels, channels, kh, kw)``
    (values −2 … 2), fixed (no random state), so products can be checked by eye.

    >>> x, w = example_arrays()
    >>> x.shape, w.shape, x[0, 0].tolist()
    ((2, 4, 4), (2, 2, 2, 2), [1.0, 2.0, 3.0, 4.0])
    """
    kh, kw = _pair(kernel_size)
    h, w = _pair(size)
    x = (np.arange(channels * h * w).reshape(channels, h, w) % 5 + 1).astype(float)
    weight = (np.arange(out_channels * channels * kh * kw).reshape(out_channels, channels, kh, kw) % 5 - 2)
    return x, weight.astype(float)


def block_taps(block, input_size, kernel_size, stride=1, padding=0, dilation=1):
    """Positions (in the *padded* input) of the taps of block number ``block`` (row-major over blocks).

    Returns ``(position, taps)``: the block's grid position and a list of ``(row, col)``.

    >>> block_taps(1, (4, 4), 2, stride=2)
    ((0, 1), [(0, 2), (0, 3), (1, 2), (1, 3)])
    """
    k, s, p, d = _pair(kernel_size), _pair(stride), _pair(padding), _pair(dilation)
    n = [(input_size[a] + 2 * p[a] - d[a] * (k[a] - 1) - 1) // s[a] + 1 for a in range(2)]
    pos = tuple(int(v) for v in np.unravel_index(int(block), n))
    taps = [(pos[0] * s[0] + t0 * d[0], pos[1] * s[1] + t1 * d[1]) for t0 in range(k[0]) for t1 in range(k[1])]
    return pos, taps


def unfold_views(x, weight, kernel_size=None, stride=1, padding=0, dilation=1, y=None):
    """Everything the Unfold/Fold figures show, for one sample ``x`` ``(C, H, W)`` and a Conv ``weight``
    ``(C_out, C, kh, kw)``.

    Returns a dict: ``cols`` (``F.unfold``), ``source`` (for each entry of ``cols``: its channel, or −1
    for a padding zero), ``weight2d`` (``weight.reshape(C_out, −1)``), ``product`` (``weight2d @ cols``),
    ``conv`` (the product reshaped), ``conv_library`` (``F.conv2d``); for the transposed conv of
    ``y`` (shape of the conv output, default small integers) with the same ``weight`` read as a
    ConvTranspose2d weight ``(C_in=C_out, C_out=C, kh, kw)``: ``y``, ``t_cols``
    (``weight.reshape(C_out, −1).T @ y.reshape(C_out, −1)``), ``folded`` (``F.fold`` of it),
    ``transpose_library`` (``F.conv_transpose2d``); and ``max_abs_diff`` of both.

    >>> x, w = example_arrays()
    >>> v = unfold_views(x, w, stride=2)
    >>> v["cols"].shape, v["conv"].shape, v["max_abs_diff"]
    ((8, 4), (2, 2, 2), {'conv': 0.0, 'conv_transpose': 0.0})
    """
    x = np.asarray(x, dtype=float)
    weight = np.asarray(weight, dtype=float)
    c_out, c, kh, kw = weight.shape
    k = (kh, kw) if kernel_size is None else _pair(kernel_size)
    s, p, d = _pair(stride), _pair(padding), _pair(dilation)
    cols = F.unfold(x[None], k, dilation=d, padding=p, stride=s)[0]
    marker = np.broadcast_to(np.arange(c, dtype=float)[:, None, None] + 1, x.shape)
    source = F.unfold(marker[None], k, dilation=d, padding=p, stride=s)[0].astype(int) - 1
    out_hw = tuple((x.shape[1 + a] + 2 * p[a] - d[a] * (k[a] - 1) - 1) // s[a] + 1 for a in range(2))
    w2d = weight.reshape(c_out, -1)
    product = w2d @ cols
    conv = product.reshape(c_out, *out_hw)
    conv_lib = F.conv2d(x[None], weight, stride=s, padding=p, dilation=d)[0]
    if y is None:
        y = (np.arange(c_out * out_hw[0] * out_hw[1]).reshape(c_out, *out_hw) % 3 + 1).astype(float)
    y = np.asarray(y, dtype=float)
    t_cols = w2d.T @ y.reshape(c_out, -1)
    t_size = geometry.transposed_output_size(y.shape[1:], k, s, p, (0, 0), d)
    folded = F.fold(t_cols[None], t_size, k, dilation=d, padding=p, stride=s)[0]
    t_lib = F.conv_transpose2d(y[None], weight, stride=s, padding=p, dilation=d)[0]
    diffs = {"conv": float(np.max(np.abs(conv - conv_lib))), "conv_transpose": float(np.max(np.abs(folded - t_lib)))}
    return {"cols": cols, "source": source, "weight2d": w2d, "product": product, "conv": conv,
            "conv_library": conv_lib, "y": y, "t_cols": t_cols, "folded": folded, "transpose_library": t_lib,
            "max_abs_diff": diffs, "blocks": out_hw, "kernel_size": k}


# --------------------------------------------------------------------------- drawing

CELL_FONT = style.FONT_SIZE - 1


def _tint(color, alpha):
    """``color`` blended with white (``alpha`` = share of the colour)."""
    from matplotlib.colors import to_rgba
    r = np.asarray(to_rgba(color))
    return tuple(1 - alpha * (1 - r[:3])) + (1.0,)


def _channel_colors(source):
    """Cells coloured by channel (tinted group colours), padding zeros grey."""
    palette = [_tint(style.group_color(c), 0.35) for c in range(int(source.max(initial=0)) + 1)]
    table = np.array([palette[c] if c >= 0 else (0.95, 0.95, 0.95, 1.0)
                      for c in range(-1, len(palette))], dtype=float)
    return table[np.asarray(source) + 1]


def _values_colors(a, cmap="Greens"):
    a = np.asarray(a, dtype=float)
    lim = max(float(np.abs(a).max(initial=0.0)), 1.0)
    return by_value(a, cmap, vmin=-0.4 * lim, vmax=1.6 * lim)


def _weight_colors(w):
    a = np.asarray(w, dtype=float)
    lim = max(float(np.abs(a).max(initial=0.0)), 1.0)
    return by_value(a, "PuOr", vmin=-2.2 * lim, vmax=2.2 * lim)


def _heading(ax, store, key, x, y, text, **kw):
    t = store.get(key)
    if t is None:
        kw = {"fontsize": style.FONT_SIZE, "color": style.TEXT, **kw}
        t = store[key] = ax.text(0, 0, "", ha="left", va="bottom", **kw)
    t.set_position((x, y))
    t.set_text(text)
    return t


def _hide_unused(artists, used, prefix):
    for key, cells in artists["cells"].items():
        if key.startswith(prefix) and key not in used:
            cells.hide()
    for key, t in artists["texts"].items():
        if key.startswith(prefix) and key not in used:
            t.set_text("")


def _cells(ax, artists, key, **kw):
    if key not in artists["cells"]:
        artists["cells"][key] = Cells(ax, fontsize=CELL_FONT, **kw)
    return artists["cells"][key]


def _new(ax):
    prepare_axes(ax)
    return {"cells": {}, "texts": {}}


def _unfold_layout(ax, x, geometry, min_width):
    """What the grids of :func:`draw_unfold` depend on (all but the block)."""
    return (x.tobytes(), x.shape, geometry, min_width, tuple(ax.get_position(original=True).bounds),
            tuple(ax.figure.bbox.bounds))


def draw_unfold(ax, x, kernel_size, stride=1, padding=0, dilation=1, block=0, artists=None, min_width=0.0):
    """The padded input (channels side by side) and its column matrix ``F.unfold(x)``.

    ``cols`` entries are coloured by the channel they came from (padding zeros grey); block ``block``
    is outlined in the input (its taps) and in ``cols`` (its column). Returns the artists dict;
    ``artists["cols"]``, ``artists["taps"]`` hold what was drawn.
    """
    x = np.asarray(x, dtype=float)
    c, h, w = x.shape
    k, s, p, d = _pair(kernel_size), _pair(stride), _pair(padding), _pair(dilation)
    if artists is None:
        artists = _new(ax)
        artists["tap_boxes"] = []
        artists["column"] = outline(ax)
    # everything but the block's outlines and the title follows the data and the geometry only
    layout = _unfold_layout(ax, x, (k, s, p, d), min_width)
    if artists.get("layout") != layout:
        _draw_unfold_grids(ax, artists, x, k, s, p, d, min_width)
        artists["layout"] = layout
    cols, xp = artists["cols"], artists["padded"]
    block = min(int(block), cols.shape[1] - 1)
    pos, taps = block_taps(block, (h, w), k, s, p, d)
    # tap outlines: one per channel and tap
    boxes = artists["tap_boxes"]
    need = c * len(taps)
    while len(boxes) < need:
        boxes.append(outline(ax, linewidth=1.5))
    for ci in range(c):
        off = ci * (xp.shape[2] + 1)
        for j, (r, q) in enumerate(taps):
            move_outline(boxes[ci * len(taps) + j], off + q, r)
    for b in boxes[need:]:
        b.set_visible(False)
    move_outline(artists["column"], artists["cols_x"] + block, 0, 1, cols.shape[0])
    title = _heading(ax, artists["texts"], "title", 0, -1.4, f"Unfold: block {block} at {pos} → column {block}",
                     weight="bold", fontsize=style.TITLE_SIZE)
    # what a block move redraws (the rest can be a snapshot)
    artists["live"] = [*boxes, artists["column"], title]
    artists.update(taps=taps, position=pos, block=block)
    return artists


def _draw_unfold_grids(ax, artists, x, k, s, p, d, min_width):
    """The padded input and ``cols`` of :func:`draw_unfold`, with their headings."""
    c, h, w = x.shape
    cols = F.unfold(x[None], k, dilation=d, padding=p, stride=s)[0]
    marker = np.broadcast_to(np.arange(c, dtype=float)[:, None, None] + 1, x.shape)
    source = F.unfold(marker[None], k, dilation=d, padding=p, stride=s)[0].astype(int) - 1
    xp = np.pad(x, ((0, 0), (p[0], p[0]), (p[1], p[1])))
    used = {"title"}
    x0 = 0.0
    for ci in range(c):
        roles = np.full(xp.shape[1:], 1)
        roles[p[0]:p[0] + h, p[1]:p[1] + w] = 0
        colors = by_role(roles, [_tint(style.group_color(ci), 0.35), style.PAD_ZERO])
        key = f"in{ci}"
        _cells(ax, artists, key).show(xp[ci], colors, xp[ci].size <= 64, origin=(x0, 0))
        _heading(ax, artists["texts"], key, x0, -0.15, f"x[{ci}] padded")
        used.add(key)
        x0 += xp.shape[2] + 1
    cx = x0 + 1.5
    labels = cols.shape[1] <= 16 and cols.size <= 150
    _cells(ax, artists, "cols").show(cols, _channel_colors(source), labels, origin=(cx, 0))
    _heading(ax, artists["texts"], "cols", cx, -0.15,
             f"F.unfold(x): {cols.shape[0]}×{cols.shape[1]}  (C·kh·kw × L)")
    used.add("cols")
    _hide_unused(artists, used, "")
    fit(ax, [(0, 0, cx + cols.shape[1], max(xp.shape[1], cols.shape[0]))], top=2.0, min_width=min_width)
    artists.update(cols=cols, source=source, padded=xp, cols_x=cx)


def _matrix_row(ax, artists, parts, title, y0=0.0, prefix="", min_width=0.0):
    """Matrices side by side with operator signs between them: ``parts`` = list of
    ``(key, array, colors, labels, heading)`` or a string (an operator)."""
    x0 = 0.0
    boxes = []
    used = set()
    ops = 0
    height = max(np.atleast_2d(a[1]).shape[0] for a in parts if not isinstance(a, str))
    total = sum(1.6 if isinstance(a, str) else np.atleast_2d(a[1]).shape[1] + 0.6 for a in parts)
    readable = total <= 48                   # cells big enough for their values
    for part in parts:
        if isinstance(part, str):
            key = f"{prefix}op{ops}"
            ops += 1
            _heading(ax, artists["texts"], key, x0 + 0.1, y0 + height / 2 + 0.5, part, fontsize=style.TITLE_SIZE)
            used.add(key)
            x0 += 1.6
            continue
        key, a, colors, labels, heading = part
        a2 = np.atleast_2d(a)
        cells = _cells(ax, artists, prefix + key).show(a2, colors, labels and readable, origin=(x0, y0))
        _heading(ax, artists["texts"], prefix + key, x0, y0 - 0.15, heading)
        used.add(prefix + key)
        boxes.append(cells.bounds())
        x0 += max(a2.shape[1], 0.32 * len(heading)) + 0.6
    _heading(ax, artists["texts"], prefix + "title", 0, y0 - 1.4, title, weight="bold", fontsize=style.TITLE_SIZE)
    used.add(prefix + "title")
    _hide_unused(artists, used, prefix)
    fit(ax, boxes, top=2.0, min_width=min_width)
    return boxes


def draw_conv_matmul(ax, x, weight, stride=1, padding=0, dilation=1, artists=None, min_width=0.0, views=None):
    """``weight.reshape(C_out, −1) @ unfold(x)`` and the product reshaped to ``(C_out, H_out, W_out)``
    (each output channel a grid), with its max difference to ``F.conv2d`` in the title.
    ``views``: :func:`unfold_views` of the same arguments, if already computed.
    Returns the artists dict (``"product"``, ``"conv"``, ``"diff"``)."""
    weight = np.asarray(weight, dtype=float)
    if artists is None:
        artists = _new(ax)
    v = views if views is not None else unfold_views(x, weight, None, stride, padding, dilation)
    w2d, cols, prod = v["weight2d"], v["cols"], v["product"]
    parts = [("w2d", w2d, _weight_colors(w2d), True, "W"), "@",
             ("cols", cols, _channel_colors(v["source"]), False, "unfold(x)"), "=",
             ("prod", prod, _values_colors(prod), False, "W @ cols"), "→"]
    for co in range(v["conv"].shape[0]):
        parts.append((f"out{co}", v["conv"][co], _values_colors(v["conv"][co]), True, f"out[{co}]"))
    diff = v["max_abs_diff"]["conv"]
    _matrix_row(ax, artists, parts, f"Conv = matmul: W = weight.reshape({w2d.shape[0]}, -1) "
                f"{w2d.shape}, product reshaped to {v['conv'].shape};  max |· − F.conv2d| = {diff:.2g}",
                min_width=min_width)
    artists.update(product=prod, conv=v["conv"], diff=diff)
    return artists


def draw_transpose_fold(ax, y, weight, stride=1, padding=0, dilation=1, artists=None, min_width=0.0):
    """``fold(weight.reshape(C_in, −1).T @ y.reshape(C_in, −1))`` for a ConvTranspose2d ``weight``
    ``(C_in, C_out, kh, kw)``: the matrices and the folded output (overlapping blocks summed), with its
    max difference to ``F.conv_transpose2d``. Returns the artists dict (``"t_cols"``, ``"folded"``, ``"diff"``)."""
    y = np.asarray(y, dtype=float)
    weight = np.asarray(weight, dtype=float)
    if artists is None:
        artists = _new(ax)
    c_in, c_out, kh, kw = weight.shape
    s, p, d = _pair(stride), _pair(padding), _pair(dilation)
    wt = weight.reshape(c_in, -1).T
    y2 = y.reshape(c_in, -1)
    t_cols = wt @ y2
    size = geometry.transposed_output_size(y.shape[1:], (kh, kw), s, p, (0, 0), d)
    folded = F.fold(t_cols[None], size, (kh, kw), dilation=d, padding=p, stride=s)[0]
    lib = F.conv_transpose2d(y[None], weight, stride=s, padding=p, dilation=d)[0]
    diff = float(np.max(np.abs(folded - lib)))
    parts = [("wt", wt, _weight_colors(wt), False, "Wᵀ"), "@",
             ("y", y2, _values_colors(y2, "Blues"), True, "y"), "=",
             ("tcols", t_cols, _values_colors(t_cols, "Oranges"), False, "columns"), "fold"]
    for co in range(folded.shape[0]):
        parts.append((f"out{co}", folded[co], _values_colors(folded[co]), True, f"out[{co}]"))
    _matrix_row(ax, artists, parts, f"ConvTranspose = fold(Wᵀ @ y): W = weight.reshape({c_in}, -1), "
                f"y {y.shape};  max |· − F.conv_transpose2d| = {diff:.2g}", min_width=min_width)
    artists.update(t_cols=t_cols, folded=folded, diff=diff)
    return artists


# --------------------------------------------------------------------------- widgets

_SIZE = (4, 4)


def _unfold_figure():
    fig = new_figure(11, 8.2)
    gs = fig.add_gridspec(3, 1, height_ratios=[1.3, 1, 1])
    return fig, {"unfold": fig.add_subplot(gs[0]), "conv": fig.add_subplot(gs[1]), "fold": fig.add_subplot(gs[2])}


def _unfold_update(axes, arts, channels, out_channels):
    """``update(**controls)`` for the figure of :func:`_unfold_figure`.

    ``block`` moves only the outlines and the title of the Unfold panel: the grids and the
    two matmul panels are drawn when the geometry changes and pasted as snapshots meanwhile.
    A geometry move redraws every panel: that frame draws them as they are, and the next move
    that leaves the geometry alone takes the snapshots (dragging a geometry slider takes none).
    """
    fig = axes["unfold"].figure
    pending = {}                                     # name -> axes drawn anew, not a snapshot yet

    def update(kernel_size, stride, padding, dilation, block):
        x, w = example_arrays(channels, _SIZE, out_channels, kernel_size)
        redrawn = False
        geometry = (kernel_size, stride, padding, dilation)
        if arts.get("geometry") != geometry:
            for name in ("conv", "fold"):
                release_snapshot(axes[name])
                pending[name] = axes[name]
            redrawn = True
            arts["views"] = unfold_views(x, w, None, stride, padding, dilation)
            arts["conv"] = draw_conv_matmul(axes["conv"], x, w, stride, padding, dilation, artists=arts.get("conv"),
                                            min_width=40, views=arts["views"])
            arts["fold"] = draw_transpose_fold(axes["fold"], arts["views"]["y"], w, stride, padding, dilation,
                                               artists=arts.get("fold"), min_width=40)
            arts["geometry"] = geometry
        v = arts["views"]
        block = min(block, v["cols"].shape[1] - 1)
        layout = _unfold_layout(axes["unfold"], x, tuple(map(_pair, geometry)), 40)
        relayout = arts.get("unfold", {}).get("layout") != layout
        if relayout:
            release_snapshot(axes["unfold"])
        arts["unfold"] = draw_unfold(axes["unfold"], x, kernel_size, stride, padding, dilation, block,
                                     artists=arts.get("unfold"), min_width=40)
        if relayout:
            pending["unfold"] = axes["unfold"]
            redrawn = True
        if pending and not redrawn:
            freeze_layout(fig)
            for name, ax in pending.items():
                snapshot_axes(ax, arts["unfold"]["live"] if name == "unfold" else [])
            pending.clear()
        return {"kernel_size": v["kernel_size"], "stride": stride, "padding": padding, "dilation": dilation,
                "block": block, "position": arts["unfold"]["position"], "taps": arts["unfold"]["taps"],
                "column": v["cols"][:, block].copy(), "cols_shape": v["cols"].shape, "blocks": v["blocks"],
                "conv": v["conv"], "folded": v["folded"], "max_abs_diff": v["max_abs_diff"]}
    return update


def _max_kernel(padding, dilation):
    """Largest kernel that fits the padded 4×4 input."""
    return max(1, (_SIZE[0] + 2 * padding - 1) // dilation + 1)


def unfold_explorer(kernel_size=2, stride=1, padding=0, dilation=1, block=0, channels=2, out_channels=2):
    """Sliders ``kernel_size``, ``stride``, ``padding``, ``dilation`` and a ``block`` selector over Unfold,
    Conv-as-matmul and ConvTranspose-as-fold on a fixed ``(channels, 4, 4)`` integer input.

    ``state``: ``cols_shape``, ``blocks`` (grid of blocks), ``block``, ``position``, ``taps`` (in the
    padded input), ``column`` (the selected column), ``conv``, ``folded``, ``max_abs_diff``.

    >>> ex = unfold_explorer()
    >>> ex.set(stride=2, block=3)["cols_shape"], ex.state["position"], ex.state["max_abs_diff"]
    ((8, 4), (1, 1), {'conv': 0.0, 'conv_transpose': 0.0})
    """
    fig, axes = _unfold_figure()
    arts = {}
    update = _unfold_update(axes, arts, channels, out_channels)
    controls = {
        "kernel_size": widgets.IntSlider(value=kernel_size, min=1, max=3, description="kernel_size"),
        "stride": widgets.IntSlider(value=stride, min=1, max=3, description="stride"),
        "padding": widgets.IntSlider(value=padding, min=0, max=2, description="padding"),
        "dilation": widgets.IntSlider(value=dilation, min=1, max=2, description="dilation"),
        "block": widgets.IntSlider(value=block, min=0, max=63, description="block"),
    }
    holder = {}

    def sync(change=None):
        if holder.get("busy"):
            return
        holder["busy"] = True
        try:
            v = {k: w.value for k, w in controls.items()}
            kmax = _max_kernel(v["padding"], v["dilation"])
            k = min(v["kernel_size"], kmax)
            n = geometry.conv_output_size(_SIZE[:2], (k, k), (v["stride"],) * 2, (v["padding"],) * 2,
                                          (v["dilation"],) * 2)
            for name, hi in (("kernel_size", min(3, kmax)), ("block", n[0] * n[1] - 1)):
                if controls[name].max != hi:
                    if "ex" in holder:
                        holder["ex"].adjust(name, max=hi)
                    else:
                        controls[name].max = hi
        finally:
            holder["busy"] = False

    sync()
    for name in ("kernel_size", "stride", "padding", "dilation"):
        controls[name].observe(sync, names="value")
    update(**{k: w.value for k, w in controls.items()})
    freeze_layout(fig)
    ex = explorer(fig, controls, update)
    holder["ex"] = ex
    ex.artists = arts              # the panels' artists, for tests and curious learners
    return ex


def unfold_static(kernel_size=2, stride=1, padding=0, dilation=1, channels=2, out_channels=2):
    """The static form of :func:`unfold_explorer`: one frame per block (the selector), for a page with no kernel."""
    fig, axes = _unfold_figure()
    arts = {}
    update = _unfold_update(axes, arts, channels, out_channels)
    fixed = dict(kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation)
    state = update(**fixed, block=0)
    freeze_layout(fig)
    n = state["blocks"][0] * state["blocks"][1]
    return static_explorer(fig, update, "block", range(n), fixed=fixed, description="block")
