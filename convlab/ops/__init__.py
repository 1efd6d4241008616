"""The data path, one module per step::

    input --pad--> padded --im2col--> columns --grouped_matmul--> output
                                 columns --col2im--> output   (transposed conv, Fold)

``step1_pad.pad`` (NumPy), ``step2_im2col.im2col`` and ``step4_col2im.col2im`` (Cython
kernels) and ``step3_gemm.grouped_matmul`` (BLAS through NumPy's matmul); ``conv`` runs
steps 1-4 fused per tile for the layers. ``convlab.nn.functional`` composes them.
"""
from ..geometry import block_counts
from .step1_pad import pad
from .step2_im2col import im2col
from .step3_gemm import grouped_matmul
from .step4_col2im import col2im

__all__ = ["pad", "im2col", "block_counts", "grouped_matmul", "col2im"]
