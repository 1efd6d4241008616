"""The Conv3d depth-slice view (js/slices3d.js) in Chromium: over a grid of every control it draws the
numbers ``Conv3dView.drawn_numbers()`` computes with convlab (repaint times printed;
bench/repaint.py)."""
from __future__ import annotations

from viewlib import check_grid, report


def test_conv3d_view(blank):
    from convlab.viz.slices3d import conv3d_explorer
    page, errors = blank
    view = conv3d_explorer().view
    grid = {"kernel_size": [1, 2, 3], "stride": [1, 2, 3], "padding": [0, 1, 2], "dilation": [1, 2],
            "depth": [0, 2, 8]}
    report("Conv3dView", *check_grid(page, errors, view, grid))
