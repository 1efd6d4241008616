"""Cells, words and questions per notebook, for the closing notes of course issues.

    python scripts/notebook_stats.py [GIT_REF]      # the notebooks as committed at GIT_REF, else the working tree

words: the whitespace-separated tokens of the markdown cells. quiz widgets: the predict-then-check views
(PredictView) in the notebook's saved widget state, one per question (a quiz accordion counts each item).
prompts: "**Question.**" and "**Predict first:**" in markdown. questions: quiz widgets, plus the prompts that no
quiz widget answers (a prompt followed by a predict_widget cell is one question, not two).
"""
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROMPT = re.compile(r"\*\*(Question\.|Predict first:)\*\*")


def load(path, ref=None):
    if ref:
        return json.loads(subprocess.check_output(["git", "show", f"{ref}:{path}"], cwd=ROOT))
    return json.loads((ROOT / path).read_text(encoding="utf-8"))


def stats(nb) -> dict:
    cells = nb["cells"]
    src = ["".join(c["source"]) for c in cells]
    words = sum(len(s.split()) for c, s in zip(cells, src) if c["cell_type"] == "markdown")
    prompts = answered = 0
    for i, (c, s) in enumerate(zip(cells, src)):
        if c["cell_type"] != "markdown":
            continue
        n = len(PROMPT.findall(s))
        prompts += n
        nxt = next((t for d, t in zip(cells[i + 1:], src[i + 1:]) if d["cell_type"] == "code"), "")
        if n and "predict_widget(" in nxt:
            answered += 1
    state = nb.get("metadata", {}).get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    quizzes = sum(m.get("state", {}).get("_convlab_view") == "PredictView" for m in state.get("state", {}).values())
    return {"cells": len(cells), "words": words, "prompts": prompts, "quiz widgets": quizzes,
            "questions": quizzes + prompts - answered}


def main(argv):
    ref = argv[1] if len(argv) > 1 else None
    names = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "notebooks").glob("*.ipynb"))
    for name in names:
        try:
            s = stats(load(name, ref))
        except subprocess.CalledProcessError:
            continue
        print(f"{Path(name).stem:40s} " + "  ".join(f"{k} {v}" for k, v in s.items()))


if __name__ == "__main__":
    main(sys.argv)
