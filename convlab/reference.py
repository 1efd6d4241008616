"""Textbook convolutions as nested loops: slow, plainly correct, the oracle of the tests.

Every function here writes the formula out and shares no code with the fast
path (no ``convlab.ops``, no Cython). The notebooks show this code when they
explain a formula. Use small inputs: these loops run in Python.

One axis of a convolution, with output index ``o``, kernel tap ``t``::

    input index  i = o * stride - padding + t * dilation

Conv reads ``x[i]`` (zero when ``i`` is outside the input); the transposed
conv writes (adds) into ``out[i]``, dropping targets outside the output.
"""
from __future__ import annotations

import itertools

import numpy as np

__all__ = ["pad_index", "conv_nd", "conv_transpose_nd", "unfold_nd", "fold_nd"]


def pad_index(i: int, size: int, mode: str):
    """Which input cell a (possibly out-of-range) index ``i`` reads under a padding mode; None for zeros.

    >>> [pad_index(i, 4, "reflect") for i in range(-2, 6)]
    [2, 1, 0, 1, 2, 3, 2, 1]
    >>> [pad_index(i, 4, "replicate") for i in (-2, 5)], [pad_index(i, 4, "circular") for i in (-1, 4)]
    ([0, 3], [3, 0])
    """
    if 0 <= i < size:
        return i
    if mode == "zeros":
        return None
    if mode == "replicate":
        return 0 if i < 0 else size - 1
    if mode == "circular":
        return i % size
    if mode == "reflect":          # mirror about the edge cells, edge not repeated
        return -i if i < 0 else 2 * (size - 1) - i
    raise ValueError(f"unknown padding mode {mode!r}")


def _expand(value, nd):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * nd


