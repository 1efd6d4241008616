"""The geometry of every convolution, in one place: pure integer arithmetic, no arrays.

Every layer, ``nn.functional``, ``nn.grad``, ``ops``, ``shapes`` and ``viz`` ask this module
for output sizes, ``output_size`` ranges, ``output_padding`` bounds, ``'same'`` splits and
block counts; only ``reference.py`` (the test oracle) and ``quiz.py`` (the learners' wrong
rules) compute them on their own, on purpose. Every function takes per-axis tuples and
returns a tuple; callers validate their arguments first.

>>> conv_output_size((50, 100), (3, 5), stride=(2, 1), padding=(4, 2), dilation=(1, 1))
(28, 100)
>>> transposed_output_size((12, 25), (3, 3), (2, 2), (1, 1), (0, 0), (1, 1))
(23, 49)
>>> output_size_range((12, 25), (3, 3), (2, 2), (1, 1), (1, 1))
((23, 49), (24, 50))
"""
from __future__ import annotations

__all__ = ["kernel_span", "conv_output_size", "block_counts", "transposed_output_size", "output_size_range",
           "output_padding_bound", "same_padding"]


def kernel_span(kernel_size, dilation) -> tuple:
    """Cells one dilated kernel covers per axis: ``dilation*(kernel_size - 1) + 1``."""
    return tuple(d * (k - 1) + 1 for k, d in zip(kernel_size, dilation))


def conv_output_size(size, kernel_size, stride, padding, dilation, padding_right=None) -> tuple:
    """``floor((size + padding + padding_right - span) / stride) + 1`` per axis (may be <= 0).

    ``padding_right`` defaults to ``padding`` (torch's symmetric integer padding).
    """
    right = padding if padding_right is None else padding_right
    return tuple((s + pl + pr - span) // st + 1
                 for s, pl, pr, span, st in zip(size, padding, right, kernel_span(kernel_size, dilation), stride))


def block_counts(size, kernel_size, stride, padding, dilation, padding_right=None) -> tuple:
    """Number of sliding blocks per axis: :func:`conv_output_size`, never below zero."""
    return tuple(max(o, 0) for o in conv_output_size(size, kernel_size, stride, padding, dilation, padding_right))


def transposed_output_size(size, kernel_size, stride, padding, output_padding, dilation) -> tuple:
    """``(size - 1)*stride - 2*padding + dilation*(kernel_size - 1) + output_padding + 1`` per axis."""
    return tuple((s - 1) * st - 2 * p + span + op
                 for s, st, p, op, span in zip(size, stride, padding, output_padding,
                                               kernel_span(kernel_size, dilation)))


def output_padding_bound(stride, dilation) -> tuple:
    """``output_padding`` must be below ``max(stride, dilation)`` per axis (torch's rule)."""
    return tuple(max(s, d) for s, d in zip(stride, dilation))


def output_size_range(size, kernel_size, stride, padding, dilation) -> tuple:
    """``(smallest, largest)`` output sizes ``ConvTranspose(x, output_size=...)`` accepts.

    ``smallest`` has ``output_padding = 0``; ``largest`` adds ``stride - 1`` (torch's range).
    """
    smallest = transposed_output_size(size, kernel_size, stride, padding, (0,) * len(size), dilation)
    return smallest, tuple(m + s - 1 for m, s in zip(smallest, stride))


def same_padding(kernel_size, dilation) -> tuple:
    """``(left, right)`` per axis for ``padding='same'``: ``dilation*(k - 1)`` split, the odd cell right."""
    total = tuple(span - 1 for span in kernel_span(kernel_size, dilation))
    left = tuple(t // 2 for t in total)
    return left, tuple(t - l for t, l in zip(total, left))
