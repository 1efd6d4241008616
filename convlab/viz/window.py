"""The sliding window of a 2d convolution: padded input, dilated kernel, receptive field, output, dot product.

Introduced in notebook 3 (Conv2d). Coordinates: input cell ``(r, c)`` is the
unit square with corner ``(c, r)`` on an Axes whose y axis points down, so
padding cells have negative indices or indices ``>= size``. Output cell
``(i, j)`` of an output grid is drawn the same way. One axis of the window::

    input index = output index * stride - padding + tap * dilation

Draw functions take an Axes and return their artists: a grid is one collection of
squares (cell colours and edges) and one :class:`~convlab.viz._cells.Labels` (its
numbers), so a grid of any size costs a few draw calls; pass the dict back as
``artists`` to redraw the grid in place for new arguments. ``update_*`` functions
move the window without redrawing the grid.
"""
from __future__ import annotations

from typing import NamedTuple

import ipywidgets as widgets
import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_rgba_array
from matplotlib.patches import Rectangle

from .. import nn
from .._args import ntuple
from ..reference import pad_index
from . import style
from ._cells import add_labels
from ._view import ExplorerBox, Geometry, View, dropdown, esm, int_slider, play_row, traitlets
from ._widgets import Explorer

__all__ = ["Window", "Term", "receptive_field", "add_squares", "set_squares", "square_cells", "draw_padded_input",
           "draw_kernel", "draw_window", "update_window", "window_artists", "draw_output", "highlight_output",
           "dot_product_terms", "dot_product_text", "draw_dot_product", "WindowView", "window_explorer"]

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


# ----------------------------------------------------------------------------- small shared helpers

def fmt(v) -> str:
    """A number as a cell shows it: integers without a decimal point, others with two decimals."""
    v = float(v)
    if v.is_integer():
        return str(int(v))
    return f"{v:.2f}"


def fmt_factor(v) -> str:
    """A number as a factor of a product: negatives in brackets."""
    s = fmt(v)
    return f"({s})" if s.startswith("-") else s


def add_cell(ax, r, c, facecolor, *, zorder=1, **kwargs) -> Rectangle:
    """The unit square of cell ``(r, c)`` (corner ``(c, r)``)."""
    kwargs.setdefault("edgecolor", style.EDGE)
    kwargs.setdefault("linewidth", 0.8)
    return ax.add_patch(Rectangle((c, r), 1, 1, facecolor=facecolor, zorder=zorder, **kwargs))


def add_label(ax, r, c, text, *, dy=0.0, fontsize=None, **kwargs):
    """A text centred in cell ``(r, c)`` (``dy`` shifts it down, in cells)."""
    kwargs.setdefault("color", style.TEXT)
    return ax.text(c + 0.5, r + 0.5 + dy, text, ha="center", va="center", zorder=5,
                   fontsize=fontsize or style.FONT_SIZE, **kwargs)


def add_squares(ax, *, zorder=1, linewidth=0.8) -> PolyCollection:
    """An empty collection of cell squares on ``ax`` (fill it with :func:`set_squares`).

    One collection draws a whole grid in one call; a square looks as the ``Rectangle``
    of :func:`add_cell` with the same colours (same path, edge and fill)."""
    return ax.add_collection(PolyCollection([], closed=True, linewidths=linewidth, zorder=zorder))


def set_squares(squares, cells, facecolors, edgecolors=None, linestyles="-") -> None:
    """Show the unit squares of ``cells`` (``(r, c)`` pairs, drawn in this order) with one colour
    (or one per cell) for faces and edges; ``linestyles`` likewise (``":"`` for dotted edges)."""
    rc = np.asarray(cells, dtype=float).reshape(-1, 2)
    r, c = rc[:, :1], rc[:, 1:]
    corners = np.array([(0, 0), (1, 0), (1, 1), (0, 1)], dtype=float)
    squares.set_verts(np.stack([c + corners[:, 0], r + corners[:, 1]], axis=-1))
    squares.set_facecolor(facecolors)
    squares.set_edgecolor(style.EDGE if edgecolors is None else edgecolors)
    squares.set_linestyle(linestyles)


