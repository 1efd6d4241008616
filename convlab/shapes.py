"""Output sizes of every convolution layer, with the derivation written out.

Each function returns a :class:`Derivation`: the result together with the
symbolic formula and the same formula with the numbers plugged in, step by
step. Widgets, quizzes and error messages show these steps; the article's
examples are the doctests.

>>> from convlab import shapes
>>> d = shapes.conv_output_size(50, 3, stride=2)          # nn.Conv1d(16, 33, 3, stride=2), L_in = 50
>>> d
Derivation(value=24, text='⌊(50 + 2·0 − 1·(3 − 1) − 1) / 2⌋ + 1 = ⌊47 / 2⌋ + 1 = 24')
>>> d == 24, int(d), d.numerator, d.remainder
(True, 24, 47, 1)

Pure Python (no NumPy), so it runs anywhere, including in error paths.
"""
from __future__ import annotations

import html
import math
import operator
from dataclasses import dataclass
from typing import Any

from . import geometry

__all__ = [
    "Derivation",
    "conv_output_size", "conv_output_shape",
    "conv_transpose_output_size", "conv_transpose_output_shape", "conv_transpose_output_range",
    "output_padding_for", "conv_input_sizes_for_output", "same_padding",
    "unfold_block_count", "fold_check",
    "conv_weight_shape", "parameter_count", "init_bound",
]

MINUS = "−"   # U+2212, the typographic minus used in every formula
TIMES = "·"


# --------------------------------------------------------------------------- the result type

@dataclass(frozen=True, eq=False)
class Derivation:
    """A computed size (or shape, count, bound) and how it was obtained.

    Attributes
    ----------
    value : int, tuple, bool or float
        The result. An int-valued derivation behaves like the int: ``int(d)``,
        ``operator.index(d)``, ``d == 24``, ``d < 30`` and ``range(d)`` work.
        A tuple-valued one unpacks (``lo, hi = d``) and compares equal to the tuple.
    formula : str
        The symbolic formula, e.g. ``L_out = ⌊(L_in + 2·padding − …) / stride⌋ + 1``.
    steps : tuple of str
        The formula with the numbers plugged in, one form after the other;
        the last step ends with ``= <value>``.
    numerator, denominator, remainder : int or None
        For a floor division ``⌊numerator / denominator⌋``: its parts, and
        ``remainder = numerator % denominator``, the cells the floor throws away.
    parts : tuple of Derivation
        One sub-derivation per spatial axis where several axes are involved.
    sep : str
        What :attr:`text` puts between the steps: ``" = "`` for one chain of
        equal forms, ``"; "`` for separate statements.

    Shape
    -----
    ``value`` is an int (a size), a tuple (a shape, a range or a padding split), a bool or a float.

    Examples
    --------
    >>> d = conv_output_size(50, 3, stride=2)
    >>> print(d)
    L_out = ⌊(L_in + 2·padding − dilation·(kernel_size − 1) − 1) / stride⌋ + 1
    ⌊(50 + 2·0 − 1·(3 − 1) − 1) / 2⌋ + 1 = ⌊47 / 2⌋ + 1 = 24
    >>> d.steps
    ('⌊(50 + 2·0 − 1·(3 − 1) − 1) / 2⌋ + 1', '⌊47 / 2⌋ + 1 = 24')
    >>> (d.numerator, d.denominator, d.remainder)
    (47, 2, 1)
    """

    value: Any
    formula: str
    steps: tuple = ()
    numerator: int | None = None
    denominator: int | None = None
    remainder: int | None = None
    parts: tuple = ()
    sep: str = " = "

    # -- text forms
    @property
    def text(self) -> str:
        """All steps on one line, e.g. ``⌊(50 + 2·0 − 1·(3 − 1) − 1) / 2⌋ + 1 = ⌊47 / 2⌋ + 1 = 24``."""
        return self.sep.join(self.steps)

    @property
    def note(self) -> str:
        """For a floor division, one sentence on what the floor drops; else ``""``."""
        if self.numerator is None or self.denominator is None:
            return ""
        q = self.numerator // self.denominator
        if self.remainder:
            return (f"{self.numerator} = {self.denominator}{TIMES}{q} + {self.remainder}: the floor drops "
                    f"{self.remainder} cell{'s' if self.remainder != 1 else ''} that no further step reaches")
        return f"{self.numerator} = {self.denominator}{TIMES}{q}: the division is exact, no cell is dropped"

    def __str__(self) -> str:
        """The formula, then the plugged-in steps: one chain line, or one line per statement."""
        if self.sep == " = ":
            return f"{self.formula}\n{self.text}"
        return "\n".join((self.formula,) + tuple(self.steps))

    def __repr__(self) -> str:
        return f"Derivation(value={self.value!r}, text={self.text!r})"

    def _repr_markdown_(self) -> str:
        lines = [f"`{self.formula}`", ""]
        lines += [f"- `{s}`" for s in self.steps]
        if self.note:
            lines += ["", f"*{self.note}*"]
        for p in self.parts:
            lines += ["", f"- `{p.formula}`", f"  - `{p.text}`"]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        e = html.escape
        out = [f'<div class="convlab-derivation"><div><code>{e(self.formula)}</code></div><ol>']
        out += [f"<li><code>{e(s)}</code></li>" for s in self.steps]
        out.append("</ol>")
        if self.note:
            out.append(f"<div><mark>{e(self.note)}</mark></div>")
        if self.parts:
            out.append("<ul>")
            out += [f"<li><code>{e(p.formula)}</code><br><code>{e(p.text)}</code></li>" for p in self.parts]
            out.append("</ul>")
        out.append("</div>")
        return "".join(out)

    # -- behave like the value
    def _int_value(self) -> int:
        if isinstance(self.value, int):
            return int(self.value)
        raise TypeError(f"this Derivation's value {self.value!r} is not an int")

    def __int__(self) -> int:
        return self._int_value()

    def __index__(self) -> int:
        return self._int_value()

    def __float__(self) -> float:
        return float(self.value)

    def __bool__(self) -> bool:
        return bool(self.value)

    def __iter__(self):
        return iter(self.value)

    def __len__(self) -> int:
        return len(self.value)

    def __getitem__(self, item):
        return self.value[item]

    @staticmethod
    def _unwrap(other):
        return other.value if isinstance(other, Derivation) else other

    def __eq__(self, other):
        if isinstance(other, Derivation):
            return (self.value, self.formula, self.steps, self.parts) == (other.value, other.formula, other.steps,
                                                                         other.parts)
        return self.value == other

    def __ne__(self, other):
        return not self == other

    def __lt__(self, other):
        return self.value < self._unwrap(other)

    def __le__(self, other):
        return self.value <= self._unwrap(other)

    def __gt__(self, other):
        return self.value > self._unwrap(other)

    def __ge__(self, other):
        return self.value >= self._unwrap(other)

    def __hash__(self):
        return hash(self.value)


