"""The validation core: argument normalisation and checks shared by the modules, functional and grad.

Everything here runs in Python before a kernel is called: the kernels are
compiled without bounds checks and trust what they get. :func:`conv_spec` turns
a convolution's arguments into a :class:`ConvSpec` (normalised tuples, padding
split, groups, mode) or raises what torch raises when the operation runs;
:func:`layer_weight_shape` makes the checks torch makes when a layer is built.
"""
from __future__ import annotations

import numbers
import operator
from dataclasses import dataclass

import numpy as np

from . import geometry
from .errors import ArgumentError, ShapeError

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def torch_tuple(value, n: int) -> tuple:
    """What torch's ``_single/_pair/_triple`` store: an iterable as it is, anything else repeated ``n`` times.

    No check at all (torch checks these values when the layer runs); see :func:`ntuple` for that.
    """
    try:
        return tuple(value)
    except TypeError:
        return (value,) * n


def ntuple(value, n: int, name: str) -> tuple[int, ...]:
    """``3 -> (3, 3)``, ``(3, 5) -> (3, 5)``, checked: integers (TypeError), then ``n`` of them.

    A tuple of the wrong length is an :class:`ArgumentError` (a RuntimeError, as torch raises it).
    """
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be an int or a tuple of {n} ints, got {value!r}")
    items = torch_tuple(value, n)
    out = []
    for v in items:
        if isinstance(v, (bool, np.bool_)):
            raise TypeError(f"{name} must contain integers, got the bool {v!r} in {name}={value!r}")
        if not isinstance(v, (numbers.Integral, np.integer)):
            try:
                v = operator.index(v)
            except TypeError:
                raise TypeError(f"{name} must contain integers, got {name}={value!r}") from None
        out.append(int(v))
    if len(out) == 1 and n > 1:
        out = out * n
    if len(out) != n:
        raise ArgumentError(f"{name} must be an int or a tuple of {n} ints, got {name}={value!r} "
                            f"({len(out)} values)")
    return tuple(out)


def check_positive(values: tuple[int, ...], name: str) -> None:
    if any(v <= 0 for v in values):
        raise ArgumentError(f"{name} must be positive in every dimension, got {name}={values}")


def check_nonnegative(values: tuple[int, ...], name: str) -> None:
    if any(v < 0 for v in values):
        raise ArgumentError(f"{name} must be non-negative in every dimension, got {name}={values}")


def check_int(value, name: str, minimum: int | None = None) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an int, got {value!r} of type {type(value).__name__}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ArgumentError(f"{name} must be >= {minimum}, got {name}={value}")
    return value


def as_float_array(x, name: str = "input") -> np.ndarray:
    """Return ``x`` as a float32/float64 ndarray without copying when possible.

    Integer, bool, complex and half-precision inputs are a TypeError saying how
    to cast: convlab computes in float32 or float64 only, like torch on CPU.
    """
    if not isinstance(x, np.ndarray):
        x = np.asarray(x)
    if x.dtype not in FLOAT_DTYPES:
        raise TypeError(
            f"{name} must be a float32 or float64 array, got dtype {x.dtype}; "
            f"cast it first, e.g. {name}.astype(np.float32)"
        )
    return x


def resolve_dtype(dtype) -> np.dtype:
    """``None`` -> float32; accepts NumPy dtypes, their names, and torch dtypes by name."""
    if dtype is None:
        return np.dtype(np.float32)
    name = str(dtype)
    try:
        dt = np.dtype(name[len("torch."):]) if name.startswith("torch.") else np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r}") from None
    if dt not in FLOAT_DTYPES:
        raise TypeError(f"dtype must be float32 or float64, got {dt}")
    return dt


def check_batched(x: np.ndarray, nd: int, opname: str) -> tuple[np.ndarray, bool]:
    """Accept ``(N, C, *spatial)`` or unbatched ``(C, *spatial)``; return the batched view and a flag."""
    if x.ndim == nd + 2:
        return x, True
    if x.ndim == nd + 1:
        return x[None], False
    raise ShapeError(
        f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {opname}, "
        f"but got input of size: {list(x.shape)}"
    )


# The kernels index with C ``Py_ssize_t``: every ``o*stride - padding + t*dilation`` they
# compute, and every element count, must stay far below 2**63.
MAX_EXTENT = 2**62


def check_extent(extent, what: str) -> None:
    """Refuse geometry whose index arithmetic or element count could overflow 64-bit integers.

    ``extent`` is a per-axis bound on the indices a kernel computes (or a list of
    element counts); Python ints, so the check itself cannot overflow.
    """
    if any(int(e) >= MAX_EXTENT for e in extent):
        raise ValueError(f"{what} is too large: {tuple(int(e) for e in extent)} exceeds the supported "
                         f"limit of 2**62 per axis (check padding, stride, dilation and kernel_size)")


