"""Transposed convolution four ways, and how ``output_padding`` picks an output size.

Notebook 5 (ConvTranspose1d/2d/3d). One channel in, one channel out, so every
number can be read off the figure; the four ways are computed independently
and :func:`transposed_views` reports how far each is from
``F.conv_transpose{N}d`` (all differences are 0 for integer data):

1. **scatter-add** -- every input cell ``x[i]`` stamps ``x[i]·weight`` into the
   output at ``i·stride − padding + t·dilation``; the stamps are summed.
2. **zero insertion** -- put ``stride − 1`` zeros between input cells, pad
   ``dilation·(kernel_size − 1) − padding`` zeros on each side (plus
   ``output_padding`` on the right/bottom), then run an ordinary stride-1
   convolution with the *flipped* kernel.
3. **matrix** -- a Conv on flattened arrays is a matrix ``C``; the transposed
   convolution is ``Cᵀ`` applied to the flattened input.
4. **gradient** -- it is the gradient of that Conv with respect to its input,
   ``convlab.nn.grad.conv{N}d_input``.

Shape (per axis): ``L_out = (L_in − 1)·stride − 2·padding + dilation·(kernel_size − 1) + output_padding + 1``.

The ``draw_*`` functions are static matplotlib figures of one state: they take an Axes (and, to redraw
in place, the ``artists`` they returned before). :func:`transpose_explorer` is a browser view
(:class:`TransposeView`, drawn by ``js/transpose.js``) under sliders for the input size, kernel_size,
stride, dilation, padding, output_padding and the input cell stamped (with Play): the four ways side by
side (the stamp of that cell and the running sum; the zero-inserted input, flipped kernel and their
convolution; the matrix ``C`` and ``Cᵀx``; the gradient) and, in 1-d, the input lengths a Conv maps to
the input size, the one ``output_padding`` picks outlined. Every control works in the book and the
slides too, with no kernel; :meth:`TransposeView.drawn_numbers` computes with convlab what the view shows.
"""
from __future__ import annotations

import itertools

import numpy as np

from .. import geometry
from ..nn import functional as F
from ..nn import grad as G
from . import style
from ._cells import (Cells, as_grid, by_role, by_value, fill, fit, fmt, move_outline, outline,
                     prepare_axes, text_unit)
from ._view import ExplorerBox, View, esm, int_slider, play_row, traitlets

__all__ = ["transposed_output_size", "matching_conv_size", "scatter_stamp", "zero_insert", "conv_matrix",
           "transposed_views", "example_data", "draw_scatter", "draw_zero_insertion", "draw_matrix",
           "draw_gradient", "draw_output_padding", "conv_sizes_for_output", "TransposeView",
           "transpose_explorer"]


def _tuple(v, nd):
    return tuple(int(a) for a in v) if isinstance(v, (tuple, list)) else (int(v),) * nd


def _geometry(nd, stride, padding, output_padding, dilation):
    return _tuple(stride, nd), _tuple(padding, nd), _tuple(output_padding, nd), _tuple(dilation, nd)


def transposed_output_size(size, kernel_size, stride=1, padding=0, output_padding=0, dilation=1) -> tuple:
    """``(L_in − 1)·stride − 2·padding + dilation·(kernel_size − 1) + output_padding + 1`` per axis.

    >>> transposed_output_size((6,), 3, stride=2, padding=1, output_padding=1)   # the article's up-sample
    (12,)
    """
    size = tuple(size)
    nd = len(size)
    k = _tuple(kernel_size, nd)
    s, p, op, d = _geometry(nd, stride, padding, output_padding, dilation)
    return geometry.transposed_output_size(size, k, s, p, op, d)


def _conv_size(size, k, s, p, d):
    return geometry.conv_output_size(size, k, s, p, d)


def matching_conv_size(size, kernel_size, stride=1, padding=0, output_padding=0, dilation=1) -> tuple:
    """Output size of the Conv that the transposed conv is the transpose of (the Conv maps the
    transposed conv's output size back to this). Equal to ``size`` unless ``output_padding >= stride``
    (allowed when ``dilation > stride``); then the input is read with zeros appended.

    >>> matching_conv_size((6,), 3, stride=2, padding=1, output_padding=1)
    (6,)
    """
    size = tuple(size)
    nd = len(size)
    k = _tuple(kernel_size, nd)
    s, p, op, d = _geometry(nd, stride, padding, output_padding, dilation)
    return _conv_size(transposed_output_size(size, k, s, p, op, d), k, s, p, d)


def _pad_to(x, shape):
    """``x`` with zeros appended at the end of each axis up to ``shape``."""
    if tuple(x.shape) == tuple(shape):
        return x
    out = np.zeros(shape, dtype=x.dtype)
    out[tuple(slice(0, n) for n in x.shape)] = x
    return out


def scatter_stamp(x, weight, index, stride=1, padding=0, output_padding=0, dilation=1):
    """The stamp of input cell ``index``: ``x[index]·weight`` placed at ``index·stride + t·dilation``
    on the *uncropped* canvas (size ``(L_in − 1)·stride + dilation·(k − 1) + 1 + output_padding``).

    Returns ``(stamp, mask)``, both canvas-shaped: the stamped values and where the taps land. The
    output is the canvas cropped by ``padding`` on each side: ``out = canvas[p : p + L_out]``.

    >>> stamp, mask = scatter_stamp(np.array([1., 2.]), np.array([1., 10.]), 1, stride=2)
    >>> stamp.tolist(), mask.tolist()
    ([0.0, 0.0, 2.0, 20.0], [False, False, True, True])
    """
    x = np.asarray(x, dtype=float)
    w = np.asarray(weight, dtype=float)
    nd = x.ndim
    index = _tuple(index, nd)
    s, p, op, d = _geometry(nd, stride, padding, output_padding, dilation)
    canvas = geometry.transposed_output_size(x.shape, w.shape, s, (0,) * nd, op, d)     # before the crop
    stamp = np.zeros(canvas)
    mask = np.zeros(canvas, dtype=bool)
    for t in itertools.product(*(range(k) for k in w.shape)):
        pos = tuple(index[a] * s[a] + t[a] * d[a] for a in range(nd))
        stamp[pos] += x[index] * w[t]
        mask[pos] = True
    return stamp, mask