def square_cells(squares) -> dict:
    """``{(r, c): (facecolor, edgecolor, linestyle)}`` of the squares drawn by ``squares`` (what a reader sees)."""
    paths = squares.get_paths()
    n = len(paths)
    face = np.broadcast_to(to_rgba_array(squares.get_facecolor()), (n, 4)) if n else []
    edge = np.broadcast_to(to_rgba_array(squares.get_edgecolor()), (n, 4)) if n else []
    dashes = squares.get_linestyle()
    out = {}
    for i, path in enumerate(paths):
        c, r = path.vertices[0]
        _, pattern = dashes[i % len(dashes)]
        out[int(round(r)), int(round(c))] = (tuple(face[i]), tuple(edge[i]), "-" if pattern is None else ":")
    return out


def grid_axes(ax, rows, cols, title=None) -> None:
    """Limits for cells ``rows x cols`` (two ``(first, stop)`` pairs), y down, square cells, no ticks."""
    ax.set_xlim(cols[0] - 0.05, cols[1] + 0.05)
    ax.set_ylim(rows[1] + 0.05, rows[0] - 0.05)
    ax.set_aspect("equal")
    blank_axes(ax)
    if title:
        set_title(ax, title)


def blank_axes(ax) -> None:
    """No ticks, tick labels or spines: nothing for a redraw to lay out (a title still shows)."""
    ax.set_axis_off()
    ax.set_xticks([])
    ax.set_yticks([])


def set_title(ax, title) -> None:
    """A title at a fixed height (matplotlib skips the costly search for a free spot above tick labels)."""
    ax.set_title(title, fontsize=style.TITLE_SIZE, y=1.0, pad=4)


def _pair(value, name):
    return ntuple(value, 2, name)


def freeze_layout(figure) -> None:
    """Run the constrained layout once, then keep the axes where they are.

    A figure with a layout engine is drawn twice per ``savefig``; frozen, once. The
    explorers call this after their first draw, so a redraw costs one draw.
    """
    if figure.get_layout_engine() is not None:
        figure.draw_without_rendering()
        figure.set_layout_engine(None)


class RangedExplorer(Explorer):
    """An :class:`Explorer` whose controls' ranges follow the state (e.g. the number of output positions).

    ``ranges(state) -> {name: {trait: value}}`` runs after every ``update`` and
    changes those traits without a nested redraw. ``set`` applies the controls named
    in ``ranged`` after the others, so ``set(stride=1, position=20)`` is not clamped
    by the range that the old stride gave ``position``.
    """

    def __init__(self, figure, controls, update, ranges, ranged=(), extra=None):
        self.ranged = tuple(ranged)

        def ranged_update(**values):
            state = update(**values)
            for name, traits in ranges(state).items():
                self.adjust(name, **traits)
            return state

        super().__init__(figure, controls, ranged_update, extra)

    def set(self, **values):
        later = {k: values.pop(k) for k in self.ranged if k in values}
        state = self.state
        if values or not later:
            state = super().set(**values)
        if later:
            state = super().set(**later)
        return state


# ----------------------------------------------------------------------------- geometry (no drawing)

class Window(NamedTuple):
    """The receptive field of one output cell, in input coordinates.

    ``corner`` is the top-left input cell ``(r0, c0)``; ``size`` the ``(height, width)``
    it spans, ``dilation * (kernel_size - 1) + 1``; ``taps`` the input cells the kernel
    reads, row-major over the kernel.
    """
    corner: tuple
    size: tuple
    taps: list


def receptive_field(index, kernel_size, stride=1, padding=0, dilation=1) -> Window:
    """Input cells read by output cell ``index`` (``(i, j)``), with ``i * stride - padding + t * dilation``."""
    (kh, kw), (sh, sw) = _pair(kernel_size, "kernel_size"), _pair(stride, "stride")
    (ph, pw), (dh, dw) = _pair(padding, "padding"), _pair(dilation, "dilation")
    i, j = index
    r0, c0 = i * sh - ph, j * sw - pw
    taps = [(r0 + a * dh, c0 + b * dw) for a in range(kh) for b in range(kw)]
    return Window((r0, c0), (dh * (kh - 1) + 1, dw * (kw - 1) + 1), taps)


