"""How a fresh convolution layer initialises its weight: uniform on ``(−√k, √k)``.

Notebooks 2–6 (the "weight" attribute of every layer). ``k = groups / (C_in·∏kernel_size)``
for Conv and ``k = groups / (C_out·∏kernel_size)`` for ConvTranspose (the bias uses
the same bound).

:func:`init_explorer` is a browser view (:class:`InitView`, drawn by ``js/init.js``) under sliders for
``in_channels``, ``out_channels``, ``kernel_size`` and ``groups`` and a ConvTranspose toggle: the histogram
of a freshly made layer's weight (16 bars across the band, in units of its bound) between the two dashed
lines at ``±√k``, the flat line a uniform distribution would give, and the layer's weight shape, ``k``, the
bound and the weight's min and max. Every control works in the book and the slides too, with no kernel.

How the page can draw a fresh layer it cannot make: convlab's ``reset_parameters`` fills the weight with
``float32(−b + 2b·u)`` (``b = √k``) for the generator's next draws ``u`` in ``[0, 1)``, and a layer made
after ``convlab.manual_seed(seed)`` takes the first ``numel`` of them, whatever its arguments. So the view
carries those draws once, reduced to what the picture needs (each one's bar, the running minimum and
maximum, and the exact value of the few that sit so close to a bar's edge that float32 rounding decides),
and :meth:`InitView.drawn_numbers` makes the layer with convlab and counts its weights. The two agree
exactly; the browser tests check it over a grid of states.
"""
from __future__ import annotations

import base64
import math

import ipywidgets as widgets
import numpy as np

from .. import nn
from .._config import manual_seed
from ._view import ExplorerBox, View, esm, int_slider, traitlets

__all__ = ["BINS", "init_k", "fresh_layer", "weight_bins", "InitView", "init_explorer"]

#: bars of the histogram across the band ``(−√k, √k)`` (the view draws a quarter band of empty bars each side)
BINS = 16
_NEAR = 1e-4        # a draw this close (in bar widths) to a bar's edge travels with its exact value


def init_k(in_channels, out_channels, kernel_size, groups=1, transposed=False):
    """``k = groups / (C_in·∏kernel_size)`` (Conv) or ``groups / (C_out·∏kernel_size)`` (ConvTranspose).

    >>> init_k(16, 33, 3), init_k(16, 33, 3, transposed=True) == 1 / 99
    (0.020833333333333332, True)
    """
    ks = kernel_size if isinstance(kernel_size, (tuple, list)) else (kernel_size,)
    fan = (out_channels if transposed else in_channels) * math.prod(ks)
    return groups / fan


def fresh_layer(in_channels, out_channels, kernel_size, groups=1, transposed=False, dims=2, seed=0):
    """A freshly initialised ``Conv{dims}d`` / ``ConvTranspose{dims}d`` (seeded with ``convlab.manual_seed``).

    >>> fresh_layer(16, 33, 3, transposed=True, dims=1).weight.shape
    (16, 33, 3)
    """
    manual_seed(seed)
    cls = getattr(nn, f"{'ConvTranspose' if transposed else 'Conv'}{dims}d")
    return cls(in_channels, out_channels, kernel_size, groups=groups)


def weight_bins(weight, bound) -> np.ndarray:
    """The bar (``0 … BINS − 1``) of each weight: ``⌊(w/bound + 1)·BINS/2⌋``, the band's ends in the end bars.

    >>> weight_bins(np.array([-0.5, -0.01, 0.0, 0.49, 0.5]), 0.5).tolist()
    [0, 7, 8, 15, 15]
    """
    t = np.asarray(weight, dtype=np.float64).ravel() / bound
    return np.clip(np.floor((t + 1) * (BINS / 2)), 0, BINS - 1).astype(int)


