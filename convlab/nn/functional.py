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

from .. import _args, geometry
from .._args import as_float_array, check_batched, check_conv_weight, check_extent, conv_spec, ntuple
from ..errors import ShapeError
from ..ops import col2im, im2col
from ..ops.conv import ConvPlan, TransposePlan, planner_settings
from ..ops.step1_pad import check_mode_padding
from ..ops import pad as _pad
from .module import Parameter, UninitializedParameter

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
           "unfold", "fold", "pad"]

pad = _pad


def _input_and_weight(input, weight, bias, nd, opname):
    for value in (input, weight, bias):
        if isinstance(value, UninitializedParameter):   # (torch's error, raised before it looks at anything else)
            raise ValueError(f"Attempted to use an uninitialized parameter in {opname}: a Lazy module's weight has "
                             f"no shape until the module's first call (call the module on an input first)")
    x = as_float_array(input)
    xb, batched = check_batched(x, nd, opname)
    w = as_float_array(weight, "weight").astype(x.dtype, copy=False)
    if bias is not None:
        bias = as_float_array(bias, "bias").astype(x.dtype, copy=False)
    return x, xb, batched, w, bias


def conv_nd(input, weight, bias, stride, padding, dilation, groups, nd, padding_mode="zeros", plans=None, key=None):
    """The convolution behind every ``conv*d`` and ``Conv*d`` (not in ``__all__``: torch has no such name).

    Validates in torch's terms (:func:`convlab._args.conv_spec`), then runs steps 1-3 fused
    (:class:`convlab.ops.conv.ConvPlan`); with ``plans``, the validated plan is kept under ``key``.
    """
    opname = f"conv{nd}d"
    x, xb, batched, w, bias = _input_and_weight(input, weight, bias, nd, opname)
    check_conv_weight(w.shape, None, nd, _args.check_groups(groups), False, opname)
    spec = conv_spec(nd, w.shape[2:], stride, padding, dilation, groups, padding_mode)
    c_out, c_in_g, *kernel = w.shape
    kernel, groups = spec.kernel_size, spec.groups
    n, c_in, *size = xb.shape
    if c_in != c_in_g * groups:
        raise ShapeError(
            f"Given groups={groups}, weight of size {list(w.shape)}, expected input{list(x.shape)} to have "
            f"{c_in_g * groups} channels, but got {c_in} channels instead"
        )
    check_conv_weight(w.shape, None if bias is None else bias.shape, nd, groups, False, opname)
    _args.check_spatial_nonempty(x.shape, size, opname)
    left, right, stride, dilation = spec.padding, spec.padding_right, spec.stride, spec.dilation
    mode = spec.padding_mode
    if mode != "zeros" and (any(left) or any(right)):       # step 1 happens by index inside the kernel,
        check_mode_padding(xb.shape, left, right, mode)     # with F.pad's limits (e.g. reflect < size)
    else:
        mode = "zeros"
    _args.check_kernel_fits(size, left, right, kernel, dilation)
    check_extent([s + l + r + st + d * k for s, l, r, st, d, k in zip(size, left, right, stride, dilation, kernel)],
                 f"{opname}: padded input plus stride and kernel span")
    blocks = geometry.block_counts(size, kernel, stride, left, dilation, right)

    length = math.prod(blocks)
    check_extent([length, n * c_out * length, c_in * math.prod(kernel) * length], f"{opname}: output")
    plan = ConvPlan(xb.shape, w.shape, x.dtype, kernel, stride, left, dilation, blocks, groups, mode)
    out = plan(xb, w, bias)                                 # steps 1-3, fused per tile
    shape = (n, c_out, *blocks) if batched else (c_out, *blocks)
    if plans is not None:
        if len(plans) > 64:
            plans.clear()
        plans[key] = (plan, plan.runner(shape), shape)
    return out.reshape(shape)


_PLANS = {}                     # key -> (plan, runner, output shape, the arguments it was made from): the
                                # functional calls' validated plans (see _conv and _cache_call)
_PLAN_CACHE_SIZE = 64


def _plain(value):
    """An argument that may key the plan cache: an int, a str or a tuple of ints (bools, NumPy integers and
    lists take the validating path every time, so they meet torch's errors and conversions there)."""
    t = type(value)
    return t is int or t is str or (t is tuple and _INT.issuperset(map(type, value)))


