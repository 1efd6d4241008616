"""Colours, cell size and fonts of every convlab figure, in one place."""
from __future__ import annotations

INPUT = "#cfe2f3"          # input cells
PAD_ZERO = "#f2f2f2"       # zero-padding cells
PAD_COPY = "#fde9c9"       # reflect / replicate / circular padding cells (copies of input cells)
KERNEL = "#f4b183"         # kernel taps
WINDOW = "#d62728"         # outline of the current window / receptive field
OUTPUT = "#c5e0b4"         # output cells
ACTIVE = "#2ca02c"         # the output cell being computed
GAP = "#ffffff"            # dilation gaps
GROUP_COLORS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7")
EDGE = "#555555"
TEXT = "#222222"

CELL = 0.45                # inches per grid cell in figures sized by their grids
FONT_SIZE = 9
TITLE_SIZE = 10
DPI = 80                   # PNG resolution of widget frames (keeps redraws fast)


def group_color(g: int) -> str:
    """Colour of group ``g`` (cycles after 8 groups)."""
    return GROUP_COLORS[g % len(GROUP_COLORS)]
