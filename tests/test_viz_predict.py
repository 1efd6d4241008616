"""convlab.viz.predict: the text box + Check button around convlab.quiz."""
from convlab import quiz
from convlab.quiz import Layer, Question
from convlab.viz import style
from convlab.viz.predict import predict_widget, quiz_widget, verdict_html


def test_predict_widget_check_button():
    q = Question("weight_shape", Layer("ConvTranspose1d", 16, 33, 3))
    w = predict_widget(q)
    assert "ConvTranspose1d(16, 33, 3)" in w.prompt.value
    w.answer.value = "(33, 16, 3)"              # the article's (wrong) layout
    w.check_button.click()
    assert w.verdict.mistakes == ("in_out_swapped",)
    assert style.WRONG in w.result.value and "(16, 33, 3)" in w.result.value
    v = w.check("16, 33, 3")
    assert v.correct and style.CORRECT in w.result.value


def test_verdict_html_lists_other_explanations():
    q = Question("weight_shape", Layer("ConvTranspose1d", 16, 33, 3))
    html = verdict_html(quiz.check(q, "33 16 3"))
    assert "in/out channels swapped" in html


def test_quiz_widget_has_every_article_question():
    box = quiz_widget()
    assert len(box.items) == len(quiz.article_questions())
    assert box.items[0].check("(20, 33, 24)").correct
