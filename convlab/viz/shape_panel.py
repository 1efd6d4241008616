"""The output-size formula with the learner's numbers in it, beside the shape a real layer returns.

Introduced in notebooks 2–5. The derivation comes from :mod:`convlab.shapes`
(the article's formulas); the shape on the right comes from running a convlab
layer on an input of that size. The floor in the conv formula throws away
``remainder = numerator % stride`` cells: the panel highlights it.
"""
from __future__ import annotations

import numpy as np

from .. import nn, shapes
from ._view import ExplorerBox, Geometry, View, esm, int_slider, traitlets

__all__ = ["formula_shape", "ShapeView", "shape_explorer"]

AXES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


def _parts(derivation):
    if isinstance(derivation, (list, tuple)):
        return list(derivation)
    return list(derivation.parts) or [derivation]


def formula_shape(derivation) -> tuple:
    """The spatial output size(s) a derivation (or a list of per-axis derivations) gives."""
    return tuple(int(d.value) for d in _parts(derivation))


def _derive(kind, sizes, kernel_size, stride, padding, dilation, output_padding):
    if kind == "conv":
        return [shapes.conv_output_size(s, kernel_size, stride, padding, dilation, axis=a)
                for s, a in zip(sizes, AXES[len(sizes)])]
    return [shapes.conv_transpose_output_size(s, kernel_size, stride, padding, output_padding, dilation, axis=a)
            for s, a in zip(sizes, AXES[len(sizes)])]


def _layer(kind, dims, kernel_size, stride, padding, dilation, output_padding):
    if kind == "conv":
        cls = getattr(nn, f"Conv{dims}d")
        return cls(1, 1, kernel_size, stride=stride, padding=padding, dilation=dilation, bias=False)
    cls = getattr(nn, f"ConvTranspose{dims}d")
    return cls(1, 1, kernel_size, stride=stride, padding=padding, output_padding=output_padding,
               dilation=dilation, bias=False)


class ShapeView(Geometry, View):
    """The picture of :func:`shape_explorer` (``js/shape.js``): per axis the formula, the numbers plugged in
    and the floor remainder, then the formula's shape beside the shape a real layer returns."""

    _esm = esm("shape")
    kind = traitlets.Unicode("conv").tag(sync=True)
    dims = traitlets.Int(1).tag(sync=True)
    L_in = traitlets.Int(50).tag(sync=True)
    D_in = traitlets.Int(10).tag(sync=True)
    H_in = traitlets.Int(50).tag(sync=True)
    W_in = traitlets.Int(50).tag(sync=True)
    output_padding = traitlets.Int(0).tag(sync=True)

    def explain(self) -> dict:
        """The derivations by :mod:`convlab.shapes` and the shape a convlab layer returns: ``formula_shape``,
        ``actual_shape`` (``(1, *spatial)``), ``agree``, ``steps``, ``remainders``; or ``error`` (the
        message) with the shapes None."""
        size = tuple(getattr(self, f"{a}_in") for a in AXES[self.dims])
        args = self.kernel_size, self.stride, self.padding, self.dilation, self.output_padding
        try:
            derivation = _derive(self.kind, size, *args)
            actual = _layer(self.kind, self.dims, *args)(np.zeros((1, *size), dtype=np.float32)).shape
        except ValueError as e:
            return {"error": str(e), "formula_shape": None, "actual_shape": None, "agree": None}
        expected = formula_shape(derivation)
        return {"formula_shape": expected, "actual_shape": tuple(actual), "agree": tuple(actual)[1:] == expected,
                "steps": [d.text for d in derivation], "remainders": [d.remainder for d in derivation]}

    def drawn_numbers(self) -> dict:
        out = self.explain()
        return {"error": True} if "error" in out else out


def shape_explorer(kind="conv", dims=1, *, size=50, kernel_size=3, stride=2, padding=0, dilation=1,
                   output_padding=0, max_size=64) -> ExplorerBox:
    """Sliders for the input size(s) and the layer's arguments; the article's formula with those numbers,
    the floor remainder highlighted, and the shape a real convlab layer returns beside it, all drawn in
    the browser.

    ``kind``: ``'conv'`` (``nn.ConvNd``) or ``'transpose'`` (``nn.ConvTransposeNd``, adds
    an ``output_padding`` slider); ``dims``: 1, 2 or 3. Defaults reproduce the
    article's first example, ``nn.Conv1d(16, 33, 3, stride=2)`` on ``L_in = 50``.
    ``ex.set(**values)`` returns :meth:`ShapeView.explain`: ``formula_shape``, ``actual_shape``,
    ``agree``, ``steps`` and ``remainders`` (or ``error``).

    Examples
    --------
    >>> ex = shape_explorer()
    >>> ex.state["formula_shape"], ex.state["actual_shape"], ex.state["remainders"]
    ((24,), (1, 24), [1])
    """
    if kind not in ("conv", "transpose"):
        raise ValueError(f"kind must be 'conv' or 'transpose', got {kind!r}")
    if dims not in AXES:
        raise ValueError(f"dims must be 1, 2 or 3, got {dims!r}")
    size_max = max_size if dims < 3 else min(max_size, 24)
    sizes = {f"{a}_in": min(size, size_max) for a in AXES[dims]}
    view = ShapeView(kind=kind, dims=dims, kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation,
                     output_padding=output_padding, **sizes)
    controls = {n: int_slider(n, v, 1, size_max) for n, v in sizes.items()}
    controls.update({
        "kernel_size": int_slider("kernel_size", kernel_size, 1, 7),
        "stride": int_slider("stride", stride, 1, 4),
        "padding": int_slider("padding", padding, 0, 4),
        "dilation": int_slider("dilation", dilation, 1, 4),
    })
    if kind == "transpose":
        controls["output_padding"] = int_slider("output_padding", output_padding, 0, 3)
    return ExplorerBox(view, controls)
