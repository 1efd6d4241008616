"""Argument normalisation and validation shared by the functional and module layers.

Everything here runs in Python before a kernel is called: the kernels are
compiled without bounds checks and trust what they get.
"""
from __future__ import annotations

import numbers
import operator

import numpy as np

from .errors import ShapeError

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def ntuple(value, n: int, name: str) -> tuple[int, ...]:
    """``3 -> (3, 3)``, ``(3, 5) -> (3, 5)``; like torch's ``_single/_pair/_triple``.

    Raises TypeError for non-integers and ValueError for the wrong length.
    """
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be an int or a tuple of {n} ints, got {value!r}")
    try:
        items = tuple(value)
    except TypeError:
        items = (value,) * n
    if len(items) == 1 and n > 1:
        items = items * n
    if len(items) != n:
        raise ValueError(f"{name} must be an int or a tuple of {n} ints, got {value!r} ({len(items)} values)")
    out = []
    for v in items:
        if isinstance(v, (bool, np.bool_)):
            raise TypeError(f"{name} must contain integers, got the bool {v!r} in {name}={value!r}")
        if not isinstance(v, (numbers.Integral, np.integer)):
            try:
                v = operator.index(v)
            except TypeError:
                raise TypeError(f"{name} must contain integers, got {value!r}") from None
        out.append(int(v))
    return tuple(out)


def check_positive(values: tuple[int, ...], name: str) -> None:
    if any(v <= 0 for v in values):
        raise ValueError(f"{name} must be positive in every dimension, got {name}={values}")


def check_nonnegative(values: tuple[int, ...], name: str) -> None:
    if any(v < 0 for v in values):
        raise ValueError(f"{name} must be non-negative in every dimension, got {name}={values}")


def check_int(value, name: str, minimum: int | None = None) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an int, got {value!r} of type {type(value).__name__}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {name}={value}")
    return value


def as_float_array(x, name: str = "input") -> np.ndarray:
    """Return ``x`` as a float32/float64 ndarray without copying when possible.

    Integer, bool, complex and half-precision inputs are a TypeError saying how
    to cast: convlab computes in float32 or float64 only, like torch on CPU.
    """
    if not isinstance(x, np.ndarray):
        x = np.asarray(x)
    if x.dtype not in FLOAT_DTYPES:
        raise TypeError(
            f"{name} must be a float32 or float64 array, got dtype {x.dtype}; "
            f"cast it first, e.g. {name}.astype(np.float32)"
        )
    return x


def resolve_dtype(dtype) -> np.dtype:
    """``None`` -> float32; accepts NumPy dtypes, their names, and torch dtypes by name."""
    if dtype is None:
        return np.dtype(np.float32)
    name = str(dtype)
    try:
        dt = np.dtype(name[len("torch."):]) if name.startswith("torch.") else np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r}") from None
    if dt not in FLOAT_DTYPES:
        raise TypeError(f"dtype must be float32 or float64, got {dt}")
    return dt


def check_batched(x: np.ndarray, nd: int, opname: str) -> tuple[np.ndarray, bool]:
    """Accept ``(N, C, *spatial)`` or unbatched ``(C, *spatial)``; return the batched view and a flag."""
    if x.ndim == nd + 2:
        return x, True
    if x.ndim == nd + 1:
        return x[None], False
    raise ShapeError(
        f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {opname}, "
        f"but got input of size: {list(x.shape)}"
    )


# The kernels index with C ``Py_ssize_t``: every ``o*stride - padding + t*dilation`` they
# compute, and every element count, must stay far below 2**63.
MAX_EXTENT = 2**62


def check_extent(extent, what: str) -> None:
    """Refuse geometry whose index arithmetic or element count could overflow 64-bit integers.

    ``extent`` is a per-axis bound on the indices a kernel computes (or a list of
    element counts); Python ints, so the check itself cannot overflow.
    """
    if any(int(e) >= MAX_EXTENT for e in extent):
        raise ValueError(f"{what} is too large: {tuple(int(e) for e in extent)} exceeds the supported "
                         f"limit of 2**62 per axis (check padding, stride, dilation and kernel_size)")


def check_padding_mode(mode: str) -> str:
    if mode not in PADDING_MODES:
        raise ValueError(f"padding_mode must be one of {set(PADDING_MODES)}, but got padding_mode={mode!r}")
    return mode
