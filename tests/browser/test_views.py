"""Each explorer view's ES module in Chromium with a stand-in model (no Jupyter, no kernel): over a grid
of states it draws exactly the numbers its Python view computes with convlab, and the time each
repaint took is printed (bench/repaint.py holds it to the frame budget)."""
from __future__ import annotations

import pytest

from viewlib import check_grid, diff, render, report, same_numbers, set_trait


def test_conv1d_view(blank):
    from convlab.viz.signal1d import conv1d_explorer
    page, errors = blank
    view = conv1d_explorer().view
    grid = {"kernel_size": [1, 2, 3, 5, 7], "stride": [1, 2, 4], "padding": [0, 1, 3], "dilation": [1, 2, 4],
            "position": [0, 3, 11]}
    report("Conv1dView", *check_grid(page, errors, view, grid))


def test_quiz_view_gives_convlab_quiz_verdicts(blank):
    """Every article question, answered right, with each typical wrong answer, with a wrong answer no rule
    explains, with the spatial sizes alone and with no number: the verdict shown is quiz.check's."""
    from convlab import quiz
    from convlab.viz.predict import PredictView
    page, errors = blank
    checked = 0
    for q in quiz.article_questions():
        view = PredictView.for_question(q)
        drawn = render(page, view)
        assert drawn["numbers"] == {"shown": ""} and 'class="convlab-verdict" aria-live="polite"></div>' in drawn["svg"]
        answers = [str(tuple(v["given"])) for v in view.verdicts] + ["(1, 2, 3, 4, 5, 6, 7)", "no idea", "24.5"]
        for a in answers:
            view.answer, view.shown = a, "verdict"
            set_trait(page, "answer", a)
            drawn = set_trait(page, "shown", "verdict")
            assert same_numbers(drawn["numbers"], view.drawn_numbers()), diff(drawn["numbers"], view.drawn_numbers())
            set_trait(page, "shown", "")
            checked += 1
        view.shown = "answer"
        drawn = set_trait(page, "shown", "answer")
        assert drawn["numbers"] == view.drawn_numbers()
    assert not errors, errors
    print(f"\nPredictView: {checked} answers to {len(quiz.article_questions())} questions matched quiz.check")


def test_window_view(blank):
    from convlab.viz.window import window_explorer
    page, errors = blank
    view = window_explorer().view
    grid = {"kernel_size": [1, 2, 3, 5], "stride": [1, 3], "padding": [0, 1, 3], "dilation": [1, 2, 3],
            "padding_mode": [0, 1, 2, 3], "position": [0, 7, 40]}
    report("WindowView", *check_grid(page, errors, view, grid))


@pytest.mark.parametrize("kind,dims", [("conv", 1), ("conv", 2), ("conv", 3), ("transpose", 1), ("transpose", 2)])
def test_shape_view(blank, kind, dims):
    from convlab.viz.shape_panel import AXES, shape_explorer
    page, errors = blank
    view = shape_explorer(kind, dims, size=12).view
    grid = {f"{AXES[dims][-1]}_in": [1, 5, 12], "kernel_size": [1, 3, 7], "stride": [1, 3], "padding": [0, 4],
            "dilation": [1, 4]}
    if kind == "transpose":
        grid["output_padding"] = [0, 1, 3]
    report(f"ShapeView {kind} {dims}d", *check_grid(page, errors, view, grid))
