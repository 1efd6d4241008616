"""Slider-to-redraw time of every convlab explorer (not a test: wall-clock on a shared machine is noisy).

    python bench/viz_redraw.py [--repeats 3]

For each explorer, its main control is moved through a list of values with
``Explorer.set`` (what a slider move does: update the artists, render the PNG)
and ``Explorer.last_redraw_ms`` is recorded. Printed per explorer: median and
max over the moves, the CPU time per move (less sensitive to other load), and the
median of the first pass alone: frames draw their strings from a cache of text
bitmaps (``convlab.viz._widgets.FrameRenderer``), emptied before each explorer, so
the first pass shows a move to values not seen yet.
Target: < 100 ms per move.
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

from convlab.viz import channels, init, lazy, shape_panel, signal1d, slices3d, transpose, unfold, window  # noqa: E402
from convlab.viz._widgets import clear_text_cache  # noqa: E402

CASES = [
    # name, factory, control, values
    ("window_explorer (2d sliding window)", window.window_explorer, "position", list(range(1, 13))),
    ("conv1d_explorer (1d signal)", signal1d.conv1d_explorer, "position", list(range(1, 10))),
    ("conv3d_explorer (3d slices)", slices3d.conv3d_explorer, "depth", [1, 2, 3, 4, 0]),
    ("groups_explorer (channels & groups)", channels.groups_explorer, "groups", [1, 4, 2, 1, 4]),
    ("shape_explorer (2d formula)", lambda: shape_panel.shape_explorer("conv", 2), "stride", [1, 3, 2, 4, 1]),
    ("transpose_explorer (1d, four views)", lambda: transpose.transpose_explorer(1), "index", [1, 2, 3, 0, 1]),
    ("transpose_explorer (2d, four views)", lambda: transpose.transpose_explorer(2), "index", [1, 5, 9, 14, 0]),
    ("unfold_explorer (columns)", unfold.unfold_explorer, "block", [1, 2, 3, 4, 5, 6]),
    ("init_explorer (histogram)", init.init_explorer, "kernel_size", [1, 2, 3, 5, 7]),
    ("lazy_explorer (before/after)", lazy.lazy_explorer, "in_channels", [4, 8, 16, 32, 3]),
]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=2, help="passes over each value list (default 2)")
    args = ap.parse_args(argv)
    print(f"{'explorer':40s} {'control':12s} {'median ms':>10s} {'max ms':>8s} {'cpu ms':>8s} {'1st pass':>9s}")
    for name, make, control, values in CASES:
        clear_text_cache()
        e = make()
        walls, cpus = [], []
        for _ in range(args.repeats):
            for v in values:
                t0 = time.process_time()
                e.set(**{control: v})
                cpus.append((time.process_time() - t0) * 1e3)
                walls.append(e.last_redraw_ms)
        print(f"{name:40s} {control:12s} {statistics.median(walls):10.1f} {max(walls):8.1f} "
              f"{statistics.median(cpus):8.1f} {statistics.median(walls[:len(values)]):9.1f}", flush=True)


if __name__ == "__main__":
    main()
