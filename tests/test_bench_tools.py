"""bench/pair.py, the A/B tool for kernel changes: it runs, pairs its bursts and refuses what it cannot compare."""
import os
import subprocess
import sys

import pytest

pytest.importorskip("torch")            # the bench's rows are built against torch
pytest.importorskip("threadpoolctl")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAIR = os.path.join(ROOT, "bench", "pair.py")


def _pair(*args):
    return subprocess.run([sys.executable, PAIR, *args], capture_output=True, text=True, timeout=600)


def test_pair_compares_a_checkout_with_itself():
    done = _pair(ROOT, ROOT, "--filter", "tiny Conv2d(1,1,3)", "--rounds", "5")
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("tiny Conv2d(1,1,3)")]
    assert len(rows) == 1, done.stdout
    old, new, ratio, q1, q3 = (float(v) for v in rows[0].split()[-5:])
    assert old > 0 and new > 0
    assert q1 <= ratio <= q3
    assert 0.2 < ratio < 5              # the same build on both sides: only the host's noise between them


@pytest.mark.parametrize("args,message", [
    (("{root}", "{root}/no-such-checkout"), "is not a convlab checkout"),
    (("{root}", "{root}", "--filter", "no row has this name"), "no bench row's name contains"),
    (("{root}", "{root}", "--rounds", "0"), "must be at least 1"),
])
def test_pair_refuses_what_it_cannot_compare(args, message):
    done = _pair(*(a.format(root=ROOT) for a in args))
    assert done.returncode != 0
    assert message in done.stderr
