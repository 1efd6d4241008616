"""convlab.viz.transpose: the four ways agree with the naive reference, and the figures show them."""
import itertools

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from convlab import reference
from convlab.nn import functional as F
from convlab.viz import style
from convlab.viz._cells import fmt
from convlab.viz.transpose import (conv_matrix, draw_gradient, draw_matrix, draw_output_padding, draw_scatter,
                                   draw_zero_insertion, scatter_stamp, transpose_explorer, transpose_static,
                                   transposed_views, zero_insert)
from helpers import explorer_frame, live_frame


def ref_t(x, w, s, p, op, d):
    return reference.conv_transpose_nd(x[None, None], w[None, None], stride=s, padding=p, output_padding=op,
                                       dilation=d)[0, 0]


def ax():
    return Figure().add_subplot()


def labels_of(cells):
    return [[v for v in row] for row in cells.labels()]


GEOMETRIES_1D = [(s, p, op, d) for s, p, d in itertools.product((1, 2, 3), (0, 1, 2), (1, 2, 3))
                 for op in range(max(s, d))]


@pytest.mark.parametrize("s,p,op,d", GEOMETRIES_1D)
def test_four_ways_equal_reference_1d(s, p, op, d, rng):
    x, w = rng.standard_normal(5), rng.standard_normal(3)
    expected = ref_t(x, w, s, p, op, d)
    v = transposed_views(x, w, s, p, op, d)
    assert v["output_size"] == expected.shape
    for way in ("scatter", "zero_insertion", "matrix", "gradient"):
        np.testing.assert_allclose(v[way], expected, atol=1e-5, err_msg=way)
    assert max(v["max_abs_diff"].values()) < 1e-5


@pytest.mark.parametrize("s,p,op,d", [((2, 1), (1, 0), (1, 0), (1, 1)), ((1, 3), (0, 2), (0, 2), (2, 1)),
                                      (2, 1, 1, 2), (3, 0, 2, 1), (1, 1, 1, 2)])
def test_four_ways_equal_reference_2d(s, p, op, d, rng):
    x, w = rng.standard_normal((3, 4)), rng.standard_normal((2, 3))
    expected = ref_t(x, w, s, p, op, d)
    v = transposed_views(x, w, s, p, op, d)
    for way in ("scatter", "zero_insertion", "matrix", "gradient"):
        np.testing.assert_allclose(v[way], expected, atol=1e-5, err_msg=way)


def test_zero_insertion_pieces():
    x = np.array([1.0, 2.0, 3.0])
    z, roles, edges = zero_insert(x, 3, stride=3, padding=1, output_padding=2, dilation=2)
    # edge = d(k-1) - p = 2*2 - 1 = 3 on the left, 3 + output_padding = 5 on the right
    assert edges == ((3, 5),)
    assert z.tolist() == [0, 0, 0, 1, 0, 0, 2, 0, 0, 3, 0, 0, 0, 0, 0]
    assert roles.tolist() == [2, 2, 2, 0, 1, 1, 0, 1, 1, 0, 2, 2, 2, 2, 2]
    # padding larger than d(k-1) crops
    z, _, edges = zero_insert(x, 2, stride=2, padding=2)
    assert edges == ((-1, -1),) and z.tolist() == [0, 2, 0]


def test_conv_matrix_is_the_conv(rng):
    w = rng.standard_normal((2, 3))
    u = rng.standard_normal((5, 7))
    C = conv_matrix(u.shape, w, stride=(2, 1), padding=(1, 2), dilation=(1, 2))
    expected = reference.conv_nd(u[None, None], w[None, None], stride=(2, 1), padding=(1, 2), dilation=(1, 2))[0, 0]
    np.testing.assert_allclose(C @ u.ravel(), expected.ravel(), atol=1e-12)
    assert C.shape == (expected.size, u.size)


def test_scatter_stamp_is_one_cell_of_the_sum():
    x, w = np.array([1.0, 2.0, 3.0]), np.array([1.0, 10.0, 100.0])
    stamp, mask = scatter_stamp(x, w, 2, stride=2, dilation=2)
    assert np.flatnonzero(mask).tolist() == [4, 6, 8]
    assert stamp[mask].tolist() == [3.0, 30.0, 300.0]


