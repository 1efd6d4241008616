"""Helpers shared by the browser tests (constants, the JavaScript run in pages, request logging)."""
from __future__ import annotations

import os
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
SITE = REPO / "build" / "site"
SCREENSHOTS = REPO / "build" / "screenshots"
CHROMIUM = Path(os.environ.get("CONVLAB_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
NO_NOTEBOOKS = "no notebooks/*.ipynb yet: nothing to open in a browser"

# --- JavaScript run in the pages -------------------------------------------------------------------

# The explorers of a page: the outermost widget boxes holding a slider and a picture. An explorer is
# "static" (convlab.viz._widgets.static_explorer: a slider jslinked to a Stack of pre-rendered frames,
# which moves with no kernel) when the widget state stored in the page puts a StackModel under the
# view it was rendered from (html-manager renders each view into a .widget-subarea just before its
# <script type="application/vnd.jupyter.widget-view+json">).
JS_EXPLORERS = """(root) => {
  const scope = root || document;
  const stateTag = document.querySelector('script[type="application/vnd.jupyter.widget-state+json"]');
  const state = stateTag ? JSON.parse(stateTag.textContent).state : {};
  const hasStack = (id, seen) => {
    if (!id || seen.has(id) || !state[id]) return false;
    seen.add(id);
    const m = state[id];
    if (m.model_name === 'StackModel') return true;
    return (m.state.children || []).some(c => hasStack(String(c).replace('IPY_MODEL_', ''), seen));
  };
  document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]').forEach(tag => {
    const sub = tag.previousElementSibling;
    if (sub && hasStack(JSON.parse(tag.textContent).model_id, new Set())) sub.dataset.convlabStatic = '1';
  });
  const boxes = Array.from(scope.querySelectorAll('.widget-vbox'))
    .filter(b => b.querySelector('.widget-slider .noUi-handle') && b.querySelector('img'))
    .filter(b => !b.parentElement.closest('.widget-vbox'));
  return boxes.map((b, i) => { b.dataset.convlabExplorer = String(i); return {
      index: i, static: !!b.closest('[data-convlab-static="1"]'),
      sliders: b.querySelectorAll('.widget-slider').length}; });
}"""

# SHA-256 of the bytes of every visible picture in an explorer (what the reader sees).
JS_DIGEST = """async (box) => {
  const imgs = Array.from(box.querySelectorAll('img')).filter(im => im.offsetParent !== null && im.src);
  const out = [];
  for (const im of imgs) {
    const buf = await (await fetch(im.src)).arrayBuffer();
    const h = await crypto.subtle.digest('SHA-256', buf);
    out.push(Array.from(new Uint8Array(h)).map(x => x.toString(16).padStart(2, '0')).join(''));
  }
  return out.join(',');
}"""


def have_playwright() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright; it is in the test extra)"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium; .ci/run installs it)"
    return None


class PageLog:
    """What a page asked for: off-site requests (blocked) and failed or 4xx/5xx responses."""

    def __init__(self, page, allowed_prefix: str):
        self.page, self.allowed = page, allowed_prefix
        self.offsite: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []
        self.requests = 0
        page.route("**/*", self._route)
        page.on("requestfailed", lambda r: self.failed.append(f"{r.url} ({r.failure})")
                if not r.url.startswith("blob:") and r.url not in self.offsite else None)
        page.on("response", lambda r: self.failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _route(self, route):
        url = route.request.url
        self.requests += 1
        if url.startswith(self.allowed) or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            self.offsite.append(url)
            route.abort()

    def summary(self) -> str:
        return (f"{self.requests} requests, {len(self.offsite)} off-site {self.offsite[:5]}, "
                f"{len(self.failed)} failed {self.failed[:5]}, page errors {self.errors[:3]}")


def explorers(page, root=None) -> list[dict]:
    return page.evaluate(JS_EXPLORERS, root)


def explorer_box(page, index: int):
    return page.locator(f'[data-convlab-explorer="{index}"]')


def digest(box) -> str:
    return box.evaluate(JS_DIGEST)


def nudge_slider(box) -> str:
    """Move the explorer's first slider one step with the keyboard (right, or left at the end); returns the key."""
    handle = box.locator(".widget-slider .noUi-handle").first
    handle.focus()
    now, top = handle.get_attribute("aria-valuenow"), handle.get_attribute("aria-valuemax")
    key = "ArrowLeft" if now is not None and top is not None and float(now) >= float(top) else "ArrowRight"
    handle.press(key)
    return key


def wait_for_new_picture(page, box, before: str, timeout_s: float = 20.0) -> str:
    """Poll the explorer's visible pictures until their bytes differ from ``before``; returns the new digest."""
    deadline = time.monotonic() + timeout_s
    after = before
    while time.monotonic() < deadline:
        after = digest(box)
        if after and after != before:
            return after
        page.wait_for_timeout(200)
    return after
