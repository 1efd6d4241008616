#!/usr/bin/env bash
# Build convlab._kernels with bounds/wraparound checks on (CONVLAB_DEBUG_BUILD=1) in a scratch copy,
# then run the kernel-facing tests against that build (test_kernel_paths.py at every SIMD level the CPU runs).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$here/convlab" "$here/tests" "$here/setup.py" "$here/pyproject.toml" "$here/README.md" "$tmp/"
rm -f "$tmp"/convlab/*.so "$tmp"/convlab/_kernels.c
cd "$tmp"
CONVLAB_DEBUG_BUILD=1 python3 setup.py -q build_ext --inplace >/dev/null
PYTHONPATH="$tmp" python3 -c "import convlab, sys; from convlab import _kernels; assert convlab.__file__.startswith('$tmp'), convlab.__file__; print('debug build:', convlab.__file__, '- SIMD levels tested:', ', '.join(_kernels.simd_levels()))"
# on TEST_WORKERS processes (pytest-xdist, from the test extra) when it is installed
workers=()
if python3 -c "import xdist" 2>/dev/null; then workers=(-n "${TEST_WORKERS:-auto}"); fi
PYTHONPATH="$tmp" python3 -m pytest -q -p no:cacheprovider "${workers[@]}" tests/test_reference.py tests/test_kernel_paths.py tests/test_golden.py tests/test_errors.py \
    tests/test_robustness.py tests/test_fuzz.py tests/test_tiny_calls.py tests/test_blocked.py \
    tests/test_wgrad_direct.py tests/test_transpose_phases.py
