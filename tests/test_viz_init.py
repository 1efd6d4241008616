"""convlab.viz.init: the histogram of a fresh layer's weight against ±sqrt(k), as the browser view draws it."""
import math

import numpy as np
import pytest
import torch

from convlab.viz.init import BINS, InitView, fresh_layer, init_explorer, init_k, weight_bins


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


def torch_layer(cin, cout, k, g, transposed, dims):
    cls = getattr(torch.nn, f"{'ConvTranspose' if transposed else 'Conv'}{dims}d")
    return cls(cin, cout, k, groups=g)


@pytest.mark.parametrize("cin,cout,k,g,transposed,dims", [
    (16, 33, 3, 1, False, 1), (16, 24, 3, 2, False, 1), (16, 33, 3, 1, True, 1), (16, 33, 3, 1, False, 2),
    (16, 33, 3, 1, True, 2), (64, 64, 7, 1, False, 2), (1, 1, 1, 1, False, 1), (12, 8, 2, 4, True, 3),
    (6, 6, 5, 6, False, 2)])
def test_drawn_numbers_match_torch_and_numpy(cin, cout, k, g, transposed, dims):
    view = InitView(in_channels=cin, out_channels=cout, kernel_size=k, groups=g, transposed=transposed, dims=dims)
    got = view.drawn_numbers()
    t = torch_layer(cin, cout, k, g, transposed, dims)
    fan_in, _ = torch.nn.init._calculate_fan_in_and_fan_out(t.weight)
    assert got["weight_shape"] == tuple(t.weight.shape) and got["n"] == t.weight.numel()
    assert got["bound"] == pytest.approx(1 / math.sqrt(fan_in), rel=1e-12)        # torch's kaiming bound, √k
    assert got["k"] == pytest.approx(got["bound"] ** 2, rel=1e-12)
    assert got["layer"] == f"{type(t).__name__}({cin}, {cout}, {k}, groups={g})"
    # the weights: the first n uniform draws of numpy's generator, scaled to the band, in float32
    b = got["bound"]
    w = (-b + 2 * b * np.random.default_rng(0).random(t.weight.numel())).astype(np.float32)
    assert (got["min"], got["max"]) == (float(w.min()), float(w.max()))
    assert -b * (1 + 1e-7) <= got["min"] <= got["max"] <= b * (1 + 1e-7)      # (float32 rounding)
    edges = [-b + 2 * b * j / BINS for j in range(BINS + 1)]
    counts = [int(np.sum((w >= lo) & (w < hi))) for lo, hi in zip(edges, edges[1:])]
    counts[-1] += int(np.sum(w >= edges[-1]))
    counts[0] += int(np.sum(w < edges[0]))
    assert got["counts"] == counts and sum(counts) == got["n"]
    assert got["expected"] == got["n"] / BINS


def test_weight_bins_edges():
    assert weight_bins(np.array([-1.0, -0.875, 0.0, 0.124999, 0.999, 1.0, 1.0001]), 1.0).tolist() == \
        [0, 1, 8, 8, 15, 15, 15]


def test_invalid_groups_are_named():
    view = InitView(in_channels=5, out_channels=24, kernel_size=3, groups=2, dims=1)
    assert view.drawn_numbers() == {"error": True, "layer": "Conv1d(5, 24, 3, groups=2)"}
    with pytest.raises(ValueError, match="divisible by groups"):
        torch_layer(5, 24, 3, 2, False, 1)
    assert "divisible by groups" in view.explain()["error"]


def test_the_page_data_are_the_generators_draws():
    """What the page counts from (bars packed two to a byte, near-edge draws, min/max records)."""
    import base64
    ex = init_explorer(16, 33, 3, dims=1)
    v = ex.view
    u = np.random.default_rng(0).random(v.max_weights)
    assert v.max_weights == 64 * 64 * 7
    packed = np.frombuffer(base64.b64decode(v.bins_b64), dtype=np.uint8)
    bars = np.empty(2 * packed.size, dtype=int)
    bars[0::2], bars[1::2] = packed >> 4, packed & 15
    assert (bars[:u.size] == np.minimum(np.floor(u * BINS), BINS - 1)).all()
    assert all(u[i] == x for i, x in v.near) and all(u[i] == x for i, x in v.min_records)
    assert [x for _, x in v.min_records] == sorted({float(np.min(u[:i + 1])) for i in range(0, u.size, 1)},
                                                  reverse=True)


def test_init_explorer_state_as_the_notebooks_print_it():
    e_init = init_explorer(16, 33, 3, dims=1)
    st = e_init.set(in_channels=16, out_channels=24, kernel_size=3, groups=2)
    assert (st["layer"], st["weight_shape"]) == ("Conv1d(16, 24, 3, groups=2)", (24, 8, 3))
    assert (round(st["bound"], 4), round(st["min"], 4), round(st["max"], 4)) == (0.2041, -0.204, 0.2039)
    assert st["bias_max"] <= st["bound"] and st["groups"] == 2
    ex = init_explorer(in_channels=16, out_channels=33, kernel_size=3, transposed=True)
    assert ex.view.transposed and ex.view.dims == 2
    st = ex.set(in_channels=16, out_channels=24, groups=4, transposed=True)
    assert st["weight_shape"] == (16, 6, 3, 3) and st["bound"] == pytest.approx(math.sqrt(4 / (24 * 9)))
    assert ex.view.groups == 4 and ex.controls["groups"].value == 4
    st = ex.set(in_channels=5)                    # groups=4 does not divide 5: the view says so
    assert "in_channels must be divisible by groups" in st["error"]
    with pytest.raises(ValueError, match=r"kernel_size must be in \[1, 4\]"):
        init_explorer(kernel_size=5, dims=3)
