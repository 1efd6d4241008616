"""The 2d sliding-window figure: what each draw function draws, and the numbers the explorer's view shows
(compared with what its JavaScript draws in tests/browser/test_views.py)."""
import matplotlib

matplotlib.use("Agg")


import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from convlab import reference  # noqa: E402
from convlab.viz import style  # noqa: E402
from convlab.viz import window as W  # noqa: E402

MODES = ("zeros", "reflect", "replicate", "circular")


def axes():
    return Figure(figsize=(4, 4)).add_subplot()


def same_colour(a, b):
    return np.allclose(to_rgba(a), to_rgba(b))


def expected_out(size, k, s, p, d):
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


@pytest.fixture
def x():
    return np.arange(20, dtype=float).reshape(4, 5)


# ----------------------------------------------------------------------------- geometry


@pytest.mark.parametrize("k,s,p,d", [(3, 1, 0, 1), (3, 2, 1, 1), (2, 3, 2, 2), (3, 1, 1, 3)])
def test_receptive_field_follows_the_index_formula(k, s, p, d):
    for i, j in [(0, 0), (1, 2), (2, 1)]:
        win = W.receptive_field((i, j), k, s, p, d)
        assert win.corner == (i * s - p, j * s - p)
        assert win.size == (d * (k - 1) + 1,) * 2
        assert win.taps == [(i * s - p + a * d, j * s - p + b * d) for a in range(k) for b in range(k)]


# ----------------------------------------------------------------------------- draw functions


def labels_by_cell(labels):
    """``{(r, c): text}`` of a Labels artist, by the cell each label sits in (what a reader sees where)."""
    return {(int(np.floor(y)), int(np.floor(x))): t for (x, y), t in zip(labels.get_offsets(), labels.get_texts())
            if t}


def unit_squares(squares):
    """The cells of a collection of squares, checking each one is a unit square at its cell."""
    for path in squares.get_paths():
        assert np.allclose(np.ptp(path.vertices, axis=0), (1, 1))
    return W.square_cells(squares)


@pytest.mark.parametrize("mode", MODES)
def test_padded_input_cells_values_and_source_labels(x, mode):
    ax = axes()
    p = 2
    art = W.draw_padded_input(ax, x, p, mode)
    H, Wd = x.shape
    cells = unit_squares(art["cells"])
    values, sources = labels_by_cell(art["values"]), labels_by_cell(art["sources"])
    assert set(cells) == {(r, c) for r in range(-p, H + p) for c in range(-p, Wd + p)} == set(values)
    for (r, c), (face, edge, line) in cells.items():
        assert same_colour(edge, style.EDGE) and line == "-"
        inside = 0 <= r < H and 0 <= c < Wd
        sr, sc = reference.pad_index(r, H, mode), reference.pad_index(c, Wd, mode)
        text = values[r, c]
        if inside:
            assert same_colour(face, style.INPUT)
            assert text == W.fmt(x[r, c]) and (r, c) not in sources
        elif mode == "zeros":
            assert same_colour(face, style.PAD_ZERO)
            assert text == "0" and (r, c) not in sources
        else:
            assert same_colour(face, style.PAD_COPY)
            assert text == W.fmt(x[sr, sc])
            assert sources[r, c] == f"←({sr},{sc})" and art["copies"][r, c] == (sr, sc)
    assert len(sources) == (0 if mode == "zeros" else (H + 2 * p) * (Wd + 2 * p) - H * Wd)
    assert art["border"].get_xy() == (0, 0) and art["border"].get_width() == Wd and art["border"].get_height() == H
    assert ax.get_xlim()[0] < -p + 0.1 and ax.get_ylim()[0] > H + p - 0.1     # y axis points down


def test_padded_input_redraws_in_place_as_a_fresh_draw(x):
    ax = axes()
    art = W.draw_padded_input(ax, x, 2, "reflect")
    kept = dict(art)
    for p, mode in [(1, "zeros"), (3, "circular"), (0, "replicate")]:
        again = W.draw_padded_input(ax, x, p, mode, artists=art)
        fresh_ax = axes()
        fresh = W.draw_padded_input(fresh_ax, x, p, mode)
        assert again is art and all(art[k] is kept[k] for k in ("cells", "values", "sources", "border"))
        assert unit_squares(art["cells"]) == unit_squares(fresh["cells"])
        assert labels_by_cell(art["values"]) == labels_by_cell(fresh["values"])
        assert labels_by_cell(art["sources"]) == labels_by_cell(fresh["sources"])
        assert ax.get_title() == fresh_ax.get_title() and ax.get_xlim() == fresh_ax.get_xlim()


