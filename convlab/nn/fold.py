"""``Unfold`` and ``Fold`` modules (im2col and col2im as layers), as in torch.nn."""
from __future__ import annotations

import warnings

from .. import _args
from . import functional as F
from .module import Module


def _warn_if_doomed(module, kernel_size, dilation, padding, stride, output_size=None):
    """torch checks Unfold/Fold's arguments when they run: warn now if that check will fail."""
    try:
        _args.fold_spec(kernel_size, dilation, padding, stride)
        if output_size is not None:
            _args.check_positive(_args.ntuple(output_size, 2, "output_size"), "output_size")
    except (TypeError, ValueError, RuntimeError) as error:
        warnings.warn(f"{module!r}: this layer will fail on its first call: {error}", UserWarning, stacklevel=3)

__all__ = ["Unfold", "Fold"]


class Unfold(Module):
    """Extract sliding local blocks of a batched 2-d input into columns, as ``torch.nn.Unfold``.

    Shape
    -----
    ``(N, C, H, W) -> (N, C * prod(kernel_size), L)``, ``L`` the number of blocks
    (see :func:`convlab.nn.functional.unfold`). A convolution is ``weight.reshape(C_out, -1) @ Unfold(x)``.

    Examples
    --------
    >>> import numpy as np, convlab.nn as nn
    >>> nn.Unfold(kernel_size=(2, 3))(np.zeros((2, 5, 3, 4), dtype=np.float32)).shape
    (2, 30, 4)
    """

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride
        _warn_if_doomed(self, kernel_size, dilation, padding, stride)

    def forward(self, input):
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return "kernel_size={kernel_size}, dilation={dilation}, padding={padding}, stride={stride}".format(
            **self.__dict__)


class Fold(Module):
    """Sum columns of sliding blocks back into a 2-d array, as ``torch.nn.Fold`` (overlaps add up).

    Shape
    -----
    ``(N, C * prod(kernel_size), L) -> (N, C, *output_size)``; ``L`` must be the block count.

    Examples
    --------
    >>> import numpy as np, convlab.nn as nn
    >>> nn.Fold(output_size=(4, 5), kernel_size=(2, 2))(np.zeros((1, 12, 12), dtype=np.float32)).shape
    (1, 3, 4, 5)
    """

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.output_size = output_size
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride
        _warn_if_doomed(self, kernel_size, dilation, padding, stride, output_size)

    def forward(self, input):
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return ("output_size={output_size}, kernel_size={kernel_size}, dilation={dilation}, padding={padding}, "
                "stride={stride}".format(**self.__dict__))
