"""The transposed-convolution view (convlab.viz.transpose.TransposeView) in Chromium with a stand-in model:
over a grid covering every control (values the view must clamp included) its four ways, stamp, partial sum
and output-length rows are exactly what convlab computes."""
from __future__ import annotations

import pytest

from viewlib import check_grid, report, set_trait


GRIDS = {
    1: {"size": [1, 4, 8], "kernel_size": [1, 3, 4], "stride": [1, 3], "dilation": [1, 3], "padding": [0, 2, 8],
        "output_padding": [0, 2], "index": [0, 5]},
    2: {"size": [1, 3, 4], "kernel_size": [1, 3], "stride": [1, 3], "dilation": [1, 2], "padding": [0, 4],
        "output_padding": [0, 2], "index": [0, 7]},
}


@pytest.mark.parametrize("dims", [1, 2])
def test_transpose_view(blank, dims):
    from convlab.viz.transpose import transpose_explorer
    page, errors = blank
    view = transpose_explorer(dims, size=4, kernel_size=3, stride=2, padding=1).view
    report(f"TransposeView {dims}d", *check_grid(page, errors, view, GRIDS[dims]))


def test_transpose_view_moves_clamped_values_back(blank):
    from convlab.viz.transpose import transpose_explorer
    page, _ = blank
    view = transpose_explorer(1, size=4, kernel_size=3, stride=2, padding=1).view
    from viewlib import render
    render(page, view)
    assert set_trait(page, "output_padding", 2)["state"]["output_padding"] == 1     # < max(stride, dilation)
    assert set_trait(page, "padding", 8)["state"]["padding"] == 4                   # (10 − 1) // 2: an output cell left
    assert set_trait(page, "index", 6)["state"]["index"] == 2                       # 6 mod 4 cells