def _draws(n, seed) -> dict:
    """The traits that let the page draw any layer of at most ``n`` weights made after ``manual_seed(seed)``:
    the bar of each draw packed two to a byte (base64), the draws near a bar's edge with their exact values,
    and the records of the running minimum and maximum."""
    u = manual_seed(seed).random(n)              # the draws reset_parameters takes, in order
    y = 2 * u * (BINS / 2)                       # (w/b + 1)·BINS/2 for the exact w = -b + 2b·u
    bins = np.clip(np.floor(y), 0, BINS - 1).astype(np.uint8)
    near = np.flatnonzero(np.abs(y - np.round(y)) < _NEAR)
    packed = np.zeros((n + 1) // 2, dtype=np.uint8)
    packed[:] = bins[0::2] << 4
    packed[: n // 2] |= bins[1::2]
    lows = np.flatnonzero(u == np.minimum.accumulate(u))
    highs = np.flatnonzero(u == np.maximum.accumulate(u))
    return {"bins_b64": base64.b64encode(packed.tobytes()).decode("ascii"),
            "near": [[int(i), float(u[i])] for i in near],
            "min_records": [[int(i), float(u[i])] for i in lows],
            "max_records": [[int(i), float(u[i])] for i in highs]}


class InitView(View):
    """The picture of :func:`init_explorer` (``js/init.js``): a fresh layer's weight histogram against ±√k.

    ``bins_b64``, ``near``, ``min_records`` and ``max_records`` describe the generator's first
    ``max_weights`` draws after ``convlab.manual_seed(seed)`` (see the module docstring); ``groups`` that
    does not divide both channel counts draws the reason the layer cannot be made instead."""

    _esm = esm("init")
    in_channels = traitlets.Int(16).tag(sync=True)
    out_channels = traitlets.Int(33).tag(sync=True)
    kernel_size = traitlets.Int(3).tag(sync=True)
    groups = traitlets.Int(1).tag(sync=True)
    transposed = traitlets.Bool(False).tag(sync=True)
    dims = traitlets.Int(2).tag(sync=True)
    seed = traitlets.Int(0).tag(sync=True)
    bins = traitlets.Int(BINS).tag(sync=True)
    max_weights = traitlets.Int(0).tag(sync=True)
    bins_b64 = traitlets.Unicode("").tag(sync=True)
    near = traitlets.List(traitlets.List()).tag(sync=True)
    min_records = traitlets.List(traitlets.List()).tag(sync=True)
    max_records = traitlets.List(traitlets.List()).tag(sync=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        if not self.bins_b64 and self.max_weights:
            for name, value in _draws(self.max_weights, self.seed).items():
                setattr(self, name, value)

    def _layer(self):
        return fresh_layer(self.in_channels, self.out_channels, self.kernel_size, self.groups, self.transposed,
                           self.dims, self.seed)

    def _name(self) -> str:
        cls = f"{'ConvTranspose' if self.transposed else 'Conv'}{self.dims}d"
        return f"{cls}({self.in_channels}, {self.out_channels}, {self.kernel_size}, groups={self.groups})"

    def drawn_numbers(self) -> dict:
        """What the view shows, from a layer convlab makes now (after ``manual_seed(seed)``): its name
        (``layer``), ``weight_shape``, ``k`` (:func:`init_k`), ``bound`` (√k), the number of weights ``n``,
        the histogram ``counts`` (:func:`weight_bins`, ``BINS`` bars across the band), the uniform
        ``expected`` count per bar (``n / BINS``), and the weight's ``min`` and ``max``; or
        ``{"error": True, "layer": ...}`` when convlab refuses the layer (``groups`` must divide both
        channel counts)."""
        try:
            layer = self._layer()
        except ValueError:
            return {"error": True, "layer": self._name()}
        w = np.asarray(layer.weight)
        k = init_k(self.in_channels, self.out_channels, (self.kernel_size,) * self.dims, self.groups,
                   self.transposed)
        bound = 1 / math.sqrt(math.prod(w.shape[1:]))          # reset_parameters' bound, √k
        counts = np.bincount(weight_bins(w, bound), minlength=BINS)
        return {"layer": self._name(), "weight_shape": tuple(w.shape), "k": k, "bound": bound, "n": int(w.size),
                "counts": counts.tolist(), "expected": w.size / BINS, "min": float(w.min()), "max": float(w.max())}

    def explain(self) -> dict:
        """:meth:`drawn_numbers` and the ``groups`` and the bias's ``bias_min`` / ``bias_max`` (not drawn);
        for a layer convlab refuses, ``error`` is its message."""
        out = self.drawn_numbers()
        if out.get("error"):
            try:
                self._layer()
            except ValueError as e:
                return {"error": str(e), "layer": out["layer"], "groups": self.groups}
        bias = np.asarray(self._layer().bias)
        return dict(out, groups=self.groups, bias_min=float(bias.min()), bias_max=float(bias.max()))


def init_explorer(in_channels=16, out_channels=33, kernel_size=3, groups=1, transposed=False, dims=2, seed=0,
                  max_channels=64):
    """Sliders ``in_channels``, ``out_channels``, ``kernel_size`` and ``groups`` and a ConvTranspose toggle
    over a fresh layer's weight histogram, drawn in the browser.

    ``groups`` runs over ``1 … max_channels``; a value that does not divide both channel counts shows why
    the layer cannot be made (torch and convlab raise a ``ValueError``) until it does. ``kernel_size`` runs
    to 7 (to 4 for ``dims=3``). ``ex.set(**values)`` and ``ex.state`` return :meth:`InitView.explain`:
    ``layer``, ``weight_shape``, ``k``, ``bound`` (√k), ``n``, ``counts``, ``expected``, ``min``, ``max``
    (of the weight), ``groups``, ``bias_min``/``bias_max``; or ``error``.

    >>> ex = init_explorer()
    >>> round(ex.state["bound"], 4), ex.state["max"] <= ex.state["bound"]
    (0.0833, True)
    >>> ex.set(in_channels=5, groups=2)["error"]
    'in_channels must be divisible by groups, got in_channels=5, groups=2'
    """
    if dims not in (1, 2, 3):
        raise ValueError(f"dims must be 1, 2 or 3, got {dims!r}")
    kernel_max = 7 if dims < 3 else 4
    for name, value, hi in (("in_channels", in_channels, max_channels), ("out_channels", out_channels, max_channels),
                            ("kernel_size", kernel_size, kernel_max), ("groups", groups, max_channels)):
        if not 1 <= value <= hi:
            raise ValueError(f"{name} must be in [1, {hi}], got {value}")
    view = InitView(in_channels=in_channels, out_channels=out_channels, kernel_size=kernel_size, groups=groups,
                    transposed=transposed, dims=dims, seed=seed, max_weights=max_channels ** 2 * kernel_max ** dims)
    controls = {
        "in_channels": int_slider("in_channels", in_channels, 1, max_channels),
        "out_channels": int_slider("out_channels", out_channels, 1, max_channels),
        "kernel_size": int_slider("kernel_size", kernel_size, 1, kernel_max),
        "groups": int_slider("groups", groups, 1, max_channels),
        "transposed": widgets.ToggleButton(value=transposed, description="ConvTranspose",
                                           tooltip="ConvTranspose: k uses out_channels"),
    }
    return ExplorerBox(view, controls)
