"""Build one reveal.js deck per notebook (``<name>.slides.html``) plus an index page, loading nothing remote.

Called by ``scripts/build_book.sh``::

    python book/build_slides.py --out build/site/slides --vendor ../_static/vendor notebooks/*.ipynb

``--vendor`` is the URL (relative to the decks) of the folder holding ``require.js``,
``jquery.min.js``, ``mathjax/``, ``reveal.js/`` and ``html-manager/`` from the npm registry.
Notebooks are not executed; their stored outputs and widget state are rendered, so sliders linked on
the client (``jslink``) move the picture in a deck with no kernel.

A notebook that sets no ``slideshow`` metadata (RISE's *Slide Type*) is cut into slides at its
headings: ``#``/``##`` start a slide, ``###`` a sub-slide (the notebook file is not changed).
A notebook that sets it anywhere is taken as it is.
"""
from __future__ import annotations

import argparse
import html
import re
from pathlib import Path

import nbformat
from nbconvert.exporters import SlidesExporter
from traitlets.config import Config

HERE = Path(__file__).resolve().parent
HEADING = re.compile(r"^\s*(#{1,3})\s")


def default_slide_types(nb) -> bool:
    """Give each cell a slide type from the headings, unless the notebook has set any; True if it did."""
    if any("slideshow" in c.metadata for c in nb.cells):
        return False
    for cell in nb.cells:
        m = HEADING.match(cell.source) if cell.cell_type == "markdown" else None
        kind = "-" if m is None else ("subslide" if len(m.group(1)) == 3 else "slide")
        cell.metadata["slideshow"] = {"slide_type": kind}
    return True


def exporter(vendor: str) -> SlidesExporter:
    c = Config()
    c.SlidesExporter.extra_template_basedirs = [str(HERE)]
    c.SlidesExporter.template_name = "slides_template"
    c.SlidesExporter.reveal_url_prefix = f"{vendor}/reveal.js"
    c.SlidesExporter.reveal_scroll = True
    c.SlidesExporter.reveal_number = "c/t"
    c.SlidesExporter.reveal_theme = "white"                       # its fonts ship with reveal.js; "simple" imports web fonts
    c.SlidesExporter.require_js_url = f"{vendor}/require.js"
    c.SlidesExporter.jquery_url = f"{vendor}/jquery.min.js"
    c.SlidesExporter.mathjax_url = f"{vendor}/mathjax/tex-chtml.js"
    c.SlidesExporter.widget_renderer_url = f"{vendor}/html-manager/embed-amd.js"
    c.SlidesExporter.jupyter_widgets_base_url = f"{vendor}/"      # unused once widget_renderer_url is set
    c.SlidesExporter.font_awesome_url = ""
    c.SlidesExporter.mermaid_js_url = ""
    return SlidesExporter(config=c)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--vendor", required=True)
    ap.add_argument("notebooks", nargs="*", type=Path)
    args = ap.parse_args(argv)
    notebooks = [p for p in args.notebooks if p.suffix == ".ipynb" and p.exists()]
    args.out.mkdir(parents=True, exist_ok=True)
    exp = exporter(args.vendor)
    rows = []
    for path in sorted(notebooks):
        nb = nbformat.read(path, as_version=4)
        cut = default_slide_types(nb)
        body, _ = exp.from_notebook_node(nb, resources={"metadata": {"name": path.stem}})
        target = args.out / f"{path.stem}.slides.html"
        target.write_text(body, encoding="utf-8")
        title = next((HEADING.sub("", c.source.splitlines()[0]) for c in nb.cells
                      if c.cell_type == "markdown" and HEADING.match(c.source)), path.stem)
        rows.append(f'<li><a href="{target.name}">{html.escape(title)}</a> <small>({path.name})</small></li>')
        print(f"build_slides.py: {target} ({'slides cut at headings' if cut else 'slide metadata from the notebook'})")
    (args.out / "index.html").write_text(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>convlab slides</title>"
        f"<link rel=\"icon\" href=\"{args.vendor}/../favicon.svg\" type=\"image/svg+xml\">"
        f"<link rel=\"stylesheet\" href=\"{args.vendor}/cjk/cjk.css\"></head>\n"
        "<body><h1>convlab slides</h1>\n<p>One reveal.js deck per notebook. Arrow keys move; "
        "<kbd>S</kbd> opens the speaker view; sliders work with no kernel.</p>\n<ul>\n"
        + ("\n".join(rows) or "<li>No notebooks yet.</li>")
        + "\n</ul>\n<p><a href=\"../index.html\">Back to the book</a></p>\n</body></html>\n", encoding="utf-8")
    print(f"build_slides.py: {len(rows)} deck(s) in {args.out}")


if __name__ == "__main__":
    main()
