"""Redraw time of every control of every convlab explorer (not a test: times on a shared machine are noisy).

    python bench/viz_redraw.py [--repeats 2] [--filter TEXT]

Each explorer is built once; then each of its enabled controls (read from
``Explorer.controls``) is moved through a few valid values with ``Explorer.set`` (what a
slider move does: update the artists, render the PNG), ending where it started; every
control is put back (untimed) before the next one, so each is measured from the
explorer's default state. Values: every option of a dropdown, both states of a toggle,
up to six values spread over a slider's range at that state (ranges that follow other
controls, e.g. ``position``, are the ones the default state gives). The main control (the
one a learner plays, marked ``*``) moves through the list given in ``CASES``.

Printed per control: median and max wall ms of ``Explorer.last_redraw_ms`` over the
moves, median and max CPU ms per move (less sensitive to other load: read this one on a
shared machine), and the median wall ms of the control's first pass: frames draw their
strings from a cache of text bitmaps (``convlab.viz._widgets.FrameRenderer``), emptied
before each explorer, so the first pass shows moves to values not seen yet. The last
lines name the worst control over all explorers (by median CPU ms) and the slowest move.
Target: < 100 ms per move (median, cpu column).

Explorers drawn in the browser (``conv1d_explorer``, ``window_explorer``, ``shape_explorer``, ``transpose_explorer``,
``init_explorer``, ``lazy_explorer``) do not render in the kernel; their repaint times are measured in Chromium by
``tests/browser/test_views*.py``.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import matplotlib

matplotlib.use("Agg")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # run from a checkout

import ipywidgets as widgets  # noqa: E402

from convlab.viz import channels, slices3d, unfold  # noqa: E402
from convlab.viz._widgets import clear_text_cache  # noqa: E402

CASES = [
    # name, factory, main control, its values
    ("conv3d_explorer (3d slices)", slices3d.conv3d_explorer, "depth", [1, 2, 3, 4, 0]),
    ("groups_explorer (channels & groups)", channels.groups_explorer, "groups", [1, 4, 2, 1, 4]),
    ("unfold_explorer (columns)", unfold.unfold_explorer, "block", [1, 2, 3, 4, 5, 6]),
]

SLIDER_VALUES = 6          # values per slider move pass (spread over its range)


def control_values(w, n=SLIDER_VALUES):
    """A few valid values for control ``w`` other than its current one, ending back on it."""
    start = w.value
    if isinstance(w, (widgets.Dropdown, widgets.SelectionSlider)):
        values = [v if not isinstance(v, tuple) else v[1] for v in w.options]
    elif isinstance(w, widgets.ToggleButton):
        values = [not start]
    else:
        lo, hi = w.min, w.max
        step = max(1, round((hi - lo) / (n - 1)))
        values = list(range(lo, hi + 1, step))[:n]
        if hi not in values:
            values[-1] = hi
    return [v for v in values if v != start] + [start]


def move(e, name, values):
    """Move control ``name`` through ``values``; returns the wall and CPU ms of each move."""
    walls, cpus = [], []
    for v in values:
        t0 = time.process_time()
        e.set(**{name: v})
        cpus.append((time.process_time() - t0) * 1e3)
        walls.append(e.last_redraw_ms)
    return walls, cpus


def restore(e, values):
    """Put every control back where it started (untimed): a range clamped by one control's move
    (e.g. padding by a smaller kernel) must not shift the next control's starting point."""
    for _ in range(3):
        if e.values() == values:
            return
        e.set(**values)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=2, help="passes over each value list (default 2)")
    ap.add_argument("--filter", default="", help="only the explorers whose name contains this text")
    args = ap.parse_args(argv)
    print(f"{'explorer':38s} {'control':17s} {'moves':>5s} {'median ms':>9s} {'max ms':>7s} {'cpu ms':>7s} "
          f"{'cpu max':>7s} {'1st pass':>8s}")
    rows = []
    for name, make, main_control, main_values in CASES:
        if args.filter not in name:
            continue
        clear_text_cache()
        e = make()
        start = e.values()
        for control, w in e.controls.items():
            if w.disabled:
                continue
            restore(e, start)
            walls, cpus, first = [], [], None
            for _ in range(args.repeats):
                values = main_values if control == main_control else control_values(w)
                wall, cpu = move(e, control, values)
                walls += wall
                cpus += cpu
                first = first or statistics.median(wall)
            label = control + (" *" if control == main_control else "")
            row = (name, label, len(walls), statistics.median(walls), max(walls), statistics.median(cpus),
                   max(cpus), first)
            rows.append(row)
            print(f"{row[0]:38s} {row[1]:17s} {row[2]:5d} {row[3]:9.1f} {row[4]:7.1f} {row[5]:7.1f} {row[6]:7.1f} "
                  f"{row[7]:8.1f}", flush=True)
    if rows:
        worst = max(rows, key=lambda r: r[5])
        slowest = max(rows, key=lambda r: r[6])
        print(f"\nworst control (median cpu): {worst[0]} / {worst[1]}: {worst[5]:.1f} ms (max {worst[6]:.1f})")
        print(f"slowest single move (cpu):  {slowest[0]} / {slowest[1]}: {slowest[6]:.1f} ms")


if __name__ == "__main__":
    main()
