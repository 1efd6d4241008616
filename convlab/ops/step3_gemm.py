"""Step 3 of the data path: the grouped matrix products (BLAS through ``np.matmul``).

These take whole column matrices, as in the step-by-step data path that the appendix notebook (08) runs by hand
(``im2col`` -> ``grouped_matmul`` -> ``col2im``). The layers do not call them: ``convlab.ops.conv``
fuses the same steps per tile (or uses a depthwise kernel), so no whole-batch column matrix is made.
"""
from __future__ import annotations

import numpy as np


def grouped_matmul(w2d, cols, groups, out=None):
    """Per group ``g``: ``out[:, g] = w2d[g] @ cols[:, g]``.

    w2d  : (C_out, C_in/groups * K)
    cols : (N, C_in * K, L)
    out  : (N, C_out, L)
    """
    n, rows, length = cols.shape
    c_out = w2d.shape[0]
    wg = w2d.reshape(groups, c_out // groups, rows // groups)
    cg = cols.reshape(n, groups, rows // groups, length)
    if out is None:
        out = np.empty((n, c_out, length), dtype=cols.dtype)
    np.matmul(wg, cg, out=out.reshape(n, groups, c_out // groups, length))
    return out

