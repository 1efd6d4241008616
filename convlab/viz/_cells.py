"""A block of grid cells (colour + optional value text) that can be redrawn in place.

Shared by the transposed-convolution, Unfold/Fold and init figures. One
``AxesImage`` holds the colours, one ``LineCollection`` the cell edges and a
pool of ``Text`` the values, so a redraw with a new array of any shape only
calls ``set_data`` / ``set_segments`` / ``set_text`` on existing artists.
Cell ``(r, c)`` of a block placed at ``origin=(x0, y0)`` covers
``[x0 + c, x0 + c + 1] × [y0 + r, y0 + r + 1]`` in data units, with ``y``
growing downwards (callers invert the y axis, see :func:`prepare_axes`).
"""
from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize, to_rgba
from matplotlib.patches import Rectangle

from . import style


def fmt(v) -> str:
    """A cell value as short text: integers without a decimal point, others with 2 decimals."""
    v = float(v)
    if abs(v - round(v)) < 1e-9:
        return str(int(round(v)))
    return f"{v:.2f}"


def fill(shape, color) -> np.ndarray:
    """An RGBA array of ``shape`` filled with one colour."""
    return np.broadcast_to(np.asarray(to_rgba(color), dtype=float), tuple(shape) + (4,)).copy()


def by_role(roles, palette) -> np.ndarray:
    """RGBA array from an integer role array and a sequence of colours (role ``i`` -> ``palette[i]``)."""
    table = np.array([to_rgba(c) for c in palette], dtype=float)
    return table[np.asarray(roles, dtype=int)]


def by_value(values, cmap, vmin=None, vmax=None, zero=None) -> np.ndarray:
    """RGBA array colouring ``values`` with a colormap; cells equal to 0 get colour ``zero`` if given."""
    values = np.asarray(values, dtype=float)
    lo = float(values.min(initial=0.0)) if vmin is None else vmin
    hi = float(values.max(initial=0.0)) if vmax is None else vmax
    if hi <= lo:
        hi = lo + 1.0
    rgba = colormaps[cmap](Normalize(lo, hi)(values))
    if zero is not None:
        rgba[values == 0] = to_rgba(zero)
    return rgba


def prepare_axes(ax):
    """Cells look: no ticks, no frame, equal aspect, y downwards."""
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_aspect("equal")
    ax.set_xlim(0, 1)
    ax.set_ylim(1, 0)
    return ax


def as_grid(a) -> np.ndarray:
    """A 0/1/2-d array as a 2-d grid of cells (a 1-d array is one row)."""
    a = np.asarray(a)
    if a.ndim == 0:
        return a.reshape(1, 1)
    if a.ndim == 1:
        return a.reshape(1, -1)
    if a.ndim == 2:
        return a
    raise ValueError(f"a block of cells shows 1-d or 2-d arrays, got shape {a.shape}")


