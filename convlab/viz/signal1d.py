"""A 1d convolution as a kernel sliding along a signal, the output growing one sample per step.

Introduced in notebook 2 (Conv1d). Three rows share one story: the padded input
signal (stems; grey stems are zero padding), the kernel's taps at the current
output position (spread by ``dilation``, ``stride`` cells per step) and the
output signal, drawn up to the current sample. x coordinates of the first two
rows are input indices (padding at negative indices and indices ``>= L_in``);
the output row is indexed by output position.
"""
from __future__ import annotations

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.patches import Rectangle

from ..nn import functional as F
from . import style
from ._widgets import new_figure, release_snapshot, snapshot_axes, static_explorer
from .window import (_int_slider, explorer_data, fmt, fmt_factor, freeze_layout, geometry_sliders,
                     scrubbed_explorer, set_title)

__all__ = ["window_taps", "draw_signal", "draw_kernel_at", "kernel_artists", "move_kernel", "draw_output_signal",
           "output_artists", "grow_output", "dot_product_1d", "conv1d_explorer", "conv1d_static"]


def window_taps(position, kernel_size, stride=1, padding=0, dilation=1) -> list:
    """Input indices read by output sample ``position``: ``position * stride - padding + t * dilation``."""
    return [position * stride - padding + t * dilation for t in range(kernel_size)]


def _stems(xs, ys):
    return [((x, 0.0), (x, y)) for x, y in zip(xs, ys)]


def _limits(ax, lo, hi, values):
    top = max(1.0, float(np.max(np.abs(values), initial=0.0))) * 1.25
    ax.set_xlim(lo - 0.7, hi - 0.3)
    ax.set_ylim(-top, top)


def _style(ax):
    """The look of a stem panel (once per Axes): the zero line, small tick labels, only the bottom spine.

    The axes have no axis labels: placing those at fixed coordinates skips matplotlib's search for a
    spot clear of the tick labels of every axes sharing x, a fifth of a panel's redraw."""
    ax.axhline(0, color=style.EDGE, linewidth=0.6, zorder=0)
    ax.tick_params(labelsize=style.FONT_SIZE - 1)
    ax.set_yticks([])
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.xaxis.set_label_coords(0.5, 0.0)
    ax.yaxis.set_label_coords(0.0, 0.5)


