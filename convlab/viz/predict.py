"""Predict, then check: a text box for the learner's answer to a :class:`convlab.quiz.Question`.

Used in every notebook before the cell that prints a shape: the learner
types a prediction, presses **Check**, and reads the verdict (right answer,
its derivation and, if wrong, the likely mistake). The logic is in
``convlab.quiz``; this module only adds the widgets.
"""
from __future__ import annotations

import html

import ipywidgets as widgets

from .. import quiz
from . import style

__all__ = ["verdict_html", "predict_widget", "quiz_widget"]


def verdict_html(verdict: quiz.Verdict) -> str:
    """The verdict as a short HTML block (green when right, red with the likely mistake when wrong)."""
    color = style.CORRECT if verdict.correct else style.WRONG
    parts = [f'<div style="color:{color};font-weight:bold">{html.escape(verdict.message)}</div>']
    if verdict.derivation:
        parts.append(f"<div><code>{html.escape(verdict.derivation)}</code></div>")
    for extra in verdict.explanations[1:]:
        parts.append(f"<div>or: {html.escape(extra)}</div>")
    return "".join(parts)


class PredictWidget(widgets.VBox):
    """Question text, an answer box, a Check button and the verdict. ``check()`` (what the button
    does) returns the :class:`~convlab.quiz.Verdict`; the last one is in ``verdict``."""

    def __init__(self, question: quiz.Question):
        self.question = question
        self.prompt = widgets.HTML(f"<b>Predict:</b> {html.escape(question.text)}")
        self.answer = widgets.Text(placeholder="e.g. (20, 33, 24)", description="answer",
                                   continuous_update=False)
        self.check_button = widgets.Button(description="Check", button_style="primary")
        self.result = widgets.HTML("")
        self.verdict = None
        self.check_button.on_click(lambda _: self.check())
        self.answer.observe(lambda _: self.check(), names="value")    # Enter (continuous_update=False)
        super().__init__([self.prompt, widgets.HBox([self.answer, self.check_button]), self.result])

    def check(self, answer=None) -> quiz.Verdict:
        if answer is not None:
            self.answer.value = str(answer)
        self.verdict = quiz.check(self.question, self.answer.value)
        self.result.value = verdict_html(self.verdict)
        return self.verdict


def predict_widget(question: quiz.Question) -> PredictWidget:
    """A Text input + Check button + verdict HTML for ``question``.

    >>> from convlab import quiz
    >>> w = predict_widget(quiz.article_questions()[0])
    >>> w.check("(20, 33, 25)").mistakes
    ('floor_missed',)
    """
    return PredictWidget(question)


def quiz_widget(questions=None) -> widgets.VBox:
    """Several questions (default: :func:`convlab.quiz.article_questions`), one :class:`PredictWidget`
    each, in an accordion titled by question kind and source."""
    questions = list(questions if questions is not None else quiz.article_questions())
    items = [PredictWidget(q) for q in questions]
    acc = widgets.Accordion(children=items)
    for i, q in enumerate(questions):
        acc.set_title(i, f"{i + 1}. {q.kind.replace('_', ' ')} — {q.source or q.layer}")
    box = widgets.VBox([acc])
    box.items = items
    return box