# --------------------------------------------------------------------------- argument checks

def _int(v, name: str, minimum: int | None = None) -> int:
    if isinstance(v, bool):
        raise TypeError(f"{name} must be an integer, got {v!r}")
    try:
        v = operator.index(v)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {v!r} of type {type(v).__name__}") from None
    if minimum is not None and v < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {name}={v}")
    return v


def _tuple(v, n: int, name: str, minimum: int | None = None) -> tuple:
    """``v`` as a tuple of ``n`` ints (an int is repeated), each ``>= minimum``."""
    if isinstance(v, (tuple, list)):
        if len(v) != n:
            raise ValueError(f"{name} must be an int or a tuple of {n} ints, got {name}={tuple(v)!r}")
        vals = tuple(_int(x, name) for x in v)
    else:
        vals = (_int(v, name),) * n
    if minimum is not None and any(x < minimum for x in vals):
        shown = vals if isinstance(v, (tuple, list)) else vals[0]
        raise ValueError(f"{name} must be >= {minimum} in every dimension, got {name}={shown}")
    return vals


def _ndim_of(*args) -> int | None:
    """The length of the first tuple among ``args`` (ignoring strings), or None if all are ints."""
    for a in args:
        if isinstance(a, (tuple, list)):
            return len(a)
    return None


def _axis_names(nd: int) -> tuple:
    return {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}.get(nd, tuple(f"S{i}" for i in range(nd)))


def _split_padding(padding, kernel_size: int, stride: int, dilation: int):
    """One axis's padding as ``(left, right)``: from an int, a pair, 'same' or 'valid'."""
    if isinstance(padding, str):
        if padding == "valid":
            return 0, 0
        if padding == "same":
            if stride != 1:
                raise ValueError(f"padding='same' needs stride 1 (it keeps the size only then), got stride={stride}")
            return same_padding(kernel_size, dilation).value
        raise ValueError(f"padding string must be 'same' or 'valid', got padding={padding!r}")
    if isinstance(padding, (tuple, list)):
        if len(padding) != 2:
            raise ValueError(f"padding for one axis is an int or a (left, right) pair, got padding={tuple(padding)!r}")
        left, right = (_int(p, "padding") for p in padding)
    else:
        left = right = _int(padding, "padding")
    if left < 0 or right < 0:
        raise ValueError(f"padding must be >= 0, got padding={padding!r}")
    return left, right


def _chain(*forms) -> tuple:
    """Steps from successive equal forms: the last form (the value) joins the one before it."""
    forms = [str(f) for f in forms]
    # drop a form equal to the one before it (e.g. '0 + 1' forms that add nothing new)
    kept = [forms[0]]
    for f in forms[1:]:
        if f != kept[-1]:
            kept.append(f)
    if len(kept) == 1:
        return (kept[0],)
    return tuple(kept[:-2]) + (f"{kept[-2]} = {kept[-1]}",)


def _last_form(d: Derivation) -> str:
    """The step before the value in ``d``'s chain (e.g. ``⌊47 / 2⌋ + 1``)."""
    return d.steps[-1].rsplit(" = ", 1)[0]


def _fmt_tuple(t) -> str:
    return "(" + ", ".join(str(x) for x in t) + (",)" if len(t) == 1 else ")")


# --------------------------------------------------------------------------- Conv

def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1, *, axis="L") -> Derivation:
    """Output length of a convolution along one axis, with the article's formula.

    Shape
    -----
    ``L_out = ⌊(L_in + 2·padding − dilation·(kernel_size − 1) − 1) / stride⌋ + 1``.
    ``padding`` may be an int, a ``(left, right)`` pair (then ``2·padding`` becomes
    ``left + right``), ``'valid'`` (no padding) or ``'same'`` (stride 1 only; an
    odd total ``dilation·(kernel_size − 1)`` puts the extra cell on the right, as torch).
    ``axis`` names the axis in the formula (``L``, ``H``, ``W``, ``D`` …).

    The padded input must hold at least one dilated kernel,
    ``L_in + left + right >= dilation·(kernel_size − 1) + 1``, else ``ValueError``.

    Examples
    --------
    The article's ``Conv1d`` examples on ``L_in = 50``:

    >>> conv_output_size(50, 3, stride=2).text
    '⌊(50 + 2·0 − 1·(3 − 1) − 1) / 2⌋ + 1 = ⌊47 / 2⌋ + 1 = 24'
    >>> [int(conv_output_size(50, k, stride=s, padding=p, dilation=d))
    ...  for k, s, p, d in [(5, 2, 0, 1), (3, 3, 0, 1), (3, 2, 2, 1), (3, 2, 0, 3)]]
    [23, 16, 26, 22]
    >>> conv_output_size(50, 4, padding="same").text
    '⌊(50 + 1 + 2 − 1·(4 − 1) − 1) / 1⌋ + 1 = ⌊49 / 1⌋ + 1 = 50'
    >>> conv_output_size(2, 5)
    Traceback (most recent call last):
    ...
    ValueError: kernel_size 5 (dilation 1, so it spans 5 cells) is larger than the padded input 2 + 0 + 0 = 2 along L; the padded input must be >= 5
    """
    size = _int(size, f"{axis}_in", minimum=1)
    kernel_size = _int(kernel_size, "kernel_size", minimum=1)
    stride = _int(stride, "stride", minimum=1)
    dilation = _int(dilation, "dilation", minimum=1)
    left, right = _split_padding(padding, kernel_size, stride, dilation)
    (span,) = geometry.kernel_span((kernel_size,), (dilation,))
    padded = size + left + right
    if padded < span:
        raise ValueError(f"kernel_size {kernel_size} (dilation {dilation}, so it spans {span} cells) is larger than "
                         f"the padded input {size} + {left} + {right} = {padded} along {axis}; the padded input "
                         f"must be >= {span}")
    numerator = padded - span
    (value,) = geometry.conv_output_size((size,), (kernel_size,), (stride,), (left,), (dilation,), (right,))
    if left == right:
        pad_sym, pad_num = f"2{TIMES}padding", f"2{TIMES}{left}"
    else:
        pad_sym, pad_num = "padding_left + padding_right", f"{left} + {right}"
    formula = (f"{axis}_out = ⌊({axis}_in + {pad_sym} {MINUS} dilation{TIMES}(kernel_size {MINUS} 1) {MINUS} 1) "
               f"/ stride⌋ + 1")
    plugged = (f"⌊({size} + {pad_num} {MINUS} {dilation}{TIMES}({kernel_size} {MINUS} 1) {MINUS} 1) "
               f"/ {stride}⌋ + 1")
    return Derivation(value, formula, _chain(plugged, f"⌊{numerator} / {stride}⌋ + 1", value),
                      numerator=numerator, denominator=stride, remainder=numerator % stride)


