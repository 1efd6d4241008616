"""Unfold / Fold, and how convlab itself computes every convolution with them.

Notebook 7 (Unfold / Fold). :func:`unfold_explorer` is a browser view (:class:`UnfoldView`, drawn by
``js/unfold.js``) under sliders for kernel_size, stride, padding, dilation and the block (with Play), on
small integer arrays. It draws three rows:

* **Unfold** (im2col): the padded input, channels side by side, the taps of the selected block outlined;
  and the column matrix ``cols = F.unfold(x)``, shape ``(C·∏kernel_size, L)``, each entry coloured by the
  channel it came from (padding zeros grey), rows channel by channel then tap by tap; the block's column
  outlined.
* **Conv = matmul**: ``weight.reshape(C_out, −1) @ cols``, reshaped to ``(C_out, H_out, W_out)``, equals
  ``F.conv2d(x, weight)``.
* **ConvTranspose = fold**: ``fold(weight.reshape(C_in, −1).T @ y.reshape(C_in, −1))`` equals
  ``F.conv_transpose2d(y, weight)``, ``fold`` summing the overlapping blocks back into place.

The view computes the block positions, which input cell feeds which entry of ``cols`` and every small
array in the browser, so every control works in the book and the slides too, with no kernel;
:meth:`UnfoldView.drawn_numbers` computes the same with ``convlab.nn.functional`` (``unfold``, ``conv2d``,
``conv_transpose2d``).

Shape: ``L = ∏_d ⌊(S_d + 2·padding_d − dilation_d·(kernel_size_d − 1) − 1) / stride_d⌋ + 1``.
"""
from __future__ import annotations

import numpy as np

from .. import geometry
from ..nn import functional as F
from ._view import ExplorerBox, Geometry, View, esm, int_slider, play_row, traitlets

__all__ = ["example_arrays", "unfold_views", "block_taps", "UnfoldView", "unfold_explorer"]


def _pair(v):
    return tuple(int(a) for a in v) if isinstance(v, (tuple, list)) else (int(v), int(v))


def example_arrays(channels=2, size=(4, 4), out_channels=2, kernel_size=2):
    """Small integer ``x`` ``(channels, H, W)`` (values 1…5) and ``weight`` ``(out_channels, channels, kh, kw)``
    (values −2 … 2), fixed (no random state), so products can be checked by eye.

    >>> x, w = example_arrays()
    >>> x.shape, w.shape, x[0, 0].tolist()
    ((2, 4, 4), (2, 2, 2, 2), [1.0, 2.0, 3.0, 4.0])
    """
    kh, kw = _pair(kernel_size)
    h, w = _pair(size)
    x = (np.arange(channels * h * w).reshape(channels, h, w) % 5 + 1).astype(float)
    weight = (np.arange(out_channels * channels * kh * kw).reshape(out_channels, channels, kh, kw) % 5 - 2)
    return x, weight.astype(float)


