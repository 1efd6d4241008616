"""The channels-and-groups view (js/channels.js) in Chromium: over a grid of every control (groups that do
not divide the channel counts included) it draws the numbers ``GroupsView.drawn_numbers()`` computes
with convlab (repaint times printed; bench/repaint.py)."""
from __future__ import annotations

import pytest

from viewlib import check_grid, report


@pytest.mark.parametrize("transposed", [False, True])
def test_groups_view(blank, transposed):
    from convlab.viz.channels import groups_explorer
    page, errors = blank
    view = groups_explorer(transposed=transposed).view
    grid = {"in_channels": [1, 4, 6, 12], "out_channels": [1, 3, 8, 12], "groups": [1, 2, 3, 4, 6, 12]}
    report(f"GroupsView{' transposed' if transposed else ''}", *check_grid(page, errors, view, grid))
