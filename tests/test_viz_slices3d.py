"""The 3d slice scrubber: which input depth slices one output depth slice reads."""
import matplotlib

matplotlib.use("Agg")

import io  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from PIL import Image  # noqa: E402

from convlab import reference  # noqa: E402
from convlab.viz import slices3d as V  # noqa: E402
from convlab.viz import style  # noqa: E402
from convlab.viz._widgets import render_png  # noqa: E402
from helpers import explorer_frame


def test_depth_slices_layout_values_and_colours():
    x = np.arange(2 * 2 * 3, dtype=float).reshape(2, 2, 3)
    ax = Figure().add_subplot()
    art = V.draw_depth_slices(ax, x, padding=1)
    assert set(art["frames"]) == {-1, 0, 1, 2}
    shown = dict(zip(map(tuple, art["values"].get_offsets()), art["values"].get_texts()))
    assert shown == {(V.slice_origin(z, x.shape, 1) + c + 0.5, r + 0.5): V.fmt(x[z, r, c])
                     for z in range(2) for r in range(2) for c in range(3)}
    assert art["depths"].get_texts() == ["z=-1", "z=0", "z=1", "z=2"]
    assert [np.allclose(rgba, to_rgba(style.MUTED)) for rgba in art["depths"].get_colors()] == [True, False, False,
                                                                                                True]
    rgba = art["image"].get_array()
    left0 = int(V.slice_origin(0, x.shape, 1))                # column of input cell (0, 0, 0)
    assert np.allclose(rgba[1, left0], to_rgba(style.INPUT))  # row 1 of the image is input row 0
    assert np.allclose(rgba[0, left0], to_rgba(style.PAD_ZERO))
    leftm1 = int(V.slice_origin(-1, x.shape, 1))
    assert np.allclose(rgba[1, leftm1], to_rgba(style.PAD_ZERO))  # a whole depth-padding slice
    V.highlight_depth(art, [-1, 1])
    assert art["frames"][-1].get_visible() and art["frames"][1].get_visible() and not art["frames"][0].get_visible()
    assert art["labels"][1].get_text() == "× kernel[1]" and art["labels"][0].get_text() == ""


def labels_by_cell(labels):
    """``{(r, c): text}`` of a Labels artist, by the cell each label sits in."""
    return {(int(np.floor(y)), int(np.floor(x))): t for (x, y), t in zip(labels.get_offsets(), labels.get_texts())
            if t}



def test_depth_slices_redraw_in_place_as_a_fresh_draw():
    x = np.arange(2 * 2 * 3, dtype=float).reshape(2, 2, 3)
    ax = Figure().add_subplot()
    art = V.draw_depth_slices(ax, x, padding=2)
    first = {key: art[key] for key in ("image", "grid", "values", "depths")}
    frame_m2 = art["frames"][-2]
    for p in (1, 2, 0):
        again = V.draw_depth_slices(ax, x, padding=p, artists=art)
        fresh_ax = Figure().add_subplot()
        fresh = V.draw_depth_slices(fresh_ax, x, padding=p)
        assert again is art and all(art[key] is first[key] for key in first)
        assert set(art["frames"]) == set(fresh["frames"]) == set(range(-p, 2 + p))
        for z in art["frames"]:
            assert art["frames"][z].get_bbox().bounds == fresh["frames"][z].get_bbox().bounds
            assert art["labels"][z].get_position() == fresh["labels"][z].get_position()
        np.testing.assert_array_equal(art["image"].get_array(), fresh["image"].get_array())
        assert art["image"].get_extent() == fresh["image"].get_extent()
        assert [s.tolist() for s in art["grid"].get_segments()] == [s.tolist() for s in fresh["grid"].get_segments()]
        for key in ("values", "depths"):
            assert art[key].get_texts() == fresh[key].get_texts()
            np.testing.assert_array_equal(art[key].get_offsets(), fresh[key].get_offsets())
        assert ax.get_title() == fresh_ax.get_title() and ax.get_xlim() == fresh_ax.get_xlim()
    V.draw_depth_slices(ax, x, padding=2, artists=art)
    V.highlight_depth(art, [-2, 0])
    assert frame_m2.get_visible() and art["labels"][-2].get_text() == "× kernel[0]"
    V.draw_depth_slices(ax, x, padding=0, artists=art)      # slice -2 is not drawn any more: nor its frame
    assert not frame_m2.get_visible() and art["_labels"][-2].get_text() == ""
    V.highlight_depth(art, [-2, 0])
    assert not frame_m2.get_visible() and art["frames"][0].get_visible()