def zero_insert(x, kernel_size, stride=1, padding=0, output_padding=0, dilation=1):
    """The input of the zero-insertion view: ``stride − 1`` zeros between cells, then
    ``edge = dilation·(kernel_size − 1) − padding`` zeros on each side (``edge + output_padding`` on
    the right); a negative edge crops instead.

    Returns ``(z, roles, edges)``: the array, an int array of roles (0 input cell, 1 inserted zero,
    2 edge zero) and ``edges`` as ``((left, right), ...)`` per axis.

    >>> z, roles, edges = zero_insert(np.array([1., 2., 3.]), 3, stride=2, padding=1)
    >>> z.tolist(), edges
    ([0.0, 1.0, 0.0, 2.0, 0.0, 3.0, 0.0], ((1, 1),))
    """
    x = np.asarray(x, dtype=float)
    nd = x.ndim
    k = _tuple(kernel_size, nd)
    s, p, op, d = _geometry(nd, stride, padding, output_padding, dilation)
    dil_shape = tuple((n - 1) * s[a] + 1 for a, n in enumerate(x.shape))
    z = np.zeros(dil_shape)
    roles = np.ones(dil_shape, dtype=int)
    sl = tuple(slice(None, None, s[a]) for a in range(nd))
    z[sl] = x
    roles[sl] = 0
    edges = []
    for a in range(nd):
        e = d[a] * (k[a] - 1) - p[a]
        left, right = e, e + op[a]
        edges.append((left, right))
        width = [(0, 0)] * nd
        width[a] = (max(left, 0), max(right, 0))
        z = np.pad(z, width)
        roles = np.pad(roles, width, constant_values=2)
        n = z.shape[a]
        crop = [slice(None)] * nd
        crop[a] = slice(max(-left, 0), n - max(-right, 0))
        z, roles = z[tuple(crop)], roles[tuple(crop)]
    return z, roles, tuple(edges)


def conv_matrix(input_size, weight, stride=1, padding=0, dilation=1) -> np.ndarray:
    """The matrix ``C`` of a one-channel Conv on flattened arrays: ``conv(u).ravel() == C @ u.ravel()``.

    Shape: ``(prod(conv output size), prod(input_size))``; row ``o`` holds the kernel taps at the
    input cells that output cell ``o`` reads.

    >>> conv_matrix((4,), np.array([1., 2.]), stride=2)
    array([[1., 2., 0., 0.],
           [0., 0., 1., 2.]])
    """
    w = np.asarray(weight, dtype=float)
    size = tuple(int(n) for n in input_size)
    nd = len(size)
    s, p, _, d = _geometry(nd, stride, padding, 0, dilation)
    out = _conv_size(size, w.shape, s, p, d)
    C = np.zeros((int(np.prod(out)), int(np.prod(size))))
    for oi, o in enumerate(itertools.product(*(range(n) for n in out))):
        for t in itertools.product(*(range(k) for k in w.shape)):
            i = tuple(o[a] * s[a] - p[a] + t[a] * d[a] for a in range(nd))
            if all(0 <= i[a] < size[a] for a in range(nd)):
                C[oi, np.ravel_multi_index(i, size)] += w[t]
    return C


def transposed_views(x, weight, stride=1, padding=0, output_padding=0, dilation=1) -> dict:
    """The transposed convolution of a one-channel ``x`` (1-d or 2-d) with kernel ``weight``, four ways.

    Returns a dict with ``output_size``; ``scatter``, ``zero_insertion``, ``matrix``, ``gradient``
    (the four outputs); ``library`` (``F.conv_transpose{N}d``); ``max_abs_diff`` (each way against
    the library); and the pieces the figures show: ``canvas`` (sum of uncropped stamps),
    ``zero_inserted``, ``roles``, ``edges``, ``flipped``, ``C``, ``conv_size``.

    >>> v = transposed_views(np.array([1., 2., 3.]), np.array([1., 1., 1.]), stride=2, padding=1)
    >>> v["output_size"], v["scatter"].tolist(), max(v["max_abs_diff"].values())
    ((5,), [1.0, 3.0, 2.0, 5.0, 3.0], 0.0)
    """
    x = np.asarray(x, dtype=float)
    w = np.asarray(weight, dtype=float)
    nd = x.ndim
    if nd not in (1, 2, 3) or w.ndim != nd:
        raise ValueError(f"x and weight must both be 1-d, 2-d or 3-d (one channel), got {x.shape} and {w.shape}")
    s, p, op, d = _geometry(nd, stride, padding, output_padding, dilation)
    out_size = transposed_output_size(x.shape, w.shape, s, p, op, d)
    if any(n < 1 for n in out_size):
        raise ValueError(f"padding={p} crops more than the transposed conv produces: output size {out_size}")
    crop = tuple(slice(p[a], p[a] + out_size[a]) for a in range(nd))

    # 1. scatter-add
    canvas = sum(scatter_stamp(x, w, i, s, p, op, d)[0] for i in itertools.product(*(range(n) for n in x.shape)))
    scatter = canvas[crop]
    # 2. zero insertion + flipped kernel + ordinary (stride 1) convolution
    z, roles, edges = zero_insert(x, w.shape, s, p, op, d)
    flipped = w[(slice(None, None, -1),) * nd].copy()
    conv = (F.conv1d, F.conv2d, F.conv3d)[nd - 1]
    zero_ins = conv(z[None, None], flipped[None, None], dilation=d)[0, 0]
    # 3. matrix: C of the matching Conv (transposed output size -> conv size), then C^T x
    conv_size = _conv_size(out_size, w.shape, s, p, d)
    xc = _pad_to(x, conv_size)
    C = conv_matrix(out_size, w, s, p, d)
    matrix = (C.T @ xc.ravel()).reshape(out_size)
    # 4. gradient of that Conv with respect to its input
    conv_input = (G.conv1d_input, G.conv2d_input, G.conv3d_input)[nd - 1]
    gradient = conv_input((1, 1) + out_size, w[None, None], xc[None, None], stride=s, padding=p, dilation=d)[0, 0]

    conv_t = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[nd - 1]
    library = conv_t(x[None, None], w[None, None], stride=s, padding=p, output_padding=op, dilation=d)[0, 0]
    outs = {"scatter": scatter, "zero_insertion": zero_ins, "matrix": matrix, "gradient": gradient}
    diffs = {k: float(np.max(np.abs(v - library))) for k, v in outs.items()}
    return dict(outs, output_size=out_size, library=library, max_abs_diff=diffs, canvas=canvas,
                zero_inserted=z, roles=roles, edges=edges, flipped=flipped, C=C, conv_size=conv_size,
                padded_input=xc)


