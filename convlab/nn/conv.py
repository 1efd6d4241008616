"""Convolution modules: one base class, thin 1d/2d/3d classes, Lazy variants (the layout of torch.nn).

``_ConvNd`` holds all the logic; ``_ConvTransposeNd`` adds only ``output_size`` and the
transposed forward; ``Conv2d`` and the others only normalise their arguments. Errors come
at torch's stage: what torch checks when it builds a layer is checked here at construction;
what it checks when the layer runs is checked at the call (``nn.functional`` does it), and
a ``UserWarning`` at construction says so when the first call is bound to fail.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .. import _args, geometry
from .._args import check_conv_weight, conv_spec, layer_weight_shape, resolve_dtype, torch_tuple
from .._config import default_generator
from ..ops.conv import planner_settings
from . import functional as F
from .module import Module, Parameter, UninitializedParameter

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
           "LazyConv1d", "LazyConv2d", "LazyConv3d",
           "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d"]

_CALL_ERRORS = (TypeError, ValueError, RuntimeError)


class _ConvNd(Module):
    """Shared constructor, initialisation, checks, forward and repr of every convolution module."""

    _nd = 0
    _lazy = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, transposed,
                 output_padding, groups, bias, padding_mode, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        if device is not None and str(device) != "cpu":
            raise ValueError(f"convlab runs on the CPU only, got device={device!r}")
        shape = layer_weight_shape(name, in_channels, out_channels, kernel_size, padding, stride, groups,
                                   transposed, padding_mode, lazy=self._lazy)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.transposed = transposed
        self.output_padding = output_padding
        self.groups = groups
        self.padding_mode = padding_mode
        self.dtype = resolve_dtype(dtype)
        self._plans = {}               # input shape -> validated forward plan (see forward)
        if self._lazy:
            self.weight = UninitializedParameter(self.dtype)
            self.register_parameter("bias", UninitializedParameter(self.dtype) if bias else None)
        else:
            self.weight = Parameter(np.empty(shape, dtype=self.dtype))
            self.register_parameter("bias", Parameter(np.empty(out_channels, dtype=self.dtype)) if bias else None)
            self.reset_parameters()
        problem = self._first_call_problem()
        if problem is not None:
            warnings.warn(f"{self!r}: this layer will fail on its first call: {problem}", UserWarning, stacklevel=3)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_plans"] = {}           # plans hold compiled-kernel closures: rebuilt on the next call
        return state

    def _weight_shape(self):
        if self.transposed:
            return (self.in_channels, self.out_channels // self.groups, *self.kernel_size)
        return (self.out_channels, self.in_channels // self.groups, *self.kernel_size)

    def _first_call_problem(self):
        """The error the first call will raise whatever its input, or None (torch raises it then)."""
        try:
            if self._lazy:                 # in_channels comes from the input: try the smallest valid one
                in_channels = self.groups
                shape = _args.weight_shape(((in_channels, self.out_channels // self.groups) if self.transposed
                                            else (self.out_channels, 1)) + tuple(self.kernel_size), type(self).__name__)
                bias = None if self.bias is None else (self.out_channels,)
            else:
                shape, bias = self.weight.shape, None if self.bias is None else self.bias.shape
            check_conv_weight(shape, bias, self._nd, self.groups, self.transposed, type(self).__name__)
            conv_spec(self._nd, shape[2:], self.stride, self.padding, self.dilation, self.groups, self.padding_mode,
                      self.transposed, self.output_padding)
        except _CALL_ERRORS as error:
            return error
        return None

    def reset_parameters(self, generator: np.random.Generator | None = None) -> None:
        """Draw weight and bias from U(-sqrt(k), sqrt(k)), ``k = 1 / fan_in``, as torch does.

        ``fan_in = weight.shape[1] * prod(kernel_size)``, i.e. ``k = groups / (C_in * prod(kernel_size))``
        for Conv and ``groups / (C_out * prod(kernel_size))`` for ConvTranspose. ``generator``
        defaults to the one seeded by :func:`convlab.manual_seed`.
        """
        if isinstance(self.weight, UninitializedParameter):
            return
        rng = default_generator() if generator is None else generator
        fan_in = math.prod(self.weight.shape[1:])
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        self.weight[...] = rng.uniform(-bound, bound, self.weight.shape)
        if self.bias is not None:
            self.bias[...] = rng.uniform(-bound, bound, self.bias.shape)

    def extra_repr(self):
        s = "{in_channels}, {out_channels}, kernel_size={kernel_size}, stride={stride}"
        if self.padding != (0,) * len(self.padding):
            s += ", padding={padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += ", dilation={dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            s += ", output_padding={output_padding}"
        if self.groups != 1:
            s += ", groups={groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += ", padding_mode={padding_mode}"
        return s.format(**self.__dict__)

    def forward(self, input):
        """Convolve ``input`` of shape ``(N, C_in, *S)`` or ``(C_in, *S)``; returns an array of the input's dtype."""
        w = self._parameters["weight"]
        b = self._parameters["bias"]
        key = None
        if type(input) is np.ndarray and input.dtype == w.dtype:
            # Fast path for a repeated call: the plan (validated geometry, kernel choice, thread count) depends on
            # the shapes, the kernel thread count and the planner's thresholds only (planner_settings(): a plan
            # made before set_num_threads or before a threshold was changed is not reused).
            key = (input.shape, input.dtype.char, w.shape, None if b is None else b.shape, self.stride,
                   self.padding, self.dilation, self.groups, self.padding_mode, planner_settings())
            hit = self._plans.get(key)
            if hit is not None:
                return hit[1](input, w, b)
        return F.conv_nd(input, w, b, self.stride, self.padding, self.dilation, self.groups, self._nd,
                         padding_mode=self.padding_mode, plans=self._plans if key else None, key=key)