def test_draw_scatter_shows_stamp_and_partial_sum():
    x, w = np.array([1.0, 2.0, 3.0, 1.0]), np.array([1.0, 2.0, 3.0])
    a = ax()
    art = draw_scatter(a, x, w, 1, stride=2, padding=1)
    blocks = art["blocks"]
    # the stamp of cell 1 (value 2) is 2·weight at canvas cells 2, 3, 4
    stamp_labels = labels_of(blocks.cells["stamp"])[0]
    assert stamp_labels[2:5] == ["2", "4", "6"] and set(stamp_labels[:2] + stamp_labels[5:]) == {""}
    # partial sum after stamps 0 and 1 == the reference transposed conv of x with cells 2, 3 zeroed
    partial = ref_t(np.array([1.0, 2.0, 0.0, 0.0]), w, 2, 1, 0, 1)
    assert labels_of(blocks.cells["sum"])[0] == [fmt(v) for v in partial]
    # the red outline sits on input cell 1
    bx = blocks.cells["x"].bounds()
    assert art["current"].get_x() == bx[0] + 1 and art["current"].get_visible()
    # cropped canvas cells (padding) are grey
    colors = blocks.cells["stamp"].colors()
    np.testing.assert_allclose(colors[0, 0], to_rgba(style.PAD_ZERO))
    # redraw in place with the last cell: the sum is the whole output, no new Cells objects
    art2 = draw_scatter(a, x, w, 3, stride=2, padding=1, artists=art)
    assert art2 is art
    assert labels_of(blocks.cells["sum"])[0] == [fmt(v) for v in ref_t(x, w, 2, 1, 0, 1)]


def test_draw_zero_insertion_output_and_colours():
    x, w = np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0])
    art = draw_zero_insertion(ax(), x, w, stride=2, padding=1, output_padding=1)
    cells = art["blocks"].cells
    assert labels_of(cells["output"])[0] == [fmt(v) for v in ref_t(x, w, 2, 1, 1, 1)]
    assert labels_of(cells["flipped"])[0] == ["3", "2", "1"]
    colors = cells["zero_inserted"].colors()[0]
    # layout: edge 1 | 1 0 2 0 3 | edge 2 (1 + output_padding)
    np.testing.assert_allclose(colors[0], to_rgba(style.PAD_ZERO))
    np.testing.assert_allclose(colors[1], to_rgba(style.INPUT))
    np.testing.assert_allclose(colors[2], to_rgba(style.INSERTED_ZERO))
    assert colors.shape[0] == 1 + 5 + 2


def test_draw_matrix_shows_C_and_CT_x(rng):
    x, w = np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0])
    art = draw_matrix(ax(), x, w, stride=2, padding=1)
    out_len = ref_t(x, w, 2, 1, 0, 1).size
    # C built independently: column j of C^T... row o of C = conv of the basis vector e_j, read at o
    basis = np.eye(out_len)
    C = np.stack([reference.conv_nd(e[None, None], w[None, None], stride=2, padding=1)[0, 0] for e in basis], axis=1)
    np.testing.assert_allclose(art["C"].values, C)
    assert labels_of(art["out"])[0] == [fmt(v) for v in ref_t(x, w, 2, 1, 0, 1)]
    assert [r[0] for r in labels_of(art["x"])] == ["1", "2", "3"]


def test_draw_gradient_with_diffs():
    x, w = np.array([1.0, 2.0]), np.array([1.0, 1.0, 2.0])
    a = ax()
    art = draw_gradient(a, x, w, stride=3, diffs={"scatter": 0.0, "matrix": 0.0})
    assert labels_of(art["blocks"].cells["output"])[0] == [fmt(v) for v in ref_t(x, w, 3, 0, 0, 1)]
    assert "scatter 0" in art["diffs"].get_text()


def conv_len(n, k, s, p, d):
    """Independent oracle: the length F.conv1d actually produces."""
    return F.conv1d(np.zeros((1, 1, n)), np.zeros((1, 1, k)), stride=s, padding=p, dilation=d).shape[-1]


def test_draw_output_padding_article_example():
    a = ax()
    art = draw_output_padding(a, 6, 3, stride=2, padding=1, output_padding=1)
    st = art["state"]
    assert st["candidates"] == (11, 12) and st["chosen"] == 12
    assert st["candidates"] == tuple(n for n in range(1, 30) if conv_len(n, 3, 2, 1, 1) == 6)
    texts = [t.get_text() for t in art["texts"] if t.get_text()]
    assert any(t.startswith("L_in=11 → L_out=6") for t in texts)
    assert any(t.startswith("L_in=12 → L_out=6") for t in texts)
    assert any(t.startswith("L_in=13 → L_out=7") for t in texts)
    assert "picks 12" in art["title"].get_text()
    # output_size picks too (the up_sample(x, output_size=...) call); an impossible one is refused
    art = draw_output_padding(a, 6, 3, stride=2, padding=1, output_size=11, artists=art)
    assert art["state"]["output_padding"] == 0 and "output_size=11" in art["title"].get_text()
    with pytest.raises(ValueError, match=r"output_size 13 is not in \[11, 12\]"):
        draw_output_padding(a, 6, 3, stride=2, padding=1, output_size=13, artists=art)