def example_data(size, kernel_size):
    """Small integer input and kernel (so every sum is exact and readable): ``x`` cycles 1, 2, 3;
    ``weight`` counts 1, 2, 3, ... (so the flip is visible). ``size`` and ``kernel_size`` are tuples.

    >>> x, w = example_data((4,), (3,))
    >>> x.tolist(), w.tolist()
    ([1.0, 2.0, 3.0, 1.0], [1.0, 2.0, 3.0])
    """
    size, kernel_size = tuple(size), tuple(kernel_size)
    idx = np.indices(size).sum(axis=0) if len(size) > 1 else np.arange(size[0])
    if len(size) == 2:
        idx = np.add.outer(np.arange(size[0]), 2 * np.arange(size[1]))
    x = (idx % 3 + 1).astype(float)
    w = np.arange(1, int(np.prod(kernel_size)) + 1, dtype=float).reshape(kernel_size)
    return x, w


# --------------------------------------------------------------------------- drawing

CELL_FONT = style.FONT_SIZE - 1


class _Blocks:
    """Named :class:`Cells` blocks on one Axes under a title and a note, laid out in a column
    (1-d data: one row of cells each) or side by side (2-d data)."""

    def __init__(self, ax, names):
        self.ax = prepare_axes(ax)
        self.cells = {n: Cells(ax, fontsize=CELL_FONT) for n in names}
        self.headings = {n: ax.text(0, 0, "", ha="left", va="bottom", fontsize=style.FONT_SIZE, color=style.TEXT)
                         for n in names}
        self.title = ax.text(0, 0, "", ha="left", va="bottom", fontsize=style.TITLE_SIZE, weight="bold",
                             color=style.TEXT)
        self.note = ax.text(0, 0, "", ha="left", va="bottom", fontsize=style.FONT_SIZE, color=style.EDGE)

    def layout(self, entries, vertical, title, note="", min_width=0.0, min_height=0.0, below=0.0):
        """``entries``: ``(name, values, colors, labels, heading, offset)``; ``offset`` shifts a block along
        the columns (to align the output under the canvas). Returns the blocks' ``(x0, y0, w, h)``."""
        shapes = [as_grid(e[1]).shape for e in entries]
        if vertical:
            width = max(c + e[5] for (_, c), e in zip(shapes, entries))
            height = sum(r for r, _ in shapes) + 1.5 * (len(shapes) - 1) + below
        else:
            width = sum(max(c, 0.45 * len(e[4])) + 1.5 for (_, c), e in zip(shapes, entries))
            height = max(r for r, _ in shapes) + below
        u = text_unit(self.ax, max(width, min_width), max(height, min_height))
        gap = max(1.5, 1.3 * u)
        x = y = 0.0
        boxes = []
        for name, values, colors, labels, heading, offset in entries:
            cells = self.cells[name]
            if u > 0.85:
                labels = False                  # cells too small for their numbers
            if vertical:
                cells.show(values, colors, labels, origin=(offset, y))
                y += cells.shape[0] + gap
            else:
                cells.show(values, colors, labels, origin=(x, 0.0))
                x += max(cells.shape[1], 0.45 * u * len(heading)) + 1.5
            bx = cells.bounds()
            boxes.append(bx)
            self.headings[name].set_position((bx[0], bx[1] - 0.1 * u))
            self.headings[name].set_text(heading)
        used = {e[0] for e in entries}
        for name in self.cells:
            if name not in used:
                self.cells[name].hide()
                self.headings[name].set_text("")
        self.note.set_position((0, -1.15 * u))
        self.note.set_text(note)
        self.title.set_position((0, -2.2 * u))
        self.title.set_text(title)
        self.unit = u
        if below:
            last = max(b[1] + b[3] for b in boxes)
            boxes = boxes + [(0, last, 0, below * u + 0.5)]
        fit(self.ax, boxes, top=3.3 * u, min_width=min_width, min_height=min_height)
        return boxes

    def update(self, name, values, colors, labels, heading):
        """Redraw block ``name`` where :meth:`layout` put it (``values`` of the same shape): new values,
        colours, labels and heading, nothing else moves. Returns the block's ``(x0, y0, w, h)``."""
        cells = self.cells[name]
        if self.unit > 0.85:
            labels = False
        cells.show(values, colors, labels, origin=cells.origin)
        self.headings[name].set_text(heading)
        return cells.bounds()


