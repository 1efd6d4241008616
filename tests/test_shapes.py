"""convlab.shapes against independent oracles.

The oracles are the shapes that real layers produce (convlab.nn and torch.nn),
brute-force searches over sizes (which inputs map to an output, which
``output_size`` values a ConvTranspose accepts, which block counts Fold takes),
and the numbers printed in the source article. No expected value is taken from
convlab.shapes itself.
"""
import itertools
import math
import operator
import warnings

import numpy as np
import pytest

import convlab
import convlab.nn as nn
from helpers import requires_torch, torch
from convlab import shapes

NN = {(1, False): nn.Conv1d, (2, False): nn.Conv2d, (3, False): nn.Conv3d,
      (1, True): nn.ConvTranspose1d, (2, True): nn.ConvTranspose2d, (3, True): nn.ConvTranspose3d}


@pytest.fixture(autouse=True, scope="module")
def _one_kernel_thread():
    # Thousands of tiny layers: a thread team per call costs more than the work (N = 1 here).
    before = convlab.get_num_threads()
    convlab.set_num_threads(1)
    yield
    convlab.set_num_threads(before)


def _torch_cls(nd, transposed):
    name = f"ConvTranspose{nd}d" if transposed else f"Conv{nd}d"
    return getattr(torch.nn, name)


def _zeros(shape):
    return np.zeros(shape, dtype=np.float32)