def test_padded_input_rejects_reflect_padding_as_large_as_the_input(x):
    with pytest.raises(ValueError, match="reflect"):
        W.draw_padded_input(axes(), x, 4, "reflect")


def test_kernel_taps_sit_on_the_dilated_grid_with_gaps():
    w = np.arange(6.0).reshape(2, 3)
    ax = axes()
    art = W.draw_kernel(ax, w, dilation=2)
    cells = unit_squares(art["cells"])
    values = labels_by_cell(art["values"])
    assert set(cells) == {(r, c) for r in range(3) for c in range(5)}
    for (a, b), (r, c) in art["taps"].items():
        assert (r, c) == (2 * a, 2 * b)
        face, edge, line = cells[r, c]
        assert same_colour(face, style.KERNEL) and same_colour(edge, style.EDGE) and line == "-"
        assert values[r, c] == W.fmt(w[a, b])
    gaps = [cell for cell in cells if cell not in set(art["taps"].values())]
    span = (2 * (2 - 1) + 1) * (2 * (3 - 1) + 1)
    assert len(gaps) == span - w.size and len(values) == w.size
    assert all(same_colour(cells[g][0], style.GAP) and cells[g][2] == ":" for g in gaps)
    assert "dilation" in ax.get_title()
    # redrawn in place for another kernel: the same artists, the new grid
    again = W.draw_kernel(ax, w[:1, :2], dilation=1, artists=art)
    assert again is art and set(unit_squares(art["cells"])) == {(0, 0), (0, 1)}
    assert labels_by_cell(art["values"]) == {(0, 0): "0", (0, 1): "1"} and "dilation" not in ax.get_title()


@pytest.mark.parametrize("mode", MODES)
def test_window_outline_taps_and_copy_sources(x, mode):
    ax = axes()
    W.draw_padded_input(ax, x, 1, mode)
    k, s, p, d = 2, 2, 1, 2
    index = (0, 1)
    art = W.draw_window(ax, index, k, s, p, d, input_shape=x.shape, padding_mode=mode)
    r0, c0 = index[0] * s - p, index[1] * s - p
    assert art["outline"].get_xy() == (c0, r0)
    assert art["outline"].get_width() == d * (k - 1) + 1 == art["outline"].get_height()
    inset = style.TAP_INSET
    taps = [(r0 + a * d, c0 + b * d) for a in range(k) for b in range(k)]
    assert [tuple(t.get_xy()) for t in art["taps"]] == [(c + inset, r + inset) for r, c in taps]
    for patch, (r, c) in zip(art["sources"], taps):
        outside = not (0 <= r < x.shape[0] and 0 <= c < x.shape[1])
        assert patch.get_visible() == (outside and mode != "zeros")
        if patch.get_visible():
            assert patch.get_xy() == (reference.pad_index(c, x.shape[1], mode), reference.pad_index(r, x.shape[0], mode))
    # moving it keeps the same artists
    outline = art["outline"]
    win = W.update_window(art, (1, 1), k, s, p, d, input_shape=x.shape, padding_mode=mode)
    assert art["outline"] is outline and outline.get_xy() == (1 * s - p, 1 * s - p) and win.corner == (1, 1)


def test_output_grid_marks_the_active_cell():
    y = np.arange(6.0).reshape(2, 3) - 2.5
    ax = axes()
    art = W.draw_output(ax, y, (1, 2))
    assert labels_by_cell(art["values"]) == {(i, j): W.fmt(y[i, j]) for i in range(2) for j in range(3)}
    assert all(same_colour(face, style.OUTPUT) for face, _, _ in unit_squares(art["cells"]).values())
    assert art["active"].get_xy() == (2, 1) and same_colour(art["active"].get_facecolor(), style.ACTIVE)
    assert art["active_value"].get_text() == W.fmt(y[1, 2]) == "2.50"
    W.highlight_output(art, (0, 0))
    assert art["active"].get_xy() == (0, 0) and art["active_value"].get_text() == "-2.50"
    W.highlight_output(art, None)
    assert not art["active"].get_visible()
    assert ax.get_title() == "output 2×3"
    W.draw_output(ax, y.T, (2, 1), artists=art)       # in place, another shape
    assert set(unit_squares(art["cells"])) == {(i, j) for i in range(3) for j in range(2)}
    assert art["active_value"].get_text() == W.fmt(y[1, 2]) and ax.get_title() == "output 3×2"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("s,p,d", [(1, 1, 1), (2, 2, 1), (1, 2, 2)])