def _source(r, c, shape, mode):
    """The input cell padded cell ``(r, c)`` copies (itself inside the input); None for a zero cell."""
    sr, sc = pad_index(r, shape[0], mode), pad_index(c, shape[1], mode)
    if sr is None or sc is None:
        return None
    return sr, sc


def _check_padding(shape, padding, mode):
    if mode not in PADDING_MODES:
        raise ValueError(f"padding_mode must be one of {PADDING_MODES}, got {mode!r}")
    for size, p in zip(shape, padding):
        if mode == "reflect" and p >= size:
            raise ValueError(f"reflect padding must be smaller than the input size: padding={p}, size={size}")
        if mode == "circular" and p > size:
            raise ValueError(f"circular padding must be at most the input size: padding={p}, size={size}")


# ----------------------------------------------------------------------------- draw functions

def draw_padded_input(ax, x, padding=0, padding_mode="zeros", *, sources=True, artists=None) -> dict:
    """Draw the 2d input ``x`` (``(H, W)``) with its padding ring.

    Zero-padding cells are grey and read 0. Under ``'reflect' | 'replicate' |
    'circular'`` each padding cell shows the value it copies and, below it, a
    small ``←(r,c)`` naming the input cell it copies (from
    :func:`convlab.reference.pad_index`).

    Returns ``{"cells"}`` (the squares, row-major over the padded grid, see
    :func:`square_cells`), ``{"values", "sources"}`` (:class:`~convlab.viz._cells.Labels`:
    every cell's value; the ``←(r,c)`` of the padding cells that copy), ``"border"``
    (the outline of the real input) and ``"copies"`` (``{(r, c): source cell}`` of
    those padding cells). Pass it back as ``artists`` to redraw in place.
    """
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"x must be a 2d array (H, W), got shape {x.shape}")
    H, W = x.shape
    ph, pw = _pair(padding, "padding")
    _check_padding((H, W), (ph, pw), padding_mode)
    if artists is None:
        artists = {"cells": add_squares(ax), "values": add_labels(ax, color=style.TEXT, zorder=5),
                   "sources": add_labels(ax, fontsize=style.SMALL_FONT_SIZE, color=style.COPY_LABEL, zorder=5),
                   "border": ax.add_patch(Rectangle((0, 0), W, H, fill=False, edgecolor=style.TEXT, linewidth=1.6,
                                                    zorder=4))}
    cells, faces, values, value_xy, labels, label_xy, copies = [], [], [], [], [], [], {}
    for r in range(-ph, H + ph):
        for c in range(-pw, W + pw):
            inside = 0 <= r < H and 0 <= c < W
            src = _source(r, c, (H, W), padding_mode)
            if inside:
                face, v = style.INPUT, x[r, c]
            elif src is None:
                face, v = style.PAD_ZERO, 0
            else:
                face, v = style.PAD_COPY, x[src]
            cells.append((r, c))
            faces.append(face)
            values.append(fmt(v))
            if inside or src is None or not sources:
                value_xy.append((c + 0.5, r + 0.5))
            else:
                value_xy.append((c + 0.5, r + 0.5 - 0.14))
                labels.append(f"←({src[0]},{src[1]})")
                label_xy.append((c + 0.5, r + 0.5 + 0.24))
                copies[r, c] = src
    set_squares(artists["cells"], cells, faces)
    artists["values"].set_labels(value_xy, values)
    artists["sources"].set_labels(label_xy, labels)
    artists["border"].set_bounds(0, 0, W, H)
    artists["copies"] = copies
    title = "input" if ph == pw == 0 else f"input, padding={(ph, pw)}, padding_mode={padding_mode!r}"
    grid_axes(ax, (-ph, H + ph), (-pw, W + pw), title)
    return artists


