"""Predict, then check: questions about convolution layers, and a diagnosis of wrong answers.

Pure logic (no widgets; ``convlab.viz.predict`` puts a text box on it). A
:class:`Question` asks for an output shape, one output length, a weight shape, a
parameter count or the ``output_padding`` that gives a wanted size. :func:`check`
reads the learner's answer ("(20, 33, 24)", "20,33,24", "[20 33 24]", "24"),
says whether it is right, gives the right answer with its derivation, and, if it
is wrong, names the likely mistake: the answer is recomputed under each
mistaken rule of :data:`MISTAKES` and the rules that reproduce it are named.

A :class:`Concept` is a conceptual question (which outputs an input cell touches, the receptive field of
stacked layers, the weights ``groups`` saves …) whose answer is an integer or a tuple of integers: its right
answer is computed with convlab's layers, its typical wrong answers (:data:`CONCEPTS`) by replaying each
mistaken rule, and :func:`check` treats it as any other question.

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

__all__ = ["MISTAKES", "KINDS", "CONCEPTS", "Layer", "Question", "Concept", "Verdict", "parse_answer", "solve",
           "check", "rules_for", "article_questions", "touched_outputs", "receptive_field", "groups_saving",
           "conv_vs_dense", "edge_maps", "checkerboard_values", "upsample_output_padding", "lazy_weight_shapes",
           "concept_questions"]

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
    # conceptual questions (Concept)
    "crop_forgotten": "padding not cropped: a ConvTranspose's padding removes padding cells from each end of "
                      "the output, so every index the stamp reaches moves down by padding",
    "scatter_stride_ignored": "stride ignored: input cell i starts its stamp at output i·stride − padding, "
                              "not at i − padding",
    "read_as_conv": "read as a Conv: these are the outputs of a Conv with the same arguments whose window reads "
                    "cell i; a transposed convolution scatters cell i into kernel_size outputs instead",
    "kernels_added": "kernel sizes added: the layers share their centre cell, so each layer after the first "
                     "widens the view by kernel_size − 1, not by kernel_size",
    "kernels_multiplied": "multiplied: stacking layers adds kernel_size − 1 per layer to the side, it does not "
                          "multiply it",
    "area_not_side": "that is the number of cells in the square (its area); the question asks for its side",
    "one_layer_only": "one layer only: each cell the second layer reads already read a kernel_size-wide patch "
                      "of the input, so the view grows with every layer",
    "depthwise_count_given": "that is what is left with groups=in_channels (the depthwise weights), not what is saved",
    "dense_count_given": "that is the count without groups; the saving is that count minus the depthwise one",
    "ratio_given": "that is the ratio (how many times fewer), not the number of weights saved",
    "out_channels_divided": "groups divides the channels each filter reads, not the number of filters: "
                            "there are still out_channels filters, each kernel_size long per channel it reads",
    "one_input_channel": "each filter reads every input channel: its weights are in_channels·kernel_h·kernel_w, "
                         "not kernel_h·kernel_w",
    "padded_output": "no padding here: the output map is smaller than the input (kernel_size − 1 cells fewer "
                     "per axis), so the dense layer has fewer outputs than out_channels·H·W",
    "edge_direction_swapped": "vertical and horizontal swapped: a kernel that subtracts the left column from the "
                              "right one responds to a change from left to right, and that is a vertical edge",
    "order_swapped": "right maps, wrong order: the question asks first for the edge map, then for the soft one",
    "even_overlap_assumed": "even overlap assumed: stamps overlap evenly only when stride divides kernel_size; "
                            "otherwise neighbouring outputs get different numbers of stamps (a checkerboard)",
    "kernel_sizes_swapped": "the counts swapped: it is the kernel size that stride does not divide that leaves "
                            "several values",
    "border_counted": "border counted: near the edge fewer stamps overlap for any kernel; away from it kernel 4 "
                      "gives the same count everywhere",
    "stride_minus_one_always": "output_padding is not always stride − 1: it adds only what the layer without it "
                               "falls short of the target, and some kernel sizes already reach it",
    "output_padding_none": "output_padding left at 0: without it the layer can fall short of the target "
                           "(by up to stride − 1 cells)",
    "image_channels_everywhere": "the second layer reads the first layer's output channels, not the image's",
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


#: Conceptual question kinds (answered by :class:`Concept`) and the rules that can explain a wrong answer.
CONCEPTS = {
    "touched_outputs": ("crop_forgotten", "scatter_stride_ignored", "read_as_conv"),
    "receptive_field": ("kernels_added", "kernels_multiplied", "area_not_side", "one_layer_only"),
    "groups_saving": ("depthwise_count_given", "dense_count_given", "ratio_given", "out_channels_divided"),
    "conv_vs_dense": ("bias_forgotten", "one_input_channel", "padded_output"),
    "edge_maps": ("edge_direction_swapped", "order_swapped"),
    "checkerboard_values": ("even_overlap_assumed", "kernel_sizes_swapped", "border_counted"),
    "upsample_output_padding": ("stride_minus_one_always", "output_padding_none", "padding_once",
                                "conv_formula_for_transpose"),
    "lazy_weight_shapes": ("image_channels_everywhere", "in_out_swapped"),
}


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


def solve(question, rule: str | None = None) -> tuple:
    """The answer to ``question`` (a tuple), or the answer a learner following mistaken ``rule`` would give.

    >>> q = Question("weight_shape", Layer("ConvTranspose1d", 16, 33, 3))
    >>> solve(q), solve(q, "in_out_swapped")
    ((16, 33, 3), (33, 16, 3))
    """
    if isinstance(question, Concept):
        return _CONCEPT_SOLVERS[question.kind](question.args, rule)[0]
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


def _derivation(question) -> str:
    """The right answer with the numbers plugged in (from ``convlab.shapes`` when it is there)."""
    if isinstance(question, Concept):
        return _CONCEPT_SOLVERS[question.kind](question.args, None)[1]
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


def rules_for(question) -> tuple:
    """The mistaken rules that apply to ``question`` (those :func:`check` replays on a wrong answer)."""
    if isinstance(question, Concept):
        return CONCEPTS[question.kind]
    return tuple(r for r in KINDS[question.kind]
                 if not (r in _TRANSPOSE_ONLY and not question.layer.transposed)
                 and not (r in _CONV_ONLY and question.layer.transposed))


def check(question, answer) -> Verdict:
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
    for rule in rules_for(question):
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


# --------------------------------------------------------------------------- conceptual questions

def _tuples(v):
    return tuple(_tuples(a) for a in v) if isinstance(v, (list, tuple)) else v


@dataclass(frozen=True)
class Concept:
    """A conceptual question whose answer is an integer or a tuple of integers, with its own wording.

    ``kind`` is one of :data:`CONCEPTS`; ``params`` its arguments as ``(name, value)`` pairs. The right
    answer is computed with convlab's layers (a one-hot input through ``conv_transpose1d``, a dry run of a
    ``Sequential`` …); each wrong rule of ``CONCEPTS[kind]`` gives the answer a learner following it
    would type, and :func:`check` names it. Build one with the functions below (:func:`touched_outputs` …).

    >>> q = touched_outputs(2, length=5, kernel_size=3, stride=2, padding=1)
    >>> check(q, "4, 5, 6").mistakes
    ('crop_forgotten',)
    """

    kind: str
    params: tuple = ()
    prompt: str = ""
    source: str = ""

    def __post_init__(self):
        if self.kind not in CONCEPTS:
            raise ValueError(f"unknown conceptual question kind {self.kind!r}; known: {sorted(CONCEPTS)}")
        object.__setattr__(self, "params", _tuples(self.params))

    @property
    def args(self) -> dict:
        return dict(self.params)

    @property
    def text(self) -> str:
        return self.prompt

    @property
    def answer(self) -> tuple:
        return solve(self)


def _layers():
    from . import nn
    from .nn import functional as F
    return nn, F


def _solve_touched(a, rule):
    import numpy as np
    nn, F = _layers()
    i, n, k, s, p = a["input_cell"], a["length"], a["kernel_size"], a["stride"], a["padding"]
    x = np.zeros((1, 1, n))
    x[0, 0, i] = 1
    w = np.ones((1, 1, k))
    if rule == "read_as_conv":
        y = F.conv1d(x, w, stride=s, padding=p)
    else:
        y = F.conv_transpose1d(x, w, stride=1 if rule == "scatter_stride_ignored" else s,
                               padding=0 if rule == "crop_forgotten" else p)
    touched = tuple(int(j) for j in np.flatnonzero(y[0, 0]))
    return touched, (f"a one-hot input (cell {i} of {n}) through conv_transpose1d with an all-ones kernel "
                     f"{k}, stride={s}, padding={p} is nonzero at outputs {list(touched)}: "
                     f"from {i}·{s} − {p} = {i * s - p} on, kernel_size = {k} cells")


def _solve_receptive(a, rule):
    import numpy as np
    nn, F = _layers()
    k, layers = a["kernel_size"], a["layers"]
    sides = []
    for n in layers:
        size = 2 * n * k + 1
        y = np.zeros((1, 1, size, size))
        y[0, 0, size // 2, size // 2] = 1
        for _ in range(n):       # symmetric all-ones kernels: the cells one input reaches = the cells one output reads
            y = F.conv2d(y, np.ones((1, 1, k, k)), padding=k // 2)
        rows = np.flatnonzero(y[0, 0].any(axis=1))
        sides.append(int(rows[-1] - rows[0] + 1))
    right = tuple(sides)
    wrong = {"kernels_added": tuple(n * k for n in layers), "kernels_multiplied": tuple(k ** n for n in layers),
             "area_not_side": tuple(v * v for v in right), "one_layer_only": (k,) * len(layers)}
    text = "; ".join(f"{n} layers: {side}×{side}" for n, side in zip(layers, right))
    return (wrong[rule] if rule else right), (f"a one-hot map through {'/'.join(map(str, layers))} stacked "
                                               f"{k}×{k} convolutions spreads over {text} "
                                               f"(each layer adds kernel_size − 1 = {k - 1})")


def _solve_groups_saving(a, rule):
    nn, F = _layers()
    cin, cout, k = a["in_channels"], a["out_channels"], a["kernel_size"]
    dense = nn.Conv1d(cin, cout, k).weight.size
    depthwise = nn.Conv1d(cin, cout, k, groups=cin).weight.size
    wrong = {"depthwise_count_given": depthwise, "dense_count_given": dense, "ratio_given": dense // depthwise,
             "out_channels_divided": dense - (cout // cin) * k}
    return ((wrong[rule] if rule else dense - depthwise),), (
        f"Conv1d({cin}, {cout}, {k}).weight has {dense} numbers, with groups={cin} {depthwise}: "
        f"{dense} − {depthwise} = {dense - depthwise} saved")


def _solve_conv_vs_dense(a, rule):
    import numpy as np
    nn, F = _layers()
    cin, h, w = a["input_shape"]
    cout, k = a["out_channels"], a["kernel_size"]
    conv = nn.Conv2d(cin, cout, k)
    out = conv(np.zeros((1, cin, h, w), np.float32)).shape[1:]
    n_in, n_out = cin * h * w, int(np.prod(out))
    conv_count = sum(p.size for p in conv.parameters())
    dense_count = n_in * n_out + n_out
    wrong = {"bias_forgotten": (conv.weight.size, n_in * n_out),
             "one_input_channel": (cout * k * k + cout, dense_count),
             "padded_output": (conv_count, n_in * cout * h * w + cout * h * w)}
    return (wrong[rule] if rule else (conv_count, dense_count)), (
        f"Conv2d({cin}, {cout}, {k}): {conv.weight.size} weights + {conv.bias.size} biases = {conv_count}; "
        f"its output is {tuple(out)}, so a dense layer needs {n_in}·{n_out} + {n_out} = {dense_count}")


EDGE_KERNELS = (((1, 1, 1), (1, 1, 1), (1, 1, 1)),           # blur (scaled by 1/9)
                ((-1, 0, 1), (-2, 0, 2), (-1, 0, 1)),        # right column minus left column
                ((-1, -2, -1), (0, 0, 0), (1, 2, 1)))        # bottom row minus top row
"""The three kernels notebook 01 filters the photo with (the first is divided by 9)."""


def _solve_edge_maps(a, rule):
    import numpy as np
    nn, F = _layers()
    w = np.array(EDGE_KERNELS, np.float64)[:, None]
    w[0] /= 9
    step = np.zeros((1, 1, 9, 9))
    step[..., 5:] = 1                                                     # a vertical edge
    edge = int(np.argmax(np.abs(F.conv2d(step, w)).sum(axis=(0, 2, 3))))
    smooth = np.add.outer(np.arange(9.0), np.arange(9.0))[None, None] / 16 + 0.5   # a gentle gradient
    err = np.abs(F.conv2d(smooth, w) - smooth[..., 1:-1, 1:-1]).sum(axis=(0, 2, 3))
    soft = int(np.argmin(err))
    flipped = {1: 2, 2: 1}.get(edge, edge)
    wrong = {"edge_direction_swapped": (flipped, soft), "order_swapped": (soft, edge)}
    return (wrong[rule] if rule else (edge, soft)), (
        f"on a vertical step edge map {edge} responds most; on a smooth ramp map {soft} "
        f"gives the input back (its nine weights sum to 1)")


def _solve_checkerboard(a, rule):
    import numpy as np
    nn, F = _layers()
    n, s, ks = a["size"], a["stride"], a["kernel_sizes"]
    counts, whole = [], []
    for k in ks:
        y = F.conv_transpose2d(np.ones((1, 1, n, n)), np.ones((1, 1, k, k)), stride=s)[0, 0]
        counts.append(len(np.unique(y[k:-k, k:-k])))
        whole.append(len(np.unique(y)))
    wrong = {"even_overlap_assumed": (1,) * len(ks), "kernel_sizes_swapped": tuple(reversed(counts)),
             "border_counted": tuple(whole)}
    return (wrong[rule] if rule else tuple(counts)), (
        "; ".join(f"kernel {k}, stride {s}: {c} distinct value(s) away from the border" for k, c in zip(ks, counts)))


def _solve_upsample(a, rule):
    import numpy as np
    nn, F = _layers()
    n, t, s, p, ks = a["size"], a["target"], a["stride"], a["padding"], a["kernel_sizes"]
    made = [nn.ConvTranspose1d(1, 1, k, stride=s, padding=p)(np.zeros((1, 1, n), np.float32)).shape[-1] for k in ks]
    right = tuple(t - m for m in made)
    wrong = {"stride_minus_one_always": (s - 1,) * len(ks), "output_padding_none": (0,) * len(ks),
             "padding_once": tuple(t - ((n - 1) * s - p + k) for k in ks),
             "conv_formula_for_transpose": tuple(t - ((n + 2 * p - k) // s + 1) for k in ks)}
    return (wrong[rule] if rule else right), ("; ".join(
        f"kernel {k}: without output_padding ConvTranspose1d makes {m} cells, {t} − {m} = {t - m}"
        for k, m in zip(ks, made)))


def _solve_lazy(a, rule):
    import numpy as np
    nn, F = _layers()
    chans, k, shape = a["out_channels"], a["kernel_size"], a["input_shape"]
    net = nn.Sequential(*[nn.LazyConv2d(c, k) for c in chans])
    net(np.zeros(shape, np.float32))                                     # the dry run
    right = tuple(d for layer in net for d in layer.weight.shape)
    ins = (shape[1],) + tuple(chans[:-1])
    if rule == "image_channels_everywhere":
        ins = (shape[1],) * len(chans)
    pairs = [(i, c) if rule == "in_out_swapped" else (c, i) for c, i in zip(chans, ins)]
    wrong = tuple(d for pr in pairs for d in pr + (k, k))
    return (wrong if rule else right), (
        "after the dry run: " + ", ".join(str(tuple(layer.weight.shape)) for layer in net))


_CONCEPT_SOLVERS = {"touched_outputs": _solve_touched, "receptive_field": _solve_receptive,
                    "groups_saving": _solve_groups_saving, "conv_vs_dense": _solve_conv_vs_dense,
                    "edge_maps": _solve_edge_maps, "checkerboard_values": _solve_checkerboard,
                    "upsample_output_padding": _solve_upsample, "lazy_weight_shapes": _solve_lazy}


def _concept(kind, prompt, source, **params):
    return Concept(kind, tuple(params.items()), prompt, source)


def touched_outputs(input_cell, length, kernel_size, stride=1, padding=0, *, prompt="", source="") -> Concept:
    """Which outputs of ``ConvTranspose1d(…, kernel_size, stride, padding)`` does input cell ``input_cell``
    (of ``length``) touch? The answer: the output indices (notebook 05a)."""
    prompt = prompt or (f"With kernel_size={kernel_size}, stride={stride}, padding={padding}, which output cells "
                        f"does input cell {input_cell} touch?")
    return _concept("touched_outputs", prompt, source, input_cell=input_cell, length=length,
                    kernel_size=kernel_size, stride=stride, padding=padding)


def receptive_field(kernel_size=3, layers=(2, 3), *, prompt="", source="") -> Concept:
    """The side of the receptive field of one output cell after each number of stacked stride-1
    ``kernel_size``² layers in ``layers`` (notebook 03)."""
    prompt = prompt or (f"What is the side of the receptive field of one output cell after "
                        f"{' and after '.join(map(str, layers))} stacked {kernel_size}×{kernel_size} layers?")
    return _concept("receptive_field", prompt, source, kernel_size=kernel_size, layers=tuple(layers))


def groups_saving(in_channels, out_channels, kernel_size, *, prompt="", source="") -> Concept:
    """How many weights ``groups=in_channels`` saves in ``Conv1d(in_channels, out_channels, kernel_size)``
    (notebook 02)."""
    prompt = prompt or (f"How many weights does groups={in_channels} save for "
                        f"Conv1d({in_channels}, {out_channels}, {kernel_size})?")
    return _concept("groups_saving", prompt, source, in_channels=in_channels, out_channels=out_channels,
                    kernel_size=kernel_size)


def conv_vs_dense(input_shape=(3, 32, 32), out_channels=16, kernel_size=3, *, prompt="", source="") -> Concept:
    """Parameters of ``Conv2d(C, out_channels, kernel_size)`` and of a dense layer with the same input and
    output sizes, as a pair (notebook 01)."""
    prompt = prompt or (f"How many parameters does Conv2d({input_shape[0]}, {out_channels}, {kernel_size}) have, "
                        "and a dense layer with the same input and output sizes? (two numbers)")
    return _concept("conv_vs_dense", prompt, source, input_shape=tuple(input_shape), out_channels=out_channels,
                    kernel_size=kernel_size)


def edge_maps(*, prompt="", source="") -> Concept:
    """Which of the maps made by :data:`EDGE_KERNELS` shows vertical edges, and which is the soft copy
    (notebook 01)."""
    return _concept("edge_maps", prompt or "Which map shows the vertical edges, and which is the softer copy?",
                    source)


def checkerboard_values(size=6, kernel_sizes=(3, 4), stride=2, *, prompt="", source="") -> Concept:
    """Distinct values away from the border when a ``size``² map of ones goes through an all-ones
    ``ConvTranspose2d`` of each kernel size (notebook 05a)."""
    prompt = prompt or (f"A {size}×{size} map of ones goes through ConvTranspose2d(1, 1, k, stride={stride}) with "
                        f"all weights 1. For k = {' and k = '.join(map(str, kernel_sizes))}, how many distinct "
                        "values appear away from the border?")
    return _concept("checkerboard_values", prompt, source, size=size, kernel_sizes=tuple(kernel_sizes),
                    stride=stride)


def upsample_output_padding(size=6, target=12, kernel_sizes=(3, 4), stride=2, padding=1, *, prompt="",
                            source="") -> Concept:
    """The ``output_padding`` that makes ``ConvTranspose1d(…, k, stride, padding)`` turn ``size`` cells into
    ``target``, for each ``k`` (notebook 05b)."""
    prompt = prompt or (f"You want {size} → {target} with stride={stride}, padding={padding}. Which output_padding "
                        f"for kernel_size {' and for '.join(map(str, kernel_sizes))}?")
    return _concept("upsample_output_padding", prompt, source, size=size, target=target,
                    kernel_sizes=tuple(kernel_sizes), stride=stride, padding=padding)


def lazy_weight_shapes(out_channels=(8, 4), kernel_size=3, input_shape=(1, 3, 16, 16), *, prompt="",
                       source="") -> Concept:
    """The weight shapes of ``Sequential(LazyConv2d(c, k) for c in out_channels)`` after a dry run on
    ``input_shape``, all in one tuple (notebook 06)."""
    prompt = prompt or (f"Sequential({', '.join(f'LazyConv2d({c}, {kernel_size})' for c in out_channels)}) gets a "
                        f"dry-run input of shape {tuple(input_shape)}. What are the weight shapes afterwards?")
    return _concept("lazy_weight_shapes", prompt, source, out_channels=tuple(out_channels), kernel_size=kernel_size,
                    input_shape=tuple(input_shape))


def concept_questions() -> list:
    """The conceptual questions of the notebooks, as the notebooks ask them (one per kind).

    >>> [q.answer for q in concept_questions()][:3]
    [(448, 44251200), (1, 0), (1440,)]
    """
    return [conv_vs_dense(source="01 Why convolution"), edge_maps(source="01 A real image"),
            groups_saving(16, 32, 3, source="02 groups"), receptive_field(3, (2, 3), source="03 Receptive field"),
            touched_outputs(2, 5, 3, stride=2, padding=1, source="05a scatter"),
            checkerboard_values(source="05a checkerboard"), upsample_output_padding(source="05b exact 2× upsampling"),
            lazy_weight_shapes(source="06 a dry run")]
