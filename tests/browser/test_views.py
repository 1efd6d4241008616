"""Each explorer view's ES module in Chromium with a stand-in model (no Jupyter, no kernel): over a grid
of states it draws exactly the numbers its Python view computes with convlab, and a trait change repaints
within the frame budget (<= 16 ms median, <= 50 ms worst)."""
from __future__ import annotations

import itertools
import statistics

import pytest

from viewlib import diff, render, same_numbers, set_trait


@pytest.fixture(scope="module")
def blank(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto("about:blank")
    yield page, errors
    ctx.close()


def check_grid(page, errors, view, grid):
    """Render ``view``, then walk ``grid`` (name -> values) one trait change at a time, comparing each
    drawing with ``drawn_numbers()``; returns (states checked, repaint times in ms)."""
    names = list(grid)
    drawn = render(page, view)
    assert same_numbers(drawn["numbers"], view.drawn_numbers()), diff(drawn["numbers"], view.drawn_numbers())
    checked = 1
    for combo in itertools.product(*grid.values()):
        for name, value in zip(names, combo):
            if getattr(view, name) == value:
                continue
            setattr(view, name, value)
            drawn = set_trait(page, name, value)
            for key, now in drawn["state"].items():   # the view may move a value back (a position past the end)
                if getattr(view, key) != now:
                    setattr(view, key, now)
            want = view.drawn_numbers()
            assert same_numbers(drawn["numbers"], want), f"{view.state()}\n" + diff(drawn["numbers"], want)
            checked += 1
    assert not errors, errors
    return checked, page.evaluate("() => window.__convlabPaints")


def report(name, checked, paints):
    med, worst = statistics.median(paints), max(paints)
    print(f"\n{name}: {checked} states matched, repaint median {med:.2f} ms, worst {worst:.2f} ms ({len(paints)})")
    assert med <= 16 and worst <= 50, (med, worst)


def test_conv1d_view(blank):
    from convlab.viz.signal1d import conv1d_explorer
    page, errors = blank
    view = conv1d_explorer().view
    grid = {"kernel_size": [1, 2, 3, 5, 7], "stride": [1, 2, 4], "padding": [0, 1, 3], "dilation": [1, 2, 4],
            "position": [0, 3, 11]}
    report("Conv1dView", *check_grid(page, errors, view, grid))
