"""The Lazy module view (convlab.viz.lazy.LazyView) in Chromium with a stand-in model: over every class, a
spread of input channels and both sides of the call it draws exactly what convlab's Lazy modules say."""
from __future__ import annotations

from viewlib import check_grid, report


def test_lazy_view(blank):
    from convlab.viz.lazy import lazy_explorer
    page, errors = blank
    view = lazy_explorer("LazyConv2d", in_channels=16, out_channels=33, kernel_size=3).view
    grid = {"kind": [0, 1, 2, 3, 4, 5], "in_channels": [1, 5, 16, 64], "called": [False, True]}
    report("LazyView", *check_grid(page, errors, view, grid))
