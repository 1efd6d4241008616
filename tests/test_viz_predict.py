"""convlab.viz.predict: the question views whose verdicts are computed by convlab.quiz (into the widget
state) and picked in the browser (tests/browser/test_views.py compares the two)."""
from convlab import quiz
from convlab.quiz import Layer, Question
from convlab.viz.predict import PredictView, predict_widget, quiz_widget


def test_predict_view_holds_the_verdicts_of_typical_wrong_answers():
    q = Question("weight_shape", Layer("ConvTranspose1d", 16, 33, 3))
    w = predict_widget(q)
    assert "ConvTranspose1d(16, 33, 3)" in w.prompt and w.expected == [16, 33, 3]
    by_given = {tuple(v["given"]): v for v in w.verdicts}
    assert by_given[(16, 33, 3)]["correct"]
    assert by_given[(33, 16, 3)]["mistakes"] == ["in_out_swapped"]       # the article's (wrong) layout
    assert w.shown == "" and w.answer == ""                              # nothing shown before a check
    v = w.check("(33, 16, 3)")
    assert v.mistakes == ("in_out_swapped",) and w.shown == "verdict"
    assert w.drawn_numbers()["mistakes"] == ["in_out_swapped"]
    assert w.check("16, 33, 3").correct


def test_spatial_answers_and_state_round_trip():
    q = quiz.article_questions()[0]
    w = PredictView.for_question(q)
    assert [24] in [v["given"] for v in w.verdicts]                       # the spatial size alone
    w.check("25")
    again = PredictView.from_state(w.state())
    assert again.drawn_numbers() == w.drawn_numbers() and again.drawn_numbers()["mistakes"] == ["floor_missed"]


def test_quiz_widget_has_every_article_question():
    box = quiz_widget()
    assert len(box.items) == len(quiz.article_questions())
    assert box.items[0].check("(20, 33, 24)").correct
