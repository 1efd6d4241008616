"""convlab.viz.unfold: the column matrix, conv = matmul, conv_transpose = fold, as the view draws them,
against torch and the reference loops."""
import numpy as np
import pytest
import torch

from convlab import reference
from convlab.viz.unfold import block_taps, example_arrays, unfold_explorer, unfold_views


@pytest.mark.parametrize("k,s,p,d", [(2, 1, 0, 1), (3, 2, 1, 1), ((2, 3), (1, 2), (1, 0), (2, 1)), (2, 3, 2, 2)])
def test_views_equal_reference(k, s, p, d, rng):
    x = rng.standard_normal((2, 5, 6))
    kk = k if isinstance(k, tuple) else (k, k)
    w = rng.standard_normal((3, 2) + kk)
    v = unfold_views(x, w, None, s, p, d)
    np.testing.assert_allclose(v["cols"], reference.unfold_nd(x[None], kk, d, p, s)[0], atol=1e-12)
    np.testing.assert_allclose(v["conv"], reference.conv_nd(x[None], w, stride=s, padding=p, dilation=d)[0],
                               atol=1e-9)
    np.testing.assert_allclose(v["folded"], reference.conv_transpose_nd(v["y"][None], w, stride=s, padding=p,
                                                                        dilation=d)[0], atol=1e-9)
    assert v["max_abs_diff"]["conv"] < 1e-9 and v["max_abs_diff"]["conv_transpose"] < 1e-9
    # padding zeros are marked -1 in the source map, channels 0.. elsewhere
    assert set(np.unique(v["source"])) <= {-1, 0, 1}
    assert (v["source"] == -1).any() == (np.any(np.asarray(p) > 0))


def test_block_taps_index_the_padded_input():
    x, _ = example_arrays(1, (4, 4), 1, 2)
    xp = np.pad(x[0], 1)
    cols = reference.unfold_nd(x[None], 2, 1, 1, 2)[0]
    for b in range(cols.shape[1]):
        _, taps = block_taps(b, (4, 4), 2, stride=2, padding=1)
        assert [xp[r, c] for r, c in taps] == cols[:, b].tolist()


def torch_numbers(k, s, p, d, block):
    """What the view must draw, by torch: unfold of the input and of its channel numbers, conv2d,
    conv_transpose2d of y, the block's grid position and taps (in the padded input)."""
    x, w = (torch.tensor(a) for a in example_arrays(2, (4, 4), 2, k))
    cols = torch.nn.functional.unfold(x[None], k, dilation=d, padding=p, stride=s)[0]
    marker = torch.arange(1.0, 3.0, dtype=torch.float64)[:, None, None].expand(2, 4, 4)
    source = torch.nn.functional.unfold(marker[None], k, dilation=d, padding=p, stride=s)[0].long() - 1
    conv = torch.nn.functional.conv2d(x[None], w, stride=s, padding=p, dilation=d)[0]
    lh, lw = conv.shape[1:]
    y = (torch.arange(2 * lh * lw).reshape(2, lh, lw) % 3 + 1).double()
    folded = torch.nn.functional.conv_transpose2d(y[None], w, stride=s, padding=p, dilation=d)[0]
    b = block % (lh * lw)
    i, j = divmod(b, lw)
    taps = [[i * s + a * d, j * s + c * d] for a in range(k) for c in range(k)]
    w2d = w.reshape(2, -1)
    return {"blocks": [lh, lw], "cols_shape": list(cols.shape), "block": b, "position": [i, j], "taps": taps,
            "cols": cols.tolist(), "source": source.tolist(), "product": (w2d @ cols).tolist(), "conv": conv.tolist(),
            "y": y.tolist(), "t_cols": (w2d.T @ y.reshape(2, -1)).tolist(), "folded": folded.tolist()}


@pytest.mark.parametrize("k,s,p,d", [(2, 1, 0, 1), (3, 2, 1, 1), (1, 3, 2, 1), (2, 2, 2, 2), (3, 1, 2, 2),
                                     (1, 1, 0, 1)])
def test_drawn_numbers_are_torchs(k, s, p, d):
    ex = unfold_explorer()
    for block in (0, 3, 8, 63, 64):
        ex.set(kernel_size=k, stride=s, padding=p, dilation=d, block=block)
        assert ex.view.drawn_numbers() == torch_numbers(k, s, p, d, block)


def test_a_kernel_that_does_not_fit_says_so():
    ex = unfold_explorer()
    st = ex.set(kernel_size=3, dilation=2)               # reaches 5 cells of a 4×4 input
    assert "error" in st and st["cols_shape"] is None and ex.view.drawn_numbers() == {"error": True}
    with pytest.raises(RuntimeError):
        torch.nn.functional.unfold(torch.zeros(1, 2, 4, 4), 3, dilation=2)
    assert ex.set(padding=1)["cols_shape"] == (18, 4)


def test_state_keeps_its_keys_and_types():
    ex = unfold_explorer(kernel_size=2, stride=1)
    st = ex.set(stride=2, block=3)
    assert st["cols_shape"] == (8, 4) and st["position"] == (1, 1) and st["blocks"] == (2, 2)
    assert st["max_abs_diff"] == {"conv": 0.0, "conv_transpose": 0.0} and st["kernel_size"] == (2, 2)
    assert isinstance(st["column"], np.ndarray) and isinstance(st["conv"], np.ndarray)
    np.testing.assert_array_equal(st["column"], np.asarray(torch_numbers(2, 2, 0, 1, 3)["cols"])[:, 3])
    assert st["taps"] == [(2, 2), (2, 3), (3, 2), (3, 3)]


def test_every_control_is_a_labelled_slider_linked_to_the_view():
    ex = unfold_explorer()
    assert set(ex.controls) == {"kernel_size", "stride", "padding", "dilation", "block"}
    assert all(c.description == name for name, c in ex.controls.items())
    assert ex.controls["block"].max == 63                 # 8×8 blocks: kernel 1 on the input padded by 2
    ex.set(padding=2, block=5)
    assert (ex.view.padding, ex.view.block) == (2, 5)
