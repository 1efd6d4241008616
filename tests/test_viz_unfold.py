"""convlab.viz.unfold: the column matrix, conv = matmul, conv_transpose = fold, on what was drawn."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.figure import Figure

from convlab import reference
from convlab.viz._cells import fmt
from convlab.viz.unfold import (block_taps, draw_conv_matmul, draw_transpose_fold, draw_unfold, example_arrays,
                                unfold_explorer, unfold_static, unfold_views)
from helpers import explorer_frame, live_frame


def ax():
    return Figure(figsize=(12, 4)).add_subplot()


@pytest.mark.parametrize("k,s,p,d", [(2, 1, 0, 1), (3, 2, 1, 1), ((2, 3), (1, 2), (1, 0), (2, 1)), (2, 3, 2, 2)])
def test_views_equal_reference(k, s, p, d, rng):
    x = rng.standard_normal((2, 5, 6))
    kk = k if isinstance(k, tuple) else (k, k)
    w = rng.standard_normal((3, 2) + kk)
    v = unfold_views(x, w, None, s, p, d)
    np.testing.assert_allclose(v["cols"], reference.unfold_nd(x[None], kk, d, p, s)[0], atol=1e-12)
    np.testing.assert_allclose(v["conv"], reference.conv_nd(x[None], w, stride=s, padding=p, dilation=d)[0],
                               atol=1e-9)
    np.testing.assert_allclose(v["folded"], reference.conv_transpose_nd(v["y"][None], w, stride=s, padding=p,
                                                                        dilation=d)[0], atol=1e-9)
    assert v["max_abs_diff"]["conv"] < 1e-9 and v["max_abs_diff"]["conv_transpose"] < 1e-9
    # padding zeros are marked -1 in the source map, channels 0.. elsewhere
    assert set(np.unique(v["source"])) <= {-1, 0, 1}
    assert (v["source"] == -1).any() == (np.any(np.asarray(p) > 0))


def test_block_taps_index_the_padded_input():
    x, _ = example_arrays(1, (4, 4), 1, 2)
    xp = np.pad(x[0], 1)
    cols = reference.unfold_nd(x[None], 2, 1, 1, 2)[0]
    for b in range(cols.shape[1]):
        _, taps = block_taps(b, (4, 4), 2, stride=2, padding=1)
        assert [xp[r, c] for r, c in taps] == cols[:, b].tolist()


def test_draw_unfold_highlights_block_and_column():
    x, _ = example_arrays(2, (4, 4), 2, 2)
    a = ax()
    art = draw_unfold(a, x, 2, stride=1, padding=1, dilation=1, block=7)
    cols = reference.unfold_nd(x[None], 2, 1, 1, 1)[0]
    np.testing.assert_allclose(art["cols"], cols)
    cells = art["cells"]["cols"]
    assert cells.shape == cols.shape
    # the red column outline sits on column 7
    col_box = art["column"]
    assert col_box.get_x() == cells.bounds()[0] + 7 and col_box.get_height() == cols.shape[0]
    # the tap outlines are on the taps of block 7 (grid 5x5 of blocks -> position (1, 2))
    assert art["position"] == (1, 2)
    x0 = art["cells"]["in0"].bounds()[0]
    got = sorted((b.get_y(), b.get_x() - x0) for b in art["tap_boxes"][:4])
    assert got == [(1, 2), (1, 3), (2, 2), (2, 3)]
    # entries coloured by source: padding grey-ish, channel 0 and 1 different tints
    colors = cells.colors()
    src = art["source"]
    c0 = colors[src == 0][0]
    c1 = colors[src == 1][0]
    assert not np.allclose(c0, c1)
    assert np.allclose(colors[src == -1], colors[src == -1][0])
    # the input cells show the padded values
    assert art["cells"]["in0"].labels()[1][1:5] == [fmt(v) for v in x[0, 0]]


def test_draw_conv_matmul_and_fold():
    x, w = example_arrays(2, (4, 4), 2, 2)
    art = draw_conv_matmul(ax(), x, w, stride=1)
    expected = reference.conv_nd(x[None], w)[0]
    np.testing.assert_allclose(art["conv"], expected)
    np.testing.assert_allclose(art["cells"]["prod"].values, expected.reshape(2, -1))
    assert art["cells"]["out1"].labels() == [[fmt(v) for v in row] for row in expected[1]]
    assert art["diff"] == 0.0 and "= 0" in art["texts"]["title"].get_text()
    y = np.arange(18, dtype=float).reshape(2, 3, 3) % 4
    art = draw_transpose_fold(ax(), y, w, stride=1)
    expected = reference.conv_transpose_nd(y[None], w)[0]
    np.testing.assert_allclose(art["folded"], expected)
    np.testing.assert_allclose(art["cells"]["out0"].values, expected[0])
    assert art["diff"] == 0.0


def test_unfold_explorer():
    ex = unfold_explorer()
    assert ex.state["cols_shape"] == (8, 9)
    st = ex.set(stride=2, block=3)
    assert st["cols_shape"] == (8, 4) and st["position"] == (1, 1)
    x, _ = example_arrays(2, (4, 4), 2, 2)
    np.testing.assert_allclose(st["column"], reference.unfold_nd(x[None], 2, 1, 0, 2)[0][:, 3])
    assert st["max_abs_diff"] == {"conv": 0.0, "conv_transpose": 0.0}
    # the block selector offers valid blocks only
    assert ex.controls["block"].max == 3
    st = ex.set(kernel_size=3, padding=1, dilation=2, stride=1)
    assert ex.controls["block"].max == st["blocks"][0] * st["blocks"][1] - 1
    assert np.isfinite(ex.last_redraw_ms)


def test_unfold_static_frames():
    box = unfold_static(kernel_size=2, stride=2)
    assert len(box.frames) == 4
    assert len({f.value for f in box.frames}) == 4



def test_unfold_explorer_block_moves_only_the_outlines_and_stays_right():
    ex = unfold_explorer(kernel_size=2, stride=1)
    pictures = list(ex.figure.images)          # grids and both matmul panels, as snapshots
    assert len(pictures) == 3
    x, _ = example_arrays(2, (4, 4), 2, 2)
    for block in (4, 8):
        st = ex.set(block=block)
        assert ex.figure.images == pictures    # no new snapshot for a block move
        art = ex.artists["unfold"]
        # the outlines follow the block: column `block` of cols, its taps in both input channels
        assert art["column"].get_x() == art["cells"]["cols"].bounds()[0] + block
        np.testing.assert_allclose(st["column"], reference.unfold_nd(x[None], 2, 1, 0, 1)[0][:, block])
        x0 = art["cells"]["in1"].bounds()[0]
        got = sorted((b.get_y(), b.get_x() - x0) for b in art["tap_boxes"][4:8])
        assert got == sorted(st["taps"])
        assert art["texts"]["title"].get_text().startswith(f"Unfold: block {block} at {st['position']}")
    # a geometry change redraws the panels; the frame is the one a fresh explorer draws
    ex.set(kernel_size=3)
    ex.set(block=2)
    assert ex.figure.images != pictures
    fresh = unfold_explorer(kernel_size=3, stride=1)
    fresh.set(block=2)
    assert np.abs(explorer_frame(ex) - explorer_frame(fresh)).max() <= 8
    fast = explorer_frame(ex)
    slow = live_frame(ex)
    assert np.abs(fast - slow).max() <= 8


def test_unfold_explorer_geometry_moves_redraw_every_panel_and_stay_right():
    ex = unfold_explorer(kernel_size=2, stride=1)
    arts = ex.artists
    x0 = {key: arts[key]["cells"] for key in ("unfold", "conv", "fold")}
    moves = [dict(kernel_size=3), dict(padding=2), dict(stride=2), dict(dilation=2, block=2),
             dict(kernel_size=1, padding=0, dilation=1, stride=3)]
    for values in moves:
        st = ex.set(**values)
        v = ex.values()
        k, s, p, d = st["kernel_size"], v["stride"], v["padding"], v["dilation"]
        x, w = example_arrays(2, (4, 4), 2, k)
        assert ex.figure.images == []                         # the three panels redrawn, drawn as they are
        live = explorer_frame(ex)
        ex.set(block=st["block"])                             # a block move: the panels become pictures
        assert len(ex.figure.images) == 3 and np.abs(explorer_frame(ex) - live).max() <= 8
        assert all(arts[key]["cells"] is x0[key] for key in x0)          # the same block stores
        # unfold: the padded input of each channel and the column matrix, its numbers when they fit
        cols = reference.unfold_nd(x[None], k, d, p, s)[0]
        unfold_cells = arts["unfold"]["cells"]
        for ci in range(2):
            np.testing.assert_allclose(unfold_cells[f"in{ci}"].values, np.pad(x[ci], p))
            assert unfold_cells[f"in{ci}"].shown
        np.testing.assert_allclose(unfold_cells["cols"].values, cols)
        if unfold_cells["cols"].labels():
            assert unfold_cells["cols"].labels() == [[fmt(a) for a in row] for row in cols]
        assert arts["unfold"]["column"].get_height() == cols.shape[0]
        # conv = matmul and conv_transpose = fold: each output channel against the reference
        conv = reference.conv_nd(x[None], w, stride=s, padding=p, dilation=d)[0]
        y = arts["views"]["y"]                                   # what the fold panel transposes
        folded = reference.conv_transpose_nd(y[None], w, stride=s, padding=p, dilation=d)[0]
        np.testing.assert_allclose(arts["conv"]["cells"]["prod"].values, conv.reshape(2, -1))
        for co in range(2):
            np.testing.assert_allclose(arts["conv"]["cells"][f"out{co}"].values, conv[co])
            np.testing.assert_allclose(arts["fold"]["cells"][f"out{co}"].values, folded[co])
        assert "= 0" in arts["conv"]["texts"]["title"].get_text()
    fresh = unfold_explorer(kernel_size=2, stride=1)
    fresh.set(**ex.values())
    assert np.abs(explorer_frame(ex) - explorer_frame(fresh)).max() <= 8
