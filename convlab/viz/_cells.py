"""A block of grid cells (colour + optional value text) that can be redrawn in place.

Used by the static transposed-convolution figures (:mod:`convlab.viz.transpose`,
notebooks 05a/05b). One ``QuadMesh`` holds the colours, one ``LineCollection``
the cell edges and one ``ax.text`` per cell the values, so a redraw with a new
array only calls ``set_facecolor`` / ``set_segments`` / ``set_text`` on existing
artists (a grid larger than any before makes a new mesh: its vertices are fixed).
Public matplotlib API only. Cell ``(r, c)`` of a block placed at ``origin=(x0, y0)`` covers
``[x0 + c, x0 + c + 1] × [y0 + r, y0 + r + 1]`` in data units, with ``y``
growing downwards (callers invert the y axis, see :func:`prepare_axes`).
"""
from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from matplotlib.collections import LineCollection, QuadMesh
from matplotlib.colors import Normalize, to_rgba
from matplotlib.patches import Rectangle
from matplotlib.transforms import Affine2D

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


_COLORMAPS = {}


def _colormap(name):
    """The registered colormap ``name``, kept (``colormaps[name]`` is a fresh copy that builds its
    lookup table again on first use: about 0.5 ms a call)."""
    cmap = _COLORMAPS.get(name)
    if cmap is None:
        cmap = _COLORMAPS[name] = colormaps[name]
    return cmap


def by_value(values, cmap, vmin=None, vmax=None, zero=None) -> np.ndarray:
    """RGBA array colouring ``values`` with a colormap; cells equal to 0 get colour ``zero`` if given."""
    values = np.asarray(values, dtype=float)
    lo = float(values.min(initial=0.0)) if vmin is None else vmin
    hi = float(values.max(initial=0.0)) if vmax is None else vmax
    if hi <= lo:
        hi = lo + 1.0
    rgba = _colormap(cmap)(Normalize(lo, hi)(values))
    if zero is not None:
        rgba[values == 0] = to_rgba(zero)
    return rgba


def prepare_axes(ax):
    """Cells look: no ticks, no frame (axis off: nothing of it to draw), equal aspect, y downwards."""
    ax.set_axis_off()
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

    Attributes: ``mesh`` (QuadMesh, one quadrilateral per cell: the face colours, see
    :meth:`colors`), ``edges`` (LineCollection), ``texts`` (``Text`` artists, row-major: the
    first ``rows * cols`` show the cells' numbers, any others are kept hidden for a larger
    grid), ``shape``, ``origin``, ``values`` (the array last shown), ``shown`` (False once hidden).

    The colours are a ``QuadMesh`` without antialiasing: the pixels of an ``imshow`` with
    nearest interpolation, drawn about ten times faster (no resampling).
    """

    def __init__(self, ax, fontsize=None, text_color=None, edge_color=None, linewidth=0.6, zorder=1):
        self.ax = ax
        self.fontsize = fontsize or style.FONT_SIZE
        self.text_color = text_color or style.TEXT
        self.zorder = zorder
        self.mesh = None
        self._mesh_for((1, 1))
        self.edges = LineCollection([], colors=edge_color or style.EDGE, linewidths=linewidth, zorder=zorder + 0.1)
        ax.add_collection(self.edges)
        self.texts = []
        self.labelled = False
        self.shape = (0, 0)
        self.origin = (0.0, 0.0)
        self.values = None
        self.shown = False

    def _mesh_for(self, shape):
        """The mesh, with room for a ``rows × cols`` grid of unit cells from (0, 0) (:meth:`show` moves it
        with its transform). A mesh's vertices are fixed: it is made for the largest grid shown so far,
        the cells beyond the one shown are transparent; a larger grid makes a new one."""
        if self.mesh is not None:
            have = self.mesh.get_coordinates().shape[:2]
            if have[0] > shape[0] and have[1] > shape[1]:
                return self.mesh
            shape = (max(shape[0], have[0] - 1), max(shape[1], have[1] - 1))
            visible = self.mesh.get_visible()
            self.mesh.remove()
        else:
            visible = True
        xx, yy = np.meshgrid(np.arange(shape[1] + 1, dtype=float), np.arange(shape[0] + 1, dtype=float))
        self.mesh = QuadMesh(np.stack([xx, yy], axis=-1), antialiased=False, edgecolors="none", zorder=self.zorder,
                             visible=visible)
        self.ax.add_collection(self.mesh, autolim=False)
        return self.mesh

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
        mesh = self._mesh_for((rows, cols))
        faces = np.zeros(tuple(n - 1 for n in mesh.get_coordinates().shape[:2]) + (4,))
        faces[:rows, :cols] = colors
        mesh.set_facecolor(faces.reshape(-1, 4))
        mesh.set_transform(Affine2D().translate(x0, y0) + self.ax.transData)
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
        self.labelled = text is not None
        strings = [] if text is None else [str(text[r][c]) for r in range(rows) for c in range(cols)]
        while len(self.texts) < len(strings):
            self.texts.append(self.ax.text(0, 0, "", ha="center", va="center", fontsize=self.fontsize,
                                           color=self.text_color, zorder=3, in_layout=False))
        for i, t in enumerate(self.texts):
            if i < len(strings):
                r, c = divmod(i, cols)
                t.set_position((x0 + c + 0.5, y0 + r + 0.5))
                t.set_text(strings[i])
            else:
                t.set_text("")
        mesh.set_visible(visible)
        self.edges.set_visible(visible)
        for t in self.texts:
            t.set_visible(visible)
        self.shown = bool(visible)
        return self

    def hide(self):
        self.shown = False
        self.mesh.set_visible(False)
        self.edges.set_visible(False)
        for t in self.texts:
            t.set_visible(False)

    def labels(self):
        """The texts shown, as a list of rows of strings (what a reader sees; [] when the block has none
        or is hidden)."""
        rows, cols = self.shape
        texts = [t.get_text() for t in self.texts[:rows * cols]]
        if not self.shown or not self.labelled:
            return []
        return [texts[r * cols:(r + 1) * cols] for r in range(rows)]

    def colors(self) -> np.ndarray:
        """The cells' RGBA colours, ``(rows, cols, 4)``."""
        rows, cols = self.shape
        have = self.mesh.get_coordinates().shape[:2]
        return np.asarray(self.mesh.get_facecolor()).reshape(have[0] - 1, have[1] - 1, 4)[:rows, :cols]

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