def _labels_ok(a, limit=64):
    return np.asarray(a).size <= limit


def _cmap_colors(values, cmap, zero=None):
    return by_value(values, cmap, vmin=-0.3 * max(float(np.max(values, initial=0.0)), 1.0),
                    vmax=max(float(np.max(values, initial=0.0)), 1.0) * 1.6, zero=zero)


def _nonzero_labels(a):
    a = np.asarray(a, dtype=float)
    return np.array([fmt(v) if v != 0 else "" for v in a.ravel()], dtype=object).reshape(a.shape)


def _idx_text(index):
    return "[" + ", ".join(str(int(i)) for i in index) + "]"


def _scatter_layout(ax, x, w, geometry, min_width, min_height):
    """What the layout of :func:`draw_scatter` depends on (all but the index)."""
    return (x.tobytes(), x.shape, w.tobytes(), w.shape, geometry, min_width, min_height,
            tuple(ax.get_position(original=True).bounds), tuple(ax.figure.bbox.bounds))


def draw_scatter(ax, x, weight, index, stride=1, padding=0, output_padding=0, dilation=1, artists=None,
                 min_width=0.0, min_height=0.0):
    """Way 1: the stamp of input cell ``index`` and the running sum of the stamps so far.

    Draws ``x`` (current cell outlined in red), ``weight``, the uncropped canvas with this cell's stamp
    ``x[index]·weight`` (dashed green box; the cells ``padding`` crops in grey) and the output after
    stamps ``0 … index`` (row-major order; in 1-d aligned under the canvas). ``index`` is a flat index
    or a tuple. Returns the artists dict (pass it back as ``artists`` to redraw in place); its
    ``"partial"`` and ``"stamp"`` hold the arrays shown.
    """
    x = np.asarray(x, dtype=float)
    w = np.asarray(weight, dtype=float)
    nd = x.ndim
    s, p, op, d = _geometry(nd, stride, padding, output_padding, dilation)
    index = tuple(int(i) for i in (np.unravel_index(int(index), x.shape) if np.ndim(index) == 0 else index))
    if artists is None:
        artists = {"blocks": _Blocks(ax, ["x", "weight", "stamp", "sum"])}
        artists["current"] = outline(ax)
        artists["stamp_box"] = outline(ax, color=style.ACTIVE, linewidth=1.5, linestyle="--")
    blocks = artists["blocks"]
    stamp, mask = scatter_stamp(x, w, index, s, p, op, d)
    out_size = transposed_output_size(x.shape, w.shape, s, p, op, d)
    crop = tuple(slice(p[a], p[a] + out_size[a]) for a in range(nd))
    flat = int(np.ravel_multi_index(index, x.shape))
    partial = np.zeros(stamp.shape)
    for j in range(flat + 1):
        partial += scatter_stamp(x, w, np.unravel_index(j, x.shape), s, p, op, d)[0]
    partial = partial[crop]
    inside = np.zeros(stamp.shape, dtype=bool)
    inside[crop] = True
    stamp_colors = by_role(np.where(mask, 1, np.where(inside, 0, 2)), [style.GAP, style.KERNEL, style.PAD_ZERO])
    stamp_labels = np.where(mask, _nonzero_labels(stamp), "")
    stamp_labels[mask & (stamp == 0)] = "0"
    vertical = nd == 1
    small = _labels_ok(partial)
    pv = p[0] if nd == 1 else p
    entries = [
        ("x", x, fill(x.shape, style.INPUT), _labels_ok(x), "x", 0),
        ("weight", w, fill(w.shape, style.KERNEL), True, "weight", 0),
        ("stamp", stamp, stamp_colors, stamp_labels if small else False, f"x{_idx_text(index)}·weight", 0),
        ("sum", partial, _cmap_colors(partial, "Greens", zero=style.GAP), small,
         f"sum of {flat + 1}/{x.size} stamps", p[0] if vertical else 0),
    ]
    note = (f"cell {_idx_text(index)} stamps from {_idx_text(i * st for i, st in zip(index, s))} = index·stride; "
            f"output = canvas minus padding={pv} each side (grey)")
    # the layout depends on everything but ``index``: when only the index moved, redraw the stamp and the sum
    layout = _scatter_layout(ax, x, w, (s, p, op, d), min_width, min_height)
    if artists.get("layout") == layout:
        boxes = [blocks.cells[n].bounds() for n in ("x", "weight")]
        boxes += [blocks.update(*e[:5]) for e in entries[2:]]
        blocks.note.set_text(note)
    else:
        boxes = blocks.layout(entries, vertical, "1  scatter-add: each input cell stamps x[i]·weight",
                              note, min_width, min_height)
        artists["layout"] = layout
    bx = boxes[0]
    r, c = (0, index[0]) if nd == 1 else index[:2]
    move_outline(artists["current"], bx[0] + c, bx[1] + r)
    sb = boxes[2]
    lo = [index[a] * s[a] for a in range(nd)]
    ext = [d[a] * (w.shape[a] - 1) + 1 for a in range(nd)]
    if nd == 1:
        move_outline(artists["stamp_box"], sb[0] + lo[0], sb[1], ext[0], 1)
    else:
        move_outline(artists["stamp_box"], sb[0] + lo[1], sb[1] + lo[0], ext[1], ext[0])
    artists.update(partial=partial, stamp=stamp, index=index)
    return artists


