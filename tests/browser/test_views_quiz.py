"""The conceptual questions (convlab.quiz.Concept) in the quiz view's ES module, in Chromium with a stand-in
model (no Jupyter, no kernel): the reader types into the answer box and presses Check; the right answer is
confirmed, each typical wrong answer shows its diagnosis, and every verdict is quiz.check's. Nothing of the
answer is on the page before Check or Show answer."""
from __future__ import annotations

from viewlib import READ, diff, render, same_numbers


def _answer(page, text):
    page.fill(".convlab-quiz input", text)
    page.click("button.convlab-check")
    page.wait_for_function("(t) => { const r = document.querySelector('.convlab-view');"
                           " return JSON.parse(r.dataset.state).answer === t && r.dataset.numbers.includes('verdict'); }",
                           arg=text, timeout=5000)
    return page.evaluate(READ), page.inner_text(".convlab-verdict")


def test_concept_quizzes_confirm_the_right_answer_and_diagnose_each_wrong_one(blank):
    from convlab import quiz
    from convlab.viz.predict import PredictView
    page, errors = blank
    confirmed = diagnosed = 0
    for q in quiz.concept_questions():
        view = PredictView.for_question(q)
        drawn = render(page, view)
        assert drawn["numbers"] == {"shown": ""}
        assert page.inner_text(".convlab-verdict") == "" and view.derivation not in page.inner_text("body")
        for k, verdict in enumerate(view.verdicts):
            text = ", ".join(str(v) for v in verdict["given"])
            now, shown = _answer(page, text)
            view.answer, view.shown = text, "verdict"
            assert same_numbers(now["numbers"], view.drawn_numbers()), diff(now["numbers"], view.drawn_numbers())
            if k == 0:
                assert verdict["correct"] and shown.startswith("Right"), (q.kind, shown)
                confirmed += 1
            else:
                assert not verdict["correct"] and verdict["explanations"][0] in shown, (q.kind, text, shown)
                diagnosed += 1
        now, shown = _answer(page, "123456789")                  # a wrong answer no rule explains
        assert now["numbers"]["mistakes"] == [] and shown.startswith("Not quite")
        page.click("button.convlab-show")
        page.wait_for_function("() => document.querySelector('.convlab-view').dataset.numbers.includes('answer')")
        view.shown = "answer"
        assert page.evaluate(READ)["numbers"] == view.drawn_numbers()
    assert not errors, errors
    print(f"\nconcept quizzes: {len(quiz.concept_questions())} questions, right answers confirmed {confirmed}, "
          f"wrong answers diagnosed {diagnosed}")
