"""The 3d slice scrubber: which input depth slices one output depth slice reads, against torch."""
import numpy as np
import pytest
import torch

from convlab import reference
from convlab.viz import slices3d as V


def torch_conv3d(x, w, s, p, d):
    return torch.nn.functional.conv3d(torch.tensor(x)[None, None], torch.tensor(w)[None, None], stride=s, padding=p,
                                      dilation=d)[0, 0].numpy()


@pytest.mark.parametrize("k,s,p,d", [(3, 1, 1, 1), (3, 2, 2, 1), (2, 3, 0, 2), (1, 1, 2, 1), (3, 2, 1, 2)])
def test_drawn_numbers_are_torchs(k, s, p, d):
    ex = V.conv3d_explorer()
    x = np.asarray(ex.view.x)
    ref = torch_conv3d(x, V.default_kernel_3d(k), s, p, d)
    for depth in range(ref.shape[0] + 2):                   # past the last depth: round again
        ex.set(kernel_size=k, stride=s, padding=p, dilation=d, depth=depth)
        n = ex.view.drawn_numbers()
        o = depth % ref.shape[0]
        taps = [o * s - p + t * d for t in range(k)]
        assert n == {"output_shape": list(ref.shape), "depth": o, "taps": taps,
                     "padding_slices": [z for z in taps if not 0 <= z < 5], "output_slice": ref[o].tolist()}


def test_state_keeps_the_notebook_keys_and_types():
    e3 = V.conv3d_explorer(stride=2, padding=2)
    s = e3.set(kernel_size=3, stride=2, padding=2, dilation=1, depth=0)
    assert s["output_shape"] == (4, 3, 3) and s["taps"] == [-2, -1, 0] and s["padding_slices"] == [-2, -1]
    assert isinstance(s["output_slice"], np.ndarray) and s["output_slice"].astype(int).tolist() == \
        torch_conv3d(V.default_volume(), V.default_kernel_3d(3), 2, 2, 1)[0].astype(int).tolist()
    assert e3.set(depth=3)["padding_slices"] == [5, 6]


def test_a_layer_that_cannot_run_says_so():
    ex = V.conv3d_explorer()
    st = ex.set(padding=0, dilation=2, kernel_size=3)          # reaches 5 cells of a 3×3 slice
    assert st["output_shape"] is None and "error" in st and ex.view.drawn_numbers() == {"error": True}
    assert ex.set(padding=1)["output_shape"] == (3, 1, 1)


def test_a_given_weight_fixes_kernel_size():
    w = np.arange(8, dtype=float).reshape(2, 2, 2)
    ex = V.conv3d_explorer(weight=w)
    assert ex.controls["kernel_size"].disabled and ex.view.kernel_size == 2
    np.testing.assert_allclose(ex.set(depth=1)["output_slice"], torch_conv3d(V.default_volume(), w, 1, 1, 1)[1])


def test_every_control_is_linked_to_the_view():
    ex = V.conv3d_explorer()
    assert set(ex.controls) == {"kernel_size", "stride", "padding", "dilation", "depth"}
    assert all(c.description == name for name, c in ex.controls.items())
    ex.set(stride=3, depth=1)
    assert (ex.view.stride, ex.view.depth) == (3, 1)


@pytest.mark.parametrize("k,s,p,d", [(3, 1, 1, 1), (2, 2, 0, 1), (3, 1, 2, 2)])
def test_slice_sum_is_the_conv3d_slice(rng, k, s, p, d):
    x = rng.integers(-2, 3, (5, 4, 4)).astype(float)
    w = rng.integers(-1, 2, (k, k, k)).astype(float)
    ref = reference.conv_nd(x[None, None], w[None, None], stride=s, padding=p, dilation=d)[0, 0]
    for depth in range(ref.shape[0]):
        assert V.depth_taps(depth, k, s, p, d) == [depth * s - p + t * d for t in range(k)]
        np.testing.assert_allclose(V.slice_sum(x, w, depth, s, p, d), ref[depth])
