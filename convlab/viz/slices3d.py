"""A 3d convolution read one output depth slice at a time.

Introduced in notebook 4 (Conv3d). The input volume ``(D, H, W)`` is drawn as a
row of depth slices (each with its spatial zero-padding ring; whole grey slices
are depth padding). For output depth ``d_out`` the kernel reaches the input
slices ``d_out * stride - padding + t * dilation`` (``t = 0 … kernel_size − 1``);
those are framed, and the output slice beside them is the sum over ``t`` of
kernel slice ``t`` run as a 2d convolution over its input slice.
"""
from __future__ import annotations

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgba
from matplotlib.patches import Rectangle

from .. import geometry, nn
from ..reference import conv_nd
from . import style
from ._cells import add_labels
from ._widgets import new_figure, release_snapshot, snapshot_axes, static_explorer
from .window import (_int_slider, blank_axes, draw_output, explorer_data, fmt, freeze_layout,
                     geometry_sliders, scrubbed_explorer, set_title)

__all__ = ["depth_taps", "slice_origin", "draw_depth_slices", "depth_artists", "highlight_depth", "slice_sum",
           "conv3d_explorer", "conv3d_static"]

GAP = 1.0   # cells between two drawn slices


def depth_taps(depth, kernel_size, stride=1, padding=0, dilation=1) -> list:
    """Input depth indices read by output depth ``depth`` (negative or ``>= D``: depth padding)."""
    return [depth * stride - padding + t * dilation for t in range(kernel_size)]


def slice_origin(z, shape, padding) -> float:
    """x of input cell ``(z, 0, 0)`` in :func:`draw_depth_slices` (its padded grid starts ``padding`` before)."""
    width = shape[2] + 2 * padding
    return (z + padding) * (width + GAP) + padding


