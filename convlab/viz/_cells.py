"""A block of grid cells (colour + optional value text) that can be redrawn in place.

Shared by the transposed-convolution and Unfold/Fold figures. One ``QuadMesh``
holds the colours, one ``LineCollection`` the cell edges and one :class:`Labels`
the values, so a redraw with a new array only calls ``set_facecolor`` /
``set_segments`` / ``set_labels`` on existing artists (a grid larger than any
before makes a new mesh: its vertices are fixed). :class:`Labels` (many strings,
one artist) also writes the numbers of the sliding-window, 1d, 3d and channels
figures.
Cell ``(r, c)`` of a block placed at ``origin=(x0, y0)`` covers
``[x0 + c, x0 + c + 1] × [y0 + r, y0 + r + 1]`` in data units, with ``y``
growing downwards (callers invert the y axis, see :func:`prepare_axes`).
"""
from __future__ import annotations

import matplotlib as mpl
import numpy as np
from matplotlib import colormaps
from matplotlib.artist import Artist, allow_rasterization
from matplotlib.collections import LineCollection, QuadMesh
from matplotlib.colors import Normalize, to_rgba, to_rgba_array
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib.transforms import Affine2D, Bbox

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


class Labels(Artist):
    """Many short strings in one font, drawn by one artist: the numbers of a grid of cells.

    Each label is drawn where a ``Text`` with the same font, colour and alignment would be
    (its layout is Text's own, measured once per distinct string and kept), but a frame pays
    for one artist instead of one ``Text.draw`` per number (~0.3 ms each: a 121-cell grid
    with its labels cost more than the rest of the frame). Labels are plain (math text as
    ``Text`` parses it), unrotated; an empty string draws nothing.

    ``xy``: ``(N, 2)`` positions in ``transform`` coordinates (the data by default, once
    added to an Axes); ``texts``: N strings; ``colors``: one colour or N (default: Text's).
    Change them with :meth:`set_labels`. Add with ``ax.add_artist`` or :func:`add_labels`;
    not clipped to the Axes (as ``ax.text``) unless ``clip_on=True``; left out of layouts.

    The layout comes from ``Text._get_layout`` (private, in matplotlib since long before
    3.0): the one way to land on Text's pixels.
    """

    def __init__(self, xy=(), texts=(), colors=None, *, color=None, fontsize=None, fontweight=None, family=None,
                 ha="center", va="center", zorder=3, **kwargs):
        super().__init__()
        self._prop = FontProperties(size=fontsize or style.FONT_SIZE, weight=fontweight, family=family)
        self._color = color or mpl.rcParams["text.color"]          # Text's default
        self._ha, self._va = ha, va
        self._layouts = {}
        self.set_zorder(zorder)
        self.set_in_layout(False)
        kwargs.setdefault("clip_on", False)
        self.update(kwargs)
        self.set_labels(xy, texts, colors)

    def set_labels(self, xy, texts, colors=None):
        """New positions, strings and (optionally) colours, all at once (same length)."""
        texts = [str(t) for t in texts]
        xy = np.asarray(xy, dtype=float).reshape(len(texts), 2)
        rgba = to_rgba_array(self._color if colors is None else colors)
        if len(rgba) == 1:
            rgba = np.repeat(rgba, len(texts), axis=0)
        if len(rgba) != len(texts):
            raise ValueError(f"{len(texts)} labels but {len(rgba)} colours")
        self._xy, self._texts, self._rgba = xy, texts, rgba
        self.stale = True

    def get_texts(self) -> list:
        """The strings, in order ("" for a label not shown)."""
        return list(self._texts)

    def get_offsets(self) -> np.ndarray:
        """The ``(N, 2)`` positions."""
        return self._xy.copy()

    def get_colors(self) -> np.ndarray:
        """The ``(N, 4)`` RGBA colours."""
        return self._rgba.copy()

    def get_fontproperties(self) -> FontProperties:
        return self._prop

    def text_at(self, x, y) -> str:
        """The string of the label at position ``(x, y)`` ("" if none)."""
        hit = np.flatnonzero(np.all(np.isclose(self._xy, (x, y)), axis=1)) if len(self._xy) else []
        return self._texts[hit[0]] if len(hit) else ""

    def _layout(self, s, renderer):
        """``(lines, box)`` of string ``s``: each line's ``(text, ismath, dx, dy)`` and the box
        ``(x0, y0, w, h)``, in pixels from the label's position (y up), as ``Text`` lays it out."""
        key = (s, type(renderer), renderer.dpi)
        hit = self._layouts.get(key)
        if hit is None:
            t = Text(0, 0, s, fontproperties=self._prop, horizontalalignment=self._ha, verticalalignment=self._va)
            t.set_figure(self.figure)
            box, info, _ = t._get_layout(renderer)
            lines = [(*t._preprocess_math(line), x, y) for line, _, (x, y) in info]
            hit = self._layouts[key] = (lines, tuple(box.bounds))
            if len(self._layouts) > 4096:
                self._layouts.pop(next(iter(self._layouts)))
        return hit

    @allow_rasterization
    def draw(self, renderer):
        if not self.get_visible() or not any(self._texts):
            return
        if not _TEXT_LAYOUT:                # a matplotlib without Text._get_layout: one Text per label
            self._draw_as_texts(renderer)
            return
        renderer.open_group("labels", self.get_gid())
        pos = self.get_transform().transform(self._xy)
        height = renderer.get_canvas_width_height()[1]
        flip = renderer.flipy()
        gc = renderer.new_gc()
        gc.set_alpha(self.get_alpha())
        gc.set_url(self.get_url())
        gc.set_antialiased(mpl.rcParams["text.antialiased"])
        gc.set_snap(self.get_snap())
        self._set_gc_clip(gc)
        for (px, py), s, rgba in zip(pos, self._texts, self._rgba):
            if not s or not (np.isfinite(px) and np.isfinite(py)):
                continue
            gc.set_foreground(rgba, isRGBA=True)
            for line, ismath, dx, dy in self._layout(s, renderer)[0]:
                y = py + dy
                renderer.draw_text(gc, px + dx, height - y if flip else y, line, self._prop, 0, ismath=ismath)
        gc.restore()
        renderer.close_group("labels")
        self.stale = False

    def _draw_as_texts(self, renderer):
        for (x, y), s, rgba in zip(self._xy, self._texts, self._rgba):
            if s:
                t = Text(x, y, s, color=rgba, fontproperties=self._prop, horizontalalignment=self._ha,
                         verticalalignment=self._va, transform=self.get_transform(), clip_on=self.get_clip_on())
                t.set_figure(self.figure)
                t.draw(renderer)
        self.stale = False

    def get_window_extent(self, renderer=None):
        if renderer is None:
            renderer = self.figure._get_renderer()
        boxes = []
        for (px, py), s in zip(self.get_transform().transform(self._xy), self._texts):
            if s and np.isfinite(px) and np.isfinite(py):
                if not _TEXT_LAYOUT:
                    t = Text(px, py, s, fontproperties=self._prop, horizontalalignment=self._ha,
                             verticalalignment=self._va, transform=Affine2D())
                    t.set_figure(self.figure)
                    boxes.append(t.get_window_extent(renderer))
                    continue
                x0, y0, w, h = self._layout(s, renderer)[1]
                boxes.append(Bbox.from_bounds(px + x0, py + y0, w, h))
        return Bbox.union(boxes) if boxes else Bbox.null()