_INT = frozenset((int,))
_ARRAYS = frozenset((np.ndarray, Parameter))   # the types a cached call takes as they are: plain ndarrays and a
                                                # module's parameters (F.conv2d(x, self.weight, self.bias) in a
                                                # module's forward: with ndarrays only, that call planned again
                                                # every time, 85 us of a 0.77 ms ResNet-18 1x1 s2 layer)


def _arrays(input, weight, bias):
    """Whether the arrays of a call may key the plan cache (see :data:`_ARRAYS`)."""
    return type(input) in _ARRAYS and type(weight) in _ARRAYS and (bias is None or type(bias) in _ARRAYS)


def _cache_call(key, args, call):
    """Run ``call(plans)`` (a validating call that stores its plan under ``key``) and keep ``args`` with the plan.

    A later call finds the plan by its key and runs it if its arguments are those objects (a module's tuples, a
    constant in the caller's code: compared by identity) or :func:`_plain`: equal keys are not enough, as
    ``(True, 1) == (1, 1)`` and ``1.0 == 1`` while torch refuses bools and floats."""
    if len(_PLANS) >= _PLAN_CACHE_SIZE:
        _PLANS.clear()
    out = call(_PLANS)
    hit = _PLANS.get(key)
    if hit is not None:
        _PLANS[key] = hit[:3] + (args,)
    return out


def _cacheable(input, weight, bias, args):
    """Whether a validated call may be cached: ndarrays of one float dtype, plain (int, str, int tuple)
    arguments."""
    dtype = input.dtype
    return dtype == weight.dtype and dtype.char in "fd" and (bias is None or bias.dtype == dtype) \
        and all(_plain(a) for a in args)


