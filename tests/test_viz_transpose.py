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
from convlab.viz.transpose import (TransposeView, conv_matrix, draw_gradient, draw_matrix, draw_output_padding,
                                   draw_scatter, draw_zero_insertion, example_data, scatter_stamp, transpose_explorer,
                                   transposed_views, zero_insert)


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


def torch_t(x, w, s, p, op, d):
    """The oracle of the view's numbers: torch's own transposed convolution (float64)."""
    import torch
    conv_t = (torch.nn.functional.conv_transpose1d, torch.nn.functional.conv_transpose2d)[x.ndim - 1]
    return conv_t(torch.tensor(x)[None, None], torch.tensor(w)[None, None], stride=s, padding=p, output_padding=op,
                  dilation=d)[0, 0].numpy()


VIEW_STATES = [(1, 4, 3, 2, 1, 0, 1, 3), (1, 6, 3, 2, 1, 1, 1, 5), (1, 8, 4, 3, 2, 2, 3, 7), (1, 1, 1, 1, 0, 0, 1, 0),
               (1, 5, 2, 1, 0, 2, 3, 2), (1, 3, 4, 3, 8, 2, 1, 1),      # padding and output_padding clamped
               (2, 3, 2, 2, 0, 0, 1, 4), (2, 4, 3, 3, 1, 2, 2, 15), (2, 2, 3, 1, 4, 1, 2, 9)]