def test_explorer_padding_redraws_the_slices_in_place_and_stays_right():
    x = V.default_volume()
    ex = V.conv3d_explorer(x)
    scene = ex.scene
    grids = [scene.inp["image"], scene.inp["values"], scene.out["cells"], scene.out["values"]]
    for values in [dict(padding=2), dict(depth=4), dict(padding=0, kernel_size=2), dict(padding=1, stride=2),
                   dict(dilation=2, depth=1)]:
        st = ex.set(**values)
        v = ex.values()
        p = v["padding"]
        assert [scene.inp["image"], scene.inp["values"], scene.out["cells"], scene.out["values"]] == grids
        # the slices follow the padding: one per depth -p … D+p-1, the input values in the real ones
        assert scene.inp["depths"].get_texts() == [f"z={z}" for z in range(-p, 5 + p)]
        shown = dict(zip(map(tuple, scene.inp["values"].get_offsets()), scene.inp["values"].get_texts()))
        assert shown == {(V.slice_origin(z, x.shape, p) + c + 0.5, r + 0.5): V.fmt(x[z, r, c])
                         for z in range(5) for r in range(3) for c in range(3)}
        assert scene.inp["image"].get_array().shape == (3 + 2 * p, (5 + 2 * p) * (3 + 2 * p + 1) - 1, 4)
        # the frames mark the slices read, and only those
        framed = {z for z, f in scene.inp["_frames"].items() if f.get_visible()}
        assert framed == set(st["taps"]) and st["taps"] == V.depth_taps(st["depth"], v["kernel_size"], v["stride"],
                                                                        p, v["dilation"])
        ref = reference.conv_nd(x[None, None], st["kernel"][None, None], stride=v["stride"], padding=p,
                                dilation=v["dilation"])[0, 0]
        assert labels_by_cell(scene.out["values"]) == {key: V.fmt(ref[st["depth"]][key])
                                                       for key in np.ndindex(*ref.shape[1:])}
    fresh = V.conv3d_explorer(x)
    fresh.set(**ex.values())
    assert np.abs(explorer_frame(ex) - explorer_frame(fresh)).max() <= 8
    fast = explorer_frame(ex)
    V.release_snapshot(scene.ax_in)
    slow = np.asarray(Image.open(io.BytesIO(render_png(ex.figure))).convert("RGB")).astype(int)
    assert np.mean(np.abs(fast - slow) > 40) < 0.01


@pytest.mark.parametrize("k,s,p,d", [(3, 1, 1, 1), (2, 2, 0, 1), (3, 1, 2, 2)])
def test_slice_sum_is_the_conv3d_slice(rng, k, s, p, d):
    x = rng.integers(-2, 3, (5, 4, 4)).astype(float)
    w = rng.integers(-1, 2, (k, k, k)).astype(float)
    ref = reference.conv_nd(x[None, None], w[None, None], stride=s, padding=p, dilation=d)[0, 0]
    for depth in range(ref.shape[0]):
        assert V.depth_taps(depth, k, s, p, d) == [depth * s - p + t * d for t in range(k)]
        np.testing.assert_allclose(V.slice_sum(x, w, depth, s, p, d), ref[depth])


def test_explorer_follows_controls():
    x = V.default_volume()
    ex = V.conv3d_explorer(x)
    for values in [dict(depth=3), dict(stride=2), dict(dilation=2, depth=1), dict(padding=2, depth=4),
                   dict(kernel_size=2, stride=1)]:
        st = ex.set(**values)
        v = ex.values()
        k, s, p, d = v["kernel_size"], v["stride"], v["padding"], v["dilation"]
        ref = reference.conv_nd(x[None, None], st["kernel"][None, None], stride=s, padding=p, dilation=d)[0, 0]
        assert st["output_shape"] == ref.shape and ex.controls["depth"].max == ref.shape[0] - 1
        np.testing.assert_allclose(st["output_slice"], ref[st["depth"]])
        taps = [st["depth"] * s - p + t * d for t in range(k)]
        assert st["taps"] == taps
        assert st["padding_slices"] == [z for z in taps if not 0 <= z < x.shape[0]]
        frames = ex.scene.inp["frames"]
        assert {z for z, f in frames.items() if f.get_visible()} == set(taps)
        assert labels_by_cell(ex.scene.out["values"]) == {key: V.fmt(ref[st["depth"]][key])
                                                          for key in np.ndindex(*ref.shape[1:])}
    st = ex.set(padding=0, dilation=2, kernel_size=3)
    assert st["output_shape"] is None and "error" in st
    assert ex.set(padding=1)["output_shape"] == (3, 1, 1)


def test_static_frames():
    box = V.conv3d_static()
    assert len(box.frames) == 5 == len(box.slider.options)
    assert box.frames[0].value != box.frames[2].value
