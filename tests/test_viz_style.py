"""The palette read by people with colour-vision deficiencies and on a projector.

Checks computed from the colours alone (no figure): WCAG 2 contrast of every text colour on every fill
it is drawn on, and the colour difference (CIE 1976 ΔE in CIELAB) between fills that share a picture,
under simulated protanopia, deuteranopia and tritanopia (Machado, Oliveira & Fernandes 2009, severity 1,
applied in linear RGB). The simulation matrices are the paper's; the colour maths is written here and
checked against known values below, so the audit does not trust the code it audits.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from convlab.viz import style

SIMULATIONS = {
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
    "typical": np.eye(3),
}

# (text colour, fill) pairs the views draw: values in cells, indices and labels on the page background
TEXT_ON_FILL = [("TEXT", f) for f in ("INPUT", "PAD_ZERO", "PAD_COPY", "KERNEL", "OUTPUT", "HIGHLIGHT",
                                      "INSERTED_ZERO", "GAP")] + [
    ("ACTIVE_TEXT", "ACTIVE"), ("INDEX_TEXT", "GAP"), ("COPY_LABEL", "PAD_COPY"), ("CORRECT", "GAP"),
    ("WRONG", "GAP")]
# fills that appear side by side in one picture and mean different things
SAME_PICTURE = [("INPUT", "PAD_ZERO"), ("INPUT", "PAD_COPY"), ("PAD_ZERO", "PAD_COPY"), ("INPUT", "KERNEL"),
                ("PAD_COPY", "KERNEL"), ("INPUT", "OUTPUT"), ("OUTPUT", "ACTIVE"), ("KERNEL", "OUTPUT"),
                ("INPUT", "INSERTED_ZERO"), ("INSERTED_ZERO", "OUTPUT"), ("INSERTED_ZERO", "KERNEL")]
MIN_DELTA_E = 10.0       # ~ "clearly different at a glance"; 2.3 is the just-noticeable difference


def _linear(color):
    c = np.array([int(color.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)])
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _lab(linear_rgb):
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ np.clip(linear_rgb, 0, 1)
    t = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(t > 216 / 24389, np.cbrt(t), (24389 / 27 * t + 16) / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def delta_e(a, b, vision="typical"):
    m = np.asarray(SIMULATIONS[vision])
    return float(np.linalg.norm(_lab(m @ _linear(a)) - _lab(m @ _linear(b))))


def test_colour_maths_against_known_values():
    assert style.contrast_ratio("#ffffff", "#000000") == pytest.approx(21.0)
    assert style.contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)      # WCAG's classic example
    assert _lab(_linear("#ffffff")) == pytest.approx([100, 0, 0], abs=0.02)   # D65 white (4-digit matrix)
    assert _lab(_linear("#ff0000")) == pytest.approx([53.24, 80.09, 67.20], abs=0.05)      # sRGB red in CIELAB
    # deuteranopia keeps the luminance-like axis but folds red onto green: pure red and a matched green meet
    assert delta_e("#ff0000", "#00ff00") > 80 and delta_e("#ff0000", "#00ff00", "deuteranopia") < delta_e("#ff0000", "#00ff00") / 2
    for m in SIMULATIONS.values():                       # each simulation maps white to (about) white
        assert np.asarray(m) @ np.ones(3) == pytest.approx(np.ones(3), abs=1e-3)


@pytest.mark.parametrize("text,fill", TEXT_ON_FILL)
def test_text_reaches_wcag_aa_contrast(text, fill):
    ratio = style.contrast_ratio(getattr(style, text), getattr(style, fill))
    assert ratio >= 4.5, f"{text} on {fill}: contrast {ratio:.2f}:1 < 4.5:1"


def test_text_on_every_group_colour_reaches_wcag_aa():
    for c in style.GROUP_COLORS:
        ratio = style.contrast_ratio(style.text_on(c), c)
        assert ratio >= 4.5, f"text_on({c}) = {style.text_on(c)}: {ratio:.2f}:1"


@pytest.mark.parametrize("vision", list(SIMULATIONS))
def test_fills_sharing_a_picture_stay_apart(vision):
    close = [(a, b, round(delta_e(getattr(style, a), getattr(style, b), vision), 1)) for a, b in SAME_PICTURE
             if delta_e(getattr(style, a), getattr(style, b), vision) < MIN_DELTA_E]
    assert not close, f"{vision}: fills closer than ΔE {MIN_DELTA_E}: {close}"


@pytest.mark.parametrize("vision", list(SIMULATIONS))
def test_group_colours_stay_apart(vision):
    """Any two of the eight group colours can stand side by side (groups=8 shows all of them)."""
    close = [(i, j, round(delta_e(a, b, vision), 1)) for (i, a), (j, b) in
             itertools.combinations(enumerate(style.GROUP_COLORS), 2) if delta_e(a, b, vision) < MIN_DELTA_E]
    assert not close, f"{vision}: group colours closer than ΔE {MIN_DELTA_E}: {close}"
