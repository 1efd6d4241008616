"""Every statement the course makes about what PyTorch does, checked by PyTorch.

One test per claim. Each docstring names the notebook and the cell (by its heading) that makes the
claim, and says the claim in one line; `python -m pytest tests/test_course_claims.py -v` lists them.
Where convlab behaves differently from torch, the test checks torch's side (the course shows both).
"""

import math
import warnings

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def _raises_at_call(make, x):
    """torch builds the layer; its first call raises a RuntimeError. Returns the message."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        layer = make()
    with pytest.raises(RuntimeError) as err:
        layer(x)
    return str(err.value)


def _matrix(fn, n_in):
    """The matrix of a linear map on flattened arrays, column by column."""
    cols = [fn(e).flatten() for e in torch.eye(n_in, dtype=torch.float64)]
    return torch.stack(cols, dim=1)


# ----- 01 overview -------------------------------------------------------------------------------

def test_01_groups_sum_runs_over_own_group():
    """01, 'Correction: with groups, the sum runs over one group's channels': with groups=2, changing input
    channels 2 and 3 moves output channels of group 1 only."""
    m = nn.Conv1d(4, 4, 3, groups=2)
    x = torch.randn(1, 4, 10)
    x2 = x.clone()
    x2[:, 2:] += 1.0
    moved = (m(x2) - m(x)).abs().amax(dim=(0, 2)) > 1e-6
    assert moved.tolist() == [False, False, True, True]


def test_01_why_convolution_parameter_count():
    """01, 'Why convolution': a Conv2d(3, 16, 3) has 448 parameters whatever the image size; a dense layer from
    a 3×32×32 image to a 16×30×30 map has over 44 million."""
    conv = nn.Conv2d(3, 16, 3)
    assert sum(p.numel() for p in conv.parameters()) == 3 * 16 * 9 + 16 == 448
    dense = (3 * 32 * 32) * (16 * 30 * 30) + 16 * 30 * 30
    assert dense > 44_000_000
    assert tuple(conv(torch.randn(1, 3, 32, 32)).shape) == (1, 16, 30, 30)


# ----- 02 Conv1d ---------------------------------------------------------------------------------

def test_02_article_output_lengths_floor():
    """02, '1.4 示例': the eight layers give lengths 24, 23, 16, 26, 22, 24, 24, 24; the brackets of the formula
    are a floor (stride 3: 47/3 = 15.67 -> 16)."""
    x = torch.randn(20, 16, 50)
    layers = [nn.Conv1d(16, 33, 3, stride=2), nn.Conv1d(16, 33, 5, stride=2), nn.Conv1d(16, 33, 3, stride=3),
              nn.Conv1d(16, 33, 3, stride=2, padding=2), nn.Conv1d(16, 33, 3, stride=2, dilation=3),
              nn.Conv1d(16, 33, 3, stride=2, bias=True), nn.Conv1d(16, 24, 3, stride=2),
              nn.Conv1d(16, 24, 3, stride=2, groups=2)]
    assert [m(x).shape[-1] for m in layers] == [24, 23, 16, 26, 22, 24, 24, 24]
    assert 47 // 3 + 1 == 16 != round(47 / 3) + 1


def test_02_layers_7_8_change_out_channels():
    """02, 'Correction: layers 7 and 8 change the output channels': both keep in_channels=16."""
    a, b = nn.Conv1d(16, 24, 3, stride=2), nn.Conv1d(16, 24, 3, stride=2, groups=2)
    assert (a.in_channels, a.out_channels, b.in_channels, b.out_channels) == (16, 24, 16, 24)


def test_02_groups_keeps_shape_changes_layer():
    """02, 'Correction: groups leaves the shape alone, not the layer': same output shape, weight (24, 16, 3) vs
    (24, 8, 3), half the weights."""
    x = torch.randn(20, 16, 50)
    a, b = nn.Conv1d(16, 24, 3, stride=2), nn.Conv1d(16, 24, 3, stride=2, groups=2)
    assert a(x).shape == b(x).shape
    assert tuple(a.weight.shape) == (24, 16, 3) and tuple(b.weight.shape) == (24, 8, 3)


def test_02_init_is_uniform_on_sqrt_k():
    """02, 'The initial values': weight and bias are drawn from the uniform U(−√k, √k), k = groups/(C_in·k) (the
    article writes μ): all inside, spread to the edges, variance k/3."""
    m = nn.Conv1d(16, 33, 3)
    bound = math.sqrt(1 / (16 * 3))
    w = m.weight.detach().flatten()
    assert w.abs().max() <= bound and w.abs().max() > 0.98 * bound
    assert abs(w.var().item() - bound ** 2 / 3) < 0.15 * bound ** 2 / 3
    assert m.bias.abs().max() <= bound


def test_02_depthwise_parameters_saved():
    """02, 'Depthwise: groups == in_channels' (the question on groups=C_in): Conv1d(16, 16, 3) has 16·16·3
    weights, with groups=16 only 16·3."""
    assert nn.Conv1d(16, 16, 3, bias=False).weight.numel() == 768
    assert nn.Conv1d(16, 16, 3, groups=16, bias=False).weight.numel() == 48


# ----- 03 Conv2d ---------------------------------------------------------------------------------

def test_03_h_is_height():
    """03, 'Correction: H is the height, W the width': a (3, 1) kernel shortens dimension 2 (rows) only."""
    assert tuple(nn.Conv2d(1, 1, (3, 1))(torch.randn(1, 1, 8, 10)).shape) == (1, 1, 6, 10)


def test_03_article_examples():
    """03, '2.4 示例': (24, 49), (28, 100), (26, 100) on (20, 16, 50, 100)."""
    x = torch.randn(2, 16, 50, 100)
    layers = [nn.Conv2d(16, 33, 3, stride=2), nn.Conv2d(16, 33, (3, 5), stride=(2, 1), padding=(4, 2)),
              nn.Conv2d(16, 33, (3, 5), stride=(2, 1), padding=(4, 2), dilation=(3, 1))]
    assert [tuple(m(x).shape[2:]) for m in layers] == [(24, 49), (28, 100), (26, 100)]


def test_03_grouped_conv2d_is_two_conv2d():
    """03, 'Correction: groups=2 is two Conv2d layers side by side'."""
    m = nn.Conv2d(4, 6, 3, groups=2)
    x = torch.randn(1, 4, 8, 8)
    halves = torch.cat([F.conv2d(x[:, :2], m.weight[:3], m.bias[:3]), F.conv2d(x[:, 2:], m.weight[3:], m.bias[3:])], 1)
    assert torch.allclose(m(x), halves, atol=1e-5)


def test_03_padding_modes_are_pad_then_conv():
    """03, "Not wrong, but incomplete: padding is zero padding only in the 'zeros' mode" (the article's 零填充
    describes the default): each mode equals F.pad in that mode then an unpadded conv, and the modes differ at
    the border."""
    x = torch.randn(1, 2, 6, 7)
    outs = {}
    for mode in ("zeros", "reflect", "replicate", "circular"):
        m = nn.Conv2d(2, 3, 3, padding=1, padding_mode=mode)
        pad_mode = "constant" if mode == "zeros" else mode
        ref = F.conv2d(F.pad(x, (1, 1, 1, 1), mode=pad_mode), m.weight, m.bias)
        assert torch.allclose(m(x), ref, atol=1e-5)
        outs[mode] = m.weight, m.bias
    w, b = outs["zeros"]
    z = F.conv2d(x, w, b, padding=1)
    r = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), w, b)
    assert not torch.allclose(z, r) and torch.allclose(z[..., 1:-1, 1:-1], r[..., 1:-1, 1:-1], atol=1e-5)


def test_03_same_padding():
    """03, "padding='same'": the output is as long as the input (stride 1 only)."""
    assert tuple(nn.Conv2d(3, 5, (3, 4), padding="same")(torch.randn(1, 3, 9, 11)).shape) == (1, 5, 9, 11)
    with pytest.raises(ValueError):
        nn.Conv2d(3, 5, 3, padding="same", stride=2)


def test_03_one_by_one_is_channel_mixing():
    """03, '1×1 convolution': a 1×1 Conv2d is the same matrix applied to the channel vector of every pixel."""
    m = nn.Conv2d(8, 3, 1)
    x = torch.randn(2, 8, 5, 6)
    per_pixel = torch.einsum("oc,nchw->nohw", m.weight[:, :, 0, 0], x) + m.bias[None, :, None, None]
    assert torch.allclose(m(x), per_pixel, atol=1e-5)


def test_03_receptive_field_two_3x3():
    """03, 'Receptive field': one output of two stacked 3×3 layers (stride 1) depends on a 5×5 input patch;
    three layers see 7×7."""
    for layers, size in ((2, 5), (3, 7)):
        net = nn.Sequential(*[nn.Conv2d(1, 1, 3, padding=1) for _ in range(layers)])
        x = torch.randn(1, 1, 15, 15, requires_grad=True)
        net(x)[0, 0, 7, 7].backward()
        rows, cols = torch.nonzero(x.grad[0, 0], as_tuple=True)
        assert (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) == (size, size)


def test_03_multichannel_by_hand():
    """03, 'A 2-channel computation by hand': one output cell = the sum over both channels of window × kernel,
    plus the bias."""
    m = nn.Conv2d(2, 1, 2)
    x = torch.arange(18.0).reshape(1, 2, 3, 3)
    by_hand = (x[0, :, 0:2, 1:3] * m.weight[0]).sum() + m.bias[0]
    assert torch.allclose(m(x)[0, 0, 0, 1], by_hand)


# ----- 04 Conv3d ---------------------------------------------------------------------------------

def test_04_padding_both_ends_of_three_axes():
    """04, 'Padding pads both ends of all three axes' (the article: 三边 … 两侧, right): padding p adds 2p to each
    of D, H, W."""
    m = nn.Conv3d(1, 1, 1, padding=(1, 2, 3), bias=False)
    assert tuple(m(torch.randn(1, 1, 4, 5, 6)).shape) == (1, 1, 6, 9, 12)


def test_04_article_examples_and_weight():
    """04, the article's examples: (4, 24, 49) and (8, 50, 99); weight (33, 16, 3, 5, 2)."""
    x = torch.randn(1, 16, 10, 50, 100)
    a, b = nn.Conv3d(16, 33, 3, stride=2), nn.Conv3d(16, 33, (3, 5, 2), stride=(2, 1, 1), padding=(4, 2, 0))
    assert tuple(a(x).shape[2:]) == (4, 24, 49) and tuple(b(x).shape[2:]) == (8, 50, 99)
    assert tuple(b.weight.shape) == (33, 16, 3, 5, 2) and a.kernel_size == (3, 3, 3)


