"""A 3d convolution read one output depth slice at a time.

Introduced in notebook 4 (Conv3d). :func:`conv3d_explorer` is a browser view (:class:`Conv3dView`, drawn by
``js/slices3d.js``) under sliders for kernel_size, stride, padding, dilation (the same in D, H, W) and the
output depth (with Play). It draws the input volume ``(D, H, W)`` as a row of depth slices, each inside a
grey ring whose width grows with the spatial zero padding, whole grey slices for the depth padding; for
output depth ``d_out`` the kernel reaches the input slices ``d_out * stride - padding + t * dilation``
(``t`` from 0 to ``kernel_size − 1``): those are framed and named after the kernel slice that meets them,
and the output slice beside them (the sum over ``t`` of kernel slice ``t`` run as a 2d convolution over its
input slice) is written out with the output shape. Every control works in the book and the slides too, with
no kernel. :meth:`Conv3dView.drawn_numbers` computes, with ``convlab.nn.Conv3d``, what the view shows.
"""
from __future__ import annotations

import numpy as np

from .. import geometry, nn
from ..reference import conv_nd
from ._view import ExplorerBox, Geometry, View, esm, int_slider, play_row, traitlets
from .window import explorer_data

__all__ = ["depth_taps", "default_volume", "default_kernel_3d", "slice_sum", "Conv3dView", "conv3d_explorer"]


def depth_taps(depth, kernel_size, stride=1, padding=0, dilation=1) -> list:
    """Input depth indices read by output depth ``depth`` (negative or ``>= D``: depth padding)."""
    return [depth * stride - padding + t * dilation for t in range(kernel_size)]


def default_volume(shape=(5, 3, 3), seed=3) -> np.ndarray:
    """A small integer volume."""
    return np.random.default_rng(seed).integers(0, 5, shape).astype(np.float64)


def default_kernel_3d(kernel_size) -> np.ndarray:
    """A small integer kernel ``(k, k, k)``, the same for the same ``kernel_size``."""
    return np.random.default_rng(300 + kernel_size).integers(-1, 2, (kernel_size,) * 3).astype(np.float64)


class Conv3dView(Geometry, View):
    """The picture of :func:`conv3d_explorer` (``js/slices3d.js``). ``x`` is the ``(D, H, W)`` volume,
    ``kernels[k - 1]`` the ``(k, k, k)`` kernel drawn for ``kernel_size=k``; ``depth`` is the output depth
    (past the last one it goes round again, and the view writes the value it drew back)."""

    _esm = esm("slices3d")
    x = traitlets.List(traitlets.List(traitlets.List(traitlets.Float()))).tag(sync=True)
    kernels = traitlets.List(traitlets.List(traitlets.List(traitlets.List(traitlets.Float())))).tag(sync=True)
    max_padding = traitlets.Int(2).tag(sync=True)
    depth = traitlets.Int(0).tag(sync=True)

    def kernel(self) -> np.ndarray:
        return np.asarray(self.kernels[self.kernel_size - 1], dtype=np.float64)

    def explain(self) -> dict:
        """What :func:`conv3d_explorer`'s ``set`` and ``state`` return: the layer's ``output_shape``
        (``(D_out, H_out, W_out)``), ``depths`` (``D_out``), the ``depth`` drawn, its ``taps`` (input depths
        read), the ``padding_slices`` among them, the ``output_slice`` and the ``kernel`` (arrays); or
        ``error`` (convlab's message) with ``output_shape`` None."""
        x, w = np.asarray(self.x, dtype=np.float64), self.kernel()
        layer = nn.Conv3d(1, 1, w.shape, stride=self.stride, padding=self.padding, dilation=self.dilation,
                          bias=False, dtype=np.float64)
        layer.weight[...] = w
        try:
            y = layer(x[None])[0]
        except ValueError as e:
            return {"error": str(e), "output_shape": None, "depths": 0, "depth": self.depth}
        depth = max(self.depth, 0) % y.shape[0]
        taps = depth_taps(depth, w.shape[0], self.stride, self.padding, self.dilation)
        return {"output_shape": tuple(y.shape), "depths": y.shape[0], "depth": depth, "taps": taps,
                "padding_slices": [z for z in taps if not 0 <= z < x.shape[0]],
                "output_slice": y[depth].copy(), "kernel": w.copy()}

    def drawn_numbers(self) -> dict:
        """What the view shows, by ``convlab.nn.Conv3d``: ``output_shape``, ``depth``, ``taps``,
        ``padding_slices`` and the ``output_slice`` (lists); ``{"error": True}`` when the layer cannot run."""
        out = self.explain()
        if "error" in out:
            return {"error": True}
        return {"output_shape": list(out["output_shape"]), "depth": out["depth"], "taps": out["taps"],
                "padding_slices": out["padding_slices"], "output_slice": out["output_slice"].tolist()}


def conv3d_explorer(x=None, weight=None, *, kernel_size=3, stride=1, padding=1, dilation=1, depth=0,
                    max_padding=2) -> ExplorerBox:
    """Scrub the output depth of a 3d convolution: a depth slider (and Play), and sliders for
    kernel_size, stride, padding and dilation (the same in D, H, W), all linked in the browser.

    ``x``: a ``(D, H, W)`` volume (default 5×3×3 small integers); ``weight``: a ``(k, k, k)`` kernel
    (fixes kernel_size; the slider is then disabled). The output comes from ``convlab.nn.Conv3d``
    (float64, no bias). ``ex.set(**values)`` and ``ex.state`` return :meth:`Conv3dView.explain`:
    ``output_shape``, ``depth``, ``taps`` (input depths read), ``padding_slices`` and ``output_slice``.

    Examples
    --------
    >>> ex = conv3d_explorer()
    >>> ex.set(stride=2, depth=1)["taps"]
    [1, 2, 3]
    """
    x, weight, kernel_size = explorer_data(x, weight, kernel_size, default_volume)
    if x.ndim != 3:
        raise ValueError(f"x must be a volume (D, H, W), got shape {x.shape}")
    kernel_max = 3
    if weight is not None:
        if weight.shape != (kernel_size,) * 3:
            raise ValueError(f"conv3d_explorer draws cubic kernels (k, k, k); got weight of shape {weight.shape}")
        kernels = [weight.tolist()] * kernel_size
        kernel_max = kernel_size
    else:
        kernels = [default_kernel_3d(k).tolist() for k in range(1, kernel_max + 1)]
    max_padding = max(max_padding, padding)
    view = Conv3dView(x=x.tolist(), kernels=kernels, max_padding=max_padding, kernel_size=kernel_size,
                      stride=stride, padding=padding, dilation=dilation, depth=depth)
    controls = {
        "kernel_size": int_slider("kernel_size", kernel_size, 1, kernel_max, disabled=weight is not None),
        "stride": int_slider("stride", stride, 1, 3),
        "padding": int_slider("padding", padding, 0, max_padding),
        "dilation": int_slider("dilation", dilation, 1, 2),
        "depth": int_slider("depth", depth, 0, x.shape[0] + 2 * max_padding - 1),
    }
    return ExplorerBox(view, controls, extra=[play_row(controls["depth"], label="play over the output depths")])


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
