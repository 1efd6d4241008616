"""Colours, cell size and fonts of every convlab figure, in one place."""
from __future__ import annotations

INPUT = "#a5dbe7"          # input cells
PAD_ZERO = "#f2f2f2"       # zero-padding cells
PAD_COPY = "#fde9c9"       # reflect / replicate / circular padding cells (copies of input cells)
KERNEL = "#f4b183"         # kernel taps
WINDOW = "#d62728"         # outline of the current window / receptive field
OUTPUT = "#badda9"         # output cells
ACTIVE = "#237a23"         # the output cell being computed (white text on it: contrast 5.4:1)
GAP = "#ffffff"            # dilation gaps
# Okabe & Ito's palette (vermillion darkened, black swapped for a mid grey, so text on each reaches 4.5:1): pairwise apart under protan, deutan and tritan
# colour vision (tests/test_viz_style.py); text on a group colour: text_on(colour)
GROUP_COLORS = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#b85000", "#f0e442", "#6e6e6e")
EDGE = "#555555"
TEXT = "#222222"

FONT_SIZE = 9              # the static matplotlib figures (transpose.draw_*)
TITLE_SIZE = 10


def relative_luminance(color: str) -> float:
    """WCAG 2 relative luminance of ``"#rrggbb"`` (0 black .. 1 white)."""
    r, g, b = (int(color.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4))
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast_ratio(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two colours (1 .. 21; text needs >= 4.5).

    >>> round(contrast_ratio("#ffffff", "#000000"), 1)
    21.0
    """
    hi, lo = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def text_on(fill: str) -> str:
    """The text colour (``TEXT`` or white) with the higher contrast on ``fill``."""
    return TEXT if contrast_ratio(TEXT, fill) >= contrast_ratio("#ffffff", fill) else "#ffffff"


# --- sliding window, shapes, channels, 1d/3d views (window.py, shape_panel.py, channels.py, signal1d.py, slices3d.py)
COPY_LABEL = "#8a5a00"     # the "←(r,c)" source labels of copied padding cells
GAP_EDGE = "#bbbbbb"       # dotted edge of a dilation gap
TAP_EDGE = "#e06c1f"       # outline of the input cells under the kernel's taps
ACTIVE_TEXT = "#ffffff"    # value text on the active output cell
HIGHLIGHT = "#ffe066"      # highlighted term of a formula (the floor remainder, the active channel)
MUTED = "#bbbbbb"          # faded lines / cells not in play

# --- transposed conv, Unfold/Fold, init, Lazy, quiz (transpose.py, unfold.py, init.py, lazy.py, predict.py)
INSERTED_ZERO = "#e7ed9f"  # zeros inserted between input cells (zero-insertion view of ConvTranspose)
BOUND = "#d62728"          # the ±sqrt(k) init bound lines
HIST = "#4e79a7"           # weight histogram bars
CORRECT = "#2e7d32"        # verdict text: right answer
WRONG = "#c62828"          # verdict text: wrong answer

# --- explorer views drawn in the browser (convlab/viz/js): sizes in SVG units, 40 units a cell
INDEX_TEXT = "#666666"     # the small index numbers above cells (MUTED is too pale for text)
SVG_FONT = 17              # cell values and labels
SVG_SMALL = 12             # indices
SVG_SCALE = 1.15           # screen pixels per SVG unit at most (the view never grows past this in a page)


def js_style() -> dict:
    """The palette and sizes the browser views use (``STYLE`` in their ES modules)."""
    return {"INPUT": INPUT, "PAD_ZERO": PAD_ZERO, "PAD_COPY": PAD_COPY, "KERNEL": KERNEL, "WINDOW": WINDOW,
            "OUTPUT": OUTPUT, "ACTIVE": ACTIVE, "ACTIVE_TEXT": ACTIVE_TEXT, "GAP": GAP, "GAP_EDGE": GAP_EDGE,
            "TAP_EDGE": TAP_EDGE, "EDGE": EDGE, "TEXT": TEXT, "MUTED_TEXT": INDEX_TEXT, "COPY_LABEL": COPY_LABEL,
            "HIGHLIGHT": HIGHLIGHT, "HIST": HIST, "BOUND": BOUND, "INSERTED_ZERO": INSERTED_ZERO, "MUTED": MUTED,
            "CORRECT": CORRECT, "WRONG": WRONG, "GROUP_COLORS": list(GROUP_COLORS),
            "FONT": SVG_FONT, "SMALL": SVG_SMALL, "SCALE": SVG_SCALE}
