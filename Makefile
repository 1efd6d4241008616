# convlab: every target installs what it needs first, so each works on a fresh machine.
PY ?= python3
PIP = $(PY) -m pip

.PHONY: install install-test main book test test-debug-build

install:
	$(PIP) install -e ".[notebooks,book]"

install-test:
	$(PIP) install -e ".[test,parity,notebooks,book]"

# The main job: install convlab, run the quick start, build the book and the slides into build/site/.
main: install
	$(PY) examples/quickstart.py
	bash scripts/build_book.sh

# The book and the slides only (static HTML, no request outside the site; npm comes from the book extra).
book: install
	bash scripts/build_book.sh

# The test suite: library (reference loops, torch parity, golden arrays, errors), doctests, every notebook
# under nbval, and the browser tests (tests/browser: JupyterLab, the built book and slides in Chromium),
# so the book is built first.
test: install-test
	bash scripts/build_book.sh
	$(PY) -m pytest convlab book/errata.md --doctest-modules --doctest-glob=errata.md -q
	$(PY) -m pytest tests notebooks --nbval --nbval-sanitize-with notebooks/sanitize.cfg -q
	bash scripts/debug_build_tests.sh

# The kernel tests once more against a build with Cython bounds checking on.
test-debug-build: install-test
	bash scripts/debug_build_tests.sh