@pytest.mark.parametrize("dims,size,k,s,p,op,d,index", VIEW_STATES)
def test_view_drawn_numbers_match_torch(dims, size, k, s, p, op, d, index):
    view = TransposeView(dims=dims, size=size, kernel_size=k, stride=s, padding=p, output_padding=op, dilation=d,
                         index=index)
    got = view.drawn_numbers()
    x, w = example_data((size,) * dims, (k,) * dims)
    # the clamps: torch's output_padding rule, one output cell at least, Play loops over the cells
    op_ = min(op, max(s, d) - 1)
    full = torch_t(x, w, s, 0, op_, d).shape[-1]
    p_ = min(p, (full - 1) // 2)
    assert (got["output_padding"], got["padding"], got["index"]) == (op_, p_, index % x.size)
    expected = torch_t(x, w, s, p_, op_, d)
    assert got["output_size"] == list(expected.shape)
    for way in ("zero_insertion", "matrix", "gradient"):
        np.testing.assert_array_equal(got[way], expected, err_msg=way)
    # the scatter: the stamp of the cell, and the sum of stamps 0..index is torch's output of x cut after it
    i = np.unravel_index(index % x.size, x.shape)
    assert got["cell"] == list(i)
    stamp = np.asarray(got["stamp"])
    assert stamp.shape == torch_t(x, w, s, 0, op_, d).shape
    taps = [tuple(c) for c in np.argwhere(np.ones(w.shape))]
    hit = {tuple(ii * s + t * d for ii, t in zip(i, tap)) for tap in taps}
    assert sorted(np.ravel_multi_index(tuple(np.array(sorted(hit)).T), stamp.shape).tolist()) == got["taps"]
    assert {tuple(c) for c in np.argwhere(stamp != 0)} <= hit and stamp.sum() == x[i] * w.sum()
    cut = np.zeros(x.size)
    cut[:index % x.size + 1] = x.ravel()[:index % x.size + 1]
    np.testing.assert_array_equal(got["partial"], torch_t(cut.reshape(x.shape), w, s, p_, op_, d))
    # zero insertion: the input cells in order, the flipped kernel
    z, roles = np.asarray(got["zero_inserted"]), np.asarray(got["roles"])
    if min(min(e) for e in got["edges"]) >= 0:       # (a negative edge crops input cells away)
        np.testing.assert_array_equal(z[roles == 0], x.ravel())
    assert [z.shape[a] for a in range(dims)] == [(n - 1) * s + 1 + sum(e) for n, e in zip(x.shape, got["edges"])]
    assert got["edges"] == [[d * (k - 1) - p_, d * (k - 1) - p_ + op_]] * dims
    assert (z[roles != 0] == 0).all()
    np.testing.assert_array_equal(got["flipped"], np.flip(w))
    # the matrix: column j of C is the Conv (torch's) of the j-th basis array of the output size
    import torch
    conv = (torch.nn.functional.conv1d, torch.nn.functional.conv2d)[dims - 1]
    basis = np.eye(expected.size).reshape((expected.size, 1) + expected.shape)
    cols = conv(torch.tensor(basis), torch.tensor(w)[None, None], stride=s, padding=p_, dilation=d).numpy()
    np.testing.assert_array_equal(np.asarray(got["C"]), cols.reshape(expected.size, -1).T)
    if dims == 1:
        lengths = {n: conv(torch.zeros(1, 1, n, dtype=torch.float64), torch.tensor(w)[None, None], stride=s,
                           padding=p_, dilation=d).shape[-1] if n + 2 * p_ >= d * (k - 1) + 1 else 0
                   for n in range(1, 80)}
        assert got["candidates"] == [n for n, o in lengths.items() if o == size]
        assert all(lengths[n] == o for n, o in got["rows"]) and got["chosen"] in [n for n, _ in got["rows"]]


def test_transpose_explorer_state_as_notebook_05a_prints_it():
    ex = transpose_explorer(size=4, kernel_size=3, stride=2, padding=1)
    s = ex.set(size=6, kernel_size=3, stride=2, dilation=1, padding=1, output_padding=1, index=5)
    assert s["output_size"] == (12,) and max(s["max_abs_diff"].values()) == 0
    assert s["candidates"] == (11, 12) and s["chosen"] == 12
    np.testing.assert_allclose(s["output"], ref_t(s["input"], s["weight"], 2, 1, 1, 1))
    assert ex.view.index == 5 and ex.controls["index"].value == 5
    s = ex.set(stride=3, output_padding=2, dilation=3)
    assert s["output_padding"] == 2 and max(s["max_abs_diff"].values()) == 0
    s = ex.set(stride=1, dilation=1)                    # output_padding 2 is no longer allowed: clamped to 0
    assert s["output_padding"] == 0
    with pytest.raises(ValueError, match=r"size must be in \[1, 4\] for dims=2"):
        transpose_explorer(2, size=6)


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


def test_notebook_figures_render_with_public_api_only():
    """The five static figures of notebooks 05a/05b, drawn as the notebooks call them and rendered to PNG
    (what the inline backend does): no warning, every cell number inside the picture. Run on the oldest
    matplotlib the extras allow by tests/test_viz_oldest_matplotlib.py."""
    import io
    import warnings

    x, w = np.array([1.0, 2.0, 3.0, 1.0]), np.array([1.0, 2.0, 3.0])
    calls = [((8, 4.2), lambda a: draw_scatter(a, x, w, 3, stride=2, padding=1)),
             ((8, 3.4), lambda a: draw_zero_insertion(a, x, w, stride=2, padding=1)),
             ((6, 3.6), lambda a: draw_matrix(a, x, w, stride=2, padding=1)),
             ((6, 2.4), lambda a: draw_gradient(a, x, w, stride=2, padding=1, diffs={"scatter": 0.0})),
             ((7, 2.8), lambda a: draw_output_padding(a, 6, 3, stride=2, padding=1, output_padding=1))]
    for size, draw in calls:
        fig = Figure(figsize=size)
        a = fig.add_subplot()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            draw(a)
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=60, bbox_inches="tight")
        assert buf.getvalue().startswith(b"\x89PNG")
        box = fig.bbox
        texts = [t for t in a.texts if t.get_visible() and t.get_text()]
        assert texts
        for t in texts:
            ext = t.get_window_extent()
            assert ext.width > 0 and ext.x1 > box.x0 and ext.x0 < box.x1, t.get_text()
