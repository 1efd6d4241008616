"""Sphinx extension: keep every page of the book free of requests to other sites.

jupyter-book always loads sphinx-thebe, which writes ``const THEBE_JS_URL = "https://unpkg.com/..."``
and ``sphinx-thebe.js`` into every page even with thebe switched off (``launch_buttons.thebe: false``,
as here: the book runs no code). This drops both from each page's scripts. The other remote
defaults (require.js, the widget renderer, MathJax) are replaced in ``_config.yml`` by copies in
``_static/vendor`` (see ``scripts/build_book.sh``), and :func:`check_scripts` fails the build if a
page would still load a script from another site.
"""
from __future__ import annotations

from sphinx.errors import ExtensionError


def _remote(url) -> bool:
    return isinstance(url, str) and url.startswith(("http://", "https://", "//"))


def drop_thebe(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    kept = []
    for js in scripts:
        body = getattr(js, "attributes", {}).get("body", "") or ""
        name = str(getattr(js, "filename", js) or "")
        if "THEBE_JS_URL" in body or name.endswith("sphinx-thebe.js"):
            continue
        kept.append(js)
    scripts[:] = kept
    check_scripts(pagename, context)


def check_scripts(pagename, context):
    for key in ("script_files", "css_files"):
        for item in context.get(key) or []:
            name = getattr(item, "filename", item)
            if _remote(name):
                raise ExtensionError(f"offline_book: page {pagename!r} would load {name} from another site")


def setup(app):
    app.connect("html-page-context", drop_thebe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
