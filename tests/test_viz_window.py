"""The 2d sliding window: its geometry, the dot product of one output cell, and the numbers the explorer's
view shows (compared with what its JavaScript draws in tests/browser/test_views.py)."""
import numpy as np
import pytest

from convlab import reference
from convlab.viz import window as W

MODES = ("zeros", "reflect", "replicate", "circular")


# ----------------------------------------------------------------------------- geometry


@pytest.mark.parametrize("k,s,p,d", [(3, 1, 0, 1), (3, 2, 1, 1), (2, 3, 2, 2), (3, 1, 1, 3)])
def test_receptive_field_follows_the_index_formula(k, s, p, d):
    for i, j in [(0, 0), (1, 2), (2, 1)]:
        win = W.receptive_field((i, j), k, s, p, d)
        assert win.corner == (i * s - p, j * s - p)
        assert win.size == (d * (k - 1) + 1,) * 2
        assert win.taps == [(i * s - p + a * d, j * s - p + b * d) for a in range(k) for b in range(k)]


# ----------------------------------------------------------------------------- the window's sum


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


def test_explorer_reports_reflect_padding_as_large_as_the_input():
    ex = W.window_explorer(np.arange(9.0).reshape(3, 3), padding=3, padding_mode="reflect")
    assert ex.state == {"error": True}
    assert ex.set(padding=2)["output_shape"] == (5, 5)
