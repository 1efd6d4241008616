"""convlab.quiz: right answers from real layers, and a table of wrong answers -> the mistake named.

The wrong answers below are worked out by hand from the stated mistaken rule (the
comment shows the arithmetic); the right answers come from actual layers (torch on
the meta device when installed, else convlab on a one-sample batch), never from
quiz's own formulas.
"""
import numpy as np
import pytest

from convlab import quiz
from convlab.quiz import Layer, Question

from helpers import torch


def actual_output_shape(layer, input_shape):
    if torch is not None:
        m = getattr(torch.nn, layer.type)(layer.in_channels, layer.out_channels, layer.kernel_size,
                                          **layer.kwargs(), device="meta")
        return tuple(m(torch.empty(input_shape, device="meta")).shape)
    m = layer.build()
    y = m(np.zeros((1,) + tuple(input_shape[1:]), dtype=np.float32))
    return (input_shape[0],) + y.shape[1:]


def actual(question):
    """The answer read off a real layer."""
    L = question.layer
    if question.kind == "output_shape":
        return actual_output_shape(L, question.input_shape)
    if question.kind == "output_size":
        return (actual_output_shape(L, question.input_shape)[2 + question.axis],)
    if question.kind == "weight_shape":
        return tuple(L.build().weight.shape)
    if question.kind == "parameter_count":
        return (sum(int(np.size(p)) for p in L.build().parameters()),)
    # output_padding: per axis, the value for which a real 1d layer of that axis gives the target size
    k, s, p, d, _ = L.axes()
    ops = []
    for a, target in enumerate(question.target):
        found = [op for op in range(max(s[a], d[a]))
                 if actual_output_shape(Layer("ConvTranspose1d", L.in_channels, L.out_channels, k[a], s[a], p[a],
                                              d[a], output_padding=op),
                                        (1, L.in_channels, question.input_shape[2 + a]))[2] == target]
        ops.append(found[0])
    return tuple(ops)


@pytest.mark.parametrize("q", quiz.article_questions(), ids=lambda q: f"{q.kind}-{q.layer}")
def test_article_answers_match_real_layers(q):
    assert q.answer == actual(q)
    v = quiz.check(q, str(actual(q)))
    assert v.correct and v.mistakes == ()


def test_up_sample_output_size_matches_convlab():
    q = [q for q in quiz.article_questions() if q.kind == "output_padding"][0]
    up = q.layer.build()
    y = up(np.zeros(q.input_shape, dtype=np.float32), output_size=q.target)
    assert y.shape[2:] == q.target
    up2 = Layer(**{**q.layer.__dict__, "output_padding": q.answer}).build()
    assert up2(np.zeros(q.input_shape, dtype=np.float32)).shape[2:] == q.target


C1 = (20, 16, 50)
T1 = (20, 16, 30)