def check_padding_mode(mode: str) -> str:
    if mode not in PADDING_MODES:
        raise ValueError(f"padding_mode must be one of {set(PADDING_MODES)}, but got padding_mode={mode!r}")
    return mode


# -- the convolution spec: what an operation runs with ------------------------------------------------
@dataclass(frozen=True)
class ConvSpec:
    """A convolution's validated arguments: per-axis int tuples, the padding split, groups and mode.

    ``padding`` is the padding before each axis and ``padding_right`` after it (they differ
    for ``'same'`` with an even effective kernel); ``output_padding`` is zeros unless transposed.
    """
    nd: int
    kernel_size: tuple
    stride: tuple
    padding: tuple
    padding_right: tuple
    dilation: tuple
    groups: int
    padding_mode: str = "zeros"
    output_padding: tuple = ()
    transposed: bool = False


def check_groups(groups) -> int:
    """``groups`` as an int >= 1 (TypeError for a non-integer, ArgumentError for zero or less)."""
    return check_int(groups, "groups", minimum=1)


def conv_spec(nd, kernel_size, stride, padding, dilation, groups, padding_mode="zeros", transposed=False,
              output_padding=0) -> ConvSpec:
    """Validate a convolution's arguments as the operation does when it runs (torch's checks, torch's
    exception classes, convlab's messages naming the values and the valid range)."""
    kernel = ntuple(kernel_size, nd, "kernel_size")
    if any(k <= 0 for k in kernel):
        raise ShapeError(f"kernel size must be positive in every dimension, got kernel_size={kernel}")
    stride = ntuple(stride, nd, "stride")
    check_positive(stride, "stride")
    dilation = ntuple(dilation, nd, "dilation")
    check_positive(dilation, "dilation")
    groups = check_groups(groups)
    check_padding_mode(padding_mode)
    if transposed and padding_mode != "zeros":
        raise ArgumentError(f'Only "zeros" padding mode is supported for transposed convolutions, '
                            f'got padding_mode={padding_mode!r}')
    if isinstance(padding, str) and transposed:
        raise TypeError(f"a transposed convolution takes integer padding only, got padding={padding!r}")
    if isinstance(padding, str):
        if padding == "valid":
            left = right = (0,) * nd
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise ArgumentError(f"padding='same' is not supported for strided convolutions "
                                    f"(got stride={stride}; valid: stride 1 in every dimension)")
            left, right = geometry.same_padding(kernel, dilation)
        else:
            raise ArgumentError(f"Invalid padding string {padding!r}, should be one of {{'same', 'valid'}}")
    else:
        left = right = ntuple(padding, nd, "padding")
        check_nonnegative(left, "padding")
    out_pad = (0,) * nd
    if transposed:
        out_pad = ntuple(output_padding, nd, "output_padding")
        check_nonnegative(out_pad, "output_padding")
        bound = geometry.output_padding_bound(stride, dilation)
        if any(op >= b for op, b in zip(out_pad, bound)):
            raise ArgumentError(
                f"output_padding must be smaller than either stride or dilation in every dimension, but got "
                f"output_padding={out_pad}, stride={stride}, dilation={dilation} (valid: 0 <= output_padding "
                f"< max(stride, dilation) = {bound})")
    return ConvSpec(nd, kernel, stride, left, right, dilation, groups, padding_mode, out_pad, transposed)


def check_conv_weight(w_shape, b_shape, nd, groups, transposed, opname) -> None:
    """A weight (and bias) shape an ``nd``-d convolution can run with, as torch checks them at the call."""
    w_shape = tuple(w_shape)
    if len(w_shape) != nd + 2:
        raise ShapeError(f"{opname}: weight must have {nd + 2} dimensions, got shape {w_shape}")
    if any(k <= 0 for k in w_shape[2:]):
        raise ShapeError(f"{opname}: kernel size must be positive, got weight of size {list(w_shape)}")
    # dimension 0 is C_out (Conv) or C_in (ConvTranspose): torch checks it the same way for both
    if w_shape[0] == 0:
        raise ShapeError(f"Given groups={groups}, expected weight to be at least 1 at dimension 0, "
                         f"but got weight of size {list(w_shape)} instead")
    if w_shape[0] % groups:
        raise ShapeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
                         f"but got weight of size {list(w_shape)} instead")
    if transposed and w_shape[1] == 0:
        raise ShapeError(f"Given transposed=1, expected weight to be at least 1 at dimension 1 "
                         f"(out_channels/groups), but got weight of size {list(w_shape)} instead")
    c_out = w_shape[1] * groups if transposed else w_shape[0]
    if b_shape is not None and tuple(b_shape) != (c_out,):
        raise ShapeError(f"{opname}: bias must have shape ({c_out},), got {tuple(b_shape)}")