def _spatial_split(input_shape, nd, kernel_size, stride, padding, dilation, extra=()):
    """Split ``input_shape`` into (batch, channels, spatial) for ``nd`` spatial dims (inferred when None)."""
    if isinstance(input_shape, (int,)) or not hasattr(input_shape, "__len__"):
        raise TypeError(f"input_shape must be a tuple (N, C, *spatial) or (C, *spatial), got {input_shape!r}")
    shape = tuple(_int(s, "input_shape", minimum=0) for s in input_shape)
    if nd is None:
        nd = _ndim_of(kernel_size, stride, dilation, *extra,
                      padding if not isinstance(padding, str) else 0)
    if nd is None:
        nd = len(shape) - 2 if len(shape) >= 3 else len(shape) - 1
    nd = _int(nd, "ndim", minimum=1)
    if len(shape) not in (nd + 1, nd + 2):
        raise ValueError(f"for {nd} spatial dimension(s) input_shape must have {nd + 1} (unbatched) or {nd + 2} "
                         f"(batched) entries, got input_shape={shape}")
    batch = shape[:len(shape) - nd - 1]
    channels = shape[len(shape) - nd - 1]
    spatial = shape[len(shape) - nd:]
    if channels < 1 or any(s < 1 for s in spatial):
        raise ValueError(f"channels and spatial sizes must be >= 1, got input_shape={shape}")
    return batch, channels, spatial, nd


def _check_groups(in_channels, out_channels, groups):
    groups = _int(groups, "groups", minimum=1)
    if in_channels % groups:
        raise ValueError(f"in_channels must be divisible by groups, got in_channels={in_channels}, groups={groups}")
    if out_channels % groups:
        raise ValueError(f"out_channels must be divisible by groups, got out_channels={out_channels}, "
                         f"groups={groups}")
    return groups


def _shape_derivation(batch, out_channels, parts, names):
    value = batch + (out_channels,) + tuple(p.value for p in parts)
    lead = ("N",) if batch else ()
    sym = _fmt_tuple(lead + ("C_out",) + tuple(f"{a}_out" for a in names))
    formula = f"{sym} where " + "; ".join(p.formula for p in parts)
    head = tuple(str(b) for b in batch) + (str(out_channels),)
    mid = "(" + ", ".join(head + tuple(_last_form(p) for p in parts)) + ")"
    return Derivation(value, formula, _chain(mid, _fmt_tuple(value)), parts=parts)


def conv_output_shape(input_shape, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, *,
                      ndim=None) -> Derivation:
    """Full output shape of ``ConvNd(C_in, out_channels, kernel_size, …)`` on an input of ``input_shape``.

    Shape
    -----
    Input ``(N, C_in, *spatial)`` or unbatched ``(C_in, *spatial)``; output
    ``(N, C_out, *spatial_out)``, each spatial size from :func:`conv_output_size`
    (``parts`` holds one derivation per axis, named ``L`` / ``H, W`` / ``D, H, W``).
    The number of spatial dims is ``ndim`` if given, else the length of a tuple
    argument, else ``len(input_shape) − 2`` (a batched input) — pass ``ndim`` for
    an unbatched input with int arguments. ``C_in`` and ``out_channels`` must be
    divisible by ``groups``.

    Examples
    --------
    >>> conv_output_shape((20, 16, 50), 33, 3, stride=2).text     # nn.Conv1d(16, 33, 3, stride=2)
    '(20, 33, ⌊47 / 2⌋ + 1) = (20, 33, 24)'
    >>> d = conv_output_shape((20, 16, 50, 100), 33, (3, 5), stride=(2, 1), padding=(4, 2), dilation=(3, 1))
    >>> d.value, [p.text for p in d.parts]
    ((20, 33, 26, 100), ['⌊(50 + 2·4 − 3·(3 − 1) − 1) / 2⌋ + 1 = ⌊51 / 2⌋ + 1 = 26', '⌊(100 + 2·2 − 1·(5 − 1) − 1) / 1⌋ + 1 = ⌊99 / 1⌋ + 1 = 100'])
    >>> conv_output_shape((20, 16, 10, 50, 100), 33, (3, 5, 2), stride=(2, 1, 1), padding=(4, 2, 0)).value
    (20, 33, 8, 50, 99)
    >>> conv_output_shape((16, 50), 24, 3, stride=2, groups=3)
    Traceback (most recent call last):
    ...
    ValueError: in_channels must be divisible by groups, got in_channels=16, groups=3
    """
    batch, c_in, spatial, nd = _spatial_split(input_shape, ndim, kernel_size, stride, padding, dilation)
    out_channels = _int(out_channels, "out_channels", minimum=1)
    _check_groups(c_in, out_channels, groups)
    k = _tuple(kernel_size, nd, "kernel_size", minimum=1)
    s = _tuple(stride, nd, "stride", minimum=1)
    d = _tuple(dilation, nd, "dilation", minimum=1)
    p = (padding,) * nd if isinstance(padding, str) else _tuple(padding, nd, "padding", minimum=0)
    names = _axis_names(nd)
    parts = tuple(conv_output_size(spatial[i], k[i], s[i], p[i], d[i], axis=names[i]) for i in range(nd))
    return _shape_derivation(batch, out_channels, parts, names)