def conv_nd(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
    """Naive N-d convolution (cross-correlation), batched ``(N, C_in, *S)`` input.

    ``padding`` is an int/tuple (symmetric) or a tuple of ``(left, right)`` pairs
    for asymmetric padding, e.g. ``((1, 2),)`` in 1d.

    out[n, co, o] = bias[co] + sum_{ci in group(co)} sum_t weight[co, ci, t] * x[n, ci, o*s - p + t*d]
    """
    x = np.asarray(x)
    weight = np.asarray(weight)
    nd = x.ndim - 2
    stride, dilation = _expand(stride, nd), _expand(dilation, nd)
    padding = _expand(padding, nd)
    pairs = [p if isinstance(p, (tuple, list)) else (p, p) for p in padding]
    n, c_in, *size = x.shape
    c_out, c_in_g, *kernel = weight.shape
    c_out_g = c_out // groups
    out_size = [(s + l + r - d * (k - 1) - 1) // st + 1
                for s, (l, r), d, k, st in zip(size, pairs, dilation, kernel, stride)]
    out = np.zeros((n, c_out, *out_size), dtype=np.result_type(x, weight))
    for o in itertools.product(*(range(m) for m in out_size)):
        for t in itertools.product(*(range(k) for k in kernel)):
            idx = []
            for ax in range(nd):
                i = o[ax] * stride[ax] - pairs[ax][0] + t[ax] * dilation[ax]
                idx.append(pad_index(i, size[ax], padding_mode))
            if any(i is None for i in idx):
                continue                                     # a zero-padding cell adds nothing
            for g in range(groups):
                cin = slice(g * c_in_g, (g + 1) * c_in_g)
                cout = slice(g * c_out_g, (g + 1) * c_out_g)
                # (N, C_in_g) @ (C_in_g, C_out_g): the sum over input channels of this group
                out[(slice(None), cout) + o] += x[(slice(None), cin) + tuple(idx)] @ weight[(cout, slice(None)) + t].T
    if bias is not None:
        out += np.asarray(bias).reshape(c_out, *(1,) * nd)
    return out


def conv_transpose_nd(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Naive N-d transposed convolution: every input cell scatters its weighted kernel into the output.

    out[n, co, i*s - p + t*d] += x[n, ci, i] * weight[ci, co, t]   (targets outside the output dropped)
    """
    x = np.asarray(x)
    weight = np.asarray(weight)
    nd = x.ndim - 2
    stride, padding = _expand(stride, nd), _expand(padding, nd)
    output_padding, dilation = _expand(output_padding, nd), _expand(dilation, nd)
    n, c_in, *size = x.shape
    _, c_out_g, *kernel = weight.shape
    c_in_g = c_in // groups
    c_out = c_out_g * groups
    out_size = [(s - 1) * st - 2 * p + d * (k - 1) + op + 1
                for s, st, p, d, k, op in zip(size, stride, padding, dilation, kernel, output_padding)]
    out = np.zeros((n, c_out, *out_size), dtype=np.result_type(x, weight))
    for i in itertools.product(*(range(s) for s in size)):
        for t in itertools.product(*(range(k) for k in kernel)):
            target = tuple(i[ax] * stride[ax] - padding[ax] + t[ax] * dilation[ax] for ax in range(nd))
            if any(not 0 <= target[ax] < out_size[ax] for ax in range(nd)):
                continue
            for g in range(groups):
                cin = slice(g * c_in_g, (g + 1) * c_in_g)
                cout = slice(g * c_out_g, (g + 1) * c_out_g)
                out[(slice(None), cout) + target] += x[(slice(None), cin) + i] @ weight[(cin, slice(None)) + t]
    if bias is not None:
        out += np.asarray(bias).reshape(c_out, *(1,) * nd)
    return out


def unfold_nd(x, kernel_size, dilation=1, padding=0, stride=1):
    """Naive im2col: ``cols[n, (c, t), (o)] = x[n, c, o*s - p + t*d]`` (zero outside)."""
    x = np.asarray(x)
    nd = x.ndim - 2
    kernel, dilation = _expand(kernel_size, nd), _expand(dilation, nd)
    padding, stride = _expand(padding, nd), _expand(stride, nd)
    n, c, *size = x.shape
    blocks = [(s + 2 * p - d * (k - 1) - 1) // st + 1 for s, p, d, k, st in zip(size, padding, dilation, kernel, stride)]
    taps = list(itertools.product(*(range(k) for k in kernel)))
    positions = list(itertools.product(*(range(b) for b in blocks)))
    cols = np.zeros((n, c * len(taps), len(positions)), dtype=x.dtype)
    for ci in range(c):
        for ti, t in enumerate(taps):
            for li, o in enumerate(positions):
                idx = tuple(o[a] * stride[a] - padding[a] + t[a] * dilation[a] for a in range(nd))
                if all(0 <= idx[a] < size[a] for a in range(nd)):
                    cols[:, ci * len(taps) + ti, li] = x[(slice(None), ci) + idx]
    return cols


def fold_nd(cols, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Naive col2im: the adjoint of :func:`unfold_nd`; overlapping blocks are summed."""
    cols = np.asarray(cols)
    nd = len(output_size)
    kernel, dilation = _expand(kernel_size, nd), _expand(dilation, nd)
    padding, stride = _expand(padding, nd), _expand(stride, nd)
    blocks = [(s + 2 * p - d * (k - 1) - 1) // st + 1
              for s, p, d, k, st in zip(output_size, padding, dilation, kernel, stride)]
    taps = list(itertools.product(*(range(k) for k in kernel)))
    positions = list(itertools.product(*(range(b) for b in blocks)))
    n = cols.shape[0]
    c = cols.shape[1] // len(taps)
    out = np.zeros((n, c, *output_size), dtype=cols.dtype)
    for ci in range(c):
        for ti, t in enumerate(taps):
            for li, o in enumerate(positions):
                idx = tuple(o[a] * stride[a] - padding[a] + t[a] * dilation[a] for a in range(nd))
                if all(0 <= idx[a] < output_size[a] for a in range(nd)):
                    out[(slice(None), ci) + idx] += cols[:, ci * len(taps) + ti, li]
    return out
