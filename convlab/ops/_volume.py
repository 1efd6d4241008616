"""View 1-d and 2-d problems as 3-d ones with unit leading dimensions (what the kernels take)."""
from __future__ import annotations

import numpy as np


def lift3(values, fill: int) -> tuple[int, int, int]:
    """``(5,) -> (fill, fill, 5)``, ``(3, 5) -> (fill, 3, 5)``."""
    values = tuple(int(v) for v in values)
    return (fill,) * (3 - len(values)) + values


def as_volume(x: np.ndarray) -> np.ndarray:
    """``(N, C, *S)`` with 1 to 3 spatial dims -> C-contiguous ``(N, C, D, H, W)`` (a view when possible)."""
    n, c, *spatial = x.shape
    return np.ascontiguousarray(x).reshape(n, c, *lift3(spatial, 1))