def draw_signal(ax, x, padding=0, *, artists=None) -> dict:
    """Stem plot of the 1d input ``x`` (``(L_in,)``) with ``padding`` zero samples on each side.

    Returns ``{"stems", "markers"}`` for the input samples (x = 0 … L_in − 1) and
    ``{"pad_stems", "pad_markers"}`` for the padding (grey, value 0). Pass it back as
    ``artists`` to redraw in place for another padding.
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"x must be a 1d signal (L_in,), got shape {x.shape}")
    idx = np.arange(len(x))
    pad = np.r_[np.arange(-padding, 0), np.arange(len(x), len(x) + padding)]
    if artists is None:
        artists = {
            "stems": ax.add_collection(LineCollection([], colors=style.INPUT_LINE, linewidths=2)),
            "markers": ax.plot([], [], "o", color=style.INPUT_LINE, markersize=5)[0],
            "pad_stems": ax.add_collection(LineCollection([], colors=style.MUTED)),
            "pad_markers": ax.plot([], [], "o", color=style.MUTED, markersize=5, mfc="white")[0],
        }
        _style(ax)
    artists["stems"].set_segments(_stems(idx, x))
    artists["markers"].set_data(idx, x)
    artists["pad_stems"].set_segments(_stems(pad, np.zeros(len(pad))))
    artists["pad_markers"].set_data(pad, np.zeros(len(pad)))
    _limits(ax, -padding, len(x) + padding, x)
    set_title(ax, f"input, L_in={len(x)}" + (f", padding={padding} (zeros)" if padding else ""))
    return artists


def draw_kernel_at(ax, w, position, stride=1, padding=0, dilation=1, *, artists=None) -> dict:
    """The kernel ``w`` (``(kernel_size,)``) placed on the taps of output sample ``position``.

    ``"window"`` is a band over the receptive field (``dilation·(kernel_size − 1) + 1``
    input cells), ``"stems"``/``"markers"`` the weights at the tap positions and
    ``"labels"`` their values. Move them with :func:`move_kernel`; pass the dict back as
    ``artists`` to redraw in place for another kernel (unused labels are hidden and kept).
    """
    w = np.asarray(w, dtype=float)
    if artists is None:
        artists = {
            "window": ax.add_patch(Rectangle((0, 0), 1, 1, facecolor=style.KERNEL, alpha=0.25,
                                             edgecolor=style.WINDOW, linewidth=1.5, zorder=0)),
            "stems": ax.add_collection(LineCollection([], colors=style.TAP_EDGE, linewidths=2)),
            "markers": ax.plot([], [], "s", color=style.TAP_EDGE, markersize=5)[0],
            "_pool": [],
        }
        _style(ax)
    pool = artists["_pool"]
    while len(pool) < len(w):
        pool.append(ax.text(0, 0, "", ha="center", fontsize=style.FONT_SIZE - 1, color=style.TEXT))
    for label, v in zip(pool, w):
        label.set_text(fmt(v))
        label.set_verticalalignment("bottom" if v >= 0 else "top")
        label.set_visible(True)
    for label in pool[len(w):]:
        label.set_visible(False)
    artists["labels"] = pool[:len(w)]
    artists["_w"] = w
    top = max(1.0, float(np.max(np.abs(w), initial=0.0))) * 1.5
    ax.set_ylim(-top, top)
    move_kernel(artists, position, stride, padding, dilation)
    return artists


def kernel_artists(art) -> list:
    """Every artist :func:`move_kernel` moves, the hidden labels included (the ``live`` list of a snapshot)."""
    return [art["window"], art["stems"], art["markers"], *art["_pool"]]


def move_kernel(art, position, stride=1, padding=0, dilation=1) -> list:
    """Move the artists of :func:`draw_kernel_at` to output sample ``position``; returns the taps."""
    w = art["_w"]
    taps = window_taps(position, len(w), stride, padding, dilation)
    top = art["window"].axes.get_ylim()[1]
    art["window"].set_xy((taps[0] - 0.5, -top))
    art["window"].set_width(taps[-1] - taps[0] + 1)
    art["window"].set_height(2 * top)
    art["stems"].set_segments(_stems(taps, w))
    art["markers"].set_data(taps, w)
    for label, t, v in zip(art["labels"], taps, w):
        label.set_position((t, v + (0.08 if v >= 0 else -0.08) * top))
    return taps


def draw_output_signal(ax, y, position=None, *, artists=None) -> dict:
    """Stems of the output ``y`` up to sample ``position`` (all when None); the current one highlighted.

    Returns ``{"stems", "markers", "active", "label"}``; :func:`grow_output` moves them. Pass it
    back as ``artists`` to redraw in place for another output.
    """
    y = np.asarray(y, dtype=float)
    if artists is None:
        artists = {
            "stems": ax.add_collection(LineCollection([], colors=style.OUTPUT_LINE, linewidths=2)),
            "markers": ax.plot([], [], "o", color=style.OUTPUT_LINE, markersize=5)[0],
            "active": ax.plot([], [], "o", color=style.ACTIVE, markersize=9, zorder=5)[0],
            "label": ax.text(0, 0, "", ha="center", fontsize=style.FONT_SIZE, color=style.ACTIVE, zorder=6),
        }
        _style(ax)
    artists["_y"] = y
    _limits(ax, 0, len(y), y)
    ax.set_xticks(range(len(y)))
    set_title(ax, f"output, L_out={len(y)}")
    grow_output(artists, len(y) - 1 if position is None else position)
    return artists


def output_artists(art) -> list:
    """The artists :func:`grow_output` moves (the ``live`` list of a snapshot)."""
    return [art["stems"], art["markers"], art["active"], art["label"]]


def grow_output(art, position) -> None:
    """Show output samples ``0 … position`` and mark ``position``."""
    y = art["_y"]
    shown = np.arange(position + 1)
    art["stems"].set_segments(_stems(shown, y[:position + 1]))
    art["markers"].set_data(shown, y[:position + 1])
    art["active"].set_data([position], [y[position]])
    top = art["label"].axes.get_ylim()[1]
    art["label"].set_position((position, (-0.3 if y[position] >= 0 else 0.12) * top))   # across the axis
    art["label"].set_text(fmt(y[position]))


def dot_product_1d(x, w, position, stride=1, padding=0, dilation=1):
    """``(terms, text)``: the ``(input, weight)`` pairs summed into output sample ``position``, and the sum."""
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    taps = window_taps(position, len(w), stride, padding, dilation)
    terms = [(float(x[i]) if 0 <= i < len(x) else 0.0, float(v)) for i, v in zip(taps, w)]
    total = sum(a * b for a, b in terms)
    products = " + ".join(f"x[{i}]·w[{t}]" for t, i in enumerate(taps))
    numbers = " + ".join(f"{fmt_factor(a)}·{fmt_factor(b)}" for a, b in terms)
    return terms, f"y[{position}] = {products}\n     = {numbers} = {fmt(total)}"


def default_signal(length=12, seed=1) -> np.ndarray:
    """A short integer signal (a slow wave plus small noise), so sums can be checked by hand."""
    t = np.arange(length)
    noise = np.random.default_rng(seed).integers(-1, 2, length)
    return (np.round(3 * np.sin(2 * np.pi * t / length)) + noise).astype(np.float64)


def default_kernel_1d(kernel_size) -> np.ndarray:
    """A small integer kernel, the same for the same ``kernel_size``."""
    return np.random.default_rng(200 + kernel_size).integers(-1, 3, kernel_size).astype(np.float64)


class _SignalScene:
    def __init__(self, x, weight, max_padding):
        self.x, self.weight = x, weight
        width = max(6.0, 0.42 * (len(x) + 2 * max_padding) + 1.0)
        self.figure = new_figure(width, 4.6)
        gs = self.figure.add_gridspec(4, 1, height_ratios=[1.2, 0.9, 1.2, 0.5])
        self.ax_x = self.figure.add_subplot(gs[0])
        self.ax_k = self.figure.add_subplot(gs[1], sharex=self.ax_x)
        self.ax_y = self.figure.add_subplot(gs[2])
        self.ax_t = self.figure.add_subplot(gs[3])
        self.ax_t.set_axis_off()
        self.text = self.ax_t.text(0, 1, "", va="top", family="monospace", fontsize=style.FONT_SIZE,
                                   transform=self.ax_t.transAxes)
        self.keys = {}
        self.sig = self.kern = self.out = None

    def kernel(self, kernel_size):
        return self.weight if self.weight is not None else default_kernel_1d(kernel_size)

    def update(self, kernel_size=3, stride=1, padding=0, dilation=1, position=0):
        x, w = self.x, self.kernel(kernel_size)
        try:
            y = F.conv1d(x[None, None], w[None, None], stride=stride, padding=padding, dilation=dilation)[0, 0]
        except ValueError as e:
            self.text.set_text("This layer cannot run:\n" + str(e)[:110] + "\n" + str(e)[110:220])
            release_snapshot(self.ax_k)
            release_snapshot(self.ax_y)
            self.ax_k.set_visible(False)
            self.ax_y.set_visible(False)
            self.keys.pop("k", None)
            self.keys.pop("y", None)
            return {"error": str(e), "output_length": None, "positions": 0, "position": position}
        position = min(max(int(position), 0), len(y) - 1)
        redrawn = []                       # (axes, live artists): panels drawn anew, pasted as snapshots
        if self.keys.get("x") != padding:
            release_snapshot(self.ax_x)      # the hidden static artists come back before they change
            self.sig = draw_signal(self.ax_x, x, padding, artists=self.sig)
            self.keys["x"] = padding
            redrawn.append((self.ax_x, []))
        if self.keys.get("k") != (w.tobytes(), stride, padding, dilation):
            release_snapshot(self.ax_k)
            self.ax_k.set_visible(True)
            self.kern = draw_kernel_at(self.ax_k, w, position, stride, padding, dilation, artists=self.kern)
            self.ax_k.set_xlim(-padding - 0.7, len(x) + padding - 0.3)
            set_title(self.ax_k, f"kernel, kernel_size={len(w)}, stride={stride}, dilation={dilation}")
            self.keys["k"] = (w.tobytes(), stride, padding, dilation)
            redrawn.append((self.ax_k, kernel_artists(self.kern)))
        taps = move_kernel(self.kern, position, stride, padding, dilation)
        if self.keys.get("y") != y.tobytes():
            release_snapshot(self.ax_y)
            self.ax_y.set_visible(True)
            self.out = draw_output_signal(self.ax_y, y, position, artists=self.out)
            self.keys["y"] = y.tobytes()
            redrawn.append((self.ax_y, output_artists(self.out)))
        grow_output(self.out, position)
        freeze_layout(self.figure)
        for ax, live in redrawn:
            snapshot_axes(ax, live)
        terms, text = dot_product_1d(x, w, position, stride, padding, dilation)
        self.text.set_text(text)
        total = sum(a * b for a, b in terms)
        return {"output_length": len(y), "positions": len(y), "position": position, "taps": taps,
                "window": (taps[0], taps[-1] + 1), "terms": terms, "total": total, "output": float(y[position]),
                "shown": position + 1, "kernel": w.copy()}


def _ranges(state):
    if "error" in state:
        return {}
    return {"position": {"max": state["positions"] - 1, "value": state["position"]}}


def conv1d_explorer(x=None, weight=None, *, kernel_size=3, stride=1, padding=1, dilation=1, position=0,
                    max_padding=3):
    """Slide a 1d kernel along a signal: Play over output positions, sliders for kernel_size, stride,
    padding, dilation.

    ``x``: a 1d signal (default: 12 small integers); ``weight``: a 1d kernel (fixes
    kernel_size). The output is ``convlab.nn.functional.conv1d`` (float64). ``state``
    holds ``output_length``, ``position``, ``taps``, ``window``, ``terms``, ``total``
    and ``output``, and ``shown`` (output samples drawn so far).

    Examples
    --------
    >>> ex = conv1d_explorer()
    >>> ex.set(stride=2, position=3)["taps"]
    [5, 6, 7]
    """
    x, weight, kernel_size = explorer_data(x, weight, kernel_size, default_signal)
    scene = _SignalScene(x, weight, max_padding)
    controls = {
        **geometry_sliders(kernel_size, stride, padding, dilation, kernel_max=7, stride_max=4,
                           padding_max=max_padding, dilation_max=4, fixed_kernel=weight is not None),
        "position": _int_slider("position", position, 0, 10 ** 6),
    }
    return scrubbed_explorer(scene, controls, _ranges, "position", "play: slide the kernel")


def conv1d_static(x=None, weight=None, *, kernel_size=3, stride=1, padding=1, dilation=1):
    """The book's form of :func:`conv1d_explorer`: one frame per output position."""
    x, weight, kernel_size = explorer_data(x, weight, kernel_size, default_signal)
    scene = _SignalScene(x, weight, padding)
    fixed = dict(kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation)
    first = scene.update(**fixed)
    if "error" in first:
        raise ValueError(first["error"])
    return static_explorer(scene.figure, scene.update, "position", range(first["positions"]), fixed)