# ----- 05a what a transposed convolution is -------------------------------------------------------

def test_05a_scatter_and_zero_insertion_and_gradient():
    """05a, 'Four ways to compute it': scatter-add, zero insertion + flipped kernel, and the input gradient of a
    Conv all equal F.conv_transpose1d."""
    x = torch.tensor([[[1.0, 2.0, 3.0, 1.0]]], dtype=torch.float64)
    w = torch.tensor([[[1.0, 2.0, 3.0]]], dtype=torch.float64)
    ref = F.conv_transpose1d(x, w, stride=2, padding=1)
    canvas = torch.zeros(9, dtype=torch.float64)
    for i in range(4):
        canvas[2 * i:2 * i + 3] += x[0, 0, i] * w[0, 0]
    assert torch.equal(canvas[1:-1], ref[0, 0])
    z = torch.zeros(1, 1, 7, dtype=torch.float64)
    z[..., ::2] = x
    assert torch.allclose(F.conv1d(F.pad(z, (1, 1)), w.flip(-1)), ref)
    u = torch.zeros(1, 1, 7, dtype=torch.float64, requires_grad=True)
    F.conv1d(u, w, stride=2, padding=1).backward(x)
    assert torch.allclose(u.grad, ref)


def test_05a_adjoint_not_inverse():
    """05a, 'Inverse? No: the adjoint': <conv(x), y> = <x, conv_transpose(y)>, but conv_transpose(conv(x)) ≠ x."""
    w = torch.randn(8, 16, 3, 3, dtype=torch.float64)
    x, y = torch.randn(1, 16, 12, 12, dtype=torch.float64), torch.randn(1, 8, 6, 6, dtype=torch.float64)
    lhs = (F.conv2d(x, w, stride=2, padding=1) * y).sum()
    rhs = (x * F.conv_transpose2d(y, w, stride=2, padding=1, output_padding=1)).sum()
    assert torch.allclose(lhs, rhs)
    back = F.conv_transpose2d(F.conv2d(x, w, stride=2, padding=1), w, stride=2, padding=1, output_padding=1)
    assert back.shape == x.shape and not torch.allclose(back, x)


def test_05a_round_trip_fails_without_losing_information():
    """05a, 'Inverse? No': even a stride-1 square Conv2d(4→4), which keeps every number, fails the round trip:
    CᵀC ≠ I (C is invertible here, yet its transpose is not its inverse)."""
    w = torch.randn(4, 4, 3, 3, dtype=torch.float64) / 6
    C = _matrix(lambda e: F.conv2d(e.reshape(1, 4, 5, 5), w, padding=1), 4 * 25)
    assert C.shape == (100, 100) and torch.linalg.matrix_rank(C) == 100
    assert not torch.allclose(C.T @ C, torch.eye(100, dtype=torch.float64), atol=1e-3)
    x = torch.randn(1, 4, 5, 5, dtype=torch.float64)
    assert not torch.allclose(F.conv_transpose2d(F.conv2d(x, w, padding=1), w, padding=1), x, atol=1e-3)


def test_05a_checkerboard_coverage():
    """05a, 'Checkerboard artefacts': ones through ConvTranspose2d with an all-ones kernel, stride 2: kernel 3
    covers the inside unevenly (1, 2 or 4 stamps: a checkerboard), kernel 4 evenly (4 stamps everywhere)."""
    ones = torch.ones(1, 1, 6, 6)
    k3 = F.conv_transpose2d(ones, torch.ones(1, 1, 3, 3), stride=2)[0, 0]
    k4 = F.conv_transpose2d(ones, torch.ones(1, 1, 4, 4), stride=2)[0, 0]
    assert k3[4, 2:8].tolist() == [4.0, 2.0, 4.0, 2.0, 4.0, 2.0]
    assert set(k3[2:-2, 2:-2].flatten().tolist()) == {1.0, 2.0, 4.0}
    assert set(k4[2:-2, 2:-2].flatten().tolist()) == {4.0}


def test_05a_input_cell_touches_outputs():
    """05a, 'Which outputs does one input cell touch?': with stride s, kernel k, padding p, input cell i writes
    to outputs i·s − p … i·s − p + k − 1 (inside the output)."""
    x = torch.zeros(1, 1, 5)
    x[0, 0, 2] = 1.0
    out = F.conv_transpose1d(x, torch.ones(1, 1, 3), stride=2, padding=1)[0, 0]
    assert torch.nonzero(out).flatten().tolist() == [3, 4, 5]


