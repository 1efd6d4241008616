# convlab: every target installs what it needs first, so each works on a fresh machine.
PY ?= python3
PIP = $(PY) -m pip

.PHONY: install install-test main test test-debug-build

install:
	$(PIP) install -e ".[notebooks]"

install-test:
	$(PIP) install -e ".[test,parity]"

# The main job: install convlab and run the quick start (later: build the book and the slides).
main: install
	$(PY) examples/quickstart.py

# The test suite: library (reference loops, torch parity, golden arrays, errors) and doctests.
test: install-test
	$(PY) -m pytest tests --doctest-modules convlab -q
	bash scripts/debug_build_tests.sh

# The kernel tests once more against a build with Cython bounds checking on.
test-debug-build: install-test
	bash scripts/debug_build_tests.sh
