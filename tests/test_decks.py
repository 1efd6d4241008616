"""The slide decks, timed by book/deck_timing.py (words at a stated rate, a stated time per code cell, explorer
and quiz): each is a lecture of at most 25 minutes that ends on a question."""
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book"))
import deck_timing  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_deck_is_a_lecture_of_at_most_25_minutes_ending_on_a_question(path):
    t = deck_timing.timing(path)
    assert t["minutes"] <= deck_timing.LIMIT_MINUTES, (path.stem, round(t["minutes"], 1), t["parts"])
    assert t["ends_on_question"], path.stem


def test_words_leave_out_link_targets_latex_and_tags():
    assert deck_timing.words("[kernel](../book/glossary.md#gl-kernel) $\\frac{a}{b}$ <b>x</b> 感受野") == 5      # kernel, a, b, x, 感受野
