"""Convolution modules: one base class, thin 1d/2d/3d classes, Lazy variants (the layout of torch.nn).

``_ConvNd`` holds all the logic; ``transposed`` is a flag that changes the
weight layout and the forward path, not a second hierarchy.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _args
from .._args import check_int, check_nonnegative, check_positive, ntuple, resolve_dtype
from .._config import default_generator
from ..errors import ShapeError
from . import functional as F
from .module import Module, Parameter, UninitializedParameter

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
           "LazyConv1d", "LazyConv2d", "LazyConv3d",
           "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d"]


class _ConvNd(Module):
    """Shared constructor, initialisation, validation and repr of every convolution module."""

    _nd = 0
    _lazy = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, transposed,
                 output_padding, groups, bias, padding_mode, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        nd = self._nd
        in_channels = check_int(in_channels, "in_channels", minimum=0 if self._lazy else 1)
        out_channels = check_int(out_channels, "out_channels", minimum=1)
        groups = check_int(groups, "groups")
        if groups <= 0:
            raise ValueError(f"groups must be a positive integer, got groups={groups}")
        if in_channels % groups != 0:
            raise ValueError(f"in_channels must be divisible by groups, got in_channels={in_channels}, groups={groups}")
        if out_channels % groups != 0:
            raise ValueError(f"out_channels must be divisible by groups, got out_channels={out_channels}, "
                             f"groups={groups}")
        kernel_size = ntuple(kernel_size, nd, "kernel_size")
        stride = ntuple(stride, nd, "stride")
        dilation = ntuple(dilation, nd, "dilation")
        output_padding = ntuple(output_padding, nd, "output_padding")
        check_positive(kernel_size, "kernel_size")
        check_positive(stride, "stride")
        check_positive(dilation, "dilation")
        check_nonnegative(output_padding, "output_padding")
        if isinstance(padding, str):
            if transposed:
                raise ValueError(f"{name} takes integer padding only, got padding={padding!r}")
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of {{'same', 'valid'}}")
            if padding == "same" and any(s != 1 for s in stride):
                raise ValueError(f"padding='same' is not supported for strided convolutions (got stride={stride})")
        else:
            padding = ntuple(padding, nd, "padding")
            check_nonnegative(padding, "padding")
        _args.check_padding_mode(padding_mode)
        if transposed and padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {name}, got padding_mode={padding_mode!r}')
        if transposed and any(op >= max(s, d) for op, s, d in zip(output_padding, stride, dilation)):
            raise ValueError(
                f"output_padding must be smaller than either stride or dilation in every dimension, but got "
                f"output_padding={output_padding}, stride={stride}, dilation={dilation} (valid: 0 <= output_padding "
                f"< max(stride, dilation) = {tuple(max(st, d) for st, d in zip(stride, dilation))})"
            )
        if not isinstance(bias, (bool, np.bool_)):
            raise TypeError(f"bias must be True or False, got {bias!r}")
        if device is not None and str(device) != "cpu":
            raise ValueError(f"convlab runs on the CPU only, got device={device!r}")

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
        self._plans = {}               # input shape -> validated forward plan (see _ConvForward.forward)
        if self._lazy:
            self.weight = UninitializedParameter(self.dtype)
            if bias:
                self.bias = UninitializedParameter(self.dtype)
            else:
                self.register_parameter("bias", None)
            return
        self.weight = Parameter(np.empty(self._weight_shape(), dtype=self.dtype))
        if bias:
            self.bias = Parameter(np.empty(out_channels, dtype=self.dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_plans"] = {}           # plans hold compiled-kernel closures: rebuilt on the next call
        return state

    def _weight_shape(self):
        if self.transposed:
            return (self.in_channels, self.out_channels // self.groups, *self.kernel_size)
        return (self.out_channels, self.in_channels // self.groups, *self.kernel_size)

    def reset_parameters(self, generator: np.random.Generator | None = None) -> None:
        """Draw weight and bias from U(-sqrt(k), sqrt(k)), ``k = 1 / fan_in``, as torch does.

        ``fan_in = weight.shape[1] * prod(kernel_size)``, i.e. ``k = groups / (C_in * prod(kernel_size))``
        for Conv and ``groups / (C_out * prod(kernel_size))`` for ConvTranspose. ``generator``
        defaults to the one seeded by :func:`convlab.manual_seed`.
        """
        if isinstance(self.weight, UninitializedParameter):
            return
        rng = default_generator() if generator is None else generator
        fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        self.weight[...] = rng.uniform(-bound, bound, self.weight.shape)
        if self.bias is not None:
            self.bias[...] = rng.uniform(-bound, bound, self.bias.shape)

    def extra_repr(self):
        s = "{in_channels}, {out_channels}, kernel_size={kernel_size}, stride={stride}"
        if self.padding != (0,) * self._nd:
            s += ", padding={padding}"
        if self.dilation != (1,) * self._nd:
            s += ", dilation={dilation}"
        if self.output_padding != (0,) * self._nd:
            s += ", output_padding={output_padding}"
        if self.groups != 1:
            s += ", groups={groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += ", padding_mode={padding_mode}"
        return s.format(**self.__dict__)


class _ConvForward:
    """``forward`` of the (non-transposed) convolutions."""

    def forward(self, input):
        """Convolve ``input`` of shape ``(N, C_in, *S)`` or ``(C_in, *S)``; returns an array of the input's dtype."""
        w = self._parameters["weight"]
        b = self._parameters["bias"]
        key = None
        if type(input) is np.ndarray and input.dtype == w.dtype:
            # Fast path for a repeated call: the plan (validated geometry, kernel choice) depends on shapes only.
            key = (input.shape, input.dtype.char, w.shape, None if b is None else b.shape, self.stride,
                   self.padding, self.dilation, self.groups, self.padding_mode)
            hit = self._plans.get(key)
            if hit is not None:
                plan, batched, shape = hit
                return plan.run(input if batched else input[None], w, b).reshape(shape)
        return F._conv_nd(input, w, b, self.stride, self.padding, self.dilation, self.groups, self._nd,
                          padding_mode=self.padding_mode, cache=self._plans if key else None, key=key)