def draw_kernel(ax, w, dilation=1, *, artists=None) -> dict:
    """Draw the kernel ``w`` (``(kH, kW)``) spread out by ``dilation``: taps coloured, gaps white.

    Tap ``(a, b)`` sits at cell ``(a * dilation, b * dilation)``; the grid spans
    ``dilation * (kernel_size - 1) + 1`` cells per axis. Returns ``"cells"`` (the
    squares, row-major: taps solid-edged, gaps dotted, see :func:`square_cells`),
    ``"values"`` (Labels, one per tap) and ``"taps"`` (``{(a, b): (row, col)}``).
    Pass it back as ``artists`` to redraw in place.
    """
    w = np.asarray(w)
    if w.ndim != 2:
        raise ValueError(f"w must be a 2d array (kH, kW), got shape {w.shape}")
    dh, dw = _pair(dilation, "dilation")
    kh, kw = w.shape
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    if artists is None:
        artists = {"cells": add_squares(ax), "values": add_labels(ax, color=style.TEXT, zorder=5)}
    cells, faces, edges, styles, taps, values, xy = [], [], [], [], {}, [], []
    for r in range(span[0]):
        for c in range(span[1]):
            cells.append((r, c))
            if r % dh == 0 and c % dw == 0:
                a, b = r // dh, c // dw
                faces.append(style.KERNEL), edges.append(style.EDGE), styles.append("-")
                taps[a, b] = (r, c)
                values.append(fmt(w[a, b]))
                xy.append((c + 0.5, r + 0.5))
            else:
                faces.append(style.GAP), edges.append(style.GAP_EDGE), styles.append(":")
    set_squares(artists["cells"], cells, faces, edges, styles)
    artists["values"].set_labels(xy, values)
    artists["taps"] = taps
    title = f"kernel {kh}×{kw}" + (f", dilation={(dh, dw)}" if (dh, dw) != (1, 1) else "")
    grid_axes(ax, (0, span[0]), (0, span[1]), title)
    return artists


def draw_window(ax, index, kernel_size, stride=1, padding=0, dilation=1, *, input_shape=None,
                padding_mode="zeros", artists=None) -> dict:
    """Outline the receptive field of output cell ``index`` on a padded input drawn by :func:`draw_padded_input`.

    Draws ``"outline"`` (a rectangle over the whole dilated span), ``"taps"`` (one
    orange square per kernel tap, row-major, ``style.TAP_INSET`` inside its cell) and ``"sources"`` (dashed squares on
    the input cells that the window's copy-padding taps read; hidden when unused,
    needs ``input_shape``). Move them later with :func:`update_window`; for another
    kernel_size pass the dict back as ``artists`` (the squares are kept, extra ones hidden).
    """
    kh, kw = _pair(kernel_size, "kernel_size")
    if artists is None:
        artists = {"outline": ax.add_patch(Rectangle((0, 0), 1, 1, fill=False, edgecolor=style.WINDOW,
                                                     linewidth=2.4, zorder=6)),
                   "taps": [], "sources": []}
    while len(artists["taps"]) < kh * kw:
        artists["taps"].append(ax.add_patch(Rectangle((0, 0), 1 - 2 * style.TAP_INSET, 1 - 2 * style.TAP_INSET,
                                                      fill=False, edgecolor=style.TAP_EDGE, linewidth=2.0,
                                                      zorder=6)))
        artists["sources"].append(ax.add_patch(Rectangle((0, 0), 1, 1, fill=False, edgecolor=style.WINDOW,
                                                         linestyle="--", linewidth=1.3, zorder=6, visible=False)))
    update_window(artists, index, kernel_size, stride, padding, dilation, input_shape=input_shape,
                  padding_mode=padding_mode)
    return artists


def update_window(artists, index, kernel_size, stride=1, padding=0, dilation=1, *, input_shape=None,
                  padding_mode="zeros") -> Window:
    """Move the artists of :func:`draw_window` to output cell ``index``; returns the :class:`Window`."""
    win = receptive_field(index, kernel_size, stride, padding, dilation)
    artists["outline"].set_xy((win.corner[1], win.corner[0]))
    artists["outline"].set_width(win.size[1])
    artists["outline"].set_height(win.size[0])
    n = len(win.taps)
    for patch, (r, c) in zip(artists["taps"], win.taps):
        patch.set_xy((c + style.TAP_INSET, r + style.TAP_INSET))
        patch.set_visible(True)
    for patch, (r, c) in zip(artists["sources"], win.taps):
        src = None
        if input_shape is not None and padding_mode != "zeros" and not (
                0 <= r < input_shape[0] and 0 <= c < input_shape[1]):
            src = _source(r, c, input_shape, padding_mode)
        patch.set_visible(src is not None)
        if src is not None:
            patch.set_xy((src[1], src[0]))
    for patch in artists["taps"][n:] + artists["sources"][n:]:
        patch.set_visible(False)
    return win