def block_taps(block, input_size, kernel_size, stride=1, padding=0, dilation=1):
    """Positions (in the *padded* input) of the taps of block number ``block`` (row-major over blocks).

    Returns ``(position, taps)``: the block's grid position and a list of ``(row, col)``.

    >>> block_taps(1, (4, 4), 2, stride=2)
    ((0, 1), [(0, 2), (0, 3), (1, 2), (1, 3)])
    """
    k, s, p, d = _pair(kernel_size), _pair(stride), _pair(padding), _pair(dilation)
    n = [(input_size[a] + 2 * p[a] - d[a] * (k[a] - 1) - 1) // s[a] + 1 for a in range(2)]
    pos = tuple(int(v) for v in np.unravel_index(int(block), n))
    taps = [(pos[0] * s[0] + t0 * d[0], pos[1] * s[1] + t1 * d[1]) for t0 in range(k[0]) for t1 in range(k[1])]
    return pos, taps


def unfold_views(x, weight, kernel_size=None, stride=1, padding=0, dilation=1, y=None):
    """Everything the Unfold/Fold figures show, for one sample ``x`` ``(C, H, W)`` and a Conv ``weight``
    ``(C_out, C, kh, kw)``.

    Returns a dict: ``cols`` (``F.unfold``), ``source`` (for each entry of ``cols``: its channel, or −1
    for a padding zero), ``weight2d`` (``weight.reshape(C_out, −1)``), ``product`` (``weight2d @ cols``),
    ``conv`` (the product reshaped), ``conv_library`` (``F.conv2d``); for the transposed conv of
    ``y`` (shape of the conv output, default small integers) with the same ``weight`` read as a
    ConvTranspose2d weight ``(C_in=C_out, C_out=C, kh, kw)``: ``y``, ``t_cols``
    (``weight.reshape(C_out, −1).T @ y.reshape(C_out, −1)``), ``folded`` (``F.fold`` of it),
    ``transpose_library`` (``F.conv_transpose2d``); and ``max_abs_diff`` of both.

    >>> x, w = example_arrays()
    >>> v = unfold_views(x, w, stride=2)
    >>> v["cols"].shape, v["conv"].shape, v["max_abs_diff"]
    ((8, 4), (2, 2, 2), {'conv': 0.0, 'conv_transpose': 0.0})
    """
    x = np.asarray(x, dtype=float)
    weight = np.asarray(weight, dtype=float)
    c_out, c, kh, kw = weight.shape
    k = (kh, kw) if kernel_size is None else _pair(kernel_size)
    s, p, d = _pair(stride), _pair(padding), _pair(dilation)
    cols = F.unfold(x[None], k, dilation=d, padding=p, stride=s)[0]
    marker = np.broadcast_to(np.arange(c, dtype=float)[:, None, None] + 1, x.shape)
    source = F.unfold(marker[None], k, dilation=d, padding=p, stride=s)[0].astype(int) - 1
    out_hw = tuple((x.shape[1 + a] + 2 * p[a] - d[a] * (k[a] - 1) - 1) // s[a] + 1 for a in range(2))
    w2d = weight.reshape(c_out, -1)
    product = w2d @ cols
    conv = product.reshape(c_out, *out_hw)
    conv_lib = F.conv2d(x[None], weight, stride=s, padding=p, dilation=d)[0]
    if y is None:
        y = (np.arange(c_out * out_hw[0] * out_hw[1]).reshape(c_out, *out_hw) % 3 + 1).astype(float)
    y = np.asarray(y, dtype=float)
    t_cols = w2d.T @ y.reshape(c_out, -1)
    t_size = geometry.transposed_output_size(y.shape[1:], k, s, p, (0, 0), d)
    folded = F.fold(t_cols[None], t_size, k, dilation=d, padding=p, stride=s)[0]
    t_lib = F.conv_transpose2d(y[None], weight, stride=s, padding=p, dilation=d)[0]
    diffs = {"conv": float(np.max(np.abs(conv - conv_lib))), "conv_transpose": float(np.max(np.abs(folded - t_lib)))}
    return {"cols": cols, "source": source, "weight2d": w2d, "product": product, "conv": conv,
            "conv_library": conv_lib, "y": y, "t_cols": t_cols, "folded": folded, "transpose_library": t_lib,
            "max_abs_diff": diffs, "blocks": out_hw, "kernel_size": k}


_SIZE = (4, 4)


class UnfoldView(Geometry, View):
    """The picture of :func:`unfold_explorer` (``js/unfold.js``). ``x`` is the ``(C, H, W)`` input,
    ``weights[k - 1]`` the ``(C_out, C, k, k)`` weight drawn for ``kernel_size=k``; ``block`` counts the
    blocks row-major (past the last one it goes round again, and the view writes the value it drew back)."""

    _esm = esm("unfold")
    x = traitlets.List(traitlets.List(traitlets.List(traitlets.Float()))).tag(sync=True)
    weights = traitlets.List(traitlets.List(traitlets.List(traitlets.List(traitlets.List(traitlets.Float())))))\
        .tag(sync=True)
    block = traitlets.Int(0).tag(sync=True)

    def views(self) -> dict:
        """:func:`unfold_views` of the current state (raises ``ValueError`` when the kernel does not fit)."""
        return unfold_views(np.asarray(self.x), np.asarray(self.weights[self.kernel_size - 1]), None, self.stride,
                            self.padding, self.dilation)

    def explain(self) -> dict:
        """What :func:`unfold_explorer`'s ``set`` and ``state`` return: ``kernel_size`` (a pair), the
        geometry, ``block`` and its grid ``position``, ``taps`` (in the padded input), ``column`` (that
        column of ``cols``, an array), ``cols_shape``, ``blocks`` (the grid of blocks), ``conv`` and
        ``folded`` (arrays, by matmul and by fold) and their ``max_abs_diff`` to ``F.conv2d`` and
        ``F.conv_transpose2d``; or ``error`` (convlab's message)."""
        geometry_ = {"stride": self.stride, "padding": self.padding, "dilation": self.dilation}
        try:
            v = self.views()
        except ValueError as e:
            return {"error": str(e), "kernel_size": (self.kernel_size,) * 2, **geometry_, "block": self.block,
                    "cols_shape": None, "blocks": None}
        block = max(self.block, 0) % v["cols"].shape[1]
        position, taps = block_taps(block, _SIZE, self.kernel_size, self.stride, self.padding, self.dilation)
        return {"kernel_size": v["kernel_size"], **geometry_, "block": block, "position": position, "taps": taps,
                "column": v["cols"][:, block].copy(), "cols_shape": v["cols"].shape, "blocks": v["blocks"],
                "conv": v["conv"], "folded": v["folded"], "max_abs_diff": v["max_abs_diff"]}

    def drawn_numbers(self) -> dict:
        """What the view shows, by ``convlab.nn.functional``: the ``blocks`` grid, ``cols_shape``, the
        ``block`` (modulo the block count), its ``position`` and ``taps`` (padded input), ``cols`` and
        ``source`` (``F.unfold`` of the input and of its channel numbers, −1 for padding), the ``product``
        ``W @ cols``, ``conv`` (``F.conv2d``), the transposed conv's input ``y``, its columns ``t_cols``
        and ``folded`` (``F.conv_transpose2d``); ``{"error": True}`` when the kernel does not fit."""
        try:
            v = self.views()
        except ValueError:
            return {"error": True}
        out = self.explain()
        return {"blocks": list(v["blocks"]), "cols_shape": list(v["cols"].shape), "block": out["block"],
                "position": list(out["position"]), "taps": [list(t) for t in out["taps"]],
                "cols": v["cols"].tolist(), "source": v["source"].tolist(), "product": v["product"].tolist(),
                "conv": v["conv_library"].tolist(), "y": v["y"].tolist(), "t_cols": v["t_cols"].tolist(),
                "folded": v["transpose_library"].tolist()}


def unfold_explorer(kernel_size=2, stride=1, padding=0, dilation=1, block=0, channels=2, out_channels=2) -> ExplorerBox:
    """Sliders ``kernel_size``, ``stride``, ``padding``, ``dilation`` and ``block`` (with Play) over Unfold,
    Conv-as-matmul and ConvTranspose-as-fold on a fixed ``(channels, 4, 4)`` integer input, all linked in
    the browser.

    ``ex.set(**values)`` and ``ex.state`` return :meth:`UnfoldView.explain`: ``cols_shape``, ``blocks``
    (grid of blocks), ``block``, ``position``, ``taps`` (in the padded input), ``column`` (the selected
    column), ``conv``, ``folded``, ``max_abs_diff``.

    >>> ex = unfold_explorer()
    >>> ex.set(stride=2, block=3)["cols_shape"], ex.state["position"], ex.state["max_abs_diff"]
    ((8, 4), (1, 1), {'conv': 0.0, 'conv_transpose': 0.0})
    """
    x, _ = example_arrays(channels, _SIZE, out_channels, 1)
    kernel_max = max(3, kernel_size)
    weights = [example_arrays(channels, _SIZE, out_channels, k)[1].tolist() for k in range(1, kernel_max + 1)]
    view = UnfoldView(x=x.tolist(), weights=weights, kernel_size=kernel_size, stride=stride, padding=padding,
                      dilation=dilation, block=block)
    controls = {
        "kernel_size": int_slider("kernel_size", kernel_size, 1, kernel_max),
        "stride": int_slider("stride", stride, 1, 3),
        "padding": int_slider("padding", padding, 0, 2),
        "dilation": int_slider("dilation", dilation, 1, 2),
        "block": int_slider("block", block, 0, (_SIZE[0] + 4) * (_SIZE[1] + 4) - 1),
    }
    return ExplorerBox(view, controls, extra=[play_row(controls["block"], label="play: step through the blocks")])
