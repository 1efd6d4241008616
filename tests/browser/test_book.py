"""The built book, served from 127.0.0.1 with every other address blocked: no page asks for anything
off-site, gets a 404 or logs an error; every explorer is drawn in the browser (a slider with no convlab
view around it is an explorer that only moves with a kernel: a failure), every control of it changes the
picture with no kernel, and the numbers drawn equal the Python view's."""
from __future__ import annotations

import pytest

from browserlib import (SITE, PageLog, exercise_explorer, exercise_quizzes, explorer_report, kernel_only_explorers,
                        quiz_report, views)

# Text lines of the views that start with spaces (the second line of a sum, aligned under the first) and are
# laid out with white space collapsed: the book's theme sets `white-space: nowrap` on widget outputs, which
# drops those spaces unless the view's CSS keeps them.
JS_COLLAPSED_INDENTS = """() => [...document.querySelectorAll('.convlab-view text')]
  .filter(t => /^ /.test(t.textContent))
  .filter(t => !['pre', 'pre-wrap', 'break-spaces'].includes(getComputedStyle(t).whiteSpace))
  .map(t => t.textContent.slice(0, 30))"""

WIDGETS_RENDERED = ".jupyter-widgets.widget-vbox, .cell_output .jupyter-widgets"
PAGES_AT_ONCE = 4


def _pages(site):
    return sorted(str(p.relative_to(site)) for p in site.rglob("*.html") if "_static" not in p.parts)


def test_every_page_loads_only_from_the_site(site, site_url, browser):
    pages = _pages(site)
    assert any(p.startswith("book/") for p in pages), f"no book pages in {site}: {pages}"
    total, problems = 0, []
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})   # one cache, as a reader has
    # PAGES_AT_ONCE tabs load side by side (each is then waited for in turn: while one is awaited the others
    # keep loading): 30 pages in 54 s here, against 84 s one tab at a time (same 1117 requests)
    for start in range(0, len(pages), PAGES_AT_ONCE):
        tabs = []
        for rel in pages[start:start + PAGES_AT_ONCE]:
            page = ctx.new_page()
            log = PageLog(page, site_url)
            page.goto(site_url + rel, wait_until="commit")
            tabs.append((rel, page, log))
        for rel, page, log in tabs:
            page.wait_for_load_state("load")
            page.wait_for_load_state("networkidle")
            if page.locator('script[type="application/vnd.jupyter.widget-view+json"]').count():
                page.wait_for_selector(WIDGETS_RENDERED, state="attached")
                page.wait_for_load_state("networkidle")
            total += log.requests
            print(f"\n{rel}: {log.requests} requests, {log.bytes / 1e6:.2f} MB, {len(log.offsite)} off-site, "
                  f"{len(log.failed)} failed, {len(log.errors) + len(log.console)} errors", end="")
            if not log.clean:
                problems.append(f"{rel}: {log.summary()}")
            page.close()
    ctx.close()
    print(f"\n{len(pages)} pages, {total} requests, 0 off-site, 0 failed" if not problems else "")
    assert not problems, "\n".join(problems)


def test_chapter_explorers_move_with_no_kernel(notebook, site, site_url, new_page, screenshots):
    rel = f"notebooks/{notebook.stem}.html"
    assert (site / rel).exists(), f"{rel} was not built: is {notebook.name} in book/_toc.yml's glob?"
    page, log = new_page(site_url)
    page.goto(site_url + rel)
    page.wait_for_load_state("networkidle")
    if not page.locator('script[type="application/vnd.jupyter.widget-view+json"]').count():
        pytest.skip(f"{notebook.name} has no widget output stored (is it committed executed with widget state?)")
    page.wait_for_selector(".widget-slider .noUi-handle")
    page.wait_for_timeout(500)
    drawn = views(page)
    results = [exercise_explorer(page, v["index"]) for v in drawn]
    if drawn:
        page.locator('[data-convlab-box="0"]').screenshot(path=str(screenshots / f"{notebook.stem}.book.png"))
    print("\n" + explorer_report(rel, results))
    collapsed = page.evaluate(JS_COLLAPSED_INDENTS)
    assert not collapsed, f"{rel}: these lines lose the spaces that align them under the line above: {collapsed[:3]}"
    for r in results:
        assert r["live"] == r["controls"] and r["controls"], f"{rel}: {r['view']}: dead controls {r['dead']}"
        assert not r["mismatches"], f"{rel}: {r['view']} drew other numbers than Python: {r['mismatches'][:2]}"
    stray = kernel_only_explorers(page)
    assert not stray, f"{rel}: an explorer that only moves with a kernel (sliders: {stray})"
    if not drawn:
        pytest.skip(f"{notebook.name}: no explorer")
    assert log.clean, log.summary()


def test_chapter_quizzes_check_with_no_kernel(notebook, site, site_url, new_page):
    """Each predict-then-check quiz of the chapter: a typical wrong answer shows its diagnosis, the right
    answer is confirmed, and each verdict is the one convlab.quiz.check gives, with no kernel."""
    rel = f"notebooks/{notebook.stem}.html"
    page, log = new_page(site_url)
    page.goto(site_url + rel)
    page.wait_for_load_state("networkidle")
    if not page.locator('script[type="application/vnd.jupyter.widget-view+json"]').count():
        pytest.skip(f"{notebook.name} has no widget output stored")
    page.wait_for_timeout(500)
    r = exercise_quizzes(page)
    print("\n" + quiz_report(rel, r))
    if not r["quizzes"]:
        pytest.skip(f"{notebook.name} has no quiz")
    assert not r["problems"], r["problems"][:3]
    assert r["confirmed"] == r["quizzes"] and r["matched"] == r["checked"]
    assert log.clean, log.summary()


def test_site_has_the_reference_pages(site):
    for name in ("book/intro.html", "book/glossary.html", "book/errata.html", "slides/index.html", "index.html"):
        assert (site / name).exists(), f"{SITE / name} missing"


def test_glossary_links_reach_their_term(site):
    """Each chapter links a key term to the glossary at its first use; every such link's anchor exists on the
    glossary page (MyST warns `xref_missing` for these anchors, which it does not track, so this checks them)."""
    import re
    glossary = (site / "book" / "glossary.html").read_text(encoding="utf-8")
    ids = set(re.findall(r'id="(gl-[^"]+)"', glossary))
    links = 0
    for page in sorted((site / "notebooks").glob("*.html")):
        for anchor in re.findall(r'href="[^"]*glossary\.html#(gl-[^"]+)"', page.read_text(encoding="utf-8")):
            assert anchor in ids, f"{page.name}: #{anchor} is not on the glossary page"
            links += 1
    assert links >= 50, links
    print(f"\n{links} glossary links, all reach their term")
