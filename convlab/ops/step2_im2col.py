"""Step 2 of the data path: gather every sliding block of the input into a column (Cython)."""
from __future__ import annotations

import numpy as np

from .. import _kernels
from .._config import get_num_threads
from ._volume import as_volume, lift3

# Below this many column elements one thread does the copy: waking a second one costs more (and on a
# busy machine an OpenMP region waits for a core: milliseconds for a microsecond's work).
PARALLEL_MIN_ELEMENTS = 1 << 16


def copy_threads(elements: int, planes: int) -> int:
    """Threads for an im2col/col2im of ``elements`` column entries over ``planes`` (sample, channel) planes."""
    return 1 if elements < PARALLEL_MIN_ELEMENTS else max(1, min(get_num_threads(), planes))


def im2col(x, kernel_size, stride, padding, dilation, blocks):
    """Columns of ``x``: ``(N, C, *S) -> (N, C * prod(kernel_size), prod(blocks))``.

    ``padding`` is the zero padding before each axis; the padding after it is
    implied by ``blocks`` (so ``padding='same'`` with an odd total is free).
    Equivalent to ``torch.nn.functional.unfold`` generalised to 1-3 spatial dims.
    """
    n, c = x.shape[:2]
    k = int(np.prod(kernel_size))
    cols = np.empty((n, c * k, int(np.prod(blocks))), dtype=x.dtype)
    _kernels.im2col(as_volume(x), cols, lift3(kernel_size, 1), lift3(stride, 1), lift3(padding, 0),
                    lift3(dilation, 1), lift3(blocks, 1), copy_threads(cols.size, n * c))
    return cols