def same_padding(kernel_size, dilation=1) -> Derivation:
    """The ``(left, right)`` zero padding that ``padding='same'`` adds along one axis.

    Shape
    -----
    ``total = dilation·(kernel_size − 1)``, ``left = ⌊total / 2⌋``,
    ``right = total − left``: an odd total puts the extra cell on the right,
    as torch does. With stride 1 the output size then equals the input size.

    Examples
    --------
    >>> same_padding(3).value
    (1, 1)
    >>> d = same_padding(4)
    >>> d.value, d.text
    ((1, 2), 'total = 1·(4 − 1) = 3; left = ⌊3 / 2⌋ = 1; right = 3 − 1 = 2; (left, right) = (1, 2)')
    >>> same_padding(3, dilation=2).value
    (2, 2)
    """
    kernel_size = _int(kernel_size, "kernel_size", minimum=1)
    dilation = _int(dilation, "dilation", minimum=1)
    (left,), (right,) = geometry.same_padding((kernel_size,), (dilation,))
    total = left + right
    formula = (f"total = dilation{TIMES}(kernel_size {MINUS} 1); left = ⌊total / 2⌋; "
               f"right = total {MINUS} left")
    steps = (f"total = {dilation}{TIMES}({kernel_size} {MINUS} 1) = {total}",
             f"left = ⌊{total} / 2⌋ = {left}",
             f"right = {total} {MINUS} {left} = {right}",
             f"(left, right) = ({left}, {right})")
    return Derivation((left, right), formula, steps, numerator=total, denominator=2, remainder=total % 2, sep="; ")


def conv_input_sizes_for_output(out_size, kernel_size, stride=1, padding=0, dilation=1) -> Derivation:
    """Every input size that a convolution maps to ``out_size`` along one axis.

    With ``stride > 1`` the floor in :func:`conv_output_size` merges ``stride``
    neighbouring input sizes into one output size. This is why a transposed
    convolution, going back, cannot know which of them to produce, and takes
    ``output_padding`` (or ``output_size``) to choose.

    Shape
    -----
    ``lo = (L_out − 1)·stride + dilation·(kernel_size − 1) + 1 − 2·padding``,
    ``hi = lo + stride − 1``; the value is ``tuple(range(max(lo, 1), hi + 1))``
    (empty when the padding alone already makes more than ``out_size`` outputs).

    Examples
    --------
    The article's down-sample example, ``Conv2d(16, 16, 3, stride=2, padding=1)``:

    >>> d = conv_input_sizes_for_output(6, 3, stride=2, padding=1)
    >>> d.value
    (11, 12)
    >>> d.text
    'lo = (6 − 1)·2 + 1·(3 − 1) + 1 − 2·1 = 11; hi = lo + stride − 1 = 11 + 2 − 1 = 12; L_in ∈ [11, 12] = (11, 12)'
    >>> conv_input_sizes_for_output(24, 3, stride=2).value     # Conv1d(16, 33, 3, stride=2)
    (49, 50)
    """
    out_size = _int(out_size, "out_size", minimum=1)
    kernel_size = _int(kernel_size, "kernel_size", minimum=1)
    stride = _int(stride, "stride", minimum=1)
    dilation = _int(dilation, "dilation", minimum=1)
    left, right = _split_padding(padding, kernel_size, stride, dilation)
    (lo,), _ = geometry.output_size_range((out_size,), (kernel_size,), (stride,), (0,), (dilation,))
    lo -= left + right
    hi = lo + stride - 1
    sizes = tuple(range(max(lo, 1), hi + 1))
    pad_sym, pad_num = ((f"2{TIMES}padding", f"2{TIMES}{left}") if left == right
                        else ("padding_left − padding_right", f"{left} {MINUS} {right}"))
    formula = (f"L_in ∈ [lo, lo + stride {MINUS} 1], lo = (L_out {MINUS} 1){TIMES}stride + "
               f"dilation{TIMES}(kernel_size {MINUS} 1) + 1 {MINUS} {pad_sym}, L_in >= 1")
    steps = [f"lo = ({out_size} {MINUS} 1){TIMES}{stride} + {dilation}{TIMES}({kernel_size} {MINUS} 1) + 1 "
             f"{MINUS} {pad_num} = {lo}",
             f"hi = lo + stride {MINUS} 1 = {lo} + {stride} {MINUS} 1 = {hi}"]
    if not sizes:
        steps.append(f"no input size >= 1 in [{lo}, {hi}] = ()")
    elif lo < 1:
        steps.append(f"L_in ∈ [1, {hi}] = {_fmt_tuple(sizes)}")
    else:
        steps.append(f"L_in ∈ [{lo}, {hi}] = {_fmt_tuple(sizes)}")
    return Derivation(sizes, formula, tuple(steps), sep="; ")


# --------------------------------------------------------------------------- ConvTranspose

