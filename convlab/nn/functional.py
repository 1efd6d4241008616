"""Functional convolutions on NumPy arrays, with ``torch.nn.functional``'s signatures.

Every function computes what this data path computes (see ``convlab.ops``)::

    x = pad(input)                       # step 1 (only for non-zero padding modes)
    cols = im2col(x, kernel, ...)        # step 2, Cython
    out = grouped_matmul(w, cols)        # step 3, BLAS
    out = col2im(cols, ...)              # step 4, transposed conv and fold only

The convolutions run it fused (``convlab.ops.conv``): padding applied by index, columns
gathered and multiplied one small tile at a time, depthwise layers on their own kernels.

Inputs are float32 or float64 arrays of shape ``(N, C, *spatial)`` or unbatched
``(C, *spatial)``; the result has the input's dtype. The input is never modified.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _args
from .._args import (as_float_array, check_batched, check_extent, check_int, check_nonnegative, check_positive,
                     ntuple)
from ..errors import ShapeError
from ..ops import block_counts, col2im, im2col
from ..ops.conv import ConvPlan, conv_transpose_forward
from ..ops.pad import check_mode_padding
from ..ops import pad as _pad

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
           "unfold", "fold", "pad"]

pad = _pad


def _weight_and_bias(weight, bias, dtype, nd, opname):
    w = as_float_array(weight, "weight")
    if w.ndim != nd + 2:
        raise ShapeError(f"{opname}: weight must have {nd + 2} dimensions, got shape {w.shape}")
    w = w.astype(dtype, copy=False)
    if bias is not None:
        bias = as_float_array(bias, "bias").astype(dtype, copy=False)
    return w, bias


def _check_bias(bias, channels, opname):
    if bias is not None and bias.shape != (channels,):
        raise ShapeError(f"{opname}: bias must have shape ({channels},), got {bias.shape}")


def _check_spatial_nonempty(shape, size, opname):
    if any(s == 0 for s in size):
        raise ShapeError(f"{opname}: only an empty batch (N=0) or zero channels are supported, but got input of "
                         f"size {list(shape)} with an empty spatial dimension {tuple(size)}")


def _check_kernel_positive(w, kernel, opname):
    if any(k <= 0 for k in kernel):
        raise ShapeError(f"{opname}: kernel size must be positive, got weight of size {list(w.shape)}")


def _conv_padding(padding, kernel, dilation, stride, nd):
    """Return ``(left, right)`` zero padding per axis for an int, tuple, 'same' or 'valid'."""
    if isinstance(padding, str):
        if padding == "valid":
            zeros = (0,) * nd
            return zeros, zeros
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"padding='same' is not supported for strided convolutions (got stride={stride})")
            total = tuple(d * (k - 1) for d, k in zip(dilation, kernel))
            left = tuple(t // 2 for t in total)
            return left, tuple(t - l for t, l in zip(total, left))
        raise ValueError(f"Invalid padding string {padding!r}, should be one of {{'same', 'valid'}}")
    p = ntuple(padding, nd, "padding")
    check_nonnegative(p, "padding")
    return p, p


def _check_kernel_fits(size, left, right, kernel, dilation):
    padded = tuple(s + l + r for s, l, r in zip(size, left, right))
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if any(p < k for p, k in zip(padded, span)):
        raise ShapeError(
            f"Calculated padded input size per channel: {padded}. Kernel size: {span} "
            f"(kernel_size {kernel} with dilation {dilation}). Kernel size can't be greater than actual input size"
        )


def _conv_nd(input, weight, bias, stride, padding, dilation, groups, nd, padding_mode="zeros", cache=None, key=None):
    """The conv of every ``conv*d`` and ``Conv*d``; with ``cache``, the validated plan is kept under ``key``."""
    opname = f"conv{nd}d"
    x = as_float_array(input)
    xb, batched = check_batched(x, nd, opname)
    w, bias = _weight_and_bias(weight, bias, x.dtype, nd, opname)
    stride = ntuple(stride, nd, "stride")
    dilation = ntuple(dilation, nd, "dilation")
    check_positive(stride, "stride")
    check_positive(dilation, "dilation")
    groups = check_int(groups, "groups", minimum=1)
    c_out, c_in_g, *kernel = w.shape
    kernel = tuple(kernel)
    n, c_in, *size = xb.shape
    if c_in != c_in_g * groups:
        raise ShapeError(
            f"Given groups={groups}, weight of size {list(w.shape)}, expected input{list(x.shape)} to have "
            f"{c_in_g * groups} channels, but got {c_in} channels instead"
        )
    if c_out == 0:
        raise ShapeError(f"Given groups={groups}, expected weight to be at least 1 at dimension 0, "
                         f"but got weight of size {list(w.shape)} instead")
    if c_out % groups:
        raise ShapeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
                         f"but got weight of size {list(w.shape)} instead")
    _check_kernel_positive(w, kernel, opname)
    _check_spatial_nonempty(x.shape, size, opname)
    _check_bias(bias, c_out, opname)
    left, right = _conv_padding(padding, kernel, dilation, stride, nd)

    mode = _args.check_padding_mode(padding_mode)
    if mode != "zeros" and (any(left) or any(right)):       # step 1 happens by index inside the kernel,
        check_mode_padding(xb.shape, left, right, mode)     # with F.pad's limits (e.g. reflect < size)
    else:
        mode = "zeros"
    _check_kernel_fits(size, left, right, kernel, dilation)
    check_extent([s + l + r + st + d * k for s, l, r, st, d, k in zip(size, left, right, stride, dilation, kernel)],
                 f"{opname}: padded input plus stride and kernel span")
    blocks = block_counts(size, kernel, stride, left, dilation, right)

    length = math.prod(blocks)
    check_extent([length, n * c_out * length, c_in * math.prod(kernel) * length], f"{opname}: output")
    plan = ConvPlan(xb.shape, w.shape, x.dtype, kernel, stride, left, dilation, blocks, groups, mode)
    out = plan(xb, w, bias)                                 # steps 1-3, fused per tile
    if cache is not None:
        if len(cache) > 64:
            cache.clear()
        cache[key] = (plan, batched, (n, c_out, *blocks) if batched else (c_out, *blocks))
    out = out.reshape(n, c_out, *blocks)
    return out if batched else out[0]


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-d convolution (cross-correlation) over ``(N, C_in, L_in)``.

    Shape: weight ``(C_out, C_in/groups, kW)``, bias ``(C_out,)``, output ``(N, C_out, L_out)``,
    ``L_out = floor((L_in + 2*padding - dilation*(kW-1) - 1) / stride + 1)``.

    ``padding`` is an int, a 1-tuple, ``'valid'`` or ``'same'`` (stride 1 only).

    Examples
    --------
    >>> import numpy as np, convlab.nn.functional as F
    >>> F.conv1d(np.ones((20, 16, 50)), np.ones((33, 16, 3)), stride=2).shape
    (20, 33, 24)
    """
    return _conv_nd(input, weight, bias, stride, padding, dilation, groups, 1)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-d convolution over ``(N, C_in, H, W)``; see :func:`conv1d`, applied per spatial axis.

    Shape: weight ``(C_out, C_in/groups, kH, kW)``, output ``(N, C_out, H_out, W_out)``.

    Examples
    --------
    >>> import numpy as np, convlab.nn.functional as F
    >>> F.conv2d(np.ones((1, 16, 50, 100)), np.ones((33, 16, 3, 5)), stride=(2, 1), padding=(4, 2)).shape
    (1, 33, 28, 100)
    """
    return _conv_nd(input, weight, bias, stride, padding, dilation, groups, 2)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-d convolution over ``(N, C_in, D, H, W)``; see :func:`conv1d`, applied per spatial axis.

    Shape: weight ``(C_out, C_in/groups, kD, kH, kW)``, output ``(N, C_out, D_out, H_out, W_out)``.

    Examples
    --------
    >>> import numpy as np, convlab.nn.functional as F
    >>> F.conv3d(np.ones((1, 2, 10, 12, 14)), np.ones((4, 2, 3, 3, 3)), stride=2).shape
    (1, 4, 4, 5, 6)
    """
    return _conv_nd(input, weight, bias, stride, padding, dilation, groups, 3)


