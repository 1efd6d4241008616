"""Predict, then check: questions about convolution layers, and a diagnosis of wrong answers.

Pure logic (no widgets; ``convlab.viz.predict`` puts a text box on it). A
:class:`Question` asks for an output shape, one output length, a weight shape, a
parameter count or the ``output_padding`` that gives a wanted size. :func:`check`
reads the learner's answer ("(20, 33, 24)", "20,33,24", "[20 33 24]", "24"),
says whether it is right, gives the right answer with its derivation, and, if it
is wrong, names the likely mistake: the answer is recomputed under each
mistaken rule of :data:`MISTAKES` and the rules that reproduce it are named.

>>> from convlab import quiz
>>> q = quiz.Question("output_shape", quiz.Layer("Conv1d", 16, 33, 3, stride=2, dilation=3), (20, 16, 50))
>>> v = quiz.check(q, "(20, 33, 24)")
>>> v.correct, v.expected, v.mistakes
(False, (20, 33, 22), ('dilation_ignored',))
>>> quiz.check(q, "20,33,22").correct
True
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from fractions import Fraction

__all__ = ["MISTAKES", "KINDS", "Layer", "Question", "Verdict", "parse_answer", "solve", "check",
           "article_questions"]

#: The catalogue of mistaken rules, each with what the learner did.
MISTAKES = {
    "dilation_ignored": "dilation ignored: the kernel was taken as kernel_size cells wide, "
                        "not dilation·(kernel_size − 1) + 1",
    "floor_missed": "floor missed: the division by stride was rounded up (or not rounded) instead of floored",
    "padding_once": "padding counted once: padding is added on both sides, so the formula has 2·padding",
    "stride_ignored": "stride ignored: the formula was used as if stride = 1",
    "output_padding_ignored": "output_padding ignored: it adds output_padding cells to one side of the output",
    "conv_formula_for_transpose": "the Conv formula was used for a ConvTranspose: "
                                  "(L_in − 1)·stride − 2·padding + dilation·(kernel_size − 1) + output_padding + 1",
    "in_out_swapped": "in/out channels swapped: Conv weight is (out_channels, in_channels/groups, *k), "
                      "ConvTranspose weight is (in_channels, out_channels/groups, *k)",
    "groups_forgotten": "/groups forgotten: each filter sees only in_channels/groups channels "
                        "(ConvTranspose: out_channels/groups)",
    "bias_forgotten": "bias forgotten: bias=True adds out_channels parameters",
}

#: Question kinds and the rules that can explain a wrong answer to each.
KINDS = {
    "output_shape": ("dilation_ignored", "floor_missed", "padding_once", "stride_ignored",
                     "output_padding_ignored", "conv_formula_for_transpose"),
    "output_size": ("dilation_ignored", "floor_missed", "padding_once", "stride_ignored",
                    "output_padding_ignored", "conv_formula_for_transpose"),
    "weight_shape": ("in_out_swapped", "groups_forgotten"),
    "parameter_count": ("groups_forgotten", "bias_forgotten"),
    "output_padding": ("dilation_ignored", "padding_once", "stride_ignored"),
}

_CONV_ONLY = {"floor_missed"}                                    # rules that only exist for Conv
_TRANSPOSE_ONLY = {"output_padding_ignored", "conv_formula_for_transpose"}


def _tup(v, nd):
    return tuple(int(a) for a in v) if isinstance(v, (tuple, list)) else (int(v),) * nd


@dataclass(frozen=True)
class Layer:
    """A convolution layer's constructor arguments (``type`` as torch.nn names it, e.g. ``"Conv2d"``).

    >>> str(Layer("ConvTranspose1d", 16, 33, 3, stride=2, padding=2, output_padding=1))
    'nn.ConvTranspose1d(16, 33, 3, stride=2, padding=2, output_padding=1)'
    """

    type: str
    in_channels: int
    out_channels: int
    kernel_size: object
    stride: object = 1
    padding: object = 0
    dilation: object = 1
    groups: int = 1
    bias: bool = True
    output_padding: object = 0

    @property
    def transposed(self) -> bool:
        return self.type.startswith("ConvTranspose")

    @property
    def nd(self) -> int:
        return int(self.type[-2])

    def axes(self):
        """Per-axis ``(kernel_size, stride, padding, dilation, output_padding)`` tuples."""
        n = self.nd
        return (_tup(self.kernel_size, n), _tup(self.stride, n), _tup(self.padding, n), _tup(self.dilation, n),
                _tup(self.output_padding, n))

    def kwargs(self) -> dict:
        kw = dict(stride=self.stride, padding=self.padding, dilation=self.dilation, groups=self.groups,
                  bias=self.bias)
        if self.transposed:
            kw["output_padding"] = self.output_padding
        return kw

    def build(self, module=None):
        """The layer itself, from ``convlab.nn`` (or from ``module``, e.g. ``torch.nn``)."""
        if module is None:
            from . import nn as module
        return getattr(module, self.type)(self.in_channels, self.out_channels, self.kernel_size, **self.kwargs())

    def __str__(self):
        defaults = {"stride": 1, "padding": 0, "dilation": 1, "groups": 1, "bias": True, "output_padding": 0}
        extra = [f"{k}={getattr(self, k)!r}" for k, d in defaults.items()
                 if getattr(self, k) != d and not (k == "output_padding" and not self.transposed)]
        args = [str(self.in_channels), str(self.out_channels), repr(self.kernel_size)] + extra
        return f"nn.{self.type}({', '.join(args)})"


@dataclass(frozen=True)
class Question:
    """A question about ``layer``. ``kind``: one of :data:`KINDS`; ``input_shape`` (full, with batch and
    channels) for ``output_shape`` / ``output_size`` / ``output_padding``; ``target`` the wanted output
    spatial size for ``output_padding``; ``axis`` which spatial axis ``output_size`` asks about."""

    kind: str
    layer: Layer
    input_shape: tuple | None = None
    target: tuple | None = None
    axis: int = 0
    source: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown question kind {self.kind!r}; known: {sorted(KINDS)}")
        if self.kind in ("output_shape", "output_size", "output_padding") and self.input_shape is None:
            raise ValueError(f"a {self.kind!r} question needs input_shape")

    @property
    def text(self) -> str:
        L = str(self.layer)
        if self.kind == "output_shape":
            return f"m = {L}; what is m(x).shape for x of shape {tuple(self.input_shape)}?"
        if self.kind == "output_size":
            name = "LHW"[self.axis] if self.layer.nd == 1 else ("HW" if self.layer.nd == 2 else "DHW")[self.axis]
            return f"m = {L}; x has shape {tuple(self.input_shape)}. What is {name}_out?"
        if self.kind == "weight_shape":
            return f"m = {L}; what is m.weight.shape?"
        if self.kind == "parameter_count":
            return f"m = {L}; how many learnable numbers does it hold (weight and bias)?"
        return (f"m = {L} without output_padding; x has shape {tuple(self.input_shape)}. Which output_padding "
                f"makes the output's spatial size {tuple(self.target)}?")

    @property
    def answer(self) -> tuple:
        return solve(self)


def parse_answer(text) -> tuple:
    """The numbers in a typed answer, as a tuple (ints where integral).

    >>> parse_answer("(20, 33, 24)"), parse_answer("20,33,24"), parse_answer("[20 33 24]"), parse_answer("24")
    ((20, 33, 24), (20, 33, 24), (20, 33, 24), (24,))
    >>> parse_answer("torch.Size([1, 16, 6, 6])"), parse_answer("24.5")
    ((1, 16, 6, 6), (24.5,))
    """
    if isinstance(text, (int, float)):
        return (text,)
    if isinstance(text, (tuple, list)):
        return tuple(text)
    nums = re.findall(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?", str(text).replace("Size", " "))
    out = []
    for s in nums:
        v = float(s)
        out.append(int(v) if v == int(v) and "." not in s and "e" not in s.lower() else v)
    return tuple(out)


# --------------------------------------------------------------------------- the rules

def _conv_len(n, k, s, p, d, rule):
    if rule == "dilation_ignored":
        d = 1
    if rule == "stride_ignored":
        s = 1
    pad = p if rule == "padding_once" else 2 * p
    num = n + pad - d * (k - 1) - 1
    if rule == "floor_missed":
        return -(-num // s) + 1
    if rule == "floor_missed_exact":
        q = Fraction(num, s) + 1
        return int(q) if q.denominator == 1 else float(q)
    return num // s + 1


def _transpose_len(n, k, s, p, d, op, rule):
    if rule == "conv_formula_for_transpose":
        return _conv_len(n, k, s, p, d, None)
    if rule == "dilation_ignored":
        d = 1
    if rule == "stride_ignored":
        s = 1
    if rule == "output_padding_ignored":
        op = 0
    pad = p if rule == "padding_once" else 2 * p
    return (n - 1) * s - pad + d * (k - 1) + op + 1


def _spatial(layer, spatial, rule):
    k, s, p, d, op = layer.axes()
    if layer.transposed:
        return tuple(_transpose_len(n, *a, rule) for n, a in zip(spatial, zip(k, s, p, d, op)))
    return tuple(_conv_len(n, *a, rule) for n, a in zip(spatial, zip(k, s, p, d)))


def solve(question: Question, rule: str | None = None) -> tuple:
    """The answer to ``question`` (a tuple), or the answer a learner following mistaken ``rule`` would give.

    >>> q = Question("weight_shape", Layer("ConvTranspose1d", 16, 33, 3))
    >>> solve(q), solve(q, "in_out_swapped")
    ((16, 33, 3), (33, 16, 3))
    """
    layer = question.layer
    kind = question.kind
    cin, cout, g = layer.in_channels, layer.out_channels, layer.groups
    kernel = layer.axes()[0]
    if kind in ("output_shape", "output_size"):
        n, _, *spatial = question.input_shape
        out = _spatial(layer, spatial, rule)
        return (n, cout) + out if kind == "output_shape" else (out[question.axis],)
    if kind == "weight_shape":
        swap = rule == "in_out_swapped"
        first, second = (cin, cout) if layer.transposed != swap else (cout, cin)
        return (first, second if rule == "groups_forgotten" else second // g) + kernel
    if kind == "parameter_count":
        per = cin if rule == "groups_forgotten" else cin // g
        count = cout * per * math.prod(kernel)
        if layer.bias and rule != "bias_forgotten":
            count += cout
        return (count,)
    # output_padding: the cells output_padding must add to the size made without it
    base = replace(layer, output_padding=0)
    made = _spatial(base, question.input_shape[2:], rule)
    return tuple(t - m for t, m in zip(question.target, made))


# --------------------------------------------------------------------------- checking

@dataclass
class Verdict:
    """The outcome of :func:`check`. ``mistakes``: names from :data:`MISTAKES` whose rule reproduces
    the wrong answer (empty when right, or when no single rule explains it)."""

    correct: bool
    expected: tuple
    given: tuple
    mistakes: tuple = ()
    compared: str = "full"
    derivation: str = ""
    message: str = ""
    explanations: tuple = field(default=())

    @property
    def mistake(self) -> str | None:
        return self.mistakes[0] if self.mistakes else None


def _fmt(t):
    return str(t[0]) if len(t) == 1 else "(" + ", ".join(str(v) for v in t) + ")"


def _same(a, b) -> bool:
    return len(a) == len(b) and all(abs(float(x) - float(y)) < 1e-9 for x, y in zip(a, b))


def _derivation(question: Question) -> str:
    """The right answer with the numbers plugged in (from ``convlab.shapes`` when it is there)."""
    layer = question.layer
    k, s, p, d, op = layer.axes()
    try:
        from . import shapes
        if question.kind in ("output_shape", "output_size"):
            spatial = question.input_shape[2:]
            axes = range(len(spatial)) if question.kind == "output_shape" else [question.axis]
            if layer.transposed:
                parts = [shapes.conv_transpose_output_size(spatial[a], k[a], s[a], p[a], op[a], d[a]).text
                         for a in axes]
            else:
                parts = [shapes.conv_output_size(spatial[a], k[a], s[a], p[a], d[a]).text for a in axes]
            return "; ".join(parts)
        if question.kind == "weight_shape":
            return shapes.conv_weight_shape(layer.in_channels, layer.out_channels, k, layer.groups,
                                            layer.transposed).text
        if question.kind == "parameter_count":
            return shapes.parameter_count(layer.in_channels, layer.out_channels, k, layer.groups, layer.bias,
                                          layer.transposed).text
    except Exception:   # shapes missing or different: the formula below still tells the answer
        pass
    if question.kind == "output_padding":
        made = solve(replace(question, target=(0,) * len(question.target)))
        made = tuple(-m for m in made)
        return f"without output_padding the output is {_fmt(made)}; {_fmt(question.target)} − {_fmt(made)}"
    return ""


def check(question: Question, answer) -> Verdict:
    """Compare ``answer`` (text or numbers) with the right answer and diagnose a wrong one.

    For ``output_shape`` an answer with only the spatial sizes is compared with the spatial part.
    Each mistaken rule that applies to the question is replayed (:func:`solve` with ``rule=``); those
    whose answer equals the learner's, and differs from the right one, are the verdict's ``mistakes``.

    >>> q = Question("weight_shape", Layer("ConvTranspose1d", 16, 33, 3))
    >>> check(q, "(33, 16, 3)").mistakes
    ('in_out_swapped',)
    """
    given = parse_answer(answer)
    expected = solve(question)
    compared = "full"
    exp_cmp = expected
    if question.kind == "output_shape" and len(given) == len(expected) - 2:
        compared, exp_cmp = "spatial", expected[2:]
    derivation = _derivation(question)
    if not given:
        return Verdict(False, expected, given, (), compared, derivation,
                       f"I could not read a number in {answer!r}. The answer is {_fmt(expected)}.")
    if _same(given, exp_cmp):
        return Verdict(True, expected, given, (), compared, derivation, f"Right: {_fmt(expected)}.")
    found = []
    rules = KINDS[question.kind]
    for rule in rules:
        if rule in _TRANSPOSE_ONLY and not question.layer.transposed:
            continue
        if rule in _CONV_ONLY and question.layer.transposed:
            continue
        variants = [rule, "floor_missed_exact"] if rule == "floor_missed" else [rule]
        for variant in variants:
            wrong = solve(question, variant)
            if compared == "spatial":
                wrong = wrong[2:]
            if not _same(wrong, exp_cmp) and _same(wrong, given):
                found.append(rule)
                break
    expl = tuple(MISTAKES[m] for m in found)
    if found:
        msg = f"Not quite: the answer is {_fmt(expected)}. Likely mistake: {expl[0]}."
    else:
        msg = f"Not quite: the answer is {_fmt(expected)}."
    return Verdict(False, expected, given, tuple(found), compared, derivation, msg, expl)


# --------------------------------------------------------------------------- the article's examples

def article_questions() -> list:
    """Questions built from the article's examples (its printed shapes, the weight shapes it states
    — correcting its ConvTranspose layout — and the down-sample / up-sample example).

    >>> qs = article_questions()
    >>> len(qs) > 20, qs[0].answer
    (True, (20, 33, 24))
    """
    qs = []
    x1, x2, x3 = (20, 16, 50), (20, 16, 50, 100), (20, 16, 10, 50, 100)
    conv1d = [Layer("Conv1d", 16, 33, 3, stride=2), Layer("Conv1d", 16, 33, 5, stride=2),
              Layer("Conv1d", 16, 33, 3, stride=3), Layer("Conv1d", 16, 33, 3, stride=2, padding=2),
              Layer("Conv1d", 16, 33, 3, stride=2, dilation=3), Layer("Conv1d", 16, 24, 3, stride=2),
              Layer("Conv1d", 16, 24, 3, stride=2, groups=2)]
    qs += [Question("output_shape", L, x1, source="article 1.4 (Conv1d)") for L in conv1d]
    conv2d = [Layer("Conv2d", 16, 33, 3, stride=2), Layer("Conv2d", 16, 33, (3, 5), stride=(2, 1), padding=(4, 2)),
              Layer("Conv2d", 16, 33, (3, 5), stride=(2, 1), padding=(4, 2), dilation=(3, 1))]
    qs += [Question("output_shape", L, x2, source="article 2.4 (Conv2d)") for L in conv2d]
    conv3d = [Layer("Conv3d", 16, 33, 3, stride=2),
              Layer("Conv3d", 16, 33, (3, 5, 2), stride=(2, 1, 1), padding=(4, 2, 0))]
    qs += [Question("output_shape", L, x3, source="article 3.4 (Conv3d)") for L in conv3d]
    t1d = [Layer("ConvTranspose1d", 16, 33, 3, stride=2), Layer("ConvTranspose1d", 16, 33, 3, stride=2, padding=2),
           Layer("ConvTranspose1d", 16, 33, 3, stride=2, padding=2, output_padding=1),
           Layer("ConvTranspose1d", 16, 33, 3, stride=2, padding=2, output_padding=1, dilation=3)]
    qs += [Question("output_size", L, (20, 16, 30), source="article ConvTranspose1d example") for L in t1d]
    t2d = [Layer("ConvTranspose2d", 16, 33, 3, stride=2),
           Layer("ConvTranspose2d", 16, 33, (3, 5), stride=(2, 1), padding=(4, 2)),
           Layer("ConvTranspose2d", 16, 33, 3, stride=(2, 1), padding=(4, 2), output_padding=(1, 0))]
    qs += [Question("output_shape", L, x2, source="article ConvTranspose2d example") for L in t2d]
    t3d = [Layer("ConvTranspose3d", 16, 33, 3, stride=2),
           Layer("ConvTranspose3d", 16, 33, (3, 5, 2), stride=(2, 1, 1), padding=(0, 4, 2)),
           Layer("ConvTranspose3d", 16, 33, (3, 5, 2), stride=(2, 1, 1), padding=(0, 4, 2), output_padding=(1, 0, 0))]
    qs += [Question("output_shape", L, x3, source="article ConvTranspose3d example") for L in t3d]
    qs += [Question("weight_shape", L, source="article: weight attribute")
           for L in (Layer("Conv1d", 16, 33, 3), Layer("Conv1d", 16, 24, 3, groups=2), Layer("Conv2d", 16, 33, (3, 5)),
                     Layer("ConvTranspose1d", 16, 33, 3), Layer("ConvTranspose2d", 16, 33, (3, 5), groups=1),
                     Layer("ConvTranspose1d", 16, 24, 3, groups=2))]
    qs += [Question("parameter_count", L, source="article: weight and bias attributes")
           for L in (Layer("Conv1d", 16, 33, 3, stride=2), Layer("Conv1d", 16, 24, 3, stride=2, groups=2),
                     Layer("Conv2d", 16, 33, (3, 5), bias=False))]
    down = Layer("Conv2d", 16, 16, 3, stride=2, padding=1)
    up = Layer("ConvTranspose2d", 16, 16, 3, stride=2, padding=1)
    qs += [Question("output_shape", down, (1, 16, 12, 12), source="article: down_sample"),
           Question("output_shape", up, (1, 16, 6, 6), source="article: up_sample without output_size"),
           Question("output_padding", up, (1, 16, 6, 6), target=(12, 12),
                    source="article: up_sample(x, output_size=input.size())")]
    return qs