def conv_transpose_output_size(size, kernel_size, stride=1, padding=0, output_padding=0, dilation=1, *,
                               axis="L") -> Derivation:
    """Output length of a transposed convolution along one axis.

    Shape
    -----
    ``L_out = (L_in − 1)·stride − 2·padding + dilation·(kernel_size − 1) + output_padding + 1``.
    ``output_padding`` must satisfy ``0 <= output_padding < max(stride, dilation)``
    and the result must be at least 1.

    Examples
    --------
    The article's ``ConvTranspose1d`` examples on ``L_in = 30``:

    >>> conv_transpose_output_size(30, 3, stride=2).text
    '(30 − 1)·2 − 2·0 + 1·(3 − 1) + 0 + 1 = 58 − 0 + 2 + 0 + 1 = 61'
    >>> [int(conv_transpose_output_size(30, 3, stride=2, padding=2, output_padding=op, dilation=d))
    ...  for op, d in [(0, 1), (1, 1), (1, 3)]]
    [57, 58, 62]
    >>> conv_transpose_output_size(30, 3, stride=2, output_padding=2)
    Traceback (most recent call last):
    ...
    ValueError: output_padding must be smaller than max(stride, dilation) = 2, got output_padding=2 (stride=2, dilation=1); valid: 0 <= output_padding <= 1
    """
    size = _int(size, f"{axis}_in", minimum=1)
    kernel_size = _int(kernel_size, "kernel_size", minimum=1)
    stride = _int(stride, "stride", minimum=1)
    dilation = _int(dilation, "dilation", minimum=1)
    padding = _int(padding, "padding", minimum=0)
    output_padding = _int(output_padding, "output_padding", minimum=0)
    (limit,) = geometry.output_padding_bound((stride,), (dilation,))
    if output_padding >= limit:
        raise ValueError(f"output_padding must be smaller than max(stride, dilation) = {limit}, got "
                         f"output_padding={output_padding} (stride={stride}, dilation={dilation}); "
                         f"valid: 0 <= output_padding <= {limit - 1}")
    (value,) = geometry.transposed_output_size((size,), (kernel_size,), (stride,), (padding,), (output_padding,),
                                               (dilation,))
    if value < 1:
        raise ValueError(f"the transposed convolution's output size along {axis} would be {value} (input {size}, "
                         f"kernel_size={kernel_size}, stride={stride}, padding={padding}, dilation={dilation}, "
                         f"output_padding={output_padding}); it must be >= 1, so use less padding")
    formula = (f"{axis}_out = ({axis}_in {MINUS} 1){TIMES}stride {MINUS} 2{TIMES}padding + "
               f"dilation{TIMES}(kernel_size {MINUS} 1) + output_padding + 1")
    plugged = (f"({size} {MINUS} 1){TIMES}{stride} {MINUS} 2{TIMES}{padding} + "
               f"{dilation}{TIMES}({kernel_size} {MINUS} 1) + {output_padding} + 1")
    (span,) = geometry.kernel_span((kernel_size,), (dilation,))
    mid = f"{(size - 1) * stride} {MINUS} {2 * padding} + {span - 1} + {output_padding} + 1"
    return Derivation(value, formula, _chain(plugged, mid, value))


def conv_transpose_output_shape(input_shape, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                                groups=1, dilation=1, *, ndim=None) -> Derivation:
    """Full output shape of ``ConvTransposeNd(C_in, out_channels, kernel_size, …)`` on ``input_shape``.

    Shape
    -----
    Input ``(N, C_in, *spatial)`` or ``(C_in, *spatial)``; output
    ``(N, C_out, *spatial_out)`` with each spatial size from
    :func:`conv_transpose_output_size` (in ``parts``). ``ndim`` works as in
    :func:`conv_output_shape`. The argument order is torch's (``groups`` before ``dilation``).

    Examples
    --------
    >>> conv_transpose_output_shape((20, 16, 30), 33, 3, stride=2, padding=2, output_padding=1, dilation=3).text
    '(20, 33, 58 − 4 + 6 + 1 + 1) = (20, 33, 62)'
    >>> conv_transpose_output_shape((20, 16, 50, 100), 33, (3, 5), stride=(2, 1), padding=(4, 2)).value
    (20, 33, 93, 100)
    >>> conv_transpose_output_shape((20, 16, 50, 100), 33, 3, stride=(2, 1), padding=(4, 2),
    ...                             output_padding=(1, 0)).value
    (20, 33, 94, 98)
    """
    batch, c_in, spatial, nd = _spatial_split(input_shape, ndim, kernel_size, stride, padding, dilation,
                                              extra=(output_padding,))
    out_channels = _int(out_channels, "out_channels", minimum=1)
    _check_groups(c_in, out_channels, groups)
    k = _tuple(kernel_size, nd, "kernel_size", minimum=1)
    s = _tuple(stride, nd, "stride", minimum=1)
    d = _tuple(dilation, nd, "dilation", minimum=1)
    p = _tuple(padding, nd, "padding", minimum=0)
    op = _tuple(output_padding, nd, "output_padding", minimum=0)
    names = _axis_names(nd)
    parts = tuple(conv_transpose_output_size(spatial[i], k[i], s[i], p[i], op[i], d[i], axis=names[i])
                  for i in range(nd))
    return _shape_derivation(batch, out_channels, parts, names)