def test_dot_product_total_equals_the_reference_convolution(rng, mode, s, p, d):
    x = rng.integers(-3, 4, (4, 5)).astype(float)
    w = rng.integers(-2, 3, (3, 2)).astype(float)
    ref = reference.conv_nd(x[None, None], w[None, None], stride=s, padding=p, dilation=d, padding_mode=mode)[0, 0]
    for index in np.ndindex(*ref.shape):
        terms = W.dot_product_terms(x, w, index, s, p, d, mode)
        assert len(terms) == w.size
        assert sum(t.product for t in terms) == pytest.approx(ref[index])
        for t in terms:
            if t.source is None:
                assert mode == "zeros" and t.x == 0
            else:
                assert t.x == x[t.source]
    text = W.dot_product_text(terms, index)
    assert text.splitlines()[-1] == f"  = {W.fmt(ref[index])}"
    assert text.startswith(f"y[{index[0]}, {index[1]}]")
    assert text.count("·") == w.size and len(text.splitlines()) == 2 + w.shape[0]


def test_draw_dot_product_writes_one_text():
    terms = W.dot_product_terms(np.ones((3, 3)), np.full((2, 2), 2.0), (0, 0))
    ax = axes()
    t = W.draw_dot_product(ax, terms, (0, 0))
    assert t.get_text().endswith("= 8") and t.get_text().count("1·2") == 4


# ----------------------------------------------------------------------------- the explorer


def ref_value(x, w, index, s, p, d, mode):
    return reference.conv_nd(x[None, None], w[None, None], stride=s, padding=p, dilation=d, padding_mode=mode)[
        (0, 0) + tuple(index)]


def test_explorer_numbers_follow_its_controls():
    x = W.default_input()
    ex = W.window_explorer(x)
    st = ex.state
    assert st["output_shape"] == (5, 5) and st["index"] == (0, 0)
    for values in [dict(position=7), dict(stride=2), dict(padding_mode="reflect"), dict(kernel_size=2, dilation=2),
                   dict(padding=0, padding_mode="circular", position=3), dict(kernel_size=5, padding=2)]:
        st = ex.set(**values)
        v = ex.values()
        k, s, p, d, mode = v["kernel_size"], v["stride"], v["padding"], v["dilation"], v["padding_mode"]
        assert ex.view.padding_modes[ex.view.padding_mode] == mode
        w = np.asarray(st["kernel"])
        assert w.shape == (k, k)
        ref = reference.conv_nd(x[None, None], w[None, None], stride=s, padding=p, dilation=d, padding_mode=mode)[0, 0]
        assert st["output_shape"] == ref.shape and np.allclose(st["y"], ref)
        assert st["index"] == divmod(v["position"] % ref.size, ref.shape[1])
        assert st["total"] == pytest.approx(st["output"]) == pytest.approx(ref_value(x, w, st["index"], s, p, d, mode))
        win = W.receptive_field(st["index"], k, s, p, d)
        assert st["window"] == {"corner": win.corner, "size": win.size} and st["taps"] == win.taps


def test_explorer_position_wraps_and_errors():
    ex = W.window_explorer(stride=2)
    st = ex.set(stride=3, position=5)            # 2x2 outputs: round again
    assert st["position"] == 1 and st["index"] == (0, 1)
    assert ex.set(kernel_size=5, dilation=3) == {"error": True}     # 13 cells wide on a 7-cell padded input
    assert ex.set(dilation=1)["output_shape"] == (1, 1)


def test_explorer_with_given_weight_fixes_kernel_size():
    w = np.array([[1.0, -1.0], [2.0, 0.5]])
    ex = W.window_explorer(weight=w, padding=0)
    assert ex.controls["kernel_size"].disabled and ex.state["output_shape"] == (4, 4)
    assert np.array_equal(ex.state["kernel"], w)
    assert ex.state["terms"] == [(x, wv) for x, wv in zip(W.default_input()[:2, :2].ravel(), w.ravel())]
    with pytest.raises(ValueError, match="square"):
        W.window_explorer(weight=np.ones((2, 3)))