def draw_depth_slices(ax, x, padding=0, *, artists=None) -> dict:
    """Draw the volume ``x`` (``(D, H, W)``) as a row of zero-padded depth slices, left to right.

    Slice ``z`` (``-padding … D + padding − 1``) has its input cell ``(r, c)`` at
    ``(slice_origin(z) + c, r)``. The cell colours are one RGBA ``"image"`` (input
    cells ``style.INPUT``, padding ``style.PAD_ZERO``, transparent between slices)
    under one ``"grid"`` of lines; ``"values"`` (:class:`~convlab.viz._cells.Labels`) holds
    the input cells' numbers (padding cells are all 0 and carry none) and ``"depths"`` the
    ``z=…`` above each slice. Per slice, ``"frames"`` (hidden outlines) and ``"labels"``
    (empty texts below), dicts keyed by ``z``, are set by :func:`highlight_depth`. Pass the
    dict back as ``artists`` to redraw in place for another padding (frames and labels of
    slices no longer drawn are hidden and kept for later).
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 3:
        raise ValueError(f"x must be a volume (D, H, W), got shape {x.shape}")
    D, H, W = x.shape
    p = padding
    width = W + 2 * p
    total = (D + 2 * p) * (width + GAP) - GAP
    rgba = np.zeros((H + 2 * p, int(total), 4))
    inside_rgba, pad_rgba = to_rgba(style.INPUT), to_rgba(style.PAD_ZERO)
    if artists is None:
        artists = {"image": ax.imshow(np.zeros((1, 1, 4)), interpolation="nearest", zorder=1),
                   "grid": ax.add_collection(LineCollection([], colors=style.EDGE, linewidths=0.5, zorder=2)),
                   "values": add_labels(ax, fontsize=style.FONT_SIZE - 2, color=style.TEXT, zorder=5),
                   "depths": add_labels(ax, fontsize=style.FONT_SIZE - 1, va="bottom"),
                   "_frames": {}, "_labels": {}}
    frames, labels = artists["_frames"], artists["_labels"]       # every slice drawn so far, by z
    values, value_xy, depths, depth_xy, depth_colors, segments = [], [], [], [], [], []
    for z in range(-p, D + p):
        x0 = slice_origin(z, x.shape, p)
        left = int(x0 - p)
        rgba[:, left:left + width] = pad_rgba
        if 0 <= z < D:
            rgba[p:p + H, left + p:left + p + W] = inside_rgba
            for r in range(H):
                for c in range(W):
                    values.append(fmt(x[z, r, c]))
                    value_xy.append((x0 + c + 0.5, r + 0.5))
        segments += [((x0 + c, -p), (x0 + c, H + p)) for c in range(-p, W + p + 1)]
        segments += [((x0 - p, r), (x0 + W + p, r)) for r in range(-p, H + p + 1)]
        if z not in frames:
            frames[z] = ax.add_patch(Rectangle((0, 0), 1, 1, fill=False, edgecolor=style.WINDOW, linewidth=2.2,
                                               zorder=6, visible=False))
            labels[z] = ax.text(0, 0, "", ha="center", va="top", fontsize=style.FONT_SIZE, color=style.WINDOW,
                                zorder=6)
        frames[z].set_bounds(x0 - p - 0.15, -p - 0.15, width + 0.3, H + 2 * p + 0.3)
        labels[z].set_position((x0 + W / 2, H + p + 0.35))
        depths.append(f"z={z}")
        depth_xy.append((x0 + W / 2, -p - 0.3))
        depth_colors.append(style.TEXT if 0 <= z < D else style.MUTED)
    shown = range(-p, D + p)
    for z in frames:
        if z not in shown:
            frames[z].set_visible(False)
            labels[z].set_text("")
    artists["image"].set_data(rgba)
    artists["image"].set_extent((0, total, H + p, -p))
    artists["grid"].set_segments(segments)
    artists["values"].set_labels(value_xy, values)
    artists["depths"].set_labels(depth_xy, depths, depth_colors)
    artists["frames"] = {z: frames[z] for z in shown}
    artists["labels"] = {z: labels[z] for z in shown}
    ax.set_xlim(-0.3, total + 0.3)
    ax.set_ylim(H + p + 1.4, -p - 1.2)
    ax.set_aspect("equal")
    blank_axes(ax)
    set_title(ax, f"input depth slices, D={D}" + (f", padding={p} (zeros)" if p else ""))
    return artists


def depth_artists(art) -> list:
    """The artists :func:`highlight_depth` changes, every slice drawn so far (the ``live`` list of a snapshot)."""
    return [*art["_frames"].values(), *art["_labels"].values()]


def highlight_depth(art, taps) -> None:
    """Frame the input slices at depths ``taps`` and write which kernel slice meets each."""
    for z, frame in art["frames"].items():
        hits = [t for t, zt in enumerate(taps) if zt == z]
        frame.set_visible(bool(hits))
        art["labels"][z].set_text(" ".join(f"× kernel[{t}]" for t in hits))


def default_volume(shape=(5, 3, 3), seed=3) -> np.ndarray:
    """A small integer volume."""
    return np.random.default_rng(seed).integers(0, 5, shape).astype(np.float64)


def default_kernel_3d(kernel_size) -> np.ndarray:
    """A small integer kernel ``(k, k, k)``, the same for the same ``kernel_size``."""
    return np.random.default_rng(300 + kernel_size).integers(-1, 2, (kernel_size,) * 3).astype(np.float64)


class _SliceScene:
    def __init__(self, x, weight, max_padding):
        self.x, self.weight = x, weight
        D, H, W = x.shape
        cell = 0.2
        slices_w = min(9.0, (D + 2 * max_padding) * (W + 2 * max_padding + GAP) * cell)
        self.figure = new_figure(max(7.0, slices_w + 2.2), (H + 2 * max_padding) * cell + 2.6)
        gs = self.figure.add_gridspec(2, 2, width_ratios=[slices_w, 2.2], height_ratios=[3, 1])
        self.ax_in = self.figure.add_subplot(gs[0, 0])
        self.ax_out = self.figure.add_subplot(gs[0, 1])
        ax_t = self.figure.add_subplot(gs[1, :])
        blank_axes(ax_t)
        self.text = ax_t.text(0, 1, "", va="top", family="monospace", fontsize=style.FONT_SIZE,
                              transform=ax_t.transAxes)
        self.keys = {}
        self.inp = self.out = None

    def kernel(self, kernel_size):
        return self.weight if self.weight is not None else default_kernel_3d(kernel_size)

    def update(self, kernel_size=3, stride=1, padding=1, dilation=1, depth=0):
        x, w = self.x, self.kernel(kernel_size)
        layer = nn.Conv3d(1, 1, w.shape, stride=stride, padding=padding, dilation=dilation, bias=False,
                          dtype=np.float64)
        layer.weight[...] = w
        try:
            y = layer(x[None])[0]
        except ValueError as e:
            for ax in (self.ax_in, self.ax_out):
                release_snapshot(ax)
                ax.set_visible(False)
            self.keys.clear()
            self.text.set_text("This layer cannot run:\n" + str(e)[:110] + "\n" + str(e)[110:220])
            return {"error": str(e), "output_shape": None, "depths": 0, "depth": depth}
        depth = min(max(int(depth), 0), y.shape[0] - 1)
        taps = depth_taps(depth, w.shape[0], stride, padding, dilation)
        new_in = self.keys.get("in") != padding
        if new_in:
            release_snapshot(self.ax_in)      # the hidden static artists come back before they change
            self.ax_in.set_visible(True)
            self.inp = draw_depth_slices(self.ax_in, x, padding, artists=self.inp)
            self.keys["in"] = padding
        highlight_depth(self.inp, taps)
        self.ax_out.set_visible(True)         # a few cells, drawn live: they change with every depth
        self.out = draw_output(self.ax_out, y[depth], artists=self.out)
        set_title(self.ax_out, f"output depth {depth} of {y.shape[0]}\n(slice {y.shape[1]}×{y.shape[2]})")
        D = x.shape[0]
        parts = [f"kernel[{t}] ⋆ " + (f"input[z={z}]" if 0 <= z < D else f"zeros (z={z})") for t, z in enumerate(taps)]
        self.text.set_text(f"output shape (D_out, H_out, W_out) = {tuple(y.shape)}\n"
                           f"output[{depth}] = " + " + ".join(parts) + "\n"
                           "(⋆ : a 2d convolution with the same stride, padding and dilation in H and W)")
        freeze_layout(self.figure)
        if new_in:
            snapshot_axes(self.ax_in, depth_artists(self.inp))
        return {"output_shape": tuple(y.shape), "depths": y.shape[0], "depth": depth, "taps": taps,
                "padding_slices": [z for z in taps if not 0 <= z < D],
                "output_slice": y[depth].copy(), "kernel": w.copy()}


def _ranges(state):
    if "error" in state:
        return {}
    return {"depth": {"max": state["depths"] - 1, "value": state["depth"]}}


def conv3d_explorer(x=None, weight=None, *, kernel_size=3, stride=1, padding=1, dilation=1, depth=0,
                    max_padding=2):
    """Scrub the output depth of a 3d convolution: a depth slider (and Play), and sliders for
    kernel_size, stride, padding and dilation (the same in D, H, W).

    ``x``: a ``(D, H, W)`` volume (default 5×3×3 small integers); ``weight``: a
    ``(kD, kH, kW)`` kernel (fixes kernel_size). The output comes from
    ``convlab.nn.Conv3d`` (float64, no bias). ``state`` holds ``output_shape``,
    ``depth``, ``taps`` (input depths read), ``padding_slices`` and ``output_slice``.

    Examples
    --------
    >>> ex = conv3d_explorer()
    >>> ex.set(stride=2, depth=1)["taps"]
    [1, 2, 3]
    """
    x, weight, kernel_size = explorer_data(x, weight, kernel_size, default_volume)
    scene = _SliceScene(x, weight, max_padding)
    controls = {
        **geometry_sliders(kernel_size, stride, padding, dilation, kernel_max=3, stride_max=3,
                           padding_max=max_padding, dilation_max=2, fixed_kernel=weight is not None),
        "depth": _int_slider("depth", depth, 0, 10 ** 6),
    }
    return scrubbed_explorer(scene, controls, _ranges, "depth", "play over the output depths")


def conv3d_static(x=None, weight=None, *, kernel_size=3, stride=1, padding=1, dilation=1):
    """The book's form of :func:`conv3d_explorer`: one frame per output depth."""
    x, weight, kernel_size = explorer_data(x, weight, kernel_size, default_volume)
    scene = _SliceScene(x, weight, padding)
    fixed = dict(kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation)
    first = scene.update(**fixed)
    if "error" in first:
        raise ValueError(first["error"])
    return static_explorer(scene.figure, scene.update, "depth", range(first["depths"]), fixed,
                           description="output depth")


def slice_sum(x, w, depth, stride=1, padding=0, dilation=1) -> np.ndarray:
    """Output slice ``depth`` recomputed as the sum over kernel depth ``t`` of 2d convolutions (the figure's story)."""
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    total = 0.0
    for t, z in enumerate(depth_taps(depth, w.shape[0], stride, padding, dilation)):
        if 0 <= z < x.shape[0]:
            total = total + conv_nd(x[z][None, None], w[t][None, None], stride=stride, padding=padding,
                                    dilation=dilation)[0, 0]
    if np.isscalar(total):       # every tap in the depth padding
        return np.zeros(geometry.conv_output_size(x.shape[1:], w.shape[1:], (stride,) * 2, (padding,) * 2,
                                                  (dilation,) * 2))
    return total