def _range_1d(size, kernel_size, stride, padding, dilation, axis="L") -> Derivation:
    size = _int(size, f"{axis}_in", minimum=1)
    kernel_size = _int(kernel_size, "kernel_size", minimum=1)
    stride = _int(stride, "stride", minimum=1)
    padding = _int(padding, "padding", minimum=0)
    dilation = _int(dilation, "dilation", minimum=1)
    (lo,), (hi,) = geometry.output_size_range((size,), (kernel_size,), (stride,), (padding,), (dilation,))
    (span,) = geometry.kernel_span((kernel_size,), (dilation,))
    if hi < 1:
        raise ValueError(f"no output size is possible along {axis}: with output_padding 0 the transposed "
                         f"convolution gives {lo} and at most {hi} (input {size}, kernel_size={kernel_size}, "
                         f"stride={stride}, padding={padding}, dilation={dilation}); it must be >= 1, so use "
                         f"less padding")
    formula = (f"{axis}_out ∈ [lo, lo + stride {MINUS} 1], lo = ({axis}_in {MINUS} 1){TIMES}stride {MINUS} "
               f"2{TIMES}padding + dilation{TIMES}(kernel_size {MINUS} 1) + 1 (output_padding 0), {axis}_out >= 1")
    steps = [f"lo = ({size} {MINUS} 1){TIMES}{stride} {MINUS} 2{TIMES}{padding} + "
             f"{dilation}{TIMES}({kernel_size} {MINUS} 1) + 0 + 1 = {(size - 1) * stride} {MINUS} {2 * padding} + "
             f"{span - 1} + 0 + 1 = {lo}",
             f"hi = lo + stride {MINUS} 1 = {lo} + {stride} {MINUS} 1 = {hi}"]
    if lo < 1:
        steps.append(f"an output needs at least 1 cell, so lo = max({lo}, 1) = 1")
    value = (max(lo, 1), hi)
    steps.append(f"(lo, hi) = {value}")
    # numerator holds the unclipped lo (output_size − numerator is the output_padding torch uses)
    return Derivation(value, formula, tuple(steps), numerator=lo, sep="; ")


def conv_transpose_output_range(size, kernel_size, stride=1, padding=0, dilation=1) -> Derivation:
    """The ``(lo, hi)`` range of ``output_size`` values a transposed convolution accepts.

    ``lo`` is the output size with ``output_padding = 0``; ``output_padding`` (or
    ``output_size``) may add up to ``stride − 1`` more cells, so ``hi = lo + stride − 1``
    (torch's rule for ``output_size``). An output needs at least one cell, so a
    ``lo`` below 1 is raised to 1 (``numerator`` keeps the unclipped ``lo``). These are exactly the input sizes that
    the matching convolution maps back to ``size``.

    Shape
    -----
    One axis (``size`` an int): value ``(lo, hi)``. Several axes (``size`` a
    tuple, the other arguments ints or tuples): value ``(lo_tuple, hi_tuple)``
    and ``parts`` holds one range per axis.

    Examples
    --------
    The article's up-sample example, ``ConvTranspose2d(16, 16, 3, stride=2, padding=1)`` on 6:

    >>> d = conv_transpose_output_range(6, 3, stride=2, padding=1)
    >>> d.value
    (11, 12)
    >>> d.text
    'lo = (6 − 1)·2 − 2·1 + 1·(3 − 1) + 0 + 1 = 10 − 2 + 2 + 0 + 1 = 11; hi = lo + stride − 1 = 11 + 2 − 1 = 12; (lo, hi) = (11, 12)'
    >>> lo, hi = conv_transpose_output_range((12, 25), 3, stride=2, padding=1)
    >>> lo, hi
    ((23, 49), (24, 50))
    """
    if isinstance(size, (tuple, list)):
        nd = len(size)
        k = _tuple(kernel_size, nd, "kernel_size", minimum=1)
        s = _tuple(stride, nd, "stride", minimum=1)
        p = _tuple(padding, nd, "padding", minimum=0)
        d = _tuple(dilation, nd, "dilation", minimum=1)
        names = _axis_names(nd)
        parts = tuple(_range_1d(size[i], k[i], s[i], p[i], d[i], axis=names[i]) for i in range(nd))
        lo = tuple(pt.value[0] for pt in parts)
        hi = tuple(pt.value[1] for pt in parts)
        formula = "(lo, hi) per axis: " + "; ".join(pt.formula for pt in parts)
        steps = tuple(f"{n}: {pt.text}" for n, pt in zip(names, parts)) + (
            f"(lo, hi) = ({_fmt_tuple(lo)}, {_fmt_tuple(hi)})",)
        return Derivation((lo, hi), formula, steps, parts=parts, sep="; ")
    return _range_1d(size, kernel_size, stride, padding, dilation)


def output_padding_for(size, output_size, kernel_size, stride=1, padding=0, dilation=1) -> Derivation:
    """The ``output_padding`` a transposed convolution needs to produce ``output_size``.

    This is what ``m(x, output_size=...)`` computes: ``output_padding = output_size − lo``
    with ``lo`` the output size at ``output_padding = 0``; ``output_size`` must lie in
    :func:`conv_transpose_output_range`, else ``ValueError`` naming that range.

    Shape
    -----
    ``output_padding = L_target − ((L_in − 1)·stride − 2·padding + dilation·(kernel_size − 1) + 1)``.
    ``size`` and ``output_size`` are both ints (one axis) or both tuples (one entry per axis).

    Examples
    --------
    The article's up-sample example: the down-sampling ``Conv2d(16, 16, 3, stride=2,
    padding=1)`` maps 12 (and 11) to 6; going back to 12 needs ``output_padding = 1``:

    >>> output_padding_for(6, 12, 3, stride=2, padding=1).text
    'lo = (6 − 1)·2 − 2·1 + 1·(3 − 1) + 0 + 1 = 10 − 2 + 2 + 0 + 1 = 11; output_padding = 12 − 11 = 1'
    >>> output_padding_for((6, 6), (12, 12), 3, stride=2, padding=1).value
    (1, 1)
    >>> output_padding_for(6, 13, 3, stride=2, padding=1)
    Traceback (most recent call last):
    ...
    ValueError: output_size 13 is not in [11, 12] for input 6
    """
    multi = isinstance(size, (tuple, list))
    if multi != isinstance(output_size, (tuple, list)):
        raise TypeError(f"size and output_size must both be ints or both be tuples, got size={size!r}, "
                        f"output_size={output_size!r}")
    if multi:
        if len(size) != len(output_size):
            raise ValueError(f"output_size must have {len(size)} entries like size, got output_size="
                             f"{tuple(output_size)!r} for size {tuple(size)!r}")
        rng = conv_transpose_output_range(tuple(size), kernel_size, stride, padding, dilation)
        target = tuple(_int(o, "output_size") for o in output_size)
        lo, hi = rng.value
        if any(not a <= t <= b for t, a, b in zip(target, lo, hi)):
            raise ValueError(f"output_size {_fmt_tuple(target)} is not in [{_fmt_tuple(lo)}, {_fmt_tuple(hi)}] "
                             f"for input {_fmt_tuple(tuple(size))}")
        nd = len(size)
        parts = tuple(output_padding_for(s_, t, k_, st, p_, d_) for s_, t, k_, st, p_, d_ in zip(
            size, target, _tuple(kernel_size, nd, "kernel_size"), _tuple(stride, nd, "stride"),
            _tuple(padding, nd, "padding"), _tuple(dilation, nd, "dilation")))
        value = tuple(pt.value for pt in parts)
        names = _axis_names(len(size))
        formula = "output_padding per axis: " + parts[0].formula
        steps = tuple(f"{n}: {pt.text}" for n, pt in zip(names, parts)) + (f"output_padding = {_fmt_tuple(value)}",)
        return Derivation(value, formula, steps, parts=parts, sep="; ")
    rng = _range_1d(size, kernel_size, stride, padding, dilation)
    target = _int(output_size, "output_size")
    lo, hi = rng.value
    if not lo <= target <= hi:
        raise ValueError(f"output_size {target} is not in [{lo}, {hi}] for input {size}")
    lo = rng.numerator              # the unclipped size at output_padding 0
    value = target - lo
    formula = (f"output_padding = L_target {MINUS} lo, lo = (L_in {MINUS} 1){TIMES}stride {MINUS} 2{TIMES}padding + "
               f"dilation{TIMES}(kernel_size {MINUS} 1) + 1")
    steps = (rng.steps[0], f"output_padding = {target} {MINUS} {lo} = {value}")
    return Derivation(value, formula, steps, parts=(), sep="; ")