class _ConvTransposeNd(_ConvNd):
    """Adds to ``_ConvNd`` the transposed forward and its ``output_size`` argument."""

    def forward(self, input, output_size=None):
        """Transposed-convolve ``input``; ``output_size`` (spatial or full shape) picks the output_padding."""
        w = self._parameters["weight"]
        b = self._parameters["bias"]
        key = None
        sizes = None if output_size is None else _int_sizes(output_size)
        if (output_size is None or sizes is not None) and type(input) is np.ndarray and input.dtype == w.dtype:
            # Fast path for a repeated call: the plan depends on the shapes, output_size (a tuple or list of
            # ints: a U-Net decoder's skip.shape) and planner_settings() only.
            key = ("transposed", input.shape, input.dtype.char, w.shape, None if b is None else b.shape,
                   self.stride, self.padding, self.output_padding, self.dilation, self.groups, planner_settings(),
                   sizes)
            hit = self._plans.get(key)
            if hit is not None:
                return hit[1](input, w, b)
        output_padding = self._output_padding(input, output_size)
        return F.conv_transpose_nd(input, w, b, self.stride, self.padding, output_padding, self.groups,
                                   self.dilation, self._nd, plans=self._plans if key else None, key=key)

    def _output_padding(self, input, output_size):
        if output_size is None:
            return self.output_padding
        nd = self._nd
        x = _args.as_float_array(input)
        _args.check_batched(x, nd, type(self).__name__)
        w = self._parameters["weight"]
        spec = conv_spec(nd, w.shape[2:] if w.ndim == nd + 2 else self.kernel_size, self.stride, self.padding,
                         self.dilation, self.groups, transposed=True)
        leading = 2 if x.ndim == nd + 2 else 1
        output_size = tuple(_args.check_int(v, "output_size") for v in output_size)
        if len(output_size) == leading + nd:
            output_size = output_size[leading:]
        if len(output_size) != nd:
            raise ValueError(f"{type(self).__name__}: for {x.ndim}D input, output_size must have {nd} or "
                             f"{leading + nd} elements (got {len(output_size)})")
        size = x.shape[leading:]
        smallest, largest = geometry.output_size_range(size, spec.kernel_size, spec.stride, spec.padding,
                                                       spec.dilation)
        if any(not lo <= o <= hi for o, lo, hi in zip(output_size, smallest, largest)):
            raise ValueError(f"requested an output size of {output_size}, but valid sizes range from {smallest} "
                             f"to {largest} (for an input of {tuple(size)})")
        return tuple(o - lo for o, lo in zip(output_size, smallest))