def window_artists(artists) -> list:
    """Every artist of :func:`draw_window` (the ``live`` list of a snapshot of the input panel)."""
    return [artists["outline"], *artists["taps"], *artists["sources"]]


def draw_output(ax, y, index=None, *, title="output", artists=None) -> dict:
    """Draw the output grid ``y`` (``(H_out, W_out)``) with cell ``index`` marked as the active one.

    Returns ``"cells"`` (the squares, row-major), ``"values"`` (Labels), ``"y"`` (the
    array shown) and ``"active"``, a green square over the active cell with its value
    in ``"active_value"`` (hidden when ``index`` is None). Move them with
    :func:`highlight_output`; pass the dict back as ``artists`` to redraw in place.
    """
    y = np.asarray(y)
    if y.ndim != 2:
        raise ValueError(f"y must be a 2d array, got shape {y.shape}")
    if artists is None:
        artists = {"cells": add_squares(ax), "values": add_labels(ax, color=style.TEXT, zorder=5),
                   "active": add_cell(ax, 0, 0, style.ACTIVE, zorder=3, linewidth=2.0),
                   "active_value": add_label(ax, 0, 0, "", color=style.ACTIVE_TEXT, fontweight="bold")}
        artists["active_value"].set_zorder(7)
    cells = list(np.ndindex(*y.shape))
    set_squares(artists["cells"], cells, style.OUTPUT)
    artists["values"].set_labels([(j + 0.5, i + 0.5) for i, j in cells], [fmt(v) for v in y.ravel()])
    artists["y"] = y.copy()
    grid_axes(ax, (0, y.shape[0]), (0, y.shape[1]), f"{title} {y.shape[0]}×{y.shape[1]}")
    highlight_output(artists, index)
    return artists


def highlight_output(artists, index) -> None:
    """Move the active-cell marker of :func:`draw_output` to output cell ``index`` (None hides it)."""
    active, text = artists["active"], artists["active_value"]
    active.set_visible(index is not None)
    text.set_visible(index is not None)
    if index is not None:
        i, j = index
        active.set_xy((j, i))
        text.set_position((j + 0.5, i + 0.5))
        text.set_text(fmt(artists["y"][i, j]))


class Term(NamedTuple):
    """One product of the window's sum: kernel ``tap`` times the input at ``cell`` (input coordinates).

    ``source`` is the input cell whose value is read (``cell`` itself inside the
    input, the copied cell in copy padding, None for a zero-padding cell).
    """
    tap: tuple
    cell: tuple
    source: tuple | None
    x: float
    w: float

    @property
    def product(self) -> float:
        return self.x * self.w


def dot_product_terms(x, w, index, stride=1, padding=0, dilation=1, padding_mode="zeros") -> list:
    """The products summed into output cell ``index``, one :class:`Term` per kernel tap (row-major)."""
    x, w = np.asarray(x), np.asarray(w)
    win = receptive_field(index, w.shape, stride, padding, dilation)
    terms = []
    for (a, b), (r, c) in zip(np.ndindex(*w.shape), win.taps):
        src = _source(r, c, x.shape, padding_mode)
        terms.append(Term((a, b), (r, c), src, float(x[src]) if src is not None else 0.0, float(w[a, b])))
    return terms


def dot_product_text(terms, index, kernel_width=None, bias=None) -> str:
    """``y[i, j] = x·w + … = total``, one line per kernel row (``kernel_width`` terms each)."""
    kernel_width = kernel_width or max(t.tap[1] for t in terms) + 1
    total = sum(t.product for t in terms) + (bias or 0.0)
    lines = [f"y[{index[0]}, {index[1]}] = sum over the window of input × kernel"]
    for start in range(0, len(terms), kernel_width):
        row = " + ".join(f"{fmt_factor(t.x)}·{fmt_factor(t.w)}" for t in terms[start:start + kernel_width])
        lines.append(("  = " if start == 0 else "  + ") + row)
    if bias:
        lines.append(f"  + bias {fmt_factor(bias)}")
    lines.append(f"  = {fmt(total)}")
    return "\n".join(lines)


