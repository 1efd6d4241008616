"""The Unfold / Fold view (js/unfold.js) in Chromium: over a grid of every control it draws the numbers
``UnfoldView.drawn_numbers()`` computes with convlab (F.unfold, F.conv2d, F.conv_transpose2d);
its repaint times are printed (bench/repaint.py)."""
from __future__ import annotations

from viewlib import check_grid, report


def test_unfold_view(blank):
    from convlab.viz.unfold import unfold_explorer
    page, errors = blank
    view = unfold_explorer(kernel_size=2, stride=1).view
    grid = {"kernel_size": [1, 2, 3], "stride": [1, 2, 3], "padding": [0, 1, 2], "dilation": [1, 2],
            "block": [0, 5, 63]}
    report("UnfoldView", *check_grid(page, errors, view, grid))