# (question, wrong answer as typed, the mistake it must be diagnosed as)
WRONG = [
    # Conv1d(16, 33, 3, stride=2, dilation=3) on L=50: right floor((50-3*2-1)/2)+1 = 22;
    # dilation ignored: floor((50-2-1)/2)+1 = 24
    (Question("output_shape", Layer("Conv1d", 16, 33, 3, stride=2, dilation=3), C1), "(20, 33, 24)",
     "dilation_ignored"),
    (Question("output_shape", Layer("Conv1d", 16, 33, 3, stride=2, dilation=3), C1), "24", "dilation_ignored"),
    # Conv1d(16, 33, 3, stride=2): 47/2 = 23.5 -> floor 23 + 1 = 24; rounded up: 24 + 1 = 25; not rounded: 24.5
    (Question("output_shape", Layer("Conv1d", 16, 33, 3, stride=2), C1), "20,33,25", "floor_missed"),
    (Question("output_size", Layer("Conv1d", 16, 33, 3, stride=2), C1), "24.5", "floor_missed"),
    # Conv1d(16, 33, 3, stride=2, padding=2): right floor(51/2)+1 = 26; padding once: floor(49/2)+1 = 25
    (Question("output_shape", Layer("Conv1d", 16, 33, 3, stride=2, padding=2), C1), "[20 33 25]", "padding_once"),
    # Conv1d(16, 33, 3, stride=3): right floor(47/3)+1 = 16; stride ignored: 47 + 1 = 48
    (Question("output_shape", Layer("Conv1d", 16, 33, 3, stride=3), C1), "(20, 33, 48)", "stride_ignored"),
    # Conv2d(16, 33, (3, 5), stride=(2, 1), padding=(4, 2)) on 50x100: right (28, 100);
    # padding once: H floor((50+4-2-1)/2)+1 = 26, W (100+2-4-1)/1+1 = 98
    (Question("output_shape", Layer("Conv2d", 16, 33, (3, 5), stride=(2, 1), padding=(4, 2)), (20, 16, 50, 100)),
     "torch.Size([20, 33, 26, 98])", "padding_once"),
    # ConvTranspose1d(16, 33, 3, stride=2, padding=2, output_padding=1) on 30: right 29*2-4+2+1+1 = 58
    # output_padding ignored: 57; Conv formula: floor((30+4-2-1)/2)+1 = 16
    (Question("output_size", Layer("ConvTranspose1d", 16, 33, 3, stride=2, padding=2, output_padding=1), T1),
     "57", "output_padding_ignored"),
    (Question("output_size", Layer("ConvTranspose1d", 16, 33, 3, stride=2, padding=2, output_padding=1), T1),
     "16", "conv_formula_for_transpose"),
    # ConvTranspose1d(16, 33, 3, stride=2, padding=2) on 30: right 57; padding once: 58-2+2+0+1 = 59
    (Question("output_size", Layer("ConvTranspose1d", 16, 33, 3, stride=2, padding=2), T1), "59", "padding_once"),
    # ... dilation=3, output_padding=1: right 58-4+6+1+1 = 62; dilation ignored: 58-4+2+1+1 = 58
    (Question("output_shape", Layer("ConvTranspose1d", 16, 33, 3, stride=2, padding=2, output_padding=1,
                                    dilation=3), T1), "(20, 33, 58)", "dilation_ignored"),
    # ConvTranspose1d(16, 33, 3, stride=2) on 30: right 61; stride ignored: 29-0+2+0+1 = 32
    (Question("output_shape", Layer("ConvTranspose1d", 16, 33, 3, stride=2), T1), "(20, 33, 32)", "stride_ignored"),
    # weight of ConvTranspose1d(16, 33, 3) is (16, 33, 3); the article prints the Conv layout (33, 16, 3)
    (Question("weight_shape", Layer("ConvTranspose1d", 16, 33, 3)), "(33, 16, 3)", "in_out_swapped"),
    # Conv1d(16, 33, 3): (33, 16, 3); swapped: (16, 33, 3)
    (Question("weight_shape", Layer("Conv1d", 16, 33, 3)), "(16, 33, 3)", "in_out_swapped"),
    # Conv1d(16, 24, 3, groups=2): (24, 16/2, 3) = (24, 8, 3); /groups forgotten: (24, 16, 3)
    (Question("weight_shape", Layer("Conv1d", 16, 24, 3, groups=2)), "24, 16, 3", "groups_forgotten"),
    # ConvTranspose1d(16, 24, 3, groups=2): (16, 24/2, 3) = (16, 12, 3); forgotten: (16, 24, 3);
    # Conv layout instead: (24, 16/2, 3) = (24, 8, 3)
    (Question("weight_shape", Layer("ConvTranspose1d", 16, 24, 3, groups=2)), "(16, 24, 3)", "groups_forgotten"),
    (Question("weight_shape", Layer("ConvTranspose1d", 16, 24, 3, groups=2)), "(24, 8, 3)", "in_out_swapped"),
    # Conv1d(16, 33, 3): 33*16*3 + 33 = 1617; bias forgotten: 1584
    (Question("parameter_count", Layer("Conv1d", 16, 33, 3)), "1584", "bias_forgotten"),
    # Conv1d(16, 24, 3, groups=2): 24*8*3 + 24 = 600; /groups forgotten: 24*16*3 + 24 = 1176
    (Question("parameter_count", Layer("Conv1d", 16, 24, 3, groups=2)), "1176", "groups_forgotten"),
    # up_sample = ConvTranspose2d(16, 16, 3, stride=2, padding=1) on 6x6, target 12x12: 5*2-2+2+1 = 11 -> (1, 1)
    # padding once: 10-1+2+1 = 12 -> (0, 0); stride ignored: 5-2+2+1 = 6 -> (6, 6)
    (Question("output_padding", Layer("ConvTranspose2d", 16, 16, 3, stride=2, padding=1), (1, 16, 6, 6),
              target=(12, 12)), "(0, 0)", "padding_once"),
    (Question("output_padding", Layer("ConvTranspose2d", 16, 16, 3, stride=2, padding=1), (1, 16, 6, 6),
              target=(12, 12)), "6 6", "stride_ignored"),
]


@pytest.mark.parametrize("question,answer,mistake", WRONG, ids=lambda v: v if isinstance(v, str) else None)
def test_wrong_answer_names_the_mistake(question, answer, mistake):
    v = quiz.check(question, answer)
    assert not v.correct
    assert v.expected == actual(question)
    assert mistake in v.mistakes, (v.mistakes, v.message)
    assert v.mistake == v.mistakes[0]
    assert str(v.expected[-1]) in v.message and "Likely mistake" in v.message


def test_every_mistake_is_in_the_table():
    """Each mistake of a shape question is in the table above; the conceptual ones are exercised by
    tests/test_quiz_concepts.py (every rule of quiz.CONCEPTS)."""
    concept_rules = {r for rules in quiz.CONCEPTS.values() for r in rules}
    assert {m for _, _, m in WRONG} | concept_rules == set(quiz.MISTAKES)
    assert {m for _, _, m in WRONG} >= {r for rules in quiz.KINDS.values() for r in rules}


def test_unexplained_and_unreadable_answers():
    q = Question("output_shape", Layer("Conv1d", 16, 33, 3, stride=2), C1)
    v = quiz.check(q, "(20, 33, 7)")
    assert not v.correct and v.mistakes == () and "Likely" not in v.message
    v = quiz.check(q, "no idea")
    assert not v.correct and "could not read" in v.message


@pytest.mark.parametrize("text,expected", [("(20, 33, 24)", (20, 33, 24)), ("20,33,24", (20, 33, 24)),
                                           ("[20 33 24]", (20, 33, 24)), ("24", (24,)),
                                           ("torch.Size([1, 16, 6, 6])", (1, 16, 6, 6)), (" 24.5 ", (24.5,))])
def test_parse_answer(text, expected):
    assert quiz.parse_answer(text) == expected


def test_spatial_only_answer_is_compared_with_spatial_part():
    q = Question("output_shape", Layer("Conv2d", 16, 33, 3, stride=2), (20, 16, 50, 100))
    v = quiz.check(q, "24, 49")
    assert v.correct and v.compared == "spatial"


def test_question_texts_and_derivations():
    for q in quiz.article_questions():
        assert str(q.layer) in q.text
        assert quiz.check(q, "0").derivation or q.kind == "output_padding"
    with pytest.raises(ValueError, match="unknown question kind"):
        Question("volume", Layer("Conv1d", 1, 1, 1))
