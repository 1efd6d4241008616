"""How a fresh convolution layer initialises its weight: uniform on ``(−√k, √k)``.

Notebooks 2–5 (the "weight" attribute of every layer). ``k = groups / (C_in·∏kernel_size)``
for Conv and ``k = groups / (C_out·∏kernel_size)`` for ConvTranspose (the bias uses
the same bound). The histogram of a freshly made layer's weight fills exactly the
band between the two red lines.
"""
from __future__ import annotations

import math

import ipywidgets as widgets
import matplotlib as mpl
import numpy as np

from .. import nn
from .._config import manual_seed
from . import style
from ._cells import freeze_layout
from ._widgets import explorer, new_figure, static_explorer

__all__ = ["init_k", "fresh_layer", "draw_init", "init_explorer", "init_static"]


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


def draw_init(ax, weight, bound, bins=30, title=None, artists=None):
    """Histogram of ``weight`` (fixed number of bars, moved in place on redraw) against the lines
    ``±bound``. Returns the artists dict (``"bars"``, ``"lines"``, ``"text"``, ``"counts"``, ``"edges"``)."""
    w = np.asarray(weight, dtype=float).ravel()
    lim = 1.25 * bound
    counts, edges = np.histogram(w, bins=bins, range=(-lim, lim))
    if artists is None:
        bars = ax.bar(edges[:-1], counts, width=np.diff(edges), align="edge", color=style.HIST,
                      edgecolor="white", linewidth=0.4)
        lines = [ax.axvline(s * bound, color=style.BOUND, linewidth=1.5, linestyle="--") for s in (-1, 1)]
        text = ax.text(0.02, 0.97, "", transform=ax.transAxes, ha="left", va="top", fontsize=style.FONT_SIZE,
                       color=style.TEXT, bbox=dict(facecolor="white", edgecolor="none", alpha=0.8))
        ax.set_xlabel("weight value", fontsize=style.FONT_SIZE)
        ax.set_ylabel("count", fontsize=style.FONT_SIZE)
        ax.tick_params(labelsize=style.FONT_SIZE - 1)
        # a fixed title height (no top ticks to clear): matplotlib skips its search for a free spot
        title = ax.set_title("", fontsize=style.TITLE_SIZE, y=1.0, pad=mpl.rcParams["axes.titlepad"])
        artists = {"bars": bars, "lines": lines, "text": text, "title": title}
    for rect, x0, wd, h in zip(artists["bars"], edges[:-1], np.diff(edges), counts):
        rect.set_x(x0)
        rect.set_width(wd)
        rect.set_height(h)
    for s, line in zip((-1, 1), artists["lines"]):
        line.set_xdata([s * bound, s * bound])
    ax.set_xlim(-lim, lim)
    ax.set_ylim(0, max(int(counts.max(initial=0)), 1) * 1.3)
    artists["text"].set_text(f"{w.size} weights\nmin {w.min(initial=0):+.4f}\nmax {w.max(initial=0):+.4f}\n"
                             f"±√k = ±{bound:.4f}")
    artists["title"].set_text(title or "")
    artists.update(counts=counts, edges=edges)
    return artists


def _init_figure():
    fig = new_figure(7.5, 3.6)
    return fig, fig.add_subplot()


def _init_update(ax, arts, dims, seed):
    def update(in_channels, out_channels, kernel_size, groups, transposed):
        if in_channels % groups or out_channels % groups:
            groups = 1
        layer = fresh_layer(in_channels, out_channels, kernel_size, groups, transposed, dims, seed)
        w = np.asarray(layer.weight)
        k = init_k(in_channels, out_channels, (kernel_size,) * dims, groups, transposed)
        bound = math.sqrt(k)
        chan = f"C_out={out_channels}" if transposed else f"C_in={in_channels}"
        name = f"{type(layer).__name__}({in_channels}, {out_channels}, {kernel_size}, groups={groups})"
        title = f"{name}: k = groups/({chan}·{kernel_size}^{dims}) = {groups}/{round(groups / k)}"
        arts["init"] = draw_init(ax, w, bound, title=title, artists=arts.get("init"))
        return {"layer": name, "weight_shape": w.shape, "k": k, "bound": bound, "min": float(w.min()),
                "max": float(w.max()), "groups": groups, "counts": arts["init"]["counts"],
                "bias_min": float(np.min(layer.bias)), "bias_max": float(np.max(layer.bias))}
    return update


def _divisors(a, b):
    return [g for g in range(1, min(a, b) + 1) if a % g == 0 and b % g == 0]


def init_explorer(in_channels=16, out_channels=33, kernel_size=3, groups=1, transposed=False, dims=2, seed=0):
    """Sliders ``in_channels``, ``out_channels``, ``kernel_size``, a ``groups`` dropdown (common divisors
    only) and a ``transposed`` toggle over a fresh layer's weight histogram.

    ``state``: ``bound`` (√k), ``k``, ``min``, ``max`` (of the weight), ``bias_min``/``bias_max``,
    ``weight_shape``, ``counts`` (the histogram).

    >>> ex = init_explorer()
    >>> round(ex.state["bound"], 4), ex.state["max"] <= ex.state["bound"]
    (0.0833, True)
    """
    fig, ax = _init_figure()
    arts = {}
    update = _init_update(ax, arts, dims, seed)
    controls = {
        "in_channels": widgets.IntSlider(value=in_channels, min=1, max=64, description="in_channels"),
        "out_channels": widgets.IntSlider(value=out_channels, min=1, max=64, description="out_channels"),
        "kernel_size": widgets.IntSlider(value=kernel_size, min=1, max=7, description="kernel_size"),
        "groups": widgets.Dropdown(options=_divisors(in_channels, out_channels), value=groups, description="groups"),
        "transposed": widgets.ToggleButton(value=transposed, description="ConvTranspose"),
    }
    holder = {}

    def sync(change=None):
        opts = _divisors(controls["in_channels"].value, controls["out_channels"].value)
        g = controls["groups"].value
        if list(controls["groups"].options) != opts:
            traits = {"options": opts, "value": g if g in opts else 1}
            if "ex" in holder:
                holder["ex"].adjust("groups", **traits)
            else:
                for key, val in traits.items():
                    setattr(controls["groups"], key, val)

    for name in ("in_channels", "out_channels"):
        controls[name].observe(sync, names="value")
    update(**{k: w.value for k, w in controls.items()})
    freeze_layout(fig)
    ex = explorer(fig, controls, update)
    holder["ex"] = ex
    return ex


def init_static(name="kernel_size", values=(1, 2, 3, 5, 7), in_channels=16, out_channels=33, kernel_size=3,
                groups=1, transposed=False, dims=2, seed=0):
    """The static form of :func:`init_explorer`: one frame per value of control ``name`` (default
    ``kernel_size``), linked to a slider on the client."""
    fig, ax = _init_figure()
    arts = {}
    update = _init_update(ax, arts, dims, seed)
    fixed = dict(in_channels=in_channels, out_channels=out_channels, kernel_size=kernel_size, groups=groups,
                 transposed=transposed)
    fixed.pop(name)
    update(**fixed, **{name: values[0]})
    freeze_layout(fig)
    return static_explorer(fig, update, name, values, fixed=fixed, description=name)
