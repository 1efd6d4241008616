"""Step 4 (transposed conv, Fold, input gradient): scatter-add columns back into a volume (Cython)."""
from __future__ import annotations

import numpy as np

from .. import _kernels
from ._volume import lift3
from .step2_im2col import copy_threads


def col2im(cols, output_size, kernel_size, stride, padding, dilation, blocks, out=None):
    """Sum columns back into place: ``(N, C * prod(kernel_size), prod(blocks)) -> (N, C, *output_size)``.

    Block ``o``, tap ``t`` lands on ``o*stride - padding + t*dilation``; targets
    outside ``[0, output_size)`` are dropped, overlaps are summed. Equivalent to
    ``torch.nn.functional.fold`` generalised to 1-3 spatial dims. ``out``, if
    given, must be C-contiguous and is accumulated into.
    """
    cols = np.ascontiguousarray(cols)
    n = cols.shape[0]
    k = int(np.prod(kernel_size))
    c = cols.shape[1] // k
    if out is None:
        out = np.zeros((n, c, *output_size), dtype=cols.dtype)
    vol = out.reshape(n, c, *lift3(output_size, 1))
    _kernels.col2im(cols, vol, lift3(kernel_size, 1), lift3(stride, 1), lift3(padding, 0),
                    lift3(dilation, 1), lift3(blocks, 1), copy_threads(cols.size, n * c))
    return out