class _ConvTransposeForward:
    """``forward`` of the transposed convolutions, with the ``output_size`` argument."""

    def forward(self, input, output_size=None):
        """Transposed-convolve ``input``; ``output_size`` (spatial or full shape) picks the output_padding."""
        w = self._parameters["weight"]
        b = self._parameters["bias"]
        key = None
        if output_size is None and type(input) is np.ndarray and input.dtype == w.dtype:
            # Fast path for a repeated call: what the validation found depends on shapes only.
            key = ("transposed", input.shape, input.dtype.char, w.shape, None if b is None else b.shape,
                   self.stride, self.padding, self.output_padding, self.dilation, self.groups)
            hit = self._plans.get(key)
            if hit is not None:
                out_size, batched = hit
                out = F.conv_transpose_forward(input if batched else input[None], w, out_size, self.kernel_size,
                                               self.stride, self.padding, self.dilation, self.groups, b)
                return out if batched else out[0]
        output_padding = self._output_padding(input, output_size)
        out = F._conv_transpose_nd(input, w, b, self.stride, self.padding, output_padding, self.groups,
                                   self.dilation, self._nd)
        if key is not None and w.ndim == self._nd + 2:
            if len(self._plans) > 64:
                self._plans.clear()
            self._plans[key] = (out.shape[-self._nd:], input.ndim == self._nd + 2)
        return out

    def _output_padding(self, input, output_size):
        if output_size is None:
            return self.output_padding
        nd = self._nd
        x = _args.as_float_array(input)
        _args.check_batched(x, nd, type(self).__name__)
        leading = 2 if x.ndim == nd + 2 else 1
        output_size = tuple(check_int(v, "output_size") for v in output_size)
        if len(output_size) == leading + nd:
            output_size = output_size[leading:]
        if len(output_size) != nd:
            raise ValueError(f"{type(self).__name__}: for {x.ndim}D input, output_size must have {nd} or "
                             f"{leading + nd} elements (got {len(output_size)})")
        size = x.shape[leading:]
        smallest = F.transposed_output_size(size, self.kernel_size, self.stride, self.padding, (0,) * nd,
                                            self.dilation)
        largest = tuple(m + s - 1 for m, s in zip(smallest, self.stride))
        if any(not lo <= o <= hi for o, lo, hi in zip(output_size, smallest, largest)):
            raise ValueError(f"requested an output size of {output_size}, but valid sizes range from {smallest} "
                             f"to {largest} (for an input of {tuple(size)})")
        return tuple(o - lo for o, lo in zip(output_size, smallest))


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


def _make(nd, transposed):
    dims, outs, example, result, tresult = _EXAMPLES[nd]
    base = (_ConvTransposeForward if transposed else _ConvForward, _ConvNd)

    if transposed:
        def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                     groups=1, bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
            _ConvNd.__init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, True,
                             output_padding, groups, bias, padding_mode, device, dtype)
        name, doc = f"ConvTranspose{nd}d", _TRANSPOSED_DOC
    else:
        def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                     bias=True, padding_mode="zeros", device=None, dtype=None):
            _ConvNd.__init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, False,
                             0, groups, bias, padding_mode, device, dtype)
        name, doc = f"Conv{nd}d", _CONV_DOC
    if transposed and nd == 3:
        example = (5, 6, 7)
        tresult = (2, 33, 11, 13, 15)
    cls = type(name, base, {"__init__": __init__, "_nd": nd, "__module__": __name__,
                            "__doc__": doc.format(nd=nd, dims=dims, outs=outs, example=example,
                                                  result=result, tresult=tresult)})
    cls.__qualname__ = name
    return cls


Conv1d, Conv2d, Conv3d = (_make(nd, False) for nd in (1, 2, 3))
ConvTranspose1d, ConvTranspose2d, ConvTranspose3d = (_make(nd, True) for nd in (1, 2, 3))


