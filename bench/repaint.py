"""How long each explorer view takes to repaint in Chromium, against the frame budget.

    python bench/repaint.py                 # every view test in tests/browser/test_views*.py
    python bench/repaint.py -k transpose    # pytest's -k, passed through

Runs the browser view tests (each renders a view's ES module with a stand-in model and walks a grid of
states, checking the numbers it draws) with ``CONVLAB_REPAINT_LOG`` set, so that each grid appends its
repaint times (trait change -> drawn and laid out, measured in the page); then prints one row per grid:
states, repaints, median, 95th percentile and worst in ms, and whether the grid keeps the budget
(median <= 16 ms, one frame at 60 Hz; 95th percentile <= 50 ms). Exit status 1 when a grid misses it.

Not a test: the times are wall-clock on whatever else the machine runs (the tests themselves only print
them). Run it on a quiet machine; the header names the CPU and Chromium.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MEDIAN_MS, P95_MS = 16.0, 50.0


sys.path.insert(0, os.path.join(ROOT, "tests", "browser"))
from viewlib import repaint_summary as summarize  # noqa: E402  (the tests print the same three numbers)


def table(rows):
    """The printed rows for grids logged as {"view", "states", "paints"}, and how many missed the budget."""
    lines = [f"{'grid':<28}{'states':>8}{'repaints':>10}{'median':>9}{'p95':>9}{'worst':>9}  budget"]
    missed = 0
    for r in rows:
        med, p95, worst = summarize(r["paints"])
        ok = med <= MEDIAN_MS and p95 <= P95_MS
        missed += not ok
        lines.append(f"{r['view']:<28}{r['states']:>8}{len(r['paints']):>10}{med:>9.2f}{p95:>9.2f}{worst:>9.2f}  "
                     f"{'kept' if ok else 'MISSED'}")
    lines.append(f"# {len(rows)} grids, {missed} over budget")
    return lines, missed


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-k", default=None, help="pytest -k expression selecting view tests")
    args = ap.parse_args(argv)
    sys.path.insert(0, HERE)
    from run import cpu_description
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "repaint.jsonl")
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"]
        cmd += sorted(os.path.join("tests", "browser", f) for f in os.listdir(os.path.join(ROOT, "tests", "browser"))
                      if f.startswith("test_views") and f.endswith(".py"))
        if args.k:
            cmd += ["-k", args.k]
        proc = subprocess.run(cmd, cwd=ROOT, env=dict(os.environ, CONVLAB_REPAINT_LOG=log),
                              capture_output=True, text=True)
        rows = []
        if os.path.exists(log):
            with open(log, encoding="utf-8") as fh:
                rows = [json.loads(line) for line in fh if line.strip()]
    if proc.returncode not in (0, 5) or not rows:
        sys.stdout.write(proc.stdout[-4000:] + proc.stderr[-2000:])
        print(f"bench/repaint.py: the view tests exited with {proc.returncode} and logged {len(rows)} grid(s)",
              file=sys.stderr)
        return 2
    chromium = subprocess.run(["/usr/bin/chromium", "--version"], capture_output=True, text=True).stdout.strip() \
        if os.path.exists("/usr/bin/chromium") else "?"
    print(f"# cpu: {cpu_description()}; {chromium or '?'}")
    print(f"# budget: median <= {MEDIAN_MS:g} ms, 95th percentile <= {P95_MS:g} ms (worst printed, not held)")
    lines, missed = table(rows)
    print("\n".join(lines))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
