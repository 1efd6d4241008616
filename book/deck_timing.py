"""How long each slide deck takes to present, measured the same way every time.

    python book/deck_timing.py notebooks/*.ipynb          # minutes per deck; exit 1 if one is over the limit

A deck is the notebook's cells minus those whose slide type is ``skip`` (left out) or ``notes`` (speaker
notes: in the speaker view only, not said in full). For what is shown:

* prose: the words of the markdown cells at ``WORDS_PER_MINUTE`` (a lecturer explaining, not reading aloud;
  link targets, LaTeX commands and HTML tags are not words);
* code: ``CODE_MINUTES`` per code cell (the code and its printed result, said in a sentence or two), plus
  ``FIGURE_MINUTES`` if it draws a figure;
* explorers: ``EXPLORER_MINUTES`` per cell that builds one (the class predicts, then moves the controls);
* quizzes: ``QUIZ_MINUTES`` per cell that builds a predict-then-check widget (one question asked and checked,
  whatever the number of items in a quiz accordion: the lecturer picks one).

A deck also must end on a question: its last shown markdown cell has a ``?``, or its last shown cell is a quiz.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

WORDS_PER_MINUTE = 130
CODE_MINUTES = 0.4
FIGURE_MINUTES = 0.5
EXPLORER_MINUTES = 2.0
QUIZ_MINUTES = 1.0
LIMIT_MINUTES = 25.0

EXPLORER = re.compile(r"\w+_explorer\(")
QUIZ = re.compile(r"\b(predict_widget|quiz_widget)\(")
FIGURE = re.compile(r"plt\.show\(\)|\b\w+_static\(")


def slide_type(cell) -> str:
    return cell.metadata.get("slideshow", {}).get("slide_type", "-")


def words(markdown: str) -> int:
    text = re.sub(r"\]\([^)]*\)", "]", markdown)               # link targets
    text = re.sub(r"<[^>]+>", " ", text)                        # HTML tags
    text = re.sub(r"\\[A-Za-z]+", " ", text)                    # LaTeX commands
    return len(re.findall(r"[A-Za-z0-9\u4e00-\u9fff]+", text))


def timing(path) -> dict:
    """Minutes of the deck made from notebook ``path``, by part, and whether it ends on a question."""
    nb = nbformat.read(path, as_version=4)
    shown = [c for c in nb.cells if slide_type(c) not in ("skip", "notes")]
    prose = sum(words(c.source) for c in shown if c.cell_type == "markdown")
    code = [c for c in shown if c.cell_type == "code"]
    explorers = sum(bool(EXPLORER.search(c.source)) for c in code)
    quizzes = sum(bool(QUIZ.search(c.source)) for c in code)
    figures = sum(bool(FIGURE.search(c.source)) for c in code)
    plain = len(code) - explorers - quizzes
    parts = {"prose": prose / WORDS_PER_MINUTE, "code": plain * CODE_MINUTES + figures * FIGURE_MINUTES,
             "explorers": explorers * EXPLORER_MINUTES, "quizzes": quizzes * QUIZ_MINUTES}
    last_md = next((c for c in reversed(shown) if c.cell_type == "markdown"), None)
    last = shown[-1] if shown else None
    ends = bool(last is not None and ((last.cell_type == "code" and QUIZ.search(last.source))
                                      or (last_md is not None and "?" in last_md.source)))
    return {"minutes": sum(parts.values()), "parts": parts, "words": prose, "cells": len(shown),
            "skipped": len(nb.cells) - len(shown), "explorers": explorers, "quizzes": quizzes,
            "ends_on_question": ends}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebooks", nargs="+", type=Path)
    args = ap.parse_args(argv)
    print(f"rate: {WORDS_PER_MINUTE} words/min; code cell {CODE_MINUTES} min (+{FIGURE_MINUTES} with a figure); "
          f"explorer {EXPLORER_MINUTES} min; quiz {QUIZ_MINUTES} min; limit {LIMIT_MINUTES:g} min")
    bad = 0
    for path in sorted(args.notebooks):
        t = timing(path)
        p = t["parts"]
        ok = t["minutes"] <= LIMIT_MINUTES and t["ends_on_question"]
        bad += not ok
        print(f"{path.stem:40s} {t['minutes']:5.1f} min  (prose {p['prose']:.1f} [{t['words']} words], code "
              f"{p['code']:.1f}, explorers {p['explorers']:.1f}, quizzes {p['quizzes']:.1f}; {t['cells']} cells shown, "
              f"{t['skipped']} skipped)  {'ends on a question' if t['ends_on_question'] else 'DOES NOT END ON A QUESTION'}"
              f"{'' if t['minutes'] <= LIMIT_MINUTES else '  OVER THE LIMIT'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
