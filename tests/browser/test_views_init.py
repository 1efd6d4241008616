"""The weight-init view (convlab.viz.init.InitView) in Chromium with a stand-in model: over a grid covering
every control (channels, kernel size, valid and invalid groups, Conv and ConvTranspose) it draws exactly
the histogram, bound and min/max of the layer convlab makes."""
from __future__ import annotations

import pytest

from viewlib import check_grid, report


@pytest.mark.parametrize("dims", [1, 2])
def test_init_view(blank, dims):
    from convlab.viz.init import init_explorer
    page, errors = blank
    view = init_explorer(16, 33, 3, dims=dims).view
    grid = {"in_channels": [1, 16, 64], "out_channels": [1, 24, 33, 64], "kernel_size": [1, 3, 7],
            "groups": [1, 2, 3, 8], "transposed": [False, True]}
    report(f"InitView {dims}d", *check_grid(page, errors, view, grid))