def draw_zero_insertion(ax, x, weight, stride=1, padding=0, output_padding=0, dilation=1, artists=None,
                        min_width=0.0, min_height=0.0):
    """Way 2: the zero-inserted, edge-padded input, the flipped kernel, and their ordinary convolution.

    Input cells blue, inserted zeros pale yellow, edge zeros grey. Returns the artists dict (``"z"``,
    ``"roles"``, ``"edges"``, ``"output"`` hold what was drawn).
    """
    x = np.asarray(x, dtype=float)
    w = np.asarray(weight, dtype=float)
    nd = x.ndim
    s, p, op, d = _geometry(nd, stride, padding, output_padding, dilation)
    if artists is None:
        artists = {"blocks": _Blocks(ax, ["zero_inserted", "flipped", "output"])}
    z, roles, edges = zero_insert(x, w.shape, s, p, op, d)
    flipped = w[(slice(None, None, -1),) * nd]
    conv = (F.conv1d, F.conv2d, F.conv3d)[nd - 1]
    out = conv(z[None, None], flipped[None, None], dilation=d)[0, 0]
    colors = by_role(roles, [style.INPUT, style.INSERTED_ZERO, style.PAD_ZERO])
    vertical = nd == 1
    edge_parts = [f"{d[a]}·({w.shape[a]}−1)−{p[a]} = {edges[a][0]}" for a in range(nd)]
    note = (f"{'/'.join(str(a - 1) for a in s)} zero(s) between cells (stride−1); "
            f"each side d·(k−1)−p: {', '.join(edge_parts)}"
            + (f"; +output_padding {'/'.join(map(str, op))} at the end" if any(op) else "")
            + ("  (negative: crop)" if any(e[0] < 0 for e in edges) else ""))
    entries = [
        ("zero_inserted", z, colors, True if nd == 1 else np.where(roles == 0, _nonzero_labels(z), ""),
         "zero-inserted input", 0),
        ("flipped", flipped, fill(w.shape, style.KERNEL), True, "weight flipped", 0),
        ("output", out, _cmap_colors(out, "Greens", zero=style.GAP), _labels_ok(out, 64 if nd == 1 else 25),
         f"conv (stride 1, dilation {'/'.join(map(str, d))})", 0),
    ]
    artists["blocks"].layout(entries, vertical, "2  zero insertion + flipped kernel + ordinary conv", note,
                             min_width, min_height)
    artists.update(z=z, roles=roles, edges=edges, output=out)
    return artists


def draw_matrix(ax, x, weight, stride=1, padding=0, output_padding=0, dilation=1, artists=None,
                min_width=0.0, min_height=0.0):
    """Way 3: the matrix ``C`` of the matching Conv as an image, the flattened input beside it as a
    column, and ``Cᵀ x`` (= the transposed conv, flattened) under it: ``out[j] = Σ_o x[o]·C[o, j]``.
    Returns the artists dict (``"matrix"``, ``"output"``)."""
    x = np.asarray(x, dtype=float)
    w = np.asarray(weight, dtype=float)
    nd = x.ndim
    s, p, op, d = _geometry(nd, stride, padding, output_padding, dilation)
    if artists is None:
        prepare_axes(ax)
        artists = {"C": Cells(ax, fontsize=CELL_FONT, linewidth=0.3), "x": Cells(ax, fontsize=CELL_FONT),
                   "out": Cells(ax, fontsize=CELL_FONT),
                   "title": ax.text(0, 0, "", ha="left", va="bottom", fontsize=style.TITLE_SIZE, weight="bold"),
                   "note": ax.text(0, 0, "", ha="left", va="bottom", fontsize=style.FONT_SIZE, color=style.EDGE),
                   "labels": [ax.text(0, 0, "", ha="left", va="bottom", fontsize=style.FONT_SIZE) for _ in range(3)]}
    out_size = transposed_output_size(x.shape, w.shape, s, p, op, d)
    conv_size = _conv_size(out_size, w.shape, s, p, d)
    xc = _pad_to(x, conv_size).ravel()
    C = conv_matrix(out_size, w, s, p, d)
    out = C.T @ xc
    m, n = C.shape
    u = text_unit(ax, max(1.5 + n, min_width), max(m + 2.5, min_height))
    lim = max(float(np.abs(w).max(initial=0.0)), 1.0)
    c_colors = by_value(C, "Oranges", vmin=0.0, vmax=lim * 1.1, zero=style.GAP)
    artists["x"].show(xc.reshape(-1, 1), fill((m, 1), style.INPUT), m <= 16 and u < 1.2, origin=(0, 0))
    artists["C"].show(C, c_colors, _nonzero_labels(C) if n <= 16 and m <= 16 else False, origin=(1.5, 0))
    gap = max(1.5, 1.3 * u)
    artists["out"].show(out.reshape(1, -1), _cmap_colors(out.reshape(1, -1), "Greens", zero=style.GAP),
                        n <= 16, origin=(1.5, m + gap))
    t_x, t_c, t_o = artists["labels"]
    t_x.set_position((0, -0.1 * u)); t_x.set_text("x")
    t_c.set_position((1.5, -0.1 * u)); t_c.set_text(f"C  ({m}×{n})")
    t_o.set_position((1.5, m + gap - 0.1 * u)); t_o.set_text("Cᵀx")
    artists["note"].set_position((0, -1.15 * u))
    artists["note"].set_text(f"C: Conv {out_size}→{conv_size}, flattened; out[j] = Σ x[o]·C[o, j]")
    artists["title"].set_position((0, -2.2 * u))
    artists["title"].set_text("3  matrix view: Cᵀ applied to x")
    fit(ax, [(0, 0, 1.5 + n, m + gap + 1)], top=3.3 * u, min_width=min_width, min_height=min_height)
    artists.update(matrix=C, output=out.reshape(out_size))
    return artists


