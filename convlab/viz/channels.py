"""Channels and groups: which input channels feed which output channels, and the weight that stores it.

Introduced in notebooks 2 and 3 (``groups`` and depthwise convolution). With ``groups = g`` the
channels split into ``g`` equal blocks; output channel ``o`` reads only the input channels of its block,
``o // (out_channels / g)``. The weight stores one kernel per (output channel, input channel of its
block): Conv ``(out_channels, in_channels / groups, *kernel_size)``, ConvTranspose
``(in_channels, out_channels / groups, *kernel_size)``.

:func:`groups_explorer` is a browser view (:class:`GroupsView`, drawn by ``js/channels.js``) under
sliders for in_channels, out_channels and groups: the channels joined by one line per connected pair,
coloured by group; the weight's block structure (one cell per stored kernel) with its shape; the
parameter count with its derivation; depthwise (``groups == in_channels``) called out. The groups slider
offers every value from 1 to ``max_channels``, whatever the channel counts: a value that does not divide
both counts is a layer torch refuses, and the view says so in its own words, naming the valid values
(they are also marked on a number line under the picture), rather than moving the slider behind the
reader's back. Every control works in the book and the slides too, with no kernel.
:meth:`GroupsView.drawn_numbers` computes, with convlab layers, what the view shows.
"""
from __future__ import annotations

import math

import numpy as np

from .. import nn, shapes
from ._view import ExplorerBox, View, esm, int_slider, traitlets

__all__ = ["valid_groups", "group_of", "parameter_text", "connected_pairs", "GroupsView", "groups_explorer"]


def valid_groups(in_channels, out_channels) -> list:
    """The ``groups`` values that divide both channel counts."""
    g = math.gcd(in_channels, out_channels)
    return [d for d in range(1, g + 1) if g % d == 0]


def group_of(channel, channels, groups) -> int:
    """The group of ``channel`` among ``channels`` channels split into ``groups`` blocks."""
    return channel // (channels // groups)


def parameter_text(in_channels, out_channels, kernel_size, groups=1, bias=True, transposed=False) -> str:
    """The parameter count with its derivation (``shapes.parameter_count``), one line."""
    kernel = tuple(kernel_size) if isinstance(kernel_size, (tuple, list)) else (kernel_size,)
    d = shapes.parameter_count(in_channels, out_channels, kernel, groups, bias, transposed)
    return f"parameters: {d.text}"


def _layer(in_channels, out_channels, kernel_size, groups, transposed):
    cls = nn.ConvTranspose1d if transposed else nn.Conv1d
    return cls(in_channels, out_channels, kernel_size, groups=groups, dtype=np.float64)


def connected_pairs(layer) -> list:
    """``(i, o)`` pairs (ordered by ``o``, then ``i``) where input channel ``i`` reaches output channel ``o``
    of a 1d conv ``layer``, found by running it: weight all ones, no bias, input channel ``i`` all ones."""
    layer.weight[...] = 1.0
    layer.bias[...] = 0.0
    c_in, k = layer.in_channels, layer.kernel_size[0]
    reach = []                                   # reach[i][o]: what input channel i alone gives output channel o
    for i in range(c_in):
        x = np.zeros((c_in, k))
        x[i] = 1.0
        reach.append(layer(x)[:, 0])
    reach = np.array(reach)
    return [(i, o) for o in range(reach.shape[1]) for i in range(c_in) if reach[i, o] != 0]