@pytest.mark.parametrize("size,k,s,p,d", [(4, 3, 3, 0, 1), (5, 2, 2, 1, 2), (3, 4, 1, 2, 1)])
def test_output_padding_candidates_match_conv(size, k, s, p, d):
    art = draw_output_padding(ax(), size, k, s, p, d)
    oracle = tuple(n for n in range(1, 60) if n + 2 * p >= d * (k - 1) + 1 and conv_len(n, k, s, p, d) == size)
    assert art["state"]["candidates"] == oracle


def test_transpose_explorer_1d():
    ex = transpose_explorer(1, size=6, kernel_size=3, stride=2, padding=1, output_padding=1)
    st = ex.state
    assert st["output_size"] == (12,) and st["candidates"] == (11, 12) and st["chosen"] == 12
    for values in [dict(index=3), dict(stride=3, output_padding=2), dict(dilation=3, stride=1, output_padding=2),
                   dict(kernel_size=2, padding=0, index=5), dict(size=3, stride=2, dilation=1, index=5)]:
        st = ex.set(**values)
        expected = ref_t(st["input"], st["weight"], st["stride"], st["padding"], st["output_padding"],
                         st["dilation"])
        np.testing.assert_allclose(st["output"], expected, atol=1e-9)
        assert st["max_abs_diff"] == {"scatter": 0.0, "zero_insertion": 0.0, "matrix": 0.0, "gradient": 0.0}
        assert st["output_padding"] < max(st["stride"], st["dilation"])
        assert np.isfinite(ex.last_redraw_ms)
    # valid output_padding values only: its slider's range follows stride and dilation
    ex.set(stride=2, dilation=1)
    assert ex.controls["output_padding"].max == 1
    ex.set(dilation=3)
    assert ex.controls["output_padding"].max == 2
    # the input-cell slider is clamped to the input (size 3 -> cells 0..2), and Play moves it
    ex.set(size=3)
    assert ex.controls["index"].max == 2 and ex.state["index"] <= 2
    # the figure was built once: a redraw moves the existing artists (the text pool only grows
    # when a larger array than ever before appears)
    assert len(ex.figure.axes) == 5
    ex.set(index=1)
    n = len(ex.figure.findobj(matplotlib.text.Text))
    ex.set(index=2)
    assert len(ex.figure.findobj(matplotlib.text.Text)) == n


def test_transpose_explorer_2d_partial_sum():
    ex = transpose_explorer(2, size=2, kernel_size=2, stride=2, padding=0)
    x, w = ex.state["input"], ex.state["weight"]
    st = ex.set(index=1)                         # stamps of cells (0, 0) and (0, 1)
    x01 = np.zeros_like(x)
    x01[0, :2] = x[0, :2]
    np.testing.assert_allclose(st["partial"], ref_t(x01, w, 2, 0, 0, 1))
    st = ex.set(index=3)
    np.testing.assert_allclose(st["partial"], ref_t(x, w, 2, 0, 0, 1))
    assert st["C_shape"] == (4, 16)


def test_transpose_static_frames():
    box = transpose_static(1, size=3, kernel_size=2, stride=2, padding=0)
    assert len(box.frames) == 3
    values = [f.value for f in box.frames]
    assert len(set(values)) == 3 and all(v[:8] == b"\x89PNG\r\n\x1a\n" for v in values)



@pytest.mark.parametrize("dims", [1, 2])
def test_transpose_explorer_redraws_only_the_stamps_and_stays_right(dims):
    ex = transpose_explorer(dims, size=3, kernel_size=2, stride=2, padding=0)
    pictures = list(ex.figure.images)         # the snapshots of the panels that do not follow the index
    assert len(pictures) == len(ex.figure.axes)
    for index in (1, 2):
        st = ex.set(index=index)
        assert ex.figure.images == pictures   # an index move pastes them again, no new snapshot
        # ... and redraws the stamp and the partial sum, which follow the index
        blocks = ex.artists["scatter"]["blocks"]
        x, w = st["input"], st["weight"]
        upto = np.zeros(x.size)
        upto[:index + 1] = x.ravel()[:index + 1]
        expected = ref_t(upto.reshape(x.shape), w, 2, 0, 0, 1)
        np.testing.assert_allclose(blocks.cells["sum"].values, np.atleast_2d(expected))
        if dims == 1:                         # (the 2-d cells are too small for their numbers)
            assert labels_of(blocks.cells["sum"]) == [[fmt(v) for v in row] for row in np.atleast_2d(expected)]
        assert blocks.headings["sum"].get_text() == f"sum of {index + 1}/{x.size} stamps"
        assert blocks.cells["sum"].mesh.get_visible() and not blocks.cells["x"].mesh.get_visible()
    # after a geometry change and more index moves, the frame is the one a fresh explorer draws
    ex.set(kernel_size=3)
    ex.set(index=2)
    assert ex.figure.images != pictures
    fresh = transpose_explorer(dims, size=3, kernel_size=3, stride=2, padding=0)
    fresh.set(index=2)
    assert np.abs(explorer_frame(ex) - explorer_frame(fresh)).max() <= 8
    # and the pictures show what their hidden artists hold
    fast = explorer_frame(ex)
    slow = live_frame(ex)
    assert np.abs(fast - slow).max() <= 8


