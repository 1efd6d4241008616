"""Step 1 of the data path: pad the input (zeros, reflect, replicate, circular).

Semantics are those of ``torch.nn.functional.pad``: ``pad`` lists
``(left, right)`` pairs starting from the *last* dimension.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _kernels
from .._args import as_float_array, check_int
from .._config import get_num_threads
from ..errors import ShapeError

MODES = ("constant", "reflect", "replicate", "circular")
_MODE_CODES = _kernels.padding_modes()
_CODE = {"constant": _MODE_CODES["zeros"], "reflect": _MODE_CODES["reflect"],
         "replicate": _MODE_CODES["replicate"], "circular": _MODE_CODES["circular"]}
_PAD_VOLUME = _kernels.pad_volume
PARALLEL_MIN_BYTES = 1 << 18        # smaller outputs are padded on one thread. On a quiet 2-core Zen 4 (the kernel
                                    # alone, 2 threads against 1): 0.04 MiB out 1.6x slower (the team's start-up),
                                    # 0.28 MiB 0.71x, 1.1 MiB 0.57x, 6.6 MiB 0.49x, 26 MiB 0.64x (bench/README.md,
                                    # "F.pad's rows in runs"). On a host whose other core is busy a second thread
                                    # waits for its peer to be scheduled (a loaded Zen 3: 6.6 MiB 11x slower), as in
                                    # every parallel kernel: set_num_threads(1) there.


def pad(input, pad, mode="constant", value=None):
    """Pad the trailing dimensions of an array, as ``torch.nn.functional.pad``.

    Parameters
    ----------
    input : ndarray
        Any float array for ``'constant'``; for the other modes ``(C, *S)`` or
        ``(N, C, *S)`` with 1 to 3 padded spatial dimensions.
    pad : tuple of int
        ``(left_last, right_last, left_second_last, right_second_last, ...)``.
        Negative values crop (``'constant'`` only).
    mode : {'constant', 'reflect', 'replicate', 'circular'}
        ``reflect`` mirrors without repeating the edge (needs pad < size),
        ``replicate`` repeats the edge, ``circular`` wraps around (pad <= size).
    value : float, optional
        Fill value for ``'constant'`` (default 0).

    Shape
    -----
    Each padded dimension grows by ``left + right``.

    Examples
    --------
    >>> import numpy as np
    >>> from convlab.nn.functional import pad
    >>> pad(np.arange(4.0).reshape(1, 1, 4), (2, 1), mode="reflect")
    array([[[2., 1., 0., 1., 2., 3., 2.]]])
    """
    x = as_float_array(input)
    if type(pad) is tuple and {*map(type, pad)} <= _INT:       # a call seen before: its checked plan
        try:
            plan = _PLANS.get((x.shape, x.dtype, pad, mode, value))
        except TypeError:                                       # an unhashable value: the checks below say why
            plan = None
        if plan is not None:
            return _run(x, plan)
    key = (x.shape, x.dtype, pad, mode, value) if type(pad) is tuple and {*map(type, pad)} <= _INT else None
    if mode not in MODES:
        raise ValueError(f"Unrecognised padding mode {mode!r}; valid modes are {MODES}")
    if not isinstance(pad, (tuple, list)):
        raise TypeError(f"pad must be a tuple of ints, got {pad!r}")
    pad = tuple(check_int(p, "pad") for p in pad)
    if len(pad) % 2:
        raise ValueError(f"Padding length must be divisible by 2, got pad={pad} of length {len(pad)}")
    npad = len(pad) // 2
    if npad > x.ndim:
        raise ValueError(f"Padding length {len(pad)} is too large for an input with {x.ndim} dimensions (at most {2 * x.ndim})")
    # widths[i] = (before, after) for every dimension of x
    widths = [(0, 0)] * (x.ndim - npad) + [(pad[2 * j], pad[2 * j + 1]) for j in reversed(range(npad))]

    if mode == "constant":
        fill = 0.0 if value is None else float(value)
        out_shape = tuple(s + a + b for s, (a, b) in zip(x.shape, widths))
        if any(s < 0 for s in out_shape):
            raise ShapeError(f"Negative padding {pad} would give a negative size {out_shape} for input {x.shape}")
        if 1 <= npad <= 3 and all(p >= 0 for p in pad):
            return _run(x, _plan(key, x, widths, npad, out_shape, "constant", fill))
        out = np.full(out_shape, fill, dtype=x.dtype)
        src = tuple(slice(max(-a, 0), s - max(-b, 0)) for s, (a, b) in zip(x.shape, widths))
        dst = tuple(slice(max(a, 0), max(a, 0) + max(sl.stop - sl.start, 0)) for sl, (a, b) in zip(src, widths))
        if all(sl.stop > sl.start for sl in src):
            out[dst] = x[src]
        return out

    if value not in (None, 0, 0.0):
        raise ValueError(f"Padding mode {mode!r} does not take a fill value (got value={value})")
    if not 1 <= npad <= 3 or x.ndim not in (npad + 1, npad + 2):
        raise ShapeError(
            f"Padding mode {mode!r} pads 1 to 3 trailing dimensions of a (C, *S) or (N, C, *S) input; "
            f"got pad of length {len(pad)} for an input of shape {x.shape}"
        )
    if any(p < 0 for p in pad):
        raise ValueError(f"Negative padding is only supported for mode='constant', got pad={pad}")
    _check_widths(x.shape, widths, mode)
    return _run(x, _plan(key, x, widths, npad, tuple(s + a + b for s, (a, b) in zip(x.shape, widths)), mode))


_INT = {int}
_PLANS = {}             # (shape, dtype, pad, mode, value) of a checked call -> its _plan; pads of type int only
_PLANS_MAX = 512        # (True == 1 == 1.0 as keys: an int-only pad tuple keeps a float pad from a cached plan)


def _plan(key, x, widths, npad, out_shape, mode, fill=0.0):
    """What ``_run`` needs to pad the last ``npad`` (1 to 3, pads >= 0, checked) dimensions with
    ``_kernels.pad_volume``: the leading dimensions are one stack of volumes, a 1-d or 2-d pad lifts to 3-d
    with unit dimensions. Kept under ``key`` (when given), so a repeated call skips the checks: about 10 us
    of Python, against 33 us for the whole pad of a (8, 32, 32, 32) array."""
    lead = x.ndim - npad
    lift = (1,) * (3 - npad)
    planes = math.prod(x.shape[:lead])
    left = (0,) * (3 - npad) + tuple(a for a, _ in widths[lead:])
    dims = (planes,) + lift + x.shape[lead:] + lift + out_shape[lead:] + left     # P, D, H, W, Do, Ho, Wo, ld, lh, lw
    plan = (out_shape, dims, _CODE[mode], fill, math.prod(out_shape) * x.itemsize)
    if key is not None:
        if len(_PLANS) >= _PLANS_MAX:
            _PLANS.clear()
        try:
            _PLANS[key] = plan
        except TypeError:           # an unhashable fill value (a 0-d array): this call runs without a cache entry
            pass
    return plan


def _run(x, plan):
    """Allocate the output and fill it with ``pad_volume``, which takes the sizes of the padded volumes from the
    plan and checks them against the arrays (so no 4-d views are made)."""
    out_shape, dims, code, fill, nbytes = plan
    out = np.empty(out_shape, dtype=x.dtype)
    _PAD_VOLUME(np.ascontiguousarray(x), out, *dims, code, fill,
                get_num_threads() if nbytes >= PARALLEL_MIN_BYTES else 1)
    return out


def _check_widths(shape, widths, mode):
    """The limits of the non-constant modes: reflect needs pad < size, circular pad <= size."""
    for dim, (a, b) in enumerate(widths):
        size = shape[dim]
        if (a or b) and size == 0:
            raise ShapeError(f"Cannot {mode}-pad dimension {dim} of size 0 (input shape {shape})")
        if (a or b) and mode == "reflect" and max(a, b) >= size:
            raise ShapeError(
                f"Reflect padding must be smaller than the padded dimension: got padding ({a}, {b}) "
                f"for dimension {dim} of size {size} (valid: 0 <= padding <= {size - 1})"
            )
        if (a or b) and mode == "circular" and max(a, b) > size:
            raise ShapeError(
                f"Circular padding may wrap around at most once: got padding ({a}, {b}) "
                f"for dimension {dim} of size {size} (valid: 0 <= padding <= {size})"
            )


def check_mode_padding(shape, left, right, mode):
    """Validate per-axis (left, right) spatial padding of an (N, C, *S) input for ``mode`` (as :func:`pad` would)."""
    _check_widths(tuple(shape), [(0, 0), (0, 0)] + list(zip(left, right)), mode)
