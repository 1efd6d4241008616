"""Predict, then check: a :class:`convlab.quiz.Question` the reader answers in the browser.

Also a conceptual :class:`convlab.quiz.Concept` (e.g. ``quiz.receptive_field(3, (2, 3))``), whose answer is
an integer or a tuple of integers: the same view, the same verdicts. Used in every notebook before the cell
that prints a shape, and for every conceptual question: the reader types a prediction, presses
**Check** (or Enter), and reads the verdict: right, or the right answer with its derivation and the
likely mistake. The logic is ``convlab.quiz``: Python computes the answer and the verdict of every
typical wrong answer (each mistaken rule of :data:`convlab.quiz.MISTAKES` replayed) into the widget's
state; the view (``js/quiz.js``) only reads the reader's numbers, compares them and shows the matching
verdict, so the quiz works in the book and the slides with no kernel. The answer stays hidden until the
reader checks or presses **Show answer**.
"""
from __future__ import annotations

import dataclasses

import ipywidgets as widgets

from .. import quiz
from ._view import View, esm, traitlets

__all__ = ["PredictView", "predict_widget", "quiz_widget"]


def _question_state(q) -> dict:
    if isinstance(q, quiz.Concept):
        return {"concept": q.kind, "params": [[k, v] for k, v in q.params], "prompt": q.prompt, "source": q.source}
    return {"kind": q.kind, "layer": dataclasses.asdict(q.layer), "input_shape": q.input_shape and list(q.input_shape),
            "target": q.target and list(q.target), "axis": q.axis, "source": q.source}


def _question(state: dict):
    def tup(v):
        return tuple(v) if isinstance(v, list) else v
    if "concept" in state:
        return quiz.Concept(state["concept"], tuple((k, v) for k, v in state["params"]), state["prompt"],
                            state["source"])
    layer = quiz.Layer(**{k: tup(v) for k, v in state["layer"].items()})
    return quiz.Question(state["kind"], layer, tup(state["input_shape"]), tup(state["target"]), state["axis"],
                         state["source"])


def _verdict_state(v: quiz.Verdict) -> dict:
    return {"correct": v.correct, "given": list(v.given), "compared": v.compared, "mistakes": list(v.mistakes),
            "message": v.message, "explanations": list(v.explanations)}


class PredictView(View):
    """One question: an answer box, **Check**, **Show answer** and the verdict, all in the browser.

    ``verdicts`` holds the verdict of the right answer (first) and of every typical wrong answer, each
    as :func:`convlab.quiz.check` gives it; ``answer`` is what the reader last checked and ``shown``
    what is on screen (``""``, ``"verdict"`` or ``"answer"``)."""

    _esm = esm("quiz")
    question = traitlets.Dict().tag(sync=True)
    prompt = traitlets.Unicode().tag(sync=True)
    expected = traitlets.List().tag(sync=True)
    derivation = traitlets.Unicode().tag(sync=True)
    verdicts = traitlets.List(traitlets.Dict()).tag(sync=True)
    other = traitlets.Unicode().tag(sync=True)          # the message for a wrong answer no rule explains
    answer = traitlets.Unicode().tag(sync=True)
    shown = traitlets.Unicode().tag(sync=True)
    placeholder = traitlets.Unicode().tag(sync=True)    # the answer box's hint ("" : a shape or a number)

    @classmethod
    def for_question(cls, q) -> "PredictView":
        """The view of ``q``, a :class:`convlab.quiz.Question` or a conceptual :class:`convlab.quiz.Concept`."""
        expected = quiz.solve(q)
        candidates = [expected]
        for rule in quiz.rules_for(q):
            for variant in ([rule, "floor_missed_exact"] if rule == "floor_missed" else [rule]):
                try:
                    candidates.append(quiz.solve(q, variant))
                except (ZeroDivisionError, ValueError):
                    pass
        if q.kind == "output_shape":                        # the spatial sizes alone are an answer too
            candidates += [c[2:] for c in candidates]
        verdicts, seen = [], set()
        for c in candidates:
            if tuple(c) in seen:
                continue
            seen.add(tuple(c))
            verdicts.append(_verdict_state(quiz.check(q, c)))
        nothing = quiz.check(q, (-1,) * 9)                  # a wrong answer of no known shape
        concept = isinstance(q, quiz.Concept)
        return cls(question=_question_state(q), prompt=q.text, expected=list(expected),
                   derivation=quiz.check(q, expected).derivation, verdicts=verdicts, other=nothing.message,
                   placeholder="your answer (numbers, e.g. 3, 4)" if concept else "")

    def drawn_numbers(self) -> dict:
        """The verdict on screen for ``answer``, by :func:`convlab.quiz.check` (what the view must show)."""
        if self.shown == "answer":
            return {"shown": "answer", "expected": list(quiz.solve(_question(self.question)))}
        if self.shown != "verdict":
            return {"shown": ""}
        v = quiz.check(_question(self.question), self.answer)
        return {"shown": "verdict", "correct": v.correct, "mistakes": list(v.mistakes),
                "message": v.message if v.given else "unreadable"}

    def check(self, answer=None) -> quiz.Verdict:
        """Check ``answer`` (default: the last one) as the Check button does; returns the Verdict."""
        if answer is not None:
            self.answer = str(answer)
        self.shown = "verdict"
        self.verdict = quiz.check(_question(self.question), self.answer)
        return self.verdict


def predict_widget(question) -> PredictView:
    """The answer box, Check button and verdict for ``question`` (a :class:`convlab.quiz.Question`, or a
    conceptual :class:`convlab.quiz.Concept` such as ``quiz.receptive_field(3, (2, 3))``), checked in the
    browser.

    >>> from convlab import quiz
    >>> w = predict_widget(quiz.article_questions()[0])
    >>> w.check("(20, 33, 25)").mistakes
    ('floor_missed',)
    >>> predict_widget(quiz.receptive_field(3, (2, 3))).check("6, 9").mistakes
    ('kernels_added',)
    """
    return PredictView.for_question(question)


def quiz_widget(questions=None) -> widgets.VBox:
    """Several questions (default: :func:`convlab.quiz.article_questions`), one :class:`PredictView`
    each, in an accordion titled by question kind and source."""
    questions = list(questions if questions is not None else quiz.article_questions())
    items = [PredictView.for_question(q) for q in questions]
    acc = widgets.Accordion(children=items)
    for i, q in enumerate(questions):
        acc.set_title(i, f"{i + 1}. {q.kind.replace('_', ' ')} — {q.source or getattr(q, 'layer', '')}")
    box = widgets.VBox([acc])
    box.items = items
    return box