def transposed_output_size(size, kernel, stride, padding, output_padding, dilation):
    """``(S_in - 1)*stride - 2*padding + dilation*(k - 1) + output_padding + 1`` per axis."""
    return tuple((s - 1) * st - 2 * p + d * (k - 1) + op + 1
                 for s, k, st, p, op, d in zip(size, kernel, stride, padding, output_padding, dilation))


def _conv_transpose_nd(input, weight, bias, stride, padding, output_padding, groups, dilation, nd,
                       check_output_padding=True):
    opname = f"conv_transpose{nd}d"
    x = as_float_array(input)
    xb, batched = check_batched(x, nd, opname)
    w, bias = _weight_and_bias(weight, bias, x.dtype, nd, opname)
    stride = ntuple(stride, nd, "stride")
    dilation = ntuple(dilation, nd, "dilation")
    if isinstance(padding, str):
        raise ValueError(f"{opname} takes integer padding only, got padding={padding!r}")
    padding = ntuple(padding, nd, "padding")
    output_padding = ntuple(output_padding, nd, "output_padding")
    check_positive(stride, "stride")
    check_positive(dilation, "dilation")
    check_nonnegative(padding, "padding")
    check_nonnegative(output_padding, "output_padding")
    groups = check_int(groups, "groups", minimum=1)
    if check_output_padding and any(op >= max(s, d) for op, s, d in zip(output_padding, stride, dilation)):
        raise ValueError(
            f"output_padding must be smaller than either stride or dilation in every dimension, but got "
            f"output_padding={output_padding}, stride={stride}, dilation={dilation} (valid: 0 <= output_padding "
            f"< max(stride, dilation) = {tuple(max(st, d) for st, d in zip(stride, dilation))})"
        )
    c_in_w, c_out_g, *kernel = w.shape
    kernel = tuple(kernel)
    n, c_in, *size = xb.shape
    if c_in != c_in_w:
        raise ShapeError(
            f"Given transposed=1, weight of size {list(w.shape)}, expected input{list(x.shape)} to have "
            f"{c_in_w} channels, but got {c_in} channels instead"
        )
    if c_in == 0:
        raise ShapeError(f"Given groups={groups}, expected weight to be at least 1 at dimension 0, "
                         f"but got weight of size {list(w.shape)} instead")
    if c_in % groups:
        raise ShapeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
                         f"but got weight of size {list(w.shape)} instead")
    if c_out_g == 0:
        raise ShapeError(f"Given transposed=1, expected weight to be at least 1 at dimension 1 (out_channels/groups), "
                         f"but got weight of size {list(w.shape)} instead")
    _check_kernel_positive(w, kernel, opname)
    if n:                           # torch takes an empty batch whatever its spatial sizes
        _check_spatial_nonempty(x.shape, size, opname)
    c_out = c_out_g * groups
    _check_bias(bias, c_out, opname)
    out_size = transposed_output_size(size, kernel, stride, padding, output_padding, dilation)
    if any(o < 0 or (o == 0 and n) for o in out_size):     # an empty batch may have a size-0 output axis
        raise ShapeError(
            f"Given input size per channel: {tuple(size)}. Calculated output size per channel: {out_size}. "
            f"Output size is too small (padding={padding} removes more than the transposed conv produces)"
        )
    check_extent([o + s * st + p + d * k
                  for o, s, st, p, d, k in zip(out_size, size, stride, padding, dilation, kernel)],
                 f"{opname}: output size plus padding and kernel span")
    check_extent([n * c_out * math.prod(out_size), c_out * math.prod(kernel) * math.prod(size)], f"{opname}: output")
    out = conv_transpose_forward(xb, w, out_size, kernel, stride, padding, dilation, groups, bias)  # GEMM + col2im
    return out if batched else out[0]