def draw_dot_product(ax, terms, index, kernel_width=None) -> object:
    """Write :func:`dot_product_text` in the top-left of ``ax`` (axis hidden); returns the Text."""
    blank_axes(ax)
    return ax.text(0.0, 1.0, dot_product_text(terms, index, kernel_width), transform=ax.transAxes,
                   va="top", ha="left", family="monospace", fontsize=style.FONT_SIZE, color=style.TEXT)


# ----------------------------------------------------------------------------- widgets

def default_input(shape=(5, 5), seed=0) -> np.ndarray:
    """Small integer-valued input, so the dot products can be checked by hand."""
    return np.random.default_rng(seed).integers(0, 10, shape).astype(np.float64)


def default_kernel(shape, seed=None) -> np.ndarray:
    """Small integer-valued kernel in ``{-1, 0, 1, 2}``, the same for the same shape."""
    shape = tuple(np.atleast_1d(shape))
    seed = 100 + sum(shape) if seed is None else seed
    return np.random.default_rng(seed).integers(-1, 3, shape).astype(np.float64)


def conv2d_layer(w, stride, padding, dilation, padding_mode):
    """A one-channel float64 ``nn.Conv2d`` (no bias) holding kernel ``w``."""
    layer = nn.Conv2d(1, 1, w.shape, stride=stride, padding=padding, dilation=dilation, bias=False,
                      padding_mode=padding_mode, dtype=np.float64)
    layer.weight[...] = w
    return layer


def _int_slider(name, value, lo, hi, **kwargs):
    return widgets.IntSlider(value=value, min=lo, max=hi, description=name, continuous_update=False,
                             style={"description_width": "initial"}, layout=widgets.Layout(width="210px"),
                             **kwargs)


def explorer_data(x, weight, kernel_size, default):
    """``(x, weight, kernel_size)`` as the explorers use them: float arrays, ``default()`` when ``x`` is
    None, and the kernel size read off a given weight."""
    x = default() if x is None else np.asarray(x, dtype=np.float64)
    if weight is not None:
        weight = np.asarray(weight, dtype=np.float64)
        kernel_size = weight.shape[0]
    return x, weight, kernel_size


def geometry_sliders(kernel_size, stride, padding, dilation, *, kernel_max, stride_max, padding_max, dilation_max,
                     fixed_kernel=False) -> dict:
    """The four geometry sliders the window, 1d and 3d explorers share (kernel_size disabled when the
    caller fixed the weight; its maximum never below the given size)."""
    return {
        "kernel_size": _int_slider("kernel_size", kernel_size, 1, max(kernel_max, kernel_size), disabled=fixed_kernel),
        "stride": _int_slider("stride", stride, 1, stride_max),
        "padding": _int_slider("padding", padding, 0, padding_max),
        "dilation": _int_slider("dilation", dilation, 1, dilation_max),
    }


def scrubbed_explorer(scene, controls, ranges, name, label) -> RangedExplorer:
    """A :class:`RangedExplorer` over ``scene`` whose control ``name`` scrubs through the outputs
    (its range follows the state), with a Play button for it; ``ex.scene`` keeps the figure's artists."""
    extra = [_play_row(controls[name], label=label)]
    ex = RangedExplorer(scene.figure, controls, scene.update, ranges, ranged=(name,), extra=extra)
    ex.scene = scene               # the figure's artists, for tests and curious learners
    return ex


def _play_row(slider, interval_ms=600, label="play"):
    """A Play button driving ``slider`` (client-side link, so it animates smoothly), its max kept in step."""
    play = widgets.Play(min=slider.min, max=slider.max, step=1, interval=interval_ms, value=slider.value)
    widgets.jslink((play, "value"), (slider, "value"))
    widgets.dlink((slider, "max"), (play, "max"))
    return widgets.HBox([play, widgets.Label(label)])