def check_spatial_nonempty(shape, size, opname) -> None:
    if any(s == 0 for s in size):
        raise ShapeError(f"{opname}: only an empty batch (N=0) or zero channels are supported, but got input of "
                         f"size {list(shape)} with an empty spatial dimension {tuple(size)}")


def check_kernel_fits(size, left, right, kernel, dilation) -> None:
    """The dilated kernel must fit in the padded input (torch's message, with the numbers)."""
    padded = tuple(s + l + r for s, l, r in zip(size, left, right))
    span = geometry.kernel_span(kernel, dilation)
    if any(p < k for p, k in zip(padded, span)):
        raise ShapeError(
            f"Calculated padded input size per channel: {padded}. Kernel size: {span} "
            f"(kernel_size {kernel} with dilation {dilation}). Kernel size can't be greater than actual input size"
        )


def fold_spec(kernel_size, dilation, padding, stride) -> ConvSpec:
    """Unfold/Fold's arguments (2-d), checked as torch checks them when the operation runs."""
    kernel = ntuple(kernel_size, 2, "kernel_size")
    dilation = ntuple(dilation, 2, "dilation")
    padding = ntuple(padding, 2, "padding")
    stride = ntuple(stride, 2, "stride")
    check_positive(kernel, "kernel_size")
    check_positive(dilation, "dilation")
    check_positive(stride, "stride")
    check_nonnegative(padding, "padding")
    return ConvSpec(2, kernel, stride, padding, padding, dilation, 1)


# -- what torch checks when a layer is built -------------------------------------------------------------
def _size_entry(value, what):
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{what} must be an int, got {value!r} of type {type(value).__name__}") from None


def layer_weight_shape(name, in_channels, out_channels, kernel_size, padding, stride, groups, transposed,
                       padding_mode, lazy=False) -> tuple:
    """The checks torch makes when it builds a convolution layer, in its order; returns the weight shape.

    Everything else (stride, dilation, integer padding, output_padding, kernel sizes of zero)
    torch checks when the layer runs, and so does convlab (see :func:`conv_spec`).
    """
    if transposed and padding_mode != "zeros":
        raise ValueError(f'Only "zeros" padding mode is supported for {name}, got padding_mode={padding_mode!r}')
    for value, what in ((groups, "groups"), (in_channels, "in_channels"), (out_channels, "out_channels")):
        if isinstance(value, (str, bytes)) or not isinstance(value, (numbers.Real, np.number)):
            raise TypeError(f"{what} must be an int, got {value!r} of type {type(value).__name__}")
    if groups <= 0:
        raise ValueError(f"groups must be a positive integer, got groups={groups}")
    if not lazy and in_channels % groups != 0:
        raise ValueError(f"in_channels must be divisible by groups, got in_channels={in_channels}, groups={groups}")
    if not lazy and out_channels % groups != 0:
        raise ValueError(f"out_channels must be divisible by groups, got out_channels={out_channels}, "
                         f"groups={groups}")
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ValueError(f"Invalid padding string {padding!r}, should be one of {{'same', 'valid'}}")
        if padding == "same" and any(s != 1 for s in stride):
            raise ValueError(f"padding='same' is not supported for strided convolutions (got stride={stride}; "
                             f"valid: stride 1 in every dimension)")
    check_padding_mode(padding_mode)
    c_in, c_out = (0, 0) if lazy else (in_channels, out_channels)
    shape = (c_in, c_out // groups) if transposed else (c_out, c_in // groups)
    names = ("in_channels", "out_channels/groups") if transposed else ("out_channels", "in_channels/groups")
    return weight_shape(shape + tuple(kernel_size), name, names)


def weight_shape(shape, name, names=("out_channels", "in_channels/groups")) -> tuple:
    """``shape`` as ints >= 0, as ``torch.empty`` takes it: TypeError for a non-integer entry, an
    :class:`ArgumentError` (torch's RuntimeError) for a negative one."""
    shape = tuple(_size_entry(v, names[i] if i < 2 else "kernel_size") for i, v in enumerate(shape))
    if any(v < 0 for v in shape):
        raise ArgumentError(f"{name}: a weight of shape {shape} has a negative dimension (in_channels, "
                            f"out_channels and kernel_size must be >= 0)")
    return shape