def _transposed_doc(nd):
    return f"""{nd}-d transposed convolution ("deconvolution"), the adjoint of :func:`conv{nd}d`.

    Each input cell scatters ``weight[c_in]`` (scaled by its value) into the
    output at ``i*stride - padding + t*dilation``; overlaps are summed.

    Shape: input ``(N, C_in, *S_in)``, weight ``(C_in, C_out/groups, *k)``,
    output ``(N, C_out, *S_out)`` with
    ``S_out = (S_in - 1)*stride - 2*padding + dilation*(k - 1) + output_padding + 1``.
    ``output_padding`` must be smaller than ``max(stride, dilation)``.
    """


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _conv_transpose_nd(input, weight, bias, stride, padding, output_padding, groups, dilation, 1)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _conv_transpose_nd(input, weight, bias, stride, padding, output_padding, groups, dilation, 2)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _conv_transpose_nd(input, weight, bias, stride, padding, output_padding, groups, dilation, 3)


for _nd, _f in ((1, conv_transpose1d), (2, conv_transpose2d), (3, conv_transpose3d)):
    _f.__doc__ = _transposed_doc(_nd) + f"""
    Examples
    --------
    >>> import numpy as np, convlab.nn.functional as F
    >>> F.conv_transpose{_nd}d(np.ones((1, 2) + (5,) * {_nd}), np.ones((2, 3) + (3,) * {_nd}), stride=2).shape[2:]
    {(11,) * _nd}
    """