_TEXT_LAYOUT = hasattr(Text, "_get_layout") and hasattr(Text, "_preprocess_math")


def add_labels(ax, fontsize=None, color=None, **kwargs) -> Labels:
    """An empty :class:`Labels` on ``ax`` (fill it with ``set_labels``)."""
    labels = Labels(fontsize=fontsize, color=color, **kwargs)
    ax.add_artist(labels)
    return labels


class Cells:
    """One block of cells on ``ax``; call :meth:`show` to (re)draw it with new data.

    Attributes: ``mesh`` (QuadMesh, one quadrilateral per cell: the face colours, see
    :meth:`colors`), ``edges`` (LineCollection), ``text`` (:class:`Labels`, one per cell,
    row-major), ``shape``, ``origin``, ``values`` (the array last shown), ``shown`` (False
    once hidden; a snapshot hides the artists of a block it pastes, not the block).

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
        self.text = add_labels(ax, fontsize=self.fontsize, color=self.text_color, zorder=3)
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
        if text is not None:
            cx, cy = np.meshgrid(x0 + np.arange(cols) + 0.5, y0 + np.arange(rows) + 0.5)
            self.text.set_labels(np.column_stack([cx.ravel(), cy.ravel()]),
                                 [str(text[r][c]) for r in range(rows) for c in range(cols)])
        else:
            self.text.set_labels([], [])
        mesh.set_visible(visible)
        self.edges.set_visible(visible)
        self.text.set_visible(visible)
        self.shown = bool(visible)
        return self

    def artists(self) -> list:
        """Every artist of the block (the mesh, the edges, the labels): the ``live`` list
        of :func:`~convlab.viz._widgets.snapshot_axes` for a block a control redraws."""
        return [self.mesh, self.edges, self.text]

    def hide(self):
        self.shown = False
        self.mesh.set_visible(False)
        self.edges.set_visible(False)
        self.text.set_visible(False)

    def labels(self):
        """The texts shown, as a list of rows of strings (what a reader sees, also when the block is
        pasted as part of a snapshot; [] when the block has none or is hidden)."""
        rows, cols = self.shape
        texts = self.text.get_texts()
        if len(texts) != rows * cols or not self.shown:
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