def _conv(input, weight, bias, stride, padding, dilation, groups, nd):
    """``conv{nd}d``: a repeated call (same shapes, dtypes, arguments, thresholds and thread count) runs the
    plan the first call validated and made, as a module's call does; any other call goes through
    :func:`conv_nd` and is validated in full."""
    if _arrays(input, weight, bias):
        key = (nd, input.shape, input.dtype, weight.shape, weight.dtype, None if bias is None else bias.shape,
               None if bias is None else bias.dtype, stride, padding, dilation, groups, planner_settings())
        try:
            hit = _PLANS.get(key)
        except TypeError:                   # an unhashable argument (a list): validated in full below
            hit = key = None
        if hit is not None:
            s0, p0, d0, _ = hit[3]
            if (stride is s0 or _plain(stride)) and (padding is p0 or _plain(padding)) \
                    and (dilation is d0 or _plain(dilation)) and type(groups) is int:
                return hit[1](input, weight, bias)
        args = (stride, padding, dilation, groups)
        if key is not None and type(groups) is int and _cacheable(input, weight, bias, args):
            return _cache_call(key, args, lambda plans: conv_nd(input, weight, bias, stride, padding, dilation,
                                                                groups, nd, plans=plans, key=key))
    return conv_nd(input, weight, bias, stride, padding, dilation, groups, nd)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-d convolution (cross-correlation) over ``(N, C_in, L_in)``.

    Shape
    -----
    weight ``(C_out, C_in/groups, kW)``, bias ``(C_out,)``, output ``(N, C_out, L_out)``,
    ``L_out = floor((L_in + 2*padding - dilation*(kW-1) - 1) / stride + 1)``.

    ``padding`` is an int, a 1-tuple, ``'valid'`` or ``'same'`` (stride 1 only).

    Examples
    --------
    >>> import numpy as np, convlab.nn.functional as F
    >>> F.conv1d(np.ones((20, 16, 50)), np.ones((33, 16, 3)), stride=2).shape
    (20, 33, 24)
    """
    return _conv(input, weight, bias, stride, padding, dilation, groups, 1)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-d convolution over ``(N, C_in, H, W)``; see :func:`conv1d`, applied per spatial axis.

    Shape
    -----
    weight ``(C_out, C_in/groups, kH, kW)``, output ``(N, C_out, H_out, W_out)``.

    Examples
    --------
    >>> import numpy as np, convlab.nn.functional as F
    >>> F.conv2d(np.ones((1, 16, 50, 100)), np.ones((33, 16, 3, 5)), stride=(2, 1), padding=(4, 2)).shape
    (1, 33, 28, 100)
    """
    return _conv(input, weight, bias, stride, padding, dilation, groups, 2)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-d convolution over ``(N, C_in, D, H, W)``; see :func:`conv1d`, applied per spatial axis.

    Shape
    -----
    weight ``(C_out, C_in/groups, kD, kH, kW)``, output ``(N, C_out, D_out, H_out, W_out)``.

    Examples
    --------
    >>> import numpy as np, convlab.nn.functional as F
    >>> F.conv3d(np.ones((1, 2, 10, 12, 14)), np.ones((4, 2, 3, 3, 3)), stride=2).shape
    (1, 4, 4, 5, 6)
    """
    return _conv(input, weight, bias, stride, padding, dilation, groups, 3)


def conv_transpose_nd(input, weight, bias, stride, padding, output_padding, groups, dilation, nd,
                      check_output_padding=True, plans=None, key=None):
    """The transposed convolution behind every ``conv_transpose*d``, ``ConvTranspose*d`` and
    ``grad.conv*d_input`` (which passes ``check_output_padding=False``: its output_padding
    restores input cells a strided conv skipped, and may reach the stride). With ``plans``, the validated
    plan (:class:`convlab.ops.conv.TransposePlan`) is kept under ``key``, as :func:`conv_nd` does."""
    opname = f"conv_transpose{nd}d"
    x, xb, batched, w, bias = _input_and_weight(input, weight, bias, nd, opname)
    groups = _args.check_groups(groups)
    check_conv_weight(w.shape, None, nd, groups, True, opname)
    spec = conv_spec(nd, w.shape[2:], stride, padding, dilation, groups, transposed=True,
                     output_padding=output_padding if check_output_padding else 0)
    kernel, stride, padding, dilation = spec.kernel_size, spec.stride, spec.padding, spec.dilation
    if check_output_padding:
        output_padding = spec.output_padding
    else:
        output_padding = ntuple(output_padding, nd, "output_padding")
    n, c_in, *size = xb.shape
    if c_in != w.shape[0]:
        raise ShapeError(
            f"Given transposed=1, weight of size {list(w.shape)}, expected input{list(x.shape)} to have "
            f"{w.shape[0]} channels, but got {c_in} channels instead"
        )
    check_conv_weight(w.shape, None if bias is None else bias.shape, nd, groups, True, opname)
    if n:                           # torch takes an empty batch whatever its spatial sizes
        _args.check_spatial_nonempty(x.shape, size, opname)
    c_out = w.shape[1] * groups
    out_size = geometry.transposed_output_size(size, kernel, stride, padding, output_padding, dilation)
    if any(o < 0 or (o == 0 and n) for o in out_size):     # an empty batch may have a size-0 output axis
        raise ShapeError(
            f"Given input size per channel: {tuple(size)}. Calculated output size per channel: {out_size}. "
            f"Output size is too small (padding={padding} removes more than the transposed conv produces)"
        )
    check_extent([o + s * st + p + d * k
                  for o, s, st, p, d, k in zip(out_size, size, stride, padding, dilation, kernel)],
                 f"{opname}: output size plus padding and kernel span")
    check_extent([n * c_out * math.prod(out_size), c_out * math.prod(kernel) * math.prod(size)], f"{opname}: output")
    plan = TransposePlan(xb.shape, w.shape, x.dtype, out_size, kernel, stride, padding, dilation, groups)
    out = plan(xb, w, bias)                                 # GEMM + col2im (or a direct scatter when tiny)
    shape = (n, c_out, *out_size) if batched else (c_out, *out_size)
    if plans is not None:
        if len(plans) > 64:
            plans.clear()
        plans[key] = (plan, plan.runner(shape), shape)
    return out.reshape(shape)


def _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, nd):
    """``conv_transpose{nd}d``, with the plan cache of :func:`_conv` (the same conditions and key)."""
    if _arrays(input, weight, bias):
        key = ("transposed", nd, input.shape, input.dtype, weight.shape, weight.dtype,
               None if bias is None else bias.shape, None if bias is None else bias.dtype,
               stride, padding, output_padding, dilation, groups, planner_settings())
        try:
            hit = _PLANS.get(key)
        except TypeError:                   # an unhashable argument (a list): validated in full below
            hit = key = None
        if hit is not None:
            s0, p0, o0, d0, _ = hit[3]
            if (stride is s0 or _plain(stride)) and (padding is p0 or _plain(padding)) \
                    and (output_padding is o0 or _plain(output_padding)) and (dilation is d0 or _plain(dilation)) \
                    and type(groups) is int:
                return hit[1](input, weight, bias)
        args = (stride, padding, output_padding, dilation, groups)
        if key is not None and type(groups) is int and _cacheable(input, weight, bias, args):
            return _cache_call(key, args, lambda plans: conv_transpose_nd(
                input, weight, bias, stride, padding, output_padding, groups, dilation, nd, plans=plans, key=key))
    return conv_transpose_nd(input, weight, bias, stride, padding, output_padding, groups, dilation, nd)


def _transposed_doc(nd):
    return f"""{nd}-d transposed convolution ("deconvolution"), the adjoint of :func:`conv{nd}d`.

    Each input cell scatters ``weight[c_in]`` (scaled by its value) into the
    output at ``i*stride - padding + t*dilation``; overlaps are summed.

    Shape
    -----
    input ``(N, C_in, *S_in)``, weight ``(C_in, C_out/groups, *k)``,
    output ``(N, C_out, *S_out)`` with
    ``S_out = (S_in - 1)*stride - 2*padding + dilation*(k - 1) + output_padding + 1``.
    ``output_padding`` must be smaller than ``max(stride, dilation)``.
    """


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 1)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 2)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 3)


for _nd, _f in ((1, conv_transpose1d), (2, conv_transpose2d), (3, conv_transpose3d)):
    _f.__doc__ = _transposed_doc(_nd) + f"""
    Examples
    --------
    >>> import numpy as np, convlab.nn.functional as F
    >>> F.conv_transpose{_nd}d(np.ones((1, 2) + (5,) * {_nd}), np.ones((2, 3) + (3,) * {_nd}), stride=2).shape[2:]
    {(11,) * _nd}
    """


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Extract sliding local blocks (im2col), as ``torch.nn.functional.unfold``.

    Shape
    -----
    ``(N, C, H, W)`` or ``(C, H, W)`` -> ``(N, C * kH * kW, L)`` where
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
    spec = _args.fold_spec(kernel_size, dilation, padding, stride)
    kernel, dilation, padding, stride = spec.kernel_size, spec.dilation, spec.padding, spec.stride
    size = xb.shape[2:]
    _args.check_kernel_fits(size, padding, padding, kernel, dilation)
    check_extent([s + 2 * p + st + d * k for s, p, st, d, k in zip(size, padding, stride, dilation, kernel)],
                 "unfold: padded input plus stride and kernel span")
    blocks = geometry.block_counts(size, kernel, stride, padding, dilation)
    check_extent([math.prod(blocks), xb.shape[0] * xb.shape[1] * math.prod(kernel) * math.prod(blocks)],
                 "unfold: output")
    cols = im2col(xb, kernel, stride, padding, dilation, blocks)
    return cols if x.ndim == 4 else cols[0]


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Combine sliding blocks into an array, summing overlaps (col2im), as ``torch.nn.functional.fold``.

    Shape
    -----
    ``(N, C * kH * kW, L)`` or ``(C * kH * kW, L)`` -> ``(N, C, *output_size)``;
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
    _args.check_positive(output_size, "output_size")
    spec = _args.fold_spec(kernel_size, dilation, padding, stride)
    kernel, dilation, padding, stride = spec.kernel_size, spec.dilation, spec.padding, spec.stride
    k = kernel[0] * kernel[1]
    if xb.shape[1] % k:
        raise ShapeError(
            f"Expected size of input's dimension 1 to be divisible by the product of kernel_size, "
            f"but got input.size(1)={xb.shape[1]} and kernel_size={kernel}"
        )
    blocks = geometry.block_counts(output_size, kernel, stride, padding, dilation)
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