def _int_sizes(output_size):
    """``output_size`` as a tuple if it is a tuple or list of plain ints (a key for the plan cache), else None
    (NumPy integers, bools, anything else: validated on every call)."""
    if type(output_size) in (tuple, list) and all(type(v) is int for v in output_size):
        return tuple(output_size)
    return None


def _documented(template, nd, **kw):
    """Fill a class's docstring from the shared template (the 1d/2d/3d docs differ only in their numbers)."""
    dims, outs, example, result, tresult = _EXAMPLES[nd]
    fields = dict(nd=nd, dims=dims, outs=outs, example=example, result=result, tresult=tresult)
    fields.update(kw)

    def decorate(cls):
        cls.__doc__ = template.format(**fields)
        return cls
    return decorate


_CONV_DOC = """Applies a {nd}-d convolution over an input of shape ``(N, C_in, {dims})``, as ``torch.nn.Conv{nd}d``.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int or tuple of {nd}
    stride : int or tuple, default 1
    padding : int, tuple, 'valid' or 'same' (stride 1 only), default 0
    dilation : int or tuple, default 1
    groups : int, default 1 (``in_channels`` for depthwise)
    bias : bool, default True
    padding_mode : 'zeros' | 'reflect' | 'replicate' | 'circular', default 'zeros'
    dtype : float32 (default) or float64

    Shape
    -----
    input ``(N, C_in, {dims})`` or ``(C_in, {dims})``; output ``(N, C_out, {outs})`` with, per axis,
    ``out = floor((in + 2*padding - dilation*(kernel_size - 1) - 1) / stride + 1)``.

    Attributes
    ----------
    weight : ``(out_channels, in_channels/groups, *kernel_size)``, U(-sqrt(k), sqrt(k)),
        ``k = groups / (C_in * prod(kernel_size))``
    bias : ``(out_channels,)``, same distribution

    Examples
    --------
    >>> import numpy as np, convlab.nn as nn
    >>> m = nn.Conv{nd}d(16, 33, 3, stride=2)
    >>> m(np.zeros((20, 16) + {example}, dtype=np.float32)).shape
    {result}
"""

_TRANSPOSED_DOC = """Applies a {nd}-d transposed convolution over ``(N, C_in, {dims})``, as ``torch.nn.ConvTranspose{nd}d``.

    The adjoint (gradient) of Conv{nd}d: each input cell scatters a copy of its
    kernel, scaled by its value, into the output; overlaps are summed.

    Parameters
    ----------
    in_channels, out_channels, kernel_size, stride, groups, bias, dilation, dtype : as Conv{nd}d
    padding : int or tuple, default 0 (no strings): crops ``padding`` cells from each side of the full output
    output_padding : int or tuple, default 0; must be < max(stride, dilation). Adds cells on one side of the
        output to choose among the input sizes a strided Conv{nd}d maps to the same size.
    padding_mode : 'zeros' only

    Shape
    -----
    output per axis ``(in - 1)*stride - 2*padding + dilation*(kernel_size - 1) + output_padding + 1``.
    ``m(x, output_size=...)`` picks the output_padding that gives ``output_size``.

    Attributes
    ----------
    weight : ``(in_channels, out_channels/groups, *kernel_size)`` (note: in before out),
        U(-sqrt(k), sqrt(k)), ``k = groups / (C_out * prod(kernel_size))``
    bias : ``(out_channels,)``

    Examples
    --------
    >>> import numpy as np, convlab.nn as nn
    >>> m = nn.ConvTranspose{nd}d(16, 33, 3, stride=2)
    >>> m(np.zeros((2, 16) + {example}, dtype=np.float32)).shape
    {tresult}
"""

