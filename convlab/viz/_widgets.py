"""Plumbing shared by every explorer: a figure shown as a PNG ``ipywidgets.Image``.

An explorer builds its matplotlib figure once (Agg, no pyplot state), and an
``update(**values)`` function that moves the existing artists. :func:`explorer`
wires controls to ``update`` and re-renders the PNG; :func:`static_explorer`
pre-renders one frame per slider value and links slider -> frame on the client
(``jslink``), so the control keeps working in a static page with no kernel.

PNG frames (not ipympl) keep one code path for JupyterLab, the slides and the
static book, and need no front-end extension.

Rendering text is most of a frame's cost, so explorers keep the artists a control
does not move out of the redraw: :func:`snapshot_axes` draws an Axes' static
artists once into a picture that the figure pastes pixel for pixel, and only the
``live`` artists are drawn again (blitting, as ``canvas.copy_from_bbox`` /
``restore_region`` do for interactive backends, but kept inside the figure so
``savefig`` and the static frames get it too).
"""
from __future__ import annotations

import io
import struct
import time
import zlib
from collections import OrderedDict

import ipywidgets as widgets
import matplotlib as mpl
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg, get_hinting_flag
from matplotlib.figure import Figure
from matplotlib.image import FigureImage

from . import style


def new_figure(width: float, height: float, **kwargs) -> Figure:
    """A figure detached from pyplot (no global state, no inline display)."""
    return Figure(figsize=(width, height), dpi=style.DPI, layout="constrained", **kwargs)


# --------------------------------------------------------------------------- text as cached bitmaps

_TEXT_CACHE: OrderedDict = OrderedDict()
TEXT_CACHE_SIZE = 4096          # strings kept as bitmaps (about 1.5 kB each: a few MB when full)


def clear_text_cache() -> None:
    """Forget the text bitmaps of :class:`FrameRenderer` (benchmarks start cold with it)."""
    _TEXT_CACHE.clear()


def _font_key(prop):
    return (tuple(prop.get_family()), prop.get_slant(), prop.get_variant(), prop.get_weight(),
            prop.get_stretch(), prop.get_size_in_points(), prop.get_file())


class FrameRenderer(RendererAgg):
    """``RendererAgg`` that draws a string as one bitmap, rendered once and cached by string and font.

    Matplotlib 3.11 renders text glyph by glyph at sub-pixel positions, about 0.1 ms a glyph:
    the hundreds of numbers and formulas of an explorer frame cost most of its redraw. This
    renderer draws plain horizontal text the way matplotlib 3.10 did (the whole string into
    one bitmap, placed on whole pixels) and keeps the bitmaps, so a number or heading seen
    before costs one image copy. Rotated text, mathtext and text with font features go
    to ``RendererAgg`` unchanged; so does everything when the FreeType calls are missing.
    """

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if ismath or angle or not _WHOLE_STRING or _shaped(mtext):
            return super().draw_text(gc, x, y, s, prop, angle, ismath=ismath, mtext=mtext)
        image, xo, descent = self._text_bitmap(s, prop, gc.get_antialiased())
        if image.size:
            self._renderer.draw_text_image(image, round(x + xo), round(y + descent) + 1, 0, gc)

    def _text_bitmap(self, s, prop, antialiased):
        key = (s, _font_key(prop), self.dpi, bool(antialiased), mpl.rcParams["text.hinting"],
               mpl.rcParams["text.hinting_factor"])
        hit = _TEXT_CACHE.get(key)
        if hit is not None:
            _TEXT_CACHE.move_to_end(key)
            return hit
        font = self._prepare_font(prop)
        font.set_text(s, 0, flags=get_hinting_flag())
        font.draw_glyphs_to_bitmap(antialiased=bool(antialiased))
        hit = (np.array(font.get_image()), font.get_bitmap_offset()[0] / 64, font.get_descent() / 64)
        _TEXT_CACHE[key] = hit
        if len(_TEXT_CACHE) > TEXT_CACHE_SIZE:
            _TEXT_CACHE.popitem(last=False)
        return hit


def _shaped(mtext) -> bool:
    """Whether a Text asks for font features or a language (matplotlib >= 3.11 shapes those)."""
    return mtext is not None and any(getattr(mtext, name, lambda: None)() for name in ("get_fontfeatures",
                                                                                         "get_language"))


def _has_whole_string_text():
    """Whether this matplotlib has the (partly private) calls FrameRenderer uses; if not, plain RendererAgg."""
    from matplotlib.ft2font import FT2Font
    return (all(hasattr(FT2Font, name) for name in ("set_text", "draw_glyphs_to_bitmap", "get_image",
                                                    "get_bitmap_offset", "get_descent"))
            and hasattr(RendererAgg, "_prepare_font"))


_WHOLE_STRING = _has_whole_string_text()