# ----- 05b the article's ConvTranspose layers ---------------------------------------------------

def test_05b_weight_layout_in_out():
    """05b, '1.3 属性 · weight shape': the weight is (in_channels, out_channels/groups, *k)."""
    assert tuple(nn.ConvTranspose1d(16, 33, 3).weight.shape) == (16, 33, 3)
    assert tuple(nn.ConvTranspose1d(16, 24, 3, groups=2).weight.shape) == (16, 12, 3)
    assert tuple(nn.ConvTranspose2d(16, 33, (3, 5)).weight.shape) == (16, 33, 3, 5)
    assert tuple(nn.ConvTranspose3d(16, 32, 3, groups=4).weight.shape) == (16, 8, 3, 3, 3)


def test_05b_only_zeros_padding_mode():
    """05b, 'Article error · `padding_mode`': reflect/replicate/circular raise ValueError when the layer is
    built."""
    for mode in ("reflect", "replicate", "circular"):
        with pytest.raises(ValueError):
            nn.ConvTranspose1d(16, 33, 3, padding_mode=mode)


def test_05b_article_lengths():
    """05b, '1.4 示例': 61, 57, 58, 62 on (20, 16, 30)."""
    x = torch.randn(20, 16, 30)
    layers = [nn.ConvTranspose1d(16, 33, 3, stride=2), nn.ConvTranspose1d(16, 33, 3, stride=2, padding=2),
              nn.ConvTranspose1d(16, 33, 3, stride=2, padding=2, output_padding=1),
              nn.ConvTranspose1d(16, 33, 3, stride=2, padding=2, output_padding=1, dilation=3)]
    assert [m(x).shape[-1] for m in layers] == [61, 57, 58, 62]


def test_05b_padding_crops_the_output():
    """05b, 'What `padding` removes': padding=p crops p cells off each end of the padding=0 output."""
    x, w = torch.randn(1, 2, 5), torch.randn(2, 3, 3)
    full = F.conv_transpose1d(x, w, stride=2)
    assert torch.allclose(F.conv_transpose1d(x, w, stride=2, padding=2), full[..., 2:-2])


def test_05b_init_bound_uses_c_out():
    """05b, '1.3 属性 · initial values': U(−√k, √k) with k = groups/(C_out·k): 0.1005 for 16→33, k=3."""
    m = nn.ConvTranspose1d(16, 33, 3)
    bound = math.sqrt(1 / (33 * 3))
    assert round(bound, 4) == 0.1005
    assert m.weight.abs().max() <= bound and m.weight.abs().max() > 0.98 * bound


def test_05b_non_square_comment():
    """05b, 'Article error (comment)': the third 2d example has kernel_size 3, a square kernel."""
    m = nn.ConvTranspose2d(16, 33, 3, stride=(2, 1), padding=(4, 2))
    assert m.kernel_size == (3, 3)


def test_05b_grouped_transpose_is_two_layers():
    """05b, 'Article error (groups)': ConvTranspose2d(4, 6, 3, groups=2) = two ConvTranspose2d(2, 3, 3) side by
    side; its weight is (4, 3, 3, 3)."""
    g = nn.ConvTranspose2d(4, 6, 3, groups=2, bias=False)
    assert tuple(g.weight.shape) == (4, 3, 3, 3)
    x = torch.randn(1, 4, 5, 5)
    halves = torch.cat([F.conv_transpose2d(x[:, :2], g.weight[:2]), F.conv_transpose2d(x[:, 2:], g.weight[2:])], 1)
    assert torch.allclose(g(x), halves, atol=1e-5)


def test_05b_down_up_example():
    """05b, 'The down-sample / up-sample example': 12 -> 6 -> 12 with output_size, 11 without; values differ."""
    down, up = nn.Conv2d(16, 16, 3, stride=2, padding=1), nn.ConvTranspose2d(16, 16, 3, stride=2, padding=1)
    x = torch.randn(1, 16, 12, 12)
    h = down(x)
    assert tuple(h.shape) == (1, 16, 6, 6)
    assert tuple(up(h, output_size=x.shape).shape) == (1, 16, 12, 12) and tuple(up(h).shape) == (1, 16, 11, 11)
    assert not torch.allclose(up(h, output_size=x.shape), x)


def test_05b_output_size_equals_output_padding():
    """05b, 'output_padding and output_size': output_size=(12, 12) and output_padding=1 give the same layer; the
    extra row is computed, not zero padding."""
    up = nn.ConvTranspose2d(16, 16, 3, stride=2, padding=1)
    up_op = nn.ConvTranspose2d(16, 16, 3, stride=2, padding=1, output_padding=1)
    up_op.load_state_dict(up.state_dict())
    h = torch.randn(1, 16, 6, 6)
    out = up(h, output_size=(12, 12))
    assert torch.equal(up_op(h), out)
    assert torch.any(out[0, :, -1, :] != up.bias[:, None])


def test_05b_exact_2x_upsampling():
    """05b, the question 'You want an exact 2× upsampling' (before 'The rules'): kernel 3, stride 2, padding 1
    needs output_padding=1 (6 -> 12); kernel 4, stride 2, padding 1 needs 0."""
    h = torch.randn(1, 1, 6)
    assert F.conv_transpose1d(h, torch.randn(1, 1, 3), stride=2, padding=1, output_padding=1).shape[-1] == 12
    assert F.conv_transpose1d(h, torch.randn(1, 1, 4), stride=2, padding=1).shape[-1] == 12


def test_05b_output_padding_checked_at_call():
    """05b, 'The rules, and their error messages': ConvTranspose1d(16, 33, 3, stride=2, output_padding=2) is
    built; its first call raises RuntimeError (output_padding must be < stride or dilation); stride 1,
    dilation 3 accepts output_padding=2 (4 -> 12) though only one Conv input size (10) gives 4."""
    msg = _raises_at_call(lambda: nn.ConvTranspose1d(16, 33, 3, stride=2, output_padding=2), torch.zeros(1, 16, 5))
    assert "output padding must be smaller than either stride or dilation" in msg
    assert nn.ConvTranspose1d(1, 1, 3, stride=1, dilation=3, output_padding=2)(torch.zeros(1, 1, 4)).shape[-1] == 12
    conv = nn.Conv1d(1, 1, 3, dilation=3)
    assert [n for n in range(7, 20) if conv(torch.zeros(1, 1, n)).shape[-1] == 4] == [10]


def test_05b_output_size_out_of_range():
    """05b, 'The rules': output_size outside [11, 12] raises ValueError at the call, naming the range."""
    up = nn.ConvTranspose2d(16, 16, 3, stride=2, padding=1)
    with pytest.raises(ValueError, match="valid sizes range from"):
        up(torch.randn(1, 16, 6, 6), output_size=(13, 13))


def test_05b_3d_pair_refused_at_call():
    """05b, 'Article errors in 3.1 / 3.3': ConvTranspose3d with output_padding=(1, 0) is built; the call raises."""
    _raises_at_call(lambda: nn.ConvTranspose3d(16, 33, (3, 5, 2), stride=(2, 1, 1), output_padding=(1, 0)),
                    torch.zeros(1, 16, 4, 4, 4))
    assert tuple(nn.ConvTranspose3d(16, 33, (3, 5, 2)).weight.shape) == (16, 33, 3, 5, 2)


# ----- 06 Lazy ------------------------------------------------------------------------------------

