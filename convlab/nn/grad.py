"""Gradients of convolutions, with ``torch.nn.grad``'s signatures.

* The gradient with respect to the input is a transposed convolution of
  ``grad_output`` (im2col's adjoint: GEMM, then col2im).
* The gradient with respect to the weight is ``grad_output @ unfold(input).T``,
  summed over the batch (im2col, then GEMM, fused tile by tile: the columns of
  a few output rows at a time, never a sample's whole column matrix).
"""
from __future__ import annotations

import math

import numpy as np

from .. import _args, geometry
from .._args import as_float_array, check_extent, check_kernel_fits, check_spatial_nonempty
from ..errors import ShapeError
from ..ops.conv import conv_weight_grad
from .functional import conv_transpose_nd

__all__ = ["conv1d_input", "conv2d_input", "conv3d_input", "conv1d_weight", "conv2d_weight", "conv3d_weight"]


def _sizes(size, nd, name):
    size = tuple(size)
    if len(size) != nd + 2:
        raise ShapeError(f"{name} must be the full shape (N, C, *spatial) with {nd + 2} entries, got {size}")
    if any(isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, np.integer)) or s < 0 for s in size):
        raise TypeError(f"{name} must contain non-negative ints, got {size}")
    return tuple(int(s) for s in size)


def _spec(kernel, stride, padding, dilation, groups, nd):
    """The validated spec (kernel_size from the weight), as the forward conv checks it."""
    return _args.conv_spec(nd, kernel, stride, padding, dilation, groups)


def _conv_input(input_size, weight, grad_output, stride, padding, dilation, groups, nd):
    input_size = _sizes(input_size, nd, "input_size")
    w = as_float_array(weight, "weight")
    g = as_float_array(grad_output, "grad_output")
    if g.ndim != nd + 2 or w.ndim != nd + 2:
        raise ShapeError(f"conv{nd}d_input: grad_output and weight need {nd + 2} dimensions, "
                         f"got {g.shape} and {w.shape}")
    if any(k <= 0 for k in w.shape[2:]):
        raise ShapeError(f"conv{nd}d_input: kernel size must be positive, got weight of size {list(w.shape)}")
    spec = _spec(w.shape[2:], stride, padding, dilation, groups, nd)
    kernel, stride, padding, dilation, groups = spec.kernel_size, spec.stride, spec.padding, spec.dilation, spec.groups
    if input_size[1] != w.shape[1] * groups:
        raise ShapeError(f"conv{nd}d_input: given groups={groups}, weight of size {list(w.shape)} expects an input "
                         f"with {w.shape[1] * groups} channels, but input_size {input_size} has {input_size[1]}")
    check_spatial_nonempty(input_size, input_size[2:], f"conv{nd}d_input")
    check_kernel_fits(input_size[2:], padding, padding, kernel, dilation)
    expected = geometry.block_counts(input_size[2:], kernel, stride, padding, dilation)
    if tuple(g.shape[2:]) != expected or g.shape[0] != input_size[0] or g.shape[1] != w.shape[0]:
        raise ShapeError(
            f"conv{nd}d_input: a conv of input {input_size} with weight {w.shape} gives output "
            f"{(input_size[0], w.shape[0]) + expected}, but grad_output has shape {g.shape}"
        )
    # output_padding recovers the input cells that the strided conv never reached.
    smallest = geometry.transposed_output_size(expected, kernel, stride, padding, (0,) * nd, dilation)
    output_padding = tuple(i - m for i, m in zip(input_size[2:], smallest))
    # A conv weight (C_out, C_in/g, *k) is exactly a transposed-conv weight of C_out -> C_in.
    return conv_transpose_nd(g, w, None, stride, padding, output_padding, groups, dilation, nd,
                              check_output_padding=False)