class Cells:
    """One block of cells on ``ax``; call :meth:`show` to (re)draw it with new data.

    Attributes: ``image`` (AxesImage, its array is the RGBA colours), ``edges``
    (LineCollection), ``texts`` (list of Text; the first ``rows*cols`` are in use,
    row-major), ``shape``, ``origin``, ``values`` (the array last shown).
    """

    def __init__(self, ax, fontsize=None, text_color=None, edge_color=None, linewidth=0.6, zorder=1):
        self.ax = ax
        self.fontsize = fontsize or style.FONT_SIZE
        self.text_color = text_color or style.TEXT
        aspect = ax.get_aspect()
        self.image = ax.imshow(np.zeros((1, 1, 4)), extent=(0, 1, 1, 0), interpolation="nearest",
                               origin="upper", zorder=zorder)
        ax.set_aspect(aspect)                     # imshow would reset it
        self.edges = LineCollection([], colors=edge_color or style.EDGE, linewidths=linewidth, zorder=zorder + 0.1)
        ax.add_collection(self.edges)
        self.texts = []
        self.shape = (0, 0)
        self.origin = (0.0, 0.0)
        self.values = None

    def _text(self, i):
        while len(self.texts) <= i:
            self.texts.append(self.ax.text(0, 0, "", ha="center", va="center", fontsize=self.fontsize,
                                           color=self.text_color, zorder=3, clip_on=False))
        return self.texts[i]

    def show(self, values, colors, labels=True, origin=(0, 0), visible=True):
        """Draw ``values`` (1-d or 2-d) with RGBA ``colors`` (same grid shape + 4).

        ``labels``: True (the formatted values), False (no text) or an array of strings.
        Returns ``self``.
        """
        grid = as_grid(values)
        rows, cols = grid.shape
        colors = np.asarray(colors, dtype=float).reshape(rows, cols, 4)
        x0, y0 = origin
        self.shape, self.origin, self.values = (rows, cols), (float(x0), float(y0)), grid
        self.image.set_data(colors)
        self.image.set_extent((x0, x0 + cols, y0 + rows, y0))
        segs = [[(x0, y0 + r), (x0 + cols, y0 + r)] for r in range(rows + 1)]
        segs += [[(x0 + c, y0), (x0 + c, y0 + rows)] for c in range(cols + 1)]
        self.edges.set_segments(segs)
        if isinstance(labels, (bool, np.bool_)):
            labels = bool(labels)
        if labels is True:
            text = [[fmt(v) for v in row] for row in grid]
        elif labels is False or labels is None:
            text = None
        else:
            text = np.asarray(labels, dtype=object).reshape(rows, cols)
        n = rows * cols
        if text is not None:
            for r in range(rows):
                for c in range(cols):
                    t = self._text(r * cols + c)
                    t.set_position((x0 + c + 0.5, y0 + r + 0.5))
                    label = str(text[r][c])
                    t.set_text(label)
                    t.set_visible(visible and label != "")
        else:
            n = 0
        for t in self.texts[n:]:
            t.set_visible(False)
        self.image.set_visible(visible)
        self.edges.set_visible(visible)
        return self

    def artists(self) -> list:
        """Every artist of the block (the image, the edges, the whole text pool): the ``live`` list
        of :func:`~convlab.viz._widgets.snapshot_axes` for a block a control redraws."""
        return [self.image, self.edges, *self.texts]

    def hide(self):
        self.image.set_visible(False)
        self.edges.set_visible(False)
        for t in self.texts:
            t.set_visible(False)

    def labels(self):
        """The texts in use, as a list of rows of strings (what a reader sees)."""
        rows, cols = self.shape
        if len(self.texts) < rows * cols:
            return []
        return [[self.texts[r * cols + c].get_text() if self.texts[r * cols + c].get_visible() else ""
                 for c in range(cols)] for r in range(rows)]

    def colors(self) -> np.ndarray:
        return np.asarray(self.image.get_array())

    def bounds(self):
        """``(x0, y0, width, height)`` in data units."""
        rows, cols = self.shape
        return (*self.origin, cols, rows)


def outline(ax, color=None, linewidth=2.0, zorder=4, **kwargs) -> Rectangle:
    """A rectangle outline (hidden until :func:`move_outline` places it)."""
    rect = Rectangle((0, 0), 1, 1, fill=False, edgecolor=color or style.WINDOW, linewidth=linewidth,
                     zorder=zorder, visible=False, **kwargs)
    ax.add_patch(rect)
    return rect


def move_outline(rect, x, y, width=1, height=1, visible=True):
    rect.set_bounds(x, y, width, height)
    rect.set_visible(visible)
    return rect


def fit(ax, blocks, margin=0.3, top=1.2, left=0.0, min_width=0.0, min_height=0.0):
    """Set the axes limits to contain every ``(x0, y0, w, h)`` box, leaving room for headings.

    ``min_width`` / ``min_height`` (data units) keep cells from growing huge when there are few.
    """
    if not blocks:
        return
    x_lo = min(b[0] for b in blocks) - margin - left
    x_hi = max(max(b[0] + b[2] for b in blocks) + margin, x_lo + min_width)
    y_lo = min(b[1] for b in blocks) - top
    y_hi = max(max(b[1] + b[3] for b in blocks) + margin, y_lo + min_height)
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_hi, y_lo)


def text_unit(ax, width, height, lines=3.3):
    """Data units taken by one line of text on ``ax`` once its limits hold ``width × height`` data units
    plus ``lines`` lines of text above (equal aspect). Lets headings and titles keep clear of the cells
    however small the cells get."""
    fig = ax.figure
    pos = ax.get_position(original=True)       # the box before the equal aspect shrinks it
    w_px = pos.width * fig.get_figwidth() * fig.dpi
    h_px = pos.height * fig.get_figheight() * fig.dpi
    px = style.FONT_SIZE * fig.dpi / 72 * 1.5
    scale = min(w_px / max(width, 1e-9), max(h_px - lines * px, 0.3 * h_px) / max(height, 1e-9))
    return px / scale


def freeze_layout(fig):
    """Run the constrained layout once, then keep those axes positions (redraws skip the solver).

    Texts placed in data units are left out of the layout, so long labels do not shrink their axes.
    Does nothing once the layout is frozen (explorers call it before every snapshot).
    """
    if fig.get_layout_engine() is None:
        return
    for ax in fig.axes:
        for t in ax.texts:
            t.set_in_layout(False)
    fig.canvas.draw()
    # None, not "none": "none" leaves a placeholder engine that makes savefig draw twice
    fig.set_layout_engine(None)
