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


def test_init_view_where_float32_rounding_picks_the_bar(blank):
    """After manual_seed(48), draw 19142 is u = 0.81249999795...: for Conv1d(64, 64, 5) (bound 1/√320) its
    float32 weight falls in the bar above the one u alone gives, so the page must use its exact value."""
    import math

    import numpy as np

    from convlab.viz.init import BINS, init_explorer, weight_bins
    page, errors = blank
    view = init_explorer(64, 64, 5, dims=1, seed=48).view
    u = dict(map(tuple, view.near))[19142]
    b = 1 / math.sqrt(320)
    assert weight_bins(np.float32(-b + 2 * b * u), b)[0] != min(math.floor(BINS * u), BINS - 1)
    grid = {"out_channels": [64, 60, 59], "transposed": [False, True], "kernel_size": [5, 4]}
    report("InitView seed 48", *check_grid(page, errors, view, grid))
