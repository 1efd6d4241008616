"""The sliding window of a 2d convolution: padded input, dilated kernel, receptive field, output, dot product.

Introduced in notebook 3 (Conv2d). The explorer is :class:`WindowView` (drawn by
``js/window2d.js``) under sliders linked in the browser; this module computes with
convlab what it draws. Input cell ``(r, c)`` may lie in the padding (negative
indices or indices ``>= size``). One axis of the window::

    input index = output index * stride - padding + tap * dilation
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import nn
from .._args import ntuple
from ..reference import pad_index
from ._view import ExplorerBox, Geometry, View, dropdown, esm, int_slider, play_row, traitlets

__all__ = ["Window", "Term", "receptive_field", "dot_product_terms", "dot_product_text", "WindowView",
           "window_explorer"]

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


def _pair(value, name):
    return ntuple(value, 2, name)


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


# ----------------------------------------------------------------------------- the window's sum

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


# ----------------------------------------------------------------------------- the explorer

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


def explorer_data(x, weight, kernel_size, default):
    """``(x, weight, kernel_size)`` as the explorers use them: float arrays, ``default()`` when ``x`` is
    None, and the kernel size read off a given weight."""
    x = default() if x is None else np.asarray(x, dtype=np.float64)
    if weight is not None:
        weight = np.asarray(weight, dtype=np.float64)
        kernel_size = weight.shape[0]
    return x, weight, kernel_size


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
