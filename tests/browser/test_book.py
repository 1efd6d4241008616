"""The built book, served from 127.0.0.1 with every other address blocked: no page asks for anything
off-site or gets a 404, and a static explorer's slider changes the picture with no kernel."""
from __future__ import annotations

import pytest

from browserlib import SITE, PageLog, digest, explorer_box, explorers, nudge_slider, wait_for_new_picture

WIDGETS_RENDERED = ".jupyter-widgets.widget-vbox, .cell_output .jupyter-widgets"


def _pages(site):
    return sorted(str(p.relative_to(site)) for p in site.rglob("*.html") if "_static" not in p.parts)


def test_every_page_loads_only_from_the_site(site, site_url, browser):
    pages = _pages(site)
    assert any(p.startswith("book/") for p in pages), f"no book pages in {site}: {pages}"
    total, problems = 0, []
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})   # one cache, as a reader has
    for rel in pages:
        page = ctx.new_page()
        log = PageLog(page, site_url)
        page.goto(site_url + rel, wait_until="load")
        page.wait_for_load_state("networkidle")
        if page.locator('script[type="application/vnd.jupyter.widget-view+json"]').count():
            page.wait_for_selector(WIDGETS_RENDERED, state="attached")
            page.wait_for_load_state("networkidle")
        total += log.requests
        print(f"\n{rel}: {log.requests} requests, {len(log.offsite)} off-site, {len(log.failed)} failed", end="")
        if log.offsite or log.failed or log.errors:
            problems.append(f"{rel}: {log.summary()}")
        page.close()
    ctx.close()
    print(f"\n{len(pages)} pages, {total} requests, 0 off-site, 0 failed" if not problems else "")
    assert not problems, "\n".join(problems)


def test_chapter_static_slider_moves_the_picture(notebook, site, site_url, new_page, screenshots):
    rel = f"notebooks/{notebook.stem}.html"
    assert (site / rel).exists(), f"{rel} was not built: is {notebook.name} in book/_toc.yml's glob?"
    page, log = new_page(site_url)
    page.goto(site_url + rel)
    page.wait_for_load_state("networkidle")
    if not page.locator('script[type="application/vnd.jupyter.widget-view+json"]').count():
        pytest.skip(f"{notebook.name} has no widget output stored (is it committed executed with widget state?)")
    page.wait_for_selector(".widget-slider .noUi-handle")
    found = explorers(page)
    assert found, f"{rel}: widgets are stored but no explorer (slider + picture) rendered; {log.summary()}"
    main = next((e for e in found if e["static"]), None)
    box = explorer_box(page, (main or found[0])["index"])
    box.scroll_into_view_if_needed()
    box.screenshot(path=str(screenshots / f"{notebook.stem}.book.png"))
    if main is None:
        pytest.skip(f"{notebook.name}: no static explorer (slider + Play over pre-rendered frames); "
                    "a live explorer needs a kernel, so nothing can move in the book")
    before = digest(box)
    assert before, f"{rel}: the static explorer shows no picture"
    key = nudge_slider(box)
    after = wait_for_new_picture(page, box, before)
    assert after != before, f"{rel}: pressing {key} on the static slider did not change the picture"
    box.screenshot(path=str(screenshots / f"{notebook.stem}.book-moved.png"))
    assert not log.offsite and not log.failed and not log.errors, log.summary()


def test_site_has_the_reference_pages(site):
    for name in ("book/intro.html", "book/glossary.html", "book/errata.html", "slides/index.html", "index.html"):
        assert (site / name).exists(), f"{SITE / name} missing"