class GroupsView(View):
    """The picture of :func:`groups_explorer` (``js/channels.js``)."""

    _esm = esm("channels")
    in_channels = traitlets.Int(4).tag(sync=True)
    out_channels = traitlets.Int(8).tag(sync=True)
    groups = traitlets.Int(1).tag(sync=True)
    kernel_size = traitlets.Int(3).tag(sync=True)
    transposed = traitlets.Bool(False).tag(sync=True)
    max_channels = traitlets.Int(12).tag(sync=True)

    def explain(self) -> dict:
        """What :func:`groups_explorer`'s ``set`` and ``state`` return: the channel counts, ``groups``,
        ``valid_groups``, ``pairs`` (how many channel pairs are connected), ``weight_shape`` (of a real
        ``nn.Conv1d`` / ``nn.ConvTranspose1d``) beside ``formula_weight_shape`` (``convlab.shapes``),
        ``parameters`` beside ``formula_parameters``, ``parameter_text``, ``depthwise``, and the
        ``connections`` themselves; or, for groups that do not divide both counts, ``error`` (convlab's
        message) with the shapes and counts None."""
        cin, cout, g, k, tr = self.in_channels, self.out_channels, self.groups, self.kernel_size, self.transposed
        out = {"in_channels": cin, "out_channels": cout, "groups": g, "valid_groups": valid_groups(cin, cout)}
        try:
            layer = _layer(cin, cout, k, g, tr)
        except ValueError as e:
            return {**out, "error": str(e), "pairs": None, "weight_shape": None, "formula_weight_shape": None,
                    "parameters": None, "formula_parameters": None, "depthwise": None}
        count = sum(p.size for p in layer.parameters())
        pairs = connected_pairs(layer)
        return {**out, "pairs": len(pairs), "connections": pairs, "weight_shape": tuple(layer.weight.shape),
                "formula_weight_shape": shapes.conv_weight_shape(cin, cout, (k,), g, tr).value,
                "parameters": count, "formula_parameters": int(shapes.parameter_count(cin, cout, (k,), g, True, tr)),
                "parameter_text": parameter_text(cin, cout, k, g, transposed=tr), "depthwise": g == cin}

    def drawn_numbers(self) -> dict:
        """What the view shows: ``valid_groups``; then ``pairs`` (the lines, ``[i, o]``), ``weight_shape``,
        ``parameters`` and ``parameter_text`` and ``depthwise``, or ``error: True`` (convlab refuses the
        layer)."""
        out = self.explain()
        if "error" in out:
            return {"error": True, "valid_groups": out["valid_groups"]}
        return {"valid_groups": out["valid_groups"], "pairs": [list(p) for p in out["connections"]],
                "weight_shape": list(out["weight_shape"]), "parameters": out["parameters"],
                "parameter_text": out["parameter_text"], "depthwise": out["depthwise"]}


def groups_explorer(in_channels=4, out_channels=8, groups=2, kernel_size=3, *, transposed=False,
                    max_channels=12) -> ExplorerBox:
    """Sliders for in_channels, out_channels and groups (1 to ``max_channels``), linked in the browser.

    Draws the channel connections coloured by group and the weight's block structure, with the parameter
    count; ``groups == in_channels`` (depthwise) is called out; groups that do not divide both channel
    counts get the view's explanation and the valid values. ``ex.set(**values)`` and ``ex.state`` return
    :meth:`GroupsView.explain`: ``groups``, ``valid_groups``, ``pairs`` (connected channel pairs),
    ``weight_shape`` (from a real ``nn.Conv1d``/``nn.ConvTranspose1d``) beside ``formula_weight_shape``,
    ``parameters`` beside ``formula_parameters``, ``depthwise``.

    Examples
    --------
    >>> ex = groups_explorer()
    >>> ex.set(in_channels=6, out_channels=6, groups=6)["depthwise"]
    True
    >>> ex.set(groups=4)["valid_groups"], "error" in ex.state
    ([1, 2, 3, 6], True)
    """
    max_channels = max(max_channels, in_channels, out_channels, groups)
    view = GroupsView(in_channels=in_channels, out_channels=out_channels, groups=groups, kernel_size=kernel_size,
                      transposed=transposed, max_channels=max_channels)
    controls = {
        "in_channels": int_slider("in_channels", in_channels, 1, max_channels),
        "out_channels": int_slider("out_channels", out_channels, 1, max_channels),
        "groups": int_slider("groups", groups, 1, max_channels),
    }
    return ExplorerBox(view, controls)