class WindowView(Geometry, View):
    """The picture of :func:`window_explorer` (``js/window2d.js``). ``kernels[k - 1]`` is the ``k×k``
    kernel drawn for ``kernel_size=k``; ``position`` counts output cells row-major."""

    _esm = esm("window2d")
    x = traitlets.List(traitlets.List(traitlets.Float())).tag(sync=True)
    kernels = traitlets.List(traitlets.List(traitlets.List(traitlets.Float()))).tag(sync=True)
    max_padding = traitlets.Int(3).tag(sync=True)
    padding_modes = traitlets.List(traitlets.Unicode(), list(PADDING_MODES)).tag(sync=True)
    padding_mode = traitlets.Int(0).tag(sync=True)            # an index into padding_modes (the dropdown's)
    position = traitlets.Int(0).tag(sync=True)

    def kernel(self) -> np.ndarray:
        return np.asarray(self.kernels[self.kernel_size - 1], dtype=np.float64)

    def drawn_numbers(self) -> dict:
        """What the view shows, by ``convlab.nn.Conv2d``: ``output_shape``, the ``position`` (modulo the
        number of output cells) and its ``index``, the ``window`` (corner, size), ``taps``, ``sources``
        (the input cell each tap reads, None for a zero), ``terms``, their ``total``, the layer's
        ``output`` there, the whole output ``y`` and the ``kernel``; ``{"error": True}`` when the layer
        cannot run (convlab raises)."""
        x, w = np.asarray(self.x, dtype=np.float64), self.kernel()
        s, p, d, mode = self.stride, self.padding, self.dilation, self.padding_modes[self.padding_mode]
        try:
            _check_padding(x.shape, (p, p), mode)
            y = conv2d_layer(w, s, p, d, mode)(x[None])[0]
        except ValueError:
            return {"error": True}
        position = max(self.position, 0) % y.size
        index = divmod(position, y.shape[1])
        win = receptive_field(index, w.shape, s, p, d)
        terms = dot_product_terms(x, w, index, s, p, d, mode)
        return {"output_shape": tuple(y.shape), "position": position, "index": index,
                "window": {"corner": win.corner, "size": win.size}, "taps": win.taps,
                "sources": [t.source for t in terms], "terms": [(t.x, t.w) for t in terms],
                "total": sum(t.product for t in terms), "output": float(y[index]), "y": y.tolist(),
                "kernel": w.tolist()}


def window_explorer(x=None, weight=None, *, kernel_size=3, stride=1, padding=1, dilation=1,
                    padding_mode="zeros", position=0, max_padding=3, kernel_max=5) -> ExplorerBox:
    """Explore the 2d sliding window: sliders for kernel_size, stride, padding, dilation, a padding_mode
    dropdown and a slider (with Play) over the output positions (row-major), all linked in the browser.

    ``x``: a ``(H, W)`` input (default: 5×5 small integers); ``weight``: a ``(k, k)`` kernel (default:
    small integers; when given, the kernel_size slider is disabled). ``ex.set(**values)`` returns what the
    view draws (:meth:`WindowView.drawn_numbers`): ``output_shape``, ``index``, ``window`` (corner and
    size), ``taps``, ``sources``, ``terms`` (input, weight pairs), ``total`` and ``output``.

    Examples
    --------
    >>> ex = window_explorer()
    >>> ex.set(stride=2, position=4)["index"]
    (1, 1)
    """
    x, weight, kernel_size = explorer_data(x, weight, kernel_size, default_input)
    if weight is not None:
        if weight.shape[0] != weight.shape[1]:
            raise ValueError(f"window_explorer draws square kernels; got weight of shape {weight.shape}")
        kernels = [weight.tolist()] * kernel_size
        kernel_max = kernel_size
    else:
        kernels = [default_kernel((k, k)).tolist() for k in range(1, kernel_max + 1)]
    max_padding = max(max_padding, padding)
    view = WindowView(x=x.tolist(), kernels=kernels, max_padding=max_padding, kernel_size=kernel_size,
                      stride=stride, padding=padding, dilation=dilation, padding_mode=PADDING_MODES.index(padding_mode),
                      position=position)
    H, W = x.shape
    controls = {
        "kernel_size": int_slider("kernel_size", kernel_size, 1, kernel_max, disabled=weight is not None),
        "stride": int_slider("stride", stride, 1, 3),
        "padding": int_slider("padding", padding, 0, max_padding),
        "dilation": int_slider("dilation", dilation, 1, 3),
        "padding_mode": dropdown("padding_mode", PADDING_MODES, padding_mode),
        "position": int_slider("position", position, 0, (H + 2 * max_padding) * (W + 2 * max_padding) - 1),
    }
    return ExplorerBox(view, controls, extra=[play_row(controls["position"], label="play over the output positions")])
