"""Every example of the source article, run with convlab, with the shapes the article prints.

The expected shapes are computed independently here from the article's formulas
(and agree with what torch prints); the big examples use the article's sizes.
"""
import numpy as np
import pytest

import convlab
import convlab.nn as nn


def conv_len(n, k, s=1, p=0, d=1):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def convt_len(n, k, s=1, p=0, op=0, d=1):
    return (n - 1) * s - 2 * p + d * (k - 1) + op + 1


@pytest.fixture(autouse=True)
def seeded():
    convlab.manual_seed(0)


def randn(*shape):
    return np.random.default_rng(0).standard_normal(shape, dtype=np.float32)


def test_conv1d_examples():
    layers = [nn.Conv1d(16, 33, 3, stride=2), nn.Conv1d(16, 33, 5, stride=2), nn.Conv1d(16, 33, 3, stride=3),
              nn.Conv1d(16, 33, 3, stride=2, padding=2), nn.Conv1d(16, 33, 3, stride=2, dilation=3),
              nn.Conv1d(16, 33, 3, stride=2, bias=True), nn.Conv1d(16, 24, 3, stride=2),
              nn.Conv1d(16, 24, 3, stride=2, groups=2)]
    x = randn(20, 16, 50)
    shapes = [m(x).shape for m in layers]
    assert shapes == [(20, 33, 24), (20, 33, 23), (20, 33, 16), (20, 33, 26), (20, 33, 22), (20, 33, 24),
                      (20, 24, 24), (20, 24, 24)]
    assert shapes[4][2] == conv_len(50, 3, s=2, d=3)
    assert layers[7].weight.shape == (24, 8, 3)


def test_conv2d_examples():
    layers = [nn.Conv2d(16, 33, 3, stride=2), nn.Conv2d(16, 33, (3, 5), stride=(2, 1), padding=(4, 2)),
              nn.Conv2d(16, 33, (3, 5), stride=(2, 1), padding=(4, 2), dilation=(3, 1))]
    x = randn(20, 16, 50, 100)
    assert [m(x).shape for m in layers] == [(20, 33, 24, 49), (20, 33, 28, 100), (20, 33, 26, 100)]
    assert (conv_len(50, 3, 2, 4, 3), conv_len(100, 5, 1, 2, 1)) == (26, 100)


def test_conv3d_examples():
    layers = [nn.Conv3d(16, 33, 3, stride=2), nn.Conv3d(16, 33, (3, 5, 2), stride=(2, 1, 1), padding=(4, 2, 0))]
    x = randn(20, 16, 10, 50, 100)
    assert [m(x).shape for m in layers] == [(20, 33, 4, 24, 49), (20, 33, 8, 50, 99)]


def test_conv_transpose1d_examples():
    layers = [nn.ConvTranspose1d(16, 33, 3, stride=2), nn.ConvTranspose1d(16, 33, 3, stride=2, padding=2),
              nn.ConvTranspose1d(16, 33, 3, stride=2, padding=2, output_padding=1),
              nn.ConvTranspose1d(16, 33, 3, stride=2, padding=2, output_padding=1, dilation=3)]
    x = randn(20, 16, 30)
    assert [m(x).shape[2] for m in layers] == [61, 57, 58, 62]
    assert [m(x).shape[2] for m in layers] == [convt_len(30, 3, 2), convt_len(30, 3, 2, 2), convt_len(30, 3, 2, 2, 1),
                                               convt_len(30, 3, 2, 2, 1, 3)]
    # The article prints the weight shape as (out, in/groups, k); it is (in, out/groups, k):
    assert layers[0].weight.shape == (16, 33, 3)


def test_conv_transpose2d_examples():
    layers = [nn.ConvTranspose2d(16, 33, 3, stride=2), nn.ConvTranspose2d(16, 33, (3, 5), stride=(2, 1), padding=(4, 2)),
              nn.ConvTranspose2d(16, 33, 3, stride=(2, 1), padding=(4, 2), output_padding=(1, 0))]
    x = randn(20, 16, 50, 100)
    assert [m(x).shape for m in layers] == [(20, 33, 101, 201), (20, 33, 93, 100), (20, 33, 94, 98)]


def test_down_sample_up_sample_example():
    x = randn(1, 16, 12, 12)
    down = nn.Conv2d(16, 16, 3, stride=2, padding=1)
    up = nn.ConvTranspose2d(16, 16, 3, stride=2, padding=1)
    h = down(x)
    assert h.shape == (1, 16, 6, 6)
    assert up(h).shape == (1, 16, 11, 11)            # without output_size one row/column is missing
    out = up(h, output_size=x.shape)
    assert out.shape == (1, 16, 12, 12)
    assert not np.array_equal(out, x)                # sizes come back, values do not


def test_conv_transpose3d_examples():
    layers = [nn.ConvTranspose3d(16, 33, 3, stride=2),
              nn.ConvTranspose3d(16, 33, (3, 5, 2), stride=(2, 1, 1), padding=(0, 4, 2)),
              nn.ConvTranspose3d(16, 33, (3, 5, 2), stride=(2, 1, 1), padding=(0, 4, 2), output_padding=(1, 0, 0))]
    x = randn(20, 16, 10, 50, 100)
    assert [m(x).shape for m in layers] == [(20, 33, 21, 101, 201), (20, 33, 21, 46, 97), (20, 33, 22, 46, 97)]


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_lazy_examples(nd):
    for lazy, eager in [(f"LazyConv{nd}d", f"Conv{nd}d"), (f"LazyConvTranspose{nd}d", f"ConvTranspose{nd}d")]:
        m = getattr(nn, lazy)(33, 3)
        assert m.in_channels == 0
        m(randn(2, 16, *(6,) * nd))
        assert m.in_channels == 16 and type(m) is getattr(nn, eager)


def test_unfold_fold_examples():
    x = randn(2, 5, 3, 4)
    cols = nn.Unfold(kernel_size=(2, 3))(x)
    assert cols.shape == (2, 30, 4)
    assert nn.Fold(output_size=(4, 5), kernel_size=(2, 2))(randn(1, 3 * 2 * 2, 12)).shape == (1, 3, 4, 5)