_EXAMPLES = {
    1: ("L", "L_out", (50,), (20, 33, 24), (2, 33, 101)),
    2: ("H, W", "H_out, W_out", (50, 100), (20, 33, 24, 49), (2, 33, 101, 201)),
    3: ("D, H, W", "D_out, H_out, W_out", (10, 12, 14), (20, 33, 4, 5, 6), (2, 33, 21, 25, 29)),
}



@_documented(_CONV_DOC, 1)
class Conv1d(_ConvNd):
    _nd = 1

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, torch_tuple(kernel_size, 1), torch_tuple(stride, 1),
                         padding if isinstance(padding, str) else torch_tuple(padding, 1), torch_tuple(dilation, 1),
                         False, (0,), groups, bias, padding_mode, device, dtype)


@_documented(_CONV_DOC, 2)
class Conv2d(_ConvNd):
    _nd = 2

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, torch_tuple(kernel_size, 2), torch_tuple(stride, 2),
                         padding if isinstance(padding, str) else torch_tuple(padding, 2), torch_tuple(dilation, 2),
                         False, (0, 0), groups, bias, padding_mode, device, dtype)


@_documented(_CONV_DOC, 3)
class Conv3d(_ConvNd):
    _nd = 3

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, torch_tuple(kernel_size, 3), torch_tuple(stride, 3),
                         padding if isinstance(padding, str) else torch_tuple(padding, 3), torch_tuple(dilation, 3),
                         False, (0, 0, 0), groups, bias, padding_mode, device, dtype)


@_documented(_TRANSPOSED_DOC, 1)
class ConvTranspose1d(_ConvTransposeNd):
    _nd = 1

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, torch_tuple(kernel_size, 1), torch_tuple(stride, 1),
                         torch_tuple(padding, 1), torch_tuple(dilation, 1), True, torch_tuple(output_padding, 1),
                         groups, bias, padding_mode, device, dtype)


@_documented(_TRANSPOSED_DOC, 2)
class ConvTranspose2d(_ConvTransposeNd):
    _nd = 2

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, torch_tuple(kernel_size, 2), torch_tuple(stride, 2),
                         torch_tuple(padding, 2), torch_tuple(dilation, 2), True, torch_tuple(output_padding, 2),
                         groups, bias, padding_mode, device, dtype)


@_documented(_TRANSPOSED_DOC, 3, example=(5, 6, 7), tresult=(2, 33, 11, 13, 15))
class ConvTranspose3d(_ConvTransposeNd):
    _nd = 3

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, torch_tuple(kernel_size, 3), torch_tuple(stride, 3),
                         torch_tuple(padding, 3), torch_tuple(dilation, 3), True, torch_tuple(output_padding, 3),
                         groups, bias, padding_mode, device, dtype)