class _LazyMixin:
    """Infers ``in_channels`` from the first input, materializes the weight, then becomes ``cls_to_become``."""

    _lazy = True
    cls_to_become = None

    def has_uninitialized_params(self) -> bool:
        return any(isinstance(p, UninitializedParameter) for p in self._parameters.values())

    def initialize_parameters(self, input) -> None:
        if not self.has_uninitialized_params():
            return
        x = _args.as_float_array(input)
        x, _ = _args.check_batched(x, self._nd, type(self).__name__)
        in_channels = x.shape[1]
        if in_channels == 0 or in_channels % self.groups:
            raise ValueError(f"in_channels must be divisible by groups, got in_channels={in_channels} "
                             f"(from input of shape {list(np.shape(input))}), groups={self.groups}")
        self.in_channels = in_channels
        self.weight = self.weight.materialize(self._weight_shape())
        if self.bias is not None:
            self.bias = self.bias.materialize((self.out_channels,))
        self.reset_parameters()
        self.__class__ = self.cls_to_become

    def _check_lazy_load(self, name, value):
        """Why ``value`` cannot be loaded as the uninitialized ``name`` (None when it fits)."""
        nd, g = self._nd, self.groups
        if name == "bias":
            if value.shape != (self.out_channels,):
                return (f"size mismatch for bias: copying a param with shape {value.shape} from checkpoint, "
                        f"the shape in current model is ({self.out_channels},).")
            return None
        c_out_dim = 1 if self.transposed else 0
        c_out = self.out_channels // g if self.transposed else self.out_channels
        c_in = (value.shape[0] if self.transposed else value.shape[1] * g) if value.ndim == nd + 2 else 0
        if (value.ndim != nd + 2 or value.shape[c_out_dim] != c_out or tuple(value.shape[2:]) != self.kernel_size
                or c_in == 0 or c_in % g):
            layout = "(in_channels, out_channels/groups" if self.transposed else "(out_channels, in_channels/groups"
            return (f"size mismatch for weight: copying a param with shape {value.shape} from checkpoint, the shape "
                    f"in current model is {layout}, *kernel_size) = "
                    f"{('C_in', c_out) if self.transposed else (c_out, 'C_in/groups')} + {self.kernel_size} "
                    f"with groups={g}.")
        return None

    def _after_load(self):
        """After load_state_dict filled the weight: take in_channels from it and become eager."""
        if isinstance(self.weight, Parameter) and not self.has_uninitialized_params():
            w = self.weight
            self.in_channels = w.shape[0] if self.transposed else w.shape[1] * self.groups
            if w.shape != self._weight_shape():
                raise ShapeError(f"loaded weight of shape {w.shape} does not fit {type(self).__name__} "
                                 f"(expected {self._weight_shape()})")
            self.__class__ = self.cls_to_become

    def __call__(self, input, *args, **kwargs):
        self.initialize_parameters(input)
        return self.forward(input, *args, **kwargs)


def _make_lazy(eager, transposed):
    nd = eager._nd
    if transposed:
        def __init__(self, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1, bias=True,
                     dilation=1, padding_mode="zeros", device=None, dtype=None):
            _ConvNd.__init__(self, 0, out_channels, kernel_size, stride, padding, dilation, True, output_padding,
                             groups, bias, padding_mode, device, dtype)
    else:
        def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                     padding_mode="zeros", device=None, dtype=None):
            _ConvNd.__init__(self, 0, out_channels, kernel_size, stride, padding, dilation, False, 0, groups,
                             bias, padding_mode, device, dtype)
    name = "Lazy" + eager.__name__
    doc = (f"A :class:`{eager.__name__}` whose ``in_channels`` is inferred from ``input.shape[1]`` on the first "
           f"call.\n\n    Until then ``weight`` is an ``UninitializedParameter`` and ``in_channels`` is 0; after "
           f"it the module *is* a {eager.__name__} (its class changes).\n\n    Examples\n    --------\n"
           f"    >>> import numpy as np, convlab.nn as nn\n    >>> m = nn.{name}(8, 3)\n"
           f"    >>> _ = m(np.zeros((1, 5) + (6,) * {nd}, dtype=np.float32))\n"
           f"    >>> type(m).__name__, m.in_channels, m.weight.shape[:2]\n"
           f"    ('{eager.__name__}', 5, {(5, 8) if transposed else (8, 5)})\n")
    cls = type(name, (_LazyMixin, eager), {"__init__": __init__, "cls_to_become": eager, "__module__": __name__,
                                           "__doc__": doc})
    cls.__qualname__ = name
    return cls


LazyConv1d, LazyConv2d, LazyConv3d = (_make_lazy(c, False) for c in (Conv1d, Conv2d, Conv3d))
LazyConvTranspose1d, LazyConvTranspose2d, LazyConvTranspose3d = (
    _make_lazy(c, True) for c in (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d))