@pytest.mark.parametrize("dims", [1, 2])
def test_transpose_explorer_geometry_moves_redraw_every_view_and_stay_right(dims):
    ex = transpose_explorer(dims, size=3, kernel_size=2, stride=2, padding=0)
    arts = ex.artists
    blocks = {name: arts[name]["blocks"] for name in ("scatter", "zero", "gradient")}
    moves = [dict(size=4), dict(kernel_size=3), dict(stride=3), dict(dilation=2), dict(output_padding=1),
             dict(padding=1), dict(stride=1, output_padding=0, size=2), dict(kernel_size=1, padding=0, dilation=1)]
    labelled = 0
    for values in moves:
        st = ex.set(**values)
        x, w = st["input"], st["weight"]
        s, p, op, d = st["stride"], st["padding"], st["output_padding"], st["dilation"]
        expected = ref_t(x, w, s, p, op, d)
        assert ex.figure.images == []                         # every view redrawn, drawn as it is
        live = explorer_frame(ex)
        ex.set(index=st["index"])                             # a stamp move: the views become pictures
        assert len(ex.figure.images) == len(ex.figure.axes)
        # ... that show the same (but for a few pixels where the scatter's note, drawn live, runs into
        # the text of the panel beside it: the picture of that panel is now under it, not over it)
        assert (np.abs(explorer_frame(ex) - live).max(axis=2) > 8).mean() < 1e-4
        assert {name: arts[name]["blocks"] for name in blocks} == blocks          # the same artists
        # scatter-add: the input, the weight, the sum of the stamps so far
        scatter = blocks["scatter"].cells
        np.testing.assert_allclose(scatter["x"].values, np.atleast_2d(x))
        np.testing.assert_allclose(scatter["weight"].values, np.atleast_2d(w))
        upto = np.zeros(x.size)
        upto[:st["index"] + 1] = x.ravel()[:st["index"] + 1]
        np.testing.assert_allclose(scatter["sum"].values, np.atleast_2d(ref_t(upto.reshape(x.shape), w, s, p, op, d)))
        # zero insertion: its input coloured by role, its output the transposed conv
        zero = blocks["zero"].cells
        z, roles, _ = zero_insert(x, w.shape, s, p, op, d)
        palette = np.array([to_rgba(c) for c in (style.INPUT, style.INSERTED_ZERO, style.PAD_ZERO)])
        np.testing.assert_allclose(zero["zero_inserted"].colors(), palette[np.atleast_2d(roles)])
        np.testing.assert_allclose(zero["output"].values, np.atleast_2d(expected))
        # matrix: C of the matching conv, Cᵀx; gradient: the same numbers
        np.testing.assert_allclose(arts["matrix"]["C"].values, conv_matrix(expected.shape, w, s, p, d))
        np.testing.assert_allclose(arts["matrix"]["out"].values.ravel(), expected.ravel())
        np.testing.assert_allclose(blocks["gradient"].cells["output"].values, np.atleast_2d(expected))
        for cells in (zero["output"], blocks["gradient"].cells["output"]):
            if labels_of(cells):                               # (when the cells are big enough for numbers)
                labelled += 1
                assert labels_of(cells) == [[fmt(v) for v in row] for row in np.atleast_2d(expected)]
        if dims == 1:
            lengths = arts["op"]["state"]["lengths"]
            assert sum(r.shown for r in arts["op"]["rows"]) == len(lengths)
    assert labelled >= len(moves) or dims == 2                 # (2-d cells are too small for their numbers)
    # after the moves, the frame is the one a fresh explorer draws at those values
    final = {k: v for k, v in ex.values().items() if k != "index"}
    fresh = transpose_explorer(dims, **final)
    fresh.set(index=ex.values()["index"])
    assert np.abs(explorer_frame(ex) - explorer_frame(fresh)).max() <= 8