class _LazyConvXdMixin:
    """Infers ``in_channels`` from the first input, materializes the weight, then becomes ``cls_to_become``.

    As torch's: built with ``in_channels == 0``; ``load_state_dict`` materializes the weight with
    the loaded array's shape (any shape: a wrong one fails at the call) and leaves the class
    Lazy and ``in_channels`` at 0; the first call changes the class, and infers ``in_channels``
    only if the weight is still uninitialized (after a load it stays 0, torch's quirk).
    """

    _lazy = True
    cls_to_become = None

    def __init_subclass__(cls, **kwargs):
        """``class LazyConv2d(_LazyConvXdMixin, Conv2d)`` becomes a Conv2d, documented as such."""
        super().__init_subclass__(**kwargs)
        eager = cls.__mro__[2]
        cls.cls_to_become = eager
        cls.__doc__ = _lazy_doc(eager, eager._nd, issubclass(eager, _ConvTransposeNd))

    def has_uninitialized_params(self) -> bool:
        return any(isinstance(p, UninitializedParameter) for p in self._parameters.values())

    def initialize_parameters(self, input) -> None:
        if not self.has_uninitialized_params():
            return
        x = _args.as_float_array(input)
        xb, batched = _args.check_batched(x, self._nd, type(self).__name__)
        self.in_channels = xb.shape[1]
        if self.in_channels % self.groups:
            raise ValueError(f"in_channels must be divisible by groups, got in_channels={self.in_channels} "
                             f"(from input of shape {list(x.shape)}), groups={self.groups}")
        shape = _args.weight_shape(self._weight_shape(), type(self).__name__)
        self.weight = self.weight.materialize(shape)
        if self.bias is not None:
            self.bias = self.bias.materialize(_args.weight_shape((self.out_channels,), type(self).__name__))
        if self.in_channels != 0:
            self.reset_parameters()

    def __call__(self, input, *args, **kwargs):
        self.initialize_parameters(input)
        if self.has_uninitialized_params():
            raise RuntimeError(f"module {type(self).__name__} has not been fully initialized: load or infer "
                               f"every parameter first")
        self.__class__ = self.cls_to_become
        return self.forward(input, *args, **kwargs)


def _lazy_doc(eager, nd, transposed):
    name = "Lazy" + eager.__name__
    return (f"A :class:`{eager.__name__}` whose ``in_channels`` is inferred from ``input.shape[1]`` on the first "
            f"call.\n\n    Until then ``weight`` is an ``UninitializedParameter`` and ``in_channels`` is 0; after "
            f"it the module *is* a {eager.__name__} (its class changes). ``load_state_dict`` fills the weight "
            f"with the loaded shape and, as torch's, leaves the class Lazy and ``in_channels`` at 0.\n\n"
            f"    Shape\n    -----\n    As :class:`{eager.__name__}`, with ``C_in`` read from the first input.\n\n"
            f"    Examples\n    --------\n"
            f"    >>> import numpy as np, convlab.nn as nn\n    >>> m = nn.{name}(8, 3)\n"
            f"    >>> _ = m(np.zeros((1, 5) + (6,) * {nd}, dtype=np.float32))\n"
            f"    >>> type(m).__name__, m.in_channels, m.weight.shape[:2]\n"
            f"    ('{eager.__name__}', 5, {(5, 8) if transposed else (8, 5)})\n")


class LazyConv1d(_LazyConvXdMixin, Conv1d):
    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None):
        super().__init__(0, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
                         device, dtype)


class LazyConv2d(_LazyConvXdMixin, Conv2d):
    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None):
        super().__init__(0, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
                         device, dtype)


class LazyConv3d(_LazyConvXdMixin, Conv3d):
    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None):
        super().__init__(0, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
                         device, dtype)


class LazyConvTranspose1d(_LazyConvXdMixin, ConvTranspose1d):
    def __init__(self, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1, bias=True,
                 dilation=1, padding_mode="zeros", device=None, dtype=None):
        super().__init__(0, out_channels, kernel_size, stride, padding, output_padding, groups, bias, dilation,
                         padding_mode, device, dtype)


class LazyConvTranspose2d(_LazyConvXdMixin, ConvTranspose2d):
    def __init__(self, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1, bias=True,
                 dilation=1, padding_mode="zeros", device=None, dtype=None):
        super().__init__(0, out_channels, kernel_size, stride, padding, output_padding, groups, bias, dilation,
                         padding_mode, device, dtype)


class LazyConvTranspose3d(_LazyConvXdMixin, ConvTranspose3d):
    def __init__(self, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1, bias=True,
                 dilation=1, padding_mode="zeros", device=None, dtype=None):
        super().__init__(0, out_channels, kernel_size, stride, padding, output_padding, groups, bias, dilation,
                         padding_mode, device, dtype)