def draw_gradient(ax, x, weight, stride=1, padding=0, output_padding=0, dilation=1, diffs=None, artists=None,
                  min_width=0.0, min_height=0.0):
    """Way 4: ``grad.conv{N}d_input`` with ``x`` as ``grad_output``; with ``diffs`` (a dict of max abs
    differences) the agreement of the four ways is written under it. Returns the artists dict."""
    x = np.asarray(x, dtype=float)
    w = np.asarray(weight, dtype=float)
    nd = x.ndim
    s, p, op, d = _geometry(nd, stride, padding, output_padding, dilation)
    if artists is None:
        artists = {"blocks": _Blocks(ax, ["output"]),
                   "diffs": ax.text(0, 0, "", ha="left", va="top", fontsize=style.FONT_SIZE, color=style.TEXT)}
    out_size = transposed_output_size(x.shape, w.shape, s, p, op, d)
    conv_size = _conv_size(out_size, w.shape, s, p, d)
    conv_input = (G.conv1d_input, G.conv2d_input, G.conv3d_input)[nd - 1]
    g = conv_input((1, 1) + out_size, w[None, None], _pad_to(x, conv_size)[None, None],
                   stride=s, padding=p, dilation=d)[0, 0]
    note = f"grad.conv{nd}d_input(input_size={(1, 1) + out_size}, weight, grad_output=x)"
    boxes = artists["blocks"].layout([("output", g, _cmap_colors(g, "Greens", zero=style.GAP),
                                       _labels_ok(g, 64 if nd == 1 else 25),
                                       "d(Conv)/d(input) applied to x", 0)], nd == 1,
                                     "4  gradient of the Conv w.r.t. its input", note, min_width, min_height,
                                     below=2.0 if diffs is not None else 0.0)
    if diffs is not None:
        b = boxes[0]
        artists["diffs"].set_position((b[0], b[1] + b[3] + 0.3 * artists["blocks"].unit))
        artists["diffs"].set_text(f"max |way − F.conv_transpose{nd}d|:\n"
                                  + ",  ".join(f"{k} {v:.2g}" for k, v in diffs.items()))
    else:
        artists["diffs"].set_text("")
    artists["output"] = g
    return artists


def conv_sizes_for_output(size, kernel_size, stride=1, padding=0, dilation=1) -> tuple:
    """Every input length that a Conv maps to length ``size``: ``lo … lo + stride − 1`` with
    ``lo = (size − 1)·stride − 2·padding + dilation·(kernel_size − 1) + 1`` (only lengths ≥ 1).

    >>> conv_sizes_for_output(6, 3, stride=2, padding=1)     # the article's down-sample example
    (11, 12)
    """
    (lo,), (hi,) = geometry.output_size_range((size,), (kernel_size,), (stride,), (padding,), (dilation,))
    return tuple(n for n in range(lo, hi + 1) if n >= 1)


def draw_output_padding(ax, size, kernel_size, stride=1, padding=0, dilation=1, output_padding=0,
                        output_size=None, artists=None, min_width=0.0):
    """The input lengths a strided Conv maps to one output length ``size``, and which one a
    ConvTranspose (input length ``size``, same arguments) produces.

    One row per length ``L`` around the candidates: the ``L`` cells plus ``padding`` cells at each end
    (grey); blue where the Conv's windows read, faded where no window reaches (the floor drops those
    cells, which is why several ``L`` give one output); ``→ L_out`` after it. The row picked by
    ``output_padding`` (or by ``output_size``, which overrides it, as ``up_sample(x, output_size=...)``
    does) is outlined. Returns the artists dict; ``artists["state"]`` holds ``candidates`` (the
    lengths mapping to ``size``), ``chosen``, ``output_padding`` and ``lengths`` (the rows drawn).
    """
    if artists is None:
        prepare_axes(ax)
        artists = {"rows": [], "texts": [], "chosen": outline(ax, color=style.ACTIVE, linewidth=2.0),
                   "title": ax.text(0, 0, "", ha="left", va="bottom", fontsize=style.TITLE_SIZE, weight="bold"),
                   "note": ax.text(0, 0, "", ha="left", va="bottom", fontsize=style.FONT_SIZE, color=style.EDGE)}
    cands = conv_sizes_for_output(size, kernel_size, stride, padding, dilation)
    (lo_all,), _ = geometry.output_size_range((size,), (kernel_size,), (stride,), (padding,), (dilation,))
    if output_size is not None:
        if output_size not in cands:
            raise ValueError(f"output_size {output_size} is not in {list(cands)} for input size {size} "
                             f"(kernel_size={kernel_size}, stride={stride}, padding={padding}, dilation={dilation})")
        output_padding = output_size - lo_all
    chosen = lo_all + output_padding
    (span,) = geometry.kernel_span((kernel_size,), (dilation,))
    lengths = sorted({n for n in range(lo_all - 1, lo_all + stride + 1) if n >= 1} | {chosen})
    rows = artists["rows"]
    while len(rows) < len(lengths):
        rows.append(Cells(ax, fontsize=CELL_FONT))
        artists["texts"].append(ax.text(0, 0, "", ha="left", va="center", fontsize=style.FONT_SIZE))
    widest = max(n + 2 * padding for n in lengths) + 11
    u = text_unit(ax, max(widest, min_width), 1.5 * len(lengths))
    step = max(1.5, 1.15 * u)
    boxes = []
    y = 0.0
    for j, n in enumerate(lengths):
        total = n + 2 * padding
        (out,) = geometry.block_counts((n,), (kernel_size,), (stride,), (padding,), (dilation,))
        used = np.zeros(total, dtype=bool)
        for o in range(out):
            used[o * stride: o * stride + span: dilation] = True
        roles = np.where(used, 0, 1)
        roles[:padding] = 2
        roles[total - padding:] = 2
        rows[j].show(np.zeros(total), by_role(roles, [style.INPUT, style.MUTED, style.PAD_ZERO]), False,
                     origin=(0, y))
        hit = out == size
        artists["texts"][j].set_position((total + 0.6, y + 0.5))
        artists["texts"][j].set_text(f"L_in={n} → L_out={out}" + ("  ✓" if hit else ""))
        artists["texts"][j].set_weight("bold" if n == chosen else "normal")
        artists["texts"][j].set_color(style.TEXT if hit else style.MUTED)
        boxes.append((0, y, total + 11 * max(u, 1.0), 1))
        if n == chosen:
            move_outline(artists["chosen"], -0.2, y - 0.2, total + 0.4, 1.4)
        y += step
    for r, t in zip(rows[len(lengths):], artists["texts"][len(lengths):]):
        r.hide()
        t.set_text("")
    how = f"output_size={chosen}" if output_size is not None else f"output_padding={output_padding}"
    artists["title"].set_position((0, -2.2 * u))
    artists["title"].set_text(f"{' and '.join(map(str, cands)) or 'no length'} → {size}: {how} picks {chosen}")
    artists["note"].set_position((0, -1.15 * u))
    artists["note"].set_text(f"Conv(k={kernel_size}, s={stride}, p={padding}, d={dilation}); "
                             f"grey: padding, faded: unread")
    fit(ax, boxes, top=3.3 * u, min_width=min_width)
    artists["state"] = {"candidates": cands, "chosen": chosen, "output_padding": output_padding,
                        "lengths": lengths}
    return artists