class FrameCanvas(FigureCanvasAgg):
    """The Agg canvas of explorer figures: draws with :class:`FrameRenderer`."""

    def get_renderer(self):
        w, h = self.get_width_height(physical=True)
        key = w, h, self.figure.dpi
        if getattr(self, "_lastKey", None) != key:
            self.renderer = FrameRenderer(w, h, self.figure.dpi)
            self._lastKey = key
        return self.renderer


def frame_canvas(fig: Figure) -> "FrameCanvas":
    """The figure's :class:`FrameCanvas` (made on first use: frames and snapshots draw with it)."""
    return fig.canvas if isinstance(fig.canvas, FrameCanvas) else FrameCanvas(fig)


def render_png(fig: Figure, dpi: int | None = None) -> bytes:
    """The figure as PNG bytes, drawn by its :class:`FrameCanvas` (at another ``dpi``: ``savefig``)."""
    canvas = frame_canvas(fig)
    dpi = dpi or style.DPI
    if dpi != fig.dpi:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, pil_kwargs={"compress_level": 1})
        return buf.getvalue()
    canvas.draw()
    return encode_png(np.asarray(canvas.buffer_rgba()))


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_png(rgba: np.ndarray, level: int = 1) -> bytes:
    """PNG bytes of an ``(H, W, 4)`` uint8 image: RGBA, no row filter, zlib ``level``.

    A few times faster than Pillow's encoder (which tries five filters on every row) on the
    flat colours of a figure, for frames of about the same size. The alpha channel stays even
    when the image is opaque: dropping it is a strided copy that costs more than zlib saves.
    """
    height, width = rgba.shape[:2]
    rows = np.empty((height, 1 + width * 4), dtype=np.uint8)    # each row: filter type 0, pixels
    rows[:, 0] = 0
    rows[:, 1:] = np.ascontiguousarray(rgba, dtype=np.uint8).reshape(height, -1)
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)   # 8 bits, RGBA
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", zlib.compress(rows, level))
            + _png_chunk(b"IEND", b""))


class _AxesPicture(FigureImage):
    """The picture of an Axes' static artists, pasted pixel for pixel (no resampling) by the figure.

    Rendered at another DPI or with another figure box (``bbox_inches='tight'``),
    it draws the hidden artists themselves instead, so the figure stays right.
    """

    def __init__(self, figure, picture, x0, y0, hidden):
        super().__init__(figure, offsetx=x0, offsety=y0, origin="upper", zorder=-1)
        self._bottom_up = np.ascontiguousarray(picture[::-1])    # the row order draw_image takes (one copy)
        # the image array, as ``set_data`` would keep it, without its checked copy of a whole picture
        # (uint8 RGBA has nothing to mask); ``get_array`` / ``get_extent`` read it
        self._A = self._bottom_up[::-1]
        self._imcache = None
        self.hidden = hidden
        self._geometry = (figure.dpi, tuple(figure.bbox.bounds))

    def draw(self, renderer):
        if (getattr(renderer, "dpi", None), tuple(self.figure.bbox.bounds)) == self._geometry:
            if self._bottom_up.size:
                gc = renderer.new_gc()         # paste as is: no resampling
                renderer.draw_image(gc, self.ox, self.oy, self._bottom_up)
                gc.restore()
            return
        for artist in self.hidden:
            artist.set_visible(True)
            artist.draw(renderer)
            artist.set_visible(False)


def release_snapshot(ax) -> None:
    """Undo :func:`snapshot_axes`: drop the picture, show the artists again."""
    old = getattr(ax, "_convlab_snapshot", None)
    if old is None:
        return
    picture, patch_visible = old
    if picture in ax.figure.images:
        picture.remove()
    for artist in picture.hidden:
        artist.set_visible(True)
    ax.patch.set_visible(patch_visible)
    ax._convlab_snapshot = None


