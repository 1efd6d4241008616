"""The 1d sliding-kernel figure: stems where the samples are, the kernel on the right taps, the output growing."""
import matplotlib

matplotlib.use("Agg")


import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from convlab import reference  # noqa: E402
from convlab.viz import signal1d as S  # noqa: E402
from helpers import explorer_frame, live_frame


def axes():
    return Figure(figsize=(5, 2)).add_subplot()


def test_signal_stems_and_padding():
    x = np.array([1.0, -2.0, 3.0])
    art = S.draw_signal(axes(), x, padding=2)
    assert np.array_equal(art["markers"].get_xdata(), [0, 1, 2])
    assert np.array_equal(art["markers"].get_ydata(), x)
    assert [tuple(map(tuple, s)) for s in art["stems"].get_segments()] == [((i, 0), (i, v)) for i, v in enumerate(x)]
    assert sorted(art["pad_markers"].get_xdata()) == [-2, -1, 3, 4]
    assert not np.any(art["pad_markers"].get_ydata())


@pytest.mark.parametrize("k,s,p,d", [(3, 1, 0, 1), (3, 2, 1, 2), (2, 3, 2, 3)])
def test_kernel_sits_on_the_taps_of_the_position(k, s, p, d):
    w = np.arange(1.0, k + 1)
    ax = axes()
    for position in (0, 2):
        art = S.draw_kernel_at(ax, w, position, s, p, d)
        taps = [position * s - p + t * d for t in range(k)]
        assert list(art["markers"].get_xdata()) == taps
        assert np.array_equal(art["markers"].get_ydata(), w)
        assert art["window"].get_x() == taps[0] - 0.5 and art["window"].get_width() == d * (k - 1) + 1
        assert [lab.get_position()[0] for lab in art["labels"]] == taps
    assert S.move_kernel(art, 1, s, p, d) == [s - p + t * d for t in range(k)]


def test_output_grows_up_to_the_position():
    y = np.array([3.0, -1.0, 2.0, 5.0])
    art = S.draw_output_signal(axes(), y, 1)
    assert list(art["markers"].get_xdata()) == [0, 1] and list(art["active"].get_xdata()) == [1]
    assert art["label"].get_text() == "-1"
    S.grow_output(art, 3)
    assert list(art["markers"].get_ydata()) == list(y) and art["label"].get_text() == "5"


def test_dot_product_equals_reference(rng):
    x = rng.integers(-3, 4, 9).astype(float)
    w = rng.integers(-2, 3, 3).astype(float)
    ref = reference.conv_nd(x[None, None], w[None, None], stride=2, padding=2, dilation=2)[0, 0]
    for o in range(len(ref)):
        terms, text = S.dot_product_1d(x, w, o, 2, 2, 2)
        assert sum(a * b for a, b in terms) == pytest.approx(ref[o])
        assert text.endswith(f"= {S.fmt(ref[o])}")


def test_explorer_follows_controls():
    x = S.default_signal()
    ex = S.conv1d_explorer(x)
    for values in [dict(position=5), dict(stride=2), dict(dilation=3, position=2), dict(kernel_size=5, padding=0, dilation=2),
                   dict(stride=1, position=7)]:
        st = ex.set(**values)
        v = ex.values()
        k, s, p, d = v["kernel_size"], v["stride"], v["padding"], v["dilation"]
        n = (len(x) + 2 * p - d * (k - 1) - 1) // s + 1
        assert st["output_length"] == n and ex.controls["position"].max == n - 1
        o = st["position"]
        assert st["taps"] == [o * s - p + t * d for t in range(k)]
        ref = reference.conv_nd(x[None, None], st["kernel"][None, None], stride=s, padding=p, dilation=d)[0, 0]
        assert st["output"] == pytest.approx(ref[o]) == pytest.approx(st["total"])
        assert st["shown"] == o + 1
        assert list(ex.scene.out["markers"].get_xdata()) == list(range(o + 1))
        assert list(ex.scene.kern["markers"].get_xdata()) == st["taps"]
        assert ex.scene.text.get_text().endswith(f"= {S.fmt(st['total'])}")
    st = ex.set(kernel_size=7, dilation=4)
    assert st["output_length"] is None and "Kernel size" in st["error"]
    assert ex.set(dilation=1)["output_length"] == len(x) + 2 * ex.values()["padding"] - 6


def test_static_frames():
    box = S.conv1d_static(stride=3, padding=0)
    n = (12 - 2 - 1) // 3 + 1
    assert len(box.frames) == n == len(box.slider.options)
    assert box.frames[0].value != box.frames[-1].value



def test_explorer_redraws_its_panels_in_place_and_stays_right():
    x = S.default_signal()
    ex = S.conv1d_explorer(x)
    scene = ex.scene
    artists = [scene.sig["stems"], scene.sig["pad_markers"], scene.kern["window"], scene.kern["markers"],
               scene.out["stems"], scene.out["markers"]]
    for values in [dict(padding=3), dict(kernel_size=6), dict(dilation=2), dict(stride=3, position=2),
                   dict(padding=0, kernel_size=2, dilation=1, stride=1)]:
        st = ex.set(**values)
        v = ex.values()
        k, s, p, d = v["kernel_size"], v["stride"], v["padding"], v["dilation"]
        assert [scene.sig["stems"], scene.sig["pad_markers"], scene.kern["window"], scene.kern["markers"],
                scene.out["stems"], scene.out["markers"]] == artists
        # the input: samples where they are, p grey padding samples each side, the axis spanning them
        assert sorted(scene.sig["pad_markers"].get_xdata()) == list(range(-p, 0)) + list(range(12, 12 + p))
        assert len(scene.sig["stems"].get_segments()) == 12
        assert scene.ax_x.get_xlim() == (-p - 0.7, 12 + p - 0.3) == scene.ax_k.get_xlim()
        # the kernel: one marker and one visible label per tap, its values
        w = st["kernel"]
        assert list(scene.kern["markers"].get_xdata()) == st["taps"]
        assert list(scene.kern["markers"].get_ydata()) == list(w)
        assert [t.get_text() for t in scene.kern["_pool"] if t.get_visible()] == [S.fmt(a) for a in w]
        assert scene.ax_k.get_title() == f"kernel, kernel_size={k}, stride={s}, dilation={d}"
        # the output: the convolution up to the position, its length in the title and ticks
        ref = reference.conv_nd(x[None, None], w[None, None], stride=s, padding=p, dilation=d)[0, 0]
        o = st["position"]
        assert list(scene.out["markers"].get_ydata()) == pytest.approx(list(ref[:o + 1]))
        assert scene.ax_y.get_title() == f"output, L_out={len(ref)}"
        assert list(scene.ax_y.get_xticks()) == list(range(len(ref)))
    assert len(scene.ax_x.lines) == 3 and len(scene.ax_k.lines) == 2     # no zero line added per redraw
    fresh = S.conv1d_explorer(x)
    fresh.set(**ex.values())
    assert np.abs(explorer_frame(ex) - explorer_frame(fresh)).max() <= 8
    fast = explorer_frame(ex)
    slow = live_frame(ex, (scene.ax_x, scene.ax_k, scene.ax_y))
    assert np.mean(np.abs(fast - slow) > 40) < 0.01
