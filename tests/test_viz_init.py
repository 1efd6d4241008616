"""convlab.viz.init: the histogram of a fresh layer's weight against ±sqrt(k)."""
import math

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.figure import Figure

from convlab.viz.init import draw_init, fresh_layer, init_explorer, init_k, init_static


@pytest.mark.parametrize("cin,cout,k,g,transposed,expected", [
    (16, 33, 3, 1, False, 1 / (16 * 3)),          # the article's k = groups / (C_in * kernel_size)
    (16, 33, 3, 1, True, 1 / (33 * 3)),           # ConvTranspose: C_out
    (16, 24, (3, 5), 2, False, 2 / (16 * 15)),
    (16, 24, (3, 3), 4, True, 4 / (24 * 9)),
])
def test_init_k(cin, cout, k, g, transposed, expected):
    assert init_k(cin, cout, k, g, transposed) == pytest.approx(expected)


def test_fresh_layer_fills_the_band():
    layer = fresh_layer(8, 32, 3, transposed=True, dims=2)
    w = np.asarray(layer.weight)
    bound = math.sqrt(1 / (32 * 9))
    assert w.shape == (8, 32, 3, 3)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound


def test_draw_init_bars_and_lines():
    a = Figure().add_subplot()
    w = np.random.default_rng(0).uniform(-0.5, 0.5, 1000)
    art = draw_init(a, w, 0.5, bins=20)
    counts, edges = np.histogram(w, bins=20, range=(-0.625, 0.625))
    assert [r.get_height() for r in art["bars"]] == counts.tolist()
    np.testing.assert_allclose([r.get_x() for r in art["bars"]], edges[:-1])
    assert [l.get_xdata()[0] for l in art["lines"]] == [-0.5, 0.5]
    assert "1000 weights" in art["text"].get_text()
    art2 = draw_init(a, w[:10] / 2, 0.25, bins=20, artists=art)
    assert art2["bars"] is art["bars"] and sum(r.get_height() for r in art["bars"]) == 10
    assert [l.get_xdata()[0] for l in art["lines"]] == [-0.25, 0.25]


def test_init_explorer_state():
    ex = init_explorer(in_channels=16, out_channels=33, kernel_size=3)
    st = ex.state
    assert st["bound"] == pytest.approx(math.sqrt(1 / (16 * 9)))
    assert -st["bound"] <= st["min"] < st["max"] <= st["bound"]
    assert st["bias_max"] <= st["bound"]
    st = ex.set(in_channels=16, out_channels=24, groups=4, transposed=True)
    assert st["weight_shape"] == (16, 6, 3, 3)
    assert st["bound"] == pytest.approx(math.sqrt(4 / (24 * 9)))
    assert -st["bound"] <= st["min"] and st["max"] <= st["bound"]
    # groups offers the common divisors only; an impossible in_channels resets it to 1
    assert list(ex.controls["groups"].options) == [1, 2, 4, 8]
    st = ex.set(in_channels=5)
    assert st["groups"] == 1 and list(ex.controls["groups"].options) == [1]
    assert np.isfinite(ex.last_redraw_ms)


def test_init_static_frames():
    box = init_static(values=(1, 3, 5))
    assert len(box.frames) == 3 and len({f.value for f in box.frames}) == 3