# --------------------------------------------------------------------------- Unfold / Fold

def unfold_block_count(input_size, kernel_size, dilation=1, padding=0, stride=1) -> Derivation:
    """Number of sliding blocks ``L`` that ``Unfold`` extracts (the last dim of its output).

    Shape
    -----
    ``L = ∏_d (⌊(size[d] + 2·padding[d] − dilation[d]·(kernel_size[d] − 1) − 1) / stride[d]⌋ + 1)``
    over the spatial axes of ``input_size`` (``(H, W)`` for ``Unfold``);
    ``parts`` holds each axis's count. Argument order as ``nn.Unfold``.

    Examples
    --------
    >>> d = unfold_block_count((4, 5), 2)
    >>> d.value, d.text
    (12, '(⌊2 / 1⌋ + 1)·(⌊3 / 1⌋ + 1) = 3·4 = 12')
    >>> unfold_block_count((50, 100), 3, stride=2).value        # the blocks Conv2d(…, 3, stride=2) uses
    1176
    """
    if not isinstance(input_size, (tuple, list)):
        input_size = (input_size,)
    nd = len(input_size)
    if nd == 0:
        raise ValueError("input_size must have at least one spatial size")
    k = _tuple(kernel_size, nd, "kernel_size", minimum=1)
    d = _tuple(dilation, nd, "dilation", minimum=1)
    p = _tuple(padding, nd, "padding", minimum=0)
    s = _tuple(stride, nd, "stride", minimum=1)
    names = _axis_names(nd)
    parts = tuple(conv_output_size(input_size[i], k[i], s[i], p[i], d[i], axis=names[i]) for i in range(nd))
    value = math.prod(pt.value for pt in parts)
    formula = "L = " + f" {TIMES} ".join(f"{n}_blocks" for n in names) + " where " + "; ".join(
        pt.formula.replace("_out =", "_blocks =", 1) for pt in parts)
    if nd == 1:
        steps = _chain(_last_form(parts[0]), value)
    else:
        steps = _chain(TIMES.join(f"({_last_form(pt)})" for pt in parts),
                       TIMES.join(str(pt.value) for pt in parts), value)
    return Derivation(value, formula, steps, parts=parts)