def _conv_weight(input, weight_size, grad_output, stride, padding, dilation, groups, nd):
    weight_size = _sizes(weight_size, nd, "weight_size")
    x = as_float_array(input)
    g = as_float_array(grad_output, "grad_output").astype(x.dtype, copy=False)
    if x.ndim != nd + 2 or g.ndim != nd + 2:
        raise ShapeError(f"conv{nd}d_weight: input and grad_output need {nd + 2} dimensions, "
                         f"got {x.shape} and {g.shape}")
    c_out, c_in_g, *kernel = weight_size
    kernel = tuple(kernel)
    n, c_in, *size = x.shape
    if c_out == 0 or any(k <= 0 for k in kernel):
        raise ShapeError(f"conv{nd}d_weight: weight_size {weight_size} must have positive out_channels and "
                         f"kernel sizes")
    spec = _spec(kernel, stride, padding, dilation, groups, nd)
    stride, padding, dilation, groups = spec.stride, spec.padding, spec.dilation, spec.groups
    if c_in != c_in_g * groups or c_out % groups:
        raise ShapeError(f"conv{nd}d_weight: weight_size {weight_size} with groups={groups} does not fit "
                         f"an input with {c_in} channels")
    check_spatial_nonempty(x.shape, size, f"conv{nd}d_weight")
    check_kernel_fits(size, padding, padding, kernel, dilation)
    check_extent([s + 2 * p + st + d * k for s, p, st, d, k in zip(size, padding, stride, dilation, kernel)],
                 f"conv{nd}d_weight: padded input plus stride and kernel span")
    blocks = geometry.block_counts(size, kernel, stride, padding, dilation)
    check_extent([c_in * math.prod(kernel) * math.prod(blocks)], f"conv{nd}d_weight: columns")
    if g.shape != (n, c_out, *blocks):
        raise ShapeError(f"conv{nd}d_weight: a conv of input {x.shape} with weight {weight_size} gives output "
                         f"{(n, c_out, *blocks)}, but grad_output has shape {g.shape}")
    # im2col fused with the GEMM per tile of output rows (one small workspace per thread)
    gw = conv_weight_grad(x, g, kernel, stride, padding, dilation, blocks, groups)
    return gw.reshape(weight_size)


def conv1d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
    return _conv_input(input_size, weight, grad_output, stride, padding, dilation, groups, 1)


def conv2d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
    return _conv_input(input_size, weight, grad_output, stride, padding, dilation, groups, 2)


def conv3d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
    return _conv_input(input_size, weight, grad_output, stride, padding, dilation, groups, 3)


def conv1d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):
    return _conv_weight(input, weight_size, grad_output, stride, padding, dilation, groups, 1)


def conv2d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):
    return _conv_weight(input, weight_size, grad_output, stride, padding, dilation, groups, 2)


def conv3d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):
    return _conv_weight(input, weight_size, grad_output, stride, padding, dilation, groups, 3)


_GRAD_DOC = """Gradient of :func:`conv{nd}d` with respect to its {wrt}, shape ``{size}``.

    {how}

    Shape
    -----
    {first}; grad_output ``(N, C_out, *out)`` with ``out`` the conv's output size; result ``{size}``.

    Examples
    --------
    >>> import numpy as np
    >>> from convlab.nn.grad import conv{nd}d_{wrt}
    >>> conv{nd}d_{wrt}({a}, {b}, np.ones((1, 4) + (2,) * {nd}), stride=2).shape
    {result}
    """

for _nd, _sp, _k in ((1, "L", "kW"), (2, "H, W", "kH, kW"), (3, "D, H, W", "kD, kH, kW")):
    conv_input_doc = dict(
        wrt="input", size="input_size", a=f"(1, 3) + (5,) * {_nd}", b=f"np.ones((4, 3) + (3,) * {_nd})",
        result=(1, 3) + (5,) * _nd,
        how="A transposed convolution of ``grad_output`` (GEMM, then col2im), with the ``output_padding``\n    "
            "that gives back exactly ``input_size``.",
        first=f"input_size ``(N, C_in, {_sp})``; weight ``(C_out, C_in/groups, {_k})``")
    conv_weight_doc = dict(
        wrt="weight", size="weight_size", a=f"np.ones((1, 3) + (5,) * {_nd})", b=f"(4, 3) + (3,) * {_nd}",
        result=(4, 3) + (3,) * _nd,
        how="``grad_output @ unfold(input).T`` per group, summed over the batch (im2col, then GEMM).",
        first=f"input ``(N, C_in, {_sp})``; weight_size ``(C_out, C_in/groups, {_k})``")
    for _fields in (conv_input_doc, conv_weight_doc):
        globals()[f"conv{_nd}d_{_fields['wrt']}"].__doc__ = _GRAD_DOC.format(nd=_nd, **_fields)