def snapshot_axes(ax, live=()):
    """Draw ``ax`` once and paste that picture instead of its many artists; returns the picture artist.

    A redraw then costs one image copy plus the ``live`` artists (the ones a
    control moves) instead of every cell, label, tick and spine. The static artists stay in
    ``ax``, hidden, with their properties intact: change them, then call again (or call
    :func:`release_snapshot` first, e.g. before ``ax.clear()``). Artists hidden at the time
    of the snapshot are left alone, so showing one later draws it live.

    Take the snapshot once the figure's layout is final (see ``freeze_layout``).
    """
    release_snapshot(ax)
    fig = ax.figure
    live = set(map(id, live))
    titles = [t for t in (ax.title, ax._left_title, ax._right_title) if t.get_visible() and t.get_text()]
    frame = [a for a in (ax.xaxis, ax.yaxis, *ax.spines.values()) if a.get_visible()] if ax.axison else []
    content = [a for a in (*ax.patches, *ax.texts, *ax.lines, *ax.collections, *ax.images, *ax.artists)
               if a.get_visible()]
    static = [a for a in content if id(a) not in live]
    moving = [a for a in content if id(a) in live]
    renderer = frame_canvas(fig).get_renderer()
    renderer.clear()                          # transparent: only what ``ax`` draws is kept
    for artist in moving:
        artist.set_visible(False)
    ax.draw(renderer)
    for artist in moving:
        artist.set_visible(True)
    buf = np.asarray(renderer.buffer_rgba())
    height = buf.shape[0]
    pixels = buf.view(np.uint32)[..., 0]                # one word a pixel: 0 where nothing was drawn
    rows = np.flatnonzero(pixels.any(axis=1))           # the drawn pixels, texts outside the axes box included
    if rows.size:
        cols = np.flatnonzero(pixels[rows[0]:rows[-1] + 1].any(axis=0))
        y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    else:
        y0 = y1 = x0 = x1 = 0
    hidden = static + titles + frame
    picture = _AxesPicture(fig, buf[y0:y1, x0:x1], int(x0), int(height - y1), hidden)
    fig.images.append(picture)
    picture._remove_method = fig.images.remove
    for artist in hidden:
        artist.set_visible(False)
    ax._convlab_snapshot = (picture, ax.patch.get_visible())
    ax.patch.set_visible(False)
    return picture


class Explorer(widgets.VBox):
    """Controls above a figure image. ``set(**values)`` changes controls programmatically (tests, notebooks).

    Attributes: ``controls`` (name -> widget), ``figure``, ``image``, ``state`` (whatever
    ``update`` returned last: numbers the tests and the follow-up notebook cells check),
    ``last_redraw_ms``.
    """

    def __init__(self, figure: Figure, controls: dict, update, extra=None):
        self.controls = dict(controls)
        self.figure = figure
        self.image = widgets.Image(format="png")
        self._update = update
        self.state = None
        self.last_redraw_ms = float("nan")
        rows = [widgets.HBox(list(self.controls.values()), layout=widgets.Layout(flex_flow="row wrap"))]
        rows += list(extra or [])
        super().__init__(rows + [self.image])
        for w in self.controls.values():
            w.observe(self._on_change, names="value")
        self.refresh()

    def values(self) -> dict:
        return {name: w.value for name, w in self.controls.items()}

    def refresh(self):
        t0 = time.perf_counter()
        self.state = self._update(**self.values())
        self.image.value = render_png(self.figure)
        self.last_redraw_ms = (time.perf_counter() - t0) * 1e3
        return self.state

    def _on_change(self, change):
        self.refresh()

    def adjust(self, name, **traits):
        """Change traits of control ``name`` (``max``, ``options``, ``value`` …) without a redraw.

        For ``update`` functions whose ranges depend on other controls (e.g. the
        number of output positions); a value clamped by the new range triggers no
        nested redraw. Returns the control.
        """
        w = self.controls[name]
        w.unobserve(self._on_change, names="value")
        try:
            for key, value in traits.items():
                setattr(w, key, value)
        finally:
            w.observe(self._on_change, names="value")
        return w

    def set(self, **values):
        """Set several controls at once, then redraw once; returns the new ``state``."""
        for name, value in values.items():
            w = self.controls[name]
            w.unobserve(self._on_change, names="value")
            try:
                w.value = value
            finally:
                w.observe(self._on_change, names="value")
        return self.refresh()


def explorer(figure: Figure, controls: dict, update, extra=None) -> Explorer:
    """Build an :class:`Explorer`: ``update(**control_values)`` moves artists and returns a state dict."""
    return Explorer(figure, controls, update, extra)


def static_explorer(figure: Figure, update, name: str, values, fixed: dict | None = None,
                    description: str | None = None, interval_ms: int = 700) -> widgets.VBox:
    """Pre-render one PNG per value of one control and link a slider (and Play) to them on the client.

    Works in a static HTML page with no kernel: the link is ``jslink`` between the
    slider's ``index`` and a ``Stack``'s ``selected_index``.
    """
    fixed = dict(fixed or {})
    values = list(values)
    frames = []
    for v in values:
        update(**fixed, **{name: v})
        frames.append(widgets.Image(value=render_png(figure), format="png"))
    slider = widgets.SelectionSlider(options=[(str(v), i) for i, v in enumerate(values)], value=0,
                                     description=description or name, continuous_update=True)
    play = widgets.Play(min=0, max=len(values) - 1, step=1, interval=interval_ms, value=0)
    stack = widgets.Stack(frames, selected_index=0)
    widgets.jslink((play, "value"), (slider, "index"))
    widgets.jslink((slider, "index"), (stack, "selected_index"))
    box = widgets.VBox([widgets.HBox([play, slider]), stack])
    box.frames = frames
    box.slider = slider
    return box
