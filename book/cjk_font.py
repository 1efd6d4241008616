"""Subset a CJK web font to the Chinese characters the site uses, so Chinese renders with no system font.

Called by ``scripts/build_book.sh`` (its "CJK web font" block)::

    python book/cjk_font.py --package build/npm/@fontsource__noto-sans-sc@5.2.8 --out <vendor>/cjk \
        notebooks/*.ipynb book/*.md book/_toc.yml

``--package`` is the unpacked npm package ``@fontsource/noto-sans-sc``: Noto Sans SC cut into ~100
``.woff`` files per weight by Unicode range. Every character from U+2E80 up (CJK ideographs and
punctuation, full-width forms) found in the given files is looked up in those pieces; each piece that
holds some is subset to them (fontTools, ``.woff``: zlib, no extra codec) and gets an ``@font-face`` with
exactly those code points as its ``unicode-range``. ``cjk.css`` puts the family "convlab CJK" at the end
of the book's and the decks' font stacks: Latin text keeps its fonts, Chinese falls through to it.
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

FAMILY = "convlab CJK"
WEIGHTS = (400, 700)
SANS = '-apple-system, BlinkMacSystemFont, "Segoe UI", "Helvetica Neue", Arial, sans-serif'
MONO = 'SFMono-Regular, Menlo, Consolas, Monaco, "Liberation Mono", "Lucida Console", monospace'


def used_characters(paths) -> list[str]:
    text = "".join(Path(p).read_text(encoding="utf-8") for p in paths)
    return sorted({ch for ch in text if ord(ch) >= 0x2E80})


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--package", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("sources", nargs="+")
    args = ap.parse_args(argv)
    chars = used_characters(args.sources)
    args.out.mkdir(parents=True, exist_ok=True)
    faces, total = [], 0
    for weight in WEIGHTS:
        pieces = sorted(args.package.glob(f"files/noto-sans-sc-*-{weight}-normal.woff"))
        pieces = [p for p in pieces if re.search(rf"-(\d+|chinese-simplified)-{weight}-normal", p.name)]
        left = set(chars)
        for piece in pieces:
            cmap = TTFont(piece, lazy=True).getBestCmap()
            have = sorted(ch for ch in left if ord(ch) in cmap)
            if not have:
                continue
            left -= set(have)
            opts = subset.Options()
            opts.flavor = "woff"
            opts.layout_features = ["*"]
            font = TTFont(piece)
            sub = subset.Subsetter(opts)
            sub.populate(text="".join(have))
            sub.subset(font)
            name = f"noto-sans-sc-{weight}-{len(faces)}.woff"
            font.flavor = "woff"
            font.save(args.out / name)
            total += (args.out / name).stat().st_size
            ranges = ", ".join(f"U+{ord(ch):04X}" for ch in have)
            faces.append(f'@font-face {{ font-family: "{FAMILY}"; font-style: normal; font-weight: {weight}; '
                         f'font-display: swap; src: url("{name}") format("woff"); unicode-range: {ranges}; }}')
        if left:
            print(f"cjk_font.py: {len(left)} character(s) not in the font at weight {weight}: {''.join(sorted(left))}")
    css = "\n".join(faces) + f"""
/* The family goes last in every font stack the book (pydata-sphinx-theme) and the decks (reveal.js, JupyterLab's
   rendered cells) use, with selectors that outrank the themes' own: Chinese falls through to "{FAMILY}". */
html:root {{ --pst-font-family-base: {SANS}, "{FAMILY}"; --pst-font-family-heading: {SANS}, "{FAMILY}";
             --pst-font-family-monospace: {MONO}, "{FAMILY}";
             --jp-content-font-family: system-ui, {SANS}, "{FAMILY}"; --jp-ui-font-family: system-ui, {SANS}, "{FAMILY}";
             --jp-code-font-family: {MONO}, "{FAMILY}"; }}
html body {{ font-family: {SANS}, "{FAMILY}"; }}
html body .reveal, html body .reveal h1, html body .reveal h2, html body .reveal h3, html body .reveal h4 {{
    font-family: "Source Sans Pro", Helvetica, sans-serif, "{FAMILY}"; }}
html body code, html body pre, html body kbd, html body samp {{ font-family: {MONO}, "{FAMILY}"; }}
"""
    (args.out / "cjk.css").write_text(css, encoding="utf-8")
    print(f"cjk_font.py: {len(chars)} characters, {len(faces)} font file(s), {total // 1024} KiB in {args.out}")


if __name__ == "__main__":
    main()