def _convlab_out(nd, shape, transposed=False, out_channels=1, output_size=None, **kw):
    """Output shape of a real convlab layer, or None when the layer refuses the arguments."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")        # "will fail on its first call": the call below says so
            m = NN[(nd, transposed)](shape[-nd - 1], out_channels, **kw)
        y = m(_zeros(shape)) if output_size is None else m(_zeros(shape), output_size=output_size)
    except (ValueError, RuntimeError):
        return None
    return tuple(y.shape)


def _torch_out(nd, shape, transposed=False, out_channels=1, output_size=None, **kw):
    """Output shape of a real torch layer, or None when torch refuses the arguments."""
    try:
        m = _torch_cls(nd, transposed)(shape[-nd - 1], out_channels, **kw)
        with torch.no_grad():
            x = torch.zeros(shape)
            y = m(x) if output_size is None else m(x, output_size=output_size)
    except (ValueError, RuntimeError):
        return None
    return tuple(y.shape)


def _shapes_or_none(fn, *args, **kw):
    try:
        return fn(*args, **kw)
    except ValueError:
        return None


# The 1-d grid every size function is checked on (small, so brute force stays cheap).
GRID_1D = list(itertools.product(range(1, 10), (1, 2, 3, 4), (1, 2, 3), (0, 1, 2), (1, 2, 3)))


# --------------------------------------------------------------------------- the article's numbers

def test_article_conv1d_examples():
    # nn.Conv1d(16, 33, ...) on (20, 16, 50); the article's printed lengths
    cases = [((3,), dict(stride=2), 24), ((5,), dict(stride=2), 23), ((3,), dict(stride=3), 16),
             ((3,), dict(stride=2, padding=2), 26), ((3,), dict(stride=2, dilation=3), 22)]
    for (k,), kw, expected in cases:
        d = shapes.conv_output_size(50, k, **kw)
        assert d == expected and int(d) == expected
    d = shapes.conv_output_size(50, 3, stride=2)
    assert d.text == "⌊(50 + 2·0 − 1·(3 − 1) − 1) / 2⌋ + 1 = ⌊47 / 2⌋ + 1 = 24"
    assert (d.numerator, d.denominator, d.remainder) == (47, 2, 1)
    assert shapes.conv_output_shape((20, 16, 50), 24, 3, stride=2, groups=2) == (20, 24, 24)


def test_article_conv2d_examples():
    x = (20, 16, 50, 100)
    assert shapes.conv_output_shape(x, 33, 3, stride=2).value == (20, 33, 24, 49)
    assert shapes.conv_output_shape(x, 33, (3, 5), stride=(2, 1), padding=(4, 2)).value == (20, 33, 28, 100)
    d = shapes.conv_output_shape(x, 33, (3, 5), stride=(2, 1), padding=(4, 2), dilation=(3, 1))
    assert d.value == (20, 33, 26, 100)
    assert [p.formula.split(" = ")[0] for p in d.parts] == ["H_out", "W_out"]


def test_article_conv_transpose1d_examples():
    kws = [dict(stride=2), dict(stride=2, padding=2), dict(stride=2, padding=2, output_padding=1),
           dict(stride=2, padding=2, output_padding=1, dilation=3)]
    assert [int(shapes.conv_transpose_output_size(30, 3, **kw)) for kw in kws] == [61, 57, 58, 62]
    assert shapes.conv_transpose_output_size(30, 3, stride=2).text.startswith("(30 − 1)·2 − 2·0 + 1·(3 − 1) + 0 + 1")


def test_article_down_up_sample_example():
    # Conv2d(16, 16, 3, stride=2, padding=1): both 12 and 11 become 6 ...
    assert shapes.conv_output_size(12, 3, stride=2, padding=1) == 6
    assert shapes.conv_output_size(11, 3, stride=2, padding=1) == 6
    assert shapes.conv_input_sizes_for_output(6, 3, stride=2, padding=1).value == (11, 12)
    # ... so ConvTranspose2d(16, 16, 3, stride=2, padding=1) needs output_size to pick 12
    assert shapes.conv_transpose_output_range(6, 3, stride=2, padding=1).value == (11, 12)
    assert shapes.output_padding_for(6, 12, 3, stride=2, padding=1) == 1
    assert shapes.output_padding_for((6, 6), (12, 12), 3, stride=2, padding=1).value == (1, 1)
    assert shapes.conv_transpose_output_shape((1, 16, 6, 6), 16, 3, stride=2, padding=1,
                                              output_padding=1).value == (1, 16, 12, 12)


def test_weight_shape_and_bound_by_hand():
    # torch's documented layouts, written out by hand
    assert shapes.conv_weight_shape(16, 33, 3).value == (33, 16, 3)
    assert shapes.conv_weight_shape(16, 24, 3, groups=2).value == (24, 8, 3)
    assert shapes.conv_weight_shape(16, 33, (3, 5), transposed=True).value == (16, 33, 3, 5)
    assert shapes.parameter_count(16, 33, 3).value == 33 * 16 * 3 + 33
    assert shapes.init_bound(16, 33, 3).value == pytest.approx(1 / math.sqrt(48))
    assert shapes.init_bound(16, 33, 3, transposed=True).value == pytest.approx(1 / math.sqrt(99))


# --------------------------------------------------------------------------- Derivation behaviour

def test_derivation_behaves_like_its_value():
    d = shapes.conv_output_size(50, 3, stride=2)
    assert int(d) == 24 and operator.index(d) == 24 and d == 24 and 24 == d and d != 25
    assert d < 25 and d > 23 and hash(d) == hash(24)
    assert list(range(d)) == list(range(24))
    assert np.zeros((d, 2)).shape == (24, 2)
    r = shapes.conv_transpose_output_range(6, 3, stride=2, padding=1)
    lo, hi = r
    assert (lo, hi) == (11, 12) and r == (11, 12) and len(r) == 2 and r[1] == 12
    with pytest.raises(TypeError, match="not an int"):
        operator.index(r)
    assert bool(shapes.fold_check(12, (4, 5), 2)) and not shapes.fold_check(11, (4, 5), 2)
    with pytest.raises(Exception):          # frozen
        d.value = 3


def test_derivation_text_forms():
    d = shapes.conv_output_size(50, 3, stride=2)
    s = str(d)
    assert s.splitlines()[0] == d.formula and "L_in" in d.formula and "stride" in d.formula
    assert s.rstrip().endswith("24") and "47" in s
    md, html = d._repr_markdown_(), d._repr_html_()
    for part in ("⌊47 / 2⌋", "24", "L_out"):
        assert part in md and part in html
    assert "<" not in d.formula or "&lt;" in html
    two = shapes.conv_output_shape((2, 3, 9, 10), 4, (3, 2), stride=(2, 3))
    assert "H_out" in two.formula and "W_out" in two.formula
    assert "H_out" in two._repr_markdown_() and "W_out" in two._repr_html_()


def _assert_steps(d, *numbers):
    """The last step ends with '= value', text chains the steps, and the plugged-in numbers appear."""
    assert d.steps, d
    assert d.steps[-1].endswith(f"= {d.value}") or d.steps[-1].endswith(f"= {d.value!r}"), d.steps
    assert d.text == d.sep.join(d.steps)
    for n in numbers:
        assert str(n) in d.steps[0], (n, d.steps)


@pytest.mark.parametrize("size,k,s,p,dil", [(50, 3, 2, 0, 1), (37, 5, 3, 4, 2), (11, 3, 2, 1, 1), (64, 7, 4, 3, 1)])
def test_conv_steps_and_remainder(size, k, s, p, dil):
    d = shapes.conv_output_size(size, k, s, p, dil)
    _assert_steps(d, size, k, s, p, dil)
    assert d.denominator == s
    assert d.remainder == d.numerator % s
    assert f"⌊{d.numerator} / {s}⌋" in d.text
    assert (d.numerator // d.denominator) + 1 == d.value


def test_remainder_counts_input_cells_the_floor_ignores():
    # Independent meaning of the remainder: that many cells can be cut off the input
    # without changing the output length; one more changes it.
    for size, k, s, p, dil in GRID_1D:
        d = _shapes_or_none(shapes.conv_output_size, size, k, s, p, dil)
        if d is None:
            continue
        out = _convlab_out(1, (1, size), kernel_size=k, stride=s, padding=p, dilation=dil)[-1]
        assert d == out
        r = d.remainder
        if r and size - r >= 1:
            assert _convlab_out(1, (1, size - r), kernel_size=k, stride=s, padding=p, dilation=dil)[-1] == out
        shorter = _convlab_out(1, (1, size - r - 1), kernel_size=k, stride=s, padding=p,
                               dilation=dil) if size - r - 1 >= 1 else None
        assert shorter is None or shorter[-1] == out - 1, (size, k, s, p, dil)


def test_transpose_and_other_steps():
    t = shapes.conv_transpose_output_size(30, 3, stride=2, padding=2, output_padding=1, dilation=3)
    _assert_steps(t, 30, 3, 2, 1)
    for d in (shapes.conv_transpose_output_range(6, 3, stride=2, padding=1),
              shapes.output_padding_for(6, 12, 3, stride=2, padding=1),
              shapes.conv_input_sizes_for_output(6, 3, stride=2, padding=1),
              shapes.same_padding(4, 3),
              shapes.unfold_block_count((9, 7), (3, 2), 1, 1, 2),
              shapes.fold_check(20, (9, 7), (3, 2), 1, 1, 2),
              shapes.conv_weight_shape(6, 4, (3, 5), groups=2),
              shapes.parameter_count(6, 4, (3, 5), groups=2),
              shapes.conv_output_shape((2, 6, 9, 7), 4, 3, groups=2)):
        assert d.steps[-1].endswith(f"= {d.value}") or d.steps[-1].endswith(f"= {tuple(d.value)}"), d.steps
        assert d.text == d.sep.join(d.steps) and d.formula
    b = shapes.init_bound(16, 33, 3)
    assert b.steps[-1].endswith(f"{b.value:.6g}") and "16·3" in b.text
    sp = shapes.same_padding(4, 3)
    assert "3·(4 − 1)" in sp.text and "⌊9 / 2⌋" in sp.text and sp.remainder == 1


# --------------------------------------------------------------------------- conv sizes vs real layers

def test_conv_output_size_matches_convlab_layers():
    for size, k, s, p, dil in GRID_1D:
        expected = _convlab_out(1, (2, 1, size), kernel_size=k, stride=s, padding=p, dilation=dil)
        got = _shapes_or_none(shapes.conv_output_size, size, k, s, p, dil)
        if expected is None:
            assert got is None, (size, k, s, p, dil)
        else:
            assert got is not None and got.value == expected[-1], (size, k, s, p, dil)


@requires_torch
def test_conv_output_size_matches_torch_layers():
    for size, k, s, p, dil in GRID_1D:
        expected = _torch_out(1, (1, size), kernel_size=k, stride=s, padding=p, dilation=dil)
        got = _shapes_or_none(shapes.conv_output_size, size, k, s, p, dil)
        if expected is None:
            assert got is None, (size, k, s, p, dil)
        else:
            assert got is not None and got.value == expected[-1], (size, k, s, p, dil)


@requires_torch
def test_asymmetric_padding_pair_matches_explicit_pad():
    for size, k, s, left, right, dil in itertools.product((3, 6, 10), (1, 2, 3), (1, 2), (0, 1, 3), (0, 2), (1, 2)):
        x = torch.nn.functional.pad(torch.zeros(1, 1, size), (left, right))
        try:
            expected = torch.nn.functional.conv1d(x, torch.zeros(1, 1, k), stride=s, dilation=dil).shape[-1]
        except RuntimeError:
            expected = None
        got = _shapes_or_none(shapes.conv_output_size, size, k, s, (left, right), dil)
        assert (got.value if got is not None else None) == expected, (size, k, s, left, right, dil)


@pytest.mark.parametrize("padding", ["same", "valid"])
def test_string_padding_matches_layers(padding):
    for size, k, dil in itertools.product((1, 4, 7), (1, 2, 3, 4, 5), (1, 2, 3)):
        expected = _convlab_out(1, (1, size), kernel_size=k, padding=padding, dilation=dil)
        got = _shapes_or_none(shapes.conv_output_size, size, k, 1, padding, dil)
        assert (got.value if got is not None else None) == (expected[-1] if expected else None)
        if torch is not None:
            t = _torch_out(1, (1, size), kernel_size=k, padding=padding, dilation=dil)
            assert (got.value if got is not None else None) == (t[-1] if t else None)


def test_same_padding_split_matches_convlab_values(rng):
    # 'same' must equal an explicit (left, right) zero pad followed by a 'valid' conv
    F = nn.functional
    for k, dil in itertools.product((1, 2, 3, 4, 5, 6), (1, 2, 3)):
        left, right = shapes.same_padding(k, dil).value
        x = rng.standard_normal((1, 1, 15))
        w = rng.standard_normal((1, 1, k))
        same = F.conv1d(x, w, padding="same", dilation=dil)
        explicit = F.conv1d(np.pad(x, ((0, 0), (0, 0), (left, right))), w, dilation=dil)
        np.testing.assert_allclose(same, explicit, rtol=1e-12, atol=1e-12)


@requires_torch
def test_same_padding_split_matches_torch_values():
    g = torch.Generator().manual_seed(0)
    for k, dil in itertools.product((1, 2, 3, 4, 5, 6), (1, 2, 3)):
        left, right = shapes.same_padding(k, dil).value
        x = torch.randn(1, 1, 15, generator=g, dtype=torch.float64)
        w = torch.randn(1, 1, k, generator=g, dtype=torch.float64)
        same = torch.nn.functional.conv1d(x, w, padding="same", dilation=dil)
        explicit = torch.nn.functional.conv1d(torch.nn.functional.pad(x, (left, right)), w, dilation=dil)
        torch.testing.assert_close(same, explicit)
        # odd totals put the extra cell on the right; the swapped split differs (the test can fail)
        if left != right:
            swapped = torch.nn.functional.conv1d(torch.nn.functional.pad(x, (right, left)), w, dilation=dil)
            assert not torch.allclose(same, swapped)


def _nd_cases(transposed):
    rng = np.random.default_rng(11)
    cases = []
    for nd in (1, 2, 3):
        for _ in range(25):
            spatial = tuple(int(v) for v in rng.integers(1, 9, nd))
            kernel = tuple(int(v) for v in rng.integers(1, 4, nd))
            stride = tuple(int(v) for v in rng.integers(1, 4, nd))
            padding = tuple(int(v) for v in rng.integers(0, 3, nd))
            dilation = tuple(int(v) for v in rng.integers(1, 3, nd))
            groups = int(rng.choice([1, 2]))
            batched = bool(rng.integers(0, 2))
            extra = {}
            if transposed:
                extra["output_padding"] = tuple(int(rng.integers(0, max(s, d))) for s, d in zip(stride, dilation))
            cases.append((nd, spatial, kernel, stride, padding, dilation, groups, batched, extra))
    # int arguments too (ndim from the batched input_shape)
    cases.append((2, (7, 9), 3, 2, 1, 1, 1, True, {}))
    cases.append((3, (5, 6, 7), 2, 1, 0, 2, 1, True, {}))
    return cases


def _shape_case(case, transposed, layer_out):
    nd, spatial, kernel, stride, padding, dilation, groups, batched, extra = case
    c_in, c_out = 2 * groups, 2 * groups
    in_shape = ((2,) if batched else ()) + (c_in,) + spatial
    kw = dict(kernel_size=kernel, stride=stride, padding=padding, dilation=dilation, groups=groups, **extra)
    expected = layer_out(nd, in_shape, transposed, c_out, **kw)
    if expected is not None and 0 in expected[-nd:]:
        # torch quirk: an output axis of size 0 (not negative) is "Output size is too small" on some of torch's
        # backend paths and an empty result on others, in 1-d, 2-d and 3-d alike (torch 2.13, 888 probes of a
        # size-0 axis over stride / padding / dilation / groups / output_padding: unbatched and batch-1 inputs
        # raised in 134 of 222 cases each, batches of 2 or 3 in 92 of 444); shapes and convlab always raise
        assert layer_out is _torch_out and transposed
        expected = None
    fn = shapes.conv_transpose_output_shape if transposed else shapes.conv_output_shape
    got = _shapes_or_none(fn, in_shape, c_out, ndim=nd, **kw)
    if expected is None:
        assert got is None, case
    else:
        assert got is not None and got.value == expected, (case, got, expected)
        assert len(got.parts) == nd
        assert tuple(p.value for p in got.parts) == expected[-nd:]
        names = {1: ["L"], 2: ["H", "W"], 3: ["D", "H", "W"]}[nd]
        assert [p.formula.split("_out")[0] for p in got.parts] == names


@pytest.mark.parametrize("transposed", [False, True])
def test_output_shape_matches_convlab_layers(transposed):
    for case in _nd_cases(transposed):
        _shape_case(case, transposed, _convlab_out)


@requires_torch
@pytest.mark.parametrize("transposed", [False, True])
def test_output_shape_matches_torch_layers(transposed):
    for case in _nd_cases(transposed):
        _shape_case(case, transposed, _torch_out)


def test_output_shape_infers_ndim():
    assert shapes.conv_output_shape((20, 16, 50), 33, 3, stride=2).value == (20, 33, 24)        # batched 1d
    assert shapes.conv_output_shape((16, 50), 33, 3, stride=2).value == (33, 24)                # unbatched 1d
    assert shapes.conv_output_shape((16, 50, 100), 33, (3, 3)).value == (33, 48, 98)            # tuple -> 2d
    assert shapes.conv_output_shape((16, 50, 100), 33, 3, ndim=2).value == (33, 48, 98)
    assert shapes.conv_transpose_output_shape((16, 5, 5, 5), 4, 3, ndim=3).value == (4, 7, 7, 7)


# --------------------------------------------------------------------------- ConvTranspose vs real layers

GRID_T = list(itertools.product(range(1, 7), (1, 2, 3), (1, 2, 3), (0, 1, 2), (0, 1, 2), (1, 2)))


def test_conv_transpose_output_size_matches_convlab_layers():
    for size, k, s, p, op, dil in GRID_T:
        expected = _convlab_out(1, (1, size), True, kernel_size=k, stride=s, padding=p, output_padding=op,
                                dilation=dil)
        got = _shapes_or_none(shapes.conv_transpose_output_size, size, k, s, p, op, dil)
        assert (got.value if got is not None else None) == (expected[-1] if expected else None), \
            (size, k, s, p, op, dil)


@requires_torch
def test_conv_transpose_output_size_matches_torch_layers():
    for size, k, s, p, op, dil in GRID_T:
        expected = _torch_out(1, (1, 1, size), True, kernel_size=k, stride=s, padding=p, output_padding=op,
                              dilation=dil)
        got = _shapes_or_none(shapes.conv_transpose_output_size, size, k, s, p, op, dil)
        assert (got.value if got is not None else None) == (expected[-1] if expected else None), \
            (size, k, s, p, op, dil)


GRID_RANGE = list(itertools.product((1, 3, 6), (1, 2, 3), (1, 2, 3, 4), (0, 1, 2), (1, 2)))


def _accepted_output_sizes(layer_out, size, k, s, p, dil):
    """Brute force: every output_size the layer accepts, by trying them all."""
    ok = []
    for o in range(0, size * s + dil * k + 8):
        got = layer_out(1, (1, 1, size), True, kernel_size=k, stride=s, padding=p, dilation=dil, output_size=[o])
        if got is not None:
            assert got[-1] == o
            ok.append(o)
    return ok


def _check_range(layer_out):
    for size, k, s, p, dil in GRID_RANGE:
        accepted = _accepted_output_sizes(layer_out, size, k, s, p, dil)
        rng = _shapes_or_none(shapes.conv_transpose_output_range, size, k, s, p, dil)
        if not accepted:
            assert rng is None, (size, k, s, p, dil)
            continue
        assert rng is not None, (size, k, s, p, dil, accepted)
        assert rng.value == (accepted[0], accepted[-1]) and accepted == list(range(accepted[0], accepted[-1] + 1))
        for o in accepted:          # output_padding_for gives what the layer needs for each of them
            op = shapes.output_padding_for(size, o, k, s, p, dil)
            assert layer_out(1, (1, 1, size), True, kernel_size=k, stride=s, padding=p, dilation=dil,
                             output_padding=op.value)[-1] == o
        for o in (accepted[0] - 1, accepted[-1] + 1):
            with pytest.raises(ValueError, match=rf"output_size {o} is not in \[{accepted[0]}, {accepted[-1]}\] "
                                                 rf"for input {size}"):
                shapes.output_padding_for(size, o, k, s, p, dil)


def test_output_range_matches_convlab_output_size_brute_force():
    _check_range(_convlab_out)


@requires_torch
def test_output_range_matches_torch_output_size_brute_force():
    _check_range(_torch_out)


def test_output_range_and_padding_multi_axis():
    r = shapes.conv_transpose_output_range((12, 25), 3, stride=2, padding=1)
    assert r.value == ((23, 49), (24, 50)) and len(r.parts) == 2
    with pytest.raises(ValueError, match=r"output_size \(25, 50\) is not in \[\(23, 49\), \(24, 50\)\] "
                                         r"for input \(12, 25\)"):
        shapes.output_padding_for((12, 25), (25, 50), 3, stride=2, padding=1)
    op = shapes.output_padding_for((12, 25), (24, 49), 3, stride=2, padding=1)
    assert op.value == (1, 0)
    y = nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1, output_padding=op.value)(_zeros((1, 1, 12, 25)))
    assert y.shape[-2:] == (24, 49)


def test_input_sizes_for_output_brute_force():
    for out, k, s, p, dil in itertools.product((1, 2, 5), (1, 2, 3), (1, 2, 3), (0, 1, 3), (1, 2)):
        brute = tuple(n for n in range(1, 40)
                      if (r := _convlab_out(1, (1, n), kernel_size=k, stride=s, padding=p, dilation=dil))
                      and r[-1] == out)
        d = shapes.conv_input_sizes_for_output(out, k, s, p, dil)
        assert d.value == brute, (out, k, s, p, dil)
        assert str(out) in d.steps[0] and d.steps[-1].endswith(f"= {brute}")
        if s > 1 and brute:
            # the transposed layer's accepted output_size range is the same set (why output_padding exists)
            assert shapes.conv_transpose_output_range(out, k, s, p, dil).value[1] == brute[-1]


# --------------------------------------------------------------------------- Unfold / Fold

UNFOLD_GRID = list(itertools.product(((4, 5), (7, 3), (6, 6)), (1, 2, (2, 3)), (1, 2), (0, 1), (1, 2, (2, 1))))


def _unfold_convlab(size, k, dil, p, s):
    try:
        return nn.Unfold(k, dil, p, s)(_zeros((1, 2) + size)).shape[-1]
    except (ValueError, RuntimeError):
        return None


def _unfold_torch(size, k, dil, p, s):
    try:
        return torch.nn.Unfold(k, dil, p, s)(torch.zeros((1, 2) + size)).shape[-1]
    except (ValueError, RuntimeError):
        return None


@pytest.mark.parametrize("oracle", ["convlab", pytest.param("torch", marks=requires_torch)])
def test_unfold_block_count_matches_layers(oracle):
    unfold = _unfold_convlab if oracle == "convlab" else _unfold_torch
    for size, k, dil, p, s in UNFOLD_GRID:
        expected = unfold(size, k, dil, p, s)
        got = _shapes_or_none(shapes.unfold_block_count, size, k, dil, p, s)
        assert (got.value if got is not None else None) == expected, (size, k, dil, p, s)
        if got is not None:
            assert math.prod(part.value for part in got.parts) == expected and len(got.parts) == 2
            assert "·" in got.text and got.text.endswith(f"= {expected}")


def _fold_accepts(layer, size, k, dil, p, s, blocks):
    kk = (k, k) if isinstance(k, int) else k
    try:
        if layer == "convlab":
            nn.Fold(size, k, dil, p, s)(_zeros((1, kk[0] * kk[1], blocks)))
        else:
            torch.nn.Fold(size, k, dil, p, s)(torch.zeros((1, kk[0] * kk[1], blocks)))
    except (ValueError, RuntimeError):
        return False
    return True


@pytest.mark.parametrize("oracle", ["convlab", pytest.param("torch", marks=requires_torch)])
def test_fold_check_matches_layers(oracle):
    for size, k, dil, p, s in UNFOLD_GRID:
        try:
            shapes.unfold_block_count(size, k, dil, p, s)
        except ValueError:
            continue
        accepted = [b for b in range(0, 130) if _fold_accepts(oracle, size, k, dil, p, s, b)]
        assert len(accepted) == 1, (size, k, dil, p, s, accepted)
        for b in sorted(set(range(0, 130, 3)) | {accepted[0]}):
            d = shapes.fold_check(b, size, k, dil, p, s)
            assert d.value is (b == accepted[0]), (size, k, dil, p, s, b)
            assert str(b) in d.text and str(accepted[0]) in d.text and d.text.endswith(str(d.value))


# --------------------------------------------------------------------------- weights

WEIGHT_CASES = [(1, 16, 33, 3, 1), (1, 16, 24, 3, 2), (2, 6, 4, (3, 5), 2), (3, 4, 8, (1, 2, 3), 4),
                (2, 5, 7, 1, 1), (3, 9, 6, 2, 3)]


def _layer_weights(oracle, nd, c_in, c_out, k, groups, transposed, bias=True):
    if oracle == "convlab":
        m = NN[(nd, transposed)](c_in, c_out, k, groups=groups, bias=bias)
        return [np.asarray(p) for p in m.parameters()], np.asarray(m.weight)
    m = _torch_cls(nd, transposed)(c_in, c_out, k, groups=groups, bias=bias)
    return [p.detach().numpy() for p in m.parameters()], m.weight.detach().numpy()


@pytest.mark.parametrize("oracle", ["convlab", pytest.param("torch", marks=requires_torch)])
@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("nd,c_in,c_out,k,groups", WEIGHT_CASES)
def test_weight_shape_and_parameter_count_match_layers(oracle, transposed, nd, c_in, c_out, k, groups):
    for bias in (True, False):
        params, weight = _layer_weights(oracle, nd, c_in, c_out, k, groups, transposed, bias)
        ws = shapes.conv_weight_shape(c_in, c_out, k, groups, transposed, ndim=nd)
        assert ws.value == weight.shape
        pc = shapes.parameter_count(c_in, c_out, k, groups, bias, transposed, ndim=nd)
        assert pc.value == sum(p.size for p in params)
        assert str(c_in) in pc.text and str(c_out) in pc.text


@pytest.mark.parametrize("oracle", ["convlab", pytest.param("torch", marks=requires_torch)])
@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("nd,c_in,c_out,k,groups", [(1, 64, 16, 5, 1), (2, 48, 24, (3, 5), 3), (3, 8, 32, 3, 2)])
def test_init_bound_matches_sampled_weights(oracle, transposed, nd, c_in, c_out, k, groups):
    # thousands of uniform samples: the largest |w| sits just below the bound
    if oracle == "convlab":
        convlab.manual_seed(3)
    else:
        torch.manual_seed(3)
    params, weight = _layer_weights(oracle, nd, c_in, c_out, k, groups, transposed)
    b = shapes.init_bound(c_in, c_out, k, groups, transposed, ndim=nd).value
    assert weight.size > 2000
    top = float(np.abs(weight).max())
    assert 0.99 * b < top <= b * (1 + 1e-6), (top, b)
    assert all(float(np.abs(p).max()) <= b * (1 + 1e-6) for p in params)


# --------------------------------------------------------------------------- bad arguments

@pytest.mark.parametrize("call,exc,match", [
    (lambda: shapes.conv_output_size(50, 0), ValueError, r"kernel_size must be an integer >= 1, got kernel_size=0"),
    (lambda: shapes.conv_output_size(50, 3, stride=0), ValueError, r"stride must be an integer >= 1, got stride=0"),
    (lambda: shapes.conv_output_size(50, 3, dilation=-1), ValueError, r"dilation.*>= 1.*-1"),
    (lambda: shapes.conv_output_size(50, 3, padding=-2), ValueError, r"padding must be >= 0, got padding=-2"),
    (lambda: shapes.conv_output_size(2, 3, dilation=2), ValueError, r"kernel_size 3 .*spans 5 cells.* 2 .*>= 5"),
    (lambda: shapes.conv_output_size(50, 3, stride=2, padding="same"), ValueError, r"'same'.*stride 1.*stride=2"),
    (lambda: shapes.conv_output_size(50, 3, padding="full"), ValueError, r"'same' or 'valid'.*'full'"),
    (lambda: shapes.conv_output_size(50.0, 3), TypeError, r"must be an integer, got 50.0"),
    (lambda: shapes.conv_output_size(50, True), TypeError, r"kernel_size must be an integer"),
    (lambda: shapes.conv_output_shape((20, 16, 50), 33, 3, groups=3), ValueError,
     r"in_channels must be divisible by groups, got in_channels=16, groups=3"),
    (lambda: shapes.conv_output_shape((20, 16, 50), 33, 3, groups=2), ValueError,
     r"out_channels must be divisible by groups, got out_channels=33, groups=2"),
    (lambda: shapes.conv_output_shape((20, 16, 50), 33, (3, 3, 3)), ValueError, r"input_shape must have 4 .* or 5"),
    (lambda: shapes.conv_output_shape((20, 16, 50, 60), 33, (3, 3, 1), stride=(1, 2)), ValueError,
     r"stride must be an int or a tuple of 3 ints"),
    (lambda: shapes.conv_transpose_output_size(30, 3, stride=2, output_padding=2), ValueError,
     r"output_padding must be smaller than max\(stride, dilation\) = 2.*0 <= output_padding <= 1"),
    (lambda: shapes.conv_transpose_output_size(1, 1, padding=1), ValueError, r"would be -1.*must be >= 1"),
    (lambda: shapes.conv_transpose_output_shape((1, 16, 5), 33, 3, groups=2), ValueError,
     r"out_channels must be divisible by groups, got out_channels=33, groups=2"),
    (lambda: shapes.output_padding_for(6, 13, 3, stride=2, padding=1), ValueError,
     r"output_size 13 is not in \[11, 12\] for input 6"),
    (lambda: shapes.output_padding_for(6, (12,), 3), TypeError, r"both be ints or both be tuples"),
    (lambda: shapes.unfold_block_count((3, 3), 4), ValueError, r"kernel_size 4 .* larger than the padded input"),
    (lambda: shapes.fold_check(4, (2, 2), 3), ValueError, r"kernel_size 3 .* larger than the padded input"),
    (lambda: shapes.conv_weight_shape(16, 33, 3, groups=4), ValueError, r"out_channels=33, groups=4"),
    (lambda: shapes.conv_weight_shape(16, 32, 3, groups=0), ValueError, r"groups must be an integer >= 1"),
    (lambda: shapes.parameter_count(16, 33, 3, bias="yes"), TypeError, r"bias must be True or False"),
    (lambda: shapes.init_bound(15, 32, 3, groups=3, transposed=True), ValueError, r"out_channels=32, groups=3"),
    (lambda: shapes.conv_transpose_output_range(1, 1, stride=1, padding=2), ValueError,
     r"no output size is possible.*-3.*-3"),
    (lambda: shapes.same_padding(0), ValueError, r"kernel_size must be an integer >= 1, got kernel_size=0"),
    (lambda: shapes.conv_input_sizes_for_output(0, 3), ValueError, r"out_size must be an integer >= 1"),
])
def test_bad_arguments(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


@requires_torch
def test_bad_arguments_are_refused_by_torch_too():
    # the shapes module refuses exactly what the real layer refuses, for these cases
    assert _torch_out(1, (1, 16, 50), out_channels=33, kernel_size=3, groups=3) is None
    assert _torch_out(1, (1, 1, 30), True, kernel_size=3, stride=2, output_padding=2) is None
    assert _torch_out(1, (1, 1, 2), kernel_size=3, dilation=2) is None
    with pytest.raises(ValueError):
        torch.nn.Conv1d(1, 1, 3, stride=2, padding="same")
