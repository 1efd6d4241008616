"""convlab.nn: torch.nn's convolution layers on NumPy arrays.

>>> import numpy as np, convlab.nn as nn
>>> nn.Conv1d(16, 33, 3, stride=2)(np.zeros((20, 16, 50), dtype=np.float32)).shape
(20, 33, 24)
"""
from . import functional, grad
from .conv import (Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d, LazyConv1d,
                   LazyConv2d, LazyConv3d, LazyConvTranspose1d, LazyConvTranspose2d, LazyConvTranspose3d)
from .fold import Fold, Unfold
from .module import Module, Parameter, Sequential, UninitializedParameter

__all__ = ["Module", "Parameter", "UninitializedParameter", "Sequential",
           "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
           "LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d",
           "LazyConvTranspose3d", "Unfold", "Fold", "functional", "grad"]
