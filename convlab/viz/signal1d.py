"""A 1d convolution as a kernel sliding along a signal, the output growing one sample per step.

Introduced in notebooks 1 and 2 (Conv1d). :func:`conv1d_explorer` is a browser view
(:class:`Conv1dView`, drawn by ``js/conv1d.js``) under sliders for kernel_size, stride,
padding, dilation and the output position: the padded input, the kernel on the taps of
the current output sample (``stride`` cells per step, spread by ``dilation``), the output
up to that sample and the sum written out. Every control works in the book and the slides
too, with no kernel. :meth:`Conv1dView.drawn_numbers` computes, with convlab, what the
view shows.
"""
from __future__ import annotations

import numpy as np

from ..nn import functional as F
from ._view import ExplorerBox, Geometry, View, esm, int_slider, play_row, traitlets
from .window import explorer_data, fmt, fmt_factor

__all__ = ["window_taps", "dot_product_1d", "default_signal", "default_kernel_1d", "Conv1dView", "conv1d_explorer"]


def window_taps(position, kernel_size, stride=1, padding=0, dilation=1) -> list:
    """Input indices read by output sample ``position``: ``position * stride - padding + t * dilation``."""
    return [position * stride - padding + t * dilation for t in range(kernel_size)]


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


class Conv1dView(Geometry, View):
    """The picture of :func:`conv1d_explorer`. ``kernels[k - 1]`` is the kernel drawn for ``kernel_size=k``."""

    _esm = esm("conv1d")
    x = traitlets.List(traitlets.Float()).tag(sync=True)
    kernels = traitlets.List(traitlets.List(traitlets.Float())).tag(sync=True)
    max_padding = traitlets.Int(3).tag(sync=True)
    position = traitlets.Int(0).tag(sync=True)

    def drawn_numbers(self) -> dict:
        """What the view shows, by ``convlab.nn.functional.conv1d``: ``output_length``, the ``position``
        (modulo the output length), its ``taps``, the ``terms`` (input, weight) and their ``total``, the ``output`` there
        and the whole output ``y``; or
        ``{"error": True}`` when the layer cannot run (convlab raises)."""
        x = np.asarray(self.x, dtype=np.float64)
        w = np.asarray(self.kernels[self.kernel_size - 1], dtype=np.float64)
        try:
            y = F.conv1d(x[None, None], w[None, None], stride=self.stride, padding=self.padding,
                         dilation=self.dilation)[0, 0]
        except ValueError:
            return {"error": True}
        o = max(self.position, 0) % len(y)        # past the end: round again (the view writes it back)
        terms, _ = dot_product_1d(x, w, o, self.stride, self.padding, self.dilation)
        return {"output_length": len(y), "position": o,
                "taps": window_taps(o, len(w), self.stride, self.padding, self.dilation),
                "terms": [list(t) for t in terms], "total": sum(a * b for a, b in terms), "output": float(y[o]),
                "y": [float(v) for v in y]}


def conv1d_explorer(x=None, weight=None, *, kernel_size=3, stride=1, padding=1, dilation=1, position=0,
                    max_padding=3, kernel_max=7) -> ExplorerBox:
    """Slide a 1d kernel along a signal: sliders for kernel_size, stride, padding, dilation and the output
    position (with Play), all linked in the browser.

    ``x``: a 1d signal (default: 12 small integers); ``weight``: a 1d kernel (fixes kernel_size; the
    slider is then disabled). ``ex.set(**values)`` returns what the view draws
    (:meth:`Conv1dView.drawn_numbers`).

    Examples
    --------
    >>> ex = conv1d_explorer()
    >>> ex.set(stride=2, position=3)["taps"]
    [5, 6, 7]
    """
    x, weight, kernel_size = explorer_data(x, weight, kernel_size, default_signal)
    if weight is not None:
        kernels = [list(map(float, weight))] * kernel_size
        kernel_max = kernel_size
    else:
        kernels = [list(map(float, default_kernel_1d(k))) for k in range(1, kernel_max + 1)]
    view = Conv1dView(x=list(map(float, x)), kernels=kernels, max_padding=max(max_padding, padding),
                      kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation, position=position)
    controls = {
        "kernel_size": int_slider("kernel_size", kernel_size, 1, kernel_max, disabled=weight is not None),
        "stride": int_slider("stride", stride, 1, 4),
        "padding": int_slider("padding", padding, 0, view.max_padding),
        "dilation": int_slider("dilation", dilation, 1, 4),
        "position": int_slider("position", position, 0, len(x) + 2 * view.max_padding - 1),
    }
    return ExplorerBox(view, controls, extra=[play_row(controls["position"], label="play: slide the kernel")])