def fold_check(num_blocks, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Derivation:
    """Whether ``Fold(output_size, kernel_size, …)`` accepts an input with ``num_blocks`` blocks.

    ``Fold`` puts the blocks back on a grid of ``output_size``; its input's last
    dimension must be exactly the number of blocks ``Unfold`` would cut from
    that grid (:func:`unfold_block_count`).

    Shape
    -----
    value ``num_blocks == ∏_d (⌊(output_size[d] + 2·padding[d] − dilation[d]·(kernel_size[d] − 1) − 1) / stride[d]⌋ + 1)``.

    Examples
    --------
    >>> fold_check(12, (4, 5), 2).text
    'expected L = (⌊2 / 1⌋ + 1)·(⌊3 / 1⌋ + 1) = 3·4 = 12; given L = 12; (12 == 12) = True'
    >>> bool(fold_check(10, (4, 5), 2))
    False
    """
    num_blocks = _int(num_blocks, "num_blocks", minimum=0)
    expected = unfold_block_count(output_size, kernel_size, dilation, padding, stride)
    ok = num_blocks == expected.value
    formula = f"given L == expected L, {expected.formula.replace('L = ', 'expected L = ', 1)}"
    steps = (f"expected L = {expected.text}", f"given L = {num_blocks}",
             f"({num_blocks} == {expected.value}) = {ok}")
    return Derivation(ok, formula, steps, parts=expected.parts, sep="; ")


# --------------------------------------------------------------------------- weights

def _kernel(kernel_size, ndim):
    if isinstance(kernel_size, (tuple, list)):
        if ndim is not None and len(kernel_size) != ndim:
            raise ValueError(f"kernel_size {tuple(kernel_size)!r} does not have ndim={ndim} entries")
        return _tuple(kernel_size, len(kernel_size), "kernel_size", minimum=1)
    return _tuple(kernel_size, 1 if ndim is None else _int(ndim, "ndim", minimum=1), "kernel_size", minimum=1)


def conv_weight_shape(in_channels, out_channels, kernel_size, groups=1, transposed=False, *, ndim=None) -> Derivation:
    """Shape of a convolution layer's ``weight``.

    Shape
    -----
    Conv: ``(out_channels, in_channels / groups, *kernel_size)``.
    ConvTranspose (``transposed=True``): ``(in_channels, out_channels / groups, *kernel_size)``
    — the article prints the Conv layout for ConvTranspose too; this is the one torch uses.
    An int ``kernel_size`` means one axis unless ``ndim`` says more.

    Examples
    --------
    >>> conv_weight_shape(16, 33, 3).text
    '(33, 16/1, 3) = (33, 16, 3)'
    >>> conv_weight_shape(16, 24, 3, groups=2).value
    (24, 8, 3)
    >>> conv_weight_shape(16, 33, (3, 5), transposed=True).value
    (16, 33, 3, 5)
    >>> conv_weight_shape(16, 33, 3, ndim=3).value
    (33, 16, 3, 3, 3)
    """
    in_channels = _int(in_channels, "in_channels", minimum=1)
    out_channels = _int(out_channels, "out_channels", minimum=1)
    groups = _check_groups(in_channels, out_channels, groups)
    k = _kernel(kernel_size, ndim)
    ks = ", ".join(str(x) for x in k)
    ksym = ", ".join(f"kernel_size[{i}]" for i in range(len(k))) if len(k) > 1 else "kernel_size"
    if transposed:
        value = (in_channels, out_channels // groups) + k
        formula = f"weight.shape = (in_channels, out_channels/groups, {ksym})"
        plugged = f"({in_channels}, {out_channels}/{groups}, {ks})"
    else:
        value = (out_channels, in_channels // groups) + k
        formula = f"weight.shape = (out_channels, in_channels/groups, {ksym})"
        plugged = f"({out_channels}, {in_channels}/{groups}, {ks})"
    return Derivation(value, formula, _chain(plugged, _fmt_tuple(value)))


def parameter_count(in_channels, out_channels, kernel_size, groups=1, bias=True, transposed=False, *,
                    ndim=None) -> Derivation:
    """Number of learnable numbers in a convolution layer: weight plus bias.

    Shape
    -----
    ``out_channels·(in_channels/groups)·∏kernel_size + out_channels`` (the bias term
    only with ``bias=True``). The ConvTranspose weight ``(in, out/groups, *k)`` holds
    the same count, so ``transposed`` changes only the wording.

    Examples
    --------
    >>> parameter_count(16, 33, 3).text                 # nn.Conv1d(16, 33, 3, stride=2)
    '33·(16/1)·3 + 33 = 33·16·3 + 33 = 1584 + 33 = 1617'
    >>> parameter_count(16, 24, 3, groups=2, bias=False).value
    576
    """
    w = conv_weight_shape(in_channels, out_channels, kernel_size, groups, transposed, ndim=ndim)
    if not isinstance(bias, bool):
        raise TypeError(f"bias must be True or False, got {bias!r}")
    k = w.value[2:]
    n_weight = math.prod(w.value)
    n_bias = out_channels if bias else 0
    ktxt = TIMES.join(str(x) for x in k)
    ksym = TIMES.join(f"kernel_size[{i}]" for i in range(len(k))) if len(k) > 1 else "kernel_size"
    if transposed:
        formula = f"count = in_channels{TIMES}(out_channels/groups){TIMES}{ksym}"
        f1 = f"{in_channels}{TIMES}({out_channels}/{groups}){TIMES}{ktxt}"
        f2 = f"{in_channels}{TIMES}{out_channels // groups}{TIMES}{ktxt}"
    else:
        formula = f"count = out_channels{TIMES}(in_channels/groups){TIMES}{ksym}"
        f1 = f"{out_channels}{TIMES}({in_channels}/{groups}){TIMES}{ktxt}"
        f2 = f"{out_channels}{TIMES}{in_channels // groups}{TIMES}{ktxt}"
    if bias:
        formula += " + out_channels"
        forms = (f"{f1} + {out_channels}", f"{f2} + {out_channels}", f"{n_weight} + {n_bias}", n_weight + n_bias)
    else:
        forms = (f1, f2, n_weight)
    return Derivation(n_weight + n_bias, formula, _chain(*forms), parts=(w,))


def init_bound(in_channels, out_channels, kernel_size, groups=1, transposed=False, *, ndim=None) -> Derivation:
    """The bound ``√k`` of the uniform ``U(−√k, √k)`` that initialises weight and bias.

    Shape
    -----
    Conv: ``k = groups / (C_in·∏kernel_size)``; ConvTranspose: ``k = groups / (C_out·∏kernel_size)``.
    (``1/k`` is the number of inputs one output sums over, the "fan-in" of the weight.)

    Examples
    --------
    >>> d = init_bound(16, 33, 3)                       # nn.Conv1d(16, 33, 3)
    >>> d.text
    '√(1 / (16·3)) = √(1 / 48) = 0.144338'
    >>> round(d.value, 6)
    0.144338
    >>> round(init_bound(16, 33, 3, transposed=True).value, 6)   # nn.ConvTranspose1d(16, 33, 3)
    0.100504
    """
    w = conv_weight_shape(in_channels, out_channels, kernel_size, groups, transposed, ndim=ndim)
    k = w.value[2:]
    groups = _int(groups, "groups")
    chan, csym = (out_channels, "C_out") if transposed else (in_channels, "C_in")
    fan = chan * math.prod(k)
    value = math.sqrt(groups / fan)
    ksym = TIMES.join(f"kernel_size[{i}]" for i in range(len(k))) if len(k) > 1 else "kernel_size"
    formula = f"bound = √k, k = groups / ({csym}{TIMES}{ksym})"
    plugged = f"√({groups} / ({chan}{TIMES}{TIMES.join(str(x) for x in k)}))"
    steps = _chain(plugged, f"√({groups} / {fan})", f"{value:.6g}")
    return Derivation(value, formula, steps, parts=(w,))
