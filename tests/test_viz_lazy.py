"""convlab.viz.lazy: a Lazy module before/after its first call."""
import matplotlib

matplotlib.use("Agg")

import numpy as np
from matplotlib.figure import Figure

import convlab.nn as nn
from convlab.viz import style
from convlab.viz.lazy import draw_lazy, lazy_explorer, lazy_html, lazy_static, snapshot


def test_snapshot_before_and_after():
    m = nn.LazyConvTranspose2d(33, 3)
    before = snapshot(m)
    assert before == {"class": "LazyConvTranspose2d", "in_channels": "0", "weight": "<UninitializedParameter>",
                      "bias": "<UninitializedParameter>", "repr": repr(m)}
    m(np.zeros((2, 7, 5, 5), dtype=np.float32))
    after = snapshot(m)
    assert after["class"] == "ConvTranspose2d" and after["in_channels"] == "7"
    assert after["weight"] == str(tuple(m.weight.shape)) == "(7, 33, 3, 3)"
    assert after["repr"].startswith("ConvTranspose2d(7, 33")


def test_draw_lazy_table():
    m = nn.LazyConv1d(4, 3)
    before = snapshot(m)
    m(np.zeros((1, 2, 8), dtype=np.float32))
    after = snapshot(m)
    a = Figure().add_subplot()
    art = draw_lazy(a, before, None)
    assert art["cells"][(2, 1)].get_text() == "<UninitializedParameter>"
    assert "not called" in art["cells"][(2, 2)].get_text()
    art = draw_lazy(a, before, after, (1, 2, 8), artists=art)
    assert art["cells"][(2, 2)].get_text() == "(4, 2, 3)"
    assert art["cells"][(1, 2)].get_text() == "2"
    # changed rows highlighted
    from matplotlib.colors import to_rgba
    assert art["cells"][(0, 2)].get_bbox_patch().get_facecolor() == to_rgba(style.HIGHLIGHT)
    assert "(1, 2, 8)" in art["caption"].get_text()
    html = lazy_html(before, after)
    assert "&lt;UninitializedParameter&gt;" in html and "(4, 2, 3)" in html


def test_lazy_explorer():
    ex = lazy_explorer(kind="LazyConv2d", out_channels=33)
    assert ex.state["after"] is None and ex.state["before"]["in_channels"] == "0"
    st = ex.set(in_channels=5, called=True)
    assert st["after"]["weight"] == "(33, 5, 3, 3)" and st["output_shape"][1] == 33
    st = ex.set(kind="LazyConvTranspose3d", in_channels=3)
    assert st["after"]["class"] == "ConvTranspose3d" and st["after"]["weight"] == "(3, 33, 3, 3, 3)"
    st = ex.set(called=False)
    assert st["after"] is None
    assert np.isfinite(ex.last_redraw_ms)


def test_lazy_static_frames():
    box = lazy_static()
    assert len(box.frames) == 2 and box.frames[0].value != box.frames[1].value
