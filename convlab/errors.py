"""Exceptions raised by convlab.

``ShapeError`` is raised where PyTorch raises ``RuntimeError`` for a shape that
does not fit (wrong channel count, kernel larger than the padded input, Fold
block count ...). It derives from both ``ValueError`` (what NumPy users catch)
and ``RuntimeError`` (what code ported from PyTorch catches), so either
``except`` clause works.
"""


class ShapeError(ValueError, RuntimeError):
    """An input, weight or size argument whose shape does not fit the operation."""


class ArgumentError(ValueError, RuntimeError):
    """An argument value an operation cannot run with (non-positive stride, a tuple of the wrong length,
    output_padding too large ...): a RuntimeError where torch raises one when the operation runs, and a
    ValueError as NumPy users expect."""