def test_06_lazy_placeholder_before_call():
    """06, '1 nn.LazyConv1d': before the call in_channels is 0 and the weight is an UninitializedParameter whose
    shape is a RuntimeError."""
    m = nn.LazyConv1d(33, 3, stride=2)
    assert m.in_channels == 0 and isinstance(m.weight, nn.parameter.UninitializedParameter)
    with pytest.raises(RuntimeError):
        m.weight.shape


def test_06_lazy_becomes_eager():
    """06, 'The first call': the module becomes Conv1d with in_channels = input.shape[1]."""
    m = nn.LazyConv1d(33, 3, stride=2)
    assert tuple(m(torch.randn(20, 16, 50)).shape) == (20, 33, 24)
    assert type(m) is nn.Conv1d and m.in_channels == 16 and tuple(m.weight.shape) == (33, 16, 3)


def test_06_second_call_other_channels():
    """06, 'A second call with a different channel count': a RuntimeError naming both channel counts."""
    m = nn.LazyConv1d(33, 3)
    m(torch.randn(2, 16, 50))
    with pytest.raises(RuntimeError, match="16"):
        m(torch.randn(2, 8, 50))


def test_06_groups_checked_at_first_call():
    """06: LazyConv1d(24, 3, groups=2) is built; a 5-channel first input raises ValueError."""
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.LazyConv1d(24, 3, groups=2)(torch.randn(1, 5, 50))


def test_06_stride_zero_fails_at_call():
    """06, 'Correction: the default is `padding=0`, not `stride=0`': defaults padding 0, stride 1; stride=0 is
    built and fails at the first call (RuntimeError)."""
    d = nn.LazyConv1d(33, 3)
    assert d.padding == (0,) and d.stride == (1,)
    assert "stride" in _raises_at_call(lambda: nn.LazyConv1d(33, 3, stride=0), torch.randn(1, 16, 50))


def test_06_class_names():
    """06, 'LazyConvTransposed1d': torch.nn has LazyConvTranspose1d, not LazyConvTransposed1d."""
    assert not hasattr(nn, "LazyConvTransposed1d") and hasattr(nn, "LazyConvTranspose1d")
    assert not hasattr(nn, "ConvTransposed2d")


def test_06_lazy_transpose_fills_first_axis():
    """06, 'Weight layout after the first call': LazyConvTranspose1d(33, 3) on 16 channels has weight (16, 33,
    3); with groups=3 on 6 channels (6, 11, 3, 3)."""
    t = nn.LazyConvTranspose1d(33, 3, stride=2)
    t(torch.randn(2, 16, 30))
    assert tuple(t.weight.shape) == (16, 33, 3) and type(t) is nn.ConvTranspose1d
    tg = nn.LazyConvTranspose2d(33, 3, groups=3)
    tg(torch.randn(2, 6, 5, 5))
    assert tuple(tg.weight.shape) == (6, 11, 3, 3)


def test_06_article_bullets_what_torch_does():
    """06, '2 nn.LazyConvTransposed2d, 3 nn.LazyConvTransposed3d: what the arguments really accept':
    padding_mode='reflect' is a ValueError and groups=(2, 2) a TypeError when built; a 3d dilation pair is built
    and fails at the call."""
    with pytest.raises(ValueError):
        nn.LazyConvTranspose2d(33, 3, padding_mode="reflect")
    with pytest.raises(TypeError):
        nn.LazyConvTranspose2d(33, 3, groups=(2, 2))
    msg = _raises_at_call(lambda: nn.LazyConvTranspose3d(33, 3, dilation=(1, 2)), torch.randn(1, 2, 5, 5, 5))
    assert "dilation" in msg


def test_06_load_state_dict_keeps_lazy():
    """06, 'Filling a lazy layer from a state_dict': after load_state_dict a LazyConvTranspose2d stays
    LazyConvTranspose2d(0, 33, …) with the saved weight; its first call makes it ConvTranspose2d(0, 33, …),
    in_channels still 0, computing what the saved layer computes."""
    saved = nn.ConvTranspose2d(16, 33, 3, stride=2)
    fresh = nn.LazyConvTranspose2d(33, 3, stride=2)
    fresh.load_state_dict(saved.state_dict())
    assert type(fresh) is nn.LazyConvTranspose2d and fresh.in_channels == 0
    assert repr(fresh).startswith("LazyConvTranspose2d(0, 33")
    assert tuple(fresh.weight.shape) == (16, 33, 3, 3)
    z = torch.randn(1, 16, 6, 6)
    assert torch.equal(fresh(z), saved(z))
    assert type(fresh) is nn.ConvTranspose2d and fresh.in_channels == 0
    assert repr(fresh).startswith("ConvTranspose2d(0, 33")


def test_06_load_state_dict_does_not_check_layout():
    """06, '`load_state_dict` does not check the layout': a Conv weight (33, 16, 3, 3) loads silently into
    LazyConvTranspose2d(33, 3); the first call raises a RuntimeError about channels."""
    wrong = nn.LazyConvTranspose2d(33, 3)
    result = wrong.load_state_dict(nn.Conv2d(16, 33, 3).state_dict())
    assert not result.missing_keys and not result.unexpected_keys
    assert tuple(wrong.weight.shape) == (33, 16, 3, 3)
    with pytest.raises(RuntimeError, match="channels"):
        wrong(torch.randn(1, 16, 6, 6))


def test_06_dry_run_before_optimizer():
    """06, 'Why use a Lazy layer': a Sequential of Lazy layers is materialised by one dry-run call, after which
    the optimizer sees every parameter with its shape."""
    net = nn.Sequential(nn.LazyConv2d(8, 3), nn.ReLU(), nn.LazyConv2d(4, 3))
    assert any(isinstance(p, nn.parameter.UninitializedParameter) for p in net.parameters())
    net(torch.randn(1, 3, 16, 16))
    assert not any(isinstance(p, nn.parameter.UninitializedParameter) for p in net.parameters())
    assert [tuple(p.shape) for p in net.parameters()] == [(8, 3, 3, 3), (8,), (4, 8, 3, 3), (4,)]
    torch.optim.SGD(net.parameters(), lr=0.1)


# ----- 07 Unfold / Fold ---------------------------------------------------------------------------

def test_07_unfold_shape_and_column():
    """07, 'The shape `(N, C·∏kernel_size, L)`' and 'What one column holds': (1, 8, 6) for a (1, 2, 3, 4) input
    with kernel 2; column 0 is the top-left block of both channels, flattened."""
    x = torch.arange(24.0).reshape(1, 2, 3, 4)
    cols = F.unfold(x, 2)
    assert tuple(cols.shape) == (1, 8, 6)
    assert torch.equal(cols[0, :, 0], x[0, :, 0:2, 0:2].flatten())
    assert F.unfold(torch.randn(20, 16, 50, 100), 3, stride=2).shape[-1] == 24 * 49


def test_07_fold_adds_overlaps():
    """07, 'Fold of Unfold = x × (how many blocks cover each cell)': fold(unfold(x)) = x · fold(unfold(ones));
    dividing by it gives x back."""
    x = torch.randn(1, 2, 3, 4)
    back = F.fold(F.unfold(x, 2), (3, 4), 2)
    coverage = F.fold(F.unfold(torch.ones_like(x), 2), (3, 4), 2)
    assert coverage[0, 0].tolist() == [[1, 2, 2, 1], [2, 4, 4, 2], [1, 2, 2, 1]]
    assert torch.allclose(back, x * coverage) and not torch.allclose(back, x)
    assert torch.allclose(back / coverage, x)


