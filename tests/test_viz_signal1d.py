"""The 1d sliding-kernel explorer: a browser view whose numbers (drawn_numbers) come from convlab.

What the JavaScript draws is compared with drawn_numbers in tests/browser/test_views.py."""
import numpy as np
import pytest

from convlab import reference
from convlab.viz import signal1d as S
from convlab.viz._view import VIEWS, numbers_for


def test_dot_product_equals_reference(rng):
    x = rng.integers(-3, 4, 9).astype(float)
    w = rng.integers(-2, 3, 3).astype(float)
    ref = reference.conv_nd(x[None, None], w[None, None], stride=2, padding=2, dilation=2)[0, 0]
    for o in range(len(ref)):
        terms, text = S.dot_product_1d(x, w, o, 2, 2, 2)
        assert sum(a * b for a, b in terms) == pytest.approx(ref[o])
        assert text.endswith(f"= {S.fmt(ref[o])}")


def test_explorer_numbers_follow_controls():
    x = S.default_signal()
    ex = S.conv1d_explorer(x)
    assert set(ex.controls) == {"kernel_size", "stride", "padding", "dilation", "position"}
    for values in [dict(position=5), dict(stride=2), dict(dilation=3, position=2), dict(kernel_size=5, padding=0, dilation=2),
                   dict(stride=1, position=7)]:
        st = ex.set(**values)
        v = ex.values()
        k, s, p, d = v["kernel_size"], v["stride"], v["padding"], v["dilation"]
        w = np.asarray(ex.view.kernels[k - 1])
        ref = reference.conv_nd(x[None, None], w[None, None], stride=s, padding=p, dilation=d)[0, 0]
        assert st["output_length"] == len(ref) and st["y"] == pytest.approx(list(ref))
        o = st["position"]
        assert o == v["position"] % len(ref)
        assert st["taps"] == [o * s - p + t * d for t in range(k)]
        assert st["output"] == pytest.approx(ref[o]) == pytest.approx(st["total"])
        assert ex.view.kernel_size == k and ex.view.position == v["position"]      # the view follows in Python too
    assert ex.set(kernel_size=7, dilation=4, padding=0) == {"error": True}


def test_view_state_round_trips():
    ex = S.conv1d_explorer(stride=2, position=3)
    state = ex.view.state()
    assert type(ex.view).__name__ in VIEWS and ex.view._state_names == S.Conv1dView.state_names()
    assert numbers_for("Conv1dView", state) == ex.state
    assert "export default view(draw)" in ex.view._esm and "const STYLE" in ex.view._esm


def test_given_weight_fixes_kernel_size():
    ex = S.conv1d_explorer(weight=[1.0, -1.0])
    assert ex.controls["kernel_size"].disabled and ex.controls["kernel_size"].value == 2
    assert ex.state["taps"] == [-1, 0]
