"""The data path, one module per step::

    input --pad--> padded --im2col--> columns --gemm--> output
                                 columns --col2im--> output   (transposed conv, Fold)

``pad`` (NumPy), ``im2col`` and ``col2im`` (Cython kernels) and ``gemm`` (BLAS
through NumPy's matmul). ``convlab.nn.functional`` composes them.
"""
from .col2im import col2im
from .gemm import grouped_matmul, grouped_matmul_transposed
from ..geometry import block_counts
from .im2col import im2col
from .pad import pad

__all__ = ["pad", "im2col", "block_counts", "grouped_matmul", "grouped_matmul_transposed", "col2im"]
