"""Each notebook's reveal.js deck, served from 127.0.0.1 with every other address blocked: it loads
only from the site, logs no error, the arrow key moves to the next slide, and every control of every
explorer is drawn in the browser and each of its controls changes the picture (numbers equal to the Python
view's)."""
from __future__ import annotations

from browserlib import exercise_explorer, exercise_quizzes, explorer_report, kernel_only_explorers, quiz_report, views

READY = "() => !!(window.Reveal && window.Reveal.isReady && window.Reveal.isReady())"


def test_deck_advances_offline(notebook, site, site_url, new_page, screenshots):
    rel = f"slides/{notebook.stem}.slides.html"
    assert (site / rel).exists(), f"{rel} was not built by scripts/build_book.sh"
    page, log = new_page(site_url)
    page.goto(site_url + rel)
    page.wait_for_function(READY)
    page.wait_for_load_state("networkidle")
    total = page.evaluate("() => Reveal.getTotalSlides()")
    assert total >= 2, f"{rel} has {total} slide: give the notebook headings or RISE slide types"
    before = page.evaluate("() => Reveal.getIndices()")
    page.locator("body").press("ArrowRight")
    page.wait_for_function("(b) => { const i = Reveal.getIndices(); return i.h !== b.h || i.v !== b.v; }",
                           arg=before, timeout=10_000)
    after = page.evaluate("() => Reveal.getIndices()")
    assert (after["h"], after["v"]) != (before["h"], before["v"])
    # the slide holding the first explorer, for the record
    drawn = views(page)
    if drawn:
        page.evaluate("""() => { const b = document.querySelector('[data-convlab-box="0"]');
                                  const s = b.closest('section'); const i = Reveal.getIndices(s); Reveal.slide(i.h, i.v); }""")
        page.wait_for_timeout(800)
    page.screenshot(path=str(screenshots / f"{notebook.stem}.slides.png"))
    page.wait_for_load_state("networkidle")
    assert not kernel_only_explorers(page), f"{rel}: an explorer that only moves with a kernel"
    # one move per control, as in test_lab: the book's test moves each three times on the same stored widgets
    results = [exercise_explorer(page, v["index"], steps=1, reveal=True) for v in drawn]
    print("\n" + explorer_report(rel, results) + "; " + log.summary())
    for r in results:
        assert r["live"] == r["controls"] and r["controls"], f"{rel}: {r['view']}: dead controls {r['dead']}"
        assert not r["mismatches"], f"{rel}: {r['view']} drew other numbers than Python: {r['mismatches'][:2]}"
    q = exercise_quizzes(page, reveal=True)
    print(quiz_report(rel, q))
    assert not q["problems"] and q["confirmed"] == q["quizzes"], q["problems"][:3]
    assert log.clean, log.summary()


def test_slides_index_lists_every_deck(site):
    from browserlib import NOTEBOOKS
    index = (site / "slides" / "index.html").read_text(encoding="utf-8")
    for nb in NOTEBOOKS:
        assert f'href="{nb.stem}.slides.html"' in index, nb.name