# --------------------------------------------------------------------------- widgets

def _valid_output_padding_max(stride, dilation):
    """torch's rule: ``output_padding < max(stride, dilation)``."""
    return geometry.output_padding_bound((stride,), (dilation,))[0] - 1


def _max_padding(size, kernel_size, stride, dilation, output_padding):
    """Largest padding that leaves an output of at least one cell."""
    (full,) = geometry.transposed_output_size((size,), (kernel_size,), (stride,), (0,), (output_padding,), (dilation,))
    return max(0, (full - 1) // 2)


# slider ranges per dims (the view clamps output_padding, padding and the input cell to what the others allow)
_RANGES = {1: dict(size=8, kernel_size=4, stride=3, dilation=3, padding=8),
           2: dict(size=4, kernel_size=3, stride=3, dilation=2, padding=4)}


def _clamped(dims, size, kernel_size, stride, padding, output_padding, dilation, index) -> tuple:
    """The values the view draws: ``output_padding`` below ``max(stride, dilation)`` (torch's rule),
    ``padding`` at most what leaves one output cell, ``index`` modulo the input cells (Play loops)."""
    op = min(output_padding, _valid_output_padding_max(stride, dilation))
    p = min(padding, _max_padding(size, kernel_size, stride, dilation, op))
    return p, op, max(index, 0) % size ** dims


class TransposeView(View):
    """The picture of :func:`transpose_explorer` (``js/transpose.js``): a one-channel ConvTranspose{dims}d
    four ways (scatter-add with the stamp of input cell ``index``, zero insertion, the matrix ``Cᵀ``, the
    gradient) and, in 1-d, the input lengths a Conv maps to ``size``. ``inputs[n - 1]`` and
    ``kernels[k - 1]`` are the ``x`` and ``weight`` drawn for ``size=n``, ``kernel_size=k``
    (:func:`example_data`)."""

    _esm = esm("transpose")
    dims = traitlets.Int(1).tag(sync=True)
    size = traitlets.Int(4).tag(sync=True)
    kernel_size = traitlets.Int(3).tag(sync=True)
    stride = traitlets.Int(2).tag(sync=True)
    padding = traitlets.Int(1).tag(sync=True)
    output_padding = traitlets.Int(0).tag(sync=True)
    dilation = traitlets.Int(1).tag(sync=True)
    index = traitlets.Int(0).tag(sync=True)
    inputs = traitlets.List().tag(sync=True)
    kernels = traitlets.List().tag(sync=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        r = _RANGES[self.dims]
        if not self.inputs:
            self.inputs = [example_data((n,) * self.dims, (1,) * self.dims)[0].tolist() for n in range(1, r["size"] + 1)]
            self.kernels = [example_data((1,) * self.dims, (k,) * self.dims)[1].tolist()
                            for k in range(1, r["kernel_size"] + 1)]

    def _compute(self) -> dict:
        nd = self.dims
        p, op, index = _clamped(nd, self.size, self.kernel_size, self.stride, self.padding, self.output_padding,
                                self.dilation, self.index)
        x = np.asarray(self.inputs[self.size - 1], dtype=float)
        w = np.asarray(self.kernels[self.kernel_size - 1], dtype=float)
        s, d = self.stride, self.dilation
        v = transposed_views(x, w, s, p, op, d)
        cell = np.unravel_index(index, x.shape)
        stamp, mask = scatter_stamp(x, w, cell, s, p, op, d)
        crop = tuple(slice(p, p + n) for n in v["output_size"])
        partial = sum(scatter_stamp(x, w, np.unravel_index(j, x.shape), s, p, op, d)[0]
                      for j in range(index + 1))[crop]
        out = dict(v, padding=p, output_padding=op, index=index, cell=tuple(int(i) for i in cell), x=x, w=w,
                   stamp=stamp, taps=np.flatnonzero(mask), partial=partial)
        if nd == 1:
            lo = transposed_output_size((self.size,), w.shape, s, p, 0, d)[0]
            chosen = lo + op
            lengths = sorted({n for n in range(lo - 1, lo + s + 1) if n >= 1} | {chosen})
            out.update(candidates=conv_sizes_for_output(self.size, self.kernel_size, s, p, d), chosen=chosen,
                       rows=[(n, geometry.block_counts((n,), (self.kernel_size,), (s,), (p,), (d,))[0])
                             for n in lengths])
        return out

    def drawn_numbers(self) -> dict:
        """What the view shows, each way computed by convlab (:func:`transposed_views`): the clamped
        ``padding``, ``output_padding`` and ``index`` (and its ``cell``), ``input``, ``weight``,
        ``output_size``; scatter-add: the ``stamp`` of that cell on the uncropped canvas, its ``taps`` (flat
        canvas indices) and the ``partial`` sum of stamps ``0 … index`` (cropped); zero insertion: the
        ``zero_inserted`` input, its ``roles`` (0 input, 1 inserted zero, 2 edge zero), ``edges``, the
        ``flipped`` kernel and the ``zero_insertion`` output; the matrix ``C`` and ``matrix`` (``Cᵀx``); the
        ``gradient`` (``grad.conv{N}d_input``); in 1-d the ``candidates`` (input lengths a Conv maps to
        ``size``), the ``chosen`` one and the ``rows`` drawn (length, Conv output length)."""
        v = self._compute()
        out = {"output_size": list(v["output_size"]), "padding": v["padding"], "output_padding": v["output_padding"],
               "index": v["index"], "cell": list(v["cell"]), "input": v["x"].tolist(), "weight": v["w"].tolist(),
               "stamp": v["stamp"].tolist(), "taps": v["taps"].tolist(), "partial": v["partial"].tolist(),
               "zero_inserted": v["zero_inserted"].tolist(), "roles": v["roles"].tolist(),
               "edges": [list(e) for e in v["edges"]], "flipped": v["flipped"].tolist(),
               "zero_insertion": v["zero_insertion"].tolist(), "C": v["C"].tolist(), "matrix": v["matrix"].tolist(),
               "gradient": v["gradient"].tolist()}
        if self.dims == 1:
            out.update(candidates=list(v["candidates"]), chosen=v["chosen"], rows=[list(r) for r in v["rows"]])
        return out

    def explain(self) -> dict:
        """The state :func:`transpose_explorer` documents: ``dims``, ``input_size``, ``kernel_size`` (shapes),
        ``stride``, ``padding``, ``output_padding``, ``dilation``, ``index``, ``input``, ``weight``,
        ``output_size``, ``output`` (``F.conv_transpose{N}d``), ``max_abs_diff`` (each way against it),
        ``edges``, ``C_shape``, ``partial`` and, in 1-d, ``candidates`` and ``chosen``."""
        v = self._compute()
        state = {"dims": self.dims, "input_size": v["x"].shape, "kernel_size": v["w"].shape, "stride": self.stride,
                 "padding": v["padding"], "output_padding": v["output_padding"], "dilation": self.dilation,
                 "index": v["index"], "input": v["x"], "weight": v["w"], "output_size": v["output_size"],
                 "output": v["library"], "max_abs_diff": v["max_abs_diff"], "edges": v["edges"],
                 "C_shape": v["C"].shape, "partial": v["partial"]}
        if self.dims == 1:
            state.update(candidates=v["candidates"], chosen=v["chosen"])
        return state


def transpose_explorer(dims=1, size=4, kernel_size=3, stride=2, padding=1, output_padding=0, dilation=1):
    """Sliders over a one-channel ConvTranspose{dims}d (``dims`` 1 or 2), drawn in the browser: its four
    ways, the stamp of one input cell (with Play), and (1-d) the input lengths the matching Conv maps to
    ``size``. Every control works in the book and the slides too, with no kernel.

    Controls: ``size`` (input length per axis), ``kernel_size``, ``stride``, ``dilation``, ``padding``,
    ``output_padding``, ``index`` (the input cell stamped). The view clamps ``output_padding`` below
    ``max(stride, dilation)`` (torch's rule), ``padding`` to what leaves one output cell and ``index``
    to the input (modulo, so Play loops), and moves those sliders there. ``ex.set(**values)`` and
    ``ex.state`` return :meth:`TransposeView.explain`: the clamped arguments, ``input``, ``weight``,
    ``output_size``, ``output``, ``max_abs_diff`` (each way vs ``F.conv_transpose{dims}d``), ``edges``,
    ``C_shape``, ``partial`` (scatter sum so far) and, in 1-d, ``candidates``/``chosen``.

    >>> ex = transpose_explorer(size=6, kernel_size=3, stride=2, padding=1, output_padding=1)
    >>> ex.state["output_size"], ex.state["candidates"], max(ex.state["max_abs_diff"].values())
    ((12,), (11, 12), 0.0)
    """
    if dims not in (1, 2):
        raise ValueError(f"dims must be 1 or 2, got {dims}")
    r = _RANGES[dims]
    for name, value, lo in (("size", size, 1), ("kernel_size", kernel_size, 1), ("stride", stride, 1),
                            ("dilation", dilation, 1), ("padding", padding, 0)):
        if not lo <= value <= r[name]:
            raise ValueError(f"{name} must be in [{lo}, {r[name]}] for dims={dims}, got {value}")
    view = TransposeView(dims=dims, size=size, kernel_size=kernel_size, stride=stride, padding=padding,
                         output_padding=output_padding, dilation=dilation, index=0)
    controls = {
        "size": int_slider("input size", size, 1, r["size"]),
        "kernel_size": int_slider("kernel_size", kernel_size, 1, r["kernel_size"]),
        "stride": int_slider("stride", stride, 1, r["stride"]),
        "dilation": int_slider("dilation", dilation, 1, r["dilation"]),
        "padding": int_slider("padding", padding, 0, r["padding"]),
        "output_padding": int_slider("output_padding", output_padding, 0, max(r["stride"], r["dilation"]) - 1),
        "index": int_slider("input cell", 0, 0, r["size"] ** dims - 1),
    }
    return ExplorerBox(view, controls, extra=[play_row(controls["index"], interval_ms=900,
                                                       label="play: stamp the input cells one by one")])