def _fold_args(kernel_size, dilation, padding, stride):
    kernel = ntuple(kernel_size, 2, "kernel_size")
    dilation = ntuple(dilation, 2, "dilation")
    padding = ntuple(padding, 2, "padding")
    stride = ntuple(stride, 2, "stride")
    check_positive(kernel, "kernel_size")
    check_positive(dilation, "dilation")
    check_positive(stride, "stride")
    check_nonnegative(padding, "padding")
    return kernel, dilation, padding, stride


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Extract sliding local blocks (im2col), as ``torch.nn.functional.unfold``.

    Shape: ``(N, C, H, W)`` or ``(C, H, W)`` -> ``(N, C * kH * kW, L)`` where
    ``L = prod_d floor((S_d + 2*padding_d - dilation_d*(k_d - 1) - 1) / stride_d + 1)``.

    Examples
    --------
    >>> import numpy as np, convlab.nn.functional as F
    >>> F.unfold(np.ones((2, 5, 3, 4)), kernel_size=(2, 3)).shape
    (2, 30, 4)
    """
    x = as_float_array(input)
    if x.ndim not in (3, 4):
        raise ShapeError(f"Input Error: Only 3D or 4D input arrays are supported (got {x.ndim}D, shape {x.shape})")
    xb = x if x.ndim == 4 else x[None]
    kernel, dilation, padding, stride = _fold_args(kernel_size, dilation, padding, stride)
    size = xb.shape[2:]
    _check_kernel_fits(size, padding, padding, kernel, dilation)
    check_extent([s + 2 * p + st + d * k for s, p, st, d, k in zip(size, padding, stride, dilation, kernel)],
                 "unfold: padded input plus stride and kernel span")
    blocks = block_counts(size, kernel, stride, padding, dilation)
    check_extent([math.prod(blocks), xb.shape[0] * xb.shape[1] * math.prod(kernel) * math.prod(blocks)],
                 "unfold: output")
    cols = im2col(xb, kernel, stride, padding, dilation, blocks)
    return cols if x.ndim == 4 else cols[0]


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Combine sliding blocks into an array, summing overlaps (col2im), as ``torch.nn.functional.fold``.

    Shape: ``(N, C * kH * kW, L)`` or ``(C * kH * kW, L)`` -> ``(N, C, *output_size)``;
    ``L`` must equal the block count of ``output_size`` (see :func:`unfold`).

    Examples
    --------
    >>> import numpy as np, convlab.nn.functional as F
    >>> F.fold(np.ones((1, 3 * 2 * 2, 12)), output_size=(4, 5), kernel_size=2).shape
    (1, 3, 4, 5)
    """
    x = as_float_array(input)
    if x.ndim not in (2, 3):
        raise ShapeError(f"Input Error: Only unbatched (2D) or batched (3D) input arrays are supported "
                         f"(got {x.ndim}D, shape {x.shape})")
    xb = x if x.ndim == 3 else x[None]
    output_size = ntuple(output_size, 2, "output_size")
    check_positive(output_size, "output_size")
    kernel, dilation, padding, stride = _fold_args(kernel_size, dilation, padding, stride)
    k = kernel[0] * kernel[1]
    if xb.shape[1] % k:
        raise ShapeError(
            f"Expected size of input's dimension 1 to be divisible by the product of kernel_size, "
            f"but got input.size(1)={xb.shape[1]} and kernel_size={kernel}"
        )
    blocks = block_counts(output_size, kernel, stride, padding, dilation)
    if any(b < 1 for b in blocks) or blocks[0] * blocks[1] != xb.shape[2]:
        raise ShapeError(
            f"Given output_size={output_size}, kernel_size={kernel}, dilation={dilation}, padding={padding}, "
            f"stride={stride}, expected size of input's dimension 2 to match the calculated number of sliding "
            f"blocks {blocks[0]} * {blocks[1]} = {blocks[0] * blocks[1]}, but got input.size(2)={xb.shape[2]}"
        )
    check_extent([o + p + b * st + d * k for o, p, b, st, d, k in zip(output_size, padding, blocks, stride, dilation,
                                                                     kernel)],
                 "fold: output size plus padding and kernel span")
    check_extent([xb.shape[0] * (xb.shape[1] // k) * math.prod(output_size)], "fold: output")
    out = col2im(xb, output_size, kernel, stride, padding, dilation, blocks)
    return out if x.ndim == 3 else out[0]