def test_07_fold_exact_when_each_cell_covered_once():
    """07, 'When is the round trip exact?': exactly when every cell is covered once, which tiling (stride =
    kernel) gives but not only it: kernel 2, dilation 2, stride 1 on width 4 round-trips exactly."""
    x = torch.randn(1, 1, 4, 4)
    assert torch.equal(F.fold(F.unfold(x, 2, stride=2), (4, 4), 2, stride=2), x)
    assert torch.equal(F.fold(F.unfold(x, 2, dilation=2), (4, 4), 2, dilation=2), x)


def test_07_fold_block_count():
    """07, "Fold's block-count check": 5 columns where (3, 4) with kernel 2 needs 6 is a RuntimeError."""
    with pytest.raises(RuntimeError):
        nn.Fold((3, 4), 2)(torch.zeros(1, 8, 5))


def test_07_conv_is_unfold_matmul():
    """07, 'Convolution = matrix product on the columns' and 'Transposed convolution = fold of a matrix
    product': both identities hold in torch (up to rounding)."""
    x, w = torch.randn(2, 3, 6, 7, dtype=torch.float64), torch.randn(4, 3, 3, 3, dtype=torch.float64)
    out = (w.reshape(4, -1) @ F.unfold(x, 3)).reshape(2, 4, 4, 5)
    assert torch.allclose(out, F.conv2d(x, w))
    y, wt = torch.randn(2, 4, 3, 4, dtype=torch.float64), torch.randn(4, 3, 3, 3, dtype=torch.float64)
    cols = wt.reshape(4, -1).T @ y.reshape(2, 4, -1)
    assert torch.allclose(F.fold(cols, (5, 6), 3), F.conv_transpose2d(y, wt))


def test_07_torch_has_its_own_kernels():
    """intro, 07 and appendix: torch does not run convlab's four steps; it dispatches each call to one of its
    backends (oneDNN/mkldnn on this CPU build among them). Its numbers equal unfold + matmul up to rounding."""
    assert torch.backends.mkldnn.is_available()
    x, w = torch.randn(1, 16, 20, 20), torch.randn(16, 16, 3, 3)
    cols = (w.reshape(16, -1) @ F.unfold(x, 3)).reshape(1, 16, 18, 18)
    assert torch.allclose(F.conv2d(x, w), cols, atol=1e-4)


# ----- signatures (01, 02, 05b) -------------------------------------------------------------------

def _params(cls):
    import inspect
    sig = inspect.signature(cls.__init__)
    return [(n, p.default) for n, p in sig.parameters.items() if n not in ("self", "device", "dtype")]


@pytest.mark.parametrize("name", ["Conv1d", "Conv2d", "Conv3d",
                                  "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"])
def test_01_02_same_arguments_order_defaults_as_torch(name):
    """01, 'The arguments · 一、卷积 — 参数' and 02, '1.1 原型&参数': convlab's layers take torch.nn's arguments in the
    same order with the same defaults (plus device/dtype)."""
    import convlab.nn as cnn
    assert _params(getattr(cnn, name)) == _params(getattr(nn, name))


def test_05b_dilation_after_bias():
    """05b, '1 nn.ConvTranspose1d — 1.1 原型及参数': in ConvTranspose1d `dilation` comes after `bias` (in Conv1d
    before)."""
    t = [n for n, _ in _params(nn.ConvTranspose1d)]
    c = [n for n, _ in _params(nn.Conv1d)]
    assert t.index("dilation") > t.index("bias") and c.index("dilation") < c.index("groups") < c.index("bias")


def test_05a_grad_conv1d_input_signature():
    """05a, 'Way 4 · the gradient': convlab.nn.grad.conv1d_input has torch.nn.grad.conv1d_input's signature."""
    import inspect
    import convlab.nn.grad as cgrad
    assert list(inspect.signature(cgrad.conv1d_input).parameters) == \
        list(inspect.signature(torch.nn.grad.conv1d_input).parameters)


# ----- second edition, second pass: sentences written with the conceptual quizzes -----------------

def test_01_dense_about_a_hundred_thousand_times_more():
    """01, 'Why convolution at all' (after the question): the dense layer needs about a hundred thousand times
    more parameters than Conv2d(3, 16, 3) for the same input (3×32×32) and output (16×30×30) sizes."""
    conv = nn.Conv2d(3, 16, 3)
    out = conv(torch.zeros(1, 3, 32, 32)).shape[1:]
    dense = nn.Linear(3 * 32 * 32, out.numel(), device="meta")
    ratio = sum(p.numel() for p in dense.parameters()) / sum(p.numel() for p in conv.parameters())
    assert 0.5e5 < ratio < 2e5


def test_01_edge_kernel_and_blur_on_the_photo():
    """01, 'A real image through three kernels': map 1 ([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]) is bright along the
    vertical edges of the photo, map 0 (all nine weights 1/9) looks like the photo, only softer."""
    import matplotlib.pyplot as plt
    from matplotlib import cbook
    with cbook.get_sample_data("grace_hopper.jpg") as f:
        photo = torch.tensor(plt.imread(f).mean(axis=2)[::4, ::4] / 255, dtype=torch.float32)[None, None]
    w = torch.tensor([[[1 / 9] * 3] * 3, [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], [[-1, -2, -1], [0, 0, 0], [1, 2, 1]]],
                     dtype=torch.float32)[:, None]
    maps = F.conv2d(photo, w)[0]
    inner = photo[0, 0, 1:-1, 1:-1]
    left_right = (photo[0, 0, 1:-1, 2:] - photo[0, 0, 1:-1, :-2]).abs().flatten()
    corr = [torch.corrcoef(torch.stack([m.abs().flatten(), left_right]))[0, 1].item() for m in maps]
    assert max(range(3), key=corr.__getitem__) == 1
    err = [(m - inner).abs().mean().item() for m in maps]
    assert min(range(3), key=err.__getitem__) == 0 and maps[0].std() < inner.std()


def test_03_reflect_top_left_tap():
    """03, 'Explorer: one output cell' ('You should see' for padding_mode='reflect'): with padding 1 the top-left tap
    of output (0, 0) reads input (1, 1), and the window's sum is the layer's output."""
    x = torch.arange(25.0).reshape(1, 1, 5, 5)
    padded = F.pad(x, (1, 1, 1, 1), mode="reflect")
    assert padded[0, 0, 0, 0] == x[0, 0, 1, 1]
    m = nn.Conv2d(1, 1, 3, padding=1, padding_mode="reflect", bias=False)
    assert torch.allclose(m(x)[0, 0, 0, 0], (padded[0, 0, :3, :3] * m.weight[0, 0]).sum())


def test_03_two_3x3_cost_18_weights_not_25():
    """03, 'Receptive field' (after the question): two stacked 3×3 layers see as far as one 5×5 layer with 2·9 = 18
    weights per channel pair instead of 25."""
    two = nn.Sequential(nn.Conv2d(1, 1, 3, bias=False), nn.Conv2d(1, 1, 3, bias=False))
    one = nn.Conv2d(1, 1, 5, bias=False)
    assert sum(p.numel() for p in two.parameters()) == 18 and one.weight.numel() == 25
    x = torch.randn(1, 1, 9, 9)
    assert two(x).shape == one(x).shape == (1, 1, 5, 5)


