"""The 3d slice scrubber: which input depth slices one output depth slice reads."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from convlab import reference  # noqa: E402
from convlab.viz import slices3d as V  # noqa: E402
from convlab.viz import style  # noqa: E402


def test_depth_slices_layout_values_and_colours():
    x = np.arange(2 * 2 * 3, dtype=float).reshape(2, 2, 3)
    ax = Figure().add_subplot()
    art = V.draw_depth_slices(ax, x, padding=1)
    assert set(art["frames"]) == {-1, 0, 1, 2}
    assert set(art["values"]) == {(z, r, c) for z in range(2) for r in range(2) for c in range(3)}
    for (z, r, c), t in art["values"].items():
        assert t.get_text() == V.fmt(x[z, r, c])
        assert t.get_position() == (V.slice_origin(z, x.shape, 1) + c + 0.5, r + 0.5)
    rgba = art["image"].get_array()
    left0 = int(V.slice_origin(0, x.shape, 1))                # column of input cell (0, 0, 0)
    assert np.allclose(rgba[1, left0], to_rgba(style.INPUT))  # row 1 of the image is input row 0
    assert np.allclose(rgba[0, left0], to_rgba(style.PAD_ZERO))
    leftm1 = int(V.slice_origin(-1, x.shape, 1))
    assert np.allclose(rgba[1, leftm1], to_rgba(style.PAD_ZERO))  # a whole depth-padding slice
    V.highlight_depth(art, [-1, 1])
    assert art["frames"][-1].get_visible() and art["frames"][1].get_visible() and not art["frames"][0].get_visible()
    assert art["labels"][1].get_text() == "× kernel[1]" and art["labels"][0].get_text() == ""


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
        shown = {key: t.get_text() for key, t in ex.scene.out["values"].items()}
        assert shown == {key: V.fmt(ref[st["depth"]][key]) for key in np.ndindex(*ref.shape[1:])}
    st = ex.set(padding=0, dilation=2, kernel_size=3)
    assert st["output_shape"] is None and "error" in st
    assert ex.set(padding=1)["output_shape"] == (3, 1, 1)


def test_static_frames():
    box = V.conv3d_static()
    assert len(box.frames) == 5 == len(box.slider.options)
    assert box.frames[0].value != box.frames[2].value
