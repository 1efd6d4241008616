# convlab: every target installs what it needs first, so each works on a fresh machine.
PY ?= python3
PIP = $(PY) -m pip
# The oldest matplotlib pyproject allows, in a folder of its own (tests/test_viz_oldest_matplotlib.py runs the
# figure tests on it; matplotlib 3.7 needs NumPy 1).
OLDEST_MPL = build/mpl-oldest

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
# so the book is built first. pytest-xdist runs it on TEST_WORKERS processes (auto: one per core); each
# test module (each notebook, for nbval) stays whole on one worker, in order (--dist loadscope).
TEST_WORKERS ?= auto
test: install-test $(OLDEST_MPL)
	bash scripts/build_book.sh
	$(PY) -m pytest convlab book/errata.md --doctest-modules --doctest-glob=errata.md -q
	CONVLAB_OLD_MPL=$(CURDIR)/$(OLDEST_MPL) $(PY) -m pytest tests notebooks --nbval --nbval-sanitize-with notebooks/sanitize.cfg -q \
		-n $(TEST_WORKERS) --dist loadscope
	TEST_WORKERS=$(TEST_WORKERS) bash scripts/debug_build_tests.sh

$(OLDEST_MPL):
	$(PIP) install -q --no-deps --target $(OLDEST_MPL) matplotlib==3.7.5 numpy==1.26.4

# The kernel tests once more against a build with Cython bounds checking on.
test-debug-build: install-test
	TEST_WORKERS=$(TEST_WORKERS) bash scripts/debug_build_tests.sh