@pytest.mark.parametrize("c_in,c_out,groups", [(16, 33, 1), (16, 24, 2), (16, 32, 16), (6, 4, 2)])
def test_05b_weight_shapes_with_groups(c_in, c_out, groups):
    """05b, '1.3 属性 · weight shape' (the table): with groups, Conv2d's weight is (C_out, C_in/groups, *k) and
    ConvTranspose2d's is (C_in, C_out/groups, *k); convlab's layers print the same shapes."""
    import convlab.nn as cnn
    conv, tconv = nn.Conv2d(c_in, c_out, 3, groups=groups), nn.ConvTranspose2d(c_in, c_out, 3, groups=groups)
    assert tuple(conv.weight.shape) == (c_out, c_in // groups, 3, 3)
    assert tuple(tconv.weight.shape) == (c_in, c_out // groups, 3, 3)
    assert cnn.Conv2d(c_in, c_out, 3, groups=groups).weight.shape == tuple(conv.weight.shape)
    assert cnn.ConvTranspose2d(c_in, c_out, 3, groups=groups).weight.shape == tuple(tconv.weight.shape)


def test_05b_kernel_4_stride_2_needs_no_output_padding_and_no_checkerboard():
    """05b, after the exact-2× question: with kernel 4 and stride 2 (padding 1) no output_padding is needed for
    6 -> 12, and that pair covers every inner output cell equally (no checkerboard)."""
    assert nn.ConvTranspose2d(1, 1, 4, stride=2, padding=1)(torch.zeros(1, 1, 6, 6)).shape[-2:] == (12, 12)
    cover = F.conv_transpose2d(torch.ones(1, 1, 6, 6), torch.ones(1, 1, 4, 4), stride=2, padding=1)[0, 0]
    assert torch.unique(cover[2:-2, 2:-2]).tolist() == [4.0]


def test_07_unfold_kernel2_stride2_blocks():
    """07, 'Explorer: blocks become columns' ('You should see'): on a (2, 4, 4) input, kernel_size=2, stride=2 gives
    columns of 2·2·2 = 8 rows and 2×2 = 4 blocks; block 3 is the bottom-right one, at (1, 1)."""
    x = torch.arange(32.0).reshape(1, 2, 4, 4)
    cols = F.unfold(x, 2, stride=2)
    assert tuple(cols.shape) == (1, 8, 4)
    assert cols[0, :, 3].tolist() == x[0, :, 2:4, 2:4].flatten().tolist()


@pytest.mark.parametrize("where,make", [
    ("01 'Why convolution at all'", lambda q: q.conv_vs_dense((3, 32, 32), 16, 3)),
    ("01 'A real image through three kernels'", lambda q: q.edge_maps()),
    ("02 'Depthwise: groups == in_channels'", lambda q: q.groups_saving(16, 32, 3)),
    ("03 'Receptive field'", lambda q: q.receptive_field(3, (2, 3))),
    ("05a 'Which outputs does one input cell touch?'", lambda q: q.touched_outputs(2, 5, 3, stride=2, padding=1)),
    ("05a 'Checkerboard artefacts'", lambda q: q.checkerboard_values(6, (3, 4), stride=2)),
    ("05b 'exact 2× upsampling'", lambda q: q.upsample_output_padding(6, 12, (3, 4), stride=2, padding=1)),
    ("06 'Why use a Lazy layer?'", lambda q: q.lazy_weight_shapes((8, 4), 3, (1, 3, 16, 16))),
])
def test_concept_quiz_answers_are_torch_s(where, make):
    """Each conceptual quiz of the notebooks (cell named in ``where``) confirms an answer computed with convlab; here
    the same question is answered with torch: the quiz's right answer is torch's."""
    from convlab import quiz
    q = make(quiz)
    a = q.args
    if q.kind == "conv_vs_dense":
        conv = nn.Conv2d(a["input_shape"][0], a["out_channels"], a["kernel_size"])
        n_out = conv(torch.zeros(1, *a["input_shape"])).numel()
        n_in = math.prod(a["input_shape"])
        want = (sum(p.numel() for p in conv.parameters()), n_in * n_out + n_out)
    elif q.kind == "edge_maps":
        step = torch.zeros(1, 1, 9, 9)
        step[..., 5:] = 1
        w = torch.tensor(quiz.EDGE_KERNELS, dtype=torch.float32)[:, None]
        w[0] /= 9
        edge = int(F.conv2d(step, w).abs().sum(dim=(0, 2, 3)).argmax())
        ramp = (torch.arange(9.0)[:, None] + torch.arange(9.0)[None]) / 16 + 0.5
        soft = int((F.conv2d(ramp[None, None], w) - ramp[1:-1, 1:-1]).abs().sum(dim=(0, 2, 3)).argmin())
        want = (edge, soft)
    elif q.kind == "groups_saving":
        full = nn.Conv1d(a["in_channels"], a["out_channels"], a["kernel_size"]).weight.numel()
        want = (full - nn.Conv1d(a["in_channels"], a["out_channels"], a["kernel_size"],
                                 groups=a["in_channels"]).weight.numel(),)
    elif q.kind == "receptive_field":
        sides = []
        for n in a["layers"]:
            x = torch.randn(1, 1, 21, 21, requires_grad=True)
            nn.Sequential(*[nn.Conv2d(1, 1, a["kernel_size"]) for _ in range(n)])(x)[0, 0, 0, 0].backward()
            rows = torch.nonzero(x.grad[0, 0].abs().sum(dim=1)).flatten()
            sides.append(int(rows.max() - rows.min() + 1))
        want = tuple(sides)
    elif q.kind == "touched_outputs":
        x = torch.zeros(1, 1, a["length"])
        x[0, 0, a["input_cell"]] = 1
        y = F.conv_transpose1d(x, torch.ones(1, 1, a["kernel_size"]), stride=a["stride"], padding=a["padding"])
        want = tuple(torch.nonzero(y[0, 0]).flatten().tolist())
    elif q.kind == "checkerboard_values":
        want = tuple(len(torch.unique(F.conv_transpose2d(torch.ones(1, 1, a["size"], a["size"]), torch.ones(1, 1, k, k),
                                                         stride=a["stride"])[0, 0, k:-k, k:-k]))
                     for k in a["kernel_sizes"])
    elif q.kind == "upsample_output_padding":
        want = tuple(a["target"] - nn.ConvTranspose1d(1, 1, k, stride=a["stride"], padding=a["padding"])(
            torch.zeros(1, 1, a["size"])).shape[-1] for k in a["kernel_sizes"])
    else:
        net = nn.Sequential(*[nn.LazyConv2d(c, a["kernel_size"]) for c in a["out_channels"]])
        net(torch.zeros(a["input_shape"]))
        want = tuple(d for layer in net for d in layer.weight.shape)
    assert q.answer == want, where


# ----- 01, 'The arguments': one sentence each ------------------------------------------------------

def test_01_cross_correlation_kernel_not_flipped():
    """01, 'Cross-correlation: the kernel is not flipped': F.conv1d agrees with np.correlate; np.convolve (which
    flips the kernel) gives another result for an asymmetric kernel."""
    import numpy as np
    x, w = np.array([1.0, 2.0, 0.0, -1.0, 3.0]), np.array([1.0, 0.0, -1.0])
    y = F.conv1d(torch.tensor(x)[None, None], torch.tensor(w)[None, None])[0, 0].numpy()
    assert np.allclose(y, np.correlate(x, w, "valid")) and not np.allclose(y, np.convolve(x, w, "valid"))


def test_01_channel_mismatch_names_both_numbers():
    """01, 'in_channels, out_channels': an input whose dimension 1 is not in_channels is an error naming both."""
    with pytest.raises(RuntimeError) as err:
        nn.Conv1d(16, 33, 3)(torch.zeros(1, 8, 10))
    assert "16" in str(err.value) and "8" in str(err.value)


def test_01_kernel_size_costs_one_cell_per_tap():
    """01, 'kernel_size': without padding, L_out = L_in − kernel_size + 1."""
    for k in (1, 2, 3, 7):
        assert nn.Conv1d(1, 1, k)(torch.zeros(1, 1, 10)).shape[-1] == 10 - k + 1


def test_01_stride_shrinks_rounded_down():
    """01, 'stride': the output shrinks by the stride's factor, rounded down (kernel 1: ⌈L/s⌉ cells = ⌊(L−1)/s⌋+1)."""
    for s in (2, 3, 4):
        assert nn.Conv1d(1, 1, 1, stride=s)(torch.zeros(1, 1, 10)).shape[-1] == (10 - 1) // s + 1


def test_01_padding_valid_and_same():
    """01, 'padding': 'valid' is no padding; 'same' keeps L_out = L_in, with stride 1 only."""
    x = torch.zeros(1, 1, 10)
    assert nn.Conv1d(1, 1, 3, padding="valid")(x).shape[-1] == 8
    assert nn.Conv1d(1, 1, 4, padding="same")(x).shape[-1] == 10
    with pytest.raises(ValueError):
        nn.Conv1d(1, 1, 3, padding="same", stride=2)


def test_01_padding_modes_and_f_pad_constant():
    """01, 'padding_mode': reflect mirrors without repeating the edge, replicate copies it, circular wraps around;
    F.pad calls zeros 'constant' (it does not know 'zeros')."""
    x = torch.arange(5.0)[None, None]
    assert F.pad(x, (2, 2), mode="reflect")[0, 0].tolist() == [2, 1, 0, 1, 2, 3, 4, 3, 2]
    assert F.pad(x, (2, 2), mode="replicate")[0, 0].tolist() == [0, 0, 0, 1, 2, 3, 4, 4, 4]
    assert F.pad(x, (2, 2), mode="circular")[0, 0].tolist() == [3, 4, 0, 1, 2, 3, 4, 0, 1]
    assert F.pad(x, (2, 2), mode="constant")[0, 0].tolist() == [0, 0, 0, 1, 2, 3, 4, 0, 0]
    with pytest.raises(NotImplementedError):
        F.pad(x, (2, 2), mode="zeros")


def test_01_dilation_span():
    """01, 'dilation': the kernel reads every dilation-th cell and spans dilation·(kernel_size − 1) + 1 cells."""
    for k, d in ((3, 2), (3, 3), (2, 4)):
        assert nn.Conv1d(1, 1, k, dilation=d)(torch.zeros(1, 1, 20)).shape[-1] == 20 - (d * (k - 1) + 1) + 1


def test_01_groups_divide_both_channel_counts():
    """01, 'groups': each output channel stores in_channels/groups kernels; groups must divide both channel counts."""
    assert tuple(nn.Conv1d(16, 24, 3, groups=4).weight.shape) == (24, 4, 3)
    with pytest.raises(ValueError, match="in_channels"):
        nn.Conv1d(16, 24, 3, groups=3)
    with pytest.raises(ValueError, match="out_channels"):
        nn.Conv1d(16, 20, 3, groups=8)


def test_01_bias_false_removes_out_channels_parameters():
    """01, 'bias': one number per output channel; bias=False removes out_channels parameters."""
    with_b = sum(p.numel() for p in nn.Conv1d(4, 7, 3).parameters())
    assert with_b - sum(p.numel() for p in nn.Conv1d(4, 7, 3, bias=False).parameters()) == 7


# ----- 02, second read ------------------------------------------------------------------------------

def test_02_groups_is_a_block_diagonal_dense_layer():
    """02, 'Correction: groups leaves the shape alone, not the layer': a groups=2 layer is a groups=1 layer whose
    weight is zero between the two halves of the channels."""
    g = nn.Conv1d(16, 24, 3, stride=2, groups=2)
    dense = nn.Conv1d(16, 24, 3, stride=2)
    with torch.no_grad():
        dense.weight.zero_()
        dense.weight[:12, :8] = g.weight[:12]
        dense.weight[12:, 8:] = g.weight[12:]
        dense.bias.copy_(g.bias)
    x = torch.randn(2, 16, 50)
    assert torch.allclose(g(x), dense(x), atol=1e-6)


def test_02_groups_two_conv1d_side_by_side():
    """02, '1.1 groups — two layers side by side': layer 8 (Conv1d(16, 24, 3, stride=2, groups=2)) equals two
    Conv1d(8, 12, 3, stride=2), each with half its weight, outputs concatenated."""
    g = nn.Conv1d(16, 24, 3, stride=2, groups=2)
    halves = [nn.Conv1d(8, 12, 3, stride=2) for _ in range(2)]
    with torch.no_grad():
        for h, (lo, hi) in zip(halves, ((0, 12), (12, 24))):
            h.weight.copy_(g.weight[lo:hi])
            h.bias.copy_(g.bias[lo:hi])
    x = torch.randn(2, 16, 50)
    assert torch.allclose(g(x), torch.cat([halves[0](x[:, :8]), halves[1](x[:, 8:])], dim=1), atol=1e-6)


def test_02_depthwise_multiplier_two():
    """02, 'Depthwise: groups == in_channels': with out_channels = 2·in_channels, changing input channel 5 moves
    output channels 10 and 11 only."""
    m = nn.Conv1d(16, 32, 3, groups=16)
    x = torch.randn(1, 16, 20)
    x2 = x.clone()
    x2[:, 5] += 1.0
    moved = torch.nonzero((m(x2) - m(x)).abs().amax(dim=(0, 2)) > 0).flatten().tolist()
    assert moved == [10, 11]


def test_02_groups_error_says_which_count():
    """02, '1.1 groups': groups must divide both channel counts; the error says which one it does not divide."""
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.Conv1d(16, 24, 3, groups=3)
    with pytest.raises(ValueError, match="out_channels must be divisible by groups"):
        nn.Conv1d(16, 20, 3, groups=8)


# ----- 03 and 04, second read -----------------------------------------------------------------------

def test_03_same_even_kernel_extra_cell_right_and_bottom():
    """03, "Even kernels: the extra cell goes right and bottom": a 4×4 'same' layer equals F.pad(x, (1, 2, 1, 2))
    followed by a 'valid' convolution, not the mirror-image split (2, 1, 2, 1)."""
    m = nn.Conv2d(1, 1, 4, padding="same", bias=False)
    x = torch.randn(1, 1, 7, 7)
    assert torch.allclose(m(x), F.conv2d(F.pad(x, (1, 2, 1, 2)), m.weight), atol=1e-6)
    assert not torch.allclose(m(x), F.conv2d(F.pad(x, (2, 1, 2, 1)), m.weight), atol=1e-6)


def test_03_reflect_needs_padding_smaller_than_input():
    """03, 'Not wrong, but incomplete' (the reflect note): reflect needs padding smaller than the input size."""
    assert nn.Conv2d(1, 1, 3, padding=3, padding_mode="reflect")(torch.zeros(1, 1, 4, 4)).shape[-1] == 8
    with pytest.raises(RuntimeError):
        nn.Conv2d(1, 1, 3, padding=4, padding_mode="reflect")(torch.zeros(1, 1, 4, 4))


def test_03_dilation_and_stride_on_5x5():
    """03, 'Dilation' and 'Stride': a 3×3 kernel with dilation 2 covers 5 cells per axis (one window on 5×5);
    stride 2 with padding 1 gives 3 positions per axis, and output (0, 1)'s window starts at column 1."""
    x = torch.randn(1, 1, 5, 5)
    assert tuple(nn.Conv2d(1, 1, 3, dilation=2)(x).shape[-2:]) == (1, 1)
    m = nn.Conv2d(1, 1, 3, stride=2, padding=1, bias=False)
    assert tuple(m(x).shape[-2:]) == (3, 3)
    padded = F.pad(x, (1, 1, 1, 1))
    assert torch.allclose(m(x)[0, 0, 0, 1], (padded[0, 0, 0:3, 2:5] * m.weight[0, 0]).sum())   # column 1 − 1 + 1 = 2


def test_04_layer2_edge_depths_hold_only_the_bias():
    """04, 'What a 3d kernel sees: depth slices': the article's layer 2 pads depth with 4 slices; output depths 0
    and 7 read only padding, so they hold only the bias."""
    m = nn.Conv3d(2, 3, (3, 5, 2), stride=(2, 1, 1), padding=(4, 2, 0))
    y = m(torch.randn(1, 2, 10, 6, 6))
    assert y.shape[2] == 8
    for d in (0, 7):
        assert torch.allclose(y[0, :, d], m.bias[:, None, None].expand_as(y[0, :, d]))
    assert not torch.allclose(y[0, :, 1], m.bias[:, None, None].expand_as(y[0, :, 1]))


def test_04_output_slice_is_a_sum_of_2d_convolutions():
    """04, 'What a 3d kernel sees': output depth d is the sum over kernel slices t of 2d convolutions with input
    slice z = d·stride − padding + t·dilation (slices outside the volume add nothing)."""
    x, w = torch.randn(1, 1, 6, 5, 5, dtype=torch.float64), torch.randn(1, 1, 3, 3, 3, dtype=torch.float64)
    y = F.conv3d(x, w, stride=2, padding=1)
    for d in range(y.shape[2]):
        total = torch.zeros_like(y[0, 0, d])
        for t in range(3):
            z = d * 2 - 1 + t
            if 0 <= z < 6:
                total += F.conv2d(x[:, :, z], w[:, :, t], stride=2, padding=1)[0, 0]
        assert torch.allclose(y[0, 0, d], total)


# ----- 05a, second read ----------------------------------------------------------------------------

def test_05a_matrix_of_conv_transpose_is_the_transpose():
    """05a, 'Way 3 · the transpose of the Conv's matrix': Conv1d with kernel 3, stride 2, padding 1 maps length 7 to
    4 (a 4×7 matrix C); conv_transpose1d with the same weight maps 4 to 7 and its matrix is Cᵀ."""
    w = torch.randn(1, 1, 3, dtype=torch.float64)
    C = _matrix(lambda e: F.conv1d(e.view(1, 1, 7), w, stride=2, padding=1), 7)
    T = _matrix(lambda e: F.conv_transpose1d(e.view(1, 1, 4), w, stride=2, padding=1), 4)
    assert tuple(C.shape) == (4, 7) and torch.allclose(T, C.T)


def test_05a_four_ways_in_2d_size():
    """05a, 'The same four ways in 2d': a 3×3 input with a 3×3 kernel, stride 2, padding 1 gives a 5×5 output, and
    it is the input gradient of the Conv2d with the same weight."""
    x, w = torch.randn(1, 1, 3, 3, dtype=torch.float64), torch.randn(1, 1, 3, 3, dtype=torch.float64)
    y = F.conv_transpose2d(x, w, stride=2, padding=1)
    assert tuple(y.shape[-2:]) == (5, 5)
    assert torch.allclose(y, torch.nn.grad.conv2d_input((1, 1, 5, 5), w, x, stride=2, padding=1))


def test_05a_constant_input_comes_out_striped():
    """05a, 'Checkerboard artefacts': with kernel 3 and stride 2 every other output cell gets two stamps and its
    neighbours one, so a constant input comes out striped (1d)."""
    y = F.conv_transpose1d(torch.ones(1, 1, 6), torch.ones(1, 1, 3), stride=2)[0, 0]
    assert y[2:-2].tolist() == [2, 1, 2, 1, 2, 1, 2, 1, 2]


# ----- 05b, second read ----------------------------------------------------------------------------

def test_05b_valid_sizes_are_exactly_the_conv_inputs():
    """05b, 'output_padding and output_size': Conv2d(16, 16, 3, stride=2, padding=1) maps both 11 and 12 to 6; the
    ConvTranspose with the same arguments makes 11 by default, and the sizes it accepts as output_size are exactly
    the Conv inputs that give 6."""
    conv = nn.Conv2d(1, 1, 3, stride=2, padding=1)
    conv_inputs = [n for n in range(8, 16) if conv(torch.zeros(1, 1, n, n)).shape[-1] == 6]
    assert conv_inputs == [11, 12]
    up = nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1)
    h = torch.zeros(1, 1, 6, 6)
    assert up(h).shape[-1] == 11
    accepted = []
    for n in range(8, 16):
        try:
            up(h, output_size=(n, n))
            accepted.append(n)
        except ValueError:
            pass
    assert accepted == conv_inputs


def test_05b_conv_transpose3d_int_kernel_and_weight():
    """05b, 'Article errors in 3.1 / 3.3': an int kernel_size is used for all three axes (depth too), and the weight
    is (in_channels, out_channels/groups, kD, kH, kW)."""
    m = nn.ConvTranspose3d(16, 33, 3)
    assert m.kernel_size == (3, 3, 3) and tuple(m.weight.shape) == (16, 33, 3, 3, 3)
    assert tuple(nn.ConvTranspose3d(16, 24, (3, 5, 2), groups=2).weight.shape) == (16, 12, 3, 5, 2)


# ----- 06 and 07, second read ----------------------------------------------------------------------

def test_06_lazy_and_eager_same_numbers_with_same_seed():
    """06, 'Lazy and eager give the same layer': with the same seed, a LazyConv1d(33, 3, stride=2) after its first
    call on 16 channels and an eager Conv1d(16, 33, 3, stride=2) hold the same weight and bias."""
    x = torch.randn(20, 16, 50)
    torch.manual_seed(1)
    lazy = nn.LazyConv1d(33, 3, stride=2)
    lazy(x)
    torch.manual_seed(1)
    eager = nn.Conv1d(16, 33, 3, stride=2)
    assert torch.equal(lazy.weight, eager.weight) and torch.equal(lazy.bias, eager.bias)


def test_07_block_count_of_the_article_input():
    """07, 'The shape (N, C·∏kernel_size, L)': on (20, 16, 50, 100) with kernel_size=3, stride=2 there are
    24·49 = 1176 blocks, the H_out·W_out of that convolution, and 16·3·3 = 144 rows."""
    cols = nn.Unfold(3, stride=2)(torch.zeros(20, 16, 50, 100, device="meta"))
    assert tuple(cols.shape) == (20, 144, 1176)
    assert tuple(nn.Conv2d(16, 33, 3, stride=2, device="meta")(torch.zeros(20, 16, 50, 100, device="meta")).shape[2:]) == (24, 49)


def test_07_uncovered_cells_are_lost():
    """07, 'When is the round trip exact?' (last sentence): with stride > kernel_size some cells are in no block, and
    fold(unfold(x)) has zeros there (dividing by the coverage cannot bring them back)."""
    x = torch.randn(1, 1, 5, 5) + 10
    back = F.fold(F.unfold(x, 2, stride=3), (5, 5), 2, stride=3)
    coverage = F.fold(F.unfold(torch.ones_like(x), 2, stride=3), (5, 5), 2, stride=3)
    assert (coverage == 0).any() and torch.all(back[coverage == 0] == 0)
    assert torch.allclose(back[coverage > 0], x[coverage > 0])
